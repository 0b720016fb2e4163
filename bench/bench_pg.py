"""The server on SQLite and on PostgreSQL side by side, over loopback against real ``wijkteam-server
serve`` processes (issue 17, "Figures").

Three servers, one after the other, each on an empty database: SQLite (1 process), PostgreSQL with 1
worker and PostgreSQL with 4 workers (``serve --workers 4``). PostgreSQL is a private cluster this
bench starts in a temporary folder (``tests.pg_cluster``: the system's PostgreSQL 15+ binaries; as
root it runs as the ``postgres`` user) and stops at the end. For each server:

1. **push throughput**: one laptop pushes ``--events`` events (default 10,000; a ``created`` plus a
   status change or a note per melding) in batches of ``--batch`` (200), one after the other, as
   MessagePack like the app. Events per second.
2. **pull throughput**: a laptop pulls the whole log, page by page (1,000 events a page).
3. **50 laptops at once**: ``--laptops`` (50) laptops, each with its own token and connection, push one
   batch of ``--batch`` new events at the same moment (a barrier). p50/p99/max of the request
   times, and a check that every event is in the log exactly once (a full pull: the event ids are the
   expected ones, none twice, and the cursor numbers strictly increase).

Floors, measured in the same run: for a push, decoding the request bodies (msgspec) plus one
``executemany`` of their rows into an in-memory SQLite table, in one transaction; for a pull, decoding
the pages. Each figure is printed with its ratio to the floor. Issue 17's goal: with PostgreSQL and 4
workers, the 50 laptops get p99 ≤ 500 ms with every event present exactly once.

Run: ``python bench/bench_pg.py [--events 10000] [--laptops 50] [--batch 200]``. Prints figures;
writes nothing outside a temp directory.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx
import msgspec

from bench.bench_sync import melding_events, pull_pages, server_cmd
from shared import commands
from shared.enums import Role
from shared.events import Event
from shared.protocol import PROTOCOL_VERSION, PullResponse, PushRequest, PushResponse
from sync_server.store import ServerStore
from tests import pg_cluster

_enc = msgspec.msgpack.Encoder()
HEADERS = {"Content-Type": "application/msgpack", "Accept": "application/msgpack", "X-Wijkteam-Protocol": str(PROTOCOL_VERSION)}


class Server:
    """``wijkteam-server serve --workers N`` on ``db``; no background snapshot builds."""

    def __init__(self, db: Path | str, workers: int) -> None:
        env = {**os.environ, "WIJKTEAM_SNAPSHOT_LAG": "0"}
        self.proc = subprocess.Popen(
            server_cmd("serve", "--db", str(db), "--port", "0", "--log-level", "warning", "--workers", str(workers)),
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        m = re.search(r"http://127\.0\.0\.1:(\d+)", self.proc.stdout.readline())
        assert m, "server did not start"
        self.url = f"http://127.0.0.1:{m.group(1)}"
        # Every worker answers before the clock starts (each opens its pool at its first request).
        for _ in range(4 * workers):
            httpx.get(self.url + "/ready", timeout=60).raise_for_status()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def batches(code: str, n: int, size: int, start: int = 1) -> list[list[Event]]:
    """``n`` events of device ``code`` in pushes of about ``size`` (a melding's events stay together)."""
    dev = commands.DeviceClock(code, "bench")
    out: list[list[Event]] = [[]]
    for group in melding_events(dev, n, start=start):
        if len(out[-1]) + len(group) > size:
            out.append([])
        out[-1].extend(group)
    return out


def body(code: str, events: list[Event]) -> bytes:
    return _enc.encode(PushRequest(protocol=PROTOCOL_VERSION, device_id=code, events=events, device_hlc=events[-1].hlc))


def push(client: httpx.Client, token: str, payload: bytes) -> PushResponse:
    r = client.post("/api/v1/sync/push", content=payload, headers={**HEADERS, "Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return msgspec.msgpack.decode(r.content, type=PushResponse)


def push_floor_s(payloads: list[bytes]) -> float:
    """Decode the bodies and insert their events in one transaction of an in-memory SQLite table."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE events (event_id TEXT PRIMARY KEY, melding_id, device_id, device_seq, hlc, type, payload)")
    with conn:
        for p in payloads:
            req = msgspec.msgpack.decode(p, type=PushRequest)
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type, msgspec.json.encode(e.payload))
                 for e in req.events],
            )  # fmt: skip
    conn.close()
    return time.perf_counter() - t0


def log_ids(url: str, token: str) -> tuple[list[str], bool]:
    """Every event id in the log (a full pull) and whether the cursor numbers strictly increased."""
    ids: list[str] = []
    seqs: list[int] = []
    for page in pull_pages(url, token, 0):
        decoded = msgspec.msgpack.decode(page, type=PullResponse)
        ids += [p.event.event_id for p in decoded.events]
        seqs += [p.server_seq for p in decoded.events]
    return ids, all(a < b for a, b in zip(seqs, seqs[1:], strict=False))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def run(label: str, db: Path | str, workers: int, args: argparse.Namespace, floors: dict[str, float]) -> dict[str, float]:
    store = ServerStore(db)
    users = [store.add_user(f"laptop{i}", Role.WIJKUITVOERDER) for i in range(args.laptops + 1)]
    store.close()
    server = Server(db, workers)
    figures: dict[str, float] = {}
    try:
        token, code = users[0][0], users[0][1] or ""
        payloads = [body(code, b) for b in batches(code, args.events, args.batch)]
        if "push" not in floors:
            floors["push"] = push_floor_s(payloads)
        with httpx.Client(base_url=server.url, timeout=120) as client:
            t0 = time.perf_counter()
            stored = sum(push(client, token, p).stored for p in payloads)
            took = time.perf_counter() - t0
        assert stored == args.events, (stored, args.events)
        figures["push_eps"] = args.events / took
        print(f"{label}: push {args.events:,} events in batches of {args.batch}: {took:.2f} s, "
              f"{figures['push_eps']:,.0f} events/s ({took / floors['push']:.1f}× the floor {floors['push']:.3f} s)")

        t0 = time.perf_counter()
        pages = pull_pages(server.url, token, 0)
        took = time.perf_counter() - t0
        if "pull" not in floors:
            t1 = time.perf_counter()
            for p in pages:
                msgspec.msgpack.decode(p, type=PullResponse)
            floors["pull"] = time.perf_counter() - t1
        figures["pull_eps"] = args.events / took
        print(f"{label}: pull {args.events:,} events: {took:.2f} s, {figures['pull_eps']:,.0f} events/s "
              f"({took / floors['pull']:.1f}× the floor {floors['pull']:.3f} s: decoding the pages)")

        # 50 laptops at once: each its own connection (opened before the barrier) and its own batch.
        made = [(t, c or "", batches(c or "", args.batch, args.batch + 1)[0]) for t, c in users[1:]]
        each = [(t, c, body(c, evs)) for t, c, evs in made]
        expected = {e.event_id for _, _, evs in made for e in evs}
        barrier = threading.Barrier(len(each))
        times: list[float] = []
        errors: list[BaseException] = []

        def laptop(tok: str, payload: bytes) -> None:
            try:
                with httpx.Client(base_url=server.url, timeout=120) as c:
                    c.get("/health").raise_for_status()  # connected before the start
                    barrier.wait(timeout=120)
                    t = time.perf_counter()
                    push(c, tok, payload)
                    times.append((time.perf_counter() - t) * 1000)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=laptop, args=(t, p)) for t, _, p in each]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        ids, increasing = log_ids(server.url, token)
        once = len(ids) == len(set(ids)) and expected <= set(ids) and len(ids) == args.events + len(expected)
        figures.update(p50=pct(times, 0.5), p99=pct(times, 0.99), max=max(times))
        print(f"{label}: {len(each)} laptops push {args.batch} events each at once: p50 {figures['p50']:.0f} ms, "
              f"p99 {figures['p99']:.0f} ms, max {figures['max']:.0f} ms; every event exactly once: "
              f"{'yes' if once else 'NO'}; cursor numbers increasing: {'yes' if increasing else 'NO'}")
        figures["ok"] = float(once and increasing)
    finally:
        server.stop()
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--laptops", type=int, default=50)
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wijkteam-bench-pg-"))
    os.environ["WIJKTEAM_SERVER_DATA_DIR"] = str(tmp / "pg-files")  # the PostgreSQL store's side files
    try:
        cluster = pg_cluster.start(settings={"max_connections": "300"})
    except pg_cluster.Unavailable as exc:
        print(f"PostgreSQL niet beschikbaar: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)
        return 1
    floors: dict[str, float] = {}
    results: dict[str, dict[str, float]] = {}
    try:
        results["SQLite"] = run("SQLite", tmp / "server.sqlite3", 1, args, floors)
        results["PostgreSQL, 1 worker"] = run("PostgreSQL, 1 worker", cluster.new_database("bench"), 1, args, floors)
        results["PostgreSQL, 4 workers"] = run("PostgreSQL, 4 workers", cluster.new_database("bench"), 4, args, floors)
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"| server | push events/s | pull events/s | {args.laptops} laptops p50 | p99 | max | exactly once |")
    print("|---|---|---|---|---|---|---|")
    for label, f in results.items():
        print(f"| {label} | {f['push_eps']:,.0f} | {f['pull_eps']:,.0f} | {f['p50']:.0f} ms | {f['p99']:.0f} ms | "
              f"{f['max']:.0f} ms | {'yes' if f['ok'] else 'NO'} |")
    pg4 = results["PostgreSQL, 4 workers"]
    print(f"goal (PostgreSQL, 4 workers, {args.laptops} laptops): p99 ≤ 500 ms with every event exactly once: "
          f"{'met' if pg4['p99'] <= 500 and pg4['ok'] else 'NOT met'} ({pg4['p99']:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
