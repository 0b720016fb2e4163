"""The server's barometer summary table ``barometer_rows``: one narrow row per melding that counts.

The barometer over a million meldingen cannot afford to read the wide projection table (43 columns
per row) nor to compute lead times per report. So the server store
keeps, in the same transaction as every projection write, ``shared.barometer.summary_row`` of each
written melding: the registration day as ``YYYYMMDD``, the lead time in working days and the flag
mask (computed once, by the reference conversions), the grouping values, and what the backlog needs
(instants, and the status timeline only for meldingen that changed status after a first closure).
A covering index ``(key, lead, flags, day)`` per key — the month and each grouping column — lets a
report count the received cohort per ``(key, lead, flags)`` with one SQL ``GROUP BY`` per key that
reads the index in order (no sort, no table): a few thousand counts reach Python instead of a
million rows. A covering index led by ``closed_at`` serves the backlog.

Meldingen that do not count (deleted, duplicates) have no row. An existing database gets the table
on upgrade, filled from its projection (:func:`ensure_summary`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from shared.barometer import SUMMARY_COLUMNS, summary_row
from shared.projection import COLUMNS
from wijkteam_store.dialect import dialect_of

TABLE = "barometer_rows"

#: Bump when the summary's columns, indexes or content rules change: the store then drops the table
#: and rebuilds it from the projection. (1: a first layout with one row-level index; 2: ``month``,
#: the per-key ``GROUP BY`` indexes and the covering backlog index; 3: spoed, conflict and call-back
#: lead time in ``flags``, ``servicenorm`` and ``day`` in the backlog index for its age.)
SUMMARY_VERSION = 3

DIRTY = "barometer_dirty"

#: The grouping columns; each has an index ``(column, lead, flags, day)``, as ``month`` has.
GROUP_COLUMNS = ("wijk", "categorie", "kanaal", "vier_b", "type")

#: The summary table, its covering index for the report, and the guard against writers that bypass
#: :func:`write_summary`: triggers note every projection row inserted or updated in ``barometer_dirty``
#: (which :func:`write_summary` clears for the rows it wrote) and drop the summary row of a deleted
#: one. While ``barometer_dirty`` is not empty the summary is not trusted (:func:`summary_ready`).
SCHEMA: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
  {", ".join(f"{c} {t}" + (" PRIMARY KEY" if c == "melding_id" else "") for c, t in SUMMARY_COLUMNS.items())}
)""",
    *(
        f"CREATE INDEX IF NOT EXISTS {TABLE}_{key} ON {TABLE}({key}, lead, flags, day)"
        for key in ("month", *GROUP_COLUMNS)
    ),
    # The backlog at T reads only meldingen with no closure or a last closure at/after T, from this
    # index alone (``timeline`` is NULL for nearly all rows, so carrying it costs little).
    f"""CREATE INDEX IF NOT EXISTS {TABLE}_backlog ON {TABLE}(closed_at, registered_at, first_closed_at, deadline,
  {", ".join(GROUP_COLUMNS)}, day, servicenorm, timeline)""",
    f"CREATE TABLE IF NOT EXISTS {DIRTY} (melding_id TEXT PRIMARY KEY) WITHOUT ROWID",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_ai AFTER INSERT ON meldingen BEGIN
  INSERT OR IGNORE INTO {DIRTY} VALUES (new.melding_id);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_au AFTER UPDATE ON meldingen BEGIN
  DELETE FROM {TABLE} WHERE melding_id = old.melding_id AND old.melding_id IS NOT new.melding_id;
  INSERT OR IGNORE INTO {DIRTY} VALUES (new.melding_id);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_ad AFTER DELETE ON meldingen BEGIN
  DELETE FROM {TABLE} WHERE melding_id = old.melding_id;
  DELETE FROM {DIRTY} WHERE melding_id = old.melding_id;
