"""What both stores' databases share: the projection table ``meldingen`` defined once (the columns of
``shared.projection.COLUMNS`` with their SQL types), its columns added to an older table, and the
werkvoorraad columns filled for meldingen stored before them (issue 14).

The laptop's migrations (``wijkteam_store.local.schema``) and the server's tables
(``sync_server.storage.schema``, ``sync_server.store``) build on these; each store adds its own
indexes and full-text search (docs/design.md, "Storage").
"""

from __future__ import annotations

from typing import Any

from shared.events import Event
from shared.fold import fold
from shared.projection import COLUMNS, iso
from shared.status import CALLBACK_DUE
from wijkteam_store.codec import EVENT_SELECT, event_from_row, json_encode

#: The SQL type of each Python type of ``shared.projection.COLUMNS`` (SQLite's names; PostgreSQL's are
#: derived by ``wijkteam_store.dialect``).
SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL"}


def projection_columns_sql(sep: str = ", ") -> str:
    """The column list of ``CREATE TABLE meldingen (…)``: every projection column quoted with its type,
    ``melding_id`` the primary key, joined by ``sep``."""
    return sep.join(
        f'"{name}" {SQL_TYPES[kind]}' + (" PRIMARY KEY" if name == "melding_id" else "")
        for name, kind in COLUMNS.items()
    )


def add_projection_columns(conn: Any) -> list[str]:
    """Add the projection columns (``shared.projection.COLUMNS``) the ``meldingen`` table lacks; the
    laptop's and the server's migrations share this. Returns the names added."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(meldingen)")}
    added = [name for name in COLUMNS if name not in have]
    for name in added:
        conn.execute(f'ALTER TABLE meldingen ADD COLUMN "{name}" {SQL_TYPES[COLUMNS[name]]}')
    return added


def werkvoorraad_backfill(conn: Any) -> int:
    """Fill the werkvoorraad columns of issue 14 (``behandelaar``, ``aan_team``, ``melder_count``,
    ``terugbellen``, ``terugbellen_sinds``) for meldingen stored before they existed.

    Before issue 14 no melding had an assignment or a second melder, so those are set by SQL; who
    still waits for a call-back depends on the status history, so the meldingen that can owe one
    (a melder with contact, a status in ``shared.status.CALLBACK_DUE``) are folded. Returns how many
    were folded. Runs in the caller's transaction, on either store's database (laptop migration 8,
    server schema 5).
    """
    conn.execute("UPDATE meldingen SET aan_team = coalesce(aan_team, 0), melder_count = coalesce(melder_count, 1)")
    conn.execute("UPDATE meldingen SET terugbellen = 0 WHERE terugbellen IS NULL")
    due = sorted(s.value for s in CALLBACK_DUE)
    ids = [
        r[0]
        for r in conn.execute(
            f"SELECT melding_id FROM meldingen WHERE has_contact = 1 AND status IN ({', '.join('?' * len(due))})", due
        )
    ]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        groups: dict[str, list[Event]] = {}
        cur = conn.execute(
            f"SELECT {EVENT_SELECT} FROM events WHERE melding_id IN (SELECT value FROM json_each(?))",
            (json_encode(chunk).decode(),),
        )
        for r in cur:
            e = event_from_row(r)
            groups.setdefault(e.melding_id, []).append(e)
        updates = []
        for mid, evs in groups.items():
            m = fold(evs, history=False)
            if m is not None:
                count, since = m.terugbellen()
                updates.append((count, iso(since), mid))
        conn.executemany("UPDATE meldingen SET terugbellen = ?, terugbellen_sinds = ? WHERE melding_id = ?", updates)
    return len(ids)
