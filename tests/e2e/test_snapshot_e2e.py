"""First sync from a server-built snapshot, end to end (issue 12): real ``wijkteam-server`` processes,
real laptop stores, laptops killed (SIGKILL) at every step of the install, a download cut midway."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from shared import commands
from shared.enums import Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import wall_ms
from shared.reference import counter_of
from tests.e2e.conftest import ROOT, Laptop, ServerProcess, wijkteam_cmd
from tests.e2e.replicas import assert_replicas_equal, laptop_dump
from tests.e2e.test_sync_e2e import _run_laptop, no_sleep, register, sync
from wijkteam_tui.snapshot_client import side_files
from wijkteam_tui.sync_client import SyncError, sync_once

pytestmark = pytest.mark.e2e


def fill(lap: Laptop, server: ServerProcess, meldingen: int) -> None:
    """``meldingen`` new meldingen on ``lap``, each with a status change or a note, pushed."""
    dev = lap.store.device_clock(lap.name)
    start = lap.store.conn.execute("SELECT melding_counter FROM device").fetchone()[0]
    groups: list[list[Event]] = []
    for n in range(start + 1, start + meldingen + 1):
        created = commands.register(
            dev, prefix="DLF", counter=n,
            fields=MeldingFields(omschrijving=f"Losse tegel bij nummer {n} van {lap.name}", categorie="verharding/losse_tegel"),
        )
        state = fold([created])
        assert state is not None
        follow = commands.change_status(dev, state, Status.IN_BEHANDELING) if n % 2 else commands.add_note(dev, state, "Gebeld")
        groups.append([created, follow])
    lap.store.bulk_load(groups, acked=False, device=dev, melding_counter=start + meldingen)
    sync(lap, server)


def build_snapshot(server: ServerProcess) -> None:
    out = server.cli("snapshot", "build")
    assert out.returncode == 0 and "Snapshot laptop-" in out.stdout, out.stderr


def dump(path: Path) -> tuple:
    """:func:`laptop_dump` with the cursor and the log id."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return (*laptop_dump(path), conn.execute("SELECT pull_cursor, server_log_id FROM device").fetchone())
    finally:
        conn.close()


@pytest.fixture
def world(server: ServerProcess, make_laptop: Callable[[str], Laptop]) -> tuple[Laptop, Laptop]:
    """Two laptops that worked and synced: 1,200 events in a snapshot, then 60 more in the log.

    The server builds no snapshot by itself here (``WIJKTEAM_SNAPSHOT_LAG=0``): the tests build them
    when they need one, and a background build must not hold the build lock then."""
    server.restart(env={"WIJKTEAM_SNAPSHOT_LAG": "0"})
    a, b = make_laptop("anna"), make_laptop("bram")
    fill(a, server, 400)
    fill(b, server, 200)
    build_snapshot(server)
    fill(a, server, 20)
    fill(b, server, 10)
    return a, b


def test_snapshot_plus_tail_equals_a_laptop_that_pulled_everything(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], world: tuple[Laptop, Laptop]
) -> None:
    a, b = world
    fresh, puller = make_laptop("carla"), make_laptop("dirk")
    progress: list[tuple[str, int, int | None]] = []
    result = sync(fresh, server, on_progress=lambda *p: progress.append(p))
    assert (result.snapshot, result.pulled) == (1200, 60), result
    assert progress[0][0] == "snapshot" and progress[-1] == ("pull", 60, None)
    downloads = [p for p in progress if p[0] == "snapshot"]
    assert downloads[-1][1] == downloads[-1][2] and ("install", 0, None) in progress
    full = sync(puller, server, snapshot_behind=None)
    assert (full.snapshot, full.pulled) == (0, 1260)
    sync(a, server)
    rows = assert_replicas_equal(fresh.path, puller.path, a.path, server.db)
    assert len(rows) == 630
    fresh.store.close()
    puller.store.close()
    assert dump(fresh.path) == dump(puller.path)
    fresh.reopen()
    puller.reopen()
    assert fresh.store.search("tegel", limit=20) == puller.store.search("tegel", limit=20)
    assert not any(p.exists() for p in side_files(fresh.path))
    # the new laptop works on as usual: its first melding syncs and reaches the others
    register(fresh, "Na de eerste sync")
    assert sync(fresh, server).pushed == 1
    sync(puller, server)
    assert_replicas_equal(fresh.path, puller.path, server.db)


def test_a_reinstalled_laptop_numbers_on_after_its_own_meldingen(
    server: ServerProcess, world: tuple[Laptop, Laptop], tmp_path: Path
) -> None:
    a, _ = world
    references = {r[0] for r in a.store.conn.execute("SELECT reference FROM meldingen WHERE reference LIKE ?", (f"%-{a.code}-%",))}
    again = Laptop(tmp_path / "anna-again.sqlite3", a.name, a.token, a.code)  # same token and device code
    result = sync(again, server)
    assert result.snapshot == 1200
    ref = again.store.get(register(again, "Na herinstallatie")).reference  # type: ignore[union-attr]
    assert ref not in references and counter_of(ref) == max(counter_of(r) for r in references) + 1
    assert sync(again, server).quarantined == 0
    again.store.close()


