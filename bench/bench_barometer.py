"""Benchmark: the full barometer report over 1,000,000 meldingen, server side (target ≤ 2 s).

Generates a projection table (``shared.projection.COLUMNS``, with the server's index on
``registered_date``) in a temporary SQLite file with ``executemany`` — no events, no fold — with
plausible distributions: registrations spread over 2025, ~92 % closed, lead times of 0–20 working days,
3 % reopened (their ``status_timeline`` holds the status changes), 70 % with contact details. Fills the server's
summary table ``barometer_rows`` from it as a store upgrade does (timed). Then times:

* projection floor: a plain ``SELECT`` of the projection columns the old path reads (same WHERE),
  fetched into Python; summary floor: ``count(*)`` over the period's entries of the summary's month
  index (one pass over the period's meldingen);
* the report (``build_report``, which reads the summary) for 2025 as ``wijkteam-server report`` makes
  it (grouped by wijk and categorie, for its charts), with all five groupings, with one (a typical API
  call), totals only, and for 2025-Q3; the old path over the projection once, checked to give the
  same report;
* rendering it as md, csv, xlsx and html;
* a push of 10,000 events into a fresh server store with and without writing the summary.

Usage: ``python bench/bench_barometer.py [N]`` (default 1,000,000), or ``--db FILE`` to reuse a table
generated before (its summary is filled when missing). Prints each figure and its ratios to the floors
measured in the same run.
"""

from __future__ import annotations

import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import msgspec

from shared.barometer import parse_period, vocabularies
from shared.deadlines import AMS, deadline
from shared.projection import COLUMNS, encode_timeline, iso
from shared.taxonomy import load_taxonomy
from sync_server.report_cli import DEFAULT_GROUP_BY
from wijkteam_reports.render import render
from wijkteam_reports.sql import _use_index, build_report, open_readonly
from wijkteam_reports.summary import TABLE, ensure_summary, has_summary

TARGET_S = 2.0


