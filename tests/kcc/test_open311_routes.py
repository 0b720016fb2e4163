"""/open311/v2: GeoReport v2 responses checked field by field against the specification."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from litestar.testing import TestClient

from shared.commands import SERVER_DEVICE
from shared.deadlines import utcnow
from shared.enums import Kanaal
from shared.taxonomy import load_taxonomy
from shared.wijken import load_wijken
from tests.backends import sql
from tests.kcc.conftest import KccServer, bearer

ISO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
SPEC_REQUEST_KEYS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip
PERSONAL = ("Jansen", "Vries", "Smit", "612345678", "529456789", "example.nl", "12A", "12B", "7721EJ", "storm")


def is_error_array(body: object, code: int) -> bool:
    return (
        isinstance(body, list)
        and len(body) >= 1
        and all(set(e) == {"code", "description"} and e["code"] == code and e["description"] for e in body)
    )


def test_services(kcc_client: TestClient) -> None:
    r = kcc_client.get("/open311/v2/services.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert [s["service_code"] for s in body] == [c.code for c in load_taxonomy().categories]
    for s in body:
        assert set(s) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
        assert s["metadata"] is False and s["type"] == "realtime"
        assert all(isinstance(s[k], str) for k in ("service_code", "service_name", "description", "keywords", "group"))


def test_requests_default_window_fields(kcc_client: TestClient, kcc_server: KccServer) -> None:
    r = kcc_client.get("/open311/v2/requests.json")
    assert r.status_code == 200
    body = r.json()
    ids = [x["service_request_id"] for x in body]
    # Newest first; the question, the deleted one and the one of 200 days ago are not listed.
    assert ids == [kcc_server.refs[n] for n in ("kolk", "lamp", "boom")]
    for x in body:
        assert set(x) <= SPEC_REQUEST_KEYS
        assert x["status"] in ("open", "closed")
        for k in ("requested_datetime", "updated_datetime", "expected_datetime"):
            assert ISO_OFFSET.match(x[k]), (k, x[k])
        assert isinstance(x.get("lat", 0.0), float)
    boom = body[2]
    assert boom["status"] == "open" and boom["service_code"] == "groen/boom"
    assert boom["service_name"] == load_taxonomy().get("groen/boom").naam
    assert boom["address"] == "Kerkstraat, Dalfsen" and boom["zipcode"] == "7721"
    assert (boom["lat"], boom["long"]) == (52.509, 6.259)
    assert "description" not in boom and "status_notes" not in boom
    lamp = body[1]
    assert lamp["status"] == "closed" and lamp["status_notes"] == "Lamp vervangen."
    for secret in PERSONAL:
        assert secret not in r.text


def test_requests_filters(kcc_client: TestClient, kcc_server: KccServer) -> None:
    def ids(**params: str) -> list[str]:
        r = kcc_client.get("/open311/v2/requests.json", params=params)
        assert r.status_code == 200, r.text
        return [x["service_request_id"] for x in r.json()]

    refs = kcc_server.refs
    assert ids(status="closed") == [refs["lamp"]]
    assert ids(status="open") == [refs["kolk"], refs["boom"]]
    assert ids(status="open,closed") == [refs["kolk"], refs["lamp"], refs["boom"]]
    assert ids(service_code="groen/boom") == [refs["boom"]]
    assert ids(service_code="groen/boom,riolering/verstopping") == [refs["kolk"], refs["boom"]]
    # Asking by id overrides the other filters and the date window (the old one is found), but never
    # shows questions or deleted meldingen.
    assert ids(service_request_id=refs["lamp"], status="open") == [refs["lamp"]]
    assert ids(service_request_id=f"{refs['oud']},{refs['boom']},{refs['vraag']},{refs['weg']},rommel") == [
        refs["boom"], refs["oud"],
    ]  # fmt: skip
    old_day = (utcnow() - timedelta(days=200)).date()
    assert ids(start_date=f"{old_day - timedelta(days=1)}T00:00:00Z", end_date=f"{old_day + timedelta(days=1)}T00:00:00Z") == [refs["oud"]]
    now = utcnow()
    assert ids(start_date=(now - timedelta(days=1, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")) == [refs["kolk"]]


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "gisteren"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        {"status": "gemeld"},
        {"service_code": "bestaat/niet"},
    ],
)
def test_requests_bad_filter_is_error_array(kcc_client: TestClient, params: dict[str, str]) -> None:
    r = kcc_client.get("/open311/v2/requests.json", params=params)
    assert r.status_code == 400
    assert is_error_array(r.json(), 400)


def test_single_request_is_array(kcc_client: TestClient, kcc_server: KccServer) -> None:
    ref = kcc_server.refs["lamp"]
    r = kcc_client.get(f"/open311/v2/requests/{ref}.json")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["service_request_id"] == ref and body[0]["status"] == "closed"
    for secret in PERSONAL:
        assert secret not in r.text


@pytest.mark.parametrize("name", ["DLF-K7-ZZZZ.json", "onzin.json", "DLF-K7-0004.json", "DLF-K7-0001.xml"])
def test_single_request_not_found(kcc_client: TestClient, name: str) -> None:
    r = kcc_client.get(f"/open311/v2/requests/{name}")
    assert r.status_code == 404
    assert is_error_array(r.json(), 404)


def test_post_creates_melding_on_server_device(kcc_client: TestClient, kcc_server: KccServer) -> None:
    r = kcc_client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": kcc_server.tokens["wijkuitvoerder"], "service_code": "verlichting/lantaarnpaal",
            "lat": "52.5101", "long": "6.2602", "description": "Lamp knippert", "first_name": "Anna",
            "last_name": "Bos", "phone": "06 8765 4321", "email": "anna@example.nl",
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    ref = body[0]["service_request_id"]
    assert re.fullmatch(rf"DLF-{SERVER_DEVICE}-\w{{4}}", ref)
    assert body[0]["service_notice"] == load_taxonomy().get("verlichting/lantaarnpaal").belofte
    # Stored through the event path: a created event on the server device, in the projection, pullable.
    row = sql(kcc_server.store, "SELECT melding_id FROM meldingen WHERE reference = ?", (ref,))[0]
    m = kcc_server.store.melding(row[0])
    assert m.kanaal == Kanaal.WEBSITE and m.device_id == SERVER_DEVICE
    assert m.melder.naam == "Anna Bos" and m.melder.telefoon == "+31687654321"
    assert m.servicenorm == load_taxonomy().get("verlichting/lantaarnpaal").servicenorm and m.deadline
    assert m.wijk  # decided by the location, as the intake does (shared.wijken)
    events = kcc_server.store.events_of(row[0])
    assert [e.type for e in events] == ["created", "assigned"] and {e.device_id for e in events} == {SERVER_DEVICE}
    # ... and it went to the wijkuitvoerder of its wijk, as at a laptop's intake (issue 14 §1)
    uitvoerders = next(w.wijkuitvoerders for w in load_wijken().wijken if w.code == m.wijk)
    assert m.behandelaar == uitvoerders[0] and not m.aan_team
    assert events[1].user == "open311:test-wijkuitvoerder"  # who assigned: the intake channel
    pulled = kcc_client.get(
        "/api/v1/sync/pull", params={"after": 0, "limit": 100},
        headers={**bearer(kcc_server.tokens["admin"]), "X-Wijkteam-Protocol": "1"},
    )  # fmt: skip
    assert pulled.status_code == 200
    assert events[0].event_id in pulled.text
    # A second request gets the next counter; the GET shows it without personal data.
    r2 = kcc_client.post(
        "/open311/v2/requests.json",
        json={"api_key": kcc_server.tokens["admin"], "service_code": "groen/boom", "address_string": "7722 AB 3", "description": "Boom"},
    )
    assert r2.status_code == 201
    ref2 = r2.json()[0]["service_request_id"]
    assert ref2 != ref
    got = kcc_client.get(f"/open311/v2/requests/{ref}.json").json()[0]
    assert got["service_code"] == "verlichting/lantaarnpaal" and got["status"] == "open"
    assert "Anna" not in str(got) and "8765" not in str(got)


def test_post_with_bearer_header(kcc_client: TestClient, kcc_server: KccServer) -> None:
    r = kcc_client.post(
        "/open311/v2/requests.json",
        data={"service_code": "groen/boom", "lat": "52.5", "long": "6.26", "description": "x"},
        headers=bearer(kcc_server.tokens["wijkuitvoerder"]),
    )
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("key", "code"), [(None, 401), ("wt_bogus", 401), ("kcc", 403), ("manager", 403)]
)
def test_post_api_key_roles(kcc_client: TestClient, kcc_server: KccServer, key: str | None, code: int) -> None:
    data = {"service_code": "groen/boom", "lat": "52.5", "long": "6.26", "description": "x"}
    if key:
        data["api_key"] = kcc_server.tokens.get(key, key)
    before = kcc_server.store.counts()
    r = kcc_client.post("/open311/v2/requests.json", data=data)
    assert r.status_code == code
    assert is_error_array(r.json(), code)
    assert kcc_server.store.counts() == before


@pytest.mark.parametrize(
    "data",
    [
        {"lat": "52.5", "long": "6.26", "description": "x"},
        {"service_code": "bestaat/niet", "lat": "52.5", "long": "6.26", "description": "x"},
        {"service_code": "groen/boom", "description": "x"},
        {"service_code": "groen/boom", "lat": "48.8", "long": "2.35", "description": "Parijs"},
        {"service_code": "groen/boom", "lat": "52.5125", "long": "6.0944", "description": "Zwolle: buiten de gemeente"},
        {"service_code": "groen/boom", "lat": "52.5", "long": "6.26"},
        {"service_code": "groen/boom", "lat": "52.5", "long": "6.26", "description": "x", "phone": "12"},
    ],
)
def test_post_bad_fields_store_nothing(kcc_client: TestClient, kcc_server: KccServer, data: dict[str, str]) -> None:
    before = kcc_server.store.counts()
    r = kcc_client.post("/open311/v2/requests.json", data={**data, "api_key": kcc_server.tokens["wijkuitvoerder"]})
    assert r.status_code == 400, r.text
    assert is_error_array(r.json(), 400)
    assert kcc_server.store.counts() == before


def test_post_malformed_json(kcc_client: TestClient, kcc_server: KccServer) -> None:
    r = kcc_client.post(
        "/open311/v2/requests.json", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and is_error_array(r.json(), 400)


def test_service_definition(kcc_client: TestClient) -> None:
    r = kcc_client.get("/open311/v2/services/groen/boom.json")
    assert r.status_code == 200 and r.json() == {"service_code": "groen/boom", "attributes": []}
    r = kcc_client.get("/open311/v2/services/groen/palm.json")
    assert r.status_code == 404 and is_error_array(r.json(), 404)


@pytest.mark.parametrize("role", ["admin", "manager", "kcc", "wijkuitvoerder"])
def test_get_with_any_token_still_has_no_personal_data(kcc_client: TestClient, kcc_server: KccServer, role: str) -> None:
    for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{kcc_server.refs['boom']}.json"):
        r = kcc_client.get(path, headers=bearer(kcc_server.tokens[role]))
        assert r.status_code == 200
        for secret in PERSONAL:
            assert secret not in r.text
