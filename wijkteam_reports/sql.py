"""Read barometer rows from a ``meldingen`` projection table (laptop or server store) with SQL.

The SQL here is the fast form of ``shared.barometer.barometer_row`` / ``backlog_row`` (the reference
conversions; tests check both give the same report): flags and lead times are computed by SQLite,
lead times through temporary calendar tables that ``shared.deadlines`` fills, so the working-day
rule still lives in one place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from shared.barometer import (
    F_CALLBACK,
    F_CATEGORIE,
    F_CONTACT,
    F_HAS_NORM,
    F_KANAAL,
    F_LOCATION,
    F_REOPENED,
    F_VIER_B,
    F_WITHIN,
    BacklogRow,
    BarometerReport,
    Period,
    RowCodes,
    backlog_moment,
    barometer,
    barometer_from_cells,
    check_group_by,
    decode_timeline,
    lead_days,
    vocabularies,
)
from shared.deadlines import AMS, is_working_day, utcnow
from shared.projection import iso
from wijkteam_reports.summary import TABLE as SUMMARY_TABLE
from wijkteam_reports.summary import summary_ready

#: Meldingen that count: not deleted and not a duplicate of another (shared.barometer.counts).
_COUNTS = "deleted = 0 AND (duplicaat_van IS NULL OR duplicaat_van = '')"

_LOCATION = (
    "(NULLIF(straat, '') IS NOT NULL OR NULLIF(postcode, '') IS NOT NULL OR lat IS NOT NULL"
    " OR NULLIF(locatie_omschrijving, '') IS NOT NULL)"
)

_DIMS = ("wijk", "categorie", "kanaal", "vier_b", "type")


_FLAGS = f"""(
    (COALESCE(reopen_count, 0) > 0) * {F_REOPENED}
  | (COALESCE(has_contact, 0) != 0) * {F_CONTACT}
  | (COALESCE(callback_count, 0) > 0) * {F_CALLBACK}
  | {_LOCATION} * {F_LOCATION}
  | (NULLIF(categorie, '') IS NOT NULL) * {F_CATEGORIE}
  | (NULLIF(vier_b, '') IS NOT NULL) * {F_VIER_B}
  | (NULLIF(kanaal, '') IS NOT NULL) * {F_KANAAL}
  | CASE WHEN first_closed_at IS NULL OR deadline IS NULL THEN 0
         WHEN first_closed_at <= deadline THEN {F_HAS_NORM | F_WITHIN} ELSE {F_HAS_NORM} END
)"""


@lru_cache(maxsize=8)
def _calendar(first: date, last: date) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    days, wd, day = [], 0, first
    number: dict[date, int] = {}
    while day <= last:
        wd += is_working_day(day)
        number[day] = wd
        days.append((day.isoformat(), wd))
        day += timedelta(days=1)
    hours = []
    t = datetime.combine(first, time(0), tzinfo=UTC)
    end = datetime.combine(last, time(0), tzinfo=UTC)
    step = timedelta(hours=1)
    while t < end:
        local = t.astimezone(AMS).date()
        if local in number:
            hours.append((t.strftime("%Y-%m-%dT%H"), number[local]))
        t += step
    return days, hours


def _fill_calendar(conn: sqlite3.Connection, first: date, last: date) -> None:
    """Temp tables for lead times in SQL, filled from ``shared.deadlines`` (the rule stays there):
    ``_bar_day``: local date → working-day number; ``_bar_hour``: UTC hour (``YYYY-MM-DDTHH``) →
    the working-day number of its Europe/Amsterdam date. Lead = difference of the two numbers,
    which is ``working_days_between``."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _bar_day (d TEXT PRIMARY KEY, wd INTEGER) WITHOUT ROWID")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _bar_hour (h TEXT PRIMARY KEY, wd INTEGER) WITHOUT ROWID")
    have = conn.execute("SELECT min(d), max(d) FROM _bar_day").fetchone()
    if have == (first.isoformat(), last.isoformat()):
        return
    days, hours = _calendar(first, last)
    # One savepoint: a single commit of the temp database, whatever the connection's isolation mode.
    conn.execute("SAVEPOINT bar_calendar")
    try:
        conn.execute("DELETE FROM _bar_day")
        conn.execute("DELETE FROM _bar_hour")
        conn.executemany("INSERT INTO _bar_day VALUES (?, ?)", days)
        conn.executemany("INSERT INTO _bar_hour VALUES (?, ?)", hours)
    except BaseException:
        conn.execute("ROLLBACK TO bar_calendar")
        conn.execute("RELEASE bar_calendar")
        raise
    conn.execute("RELEASE bar_calendar")


