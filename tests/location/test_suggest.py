"""Autocomplete for the intake's free-text address search: ``LocationLookup.suggest_local`` and
``suggest_online`` (local gazetteer first, PDOK ``suggest`` only for what it adds), offline and with
recorded PDOK answers (``tests/location/fixtures``)."""

from __future__ import annotations

import pytest

from shared.gazetteer import load_sample_gazetteer
from tests.location.fakes import Online, fixture_json, http_503, pdok_routes, unavailable
from wijkteam_tui.location.geocoders import PDOKLocatieserver
from wijkteam_tui.location.service import (
    SUGGEST_LIMIT,
    SUGGEST_MIN_LOCAL,
    SUGGEST_MIN_ONLINE,
    LocationLookup,
    adres_key,
)


@pytest.fixture(scope="module")
def gazetteer():
    return load_sample_gazetteer()


def svc(gazetteer, online: Online, *, is_online=True) -> LocationLookup:
    pdok = PDOKLocatieserver(adapter_factory=online.adapter())
    return LocationLookup(gazetteer, online=is_online, pdok=pdok, use_nominatim=False)


def test_local_suggestions_follow_the_gazetteer_search(gazetteer, online):
    s = svc(gazetteer, online, is_online=False)
    got = s.suggest_local("kerkstr 12 dalfsen")
    assert [k.label for k in got] == [a.label() for a in gazetteer.search("kerkstr 12 dalfsen", limit=SUGGEST_LIMIT)]
    assert [k.adres.huisletter for k in got] == ["A", "B"] and {k.bron for k in got} == {"lokaal"}
    assert all(k.punt is not None for k in got)
    assert len(s.suggest_local("kerkstr")) == SUGGEST_LIMIT
    assert s.suggest_local("k" * (SUGGEST_MIN_LOCAL - 1)) == []
    assert LocationLookup(None).suggest_local("kerkstr") == []  # no gazetteer yet


def test_online_adds_pdok_answers_not_already_local(gazetteer, online):
    online.on(pdok_routes)
    s = svc(gazetteer, online)
    got, offline = s.suggest_online("grote markt zwolle", limit=5)
    assert not offline
    assert [k.label for k in got] == ["Grote Markt 1, 8011 LW Zwolle", "Grote Markt 1A, 8011 LW Zwolle"]
    assert [k.bron for k in got] == ["pdok", "pdok"]
    req = online.log[-1]
    assert req.endpoint == "suggest" and req.params["q"] == ["grote markt zwolle"]
    # What is already shown (the first one, here) is not offered twice; ``limit`` caps the rest.
    again, _ = s.suggest_online("grote markt zwolle", limit=5, exclude=got[:1])
    assert [k.label for k in again] == ["Grote Markt 1A, 8011 LW Zwolle"]
    capped, _ = s.suggest_online("grote markt zwolle", limit=1)
    assert len(capped) == 1


def test_online_answers_are_cached(gazetteer, online):
    online.on(pdok_routes)
    s = svc(gazetteer, online)
    s.suggest_online("grote markt zwolle", limit=4)
    s.suggest_online("Grote Markt Zwolle", limit=4)
    assert len(online.requests_to("pdok")) == 1


def test_short_text_and_offline_ask_nobody(gazetteer, online):
    online.on(pdok_routes)
    assert svc(gazetteer, online).suggest_online("g" * (SUGGEST_MIN_ONLINE - 1)) == ([], False)
    assert svc(gazetteer, online, is_online=False).suggest_online("grote markt") == ([], True)
    assert online.log == []


@pytest.mark.parametrize("failure", [http_503, unavailable])
def test_failure_is_offline_never_an_exception(gazetteer, online, failure):
    online.on(failure)
    s = svc(gazetteer, online)
    assert s.suggest_online("grote markt zwolle") == ([], True)
    online.routes[:] = [pdok_routes]  # failures are not cached: back online, the answer comes
    got, offline = s.suggest_online("grote markt zwolle")
    assert len(got) == 2 and not offline


def test_adres_key_ignores_case_and_separators_of_the_addition(gazetteer):
    from shared.model import Adres

    a = Adres(straat="X", huisnummer=7, huisletter="a", huisnummertoevoeging="h-s", postcode="7721EJ")
    b = Adres(straat="Y", huisnummer=7, huisletter="A", huisnummertoevoeging="HS", postcode="7721EJ")
    assert adres_key(a) == adres_key(b)
    assert adres_key(a) != adres_key(Adres(huisnummer=7, huisletter="B", postcode="7721EJ"))


def test_suggest_fixture_is_what_the_tests_think(gazetteer):
    # the premise of the tests above: the sample gazetteer has no Grote Markt in Zwolle
    assert gazetteer.search("grote markt zwolle") == []
    assert fixture_json("pdok_suggest_grote_markt.json")["response"]["numFound"] == 2


def test_bare_suggest_docs_are_completed_by_lookup(gazetteer, online):
    # A server that ignored ``fl`` answers suggest with id and weergavenaam only: the address parts
    # and the point come from ``lookup?id=…``.
    full = fixture_json("pdok_free_8011LW_1.json")["response"]["docs"][0]
    bare = {"response": {"numFound": 1, "start": 0, "maxScore": 9.8, "docs": [
        {"id": full["id"], "type": "adres", "weergavenaam": full["weergavenaam"], "score": 9.8}]}}
    online.on(lambda req: bare if req.endpoint == "suggest" else None)
    online.on(pdok_routes)
    got, offline = svc(gazetteer, online).suggest_online("grote markt 1 zwolle")
    assert not offline and len(got) == 1
    k = got[0]
    assert (k.adres.straat, k.adres.huisnummer, k.adres.postcode, k.adres.woonplaats) == ("Grote Markt", 1, "8011LW", "Zwolle")
    assert k.punt is not None
    assert [r.endpoint for r in online.log] == ["suggest", "lookup"]
