"""Sync end to end: real ``wijkteam-server serve`` processes, real laptop stores (issue 4, "Tests")."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest

from shared import commands
from shared.enums import Prioriteit, Status
from shared.events import Event, MeldingFields
from shared.hlc import wall_ms
from shared.projection import parse_iso
from shared.protocol import WARN_SKEW_MS
from sync_server.store import ServerStore
from tests.e2e.conftest import ROOT, Laptop, ServerProcess, server_cmd, wijkteam_cmd
from tests.e2e.replicas import assert_replicas_equal, event_count, snapshot
from wijkteam_store.local import LocalStore
from wijkteam_tui.sync_client import SyncError, describe, sync_once

pytestmark = pytest.mark.e2e


@pytest.fixture
def server_db(store_location: Path | str) -> Path | str:
    """Every test here runs on a SQLite server and on a PostgreSQL one (issue 17 §4)."""
    return store_location

DAY_MS = 24 * 3600 * 1000


def no_sleep(_: float) -> None:
    return None


def sync(lap: Laptop, server: ServerProcess, **kw: object) -> object:
    return sync_once(lap.store, server.url, lap.token, **kw)  # type: ignore[arg-type]


def register(lap: Laptop, text: str, *, clock: Callable[[], int] | None = None, at: datetime | None = None,
             categorie: str | None = "verharding/losse_tegel") -> str:
    dev = lap.store.device_clock(lap.name, clock=clock)
    m = lap.store.register(dev, prefix="DLF", fields=MeldingFields(omschrijving=text, categorie=categorie), registered_at=at)
    return m.melding_id


def act(lap: Laptop, make: Callable[[commands.DeviceClock], list[Event] | Event], *, clock: Callable[[], int] | None = None) -> None:
    dev = lap.store.device_clock(lap.name, clock=clock)
    made = make(dev)
    lap.store.append(made if isinstance(made, list) else [made], dev)


def test_two_laptops_offline_for_days_then_sync(server: ServerProcess, make_laptop: Callable[[str], Laptop]) -> None:
    a, b = make_laptop("anna"), make_laptop("bram")
    for lap in (a, b):
        server.issued_days_ago(lap.code, 7)  # the tokens were handed out before the week offline
    now = wall_ms()
    originals: dict[str, tuple[str, str | None]] = {}
    for day in range(5, 0, -1):  # five working days offline, each laptop on its own
        t = now - day * DAY_MS
        for lap, n in ((a, 3), (b, 2)):
            for i in range(n):
                at = datetime.fromtimestamp((t + i * 60_000) / 1000, tz=UTC)
                mid = register(lap, f"{lap.name} dag {day} nr {i}", clock=lambda t=t, i=i: t + i * 60_000, at=at)
                m = lap.store.get(mid)
                assert m is not None
                originals[mid] = (m.registered_at.isoformat(), m.deadline.isoformat() if m.deadline else None)
        first = a.store.search(limit=1)[0]["melding_id"]
        state = a.store.get(first)
        assert state is not None
        if state.status == Status.GEMELD:
            act(a, lambda d, s=state: commands.change_status(d, s, Status.IN_BEHANDELING), clock=lambda t=t: t + 3_600_000)

    for lap in (a, b, a):
        sync(lap, server)
    rows = assert_replicas_equal(a.path, b.path, server.db)
    assert len(rows) == 25 == len(originals)
    for mid, (registered, deadline) in originals.items():
        assert parse_iso(rows[mid]["registered_at"]).isoformat() == registered
        assert (parse_iso(rows[mid]["deadline"]).isoformat() if rows[mid]["deadline"] else None) == deadline
    assert a.store.pending_count() == b.store.pending_count() == 0


class LoseFirstPushResponse(httpx.BaseTransport):
    """Forwards to the real server, but the first push's answer is 'lost' after the server committed."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/sync/push") and self.lost == 0:
            response.read()
            self.lost += 1
            raise httpx.ReadError("connection reset while reading the answer", request=request)
        return response