def generate(conn: sqlite3.Connection, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    cats = [(c.code, c.servicenorm) for c in load_taxonomy().categories]
    wijken = list(vocabularies()["wijk"]) or ["Centrum", "Noord", "Oost"]  # the configured wijk codes
    kanalen = ["telefoon"] * 5 + ["email"] * 2 + ["balie", "brief", "website", "website", "mondeling", "kcc"]
    vier_b = ["betrouwbaarheid", "betrokkenheid", "bereikbaarheid", "brede_blik", None]
    types = ["melding"] * 8 + ["vraag", "klacht"]
    deadlines: dict[tuple[date, int], str] = {}
    start = datetime(2025, 1, 1, tzinfo=AMS).astimezone(UTC)
    names = list(COLUMNS)
    idx = {c: i for i, c in enumerate(names)}

    def rows():
        for i in range(n):
            reg = start + timedelta(seconds=rnd.randrange(365 * 86400))
            local = reg.astimezone(AMS)
            cat, norm = rnd.choice(cats) if rnd.random() > 0.03 else (None, None)
            dl = None
            if norm:
                key = (local.date(), norm)
                if key not in deadlines:
                    deadlines[key] = iso(deadline(reg, norm))
                dl = deadlines[key]
            r: list = [None] * len(names)
            r[idx["melding_id"]] = f"m{i:07d}"
            r[idx["reference"]] = f"DLF-K7-{i:07d}"
            r[idx["registered_at"]] = iso(reg)
            r[idx["registered_date"]] = local.date().isoformat()
            r[idx["registered_by"]] = "bench"
            r[idx["device_id"]] = "K7"
            r[idx["type"]] = rnd.choice(types)
            r[idx["kanaal"]] = rnd.choice(kanalen)
            r[idx["categorie"]] = cat
            r[idx["servicenorm"]] = norm
            r[idx["deadline"]] = dl
            r[idx["vier_b"]] = rnd.choice(vier_b)
            r[idx["prioriteit"]] = "normaal"
            r[idx["wijk"]] = rnd.choice(wijken) if rnd.random() > 0.02 else None
            if rnd.random() < 0.95:
                r[idx["straat"]] = "Kerkstraat"
                r[idx["postcode"]] = "7721EJ"
                r[idx["lat"]], r[idx["lon"]] = 52.5, 6.26
            r[idx["omschrijving"]] = "bench"
            contact = rnd.random() < 0.7
            r[idx["has_contact"]] = int(contact)
            r[idx["melder_anoniem"]] = int(not contact)
            closed = rnd.random() < 0.92
            reopened = closed and rnd.random() < 0.03
            r[idx["reopen_count"]] = int(reopened)
            r[idx["status"]] = "afgehandeld" if closed else "in_behandeling"
            r[idx["is_open"]] = int(not closed)
            cb = 0
            if closed:
                first = reg + timedelta(hours=rnd.expovariate(1 / 100))
                r[idx["first_closed_at"]] = iso(first)
                last = first
                if reopened:
                    again = first + timedelta(days=rnd.randint(1, 20))
                    last = again + timedelta(days=rnd.randint(1, 10))
                    timeline = ((iso(first), True), (iso(again), False), (iso(last), True))
                    r[idx["status_timeline"]] = encode_timeline(timeline)
                r[idx["closed_at"]] = iso(last)
                if contact and rnd.random() < 0.8:
                    cb = 1
                    r[idx["first_callback_at"]] = iso(last + timedelta(hours=2))
            r[idx["callback_count"]] = cb
            r[idx["deleted"]] = int(rnd.random() < 0.002)
            r[idx["duplicaat_van"]] = "DLF-K7-0000001" if rnd.random() < 0.005 else None
            r[idx["conflict_count"]] = 0
            r[idx["event_count"]] = 2
            r[idx["updated_hlc"]] = 0
            yield r

    types_sql = {str: "TEXT", int: "INTEGER", float: "REAL"}
    conn.execute(f"CREATE TABLE meldingen ({', '.join(f'{c} {types_sql[t]}' for c, t in COLUMNS.items())}, PRIMARY KEY (melding_id))")
    conn.executemany(f"INSERT INTO meldingen VALUES ({', '.join('?' * len(names))})", rows())
    conn.execute("CREATE INDEX meldingen_registered_date ON meldingen(registered_date)")  # as the server store
    conn.commit()


def build_summary(conn: sqlite3.Connection) -> float:
    """Fill the server's summary table from the projection, as a store upgrade does; returns seconds."""
    t = time.perf_counter()
    ensure_summary(conn, 0)
    conn.commit()
    return time.perf_counter() - t


def push_cost(meldingen: int = 5_000) -> tuple[float, float]:
    """Seconds for ``ServerStore.ingest`` of ``meldingen`` new meldingen (a ``created`` and a closing
    status change each, in pushes of 1,000 events) with the summary table kept, and with its writing
    switched off (the store before this change), each in a fresh database."""
    from unittest import mock

    from shared.commands import DeviceClock, change_status, register
    from shared.enums import Kanaal, MeldingType, Status
    from shared.events import MeldingFields
    from shared.fold import fold
    from sync_server import store as store_module
    from sync_server.store import ServerStore

    rnd = random.Random(3)
    cats = [c.code for c in load_taxonomy().categories]
    events = []
    start = datetime(2025, 1, 6, 8, tzinfo=UTC)
    for i in range(meldingen):
        dev = DeviceClock("K7", "bench")
        e = register(
            dev, prefix="DLF", counter=i + 1, registered_at=start + timedelta(minutes=37 * i),
            fields=MeldingFields(type=MeldingType.MELDING, kanaal=Kanaal.TELEFOON, omschrijving="bench",
                                 categorie=rnd.choice(cats), wijk="Centrum"),
        )  # fmt: skip
        events += [e, change_status(dev, fold([e]), Status.AFGEHANDELD, "klaar")]
    out = []
    for keep in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            st = ServerStore(os.path.join(tmp, "push.sqlite3"))
            patch = mock.patch.object(store_module, "write_summary", lambda c, rows: None) if not keep else None
            if patch:
                patch.start()
            t = time.perf_counter()
            for i in range(0, len(events), 1000):
                st.ingest(events[i : i + 1000])
            out.append(time.perf_counter() - t)
            if patch:
                patch.stop()
            st.close()
    return out[0], out[1]


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main() -> None:
    args = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        if args[:1] == ["--db"]:
            path = args[1]  # reuse a table generated before (the generation takes minutes)
            conn = sqlite3.connect(path)
            if not has_summary(conn):
                print(f"summary table filled from the projection in {build_summary(conn):.1f} s")
        else:
            n = int(args[0]) if args else 1_000_000
            path = os.path.join(tmp, "bench.sqlite3")
            conn = sqlite3.connect(path)
            t = time.perf_counter()
            generate(conn, n)
            print(f"generated {n:,} projection rows in {time.perf_counter() - t:.1f} s")
            print(f"summary table filled from the projection (the upgrade backfill) in {build_summary(conn):.1f} s")
        conn.close()
        conn = open_readonly(path)  # as the report command opens it
        as_of = datetime(2026, 1, 15, tzinfo=UTC)
        dims = ("wijk", "categorie", "kanaal", "vier_b", "type")

        def floor_for(period) -> float:
            lo, hi = period.start.isoformat(), period.end.isoformat()
            table = "meldingen" if _use_index(conn, lo, hi) else "meldingen NOT INDEXED"
            sql = (
                "SELECT registered_date, first_closed_at, deadline, reopen_count, has_contact, callback_count, "
                f"straat, postcode, lat, locatie_omschrijving, categorie, vier_b, kanaal, wijk, type FROM {table} "
                "WHERE registered_date BETWEEN ? AND ? AND deleted = 0 AND duplicaat_van IS NULL"
            )
            return timed(lambda: conn.execute(sql, (lo, hi)).fetchall())[0]

        def summary_floor_for(period) -> float:
            # One pass over the period's entries of the summary's month index: the least any report
            # over the summary reads (each melding of the period once).
            lo, hi = int(period.start.strftime("%Y%m%d")), int(period.end.strftime("%Y%m%d"))
            sql = (
                f"SELECT count(*) FROM {TABLE} INDEXED BY {TABLE}_month "
                "WHERE month BETWEEN ? AND ? AND day BETWEEN ? AND ?"
            )
            return timed(lambda: conn.execute(sql, (lo // 100, hi // 100, lo, hi)).fetchall())[0]

        year, q3 = parse_period("2025"), parse_period("2025-Q3")
        load = [os.getloadavg()[0]]
        floor_year, floor_q3 = floor_for(year), floor_for(q3)
        sfloor_year, sfloor_q3 = summary_floor_for(year), summary_floor_for(q3)
        full, report = timed(lambda: build_report(conn, year, group_by=DEFAULT_GROUP_BY, as_of=as_of))
        five, _ = timed(lambda: build_report(conn, year, group_by=dims, as_of=as_of))
        one, _ = timed(lambda: build_report(conn, year, group_by=("wijk",), as_of=as_of))
        total, _ = timed(lambda: build_report(conn, year, as_of=as_of))
        quarter, _ = timed(lambda: build_report(conn, q3, group_by=DEFAULT_GROUP_BY, as_of=as_of))
        load.append(os.getloadavg()[0])
        old, old_report = timed(
            lambda: build_report(conn, year, group_by=DEFAULT_GROUP_BY, as_of=as_of, use_summary=False), repeat=2
        )
        same = msgspec.to_builtins(old_report) == msgspec.to_builtins(report)
        rend = {fmt: timed(lambda f=fmt: render(report, f))[0] for fmt in ("md", "csv", "xlsx", "html")}
        load.append(os.getloadavg()[0])
        print(f"received in 2025: {report.totaal.received:,}; backlog at year end: {report.totaal.backlog:,}")
        print(f"floor 2025: plain SELECT of the 15 projection columns         {floor_year:6.3f} s")
        print(f"floor 2025-Q3: the same                                       {floor_q3:6.3f} s")
        print(f"summary floor 2025: count(*) over the month index of the period {sfloor_year:6.3f} s")
        print(f"summary floor 2025-Q3: the same                               {sfloor_q3:6.3f} s")
        for name, secs, floor, sfloor in [
            ("report 2025 as the CLI makes it (wijk, categorie)", full, floor_year, sfloor_year),
            ("report 2025, all 5 groupings", five, floor_year, sfloor_year),
            ("report 2025, group_by=wijk", one, floor_year, sfloor_year),
            ("report 2025, totals only", total, floor_year, sfloor_year),
            ("report 2025-Q3 (wijk, categorie)", quarter, floor_q3, sfloor_q3),
            ("old path (projection), 2025 (wijk, categorie)", old, floor_year, sfloor_year),
        ]:
            verdict = "OK" if secs <= TARGET_S else "MISSED"
            print(
                f"{name:<50} {secs:6.3f} s  {secs / floor:4.2f}x projection floor  "
                f"{secs / sfloor:4.2f}x summary floor  target {TARGET_S} s: {verdict}"
            )
        print(f"summary path gives the same report as the projection path: {same}")
        for fmt, secs in rend.items():
            print(f"render {fmt:<37} {secs:6.3f} s")
        with_summary, without = push_cost()
        print(
            f"push 10,000 events (5,000 meldingen) into a server store: {with_summary:.3f} s with the summary, "
            f"{without:.3f} s without ({with_summary / without:.2f}x)"
        )
        print(f"load average (1 min) before / middle / after: {' / '.join(f'{x:.1f}' for x in load)} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
