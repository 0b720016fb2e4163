"""The server's barometer summary table ``barometer_rows``: one narrow row per melding that counts.

The barometer over a million meldingen cannot afford to read the wide projection table (its ``state``
column holds kilobytes of JSON per row) nor to compute lead times per report. So the server store
keeps, in the same transaction as every projection write, ``shared.barometer.summary_row`` of each
written melding: the registration day as ``YYYYMMDD``, the lead time in working days and the flag
mask (computed once, by the reference conversions), the grouping values, and what the backlog needs
(instants, and the status timeline only for meldingen that changed status after a first closure).
A covering index ``(day, lead, flags, wijk, categorie, kanaal, vier_b, type)`` lets a report read
the received cohort without touching the table.

Meldingen that do not count (deleted, duplicates) have no row. An existing database gets the table
on upgrade, filled from its projection (:func:`ensure_summary`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from shared.barometer import SUMMARY_COLUMNS, summary_row
from shared.projection import COLUMNS

TABLE = "barometer_rows"

#: Bump when the summary's content rules change: the store then rebuilds it from the projection.
SUMMARY_VERSION = 1

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
  {", ".join(f"{c} {t}" + (" PRIMARY KEY" if c == "melding_id" else "") for c, t in SUMMARY_COLUMNS.items())}
);
CREATE INDEX IF NOT EXISTS {TABLE}_report ON {TABLE}(day, lead, flags, wijk, categorie, kanaal, vier_b, type);
"""

_UPSERT = (
    f"INSERT INTO {TABLE} ({', '.join(SUMMARY_COLUMNS)}) VALUES ({', '.join('?' * len(SUMMARY_COLUMNS))}) "
    "ON CONFLICT(melding_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SUMMARY_COLUMNS if c != "melding_id")
)
_DELETE = f"DELETE FROM {TABLE} WHERE melding_id = ?"


def write_summary(c: sqlite3.Connection, projection_rows: Iterable[Mapping[str, Any]]) -> None:
    """Bring the summary rows of these projection rows (mappings of ``COLUMNS``) up to date, in the
    caller's transaction: upsert the ones that count, delete the others."""
    upserts, deletes = [], []
    for p in projection_rows:
        row = summary_row(p)
        if row is None:
            deletes.append((p["melding_id"],))
        else:
            upserts.append(row)
    if deletes:
        c.executemany(_DELETE, deletes)
    if upserts:
        c.executemany(_UPSERT, upserts)


def has_summary(conn: sqlite3.Connection) -> bool:
    """Whether the database behind ``conn`` keeps the summary table (the server store does; a laptop
    database does not)."""
    try:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone() is not None
    except sqlite3.Error:
        return False


# Only the columns the summary needs; ``state`` only where the status history is needed.
_BACKFILL_COLUMNS = [
    c
    for c in COLUMNS
    if c
    in {
        "melding_id", "registered_at", "registered_date", "type", "kanaal", "categorie", "deadline", "vier_b",
        "wijk", "straat", "postcode", "lat", "locatie_omschrijving", "has_contact", "first_closed_at",
        "closed_at", "reopen_count", "callback_count", "duplicaat_van", "deleted",
    }
]  # fmt: skip
_BACKFILL_SQL = (
    f"SELECT {', '.join(_BACKFILL_COLUMNS)}, "
    "CASE WHEN first_closed_at IS NOT NULL AND first_closed_at != '' AND (COALESCE(reopen_count, 0) > 0 "
    "OR closed_at IS NULL OR closed_at != first_closed_at) THEN state END AS state FROM meldingen"
)


def backfill(c: sqlite3.Connection, batch: int = 5000) -> int:
    """Rebuild the summary table from the ``meldingen`` projection (in the caller's transaction).
    Returns the number of projection rows read."""
    c.execute(f"DELETE FROM {TABLE}")
    cur = c.execute(_BACKFILL_SQL)
    names = [d[0] for d in cur.description]
    n = 0
    while chunk := cur.fetchmany(batch):
        n += len(chunk)
        rows = [s for s in (summary_row(dict(zip(names, r))) for r in chunk) if s is not None]
        c.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(SUMMARY_COLUMNS))})", rows)
    return n


def ensure_summary(c: sqlite3.Connection, version: int) -> bool:
    """Create the summary table when missing and (re)fill it from the projection when ``version`` —
    the summary version the database records — is older than :data:`SUMMARY_VERSION`. Call inside
    the store's migration transaction. Returns whether it was (re)filled."""
    for statement in _statements(SCHEMA):
        c.execute(statement)
    if version >= SUMMARY_VERSION:
        return False
    backfill(c)
    return True


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