@pytest.mark.parametrize("retry_inside", [True, False])
def test_lost_push_response_then_retry_stores_everything_once(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], retry_inside: bool
) -> None:
    a, b = make_laptop("anna"), make_laptop("bram")
    mid = register(a, "Lantaarnpaal knippert", categorie="verlichting/lantaarnpaal")
    sync(a, server)
    state = a.store.get(mid)
    assert state is not None
    act(a, lambda d: commands.change_status(d, state, Status.IN_BEHANDELING))
    for i in range(3):
        register(a, f"Tegel {i}")
    local = event_count(a.path)
    transport = LoseFirstPushResponse()
    with httpx.Client(transport=transport) as client:
        if retry_inside:
            result = sync_once(a.store, server.url, a.token, client=client, sleep=no_sleep)
            assert result.pushed == 4
        else:
            with pytest.raises(SyncError) as err:
                sync_once(a.store, server.url, a.token, client=client, retries=0)
            assert err.value.offline
            assert a.store.pending_count() == 4  # not acknowledged: the answer never came
            sync_once(a.store, server.url, a.token, client=client)
    assert transport.lost == 1
    assert event_count(server.db) == local
    sync(b, server)
    rows = assert_replicas_equal(a.path, b.path, server.db)
    state = b.store.get(mid)
    assert state is not None and state.status == Status.IN_BEHANDELING
    assert [h.type for h in state.history].count("status_changed") == 1
    assert rows[mid]["event_count"] == 2


def test_concurrent_edits_merge_the_same_everywhere(server: ServerProcess, make_laptop: Callable[[str], Laptop]) -> None:
    a, b = make_laptop("anna"), make_laptop("bram")
    mid = register(a, "Boom hangt over het fietspad", categorie="groen/boom")
    sync(a, server)
    sync(b, server)
    sa, sb = a.store.get(mid), b.store.get(mid)
    assert sa is not None and sb is not None
    # different fields: both survive
    act(a, lambda d: commands.edit(d, sa, {"omschrijving": "Boom hangt over fietspad, tak gebroken"}))
    act(b, lambda d: commands.edit(d, sb, {"prioriteit": Prioriteit.HOOG}))
    for lap in (a, b, a):
        sync(lap, server)
    rows = assert_replicas_equal(a.path, b.path, server.db)
    assert rows[mid]["omschrijving"] == "Boom hangt over fietspad, tak gebroken"
    assert rows[mid]["prioriteit"] == "hoog"
    assert rows[mid]["conflict_count"] == 0
    # the same field on both: one winner everywhere, the conflict flagged, the loser in the history
    sa, sb = a.store.get(mid), b.store.get(mid)
    assert sa is not None and sb is not None
    act(a, lambda d: commands.edit(d, sa, {"omschrijving": "Versie van Anna"}))
    act(b, lambda d: commands.edit(d, sb, {"omschrijving": "Versie van Bram"}))
    for lap in (a, b, a):
        sync(lap, server)
    rows = assert_replicas_equal(a.path, b.path, server.db)
    assert rows[mid]["omschrijving"] in ("Versie van Anna", "Versie van Bram")
    loser = ({"Versie van Anna", "Versie van Bram"} - {rows[mid]["omschrijving"]}).pop()
    assert rows[mid]["conflict_count"] == 1
    for lap in (a, b):
        m = lap.store.get(mid)
        assert m is not None
        assert [c.field for c in m.conflicts] == ["omschrijving"]
        assert any(h.details.get("fields", {}).get("omschrijving") == loser for h in m.history)