#: How far past "now" closures are looked up; later stamps cannot pass the sync server's future check.
_CALENDAR_SLACK = timedelta(days=366)


def _use_index(conn: sqlite3.Connection, lo: str, hi: str) -> bool:
    """Whether the index on ``registered_date`` pays: only when the period holds a small part of the
    table (a range read through the index costs a random table lookup per row)."""
    try:
        in_range = conn.execute(
            "SELECT count(*) FROM meldingen WHERE registered_date BETWEEN ? AND ?", (lo, hi)
        ).fetchone()[0]
        approx_total = conn.execute("SELECT max(rowid) FROM meldingen").fetchone()[0] or 0
    except sqlite3.OperationalError:
        return False
    return in_range * 5 < approx_total


def rows_from_sql(
    conn: sqlite3.Connection, period: Period, group_by: Sequence[str] = (), *, as_of: datetime | None = None
) -> tuple[list[tuple], RowCodes]:
    """The meldingen registered in ``period`` as plain 8-tuples in :class:`BarometerRow` field order
    (one melding each), with the day and grouping values coded as integers (:class:`RowCodes`, returned
    alongside; pass it to ``barometer``). Only the dimensions in ``group_by`` are read
    (``hoofdcategorie`` reads ``categorie``); the others are ``None``.

    Needs a connection that may create TEMP tables (a read-only database file is fine).
    """
    dims = set(check_group_by(group_by))
    if "hoofdcategorie" in dims:
        dims.add("categorie")
    codes = RowCodes(vocabularies())
    dim_cols = ", ".join(_coded_dim_sql(d, dims, codes.vocab[d]) for d in _DIMS)
    lo, hi = period.start.isoformat(), period.end.isoformat()
    until = max(as_of or utcnow(), utcnow(), period.end_instant()) + _CALENDAR_SLACK
    _fill_calendar(conn, period.start - timedelta(days=1), until.date().replace(day=1))
    table = "meldingen AS m" if _use_index(conn, lo, hi) else "meldingen AS m NOT INDEXED"
    sql = f"""
        SELECT CAST(replace(m.registered_date, '-', '') AS INTEGER),
               CASE WHEN first_closed_at IS NULL THEN NULL WHEN h.wd IS NULL THEN -1 ELSE max(h.wd - d.wd, 0) END,
               {_FLAGS}, {dim_cols}
        FROM {table}
        CROSS JOIN _bar_day AS d ON d.d = m.registered_date
        LEFT JOIN _bar_hour AS h ON h.h = substr(m.first_closed_at, 1, 13)
        WHERE m.registered_date BETWEEN ? AND ? AND {_COUNTS}"""
    rows = conn.execute(sql, (lo, hi)).fetchall()
    # -1: a closure outside the calendar (a corrupt stamp); then the lead times are computed the slow way.
    if -1 in map(itemgetter(1), rows):
        return _rows_slow(conn, lo, hi, dim_cols), codes
    return rows, codes


def _rows_slow(conn: sqlite3.Connection, lo: str, hi: str, dim_cols: str) -> list[tuple]:
    sql = f"""SELECT registered_date, first_closed_at, {_FLAGS}, {dim_cols} FROM meldingen
              WHERE registered_date BETWEEN ? AND ? AND {_COUNTS}"""
    return [
        (int(d.replace("-", "")), lead_days(d, fc), *rest) for d, fc, *rest in conn.execute(sql, (lo, hi))
    ]


