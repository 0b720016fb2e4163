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
    BACKLOG_AGES,
    CALLBACK_CAP,
    CALLBACK_SHIFT,
    F_CALLBACK,
    F_CATEGORIE,
    F_CONFLICT,
    F_CONTACT,
    F_HAS_NORM,
    F_KANAAL,
    F_LOCATION,
    F_REOPENED,
    F_SPOED,
    F_VIER_B,
    F_WITHIN,
    BacklogRow,
    BarometerReport,
    Period,
    ReportSettings,
    RowCodes,
    age_day,
    backlog_moment,
    backlog_row,
    barometer,
    barometer_from_cells,
    barometer_row,
    check_group_by,
    comparison,
    comparison_periods,
    decode_timeline,
    origin_note,
    report_settings,
    seal,
    vocabularies,
)
from shared.deadlines import AMS, is_working_day, utcnow
from shared.projection import COLUMNS, iso
from wijkteam_reports import asof, quality
from wijkteam_reports.summary import TABLE as SUMMARY_TABLE
from wijkteam_reports.summary import summary_ready
from wijkteam_store.dialect import Dialect, dialect_of

#: Meldingen that count: not deleted and not a duplicate of another (shared.barometer.counts).
_COUNTS = "deleted = 0 AND (duplicaat_van IS NULL OR duplicaat_van = '')"

_LOCATION = (
    "(NULLIF(straat, '') IS NOT NULL OR NULLIF(postcode, '') IS NOT NULL OR lat IS NOT NULL"
    " OR NULLIF(locatie_omschrijving, '') IS NOT NULL)"
)

_DIMS = ("wijk", "categorie", "kanaal", "vier_b", "type")


def _flags(d: Dialect) -> str:
    """The flag mask of a projection row (``shared.barometer.barometer_row``'s ``flags``) in SQL of the
    dialect ``d``: each condition 0/1 (``Dialect.as_int``) times its bit."""
    b = d.as_int
    return f"""(
    {b("COALESCE(reopen_count, 0) > 0")} * {F_REOPENED}
  | {b("COALESCE(has_contact, 0) != 0")} * {F_CONTACT}
  | {b("COALESCE(callback_count, 0) > 0")} * {F_CALLBACK}
  | {b(_LOCATION)} * {F_LOCATION}
  | {b("NULLIF(categorie, '') IS NOT NULL")} * {F_CATEGORIE}
  | {b("NULLIF(vier_b, '') IS NOT NULL")} * {F_VIER_B}
  | {b("NULLIF(kanaal, '') IS NOT NULL")} * {F_KANAAL}
  | CASE WHEN first_closed_at IS NULL OR deadline IS NULL THEN 0
         WHEN first_closed_at <= deadline THEN {F_HAS_NORM | F_WITHIN} ELSE {F_HAS_NORM} END
  | {b("COALESCE(prioriteit = 'spoed', FALSE)")} * {F_SPOED}
  | {b("COALESCE(conflict_count, 0) > 0")} * {F_CONFLICT}
  | CASE WHEN first_callback_at IS NULL THEN 0
         WHEN hc.wd IS NULL THEN -{1 << 40}
         ELSE ({d.least(d.greatest("hc.wd - d.wd", "0"), str(CALLBACK_CAP))} + 1) << {CALLBACK_SHIFT} END
)"""
# The callback part reads the calendar joins of rows_from_sql (``d``: registration day, ``hc``: the
# hour of the first terugkoppeling); a stamp outside the calendar makes the mask negative, and the
# rows are then computed the slow way (as a closure outside the calendar does).


@lru_cache(maxsize=8)
def _working_day_numbers(first: date, last: date) -> list[tuple[date, int]]:
    """Each date ``first``..``last`` with its working-day number: the count of working days
    (``shared.deadlines.is_working_day``) from ``first`` up to and including it. The working days after
    ``a`` up to and including ``b`` are ``number(b) - number(a)``: ``working_days_between``."""
    out, wd, day = [], 0, first
    while day <= last:
        wd += is_working_day(day)
        out.append((day, wd))
        day += timedelta(days=1)
    return out


@lru_cache(maxsize=8)
def _calendar(first: date, last: date) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    numbered = _working_day_numbers(first, last)
    number = dict(numbered)
    days = [(day.isoformat(), wd) for day, wd in numbered]
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