def test_delete_beats_stale_offline_edit(server: ServerProcess, make_laptop: Callable[..., Laptop]) -> None:
    a, b = make_laptop("anna", role="admin"), make_laptop("bram")  # only an admin may delete
    mid = register(a, "Dubbel gemeld: zwerfvuil", categorie=None)
    sync(a, server)
    sync(b, server)
    sa, stale = a.store.get(mid), b.store.get(mid)
    assert sa is not None and stale is not None
    act(a, lambda d: commands.delete(d, sa, "dubbel"))
    sync(a, server)
    act(b, lambda d: commands.edit(d, stale, {"omschrijving": "Zwerfvuil bij de glasbak"}))  # offline, old copy
    sync(b, server)
    sync(a, server)
    rows = assert_replicas_equal(a.path, b.path, server.db)
    assert rows[mid]["deleted"] == 1
    m = b.store.get(mid)
    assert m is not None and m.deleted
    assert any(c.field == "_deleted" for c in m.conflicts)
    assert any(h.type == "fields_changed" for h in m.history)
    c = make_laptop("carla")
    sync(c, server)
    assert [r["melding_id"] for r in c.store.search()] == []
    fresh = c.store.get(mid)
    assert fresh is not None and fresh.deleted


def test_clock_ten_years_ahead_is_quarantined_one_hour_off_syncs(
    server: ServerProcess, make_laptop: Callable[[str], Laptop]
) -> None:
    ok, future, hour = make_laptop("anna"), make_laptop("toekomst"), make_laptop("uurtje")
    register(ok, "Gewone melding")
    ten_years = lambda: wall_ms() + 10 * 365 * DAY_MS
    register(future, "Melding met klok in 2036", clock=ten_years)
    result = sync_once(future.store, server.url, future.token, clock=ten_years)
    assert result.quarantined == 1 and result.pushed == 1
    assert "uur voor op de serverklok" in result.quarantine_reasons[0][1]
    assert abs(result.skew_ms) > 9 * 365 * DAY_MS
    assert "klok van deze laptop loopt" in describe(result)
    listed = server.cli("quarantine", "list")
    assert listed.returncode == 0 and result.quarantine_reasons[0][0] in listed.stdout

    one_hour = lambda: wall_ms() + 3_600_000
    register(hour, "Melding met klok een uur voor", clock=one_hour)
    hr = sync_once(hour.store, server.url, hour.token, clock=one_hour)
    assert hr.quarantined == 0 and hr.pushed == 1
    assert abs(hr.skew_ms - 3_600_000) < WARN_SKEW_MS  # shown as about an hour ahead
    assert "60 min voor" in describe(hr)

    r = sync(ok, server)
    assert r.quarantined == 0  # type: ignore[attr-defined]
    sync(hour, server)
    rows = assert_replicas_equal(ok.path, hour.path, server.db)
    assert len(rows) == 2
    assert "Melding met klok in 2036" not in {row["omschrijving"] for row in rows.values()}


def test_invalid_event_in_a_batch_does_not_block_the_others(
    server: ServerProcess, make_laptop: Callable[[str], Laptop]
) -> None:
    a = make_laptop("anna")
    mid = register(a, "Put verstopt", categorie="riolering/verstopping")
    state = a.store.get(mid)
    assert state is not None
    dev = a.store.device_clock("anna")
    good = [*a.store.unacked_events(10), commands.add_note(dev, state, "Gebeld met melder")]
    bad = msgspec.structs.replace(
        commands.add_note(dev, state, "x"), payload={"tekst": "x", "onbekend_veld": 1}
    )
    body = {"protocol": 1, "device_id": a.code, "events": msgspec.to_builtins([good[0], bad, good[1]])}
    resp = httpx.post(
        server.url + "/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {a.token}"}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    ack = resp.json()
    assert (ack["stored"], ack["duplicates"]) == (2, 0)
    assert [q["event_id"] for q in ack["quarantined"]] == [bad.event_id]
    assert "onbekend_veld" in ack["quarantined"][0]["reason"]
    events, rows = snapshot(server.db)
    assert set(events) == {good[0].event_id, good[1].event_id}
    assert rows[mid]["event_count"] == 2
    listed = server.cli("quarantine", "list")
    assert bad.event_id in listed.stdout and "onbekend_veld" in listed.stdout


