"""The laptop database's tables and their migrations (docs/design.md, "Storage").

:data:`MIGRATIONS` lists the steps (run by the shared runner ``wijkteam_store.migrations``); step 1 makes
a new file with today's projection columns (``shared.projection.COLUMNS``), the later steps bring an
older file to :data:`SCHEMA_VERSION`. Also the projection's row keys (:func:`sort_key`) and what its
full-text rows hold (:func:`fts_values`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from shared.fold import fold
from shared.projection import COLUMNS, needs_timeline, parse_iso, projection_row
from wijkteam_store.codec import EVENT_COLUMNS, EVENT_SELECT, event_from_row
from wijkteam_store.migrations import Migration, Migrations
from wijkteam_store.schema import add_projection_columns, projection_columns_sql, werkvoorraad_backfill

#: Files older than this were written without ``secure_delete``: vacuumed once after migrating.
SECURE_DELETE_SINCE = 11  # the step :func:`_vacuum_first` prepares


def _migration_1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE events (
            event_id TEXT PRIMARY KEY, melding_id TEXT NOT NULL, device_id TEXT NOT NULL,
            device_seq INTEGER NOT NULL, hlc INTEGER NOT NULL, type TEXT NOT NULL, prev TEXT,
            schema INTEGER NOT NULL, user TEXT NOT NULL DEFAULT '', payload TEXT NOT NULL,
            acked INTEGER NOT NULL DEFAULT 0)"""
    )
    conn.execute("CREATE INDEX events_melding ON events(melding_id)")
    # Partial index: unacked events are few and read in device_seq order on every sync.
    conn.execute("CREATE INDEX events_unacked ON events(device_seq) WHERE acked = 0")
    conn.execute(f"CREATE TABLE meldingen ({projection_columns_sql()})")
    for col in (
        "registered_at",
        "reference",
        "status",
        "categorie",
        "wijk",
        "deadline",
        "postcode",
    ):
        conn.execute(f"CREATE INDEX meldingen_{col} ON meldingen({col})")
    conn.execute(
        "CREATE VIRTUAL TABLE meldingen_fts USING fts5("
        "reference, omschrijving, adres, melder, tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')"
    )
    conn.execute(
        """CREATE TABLE device (
            id INTEGER PRIMARY KEY CHECK (id = 1), device_id TEXT, seq INTEGER NOT NULL DEFAULT 0,
            hlc_last INTEGER NOT NULL DEFAULT 0, melding_counter INTEGER NOT NULL DEFAULT 0,
            pull_cursor INTEGER NOT NULL DEFAULT 0)"""
    )
    conn.execute("INSERT INTO device (id) VALUES (1)")


def sort_key(registered_at_iso: str) -> int:
    """The projection row's rowid: microseconds since the Unix epoch of ``registered_at`` (UTC).

    Rowid order is then newest-first order, which both the table and FTS5 can walk backwards and
    stop after one page, instead of sorting every match (the difference between 2 ms and 2 s for a
    common word in 100,000 meldingen). Ties (same microsecond) are bumped by one on insert.
    """
    dt = parse_iso(registered_at_iso)
    assert dt is not None
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def free_key(conn: sqlite3.Connection, key: int, taken: set[int] | None = None) -> int:
    """``key`` or the first free rowid of ``meldingen`` above it (not in ``taken`` either): two meldingen
    registered in the same microsecond get neighbouring keys (see :func:`sort_key`)."""
    while (taken is not None and key in taken) or conn.execute(
        "SELECT 1 FROM meldingen WHERE rowid = ?", (key,)
    ).fetchone():
        key += 1
    return key


