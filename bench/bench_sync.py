"""Sync benchmarks over loopback against a real ``wijkteam-server serve`` process (issues 4 and 12).

For each size N of the server's log (``--sizes``, default 100,000 and 1,000,000 events; realistic logs:
every melding a ``created`` event plus a status change or a note, so N events = N/2 meldingen):

1. **first sync** of a new laptop: it installs the server's snapshot of the first N events and pulls
   the tail of ``--lag`` events (default 1,000, the server's default rebuild lag: the worst case between
   two rebuilds). Floor: msgspec-decoding the pull pages of the same N + lag events plus one
   transaction of ``executemany`` into a fresh laptop database's ``events`` table (the floor of issue 4).
   Goals: 100,000 events ready in ≤ 0.5× the floor and ≤ 1 s; 1,000,000 in ≤ 10 s.
2. **incremental pull** of 10,000 events (``--tail``: half of them a note or status change of existing
   meldingen, half new meldingen with their follow-up) onto that laptop, with the server's projection
   rows. Floor: the same decode + one-transaction insert for those 10,000 events. Goal ≤ 2× the floor.
   Also printed: the same pull folding every melding on the laptop (a store that takes no rows).
3. **client peak RSS** (``VmHWM``) of a separate laptop process doing the first sync. Goal ≤ 100 MB.
4. **server**: the snapshot build from scratch (time, peak RSS of the build process) and the server
   process's peak RSS. Goal: building from 1,000,000 events under 300 MB.

For the smallest size also: the first sync without a snapshot (pulling the whole log, the path issue 4
measured; its goal is replaced by the first-sync goal above) and a push of 10,000 events, each with its
floor; and a check that the snapshot + tail laptop equals the laptop that pulled everything.

Run: ``python bench/bench_sync.py [--sizes 100000,1000000] [--lag 1000] [--tail 10000]``. Prints figures;
writes nothing outside a temp directory.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx
import msgspec

from shared import commands
from shared.enums import Role, Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.protocol import MAX_PULL_LIMIT, PullResponse
from sync_server.snapshot import read_current, snapshot_dir
from sync_server.store import ServerStore, now_iso
from tests.e2e.replicas import laptop_dump as dump
from wijkteam_store.codec import EVENT_SELECT, event_row
from wijkteam_store.local import LocalStore
from wijkteam_tui.sync_client import sync_once

_json = msgspec.json.Encoder()


def server_cmd(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "wijkteam-server"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "sync_server.cli", *args]


class Server:
    """``wijkteam-server serve`` on a database; no background snapshot builds (the bench builds them)."""

    def __init__(self, db: Path) -> None:
        env = {**os.environ, "WIJKTEAM_SNAPSHOT_LAG": "0"}
        self.proc = subprocess.Popen(
            server_cmd("serve", "--db", str(db), "--port", "0", "--log-level", "warning"),
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )
        assert self.proc.stdout is not None
        m = re.search(r"http://127\.0\.0\.1:(\d+)", self.proc.stdout.readline())
        assert m, "server did not start"
        self.url = f"http://127.0.0.1:{m.group(1)}"
        httpx.get(self.url + "/health", timeout=60).raise_for_status()

    def peak_rss_mb(self) -> float:
        return _vm_hwm_mb(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _vm_hwm_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as fh:
        return int(next(line.split()[1] for line in fh if line.startswith("VmHWM"))) / 1024


def melding_events(device: str | commands.DeviceClock, n_events: int, start: int = 1) -> Iterator[list[Event]]:
    """Realistic logs, one list per melding: a ``created`` plus a status change or a note, until ``n_events``."""
    dev = device if isinstance(device, commands.DeviceClock) else commands.DeviceClock(device, "bench")
    counter = start - 1
    made = 0
    while made < n_events:
        counter += 1
        created = commands.register(
            dev, prefix="DLF", counter=counter,
            fields=MeldingFields(omschrijving=f"Losse tegel voor nummer {counter}", categorie="verharding/losse_tegel"),
        )
        group = [created]
        if made + 1 < n_events:
            state = fold([created], history=False)
            assert state is not None
            group.append(
                commands.change_status(dev, state, Status.IN_BEHANDELING) if counter % 2
                else commands.add_note(dev, state, "Gebeld met de melder")
            )
        made += len(group)
        yield group


def fill_server_fast(store: ServerStore, device: str, n: int) -> None:
    """``n`` events straight into the server's ``events`` table, with their projection rows written by
    the server's own code (as pushes would have left them), in transactions of about 20,000 events."""
    received = now_iso()
    rows: list[tuple] = []
    meldingen = []
    for group in melding_events(device, n):
        for e in group:
            rows.append((e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type,
                         _json.encode(e.payload).decode(), e.user, e.prev, e.schema, received, "bench"))
        meldingen.append(fold(group, history=False))
        if len(rows) >= 20_000:
            _insert(store, rows, meldingen)
            rows, meldingen = [], []
    if rows:
        _insert(store, rows, meldingen)