END""",
)

_UPSERT = (
    f"INSERT INTO {TABLE} ({', '.join(SUMMARY_COLUMNS)}) VALUES ({', '.join('?' * len(SUMMARY_COLUMNS))}) "
    "ON CONFLICT(melding_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SUMMARY_COLUMNS if c != "melding_id")
)
_DELETE = f"DELETE FROM {TABLE} WHERE melding_id = ?"


def write_summary(c: Any, projection_rows: Iterable[Mapping[str, Any]]) -> None:
    """Bring the summary rows of these projection rows (mappings of ``COLUMNS``) up to date, in the
    caller's transaction: upsert the ones that count, delete the others."""
    upserts, deletes, done = [], [], []
    for p in projection_rows:
        row = summary_row(p)
        done.append((p["melding_id"],))
        if row is None:
            deletes.append((p["melding_id"],))
        else:
            upserts.append(row)
    if deletes:
        c.executemany(_DELETE, deletes)
    if upserts:
        c.executemany(_UPSERT, upserts)
    if done:
        c.executemany(f"DELETE FROM {DIRTY} WHERE melding_id = ?", done)


def has_summary(conn: Any) -> bool:
    """Whether the database behind ``conn`` keeps the summary table (the server store does; a laptop
    database does not)."""
    try:
        return dialect_of(conn).has_table(conn, TABLE)
    except sqlite3.Error:
        return False


def summary_ready(conn: Any) -> bool:
    """Whether a report may read the summary table: it exists and no projection row was written
    without it (``barometer_dirty`` is empty; the store repairs that when it is opened)."""
    if not has_summary(conn):
        return False
    try:
        return conn.execute(f"SELECT 1 FROM {DIRTY} LIMIT 1").fetchone() is None
    except sqlite3.Error:
        return False


# Only the columns the summary needs.
_BACKFILL_COLUMNS = [
    c
    for c in COLUMNS
    if c
    in {
        "melding_id", "registered_at", "registered_date", "type", "kanaal", "categorie", "deadline", "vier_b",
        "wijk", "straat", "postcode", "lat", "locatie_omschrijving", "has_contact", "first_closed_at",
        "closed_at", "reopen_count", "callback_count", "duplicaat_van", "deleted", "status_timeline",
        "prioriteit", "conflict_count", "first_callback_at", "servicenorm",
    }
]  # fmt: skip
_BACKFILL_SQL = f"SELECT {', '.join(_BACKFILL_COLUMNS)} FROM meldingen"


def backfill(c: Any, batch: int = 5000) -> int:
    """Rebuild the summary table from the ``meldingen`` projection (in the caller's transaction).
    Returns the number of projection rows read."""
    c.execute(f"DELETE FROM {TABLE}")
    c.execute(f"DELETE FROM {DIRTY}")
    cur = c.execute(_BACKFILL_SQL)
    names = [d[0] for d in cur.description]
    n = 0
    while chunk := cur.fetchmany(batch):
        n += len(chunk)
        rows = [s for s in (summary_row(dict(zip(names, r))) for r in chunk) if s is not None]
        c.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(SUMMARY_COLUMNS))})", rows)
    return n


def ensure_summary(c: Any, version: int) -> bool:
    """Create the summary table (and its triggers) when missing, and (re)fill it from the projection
    when ``version`` — the summary version the database records — is older than
    :data:`SUMMARY_VERSION`; otherwise bring the rows noted in ``barometer_dirty`` up to date. Call
    inside the store's migration transaction. Returns whether it was (re)filled.

    PostgreSQL (issue 17) gets the table, its indexes and an (always empty) ``barometer_dirty``, but
    no triggers: every writer of its projection is this version's store, which writes the summary."""
    dialect = dialect_of(c)
    if version < SUMMARY_VERSION:
        c.execute(f"DROP TABLE IF EXISTS {TABLE}")  # an older layout; its indexes go with it
    for statement in SCHEMA:
        if dialect.postgres and "CREATE TRIGGER" in statement:
            continue
        c.execute(dialect.ddl(statement))
    if version < SUMMARY_VERSION:
        backfill(c)
        return True
    repair(c)
    return False


def repair(c: Any) -> int:
    """Rewrite the summary rows of the projection rows written without it (``barometer_dirty``), in
    the caller's transaction. Returns how many."""
    ids = [r[0] for r in c.execute(f"SELECT melding_id FROM {DIRTY}")]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        cur = c.execute(f"{_BACKFILL_SQL} WHERE melding_id IN ({', '.join('?' * len(chunk))})", chunk)
        names = [d[0] for d in cur.description]
        write_summary(c, [dict(zip(names, r)) for r in cur.fetchall()])
    c.execute(f"DELETE FROM {DIRTY}")  # ids without a projection row any more
    return len(ids)
