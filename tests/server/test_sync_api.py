"""Push and pull through the test client: idempotency, quarantine, paging, versions and bad input."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from shared import commands
from shared.enums import Role
from shared.events import SCHEMA_VERSION, Event, MeldingFields
from shared.hlc import HLC, pack, physical_ms, wall_ms
from shared.protocol import MAX_PULL_LIMIT, MAX_PUSH_EVENTS, PullResponse, PushResponse
from sync_server.app import create_app
from sync_server.settings import Settings
from sync_server.store import ServerStore
from tests.server.conftest import Server, auth

MSGPACK = "application/msgpack"


def make_events(device: str, n: int, *, clock: int | None = None, start: int = 1) -> list[Event]:
    """``n`` new meldingen (one ``created`` event each) from ``device``."""
    hlc = HLC(clock=(lambda: clock)) if clock is not None else HLC()
    dev = commands.DeviceClock(device, "tester", hlc=hlc)
    return [
        commands.register(dev, prefix="DLF", counter=start + i, fields=MeldingFields(omschrijving=f"Melding {i}"))
        for i in range(n)
    ]


def push_json(client: TestClient, token: str, device: str, events: list[object], **extra: object):
    body = {"protocol": 1, "device_id": device, "events": msgspec.to_builtins(events), **extra}
    return client.post("/api/v1/sync/push", json=body, headers=auth(token))


def test_push_is_idempotent_and_projection_follows(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    events = make_events(code, 3)
    first = push_json(client, token, code, events)
    assert first.status_code == 200, first.text
    assert (first.json()["stored"], first.json()["duplicates"]) == (3, 0)
    again = push_json(client, token, code, events)
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 3)
    assert server.store.counts() == {"events": 3, "meldingen": 3, "quarantine": 0}
    row = server.store.projection(events[0].melding_id)
    assert row is not None and row["omschrijving"] == "Melding 0" and row["reference"] == f"DLF-{code}-0001"


def test_push_and_pull_in_messagepack(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    events = make_events(code, 2)
    body = msgspec.msgpack.encode({"protocol": 1, "device_id": code, "events": events})
    resp = client.post(
        "/api/v1/sync/push", content=body, headers={**auth(token), "Content-Type": MSGPACK, "Accept": MSGPACK}
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(MSGPACK)
    ack = msgspec.msgpack.decode(resp.content, type=PushResponse)
    assert ack.stored == 2 and physical_ms(ack.server_hlc) > 0 and ack.server_time_ms > 0
    pulled = client.get("/api/v1/sync/pull", headers={**auth(token), "Accept": MSGPACK})
    page = msgspec.msgpack.decode(pulled.content, type=PullResponse)
    assert [p.event for p in page.events] == events
    assert [p.server_seq for p in page.events] == [1, 2] and page.next_after == 2 and not page.has_more


def test_pull_pages_by_server_seq(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    events = make_events(code, 12)
    push_json(client, token, code, events)
    seen: list[str] = []
    after, pages = 0, 0
    while True:
        page = client.get("/api/v1/sync/pull", params={"after": after, "limit": 5}, headers=auth(token)).json()
        pages += 1
        seen += [p["event"]["event_id"] for p in page["events"]]
        assert page["next_after"] >= after
        after = page["next_after"]
        if not page["has_more"]:
            break
    assert pages == 3 and seen == [e.event_id for e in events]
    empty = client.get("/api/v1/sync/pull", params={"after": after}, headers=auth(token)).json()
    assert empty["events"] == [] and empty["next_after"] == after and not empty["has_more"]


def test_server_hlc_is_persisted_and_ahead_of_pushed_stamps(server: Server, client: TestClient, tmp_path: Path) -> None:
    token, code = server.laptop("anna")
    ahead = wall_ms() + 3_600_000  # a laptop one hour ahead: accepted, and the server's clock follows
    events = make_events(code, 1, clock=ahead)
    ack = push_json(client, token, code, events).json()
    assert ack["server_hlc"] > events[0].hlc
    reopened = ServerStore(server.path)
    try:
        assert reopened.hlc.now() > ack["server_hlc"]
    finally:
        reopened.close()


def test_events_far_in_the_future_are_quarantined(tmp_path: Path) -> None:
    now = wall_ms()
    store = ServerStore(tmp_path / "s.db", clock=lambda: now)
    token, code = store.add_user("anna", Role.WIJKUITVOERDER)
    assert code
    app = create_app(Settings(db_path=tmp_path / "s.db"), store=store)
    ok = make_events(code, 1, clock=now + 23 * 3_600_000)
    late = make_events(code, 1, clock=now + 25 * 3_600_000, start=2)
    with TestClient(app) as client:
        ack = push_json(client, token, code, ok + late).json()
    assert ack["stored"] == 1
    assert [q["event_id"] for q in ack["quarantined"]] == [late[0].event_id]
    assert "25 uur voor op de serverklok" in ack["quarantined"][0]["reason"]
    assert store.hlc.peek() < pack(now + 24 * 3_600_000)  # the refused stamp did not move the server's clock
    store.close()


def test_events_of_another_device_and_invalid_payloads_are_quarantined(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    good = make_events(code, 1)
    other = make_events("ZZ", 1)
    broken = msgspec.structs.replace(make_events(code, 1, start=5)[0], payload={"reference": 12})
    no_envelope = {"event_id": "kapot-1", "hlc": "gisteren"}
    resp = push_json(client, token, code, [*good, *other, broken, no_envelope])
    assert resp.status_code == 200, resp.text
    ack = resp.json()
    assert ack["stored"] == 1
    reasons = {q["event_id"]: q["reason"] for q in ack["quarantined"]}
    assert set(reasons) == {other[0].event_id, broken.event_id, "kapot-1"}
    assert "hoort niet bij dit token" in reasons[other[0].event_id]
    assert "reference" in reasons[broken.event_id]
    assert "ongeldig event" in reasons["kapot-1"]
    listed = {q["event_id"]: q for q in server.store.list_quarantine()}
    assert set(listed) == set(reasons) and '"gisteren"' in listed["kapot-1"]["raw"]
    assert server.store.counts()["events"] == 1


def test_reference_clash_is_flagged(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    first = make_events(code, 1)[0]
    # same counter 1 → same reference, other melding (stamped after ``first``: a device never writes back in time)
    twin = make_events(code, 1, clock=physical_ms(first.hlc) + 1)[0]
    assert twin.payload["reference"] == first.payload["reference"] and twin.melding_id != first.melding_id
    push_json(client, token, code, [first])
    assert server.store.reference_clashes() == []
    push_json(client, token, code, [twin])
    clashes = server.store.reference_clashes()
    assert [(c["reference"], c["melding_id"], c["other_melding_id"]) for c in clashes] == [
        (first.payload["reference"], twin.melding_id, first.melding_id)
    ]


# -- bad input: 4xx with a detail, nothing stored ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "Onleesbaar JSON"),
        (b"", 400, "Lege body"),
        (b'{"protocol": 1, "device_id": "01", "events": [], "extra": 1}', 400, "extra"),
        (b'{"protocol": "1", "device_id": "01", "events": []}', 400, "protocol"),
        (b'{"protocol": 1, "device_id": "01", "events": {}}', 400, "events"),
        (b'{"device_id": "01", "events": []}', 400, "protocol"),
        (b'[1, 2, 3]', 400, "Ongeldig bericht"),
    ],
)
def test_malformed_push_bodies(server: Server, client: TestClient, body: bytes, status: int, words: str) -> None:
    token = server.tokens["wijkuitvoerder"]
    resp = client.post("/api/v1/sync/push", content=body, headers={**auth(token), "Content-Type": "application/json"})
    assert resp.status_code == status, resp.text
    assert words in resp.json()["detail"]
    assert "Traceback" not in resp.text
    assert server.store.counts() == {"events": 0, "meldingen": 0, "quarantine": 0}


def test_garbage_messagepack_is_400(server: Server, client: TestClient) -> None:
    resp = client.post(
        "/api/v1/sync/push",
        content=b"\xc1\xc1\xc1",
        headers={**auth(server.tokens["wijkuitvoerder"]), "Content-Type": MSGPACK},
    )
    assert resp.status_code == 400 and "MessagePack" in resp.json()["detail"]


def test_oversized_batch_is_413_and_nothing_is_stored(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    events = make_events(code, 1) * (MAX_PUSH_EVENTS + 1)
    resp = push_json(client, token, code, events)
    assert resp.status_code == 413 and str(MAX_PUSH_EVENTS) in resp.json()["detail"]
    assert server.store.counts()["events"] == 0


def test_body_over_the_size_limit_is_413(tmp_path: Path) -> None:
    """A push is bounded by MAX_PUSH_BYTES; every other route by its own, smaller limit."""
    from shared.protocol import MAX_PUSH_BYTES

    store = ServerStore(tmp_path / "s.db")
    token, code = store.add_user("anna", Role.WIJKUITVOERDER)
    app = create_app(Settings(db_path=tmp_path / "s.db", max_body_bytes=2_000), store=store)
    events = make_events(code or "", 20)
    padded = b'{"protocol": 1, "device_id": "' + (code or "").encode() + b'", "events": ['
    padded += b",".join(msgspec.json.encode(e) for e in events) + b"]" + b" " * MAX_PUSH_BYTES + b"}"
    headers = {**auth(token), "Content-Type": "application/json"}
    with TestClient(app) as client:
        resp = client.post("/api/v1/sync/push", content=padded, headers=headers)
        assert resp.status_code == 413 and resp.json()["detail"] == "Het bericht is te groot."
        assert push_json(client, token, code or "", events).status_code == 200  # 20 events: far below the limit
    assert store.counts()["events"] == 20
    store.close()


def test_device_of_another_token_is_403(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    resp = push_json(client, token, "ZZ", make_events("ZZ", 1))
    assert resp.status_code == 403 and code in resp.json()["detail"]
    assert server.store.counts()["events"] == 0


@pytest.mark.parametrize(
    ("version", "status", "words"), [(0, 426, "app is te oud"), (99, 400, "server is ouder")]
)
def test_protocol_versions_are_checked(server: Server, client: TestClient, version: int, status: int, words: str) -> None:
    token, code = server.laptop("anna")
    headers = {**auth(token), "X-Wijkteam-Protocol": str(version)}
    pull = client.get("/api/v1/sync/pull", headers=headers)
    assert pull.status_code == status and words in pull.json()["detail"]
    body = {"protocol": version, "device_id": code, "events": msgspec.to_builtins(make_events(code, 1))}
    push = client.post("/api/v1/sync/push", json=body, headers=auth(token))
    assert push.status_code == status and words in push.json()["detail"]
    assert server.store.counts()["events"] == 0


def test_pull_without_protocol_and_bad_params(server: Server, client: TestClient) -> None:
    token = server.tokens["wijkuitvoerder"]
    no_version = client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
    assert no_version.status_code == 400 and "Protocolversie" in no_version.json()["detail"]
    for params in ({"after": -1}, {"limit": MAX_PULL_LIMIT + 1}, {"limit": 0}, {"after": "abc"}):
        resp = client.get("/api/v1/sync/pull", params=params, headers=auth(token))
        assert resp.status_code == 400, params
        assert resp.json()["detail"]


def test_newer_event_schema_refuses_the_push(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    events = make_events(code, 2)
    newer = msgspec.structs.replace(events[1], schema=SCHEMA_VERSION + 1)
    resp = push_json(client, token, code, [events[0], newer])
    assert resp.status_code == 409 and "server is ouder" in resp.json()["detail"]
    assert server.store.counts() == {"events": 0, "meldingen": 0, "quarantine": 0}
