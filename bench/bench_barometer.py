"""Benchmark: the barometer over 1,000,000 meldingen on the server — the dossier report of five years
as ``wijkteam-server report --format pdf`` makes it (target ≤ 10 s, issue 15) and the yearly report
(target ≤ 2 s, issue 6).

Generates a projection table (``shared.projection.COLUMNS``, with the server's index on
``registered_date``) in a temporary SQLite file with ``executemany`` — no fold — with plausible
distributions: registrations spread over 2021–2025, ~92 % closed, lead times of 0–20 working days,
3 % reopened (their ``status_timeline`` holds the status changes), 70 % with contact details and 80 %
of those called back, 5 % spoed, 0.5 % with a concurrent edit. Next to it a server ``events`` log
(two events per melding: created and, when closed, the closure; arrival a few minutes after the
stated time, 1 % more than a week late), an empty quarantine and clash list — so the report is a
server report with its data-quality section. Fills the server's summary table ``barometer_rows``
from it as a store upgrade does (timed). Then times:

* floors: a plain ``SELECT`` of the 15 projection columns the projection path reads (same WHERE),
  fetched into Python; ``count(*)`` over the period's entries of the summary's month index (one pass
  over the period's meldingen); and a ``count(*)`` over the event log (one pass over the events);
* the five-year dossier report (wijk and categorie, comparisons, data quality) and its rendering as
  PDF, XLSX, HTML and CSV; compute + PDF is the figure against the 10 s target;
* the report of 2025 as the CLI makes it, with all five groupings, and of 2025-Q3; the projection
  path once, checked to give the same report;
* a push of 10,000 events into a fresh server store with and without writing the summary.

Usage: ``python bench/bench_barometer.py [N]`` (default 1,000,000), or ``--db FILE [N]``: generate
into FILE and keep it, or reuse it when it exists (its summary is filled when missing). Prints each figure and its ratios to
the floors measured in the same run.
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

from shared.barometer import DataQuality, ReportSettings, parse_period, vocabularies
from shared.deadlines import AMS, deadline
from shared.projection import COLUMNS, encode_timeline, iso
from shared.taxonomy import load_taxonomy
from sync_server.report_cli import DEFAULT_GROUP_BY
from wijkteam_reports import quality
from wijkteam_reports.render import render
from wijkteam_reports.sql import _use_index, build_report, open_readonly
from wijkteam_reports.summary import TABLE, ensure_summary, has_summary

TARGET_S = 2.0
DOSSIER_TARGET_S = 10.0
YEARS = 5
FIRST_YEAR = 2021
SETTINGS = ReportSettings(gemeente="Benchgemeente", inwoners=250_000)

_EVENTS_SQL = """CREATE TABLE events (
  server_seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, melding_id TEXT NOT NULL,
  device_id TEXT NOT NULL, device_seq INTEGER NOT NULL, hlc INTEGER NOT NULL, type TEXT NOT NULL,
  payload TEXT NOT NULL, "user" TEXT NOT NULL, prev TEXT, "schema" INTEGER NOT NULL,
  received_at TEXT NOT NULL, pushed_by TEXT)"""
_SIDE_TABLES = (
    "CREATE TABLE quarantine (id INTEGER PRIMARY KEY, event_id TEXT, device_id TEXT, reason TEXT, raw TEXT,"
    " received_at TEXT NOT NULL, pushed_by TEXT)",
    "CREATE TABLE reference_clashes (id INTEGER PRIMARY KEY, reference TEXT, melding_id TEXT,"
    " other_melding_id TEXT, detected_at TEXT NOT NULL)",
)


def generate(conn: sqlite3.Connection, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    cats = [(c.code, c.servicenorm) for c in load_taxonomy().categories]
    wijken = list(vocabularies()["wijk"]) or ["Centrum", "Noord", "Oost"]  # the configured wijk codes
    kanalen = ["telefoon"] * 5 + ["email"] * 2 + ["balie", "brief", "website", "website", "mondeling", "kcc"]
    vier_b = ["betrouwbaarheid", "betrokkenheid", "bereikbaarheid", "brede_blik", None]
    types = ["melding"] * 8 + ["vraag", "klacht"]
    deadlines: dict[tuple[date, int], str] = {}
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=AMS).astimezone(UTC)
    span = (datetime(FIRST_YEAR + YEARS, 1, 1, tzinfo=AMS).astimezone(UTC) - start).total_seconds()
    names = list(COLUMNS)
    idx = {c: i for i, c in enumerate(names)}
    events: list[tuple] = []

    def event(mid: str, at: datetime, kind: str) -> None:
        ms = int(at.timestamp() * 1000)
        late = timedelta(days=rnd.randint(8, 40)) if rnd.random() < 0.01 else timedelta(minutes=rnd.randint(1, 90))
        events.append(
            (f"e{len(events):08d}", mid, "K7", len(events) + 1, ms << 16, kind, "{}", "bench", None, 1,
             iso(at + late), "bench")
        )

    def rows():
        for i in range(n):
            reg = start + timedelta(seconds=rnd.randrange(int(span)))
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
            r[idx["prioriteit"]] = "spoed" if rnd.random() < 0.05 else "normaal"
            event(r[idx["melding_id"]], reg, "created")
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
                event(r[idx["melding_id"]], last, "status_changed")
            if contact and rnd.random() < 0.8:
                cb = 1
                r[idx["first_callback_at"]] = iso(reg + timedelta(hours=rnd.expovariate(1 / 40)))
            r[idx["callback_count"]] = cb
            r[idx["deleted"]] = int(rnd.random() < 0.002)
            r[idx["duplicaat_van"]] = "DLF-K7-0000001" if rnd.random() < 0.005 else None
            r[idx["conflict_count"]] = int(rnd.random() < 0.005)
            r[idx["event_count"]] = 2
            r[idx["updated_hlc"]] = 0
            yield r

    types_sql = {str: "TEXT", int: "INTEGER", float: "REAL"}
    conn.execute(f"CREATE TABLE meldingen ({', '.join(f'{c} {types_sql[t]}' for c, t in COLUMNS.items())}, PRIMARY KEY (melding_id))")
    conn.executemany(f"INSERT INTO meldingen VALUES ({', '.join('?' * len(names))})", rows())
    conn.execute("CREATE INDEX meldingen_registered_date ON meldingen(registered_date)")  # as the server store
    # The server's event log, in arrival order (server_seq), and its empty side tables.
    conn.execute(_EVENTS_SQL)
    events.sort(key=lambda e: e[10])
    conn.executemany(
        "INSERT INTO events (event_id, melding_id, device_id, device_seq, hlc, type, payload, \"user\", prev,"
        " \"schema\", received_at, pushed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        events,
    )
    conn.execute("CREATE INDEX events_melding ON events(melding_id)")
    for sql in _SIDE_TABLES:
        conn.execute(sql)
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
        if args[:1] == ["--db"] and os.path.exists(args[1]):
            path = args[1]  # reuse a database generated before (the generation takes minutes)
            conn = sqlite3.connect(path)
            if not has_summary(conn):
                print(f"summary table filled from the projection in {build_summary(conn):.1f} s")
        elif args[:1] == ["--db"]:
            path = args[1]  # generate into this file and keep it for the next run
            conn = sqlite3.connect(path)
            t = time.perf_counter()
            generate(conn, int(args[2]) if len(args) > 2 else 1_000_000)
            print(f"generated the projection and its event log in {time.perf_counter() - t:.1f} s")
            print(f"summary table filled from the projection (the upgrade backfill) in {build_summary(conn):.1f} s")
        else:
            n = int(args[0]) if args else 1_000_000
            path = os.path.join(tmp, "bench.sqlite3")
            conn = sqlite3.connect(path)
            t = time.perf_counter()
            generate(conn, n)
            print(f"generated {n:,} projection rows and their event log in {time.perf_counter() - t:.1f} s")
            print(f"summary table filled from the projection (the upgrade backfill) in {build_summary(conn):.1f} s")
        conn.close()
        conn = open_readonly(path)  # as the report command opens it
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

        five_years = parse_period(f"{FIRST_YEAR}-01-01..{FIRST_YEAR + YEARS - 1}-12-31")
        year, q3 = parse_period(f"{FIRST_YEAR + YEARS - 1}"), parse_period(f"{FIRST_YEAR + YEARS - 1}-Q3")
        load = [os.getloadavg()[0]]
        floor_five, sfloor_five = floor_for(five_years), summary_floor_for(five_years)
        floor_year, floor_q3 = floor_for(year), floor_for(q3)
        sfloor_year, sfloor_q3 = summary_floor_for(year), summary_floor_for(q3)
        # One pass over the event log reading the stamp of every event (what the late-event count reads).
        efloor = timed(lambda: conn.execute("SELECT sum(hlc >> 16 > 0) FROM events").fetchone())[0]

        def report(p, groups, **kw):
            return build_report(conn, p, group_by=groups, settings=SETTINGS, **kw)

        dossier, dreport = timed(lambda: report(five_years, DEFAULT_GROUP_BY), repeat=2)
        bare, _ = timed(lambda: report(five_years, DEFAULT_GROUP_BY, compare=False), repeat=2)
        quality_s = timed(lambda: quality.fill(conn, DataQuality(), five_years, dreport.server_seq,
                                               datetime.fromisoformat(dreport.as_of)), repeat=2)[0]
        rend = {fmt: timed(lambda f=fmt: render(dreport, f), repeat=2)[0] for fmt in ("pdf", "xlsx", "html", "csv")}
        full, yreport = timed(lambda: report(year, DEFAULT_GROUP_BY))
        plain, _ = timed(lambda: report(year, DEFAULT_GROUP_BY, compare=False))
        five, _ = timed(lambda: report(year, dims))
        quarter, _ = timed(lambda: report(q3, DEFAULT_GROUP_BY))
        load.append(os.getloadavg()[0])
        old, old_report = timed(lambda: report(year, DEFAULT_GROUP_BY, use_summary=False), repeat=1)
        strip = ("made_at",)
        a, b = msgspec.to_builtins(old_report), msgspec.to_builtins(yreport)
        same = {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}
        load.append(os.getloadavg()[0])
        t = dreport.totaal
        dq = dreport.data_quality
        print(f"dossier {five_years.label}: received {t.received:,}, backlog at the end {t.backlog:,}, "
              f"events {dq.events:,} of which late {dq.late_events:,}; server_seq {dreport.server_seq:,}")
        print(f"floor {five_years.label}: plain SELECT of the 15 projection columns  {floor_five:6.3f} s")
        print(f"summary floor {five_years.label}: count(*) over the month index      {sfloor_five:6.3f} s")
        print(f"event-log floor: one pass over the stamps of all events             {efloor:6.3f} s")
        print(f"floor {year.label}: plain SELECT                                       {floor_year:6.3f} s")
        print(f"summary floor {year.label} / {q3.label}                                {sfloor_year:6.3f} / {sfloor_q3:6.3f} s")
        total_pdf = dossier + rend["pdf"]
        print(
            f"DOSSIER five years, compute (wijk, categorie, comparisons, data quality) {dossier:6.3f} s "
            f"({dossier / sfloor_five:4.1f}x summary floor, {dossier / floor_five:4.2f}x projection floor)"
        )
        print(f"  of which: the period alone, without comparisons {bare:6.3f} s; the data-quality counts "
              f"{quality_s:6.3f} s ({quality_s / efloor:4.2f}x event-log floor)")
        for fmt, secs in rend.items():
            print(f"  render {fmt:<6} {secs:6.3f} s")
        verdict = "OK" if total_pdf <= DOSSIER_TARGET_S else "MISSED"
        print(f"DOSSIER compute + PDF {total_pdf:6.3f} s  target {DOSSIER_TARGET_S} s: {verdict}")
        for name, secs, floor, sfloor in [
            (f"report {year.label} as the CLI makes it (wijk, categorie)", full, floor_year, sfloor_year),
            (f"report {year.label}, the same without comparisons", plain, floor_year, sfloor_year),
            (f"report {year.label}, all 5 groupings", five, floor_year, sfloor_year),
            (f"report {q3.label} (wijk, categorie)", quarter, floor_q3, sfloor_q3),
            (f"projection path, {year.label} (wijk, categorie)", old, floor_year, sfloor_year),
        ]:
            verdict = "OK" if secs <= TARGET_S else "MISSED"
            if name.startswith("projection path"):
                verdict = "(the laptop's path; for comparison, no target)"
            print(
                f"{name:<58} {secs:6.3f} s  {secs / floor:4.2f}x projection floor  "
                f"{secs / sfloor:5.1f}x summary floor  target {TARGET_S} s: {verdict}"
            )
        print(f"summary path gives the same report as the projection path: {same}")
        with_summary, without = push_cost()
        print(
            f"push 10,000 events (5,000 meldingen) into a server store: {with_summary:.3f} s with the summary, "
            f"{without:.3f} s without ({with_summary / without:.2f}x)"
        )
        print(f"load average (1 min) before / middle / after: {' / '.join(f'{x:.1f}' for x in load)} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