def _insert(store: ServerStore, rows: list[tuple], meldingen: list) -> None:
    conn = store.conn()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        'INSERT INTO events (event_id, melding_id, device_id, device_seq, hlc, type, payload, "user", prev, "schema",'
        " received_at, pushed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    store._write_projection(conn, meldingen)
    conn.execute("COMMIT")


def push_tail(store: ServerStore, n: int, device: str, *, seed: int) -> None:
    """``n`` more events through the server's own ingest (projection, summary, HLC as for a push): half
    a note or status change of random existing meldingen, half new meldingen with their follow-up."""
    rnd = random.Random(seed)
    mids = [r[0] for r in store.conn().execute("SELECT melding_id FROM meldingen")]
    dev = commands.DeviceClock(device, "bench")
    changes = []
    for mid in rnd.sample(mids, n // 2):
        state = store.melding(mid)
        assert state is not None
        changes.append(
            commands.change_status(dev, state, Status.IN_BEHANDELING) if state.status == Status.GEMELD
            else commands.add_note(dev, state, "Bewoner teruggebeld")
        )
    fresh = [e for group in melding_events(device, n - len(changes), start=10**6) for e in group]
    # interleaved as laptops' pushes would be, each melding's own events in order
    events: list[Event] = []
    while changes or fresh:
        take = changes if changes and (not fresh or rnd.random() < 0.5) else fresh
        events.append(take.pop(0))
    for i in range(0, len(events), 2000):
        store.ingest(events[i : i + 2000], pushed_by="bench")


def pull_pages(url: str, token: str, after: int) -> list[bytes]:
    """The pull pages after ``after`` as the server sends them (MessagePack, no projection rows)."""
    pages: list[bytes] = []
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/msgpack", "X-Wijkteam-Protocol": "1"}
    with httpx.Client(timeout=120) as c:
        while True:
            r = c.get(url + "/api/v1/sync/pull", params={"after": after, "limit": MAX_PULL_LIMIT}, headers=headers)
            r.raise_for_status()
            pages.append(r.content)
            page = msgspec.msgpack.decode(r.content, type=PullResponse)
            after = page.next_after
            if not page.has_more:
                return pages


def floor_s(pages: list[bytes], db: Path, onto: Path | None = None) -> float:
    """Decode ``pages`` and insert their events into a fresh laptop database's ``events`` table (or
    into a copy of the laptop database ``onto``) in one transaction: the floor of a pull."""
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    if onto is not None:
        shutil.copy(onto, db)
    store = LocalStore(db)
    dec = msgspec.msgpack.Decoder(PullResponse)
    t0 = time.perf_counter()
    rows = [(*event_row(pe.event), 1) for raw in pages for pe in dec.decode(raw).events]
    store.conn.execute("BEGIN IMMEDIATE")
    store.conn.executemany(
        f"INSERT INTO events ({EVENT_SELECT}, acked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    store.conn.execute("COMMIT")
    took = time.perf_counter() - t0
    store.close()
    return took


class FoldingStore(LocalStore):
    """The laptop store without the server's projection rows (its ``apply_remote`` takes none): it folds
    every touched melding itself, as every pull did before issue 12."""

    def apply_remote(self, events: list[Event], next_after: int, server_hlc: int | None = None) -> None:
        super().apply_remote(events, next_after, server_hlc)


def laptop(db: Path, kind: type[LocalStore] = LocalStore) -> LocalStore:
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    store = kind(db)
    store.set_device_code("ZZ")
    return store


def first_sync_rss_mb(url: str, token: str, db: Path) -> tuple[float, float]:
    """``(peak RSS MB, seconds)`` of a separate laptop process doing a first sync."""
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from wijkteam_store.local import LocalStore\n"
        "from wijkteam_tui.sync_client import sync_once\n"
        f"s = LocalStore({str(db)!r}); s.set_device_code('ZY')\n"
        "t0 = time.perf_counter()\n"
        f"r = sync_once(s, {url!r}, {token!r})\n"
        "took = time.perf_counter() - t0\n"
        "hwm = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
        "print(r.snapshot, hwm, took)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout.split()
    assert int(out[0]) > 0, "the RSS run did not take the snapshot"
    return int(out[1]) / 1024, float(out[2])


def build_in_process_of_its_own(db: Path, folder: Path) -> subprocess.Popen[str]:
    """A snapshot build from scratch in a process of its own, as the server runs it (at lower
    priority); it prints ``seconds, peak RSS kB, bytes`` (:func:`build_result`)."""
    code = (
        "import sys, time\nfrom pathlib import Path\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from sync_server.snapshot import build\n"
        "t0 = time.perf_counter()\n"
        f"p = build(Path({str(db)!r}), Path({str(folder)!r}))\n"
        "took = time.perf_counter() - t0\n"
        "hwm = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
        "print(took, hwm, p.length)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.nice(10),
    )


def build_result(proc: subprocess.Popen[str]) -> tuple[float, float, int]:
    """``(seconds, peak RSS MB, bytes)`` of a build started by :func:`build_in_process_of_its_own`."""
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    took, hwm, length = out.split()
    return float(took), int(hwm) / 1024, int(length)


class Pusher:
    """A laptop that pushes ``batch`` new events per round, timing each round (ms)."""

    def __init__(self, db: Path, server_db: Path, url: str, batch: int = 100) -> None:
        self.token, code = ServerStore(server_db).add_user(f"bench-pusher-{time.time_ns()}", Role.WIJKUITVOERDER)
        self.store = laptop(db)
        self.store.set_device_code(code or "")
        self.url, self.batch, self.made = url, batch, 0
        # only pushes: the pull after each push starts past the end of the log
        self.store.conn.execute("UPDATE device SET pull_cursor = 1 << 40 WHERE id = 1")

    def rounds(self, n: int, until: subprocess.Popen[str] | None = None) -> list[float]:
        """``n`` push rounds (fewer when ``until`` ends first): their durations in ms."""
        took = []
        for _ in range(n):
            if until is not None and until.poll() is not None:
                break
            dev = self.store.device_clock("bench")
            groups = list(melding_events(dev, self.batch, start=self.made + 1))
            self.made += len(groups)
            self.store.bulk_load(groups, acked=False, device=dev, melding_counter=self.made)
            t0 = time.perf_counter()
            result = sync_once(self.store, self.url, self.token, snapshot_behind=None, pull_limit=1)
            took.append((time.perf_counter() - t0) * 1000)
            assert result.pushed == self.batch and result.quarantined == 0, result
        return took


def _ms(values: list[float]) -> str:
    values = sorted(values)
    return f"median {values[len(values) // 2]:.0f} ms, max {values[-1]:.0f} ms ({len(values)} rounds)"


def timed_sync(store: LocalStore, url: str, token: str, **kw: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = sync_once(store, url, token, **kw)  # type: ignore[arg-type]
    return time.perf_counter() - t0, result


def size_section(tmp: Path, n: int, args: argparse.Namespace, *, smallest: bool) -> None:
    """Every figure for a log of ``n`` events (see the module docstring)."""
    db = tmp / f"server-{n}.sqlite3"
    store = ServerStore(db)
    token, _ = store.add_user("bench-laptop", Role.WIJKUITVOERDER)
    t0 = time.perf_counter()
    fill_server_fast(store, "B1", n)
    fill_s = time.perf_counter() - t0
    store.close()
    folder = snapshot_dir(db)  # where the server looks for it
    print(f"-- log of {n:,} events ({n // 2:,} meldingen; made in {fill_s:.0f} s)", flush=True)
    build_s, build_mb, length = build_result(build_in_process_of_its_own(db, folder))
    print(f"snapshot build from scratch in its own process: {build_s:.1f} s, peak RSS {build_mb:.0f} MB "
          f"(goal < 300 MB), file {length / 1e6:.0f} MB")
    server = None
    try:
        store = ServerStore(db)
        push_tail(store, args.lag, "B2", seed=n)
        snap_seq = read_current(folder).server_seq  # type: ignore[union-attr]
        tail = store.max_server_seq() - snap_seq
        store.close()
        server = Server(db)
        pages = pull_pages(server.url, token, 0)
        floor = floor_s(pages, tmp / "floor.sqlite3")
        del pages
        runs = []
        for run in range(2):
            lap = laptop(tmp / f"first-{run}.sqlite3")
            took, result = timed_sync(lap, server.url, token)
            assert (result.snapshot, result.pulled) == (snap_seq, tail), result  # type: ignore[attr-defined]
            lap.close()
            runs.append(took)
        first = min(runs)
        print(f"first sync {n} events: {first:.2f} s, {first / floor:.2f}× floor "
              f"(snapshot of {snap_seq:,} + pull of the {tail:,}-event tail; best of "
              f"{' / '.join(f'{t:.2f}' for t in runs)} s; floor {floor:.2f} s = decode + one-transaction insert "
              f"of the {snap_seq + tail:,} events)")
        if smallest:
            lap = laptop(tmp / "pulled.sqlite3")
            took, result = timed_sync(lap, server.url, token, snapshot_behind=None)
            lap.close()
            print(f"  the same laptop pulling the whole log instead (issue 4's path, its goal replaced): "
                  f"{took:.2f} s, {took / floor:.2f}× floor")
            assert dump(tmp / "pulled.sqlite3") == dump(tmp / "first-0.sqlite3"), "snapshot + tail != pulled"
            print("  snapshot + tail equals the pulled laptop: events, projection rows and rowids, search rows")
        mb, took = first_sync_rss_mb(server.url, token, tmp / "rss.sqlite3")
        print(f"  peak RSS of a laptop process doing that first sync: {mb:.0f} MB in {took:.2f} s (goal <= 100 MB)")

        # -- incremental pull -------------------------------------------------------------------------
        server.stop()
        store = ServerStore(db)
        push_tail(store, args.tail, "B3", seed=n + 1)
        store.close()
        server = Server(db)
        after = snap_seq + tail
        tail_pages = pull_pages(server.url, token, after)
        tail_floor = floor_s(tail_pages, tmp / "floor.sqlite3")
        onto_floor = floor_s(tail_pages, tmp / "floor.sqlite3", onto=tmp / "first-0.sqlite3")
        timings: dict[str, list[float]] = {"rows": [], "fold": []}
        for kind in ("rows", "fold", "fold", "rows"):
            db_copy = tmp / f"inc-{kind}.sqlite3"
            for p in tmp.glob(db_copy.name + "*"):
                p.unlink()
            shutil.copy(tmp / "first-0.sqlite3", db_copy)
            lap = (LocalStore if kind == "rows" else FoldingStore)(db_copy)
            took, result = timed_sync(lap, server.url, token)
            assert result.pulled == args.tail and result.snapshot == 0, result  # type: ignore[attr-defined]
            lap.close()
            timings[kind].append(took)
        assert dump(tmp / "inc-rows.sqlite3") == dump(tmp / "inc-fold.sqlite3"), "rows != fold"
        inc, inc_fold = min(timings["rows"]), min(timings["fold"])
        print(f"incremental pull of {args.tail:,} events onto a {after:,}-event laptop: {inc:.2f} s, "
              f"{inc / tail_floor:.1f}× floor (floor {tail_floor:.3f} s into a fresh database; goal <= 2×; best of "
              f"{' / '.join(f'{t:.2f}' for t in timings['rows'])} s)")
        print(f"  against the same insert into the laptop's own database (its indexes already hold "
              f"{after:,} events): floor {onto_floor:.3f} s, {inc / onto_floor:.1f}×")
        print(f"  the same pull folding every melding on the laptop (no server rows): {inc_fold:.2f} s, "
              f"{inc_fold / tail_floor:.1f}× floor")
        # a rebuild (the tail since the last build) beside the serving server, as in production
        pusher = Pusher(tmp / "pusher.sqlite3", db, server.url)
        building = build_in_process_of_its_own(db, folder)
        during = pusher.rounds(200, until=building)
        rebuild_s, rebuild_mb, _ = build_result(building)
        idle = pusher.rounds(len(during) or 1)
        pusher.store.close()
        print(f"snapshot rebuild after those {args.tail:,} events: {rebuild_s:.1f} s, peak RSS {rebuild_mb:.0f} MB; "
              f"pushes of {pusher.batch} events meanwhile: {_ms(during)}; without a build: {_ms(idle)}")
        print(f"  peak RSS of the server process: {server.peak_rss_mb():.0f} MB")
        if smallest:
            push_section(tmp, db, server, args)
    finally:
        if server is not None:
            server.stop()
    for p in tmp.iterdir():
        if p.is_file():
            p.unlink()
        else:
            shutil.rmtree(p)


def push_section(tmp: Path, db: Path, server: Server, args: argparse.Namespace) -> None:
    """A push of 10,000 events from a laptop; floor: decoding them plus one ``executemany`` into the
    server schema's ``events`` table."""
    push_token, push_code = ServerStore(db).add_user("bench-pusher", Role.WIJKUITVOERDER)
    pusher = LocalStore(tmp / "pusher.sqlite3")
    pusher.set_device_code(push_code or "")
    groups = list(melding_events(push_code or "", 10_000))
    pusher.bulk_load(groups, acked=False)
    events = [e for g in groups for e in g]

    class PushOnly:
        """The laptop store, with the pull cursor at the end so that the round only pushes."""

        def __getattr__(self, name: str) -> object:
            return getattr(pusher, name)

        def pull_cursor(self) -> int:
            return 10**12

    took, result = timed_sync(PushOnly(), server.url, push_token)  # type: ignore[arg-type]
    assert result.pushed == len(events) and result.quarantined == 0, result  # type: ignore[attr-defined]
    pusher.close()
    body = msgspec.msgpack.encode(events)
    floor_srv = ServerStore(tmp / "floor-server.sqlite3")
    conn = floor_srv.conn()
    t0 = time.perf_counter()
    decoded = msgspec.msgpack.decode(body, type=list[Event])
    received = now_iso()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        'INSERT INTO events (event_id, melding_id, device_id, device_seq, hlc, type, payload, "user", prev, "schema",'
        " received_at, pushed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type, _json.encode(e.payload).decode(),
          e.user, e.prev, e.schema, received, "bench") for e in decoded],
    )
    conn.execute("COMMIT")
    push_floor = time.perf_counter() - t0
    floor_srv.close()
    print(f"push {len(events):,} events from a laptop: {took:.2f} s (floor {push_floor:.3f} s, "
          f"ratio {took / push_floor:.1f}x)")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="100000,1000000", help="log sizes, comma-separated")
    p.add_argument("--lag", type=int, default=1000, help="events after the snapshot at the first sync")
    p.add_argument("--tail", type=int, default=10_000, help="events of the incremental pull")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} ({os.cpu_count()} cores)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        for i, n in enumerate(sizes):
            size_section(tmp, n, args, smallest=i == 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
