"""Helpers to compare replicas: the laptop stores and the server's database hold the same events and
the same projection, and every projection row equals ``projection_row(fold(events))``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from shared.fold import fold
from shared.projection import COLUMNS, projection_row
from wijkteam_store.codec import EVENT_SELECT, event_from_row

_COLS = ", ".join(f'"{c}"' for c in COLUMNS)
_EV = EVENT_SELECT


def _open(db: Path | str) -> Any:
    """A read connection to a laptop or server database: a SQLite file, or a server's PostgreSQL URL."""
    if isinstance(db, str) and db.startswith("postgresql://"):
        import psycopg

        return psycopg.connect(db, autocommit=True)
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def _name(db: Path | str) -> str:
    return db.name if isinstance(db, Path) else "postgresql"


def snapshot(db: Path | str) -> tuple[dict[str, tuple[Any, ...]], dict[str, dict[str, Any]]]:
    """``(events by event_id, projection rows by melding_id)`` of a laptop or server database."""
    conn = _open(db)
    try:
        events = {r[0]: tuple(r) for r in conn.execute(f"SELECT {_EV} FROM events")}
        # payload compared as data, not as text (key order may differ between encoders)
        events = {k: (*v[:6], json.loads(v[6]), *v[7:]) for k, v in events.items()}
        rows = {
            r[0]: dict(zip(COLUMNS, r, strict=True)) for r in conn.execute(f"SELECT {_COLS} FROM meldingen")
        }
    finally:
        conn.close()
    return events, rows


def laptop_dump(db: Path) -> tuple[list, list, list]:
    """Everything a pull decides in a laptop database, sorted: its events (with ``acked``), its
    projection rows with their rowids, its full-text rows."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return (
            sorted(conn.execute("SELECT * FROM events")),
            sorted(conn.execute("SELECT rowid, * FROM meldingen")),
            sorted(conn.execute("SELECT rowid, * FROM meldingen_fts")),
        )
    finally:
        conn.close()


def event_count(db: Path | str) -> int:
    conn = _open(db)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def assert_replicas_equal(*dbs: Path | str) -> dict[str, dict[str, Any]]:
    """Every db holds the same events and projection, and the projection is the fold of the events.

    Returns the projection rows (by melding_id).
    """
    first_events, first_rows = snapshot(dbs[0])
    for db in dbs[1:]:
        events, rows = snapshot(db)
        assert set(events) == set(first_events), f"event sets differ: {_name(dbs[0])} vs {_name(db)}"
        assert events == first_events, f"event contents differ: {_name(dbs[0])} vs {_name(db)}"
        assert set(rows) == set(first_rows), f"meldingen differ: {_name(dbs[0])} vs {_name(db)}"
        for mid, row in rows.items():
            assert row == first_rows[mid], f"projection of {mid} differs: {_name(dbs[0])} vs {_name(db)}"
    groups: dict[str, list[Any]] = {}
    for row in first_events.values():
        groups.setdefault(row[1], []).append(event_from_row((*row[:6], json.dumps(row[6]), *row[7:])))
    assert set(groups) == set(first_rows)
    for mid, evs in groups.items():
        m = fold(evs)
        assert m is not None
        assert projection_row(m) == first_rows[mid]
    return first_rows