def _migration_2(conn: sqlite3.Connection) -> None:
    """Re-key projection rows by registration time (``sort_key``) and rebuild the FTS index."""
    rows = conn.execute(
        "SELECT rowid, registered_at FROM meldingen ORDER BY registered_at"
    ).fetchall()
    taken: set[int] = set()
    moves = []
    for rowid, registered_at in rows:
        key = sort_key(registered_at)
        while key in taken:
            key += 1
        taken.add(key)
        moves.append((key, rowid))
    # Old rowids are small counters and new ones ~1.7e15, so moving one never hits another.
    conn.executemany("UPDATE meldingen SET rowid = ? WHERE rowid = ?", moves)
    conn.execute("DELETE FROM meldingen_fts")
    # The columns this (old) file has: later migrations add the rest.
    have = {r[1] for r in conn.execute("PRAGMA table_info(meldingen)")}
    cols = [c for c in COLUMNS if c in have]
    cur = conn.execute(f"SELECT rowid, {', '.join(cols)} FROM meldingen")
    conn.executemany(
        "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)",
        ((r[0], *fts_values(dict(zip(cols, r[1:], strict=True)))) for r in cur),
    )


def _migration_3(conn: sqlite3.Connection) -> None:
    """Covering indexes for the list filters (with ``deleted``, so a page of rowids is found
    without reading rows), and a partial index for "te laat": open meldingen by deadline."""
    for col in ("status", "categorie", "wijk"):
        conn.execute(f"DROP INDEX IF EXISTS meldingen_{col}")
        conn.execute(f"CREATE INDEX meldingen_{col} ON meldingen({col}, deleted)")
    conn.execute(
        "CREATE INDEX meldingen_open_deadline ON meldingen(deadline, deleted) WHERE is_open = 1"
    )


#: version → function bringing the file from version-1 to version (run inside one transaction).
def _migration_4(conn: sqlite3.Connection) -> None:
    """A partial index for the intake's nearby-duplicate check (``location.nearby_query``): open,
    not-deleted meldingen by categorie and latitude, so the box pre-filter is a range scan
    (20,000 meldingen: p50 2.6 ms → 25 µs, bench/bench_intake_location.py)."""
    conn.execute(
        "CREATE INDEX IF NOT EXISTS meldingen_nearby ON meldingen(categorie, lat) "
        "WHERE is_open = 1 AND deleted = 0"
    )


def _migration_5(conn: sqlite3.Connection) -> None:
    """The projection loses its ``state`` column (the whole melding as JSON, ~1.7 KB a row and most
    of what a sync pull wrote: docs/benchmarks.md, "Sync"); detail views fold the melding's events
    instead. The barometer's status timeline gets a column of its own, filled here for the (few)
    meldingen that changed status after their first closure."""
    # Migration 1 builds the table from today's COLUMNS, so a new file already has the new layout.
    cols = {r[1] for r in conn.execute("PRAGMA table_info(meldingen)")}
    if "status_timeline" not in cols:
        conn.execute("ALTER TABLE meldingen ADD COLUMN status_timeline TEXT")
    if "state" in cols:
        conn.execute("ALTER TABLE meldingen DROP COLUMN state")
    ids = [
        mid
        for mid, first, closed, reopens in conn.execute(
            "SELECT melding_id, first_closed_at, closed_at, reopen_count FROM meldingen WHERE first_closed_at IS NOT NULL"
        ).fetchall()
        if needs_timeline(first, closed, reopens)
    ]
    for mid in ids:
        cur = conn.execute(f"SELECT {EVENT_SELECT} FROM events WHERE melding_id = ?", (mid,))
        m = fold([event_from_row(r) for r in cur], history=False)
        if m is not None:
            conn.execute(
                "UPDATE meldingen SET status_timeline = ? WHERE melding_id = ?",
                (projection_row(m)["status_timeline"], mid),
            )


def _migration_6(conn: sqlite3.Connection) -> None:
    """The identity of the server log this laptop syncs with (``LocalStore.note_server_log``)."""
    if "server_log_id" not in {r[1] for r in conn.execute("PRAGMA table_info(device)")}:
        conn.execute("ALTER TABLE device ADD COLUMN server_log_id INTEGER NOT NULL DEFAULT 0")


