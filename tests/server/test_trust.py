"""Issue 11 §1–2 on the server: authority and time checks of a push, the quarantine's verdicts
(release restamps, reject), and the late-arrival figure. Through Litestar's TestClient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from litestar.testing import TestClient

from shared import commands
from shared.enums import EventType, Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC, pack, physical_ms, wall_ms
from shared.protocol import RefusalCode, VerdictState
from sync_server.store import StoreError
from tests.backends import sql
from tests.server.conftest import Server, auth

DAY_MS = 24 * 3600 * 1000


def device(code: str, at_ms: int | None = None) -> commands.DeviceClock:
    """A device clock whose wall clock is fixed at ``at_ms`` (default: now) and then moves 1 ms a call."""
    t = [at_ms if at_ms is not None else wall_ms()]

    def clock() -> int:
        t[0] += 1
        return t[0]

    return commands.DeviceClock(code, "tester", hlc=HLC(clock=clock))


def created(dev: commands.DeviceClock, counter: int = 1, at: datetime | None = None) -> Event:
    return commands.register(dev, prefix="DLF", counter=counter, fields=MeldingFields(omschrijving="tak"), registered_at=at)


def push(client: TestClient, token: str, code: str, events: list[Event]) -> dict:
    body = {"protocol": 1, "device_id": code, "events": msgspec.to_builtins(events)}
    resp = client.post("/api/v1/sync/push", json=body, headers=auth(token))
    assert resp.status_code == 200, resp.text
    return resp.json()


def codes(answer: dict) -> dict[str, str]:
    return {q["event_id"]: q["code"] for q in answer["quarantined"]}


def test_every_event_type_is_refused_under_a_foreign_device_code(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    other_token, other = server.laptop("bram")
    dev = device(other)
    first = created(dev)
    assert push(client, other_token, other, [first])["stored"] == 1
    state = fold([first])
    assert state is not None
    forged = [
        created(device(other), 2),
        *commands.edit(dev, state, {"omschrijving": "lamp"}),
        commands.change_status(dev, state, Status.IN_BEHANDELING),
        commands.add_note(dev, state, "x"),
        commands.log_callback(dev, state, kanaal="telefoon"),
        commands.delete(dev, state),
        commands.restore(dev, state),
        commands.anonymise_reporter(dev, state),
        commands.add_melder(dev, state, kanaal="telefoon", melder=None),
        commands.assign(dev, state, "bram"),
        commands.purge(dev, state),
    ]
    assert {e.type for e in forged} == set(EventType)
    answer = push(client, token, code, forged)  # anna's token, bram's device code inside the events
    assert answer["stored"] == 0
    assert codes(answer) == {e.event_id: RefusalCode.FOREIGN_DEVICE for e in forged}


def test_a_second_created_never_takes_over_a_melding(server: Server, client: TestClient) -> None:
    a_token, a = server.laptop("anna")
    b_token, b = server.laptop("bram")
    original = created(device(a))
    push(client, a_token, a, [original])
    # bram forges a created for anna's melding_id, stamped earlier (it would win the fold)
    forged = msgspec.structs.replace(created(device(b, physical_ms(original.hlc) - 1000)), melding_id=original.melding_id)
    answer = push(client, b_token, b, [forged])
    assert codes(answer) == {forged.event_id: RefusalCode.DUPLICATE_CREATED}
    # the same laptop cannot either, nor within one push
    again = msgspec.structs.replace(created(device(a)), melding_id=original.melding_id)
    assert codes(push(client, a_token, a, [again])) == {again.event_id: RefusalCode.DUPLICATE_CREATED}
    fresh = created(device(a), 5)
    twin = msgspec.structs.replace(created(device(a), 6), melding_id=fresh.melding_id)
    answer = push(client, a_token, a, [fresh, twin])
    assert answer["stored"] == 1 and codes(answer) == {twin.event_id: RefusalCode.DUPLICATE_CREATED}
    row = server.store.projection(original.melding_id)
    assert row is not None and row["device_id"] == a


def test_backdating_is_refused(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    dev = device(code)
    first = created(dev)
    state = fold([first])
    assert state is not None
    later = commands.add_note(dev, state, "gebeld")
    assert push(client, token, code, [first, later])["stored"] == 2
    # a status change stamped before the melding's created (and so before the device's latest)
    early = device(code, physical_ms(first.hlc) - 60_000)
    back = commands.change_status(early, state, Status.AFGEHANDELD, "klaar")
    assert codes(push(client, token, code, [back])) == {back.event_id: RefusalCode.BEFORE_DEVICE}
    # another laptop's event stamped before the created it edits
    b_token, b = server.laptop("bram")
    before = commands.add_note(device(b, physical_ms(first.hlc) - 5), state, "voor de registratie")
    assert codes(push(client, b_token, b, [before])) == {before.event_id: RefusalCode.BEFORE_CREATED}
    # a new melding stamped (and registered) years before the device code was issued
    old = datetime(2001, 3, 1, tzinfo=UTC)
    ancient = created(device(b, int(old.timestamp() * 1000)), 2, at=old)
    answer = push(client, b_token, b, [ancient])
    assert codes(answer) == {ancient.event_id: RefusalCode.BEFORE_ISSUE}
    assert "2001" in answer["quarantined"][0]["reason"]


def test_registration_time_far_before_its_own_stamp_is_refused(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    forged = created(device(code), at=datetime.now(UTC) - timedelta(days=400))
    assert codes(push(client, token, code, [forged])) == {forged.event_id: RefusalCode.REGISTERED_AT}


def test_a_known_event_id_with_other_content_is_refused(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    first = created(device(code))
    push(client, token, code, [first])
    assert push(client, token, code, [first])["duplicates"] == 1  # a retry: fine
    changed = msgspec.structs.replace(first, payload={**first.payload, "reference": "DLF-ZZ-9999"})
    answer = push(client, token, code, [changed])
    assert codes(answer) == {first.event_id: RefusalCode.CONFLICTING} and answer["duplicates"] == 0
    row = server.store.projection(first.melding_id)
    assert row is not None and row["reference"] == first.payload["reference"]


def test_refused_events_are_not_acknowledged_and_the_laptop_learns_the_verdict(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    dev = device(code, wall_ms() + 3 * DAY_MS)  # clock three days ahead
    ahead = created(dev)
    state = fold([ahead])
    assert state is not None
    note = commands.add_note(dev, state, "na de registratie")
    answer = push(client, token, code, [ahead, note])
    assert answer["stored"] == 0
    assert codes(answer) == {ahead.event_id: RefusalCode.FUTURE_STAMP, note.event_id: RefusalCode.FUTURE_STAMP}
    # a retried push (lost answer) reports the same refusals again
    assert codes(push(client, token, code, [ahead, note])) == codes(answer)

    def verdicts(ids: list[str], tok: str = token, dev_code: str = code) -> list[dict]:
        resp = client.post(
            "/api/v1/sync/verdicts", json={"protocol": 1, "device_id": dev_code, "event_ids": ids}, headers=auth(tok)
        )
        assert resp.status_code == 200, resp.text
        return resp.json()["verdicts"]

    assert [v["state"] for v in verdicts([ahead.event_id, "nope"])] == [VerdictState.WAITING, VerdictState.UNKNOWN]
    other_token, other = server.laptop("bram")
    assert [v["state"] for v in verdicts([ahead.event_id], other_token, other)] == [VerdictState.UNKNOWN]

    entries = {q["event_id"]: q for q in server.store.list_quarantine()}
    made = server.store.release_quarantined(entries[ahead.event_id]["id"], by="beheer")
    released = {e.event_id: e for e in made if e.device_id == code}
    assert [e.type for e in made if e.device_id != code] == ["note_added"]  # the server's note
    assert set(released) == {ahead.event_id}  # the note was refused for time too: released on its own
    assert released[ahead.event_id].hlc < pack(wall_ms() + 60_000)  # restamped with the server's clock
    with pytest.raises(StoreError):
        server.store.release_quarantined(entries[ahead.event_id]["id"])  # decided already
    server.store.release_quarantined(entries[note.event_id]["id"], by="beheer")
    m = server.store.melding(ahead.melding_id)
    assert m is not None and m.registered_at <= datetime.now(UTC)
    texts = [n.tekst for n in m.notes]
    assert any("oorspronkelijk" in t and str(datetime.fromtimestamp(physical_ms(ahead.hlc) / 1000, UTC).year) in t for t in texts)
    v = verdicts([ahead.event_id, note.event_id])
    assert [x["state"] for x in v] == [VerdictState.RELEASED] * 2 and v[0]["hlc"] == released[ahead.event_id].hlc
    # the laptop's original, pushed again, is a duplicate now (it takes the stored version at its pull)
    assert push(client, token, code, [ahead])["duplicates"] == 1


def test_dependents_follow_their_created_and_non_time_refusals_cannot_be_released(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    ahead = created(device(code, wall_ms() + 2 * DAY_MS))
    state = fold([ahead])
    assert state is not None
    push(client, token, code, [ahead])
    ok_note = commands.add_note(device(code), state, "later")
    # stamped in time, but its melding's registration waits in the quarantine
    assert codes(push(client, token, code, [ok_note])) == {ok_note.event_id: RefusalCode.CREATED_REFUSED}
    entries = {q["event_id"]: q for q in server.store.list_quarantine()}
    with pytest.raises(StoreError, match="registratie"):
        server.store.release_quarantined(entries[ok_note.event_id]["id"])
    assert server.store.reject_quarantined(entries[ahead.event_id]["id"], note="dubbel") == 2
    assert {q["status"] for q in server.store.list_quarantine()} == {VerdictState.REJECTED}
    assert server.store.melding(ahead.melding_id) is None
    # a foreign-device refusal is about authority, not time: only reject
    b_token, b = server.laptop("bram")
    forged = created(device(code), 9)
    push(client, b_token, b, [forged])
    entry = next(q for q in server.store.list_quarantine() if q["event_id"] == forged.event_id)
    with pytest.raises(StoreError, match="reject"):
        server.store.release_quarantined(entry["id"])


def test_an_edit_refused_with_its_created_for_its_own_time_goes_with_it(server: Server, client: TestClient) -> None:
    """A laptop two days ahead registers and edits in one push: both are refused for their own future
    stamp. The edit can never be stored before its created; rejecting the created rejects it too
    (found by tests/server/test_sync_stateful.py: released alone, it was an event without a melding)."""
    token, code = server.laptop("anna")
    dev = device(code, wall_ms() + 2 * DAY_MS)
    ahead = created(dev)
    state = fold([ahead])
    assert state is not None
    edit = commands.edit(dev, state, {"omschrijving": "tegel"})[0]
    answer = push(client, token, code, [ahead, edit])
    assert codes(answer) == {ahead.event_id: RefusalCode.FUTURE_STAMP, edit.event_id: RefusalCode.FUTURE_STAMP}
    entries = {q["event_id"]: q["id"] for q in server.store.list_quarantine()}
    with pytest.raises(StoreError, match=f"geef nummer {entries[ahead.event_id]} vrij, daarna dit"):
        server.store.release_quarantined(entries[edit.event_id])
    assert server.store.reject_quarantined(entries[ahead.event_id], note="klok") == 2
    assert {q["status"] for q in server.store.list_quarantine()} == {VerdictState.REJECTED}
    assert server.store.counts()["events"] == 0
    resp = client.post(
        "/api/v1/sync/verdicts",
        json={"protocol": 1, "device_id": code, "event_ids": [ahead.event_id, edit.event_id]},
        headers=auth(token),
    )
    assert [(v["state"], v["note"]) for v in resp.json()["verdicts"]] == [(VerdictState.REJECTED, "klok")] * 2


def test_an_edit_waiting_on_a_created_rejected_earlier_can_only_be_rejected(server: Server, client: TestClient) -> None:
    """A database from before the fix: the created was rejected, its time-refused edit still waits."""
    token, code = server.laptop("anna")
    dev = device(code, wall_ms() + 2 * DAY_MS)
    ahead = created(dev)
    state = fold([ahead])
    assert state is not None
    edit = commands.add_note(dev, state, "gebeld")
    push(client, token, code, [ahead, edit])
    entries = {q["event_id"]: q["id"] for q in server.store.list_quarantine()}
    sql(server.store, "UPDATE quarantine SET status = 'rejected' WHERE id = ?", (entries[ahead.event_id],))
    with pytest.raises(StoreError, match="kan alleen worden afgewezen"):
        server.store.release_quarantined(entries[edit.event_id])
    assert server.store.counts()["events"] == 0
    assert server.store.reject_quarantined(entries[edit.event_id]) == 1


@pytest.mark.parametrize("registered_days", [2, -400])
def test_events_pushed_with_a_created_the_route_refuses_wait_on_it(
    server: Server, client: TestClient, registered_days: int
) -> None:
    """A created refused for its registration time (ahead of the server, or far before its own stamp)
    and a note stamped in time, in one push: the note is not stored without its melding."""
    token, code = server.laptop("anna")
    dev = device(code)
    first = created(dev, at=datetime.now(UTC) + timedelta(days=registered_days))
    state = fold([first])
    assert state is not None
    note = commands.add_note(dev, state, "gebeld")
    answer = push(client, token, code, [first, note])
    assert answer["stored"] == 0
    assert codes(answer)[note.event_id] == RefusalCode.CREATED_REFUSED
    assert server.store.counts()["events"] == 0
    created_entry = next(q for q in server.store.list_quarantine() if q["event_id"] == first.event_id)
    assert server.store.reject_quarantined(created_entry["id"]) == 2


def test_server_made_events_and_offline_work_keep_their_times(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    # the token was issued 10 days ago; the laptop then worked offline for a week
    sql(
        server.store,
        "UPDATE devices SET issued_at = ? WHERE device_code = ?",
        ((datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), code),
    )
    week_ago = datetime.now(UTC) - timedelta(days=8)
    dev = device(code, int(week_ago.timestamp() * 1000))
    old = created(dev, at=week_ago)
    assert push(client, token, code, [old])["stored"] == 1
    m = server.store.melding(old.melding_id)
    assert m is not None and abs((m.registered_at - week_ago).total_seconds()) < 1
    late = server.store.late_events(min_days=7)
    assert late["late"] == 1 and late["by_device"] == {code: 1} and late["max_days"] >= 7.9
    assert server.store.late_events(min_days=9)["late"] == 0
    # an imported historic registration, made by the server itself, is not judged and not counted late
    historic = datetime(2019, 5, 1, tzinfo=UTC)

    def build(dev: commands.DeviceClock, next_counter):  # noqa: ANN001, ANN202
        return [commands.register(dev, prefix="DLF", counter=next_counter(), fields=MeldingFields(omschrijving="oud"), registered_at=historic)]

    made = server.store.append_server_events("import", build)
    stored = server.store.melding(made[0].melding_id)
    assert stored is not None and stored.registered_at == historic
    assert server.store.late_events(min_days=7)["late"] == 1