def test_a_laptop_with_unsent_work_never_takes_the_snapshot(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], world: tuple[Laptop, Laptop]
) -> None:
    lap = make_laptop("eva")
    mine = register(lap, "Nog niet verstuurd")  # the database is not empty, and this waits
    result = sync(lap, server, snapshot_behind=0)
    assert (result.snapshot, result.pushed, result.pulled) == (0, 1, 1261)
    assert lap.store.get(mine) is not None
    # behind, nothing waiting, but not more than the limit: pulls
    behind = make_laptop("fred")
    sync(behind, server, snapshot_behind=None)
    fill(world[0], server, 5)
    assert sync(behind, server, snapshot_behind=10).snapshot == 0


def test_a_laptop_with_a_refused_event_never_takes_the_snapshot(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], world: tuple[Laptop, Laptop]
) -> None:
    lap = make_laptop("olga")
    ten_years = lambda: wall_ms() + 10 * 365 * 24 * 3600 * 1000  # noqa: E731
    register(lap, "Melding met klok in 2036", clock=ten_years)
    first = sync_once(lap.store, server.url, lap.token, clock=ten_years, snapshot_behind=0)
    assert (first.snapshot, first.quarantined) == (0, 1)
    assert lap.store.pending_count() == 0 and lap.store.local_work() == 1  # kept as refused
    fill(world[0], server, 50)
    build_snapshot(server)  # 100 events past this laptop
    again = sync(lap, server, snapshot_behind=0)
    assert (again.snapshot, again.pulled) == (0, 100) and lap.store.refused_count() == 1


def test_a_far_behind_laptop_without_unsent_work_takes_the_snapshot(
    server: ServerProcess, make_laptop: Callable[[str], Laptop]
) -> None:
    server.restart(env={"WIJKTEAM_SNAPSHOT_LAG": "0"})  # the test builds the snapshot itself
    a, lap = make_laptop("anna"), make_laptop("gijs")
    fill(a, server, 10)
    register(lap, "Van gijs")
    sync(lap, server)  # 21 events, its own sent
    fill(a, server, 300)
    build_snapshot(server)
    fill(a, server, 5)
    result = sync(lap, server, snapshot_behind=100)
    assert (result.snapshot, result.pulled) == (621, 10)
    sync(a, server)
    assert_replicas_equal(lap.path, a.path, server.db)