def _refill(conn: Any, tables: dict[str, list[tuple]]) -> None:
    """Replace the rows of these temp tables in one savepoint: a single commit of the temp database,
    whatever the connection's isolation mode."""
    conn.execute("SAVEPOINT bar_refill")
    try:
        for table, rows in tables.items():
            conn.execute(f"DELETE FROM {table}")
            if rows:
                conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    except BaseException:
        conn.execute("ROLLBACK TO bar_refill")
        conn.execute("RELEASE bar_refill")
        raise
    conn.execute("RELEASE bar_refill")


def _fill_calendar(conn: Any, first: date, last: date) -> None:
    """Temp tables for lead times in SQL, filled from ``shared.deadlines`` (the rule stays there):
    ``_bar_day``: local date → working-day number; ``_bar_hour``: UTC hour (``YYYY-MM-DDTHH``) →
    the working-day number of its Europe/Amsterdam date. Lead = difference of the two numbers,
    which is ``working_days_between``."""
    d = dialect_of(conn)
    conn.execute(d.ddl("CREATE TEMP TABLE IF NOT EXISTS _bar_day (d TEXT PRIMARY KEY, wd INTEGER) WITHOUT ROWID"))
    conn.execute(d.ddl("CREATE TEMP TABLE IF NOT EXISTS _bar_hour (h TEXT PRIMARY KEY, wd INTEGER) WITHOUT ROWID"))
    have = conn.execute("SELECT min(d), max(d) FROM _bar_day").fetchone()
    if have == (first.isoformat(), last.isoformat()):
        return
    days, hours = _calendar(first, last)
    _refill(conn, {"_bar_day": days, "_bar_hour": hours})


#: How far past "now" closures are looked up; later stamps cannot pass the sync server's future check.
_CALENDAR_SLACK = timedelta(days=366)


def _use_index(conn: Any, lo: str, hi: str) -> bool:
    """Whether the index on ``registered_date`` pays: only when the period holds a small part of the
    table (a range read through the index costs a random table lookup per row). PostgreSQL's planner
    decides that itself."""
    if dialect_of(conn).postgres:
        return True
    try:
        in_range = conn.execute(
            "SELECT count(*) FROM meldingen WHERE registered_date BETWEEN ? AND ?", (lo, hi)
        ).fetchone()[0]
        approx_total = conn.execute("SELECT max(rowid) FROM meldingen").fetchone()[0] or 0
    except sqlite3.OperationalError:
        return False
    return in_range * 5 < approx_total