def _run_laptop(lap: Laptop, server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    lap.store.close()
    return subprocess.run(
        [sys.executable, "-m", "tests.e2e.laptop_proc", "--db", str(lap.path), "--server", server.url,
         "--token", lap.token, *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )


@pytest.mark.parametrize("point", ["before-apply", "during-apply", "after-apply"])
def test_client_killed_around_applying_a_pull_page(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], point: str
) -> None:
    a, b = make_laptop("anna"), make_laptop("bram")
    for i in range(30):
        register(a, f"Melding {i}")
    for i in range(4):
        register(b, f"Eigen melding {i}")
    sync(a, server)
    crashed = _run_laptop(b, server, "--limit", "10", "--crash", point, "--crash-page", "2")
    assert crashed.returncode == -9, crashed.stderr
    b.reopen()
    done = _run_laptop(b, server, "--limit", "10")
    assert done.returncode == 0, done.stderr
    b.reopen()
    sync(a, server)
    rows = assert_replicas_equal(a.path, b.path, server.db)
    assert len(rows) == 34
    assert b.store.pending_count() == 0


@pytest.mark.parametrize("point", ["push-before-commit", "push-after-commit"])
def test_server_killed_during_a_push(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], point: str
) -> None:
    a, b = make_laptop("anna"), make_laptop("bram")
    for i in range(50):
        register(a, f"Melding {i}")
    server.restart(env={"WIJKTEAM_SERVER_CRASH_POINT": point})
    with pytest.raises(SyncError) as err:
        sync(a, server, retries=0)
    assert err.value.offline
    assert server.wait_dead() == -9
    stored = event_count(server.db)
    assert stored == (50 if point == "push-after-commit" else 0)
    assert a.store.pending_count() == 50
    server.restart()
    sync(a, server)
    sync(b, server)
    rows = assert_replicas_equal(a.path, b.path, server.db)
    assert len(rows) == 50 and event_count(server.db) == 50


def test_revoked_token_and_backup_while_running(server: ServerProcess, make_laptop: Callable[[str], Laptop],
                                                tmp_path: Path) -> None:
    a = make_laptop("anna")
    register(a, "Melding voor de reservekopie")
    sync(a, server)
    postgres = isinstance(server.db, str)
    backup = tmp_path / ("kopie.dump" if postgres else "kopie.sqlite3")
    out = server.cli("backup", str(backup))
    assert out.returncode == 0, out.stderr
    if postgres:  # a pg_dump archive of the store (its restore: tests/server/test_pg_backup.py)
        from sync_server.storage import pg_backup

        pg_backup.check_archive(backup)
    else:
        copy = ServerStore(backup)
        try:
            assert copy.counts()["events"] == 1
        finally:
            copy.close()
    assert server.cli("user", "revoke", "anna").returncode == 0
    register(a, "Na intrekken")
    with pytest.raises(SyncError) as err:
        sync(a, server)
    assert err.value.status == 401 and not err.value.offline
    assert a.store.pending_count() == 1


def test_offline_laptop_gets_a_dutch_offline_error(make_laptop: Callable[[str], Laptop], server: ServerProcess) -> None:
    a = make_laptop("anna")
    register(a, "Zonder verbinding")
    server.stop()
    with pytest.raises(SyncError) as err:
        sync(a, server, sleep=no_sleep)
    assert err.value.offline and "Geen verbinding" in err.value.message
    assert a.store.pending_count() == 1