def _states(path: Path) -> int:
    """The events of the laptop database at ``path``: it must open, pass its checks and not be a mix."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("point", ["downloading", "downloaded", "prepared", "replacing", "installed", "tail"])
def test_a_laptop_killed_at_any_step_has_the_old_database_or_the_new_one(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], world: tuple[Laptop, Laptop], point: str
) -> None:
    a, _ = world
    lap = make_laptop("henk")
    register(lap, "Van henk")
    sync(lap, server)  # 1,261 events, nothing waiting
    fill(a, server, 400)  # 800 more: henk is far behind
    build_snapshot(server)
    fill(a, server, 5)
    lap.store.close()
    old = dump(lap.path)
    args = ["--snapshot-behind", "100", "--limit", "4"]
    crash = ["--crash", "during-apply", "--crash-page", "2"] if point == "tail" else ["--crash-at", point]
    crashed = _run_laptop(lap, server, *args, *crash)
    assert crashed.returncode == -9, crashed.stderr
    events = _states(lap.path)
    if point in ("downloading", "downloaded", "prepared", "replacing"):
        assert dump(lap.path) == old  # untouched
    else:
        assert events >= 2061  # the snapshot's (and, in the tail, whole pages of it)
    done = _run_laptop(lap, server, *args)
    assert done.returncode == 0, done.stderr
    lap.reopen()
    assert lap.store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    sync(a, server)
    rows = assert_replicas_equal(lap.path, a.path, server.db)
    assert len(rows) == 1036
    assert not any(p.exists() for p in side_files(lap.path))


class CuttingProxy:
    """A TCP proxy to the server that closes each connection after passing ``limit`` response bytes
    (a connection that drops midway); ``limit=None`` passes everything."""

    def __init__(self, upstream: str, limit: int | None) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.limit = limit
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.threads: list[threading.Thread] = []
        self.cut = 0
        self._spawn(self._accept)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._spawn(self._pump, client, server, None)
            self._spawn(self._pump, server, client, self.limit)

    def _pump(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        passed = 0
        try:
            while data := src.recv(65536):
                if limit is not None and passed + len(data) > limit:
                    dst.sendall(data[: limit - passed])
                    self.cut += 1
                    break
                dst.sendall(data)
                passed += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def proxy(server: ServerProcess) -> Iterator[Callable[[int | None], CuttingProxy]]:
    made: list[CuttingProxy] = []

    def make(limit: int | None) -> CuttingProxy:
        p = CuttingProxy(server.url, limit)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def test_a_download_cut_midway_resumes_where_it_stopped(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], world: tuple[Laptop, Laptop],
    proxy: Callable[[int | None], CuttingProxy],
) -> None:
    lap = make_laptop("ilse")
    length = int(httpx.get(server.url + "/api/v1/sync/snapshot/info", headers={
        "Authorization": f"Bearer {lap.token}", "X-Wijkteam-Protocol": "1"}).json()["length"])
    cutting = proxy(length // 2)
    with pytest.raises(SyncError) as err:
        sync_once(lap.store, cutting.url, lap.token, retries=0, sleep=no_sleep)
    assert err.value.offline and "onderbroken" in err.value.message
    download, description, _ = side_files(lap.path)
    kept = download.stat().st_size
    assert 0 < kept < length and description.exists()
    assert lap.store.is_empty()  # the database was not touched
    # next round, a working connection: only the rest is fetched (a Range request), then installed
    progress: list[tuple[str, int, int | None]] = []
    result = sync_once(lap.store, server.url, lap.token, on_progress=lambda *p: progress.append(p))
    assert result.snapshot == 1200
    first = next(p for p in progress if p[0] == "snapshot")
    assert first[1] > kept  # went on from what was there, never from 0
    # and a round that resumes on its own: the connection drops every third of the file
    other = make_laptop("joop")
    dropping = proxy(length // 3)
    assert sync_once(other.store, dropping.url, other.token, retries=5, sleep=no_sleep).snapshot == 1200
    assert dropping.cut >= 2
    assert_replicas_equal(lap.path, other.path, server.db)


def test_the_server_rebuilds_its_snapshot_in_the_background(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server.sqlite3", tmp_path / "server.log")
    server.start(env={"WIJKTEAM_SNAPSHOT_LAG": "50", "WIJKTEAM_SNAPSHOT_CHECK_S": "0.2"})
    try:
        token, code = server.add_user("anna")
        assert code
        lap = Laptop(tmp_path / "anna.sqlite3", "anna", token, code)
        fill(lap, server, 40)  # 80 events: more than the lag
        headers = {"Authorization": f"Bearer {token}", "X-Wijkteam-Protocol": "1"}
        info = _wait_for_info(server, headers, lambda i: i["server_seq"] == 80)
        assert info["log_seq"] == 80
        fill(lap, server, 20)  # 40 more: within the lag, no rebuild
        fill(lap, server, 10)  # 60 past the snapshot: rebuilt
        info = _wait_for_info(server, headers, lambda i: i["server_seq"] == 140)
        lap.store.close()
    finally:
        server.stop()
    assert sorted(p.name for p in (tmp_path / "server.sqlite3.snapshots").glob("laptop-*")) == sorted(
        [f"laptop-{info['log_id']:x}-80.sqlite3", f"laptop-{info['log_id']:x}-140.sqlite3"]
    )


def _wait_for_info(server: ServerProcess, headers: dict[str, str], done: Callable[[dict], bool]) -> dict:
    """Poll ``/snapshot/info`` until ``done`` holds (the build runs in a process of its own; a
    minute at most)."""
    with httpx.Client(timeout=10) as client:
        for _ in range(600):
            resp = client.get(server.url + "/api/v1/sync/snapshot/info", headers=headers)
            if resp.status_code == 200 and done(resp.json()):
                return resp.json()
            threading.Event().wait(0.1)
    raise AssertionError("no snapshot built within a minute")


def test_wijkteam_sync_shows_the_download_and_says_what_it_installed(
    server: ServerProcess, world: tuple[Laptop, Laptop], tmp_path: Path
) -> None:
    token, _ = server.add_user("script")
    fresh = tmp_path / "fresh.sqlite3"
    ok = subprocess.run(wijkteam_cmd("sync", "--server", server.url, "--token", token, "--db", str(fresh)),
                        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stderr.splitlines()  # not a terminal: a line per 10 %
    assert lines[0].startswith("Snapshot downloaden: ") and lines[-2].endswith("MB (100 %)"), lines
    assert 2 <= len(lines) <= 12 and lines[-1] == "Snapshot controleren en installeren…"
    assert "Snapshot van de server geïnstalleerd: 1200 gebeurtenissen" in ok.stdout
    assert "60 ontvangen" in ok.stdout
    sync(world[0], server)
    assert_replicas_equal(fresh, world[0].path, server.db)
