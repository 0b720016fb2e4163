"""/api/v1/kcc: search by every key, detail with history, roles, audit of personal-data reads."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from sync_server.audit import PERSONAL_DATA_READ, list_entries
from tests.kcc.conftest import KccServer, bearer

PERSONAL = ("Jan Jansen", "Jansen", "612345678", "jan@example.nl", "Piet de Vries", "piet@example.nl", "Els Smit")


def search(client: TestClient, srv: KccServer, q: str, role: str = "kcc") -> dict:
    r = client.post("/api/v1/kcc/search", json={"q": q}, headers=bearer(srv.tokens[role]))
    assert r.status_code == 200, r.text
    return r.json()


def refs(answer: dict) -> list[str]:
    return [h["reference"] for h in answer["results"]]


@pytest.mark.parametrize("typed", ["DLF-K7-0001", "dlf k7 0001", "dlfk70001", "DLF-K7-OOO1"])
def test_by_reference(kcc_client: TestClient, kcc_server: KccServer, typed: str) -> None:
    answer = search(kcc_client, kcc_server, typed)
    assert answer["kind"] == "referentie"
    assert refs(answer) == [kcc_server.refs["boom"]]


@pytest.mark.parametrize("typed", ["06-12345678", "0612345678", "+31 6 1234 5678", "06 1234 5678", "0031612345678"])
def test_by_phone_any_format(kcc_client: TestClient, kcc_server: KccServer, typed: str) -> None:
    answer = search(kcc_client, kcc_server, typed)
    assert answer["kind"] == "telefoon"
    # "weg" has the same number but is deleted: never shown.
    assert refs(answer) == [kcc_server.refs["boom"]]


def test_by_landline(kcc_client: TestClient, kcc_server: KccServer) -> None:
    assert refs(search(kcc_client, kcc_server, "0529-456789")) == [kcc_server.refs["vraag"]]


@pytest.mark.parametrize("typed", ["7721EJ 12", "7721 ej 12", "7721ej12", "12, 7721 EJ"])
def test_by_postcode_number_matches_every_letter(kcc_client: TestClient, kcc_server: KccServer, typed: str) -> None:
    answer = search(kcc_client, kcc_server, typed)
    assert answer["kind"] == "postcode"
    # Kerkstraat 12 exists only as 12 A and 12 B: both, newest first.
    assert refs(answer) == [kcc_server.refs["lamp"], kcc_server.refs["boom"]]


def test_by_postcode_with_letter(kcc_client: TestClient, kcc_server: KccServer) -> None:
    assert refs(search(kcc_client, kcc_server, "7721 EJ 12b")) == [kcc_server.refs["lamp"]]


def test_by_postcode_alone(kcc_client: TestClient, kcc_server: KccServer) -> None:
    assert set(refs(search(kcc_client, kcc_server, "7722ab"))) == {
        kcc_server.refs[n] for n in ("kolk", "vraag", "oud")
    }


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("Kerkstraat 12", ["lamp", "boom"]),
        ("kerkstraat 12 a", ["boom"]),
        ("Kerkstraat 12A, Dalfsen", ["boom"]),
        ("Molenweg", ["kolk", "vraag", "oud"]),
        ("molenw", None),  # a prefix is not a street name: found as free text instead
    ],
)
def test_by_street(kcc_client: TestClient, kcc_server: KccServer, typed: str, names: list[str] | None) -> None:
    answer = search(kcc_client, kcc_server, typed)
    if names is None:
        assert answer["kind"] == "tekst"
        assert set(refs(answer)) == {kcc_server.refs[n] for n in ("kolk", "vraag", "oud")}
    else:
        assert answer["kind"] == "straat"
        assert refs(answer) == [kcc_server.refs[n] for n in names]


def test_by_name(kcc_client: TestClient, kcc_server: KccServer) -> None:
    answer = search(kcc_client, kcc_server, "Jansen")
    assert answer["kind"] == "naam"
    assert refs(answer) == [kcc_server.refs["boom"]]
    assert refs(search(kcc_client, kcc_server, "piet de vries")) == [kcc_server.refs["lamp"]]


def test_name_search_does_not_match_description(kcc_client: TestClient, kcc_server: KccServer) -> None:
    # "storm" is in the description of "boom", not a name: the name search finds nothing and falls
    # back to free text, which says so.
    answer = search(kcc_client, kcc_server, "storm")
    assert answer["kind"] == "tekst"
    assert refs(answer) == [kcc_server.refs["boom"]]


def test_by_free_text(kcc_client: TestClient, kcc_server: KccServer) -> None:
    answer = search(kcc_client, kcc_server, "verstopte kolk speeltuin")
    assert answer["kind"] == "tekst"
    assert refs(answer) == [kcc_server.refs["kolk"]]
    assert refs(search(kcc_client, kcc_server, "kolk bij de speelt")) == [kcc_server.refs["kolk"]]


def test_fts_syntax_is_not_interpreted(kcc_client: TestClient, kcc_server: KccServer) -> None:
    answer = search(kcc_client, kcc_server, 'tak "OR" NEAR( - *')
    assert answer["results"] == []


def test_nothing_found(kcc_client: TestClient, kcc_server: KccServer) -> None:
    answer = search(kcc_client, kcc_server, "DLF-K7-ZZZZ")
    assert answer["results"] == [] and answer["truncated"] is False
    assert answer["searched"].startswith("Gezocht op referentie")


def test_empty_query_is_400_with_dutch_detail(kcc_client: TestClient, kcc_server: KccServer) -> None:
    r = kcc_client.post("/api/v1/kcc/search", json={"q": "  "}, headers=bearer(kcc_server.tokens["kcc"]))
    assert r.status_code == 400
    assert r.json()["field"] == "zoekterm" and "referentie" in r.json()["detail"]


def test_hit_fields_and_no_personal_data(kcc_client: TestClient, kcc_server: KccServer) -> None:
    answer = search(kcc_client, kcc_server, "7721 EJ 12")
    lamp, boom = answer["results"]
    assert boom["reference"] == kcc_server.refs["boom"]
    assert boom["status"] == "gemeld" and boom["status_label"] == "Gemeld" and boom["open"] is True
    assert boom["categorie"] == "groen/boom" and boom["categorie_naam"].startswith("Groen")
    assert boom["adres"] == "Kerkstraat 12A, 7721 EJ Dalfsen"
    assert boom["wijk"] == "Centrum"
    assert boom["deadline"].endswith("Z") and boom["registered_at"].endswith("Z")
    assert boom["resident"]["expected_date"] and boom["resident"]["message"]
    assert lamp["open"] is False and lamp["public_note"] == "Lamp vervangen."
    text = str(answer)
    for secret in PERSONAL:
        assert secret not in text


def test_detail_has_history_reporter_and_is_audited(kcc_client: TestClient, kcc_server: KccServer) -> None:
    ref = kcc_server.refs["lamp"]
    assert list_entries(kcc_server.store) == []
    r = kcc_client.get(f"/api/v1/kcc/meldingen/{ref.lower()}", headers=bearer(kcc_server.tokens["kcc"]))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["hit"]["reference"] == ref
    assert d["melder"] == {"naam": "Piet de Vries", "telefoon": None, "email": "piet@example.nl", "anoniem": False}
    assert d["omschrijving"] == "Lamp brandt niet"
    assert [h["type"] for h in d["history"]] == ["created", "status_changed", "status_changed"]
    assert d["history"][-1]["summary"] == "Status In behandeling → Afgehandeld"
    assert "details" not in d["history"][0]
    entries = list_entries(kcc_server.store)
    assert len(entries) == 1
    e = entries[0]
    assert (e.actor, e.action, e.reference) == ("test-kcc (kcc)", PERSONAL_DATA_READ, ref)
    assert e.melding_id == d["hit"]["melding_id"] and e.at.endswith("Z")
    assert kcc_server.tokens["kcc"] not in repr(e)


def test_detail_of_anonymous_melding_is_not_audited(kcc_client: TestClient, kcc_server: KccServer) -> None:
    r = kcc_client.get(f"/api/v1/kcc/meldingen/{kcc_server.refs['kolk']}", headers=bearer(kcc_server.tokens["manager"]))
    assert r.status_code == 200
    assert r.json()["melder"]["anoniem"] is True
    assert list_entries(kcc_server.store) == []


@pytest.mark.parametrize("q", ["DLF-K7-0001", "7721 EJ 12", "Kerkstraat 12", "Molenweg"])
def test_search_by_reference_or_address_is_not_audited(kcc_client: TestClient, kcc_server: KccServer, q: str) -> None:
    assert search(kcc_client, kcc_server, q)["results"]
    assert list_entries(kcc_server.store) == []


@pytest.mark.parametrize(("q", "kind"), [("06-12345678", "telefoon"), ("Jansen", "naam"), ("Jan Jansen", "naam")])
def test_search_by_phone_or_name_is_audited_like_a_detail_read(
    kcc_client: TestClient, kcc_server: KccServer, q: str, kind: str
) -> None:
    """The agent learns a resident's address from a phone number or a name: each hit is recorded,
    with the key searched on but never the term itself."""
    answer = search(kcc_client, kcc_server, q)
    assert answer["kind"] == kind and answer["results"]
    entries = list_entries(kcc_server.store)
    assert {e.melding_id for e in entries} == {h["melding_id"] for h in answer["results"]}
    for e in entries:
        assert e.action == PERSONAL_DATA_READ and e.actor == "test-kcc (kcc)"
        assert f"via zoeken op {kind} (POST /api/v1/kcc/search)" in e.detail
        assert not any(p in e.detail for p in PERSONAL)


def test_a_search_term_in_the_url_is_not_accepted(kcc_client: TestClient, kcc_server: KccServer) -> None:
    r = kcc_client.get("/api/v1/kcc/search", params={"q": "06-12345678"}, headers=bearer(kcc_server.tokens["kcc"]))
    assert r.status_code == 405
    assert list_entries(kcc_server.store) == []


def test_detail_unknown_is_404(kcc_client: TestClient, kcc_server: KccServer) -> None:
    r = kcc_client.get("/api/v1/kcc/meldingen/DLF-K7-ZZZZ", headers=bearer(kcc_server.tokens["kcc"]))
    assert r.status_code == 404 and "DLF-K7-ZZZZ" in r.json()["detail"]
    deleted = kcc_server.refs["weg"]
    assert kcc_client.get(f"/api/v1/kcc/meldingen/{deleted}", headers=bearer(kcc_server.tokens["kcc"])).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("post", "/api/v1/kcc/search", {"q": "Jansen"}), ("get", "/api/v1/kcc/meldingen/DLF-K7-0001", None)],
)
def test_role_matrix(kcc_client: TestClient, kcc_server: KccServer, method: str, path: str, body) -> None:
    def call(**kw):
        return getattr(kcc_client, method)(path, **({"json": body} if body else {}), **kw)

    assert call().status_code == 401
    assert call(headers=bearer("wt_bogus")).status_code == 401
    r = call(headers=bearer(kcc_server.tokens["wijkuitvoerder"]))
    assert r.status_code == 403 and "wijkuitvoerder" in r.json()["detail"]
    for role in ("kcc", "manager", "admin"):
        assert call(headers=bearer(kcc_server.tokens[role])).status_code == 200


def test_kcc_cannot_write(kcc_client: TestClient, kcc_server: KccServer) -> None:
    token = kcc_server.tokens["kcc"]
    push = kcc_client.post(
        "/api/v1/sync/push",
        json={"protocol": 1, "device_id": "K7", "events": []},
        headers={**bearer(token), "X-Wijkteam-Protocol": "1"},
    )
    assert push.status_code == 403
    post = kcc_client.post(
        "/open311/v2/requests.json",
        data={"api_key": token, "service_code": "groen/boom", "lat": "52.5", "long": "6.26", "description": "x"},
    )
    assert post.status_code == 403
    # No write route exists under /api/v1/kcc.
    for method in ("post", "put", "patch", "delete"):
        r = getattr(kcc_client, method)(f"/api/v1/kcc/meldingen/{kcc_server.refs['boom']}", headers=bearer(token))
        assert r.status_code == 405
    assert kcc_server.store.counts()["meldingen"] == 6


@pytest.mark.parametrize("typed", ["piet@example.nl", "Piet@Example.NL"])
def test_by_email_address(kcc_client: TestClient, kcc_server: KccServer, typed: str) -> None:
    """docs/kcc.md promises a resident is found by their e-mail address (issue 14); the search is
    audited like one by phone."""
    answer = search(kcc_client, kcc_server, typed)
    assert answer["kind"] == "email" and answer["searched"].startswith("Gezocht op e-mailadres")
    assert refs(answer) == [kcc_server.refs["lamp"]]
    entries = list_entries(kcc_server.store)
    assert {e.melding_id for e in entries} == {h["melding_id"] for h in answer["results"]}
    assert not any(p in e.detail for e in entries for p in PERSONAL)


@pytest.mark.parametrize("typed", ["P. de Vries", "p de vries", "P.de Vries"])
def test_by_name_with_initials(kcc_client: TestClient, kcc_server: KccServer, typed: str) -> None:
    answer = search(kcc_client, kcc_server, typed)
    assert answer["kind"] == "naam"
    assert refs(answer) == [kcc_server.refs["lamp"]]
    assert search(kcc_client, kcc_server, "J. Jansen")["results"]
    assert refs(search(kcc_client, kcc_server, "Q. de Vries")) == []