def rows_from_sql(
    conn: Any,
    period: Period,
    group_by: Sequence[str] = (),
    *,
    as_of: datetime | None = None,
    skip: bool = False,
) -> tuple[list[tuple], RowCodes]:
    """The meldingen registered in ``period`` as plain 8-tuples in :class:`BarometerRow` field order
    (one melding each), with the day and grouping values coded as integers (:class:`RowCodes`, returned
    alongside; pass it to ``barometer``). Only the dimensions in ``group_by`` are read
    (``hoofdcategorie`` reads ``categorie``); the others are ``None``. ``skip``: leave out the
    meldingen listed in the temp table ``_bar_skip`` (``--as-of``, :mod:`wijkteam_reports.asof`).

    Needs a connection that may create TEMP tables (a read-only database file is fine).
    """
    dims = set(check_group_by(group_by))
    if "hoofdcategorie" in dims:
        dims.add("categorie")
    codes = RowCodes(vocabularies())
    d = dialect_of(conn)
    # PostgreSQL's CASE has one type: there the text is read and coded here (``_code``), as SQLite's
    # CASE does it in the query (an index for a known value, else the text).
    dim_cols = ", ".join(
        _dim_sql(dim, dims) if d.postgres else _coded_dim_sql(dim, dims, codes.vocab[dim]) for dim in _DIMS
    )
    lo, hi = period.start.isoformat(), period.end.isoformat()
    until = max(as_of or utcnow(), utcnow(), period.end_instant()) + _CALENDAR_SLACK
    _fill_calendar(conn, period.start - timedelta(days=1), until.date().replace(day=1))
    table = "meldingen AS m" if _use_index(conn, lo, hi) else "meldingen AS m NOT INDEXED"
    skipped = f" AND m.melding_id NOT IN (SELECT melding_id FROM {asof.SKIP})" if skip else ""
    # SQLite's CROSS JOIN keeps the projection the outer loop; PostgreSQL plans joins itself.
    sql = f"""
        SELECT CAST(replace(m.registered_date, '-', '') AS INTEGER),
               CASE WHEN first_closed_at IS NULL THEN NULL WHEN h.wd IS NULL THEN -1
                    ELSE {d.greatest("h.wd - d.wd", "0")} END,
               {_flags(d)}, {dim_cols}
        FROM {table}
        {"JOIN" if d.postgres else "CROSS JOIN"} _bar_day AS d ON d.d = m.registered_date
        LEFT JOIN _bar_hour AS h ON h.h = substr(m.first_closed_at, 1, 13)
        LEFT JOIN _bar_hour AS hc ON hc.h = substr(m.first_callback_at, 1, 13)
        WHERE m.registered_date BETWEEN ? AND ? AND {_COUNTS}{skipped}"""
    rows = conn.execute(sql, (lo, hi)).fetchall()
    # -1 / a negative mask: a closure or call-back outside the calendar (a corrupt stamp); then the
    # lead times are computed the slow way.
    if -1 in map(itemgetter(1), rows) or (rows and min(map(itemgetter(2), rows)) < 0):
        return _rows_slow(conn, lo, hi, dims, codes, skipped), codes
    if d.postgres and dims:
        rows = [(*r[:3], *(_code(codes, dim, v) if v is not None else None for dim, v in zip(_DIMS, r[3:], strict=True)))
                for r in rows]  # fmt: skip
    return rows, codes


def _rows_slow(
    conn: Any, lo: str, hi: str, dims: set[str], codes: RowCodes, skipped: str
) -> list[tuple]:
    """:func:`rows_from_sql` through the reference conversion ``barometer_row`` (any stamp works)."""
    cur = conn.execute(
        f"SELECT {', '.join(f'm.{c}' for c in COLUMNS)} FROM meldingen AS m "
        f"WHERE registered_date BETWEEN ? AND ? AND {_COUNTS}{skipped}",
        (lo, hi),
    )
    names = [d[0] for d in cur.description]
    out = []
    for values in cur:
        r = barometer_row(dict(zip(names, values)))
        if r is None:
            continue
        dimvals = [_code(codes, d, getattr(r, d)) if d in dims else None for d in _DIMS]
        out.append((int(r.registered_date.replace("-", "")), r.lead_days, r.flags, *dimvals))
    return out


def _code(codes: RowCodes, dim: str, value: str | None) -> int | str | None:
    vocab = codes.vocab[dim]
    return vocab.index(value) if value in vocab else value


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


def backlog_rows_from_sql(
    conn: Any, t: datetime, group_by: Sequence[str] = (), *, skip: bool = False
) -> list[BacklogRow]:
    """The :class:`BacklogRow` values of the meldingen that may be open at ``t`` (UTC): registered
    before ``t`` and not closed now with their last closure before ``t``. The status timeline (the
    ``status_timeline`` column) is read only for those that changed status after a first closure
    before ``t``. ``skip``: as for :func:`rows_from_sql`."""
    dims = set(check_group_by(group_by))
    if "hoofdcategorie" in dims:
        dims.add("categorie")
    dim_cols = ", ".join(_dim_sql(d, dims) for d in _DIMS)
    ts = iso(t)
    skipped = f" AND melding_id NOT IN (SELECT melding_id FROM {asof.SKIP})" if skip else ""
    sql = f"""
        SELECT registered_at, first_closed_at, closed_at, deadline,
               CASE WHEN first_closed_at < :t AND (COALESCE(reopen_count, 0) > 0 OR closed_at IS NULL
                         OR closed_at != first_closed_at) THEN status_timeline END,
               {dim_cols}, servicenorm
        FROM meldingen
        WHERE registered_at < :t AND (closed_at IS NULL OR closed_at >= :t) AND {_COUNTS}{skipped}"""
    out = []
    for reg, first, closed, dl, timeline, *rest in conn.execute(sql, {"t": ts}):
        out.append(BacklogRow(reg, first, closed, dl, decode_timeline(timeline), *rest))
    return out