def _migration_7(conn: sqlite3.Connection) -> None:
    """Refused events (issue 11 §1): the server's quarantine is never silent on the laptop.

    ``refused``: this laptop's events the server refused, moved out of ``events`` (so they are not
    folded, not pending and not pushed again) with the server's reason and machine code, and the
    admin's verdict once known (``waiting`` → ``released`` | ``rejected``); ``seen`` once the user
    dismissed a rejected one. ``device.sent_seq``: the highest ``device_seq`` ever put in a push
    request; an unacknowledged event above it was never sent, so its stamp may still change.
    """
    conn.execute(
        """CREATE TABLE IF NOT EXISTS refused (
            event_id TEXT PRIMARY KEY, melding_id TEXT NOT NULL, device_id TEXT NOT NULL,
            device_seq INTEGER NOT NULL, hlc INTEGER NOT NULL, type TEXT NOT NULL, prev TEXT,
            schema INTEGER NOT NULL, user TEXT NOT NULL DEFAULT '', payload TEXT NOT NULL,
            code TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', refused_at TEXT NOT NULL,
            verdict TEXT NOT NULL DEFAULT 'waiting', verdict_note TEXT NOT NULL DEFAULT '',
            decided_at TEXT, seen INTEGER NOT NULL DEFAULT 0)"""
    )
    if "sent_seq" not in {r[1] for r in conn.execute("PRAGMA table_info(device)")}:
        conn.execute("ALTER TABLE device ADD COLUMN sent_seq INTEGER NOT NULL DEFAULT 0")






def _migration_8(conn: sqlite3.Connection) -> None:
    """The werkvoorraad (issue 14): projection columns for the behandelaar, the team, the number of
    melders and who still waits for a call-back, with indexes for "Mijn werkvoorraad" (open
    meldingen of one behandelaar by deadline) and "Nog terugbellen"."""
    add_projection_columns(conn)
    werkvoorraad_backfill(conn)
    _werkvoorraad_indexes(conn)


def _werkvoorraad_indexes(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE INDEX IF NOT EXISTS meldingen_werkvoorraad ON meldingen(behandelaar, deadline) "
        "WHERE is_open = 1 AND deleted = 0"
    )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS meldingen_terugbellen ON meldingen(behandelaar, terugbellen_sinds) "
        "WHERE terugbellen > 0 AND deleted = 0"
    )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS meldingen_wijk_open ON meldingen(wijk, deadline) WHERE is_open = 1 AND deleted = 0"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS meldingen_duplicaat_van ON meldingen(duplicaat_van) WHERE duplicaat_van IS NOT NULL")


def _migration_9(conn: sqlite3.Connection) -> None:
    """The municipality configuration received from the server (``LocalStore.gemeente_config``), kept
    in the database so it survives a restart and a server-built snapshot carries it."""
    conn.execute(
        """CREATE TABLE IF NOT EXISTS gemeente_config (
            id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, etag TEXT NOT NULL,
            body BLOB NOT NULL, received_at TEXT NOT NULL)"""
    )


def _migration_10(conn: sqlite3.Connection) -> None:
    """The projection's ``bron`` column: NULL registered by a person, ``"demo"`` or ``"import"``
    (``shared.events.Bron``); rows from before it are NULL too (every melding then was registered by
    a person), so nothing is rewritten."""
    add_projection_columns(conn)


def _migration_11(conn: sqlite3.Connection) -> None:
    """The AVG (issue 16): from now on every connection runs with ``secure_delete`` and events of
    erased meldingen are rewritten (``shared.avg``). Nothing to change in the layout; the file is
    vacuumed once after migrating (``LocalStore._migrate``), so that values deleted before, which
    may still sit in free space, are gone."""


def _migration_12(conn: sqlite3.Connection) -> None:
    """The list search finds a resident by phone number or e-mail address exactly (issue 14, the
    rule shared with the KCC: ``shared.search.exact_key``): an index on each."""
    conn.execute("CREATE INDEX IF NOT EXISTS meldingen_telefoon ON meldingen(melder_telefoon)")
    conn.execute("CREATE INDEX IF NOT EXISTS meldingen_email ON meldingen(melder_email COLLATE NOCASE)")