def _dim_sql(dim: str, wanted: set[str]) -> str:
    return f"NULLIF({dim}, '')" if dim in wanted else "NULL"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _coded_dim_sql(dim: str, wanted: set[str], vocab: Sequence[str]) -> str:
    """The grouping column as an index into ``vocab`` (``RowCodes``), else its text, else NULL."""
    if dim not in wanted:
        return "NULL"
    if not vocab:
        return f"NULLIF({dim}, '')"
    whens = " ".join(f"WHEN {_literal(v)} THEN {i}" for i, v in enumerate(vocab))
    return f"CASE {dim} {whens} ELSE NULLIF({dim}, '') END"


def backlog_rows_from_sql(conn: sqlite3.Connection, t: datetime, group_by: Sequence[str] = ()) -> list[BacklogRow]:
    """The :class:`BacklogRow` values of the meldingen that may be open at ``t`` (UTC): registered
    before ``t`` and not closed now with their last closure before ``t``. The status timeline (the
    ``status_timeline`` column) is read only for those that changed status after a first closure before ``t``."""
    dims = set(check_group_by(group_by))
    if "hoofdcategorie" in dims:
        dims.add("categorie")
    dim_cols = ", ".join(_dim_sql(d, dims) for d in _DIMS)
    ts = iso(t)
    sql = f"""
        SELECT registered_at, first_closed_at, closed_at, deadline,
               CASE WHEN first_closed_at < :t AND (COALESCE(reopen_count, 0) > 0 OR closed_at IS NULL
                         OR closed_at != first_closed_at) THEN status_timeline END,
               {dim_cols}
        FROM meldingen
        WHERE registered_at < :t AND (closed_at IS NULL OR closed_at >= :t) AND {_COUNTS}"""
    out = []
    for reg, first, closed, dl, timeline, *dimvals in conn.execute(sql, {"t": ts}):
        out.append(BacklogRow(reg, first, closed, dl, decode_timeline(timeline), *dimvals))
    return out