def summary_cells(
    conn: Any, period: Period, group_by: Sequence[str] = ()
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
    sqlite = not dialect_of(conn).postgres

    def indexed(name: str) -> str:  # SQLite is told the covering index; PostgreSQL's planner finds it
        return f" INDEXED BY {SUMMARY_TABLE}_{name}" if sqlite else ""

    months = [
        (f"{m // 100:04d}-{m % 100:02d}", lead, flags, n)
        for m, lead, flags, n in conn.execute(
            f"""SELECT month, lead, flags, count(*) FROM {SUMMARY_TABLE}{indexed("month")}
                WHERE month BETWEEN ? AND ? AND day BETWEEN ? AND ? GROUP BY month, lead, flags""",
            (lo // 100, hi // 100, lo, hi),
        )
    ]
    groups = {
        d: conn.execute(
            f"""SELECT {d}, lead, flags, count(*) FROM {SUMMARY_TABLE}{indexed(d)}
                WHERE day BETWEEN ? AND ? GROUP BY {d}, lead, flags""",
            (lo, hi),
        ).fetchall()
        for d in _DIMS
        if d in dims
    }
    return months, groups


def _fill_day_numbers(conn: Any, first: date, last: date) -> None:
    """Temp table ``_bar_dayno``: local date as ``YYYYMMDD`` → working-day number (the cumulative
    count of ``shared.deadlines.is_working_day``), so that the backlog's age in working days is a
    difference of two numbers in SQL (``working_days_between``)."""
    conn.execute(dialect_of(conn).ddl("CREATE TEMP TABLE IF NOT EXISTS _bar_dayno (day INTEGER PRIMARY KEY, wd INTEGER)"))
    have = conn.execute("SELECT min(day), max(day) FROM _bar_dayno").fetchone()
    want = (_day_int(first), _day_int(last))
    if have[0] is not None and have[0] <= want[0] and have[1] >= want[1]:
        return
    _refill(conn, {"_bar_dayno": [(_day_int(day), wd) for day, wd in _working_day_numbers(first, last)]})


def _day_int(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _age_class_sql(age: str) -> str:
    """``shared.barometer.age_class`` as a SQL CASE over the expression ``age``."""
    whens = " ".join(f"WHEN {age} <= {high} THEN {i}" for i, (_, _, high) in enumerate(BACKLOG_AGES) if high is not None)
    return f"CASE {whens} ELSE {len(BACKLOG_AGES) - 1} END"


def summary_backlog(
    conn: Any, t: datetime, group_by: Sequence[str] = ()
) -> tuple[list[tuple[str, BacklogRow]], list[tuple]]:
    """The backlog at ``t`` (UTC) from the summary table ``barometer_rows`` (meldingen that count),
    for ``shared.barometer.barometer_from_cells``: the meldingen surely open at ``t``
    (``shared.barometer.surely_open_at``) counted per ``(overdue, age class, older than 3× the
    norm, wijk, categorie, kanaal, vier_b, type)`` (dimensions not asked for are NULL) — as cells
    ``(overdue, age class, over 3×, n, wijk, …)`` —, and the other candidates — first closed before
    ``t`` and not closed now before ``t`` — as ``(melding_id, BacklogRow)`` with their status timeline.

    Reads two ranges of the covering index ``barometer_rows_backlog`` (open now; last closed at or
    after ``t``), never the table; the age comes from the temp table ``_bar_dayno``."""
    dims = set(check_group_by(group_by))
    if "hoofdcategorie" in dims:
        dims.add("categorie")
    ts = iso(t) or ""
    to_day = age_day(ts)
    first_month = conn.execute(f"SELECT min(month) FROM {SUMMARY_TABLE}").fetchone()[0]
    first = date(first_month // 100, first_month % 100, 1) if first_month else to_day
    _fill_day_numbers(conn, min(first, to_day), to_day)
    dim_cols = ", ".join(_dim_sql(d, dims) for d in _DIMS)
    aliased = ", ".join(f"{_dim_sql(d, dims)} AS d_{d}" for d in _DIMS)
    dialect = dialect_of(conn)
    index = SUMMARY_TABLE if dialect.postgres else f"{SUMMARY_TABLE} INDEXED BY {SUMMARY_TABLE}_backlog"
    ranges = ("closed_at IS NULL AND registered_at < :t", "closed_at >= :t AND registered_at < :t")
    # Age in working days on the last day before T (0 when registered that day); a registration day
    # outside the calendar cannot happen (the calendar starts at the table's first month).
    age = dialect.greatest(":twd - COALESCE(dn.wd, :twd)", "0")
    surely = " UNION ALL ".join(
        f"""SELECT {dialect.as_int("COALESCE(deadline < :t, FALSE)")} AS overdue, {_age_class_sql(age)} AS age,
                   {dialect.as_int(f"COALESCE(servicenorm, 0) > 0 AND {age} > 3 * servicenorm")} AS over3, {aliased}
            FROM {index} LEFT JOIN _bar_dayno AS dn ON dn.day = {SUMMARY_TABLE}.day
            WHERE {r} AND (first_closed_at IS NULL OR first_closed_at >= :t)"""
        for r in ranges
    )
    keys = ", ".join(f"d_{d}" for d in _DIMS)
    cells_sql = f"SELECT overdue, age, over3, count(*), {keys} FROM ({surely}) AS s GROUP BY overdue, age, over3, {keys}"
    rows_sql = " UNION ALL ".join(
        f"""SELECT melding_id, registered_at, first_closed_at, closed_at, deadline, timeline, {dim_cols}, servicenorm
            FROM {index} WHERE {r} AND first_closed_at < :t"""
        for r in ranges
    )
    twd = conn.execute("SELECT wd FROM _bar_dayno WHERE day = ?", (_day_int(to_day),)).fetchone()[0]
    params = {"t": ts, "twd": twd}
    cells = conn.execute(cells_sql, params).fetchall()
    rows = [
        (mid, BacklogRow(reg, first_, closed, dl, decode_timeline(tl), *rest))
        for mid, reg, first_, closed, dl, tl, *rest in conn.execute(rows_sql, params)
    ]
    return rows, cells


def build_report(
    conn: Any,
    period: Period,
    *,
    group_by: Sequence[str] = (),
    as_of: datetime | None = None,
    criteria: Any = None,
    progress: Callable[[float, str], None] | None = None,
    use_summary: bool | None = None,
    settings: ReportSettings | None = None,
    upto_seq: int | None = None,
    compare: bool = True,
    made_at: datetime | None = None,
) -> BarometerReport:
    """The barometer report of ``period`` over the ``meldingen`` table of ``conn``.

    On a server database (an ``events`` table with arrival times) the report counts the events up
    to a ``server_seq`` — the last one, or ``upto_seq`` (``wijkteam-server report --as-of``), in which
    case the meldingen changed since are refolded from their events up to it
    (:mod:`wijkteam_reports.asof`) — and its moment (``as_of``) is that event's arrival, so the same
    ``server_seq`` gives the same figures, whenever the report is made. It also fills the
    data-quality section (:mod:`wijkteam_reports.quality`). On a laptop database the moment is now.

    Args:
        conn: a connection to a laptop or server database (read only is enough).
        group_by: dimensions of ``shared.barometer.GROUP_BY``.
        as_of: the moment of the data (default: see above); bounds the backlog moment.
        criteria: ``shared.certificering.Criteria`` (default the configured ones).
        progress: called with (fraction done, Dutch step text) between the steps.
        use_summary: read the summary table ``barometer_rows`` (``wijkteam_reports.summary``)
            instead of the projection; default: when the database has it and it is up to date
            (``summary_ready``; the server store keeps it).
        settings: ``shared.barometer.ReportSettings`` (default: the municipality configuration).
        upto_seq: count the server's events up to this ``server_seq`` only (server databases).
        compare: add the previous period and the same period a year earlier (page one).
        made_at: when the report is made (default: ``as_of`` when given, else now).

    Raises:
        ValidationError: an unknown grouping dimension; ``upto_seq`` (field ``as_of``) beyond the
            server's last event, below 0, or on a database without a server event log.
    """
    from shared.errors import ValidationError

    settings = settings or report_settings()
    made = made_at or as_of or utcnow()
    step = progress or (lambda f, s: None)
    step(0.0, "Meldingen van de periode lezen")
    # One read transaction: counts, backlog, comparisons and data quality see the same snapshot
    # while pushes commit.
    own = not conn.in_transaction
    if own:
        # PostgreSQL: one snapshot for every statement (its default isolation takes one per statement).
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ" if dialect_of(conn).postgres else "BEGIN")
    try:
        server = quality.is_server_db(conn)
        seq = None
        overlay = None
        if server:
            top = quality.max_seq(conn)
            seq = top if upto_seq is None else upto_seq
            if not 0 <= seq <= top:
                raise ValidationError(
                    "as_of", f"server_seq {seq} bestaat niet: de server heeft gebeurtenissen 1 t/m {top}."
                )
            if as_of is None:
                as_of = quality.moment_of(conn, seq) or min(period.end_instant(), utcnow())
            if seq < top:
                step(0.05, f"Meldingen terugrekenen tot server_seq {seq}")
                overlay = asof.overlay(conn, seq)
        elif upto_seq is not None:
            raise ValidationError("as_of", "--as-of kan alleen op de database van de server (met server_seq).")
        as_of = as_of or utcnow()
        summary = summary_ready(conn) if use_summary is None else use_summary
        if overlay is not None and not summary:
            asof.fill_skip(conn, overlay)

        def compute(p: Period, dims: Sequence[str], part: float) -> BarometerReport:
            return _compute(conn, p, dims, as_of, criteria, settings, summary, overlay, step, part)

        report = compute(period, group_by, 0.6)
        if compare:
            step(0.7, "Vergelijking met de vorige periode en vorig jaar")
            report.comparisons = [
                comparison(kind, label, p, compute(p, (), 0.0).totaal) for kind, label, p in comparison_periods(period)
            ]
        if server:
            step(0.85, "Datakwaliteit")
            quality.fill(conn, report.data_quality, period, seq, as_of)
        report.herkomst = quality.origins(conn)
    finally:
        if own:
            conn.execute("COMMIT")
    report.server_seq = seq
    report.made_at = iso(made) or ""
    report.herkomst_note = origin_note(report.herkomst)
    step(1.0, "Klaar")
    return seal(report)


def _compute(
    conn: Any,
    period: Period,
    group_by: Sequence[str],
    as_of: datetime,
    criteria: Any,
    settings: ReportSettings,
    summary: bool,
    overlay: asof.Overlay | None,
    step: Callable[[float, str], None],
    part: float,
) -> BarometerReport:
    """One period's report (no comparisons), from the summary table or the projection."""
    t = backlog_moment(period, as_of)
    if summary:
        months, groups = summary_cells(conn, period, group_by)
        if part:
            step(part, "Werkvoorraad aan het einde van de periode")
        candidates, backlog_cells = summary_backlog(conn, t, group_by)
        if overlay is not None:
            extra = asof.summary_corrections(overlay, period, iso(t) or "", group_by)
            months += extra.months
            for d, cells in extra.groups.items():
                if d in groups:
                    groups[d] = groups[d] + cells
            backlog_cells += extra.backlog_cells
            candidates = [c for c in candidates if c[0] not in overlay.ids] + extra.candidates
        return barometer_from_cells(
            months, groups, [b for _, b in candidates], period, as_of=as_of, group_by=group_by,
            criteria=criteria, backlog_cells=backlog_cells, settings=settings,
        )
    skip = overlay is not None
    rows, codes = rows_from_sql(conn, period, group_by, as_of=as_of, skip=skip)
    if part:
        step(part, "Werkvoorraad aan het einde van de periode")
    backlog = backlog_rows_from_sql(conn, t, group_by, skip=skip)
    if overlay is not None:
        lo, hi = period.start.isoformat(), period.end.isoformat()
        for p in overlay.rows_at_seq.values():
            r = barometer_row(p)
            if r is not None and lo <= r.registered_date <= hi:
                rows.append((int(r.registered_date.replace("-", "")), *r[1:8]))
            if (b := backlog_row(p)) is not None:
                backlog.append(b)
    return barometer(
        rows, backlog, period, as_of=as_of, group_by=group_by, criteria=criteria, codes=codes, settings=settings
    )


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
