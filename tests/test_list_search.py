"""The list search finds phone numbers, e-mail addresses and postcodes typed as residents say them,
by the same rule as the KCC (``shared.search.exact_key``; issue 14 §3)."""

from __future__ import annotations

import pytest

from shared.enums import VierB
from shared.events import MeldingFields
from shared.model import Adres, Melder
from shared.search import QueryKind, exact_key, phone_digits
from wijkteam_store.local import LocalStore


@pytest.fixture
def store(tmp_path):
    s = LocalStore(tmp_path / "l.sqlite")
    s.set_device_code("K7")
    dev = s.device_clock("u")
    for naam, tel, email, nr in (
        ("Jan Jansen", "+31612345678", "jan@voorbeeld.nl", 10),
        ("Piet Peters", "+31687654321", None, 12),
        ("Els Smit", None, "els@voorbeeld.nl", 10),
    ):
        s.register(dev, prefix="DLF", fields=MeldingFields(
            omschrijving=f"Melding van {naam}", categorie="groen/boom", vier_b=VierB.BETROKKENHEID,
            melder=Melder(naam=naam, telefoon=tel, email=email),
            adres=Adres(straat="Kerkstraat", huisnummer=nr, postcode="7721KN" if naam != "Els Smit" else "7722AB",
                        woonplaats="Dalfsen"),
        ))  # fmt: skip
    yield s
    s.close()


def names(rows) -> list[str]:
    return sorted(r["melder_naam"] for r in rows)


@pytest.mark.parametrize("typed", ["06-12345678", "06 12345678", "+31 6 1234 5678", "0612345678", "+31612345678"])
def test_a_phone_number_as_said(store, typed):
    assert exact_key(typed).kind == QueryKind.PHONE
    assert names(store.search(typed)) == ["Jan Jansen"]
    assert store.count(typed) == 1


@pytest.mark.parametrize("typed", ["06-1234", "06 123", "+31 6 1234"])
def test_a_phone_number_still_being_typed(store, typed):
    assert phone_digits(typed) is not None
    assert names(store.search(typed)) == ["Jan Jansen"]


def test_a_postcode_and_number_as_said(store):
    assert names(store.search("7721 KN 10")) == ["Jan Jansen"]
    assert names(store.search("7721kn 12")) == ["Piet Peters"]
    assert names(store.search("10, 7721 KN")) == ["Jan Jansen"]
    assert names(store.search("7721 KN")) == ["Jan Jansen", "Piet Peters"]
    assert store.search("7721 KN 11") == []


def test_an_email_address(store):
    assert names(store.search("els@voorbeeld.nl")) == ["Els Smit"]
    assert names(store.search("ELS@Voorbeeld.nl")) == ["Els Smit"]


def test_words_still_search_as_before(store):
    assert names(store.search("Jansen")) == ["Jan Jansen"]
    assert names(store.search("kerkstr 12")) == ["Piet Peters"]
    assert len(store.search("DLF-K7")) == 3