def summary_cells(
    conn: sqlite3.Connection, period: Period, group_by: Sequence[str] = ()
) -> tuple[list[tuple], dict[str, list[tuple]]]:
    """The counts ``shared.barometer.barometer_from_cells`` takes, from the summary table
    ``barometer_rows`` (``wijkteam_reports.summary``): ``(month, lead, flags, n)`` and per grouping
    column ``(value, lead, flags, n)`` over the meldingen registered in ``period``. Each is one
    ``GROUP BY`` over the covering index ``(key, lead, flags, day)``, read in index order."""
    dims = set(check_group_by(group_by))
    if "hoofdcategorie" in dims:
        dims.discard("hoofdcategorie")
        dims.add("categorie")
    lo = period.start.year * 10000 + period.start.month * 100 + period.start.day
    hi = period.end.year * 10000 + period.end.month * 100 + period.end.day
    months = [
        (f"{m // 100:04d}-{m % 100:02d}", lead, flags, n)
        for m, lead, flags, n in conn.execute(
            f"""SELECT month, lead, flags, count(*) FROM {SUMMARY_TABLE} INDEXED BY {SUMMARY_TABLE}_month
                WHERE month BETWEEN ? AND ? AND day BETWEEN ? AND ? GROUP BY month, lead, flags""",
            (lo // 100, hi // 100, lo, hi),
        )
    ]
    groups = {
        d: conn.execute(
            f"""SELECT {d}, lead, flags, count(*) FROM {SUMMARY_TABLE} INDEXED BY {SUMMARY_TABLE}_{d}
                WHERE day BETWEEN ? AND ? GROUP BY {d}, lead, flags""",
            (lo, hi),
        ).fetchall()
        for d in _DIMS
        if d in dims
    }
    return months, groups


def summary_backlog(
    conn: sqlite3.Connection, t: datetime, group_by: Sequence[str] = ()
) -> tuple[list[BacklogRow], list[tuple]]:
    """The backlog at ``t`` (UTC) from the summary table ``barometer_rows`` (meldingen that count),
    for ``shared.barometer.barometer_from_cells``: the meldingen surely open at ``t``
    (``shared.barometer.surely_open_at``) counted per ``(overdue, wijk, categorie, kanaal, vier_b,
    type)`` (dimensions not asked for are NULL), and the other candidates — first closed before ``t``
    and not closed now before ``t`` — as :class:`BacklogRow` values with their status timeline.

    Reads two ranges of the covering index ``barometer_rows_backlog`` (open now; last closed at or
    after ``t``), never the table."""
    dims = set(check_group_by(group_by))
    if "hoofdcategorie" in dims:
        dims.add("categorie")
    dim_cols = ", ".join(_dim_sql(d, dims) for d in _DIMS)
    aliased = ", ".join(f"{_dim_sql(d, dims)} AS d_{d}" for d in _DIMS)
    index = f"{SUMMARY_TABLE} INDEXED BY {SUMMARY_TABLE}_backlog"
    ranges = ("closed_at IS NULL AND registered_at < :t", "closed_at >= :t AND registered_at < :t")
    surely = " UNION ALL ".join(
        f"""SELECT COALESCE(deadline < :t, 0) AS overdue, {aliased} FROM {index}
            WHERE {r} AND (first_closed_at IS NULL OR first_closed_at >= :t)"""
        for r in ranges
    )
    keys = ", ".join(f"d_{d}" for d in _DIMS)
    cells_sql = f"SELECT overdue, count(*), {keys} FROM ({surely}) GROUP BY overdue, {keys}"
    rows_sql = " UNION ALL ".join(
        f"""SELECT registered_at, first_closed_at, closed_at, deadline, timeline, {dim_cols}
            FROM {index} WHERE {r} AND first_closed_at < :t"""
        for r in ranges
    )
    params = {"t": iso(t)}
    cells = conn.execute(cells_sql, params).fetchall()
    rows = [
        BacklogRow(reg, first, closed, dl, decode_timeline(tl), *dimvals)
        for reg, first, closed, dl, tl, *dimvals in conn.execute(rows_sql, params)
    ]
    return rows, cells


def build_report(
    conn: sqlite3.Connection,
    period: Period,
    *,
    group_by: Sequence[str] = (),
    as_of: datetime | None = None,
    criteria: Any = None,
    progress: Callable[[float, str], None] | None = None,
    use_summary: bool | None = None,
) -> BarometerReport:
    """The barometer report of ``period`` over the ``meldingen`` table of ``conn``.

    Args:
        conn: a connection to a laptop or server database (read only is enough).
        group_by: dimensions of ``shared.barometer.GROUP_BY``.
        as_of: the report's moment (default now, UTC).
        criteria: ``shared.certificering.Criteria`` (default the configured ones).
        progress: called with (fraction done, Dutch step text) between the steps.
        use_summary: read the summary table ``barometer_rows`` (``wijkteam_reports.summary``)
            instead of the projection; default: when the database has it and it is up to date
            (``summary_ready``; the server store keeps it).

    Raises:
        ValidationError: an unknown grouping dimension.
    """
    as_of = as_of or utcnow()
    step = progress or (lambda f, s: None)
    step(0.0, "Meldingen van de periode lezen")
    # The server keeps a narrow summary table; a laptop database (or any other) has only the projection.
    t = backlog_moment(period, as_of)
    # One read transaction: the counts and the backlog see the same snapshot while pushes commit.
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        summary = summary_ready(conn) if use_summary is None else use_summary
        if summary:
            months, groups = summary_cells(conn, period, group_by)
            step(0.6, "Werkvoorraad aan het einde van de periode")
            backlog, backlog_cells = summary_backlog(conn, t, group_by)
    finally:
        if own:
            conn.execute("COMMIT")
    if summary:
        step(0.8, "Indicatoren berekenen")
        report = barometer_from_cells(
            months, groups, backlog, period, as_of=as_of, group_by=group_by, criteria=criteria,
            backlog_cells=backlog_cells,
        )
    else:
        rows, codes = rows_from_sql(conn, period, group_by, as_of=as_of)
        step(0.6, "Werkvoorraad aan het einde van de periode")
        backlog = backlog_rows_from_sql(conn, t, group_by)
        step(0.8, "Indicatoren berekenen")
        report = barometer(rows, backlog, period, as_of=as_of, group_by=group_by, criteria=criteria, codes=codes)
    step(1.0, "Klaar")
    return report


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to a database file (reports never write).

    Raises:
        sqlite3.OperationalError: the file does not exist or is not a database.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(str(p))
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    # A report scans the table once: memory-map it rather than read it page by page.
    conn.execute("PRAGMA mmap_size = 1073741824")
    return conn