def _vacuum_first(conn: sqlite3.Connection, start: int) -> bool:
    """Before the step of :data:`SECURE_DELETE_SINCE`: a file written before ``secure_delete`` may hold
    deleted values in its free space (issue 16), and migration 5 freed the old ``state`` column's pages
    (736 → 317 MB for 100,000 meldingen, VACUUM 1.5 s): rewrite it once (a new file, ``start`` 0, needs
    nothing). When another program holds the file the VACUUM fails; the file then stays at the version
    before and the next open tries again (that version's layout is the same)."""
    if start == 0:
        return True
    try:
        conn.execute("VACUUM")
    except sqlite3.Error:
        return False
    return True


def record_version(conn: sqlite3.Connection, version: int) -> None:
    """Note in the file that it reached ``version`` (in the step's transaction)."""
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))


#: The laptop schema's steps: step n brings a file from version n - 1 to n.
MIGRATIONS = Migrations(
    [
        Migration(1, _migration_1),
        Migration(2, _migration_2),
        Migration(3, _migration_3),
        Migration(4, _migration_4),
        Migration(5, _migration_5),
        Migration(6, _migration_6),
        Migration(7, _migration_7),
        Migration(8, _migration_8),
        Migration(9, _migration_9),
        Migration(10, _migration_10),
        Migration(11, _migration_11, prepare=_vacuum_first),
        Migration(12, _migration_12),
    ],
    newer="Deze database heeft schemaversie {found}; deze versie van Wijkteam kent tot {known}. Werk Wijkteam bij.",
)


#: The projection columns of the full-text row's ``adres`` and ``melder`` texts (:func:`fts_values`).
_FTS_ADRES = (
    "straat", "huisnummer", "huisletter", "huisnummertoevoeging", "postcode", "woonplaats", "locatie_omschrijving",
    "wijk",
)
_FTS_MELDER = ("melder_naam", "melder_email")
#: Every projection column :func:`fts_values` reads: a row whose other columns change keeps its
#: full-text row (``LocalStore._write_projections``).
FTS_SOURCES = ("reference", "omschrijving", *_FTS_ADRES, *_FTS_MELDER, "melder_telefoon")


def fts_values(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """The full-text row of a projection row: ``(reference, omschrijving, adres, melder)`` texts, the
    reference without its municipality prefix and the phone number in both its forms."""
    adres = " ".join(str(row[k]) for k in _FTS_ADRES if row.get(k))
    melder = " ".join(str(row[k]) for k in _FTS_MELDER if row.get(k))
    if row.get("melder_telefoon"):
        # Both the E.164 and the national form, so "0612" and "+31612" both find the caller.
        tel = row["melder_telefoon"]
        melder += f" {tel.lstrip('+')} {'0' + tel[3:] if tel.startswith('+31') else ''}"
    # The reference without its municipality prefix: "DLF" is on every row and would make the
    # prefix queries "D", "DL", "DLF" match everything; reference-shaped text is searched on the
    # reference index instead (see LocalStore._where).
    ref = row["reference"].split("-", 1)[-1]
    return (ref, row["omschrijving"] or "", adres, melder)


#: :data:`FTS_SOURCES` by position in ``COLUMNS``.
FTS_SOURCE_INDEXES = frozenset(list(COLUMNS).index(c) for c in FTS_SOURCES)
REGISTERED_AT = list(COLUMNS).index("registered_at")
POSITIONS = range(len(COLUMNS))

#: Current schema version; :data:`MIGRATIONS` brings an older file up to it.
SCHEMA_VERSION = MIGRATIONS.latest

#: One event row with its ``acked`` flag (``(*codec.event_row(e), acked)``) into ``events``.
INSERT_EVENT = f"INSERT INTO events ({EVENT_SELECT}, acked) VALUES ({', '.join('?' * (len(EVENT_COLUMNS) + 1))})"
