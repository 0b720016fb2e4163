"""``wijkteam-server report --as-of SEQ``: the figures as they were when the server's event log
ended at ``server_seq`` SEQ.

The projection and the summary table hold the *current* state. Only the meldingen with an event
after SEQ can differ from their state at SEQ, and after a report those are few (the pushes since).
So a report as of SEQ reads the current counts as always, takes out the current rows of those
meldingen, and puts in their rows as of SEQ: their events with ``server_seq <= SEQ`` folded again
(``shared.fold``, the same fold the store wrote the projection with; a melding without such events
did not exist yet). On the summary path this is done by correcting the counts
(:func:`summary_corrections`: the same cells the SQL makes, with ``n`` = -1 for a current row and +1
for a row as of SEQ); on the projection path the changed meldingen are left out by the SQL
(temp table :data:`SKIP`) and their rows as of SEQ added.

Reads the server's ``events`` table (``server_seq``, the event columns, ``payload`` as JSON).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from shared.barometer import (
    SUMMARY_COLUMNS,
    BacklogRow,
    Period,
    age_class,
    age_day,
    backlog_age,
    check_group_by,
    over_three_times_norm,
    summary_row,
)
from shared.events import Event
from shared.fold import fold
from shared.projection import decode_timeline, projection_row
from wijkteam_reports.summary import TABLE as SUMMARY_TABLE
from wijkteam_store.codec import EVENT_SELECT, event_from_row
from wijkteam_store.dialect import dialect_of

#: Temp table of the meldingen the projection path leaves out.
SKIP = "temp._bar_skip"

_DIMS = ("wijk", "categorie", "kanaal", "vier_b", "type")
_CHUNK = 500


class Overlay(NamedTuple):
    """What changed after ``seq``: ``ids`` of the meldingen with a later event, their projection rows
    as of ``seq`` (``rows_at_seq``; a melding made later is absent) and their current summary rows
    (``summary_current``, ``SUMMARY_COLUMNS`` order; only on a database with the summary table)."""

    seq: int
    ids: frozenset[str]
    rows_at_seq: dict[str, dict[str, Any]]
    summary_current: list[tuple]


class Corrections(NamedTuple):
    """Counts to add to the summary SQL's: month cells, per-dimension cells, surely-open backlog
    cells (``n`` ±1) and backlog candidates ``(melding_id, BacklogRow)`` as of ``seq``."""

    months: list[tuple]
    groups: dict[str, list[tuple]]
    backlog_cells: list[tuple]
    candidates: list[tuple[str, BacklogRow]]


def overlay(conn: Any, seq: int) -> Overlay:
    """The :class:`Overlay` of the server database behind ``conn`` at ``server_seq`` ``seq``."""
    ids = [r[0] for r in conn.execute("SELECT DISTINCT melding_id FROM events WHERE server_seq > ?", (seq,))]
    cols = EVENT_SELECT
    at_seq: dict[str, dict[str, Any]] = {}
    current: list[tuple] = []
    has_summary = dialect_of(conn).has_table(conn, SUMMARY_TABLE)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        qs = ", ".join("?" * len(chunk))
        groups: dict[str, list[Event]] = {}
        for row in conn.execute(
            f"SELECT {cols} FROM events WHERE melding_id IN ({qs}) AND server_seq <= ?", (*chunk, seq)
        ):
            groups.setdefault(row[1], []).append(event_from_row(row))
        for mid, events in groups.items():
            m = fold(events, history=False)
            if m is not None:
                at_seq[mid] = projection_row(m)
        if has_summary:
            current += conn.execute(
                f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM {SUMMARY_TABLE} WHERE melding_id IN ({qs})", chunk
            ).fetchall()
    return Overlay(seq, frozenset(ids), at_seq, current)


def fill_skip(conn: Any, ov: Overlay) -> None:
    """Fill the temp table :data:`SKIP` with the changed meldingen (the projection path's SQL leaves
    them out)."""
    conn.execute(dialect_of(conn).ddl("CREATE TEMP TABLE IF NOT EXISTS _bar_skip (melding_id TEXT PRIMARY KEY) WITHOUT ROWID"))
    conn.execute("DELETE FROM _bar_skip")
    conn.executemany("INSERT INTO _bar_skip VALUES (?)", [(i,) for i in ov.ids])


def summary_corrections(ov: Overlay, period: Period, t: str, group_by: Sequence[str]) -> Corrections:
    """The corrections to the summary SQL's counts of ``period`` (backlog at ``t``, UTC ISO) that turn
    them into the counts as of ``ov.seq``: each current row of a changed melding with ``n`` = -1,
    each row as of ``seq`` with ``n`` = +1; the candidates are only those as of ``seq`` (the caller
    drops the SQL's candidates of the changed meldingen by id)."""
    dims = set(check_group_by(group_by))
    if "hoofdcategorie" in dims:
        dims.add("categorie")
    out = Corrections([], {d: [] for d in _DIMS if d in dims}, [], [])
    _cells(ov.summary_current, -1, period, t, dims, out, candidates=False)
    at_seq = [s for s in (summary_row(p) for p in ov.rows_at_seq.values()) if s is not None]
    _cells(at_seq, 1, period, t, dims, out, candidates=True)
    return out


def _cells(
    rows: Iterable[tuple], n: int, period: Period, t: str, dims: set[str], out: Corrections, *, candidates: bool
) -> None:
    """The cells the summary SQL (``wijkteam_reports.sql.summary_cells`` and ``summary_backlog``)
    makes of these summary rows, each counted ``n`` times."""
    lo = period.start.year * 10000 + period.start.month * 100 + period.start.day
    hi = period.end.year * 10000 + period.end.month * 100 + period.end.day
    to_day = age_day(t)
    for row in rows:
        r = dict(zip(SUMMARY_COLUMNS, row))
        values = [r[d] if d in dims else None for d in _DIMS]
        if lo <= r["day"] <= hi:
            month = r["month"]
            out.months.append((f"{month // 100:04d}-{month % 100:02d}", r["lead"], r["flags"], n))
            for d, cells in out.groups.items():
                cells.append((r[d], r["lead"], r["flags"], n))
        reg, first, closed = r["registered_at"], r["first_closed_at"], r["closed_at"]
        if not (reg < t and (closed is None or closed >= t)):
            continue
        if first is None or first >= t:
            age = backlog_age(reg, to_day)
            overdue = r["deadline"] is not None and r["deadline"] < t
            out.backlog_cells.append(
                (int(overdue), age_class(age), int(over_three_times_norm(age, r["servicenorm"])), n, *values)
            )
        elif candidates:
            out.candidates.append(
                (r["melding_id"], BacklogRow(reg, first, closed, r["deadline"], decode_timeline(r["timeline"]),
                                             *values, r["servicenorm"]))
            )
