"""What forgetting costs (issue 16): erasing one melder on the server and on a laptop, a first
retention run, and an inzage scan, on a server with many meldingen and a large audit table.

The server (``ServerStore``) is filled with ``--meldingen`` closed meldingen (70 % with a reporter)
through ``ingest``, plus ``--audit`` audit rows; a laptop (``LocalStore``) with the same events through
``bulk_load``. Timed, each against a floor measured in the same run:

* server, one anonymisation (``ServerStore.erase``): the erasing transaction (event, rewrite, refold,
  audit/quarantine sweep) and ``secure_cleanup`` (FTS ``optimize`` + WAL truncate); floor: one
  server-made note (``append_server_events``).
* laptop, a pulled page with one anonymisation (``apply_remote`` + its cleanup); floor: a page with
  one note.
* server, a first retention run that anonymises ``--due`` meldingen (one cleanup at the end).
* ``find_person`` by phone (the scan ``avg inzage`` and ``audit list --telefoon`` make).

    python bench/bench_avg.py [--meldingen 50000] [--audit 200000] [--due 1000]

Prints figures only; docs/benchmarks.md records them. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared import commands
from shared.avg import person
from shared.enums import EventType, Kanaal, Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Melder
from sync_server.store import ServerStore, now_iso
from wijkteam_store.local import LocalStore

NAMES = ["Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos", "Vos"]


def make_events(n: int, seed: int = 1) -> list[list[Event]]:
    """``n`` meldingen registered two years ago, called back and closed: their events, per melding."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 8, 9, tzinfo=UTC)
    t = [int(start.timestamp() * 1000)]
    dev = commands.DeviceClock("K7", "jan", hlc=HLC(0, lambda: t[0]))
    out = []
    for i in range(n):
        t[0] += 60_000
        melder = (
            Melder(naam=f"{rng.choice('ABCDEFGHJK')}. {rng.choice(NAMES)}", telefoon=f"+316{10000000 + i:08d}")
            if rng.random() < 0.7
            else None
        )
        at = datetime.fromtimestamp(t[0] / 1000, UTC)
        c = commands.register(
            dev, prefix="DLF", counter=i + 1, registered_at=at,
            fields=MeldingFields(omschrijving=f"Tak op de weg bij nummer {i}", categorie="groen/boom", melder=melder),
        )  # fmt: skip
        m = fold([c])
        assert m is not None
        evs = [c]
        if melder is not None:
            evs.append(commands.log_callback(dev, m, kanaal=Kanaal.TELEFOON, tekst="gebeld", at=at, now=at))
        evs.append(commands.change_status(dev, m, Status.AFGEHANDELD, "klaar", voor_melder="Opgelost"))
        out.append(evs)
    return out


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--meldingen", type=int, default=50_000)
    p.add_argument("--audit", type=int, default=200_000)
    p.add_argument("--due", type=int, default=1_000)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-avg-"))
    groups = make_events(args.meldingen)
    with_melder = [g for g in groups if len(g) == 3]

    t0 = time.perf_counter()
    server = ServerStore(tmp / "server.sqlite3")
    flat = [e for g in groups for e in g]
    for i in range(0, len(flat), 5000):
        server.ingest(flat[i : i + 5000])
    at = now_iso()
    with server.write() as c:
        c.executemany(
            "INSERT INTO audit(at, actor, action, melding_id, detail) VALUES (?, 'kcc (kcc)', 'persoonsgegevens_gelezen', ?, ?)",
            [(at, g[0].melding_id, f"{g[0].payload['reference']} via GET /api/v1/kcc/meldingen") for g in
             (with_melder[i % len(with_melder)] for i in range(args.audit))],
        )  # fmt: skip
    server.checkpoint()
    print(f"server: {args.meldingen:,} meldingen ({len(flat):,} events), {args.audit:,} audit rows, "
          f"{(tmp / 'server.sqlite3').stat().st_size / 1e6:.0f} MB; loaded in {time.perf_counter() - t0:.0f} s")  # fmt: skip

    # -- server: one anonymisation against one server-made note -------------------------------------
    floors, tx, cleanup = [], [], []
    for g in with_melder[:7]:
        mid = g[0].melding_id

        def note(mid: str = mid) -> list[Event]:
            return server.append_server_events(
                "bench", lambda dev, _n: [commands.add_note(dev, server.melding(mid), "noot")], cleanup=False
            )

        floors.append(timed(note))
        tx.append(timed(lambda mid=mid: server.append_server_events(
            "bench", lambda dev, _n: [commands.anonymise_reporter(dev, server.melding(mid))], cleanup=False)))  # fmt: skip
        cleanup.append(timed(server.secure_cleanup))
    f, a, cl = statistics.median(floors), statistics.median(tx), statistics.median(cleanup)
    print(f"server erase one melder: transaction {a * 1000:.0f} ms (median of 7), cleanup (FTS optimize + "
          f"WAL truncate) {cl * 1000:.0f} ms; floor one note {f * 1000:.1f} ms; ratio {(a + cl) / f:.0f}×")

    # -- find_person (inzage / audit list by person) -------------------------------------------------
    phone = with_melder[len(with_melder) // 2][0].payload["fields"]["melder"]["telefoon"]
    t = timed(lambda: server.find_person(person(telefoon="06 " + phone[4:])))
    print(f"find_person by phone over {len(flat):,} events: {t * 1000:.0f} ms")

    # -- retention: a first run that anonymises --due meldingen ------------------------------------
    due = [g[0].melding_id for g in with_melder[10 : 10 + args.due]]
    t_due = timed(lambda: server.erase(due, EventType.REPORTER_ANONYMISED, "Bewaartermijn", actor="bench"))
    print(f"retention, {len(due):,} meldingen anonymised (transactions of 200, one cleanup): {t_due:.1f} s "
          f"= {t_due / len(due) * 1000:.1f} ms each")
    server.close()

    # -- laptop: a pulled page with one anonymisation against a page with one note --------------------
    lap = LocalStore(tmp / "laptop.sqlite3")
    t0 = time.perf_counter()
    lap.bulk_load(groups)
    print(f"laptop: {args.meldingen:,} meldingen bulk-loaded in {time.perf_counter() - t0:.0f} s, "
          f"{(tmp / 'laptop.sqlite3').stat().st_size / 1e6:.0f} MB")
    srv = commands.DeviceClock("00", "beheer", hlc=HLC(lap._device()["hlc_last"]))
    cursor = 1_000_000
    lf, la = [], []
    for g in with_melder[3000:3007]:
        m = lap.get(g[0].melding_id)
        cursor += 1
        lf.append(timed(lambda m=m, cursor=cursor: lap.apply_remote([commands.add_note(srv, m, "noot")], cursor)))
        cursor += 1
        la.append(timed(lambda m=m, cursor=cursor: lap.apply_remote([commands.anonymise_reporter(srv, m)], cursor)))
    f, a = statistics.median(lf), statistics.median(la)
    print(f"laptop page with one anonymisation: {a * 1000:.0f} ms (median of 7, cleanup included); "
          f"floor a page with one note {f * 1000:.1f} ms; ratio {a / f:.0f}×")
    lap.close()


if __name__ == "__main__":
    main()