def test_wijkteam_sync_command(server: ServerProcess, make_laptop: Callable[[str], Laptop], tmp_path: Path) -> None:
    a = make_laptop("anna")
    register(a, "Via de opdrachtregel")
    sync(a, server)
    token, code = server.add_user("script")
    fresh = tmp_path / "fresh.sqlite3"
    cmd = wijkteam_cmd()
    env = {**os.environ, "WIJKTEAM_CONFIG": str(tmp_path / "config.toml")}  # no server set in the app
    ok = subprocess.run([*cmd, "sync", "--server", server.url, "--token", token, "--db", str(fresh)],
                        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "1 ontvangen" in ok.stdout
    assert_replicas_equal(a.path, fresh, server.db)
    # the new laptop took the device code issued with its token: `wijkteam --db` can number meldingen
    assert f"Apparaatcode {code} van de server overgenomen" in ok.stdout and "(F9)" in ok.stdout
    with LocalStore(fresh) as store:
        assert store.device_code() == code
    again = subprocess.run([*cmd, "sync", "--server", server.url, "--token", token, "--db", str(fresh)],
                           capture_output=True, text=True, timeout=120, cwd=ROOT, check=False, env=env)
    assert again.returncode == 0 and "Apparaatcode" not in again.stdout
    bad = subprocess.run([*cmd, "sync", "--server", server.url, "--token", "wt_fout", "--db", str(fresh)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, check=False, env=env)
    assert bad.returncode == 1 and "token" in (bad.stdout + bad.stderr)


def test_concurrent_pushes_get_increasing_seqs_and_a_concurrent_pull_skips_nothing(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], tmp_path: Path
) -> None:
    _concurrent_pushes_and_a_pull(server, [make_laptop(f"l{i}") for i in range(3)])


def test_several_workers_serve_one_postgresql_database(server: ServerProcess, make_laptop: Callable[[str], Laptop]) -> None:
    """``serve --workers 3`` (issue 17 §3): on PostgreSQL three processes share the log, gap-safe for a
    concurrent pull; on SQLite the option is refused with the reason."""
    laptops = [make_laptop(f"l{i}") for i in range(3)]
    server.stop()
    if not isinstance(server.db, str):
        out = subprocess.run(
            server_cmd("serve", "--db", str(server.db), "--port", "0", "--workers", "3"),
            capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
        )  # fmt: skip
        assert out.returncode == 1 and "alleen met PostgreSQL" in out.stderr
        return
    server.start(args=("--workers", "3"))
    _concurrent_pushes_and_a_pull(server, laptops)


def _concurrent_pushes_and_a_pull(server: ServerProcess, laptops: list[Laptop]) -> None:
    """Three laptops push 200 meldingen each in pushes of 20 at once while a fourth pulls all along:
    the puller sees every event once, in ``server_seq`` order, with no number skipped."""
    import threading

    batches: list[tuple[str, str, bytes]] = []
    for lap in laptops:
        for i in range(200):
            register(lap, f"{lap.name} {i}")
        events = lap.store.unacked_events(1000)
        for start in range(0, len(events), 20):  # many small pushes, to interleave
            body = msgspec.msgpack.encode({"protocol": 1, "device_id": lap.code, "events": events[start : start + 20]})
            batches.append((lap.token, lap.code, body))
    expected = {e.event_id for lap in laptops for e in lap.store.unacked_events(1000)}
    done = threading.Event()
    errors: list[str] = []

    def pusher(items: list[tuple[str, str, bytes]]) -> None:
        with httpx.Client(timeout=60) as c:
            for token, _, body in items:
                r = c.post(server.url + "/api/v1/sync/push", content=body,
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/msgpack"})
                if r.status_code != 200:
                    errors.append(r.text)

    seen: list[tuple[int, str]] = []

    def puller() -> None:
        after = 0
        headers = {"Authorization": f"Bearer {laptops[0].token}", "X-Wijkteam-Protocol": "1"}
        with httpx.Client(timeout=60) as c:
            while True:
                finished = done.is_set()
                page = c.get(server.url + "/api/v1/sync/pull", params={"after": after, "limit": 50},
                             headers=headers).json()
                seen.extend((p["server_seq"], p["event"]["event_id"]) for p in page["events"])
                after = page["next_after"]
                if finished and not page["has_more"]:
                    return

    # One thread per laptop: a laptop pushes its own events in order (the server refuses a device's
    # event stamped before one it already holds); the three laptops' pushes interleave.
    threads = [threading.Thread(target=pusher, args=([b for b in batches if b[1] == lap.code],)) for lap in laptops]
    reader = threading.Thread(target=puller)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert errors == []
    seqs = [s for s, _ in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert {eid for _, eid in seen} == expected and len(seen) == len(expected)
    assert seqs == list(range(1, len(expected) + 1))
