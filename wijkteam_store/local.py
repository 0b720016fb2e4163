"""The laptop's local store: event log, projection and full-text index in one SQLite file.

Layout (docs/design.md, "Storage" and "Records are event logs"):

* ``events``: every event this laptop made or pulled; ``acked`` = 1 once the server has it.
* ``meldingen``: the projection, exactly the columns of :data:`shared.projection.COLUMNS`, rewritten
  with :func:`shared.projection.projection_row` of the refolded state in the same transaction as
  the events that changed it.
* ``meldingen_fts``: FTS5 over reference, omschrijving, address and melder name (rowid = the
  projection row's rowid), kept in sync by the same code path.
* ``device``: one row with this laptop's device code, event counter, HLC, melding counter and the
  pull cursor of sync.
* ``gemeente_config``: at most one row, the municipality configuration received from the server
  (``shared.gemeente``; canonical JSON and the server's ETag). None: the package default applies.

Every write is one ``BEGIN IMMEDIATE`` transaction with ``synchronous=FULL`` (a user's work and a
server acknowledgement depend on the commit). The connection belongs to the thread that opened
it: a sync worker thread opens its own :class:`LocalStore` on the same path.
"""

from __future__ import annotations

import gc
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import compress
from operator import itemgetter, ne
from pathlib import Path
from typing import Any, Self

import msgspec

from shared.avg import ERASING_EVENTS, erasure_of, personal_values, scrub_event
from shared.commands import DeviceClock, register
from shared.deadlines import utcnow
from shared.enums import EventType
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.gemeente import ConfigError, GemeenteConfig, decode_config, encode_config
from shared.geo import bbox_around
from shared.hlc import HLC, wall_ms
from shared.model import Melding
from shared.nearby import NEARBY_RADIUS_M, POSSIBLE_DUPLICATE_WINDOW, NearbyHit, possible_duplicates
from shared.projection import COLUMNS, iso, needs_timeline, parse_iso, projection_row
from shared.protocol import VerdictState
from shared.reference import counter_of, highest_counter, normalise_reference
from shared.search import KccQuery, QueryKind, exact_key, phone_digits
from shared.status import CALLBACK_DUE
from shared.trust import clock_behind_ms, registration_time, restamp

#: Current schema version; :data:`MIGRATIONS` brings an older file up to it.
SCHEMA_VERSION = 12
#: Files older than this were written without ``secure_delete``: vacuumed once after migrating.
SECURE_DELETE_SINCE = 11

#: Columns a list or search returns: the whole projection row.
LIST_COLUMNS: tuple[str, ...] = tuple(COLUMNS)

_EVENT_COLUMNS = (
    "event_id",
    "melding_id",
    "device_id",
    "device_seq",
    "hlc",
    "type",
    "prev",
    "schema",
    "user",
    "payload",
)
_SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL"}

# Binding ``None`` costs Python's sqlite3 a failed adapter look-up and two failed attribute look-ups
# per value (``__adapt__``, ``__conform__``); a projection row holds about twenty. With an adapter
# registered for ``NoneType`` the look-up hits at once and the value is bound as NULL as before:
# about half the time of a pulled page's projection insert (docs/benchmarks.md, "Incremental pull").
# It applies to the whole process, which changes nothing else (the adapter returns its argument).
sqlite3.register_adapter(type(None), lambda value: value)
_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


#: Held while a connection is opened and put in WAL mode, and by ``wijkteam_store.snapshot.install``
#: while it replaces the database file: a connection opened in this process during the swap would
#: otherwise put the old file back in WAL mode and leave its ``-wal``/``-shm`` next to the new file.
OPENING = threading.Lock()


class StoreError(Exception):
    """The database cannot be written or read (locked by another program, read-only, full, damaged).

    ``message`` is Dutch and fit to show the user; nothing of the failed write was stored.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoDeviceCode(StoreError):
    """This laptop has no device code yet, so it cannot number new meldingen (see the settings)."""


def _store_error(exc: sqlite3.Error) -> StoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(
            "De database is bezet door een ander programma. Probeer het over een paar seconden opnieuw; uw invoer blijft staan."
        )
    if "readonly" in text or "read-only" in text or "permission" in text:
        return StoreError(
            "De database kan niet worden beschreven (alleen-lezen). Er is niets opgeslagen; uw invoer blijft staan."
        )
    if "full" in text or "disk" in text:
        return StoreError(
            "De schijf is vol of niet bereikbaar. Er is niets opgeslagen; uw invoer blijft staan."
        )
    return StoreError(f"Databasefout: {exc}. Er is niets opgeslagen.")


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
    cols = ", ".join(
        f"{name} {_SQL_TYPES[kind]}" + (" PRIMARY KEY" if name == "melding_id" else "")
        for name, kind in COLUMNS.items()
    )
    conn.execute(f"CREATE TABLE meldingen ({cols})")
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


def _free_key(conn: sqlite3.Connection, key: int, taken: set[int] | None = None) -> int:
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
        ((r[0], *_fts_values(dict(zip(cols, r[1:], strict=True)))) for r in cur),
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
        cur = conn.execute(f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events WHERE melding_id = ?", (mid,))
        m = fold([_row_to_event(r) for r in cur], history=False)
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


def add_projection_columns(conn: sqlite3.Connection) -> list[str]:
    """Add the projection columns (``shared.projection.COLUMNS``) the ``meldingen`` table lacks; the
    laptop's and the server's migrations share this. Returns the names added."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(meldingen)")}
    added = [name for name in COLUMNS if name not in have]
    for name in added:
        conn.execute(f"ALTER TABLE meldingen ADD COLUMN {name} {_SQL_TYPES[COLUMNS[name]]}")
    return added


def werkvoorraad_backfill(conn: sqlite3.Connection, event_columns: Sequence[str], row_to_event: Any) -> int:
    """Fill the werkvoorraad columns of issue 14 (``behandelaar``, ``aan_team``, ``melder_count``,
    ``terugbellen``, ``terugbellen_sinds``) for meldingen stored before they existed.

    Before issue 14 no melding had an assignment or a second melder, so those are set by SQL; who
    still waits for a call-back depends on the status history, so the meldingen that can owe one
    (a melder with contact, a status in ``shared.status.CALLBACK_DUE``) are folded. Returns how many
    were folded. Runs in the caller's transaction.
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
    cols = ", ".join(f'"{c}"' for c in event_columns)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        groups: dict[str, list[Event]] = {}
        cur = conn.execute(
            f"SELECT {cols} FROM events WHERE melding_id IN (SELECT value FROM json_each(?))",
            (_json_encode(chunk).decode(),),
        )
        for r in cur:
            e = row_to_event(r)
            groups.setdefault(e.melding_id, []).append(e)
        updates = []
        for mid, evs in groups.items():
            m = fold(evs, history=False)
            if m is not None:
                count, since = m.terugbellen()
                updates.append((count, iso(since), mid))
        conn.executemany("UPDATE meldingen SET terugbellen = ?, terugbellen_sinds = ? WHERE melding_id = ?", updates)
    return len(ids)


def _migration_8(conn: sqlite3.Connection) -> None:
    """The werkvoorraad (issue 14): projection columns for the behandelaar, the team, the number of
    melders and who still waits for a call-back, with indexes for "Mijn werkvoorraad" (open
    meldingen of one behandelaar by deadline) and "Nog terugbellen"."""
    add_projection_columns(conn)
    werkvoorraad_backfill(conn, _EVENT_COLUMNS, _row_to_event)
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


MIGRATIONS = {
    1: _migration_1, 2: _migration_2, 3: _migration_3, 4: _migration_4, 5: _migration_5, 6: _migration_6,
    7: _migration_7, 8: _migration_8, 9: _migration_9, 10: _migration_10, 11: _migration_11, 12: _migration_12,
}


#: The projection columns of the full-text row's ``adres`` and ``melder`` texts (:func:`_fts_values`).
_FTS_ADRES = (
    "straat", "huisnummer", "huisletter", "huisnummertoevoeging", "postcode", "woonplaats", "locatie_omschrijving",
    "wijk",
)
_FTS_MELDER = ("melder_naam", "melder_email")
#: Every projection column :func:`_fts_values` reads: a row whose other columns change keeps its
#: full-text row (``LocalStore._write_projections``).
_FTS_SOURCES = ("reference", "omschrijving", *_FTS_ADRES, *_FTS_MELDER, "melder_telefoon")


def _fts_values(row: dict[str, Any]) -> tuple[str, str, str, str]:
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


#: :data:`_FTS_SOURCES` by position in ``COLUMNS``.
_FTS_SOURCE_INDEXES = frozenset(list(COLUMNS).index(c) for c in _FTS_SOURCES)
_REGISTERED_AT = list(COLUMNS).index("registered_at")
_POSITIONS = range(len(COLUMNS))

_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


#: Text that starts like a reference ("DLF-", "dlf-k7-00"): searched as a reference prefix.
_REF_PREFIX = re.compile(
    r"^\s*([A-Za-z]{2,5})[-\s]+([0-9A-Za-z]{0,3})(?:[-\s]+([0-9A-Za-z]{0,6}))?\s*$"
)

#: Fewer characters than this are not searched as text (one letter matches nearly everything).
MIN_SEARCH_CHARS = 2

#: Counting stops here; the list then says "meer dan …" (counting 100,000 matches costs time).
COUNT_CAP = 1_000


def reference_prefix(text: str) -> str | None:
    """The canonical reference prefix typed so far (``"dlf-k7-00"`` → ``"DLF-K7-00"``), or None."""
    m = _REF_PREFIX.match(text or "")
    if not m:
        return None
    prefix, dev, ctr = (
        m.group(1).upper(),
        (m.group(2) or "").upper(),
        (m.group(3) or "").upper(),
    )
    lookalikes = str.maketrans({"O": "0", "I": "1", "L": "1"})
    dev, ctr = dev.translate(lookalikes), ctr.translate(lookalikes)
    return f"{prefix}-{dev}" + (f"-{ctr}" if m.group(3) is not None else "")


def _exact_clauses(key: KccQuery) -> tuple[list[str], list[Any]]:
    """SQL conditions on the projection for a phone number, e-mail address or postcode (+ number)."""
    if key.kind == QueryKind.PHONE:
        return ["m.melder_telefoon = ?"], [key.telefoon]
    if key.kind == QueryKind.EMAIL:
        return ["m.melder_email = ? COLLATE NOCASE"], [key.email]
    clauses, args = ["m.postcode = ?"], [key.postcode]
    for column, value in (("huisnummer", key.huisnummer), ("huisletter", key.huisletter),
                          ("huisnummertoevoeging", key.huisnummertoevoeging)):  # fmt: skip
        if value is not None:
            clauses.append(f"m.{column} = ?")
            args.append(value)
    return clauses, args


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for search-as-you-type: every word as a prefix, all required.

    ``"Kerkstr 12"`` → ``'"Kerkstr"* AND "12"*'``; ``"K7 0001"`` → both parts. Returns None when
    the text has no word characters or fewer than ``MIN_SEARCH_CHARS`` (nothing is filtered on text).
    """
    if len((text or "").strip()) < MIN_SEARCH_CHARS:
        return None
    digits = phone_digits(text)
    if digits:
        # A phone number being typed with spaces or dashes: its digits as one prefix (the index holds
        # both 0612345678 and 31612345678).
        return f'"{digits}"*'
    words = _FTS_TOKEN.findall(text or "")
    if not words:
        return None
    return " AND ".join(f'"{w}"*' for w in words)


def _row_to_event(row: tuple) -> Event:
    (
        event_id,
        melding_id,
        device_id,
        device_seq,
        hlc,
        type_,
        prev,
        schema,
        user,
        payload,
    ) = row
    return Event(
        event_id=event_id,
        melding_id=melding_id,
        device_id=device_id,
        device_seq=device_seq,
        hlc=hlc,
        type=type_,
        payload=_json_decode(payload),
        user=user,
        prev=prev,
        schema=schema,
    )


def _event_values(e: Event, acked: int) -> tuple:
    return (
        e.event_id,
        e.melding_id,
        e.device_id,
        e.device_seq,
        e.hlc,
        e.type,
        e.prev,
        e.schema,
        e.user,
        _json_encode(e.payload).decode(),
        acked,
    )


def local_work(conn: sqlite3.Connection) -> int:
    """How many events of the laptop database on ``conn`` the server has not taken: unsent events,
    and refused ones (waiting for the admin's verdict, or rejected and kept for the user to see). Only
    this laptop holds them, and a snapshot would throw them away (docs/sync.md, "Snapshot")."""
    return conn.execute(
        "SELECT (SELECT count(*) FROM events WHERE acked = 0) + (SELECT count(*) FROM refused)"
    ).fetchone()[0]


class LocalStore:
    """The local SQLite store of one laptop.

    Args:
        path: the database file (created with its schema when missing).
        busy_timeout_ms: how long a write waits for another connection's lock before
            :class:`StoreError` (milliseconds).

    Raises:
        StoreError: the file cannot be opened or migrated.
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_ms = busy_timeout_ms
        self._open()

    def _open(self) -> None:
        try:
            with OPENING:
                # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE) by this class.
                self.conn = sqlite3.connect(
                    self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000
                )
                self.conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            # 16 MB of page cache instead of SQLite's 2 MB: a pulled page of 5,000 events touches the
            # events, projection and index pages of thousands of meldingen; with the small cache
            # many are read twice (docs/benchmarks.md, "Incremental pull"). Used only as filled.
            self.conn.execute("PRAGMA cache_size = -16000")
            # Deleted and rewritten content is overwritten with zeros, in pages and free pages: an
            # erased value (issue 16) must not stay in the file's free space (docs/privacy.md).
            self.conn.execute("PRAGMA secure_delete = ON")
            self._depth = 0
            self._cleanup_due = False
            self._db: Any = None
            self._migrate()
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    def reopen(self) -> None:
        """Close the connection and open the file at ``path`` again (after a snapshot replaced it:
        ``wijkteam_store.snapshot.install``).

        Raises:
            StoreError: the file cannot be opened or migrated.
        """
        self.close()
        self._open()

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def db(self) -> Any:
        """A ``sqlite_utils.Database`` on this store's connection, for ad-hoc queries and tools.

        Imported on first use: sqlite-utils pulls in click and friends, which the app's start
        does not need. Do not write through it: writes go through :meth:`transaction`.
        """
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def close(self) -> None:
        """Close the connection (idempotent)."""
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` write transaction; nested uses join the outer one.

        Raises:
            StoreError: the database is locked, read-only or failing; everything is rolled back.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc
        self._depth = 1
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._cleanup_due = False
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise _store_error(exc) from exc
            raise
        finally:
            self._depth = 0
        if self._cleanup_due:
            self._cleanup_due = False
            self.secure_cleanup()

    def _migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        current = row[0] or 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"Deze database heeft schemaversie {current}; deze versie van Wijkteam kent tot {SCHEMA_VERSION}. Werk Wijkteam bij."
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            if version == SECURE_DELETE_SINCE and current > 0:
                # A file written before ``secure_delete`` may hold deleted values in its free space
                # (issue 16), and migration 5 freed the old ``state`` column's pages (736 → 317 MB for
                # 100,000 meldingen, VACUUM 1.5 s): rewrite it once. When another program holds the
                # file the VACUUM fails; the file then stays at the version before and the next
                # open tries again (that version's layout is the same).
                try:
                    self.conn.execute("VACUUM")
                except sqlite3.Error:
                    break
            with self.transaction():
                MIGRATIONS[version](self.conn)
                self.conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?)", (version,)
                )

    def schema_version(self) -> int:
        """The schema version of the open file."""
        return self.conn.execute("SELECT max(version) FROM schema_version").fetchone()[
            0
        ]

    # -- municipality configuration -------------------------------------------------------------

    def gemeente_config(self) -> GemeenteConfig | None:
        """The municipality configuration received from the server, validated; None when none was
        received (the package default applies) or the stored one no longer validates."""
        row = self.conn.execute("SELECT body FROM gemeente_config WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            return decode_config(bytes(row[0]))
        except ConfigError:
            return None

    def gemeente_config_etag(self) -> str | None:
        """The server's ETag of the kept configuration (sent as ``If-None-Match``), or None."""
        row = self.conn.execute("SELECT etag FROM gemeente_config WHERE id = 1").fetchone()
        return row[0] if row else None

    def set_gemeente_config(self, body: bytes, etag: str) -> GemeenteConfig:
        """Keep the configuration document ``body`` (JSON from ``GET /api/v1/config``) with its ETag.

        Raises:
            ConfigError: ``body`` is not a valid configuration (nothing is stored).
            StoreError: the database cannot be written.
        """
        config = decode_config(body)
        with self.transaction():
            self.conn.execute(
                "INSERT INTO gemeente_config (id, version, etag, body, received_at) VALUES (1, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET version = excluded.version, etag = excluded.etag, "
                "body = excluded.body, received_at = excluded.received_at",
                (config.version, etag, encode_config(config), iso(utcnow())),
            )
        return config

    # -- device -----------------------------------------------------------------------------------

    def _device(self) -> dict[str, Any]:
        cur = self.conn.execute(
            "SELECT device_id, seq, hlc_last, melding_counter, pull_cursor FROM device WHERE id = 1"
        )
        return dict(
            zip(
                ("device_id", "seq", "hlc_last", "melding_counter", "pull_cursor"),
                cur.fetchone(),
                strict=True,
            )
        )

    def device_code(self) -> str | None:
        """The device code this laptop numbers its meldingen with, or None before one is set."""
        return self._device()["device_id"]

    def set_device_code(self, code: str) -> None:
        """Store the device code issued by the server with the token (2–3 Crockford base32 characters).

        A later change keeps the counters: references stay unique because the code differs.

        Raises:
            StoreError: events made under the current code still wait for the server. They carry
                that code for good and the server takes them only with that code's token, so they
                must be synchronised first (docs/sync.md, "Apparaatcode wijzigen").
        """
        with self.transaction():
            current = self.conn.execute("SELECT device_id FROM device WHERE id = 1").fetchone()[0]
            if current and current != code:
                waiting = self.conn.execute(
                    "SELECT count(*) FROM events WHERE acked = 0 AND device_id = ?", (current,)
                ).fetchone()[0]
                if waiting:
                    raise StoreError(
                        f"Er {'wacht' if waiting == 1 else 'wachten'} nog {waiting} "
                        f"{'wijziging' if waiting == 1 else 'wijzigingen'} van apparaat {current} op de server. "
                        f"Synchroniseer eerst met het token van {current}; wijzig daarna de apparaatcode."
                    )
            self.conn.execute("UPDATE device SET device_id = ? WHERE id = 1", (code,))

    def device_clock(self, user: str, *, clock: Any = None) -> DeviceClock:
        """A :class:`DeviceClock` continuing this laptop's persisted event counter and HLC.

        Args:
            user: who works (shown in the history).
            clock: optional wall clock (ms since epoch) for the HLC; tests and the demo simulate time.

        Raises:
            NoDeviceCode: no device code is set yet.
        """
        d = self._device()
        if not d["device_id"]:
            raise NoDeviceCode(
                "Deze laptop heeft nog geen apparaatcode. Vul bij Instellingen de code in die u met uw token kreeg."
            )
        hlc = HLC(d["hlc_last"], clock) if clock else HLC(d["hlc_last"])
        return DeviceClock(d["device_id"], user, d["seq"], hlc)

    def next_melding_counter(self) -> int:
        """Take the next melding counter of this laptop (1, 2, …).

        Must be called inside :meth:`transaction` together with the :meth:`append` of the
        ``created`` event it numbers, so that counter and melding commit (or roll back) together.

        Raises:
            RuntimeError: called outside a transaction.
        """
        if not self._depth:
            raise RuntimeError(
                "next_melding_counter() must run inside store.transaction()"
            )
        self.conn.execute(
            "UPDATE device SET melding_counter = melding_counter + 1 WHERE id = 1"
        )
        return self.conn.execute(
            "SELECT melding_counter FROM device WHERE id = 1"
        ).fetchone()[0]

    # -- writes -----------------------------------------------------------------------------------

    def append(self, events: list[Event], dev: DeviceClock) -> None:
        """Store new local events, persist ``dev``'s counter and HLC, refold the touched meldingen.

        One transaction (joins an outer :meth:`transaction`).

        Raises:
            StoreError: locked / read-only database; nothing is stored.
        """
        with self.transaction():
            self.conn.executemany(
                f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}, acked) VALUES ({', '.join('?' * 11)})",
                [_event_values(e, 0) for e in events],
            )
            self.conn.execute(
                "UPDATE device SET seq = max(seq, ?), hlc_last = max(hlc_last, ?) WHERE id = 1",
                (dev.seq, dev.hlc.last),
            )
            self._erase_local({e.melding_id for e in events if e.type in ERASING_EVENTS})
            self._refold({e.melding_id for e in events})

    def register(
        self,
        dev: DeviceClock,
        *,
        prefix: str,
        fields: MeldingFields,
        registered_at: datetime | None = None,
    ) -> Melding:
        """Register a new melding: take the counter, make the ``created`` event, store both at once.

        Returns:
            The folded new melding (with its reference, servicenorm and deadline).

        Raises:
            ValidationError: from :func:`shared.commands.register`; nothing stored, counter unused.
            StoreError: the database cannot be written; nothing stored.
        """
        with self.transaction():
            counter = self.next_melding_counter()
            # A wall clock set back (say to 2001) cannot date a registration before what this
            # laptop's clock has already seen from the server (shared.trust.registration_time).
            at = registration_time(registered_at or utcnow(), dev.hlc.last)
            event = register(
                dev,
                prefix=prefix,
                counter=counter,
                fields=fields,
                registered_at=at,
            )
            self.append([event], dev)
        melding = self.get(event.melding_id)
        assert melding is not None
        return melding

    def _refold(self, melding_ids: Iterable[str]) -> None:
        for mid in melding_ids:
            self._write_projection(fold(self.events_of(mid), history=False), mid)

    def _write_projection(self, melding: Melding | None, melding_id: str) -> None:
        if melding is None:
            # Its created event has not arrived yet, or it was refused by the server: no row.
            row = self.conn.execute("SELECT rowid FROM meldingen WHERE melding_id = ?", (melding_id,)).fetchone()
            if row:
                self.conn.execute("DELETE FROM meldingen WHERE rowid = ?", (row[0],))
                self.conn.execute("DELETE FROM meldingen_fts WHERE rowid = ?", (row[0],))
            return
        row = projection_row(melding)
        names = list(COLUMNS)
        existing = self.conn.execute(
            "SELECT rowid FROM meldingen WHERE melding_id = ?", (melding_id,)
        ).fetchone()
        if existing:
            rowid = existing[0]
            updates = ", ".join(f"{n} = ?" for n in names if n != "melding_id")
            self.conn.execute(
                f"UPDATE meldingen SET {updates} WHERE rowid = ?",
                [*(row[n] for n in names if n != "melding_id"), rowid],
            )
        else:
            rowid = _free_key(self.conn, sort_key(row["registered_at"]))
            self.conn.execute(
                f"INSERT INTO meldingen (rowid, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})",
                [rowid, *(row[n] for n in names)],
            )
        self.conn.execute("DELETE FROM meldingen_fts WHERE rowid = ?", (rowid,))
        self.conn.execute(
            "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)",
            (rowid, *_fts_values(row)),
        )

    def bulk_load(
        self,
        groups: Iterable[list[Event]],
        *,
        acked: bool = True,
        device: DeviceClock | None = None,
        melding_counter: int | None = None,
    ) -> int:
        """Load the complete event logs of meldingen that are new to this store, in one transaction.

        Used by the demo generator and benchmarks: each group is every event of one new melding, so
        it is folded in memory instead of re-read. ``device`` / ``melding_counter`` (optional) are
        persisted as this laptop's counters.

        Returns:
            The number of meldingen loaded.

        Raises:
            StoreError: the database cannot be written; nothing stored.
        """
        names = list(COLUMNS)
        n = 0
        taken: set[int] = set()
        with self.transaction():
            ev_rows: list[tuple] = []
            m_rows: list[list[Any]] = []
            fts_rows: list[tuple] = []
            for events in groups:
                m = fold(events, history=False)
                if m is None:
                    continue
                n += 1
                ev_rows.extend(_event_values(e, int(acked)) for e in events)
                row = projection_row(m)
                key = _free_key(self.conn, sort_key(row["registered_at"]), taken)
                taken.add(key)
                m_rows.append([key, *(row[c] for c in names)])
                fts_rows.append((key, *_fts_values(row)))
                if len(ev_rows) > 20000:
                    self._flush_bulk(ev_rows, m_rows, fts_rows, names)
            self._flush_bulk(ev_rows, m_rows, fts_rows, names)
            if device is not None:
                self.conn.execute(
                    "UPDATE device SET device_id = ?, seq = max(seq, ?), hlc_last = max(hlc_last, ?) WHERE id = 1",
                    (device.device_id, device.seq, device.hlc.last),
                )
            if melding_counter is not None:
                self.conn.execute(
                    "UPDATE device SET melding_counter = max(melding_counter, ?) WHERE id = 1",
                    (melding_counter,),
                )
        # One big transaction leaves a WAL as large as the data; fold it back now, not on next open.
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def _flush_bulk(
        self, ev_rows: list, m_rows: list, fts_rows: list, names: list[str]
    ) -> None:
        self.conn.executemany(
            f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}, acked) VALUES ({', '.join('?' * 11)})",
            ev_rows,
        )
        self.conn.executemany(
            f"INSERT INTO meldingen (rowid, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})",
            m_rows,
        )
        self.conn.executemany(
            "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)",
            fts_rows,
        )
        ev_rows.clear()
        m_rows.clear()
        fts_rows.clear()

    # -- reads ------------------------------------------------------------------------------------

    def events_of(self, melding_id: str) -> list[Event]:
        """Every stored event of one melding (in storage order; ``fold`` orders them)."""
        cur = self.conn.execute(
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events WHERE melding_id = ? ORDER BY hlc, device_id, event_id",
            (melding_id,),
        )
        return [_row_to_event(r) for r in cur]

    def get(self, melding_id: str) -> Melding | None:
        """The current state of one melding, history included (the fold of its stored events), or
        None when unknown (no ``created`` event of it is stored)."""
        return fold(self.events_of(melding_id))

    def get_by_reference(self, ref: str) -> Melding | None:
        """The melding with a reference as a caller spells it (``"dlf k7 o142"``), or None.

        Raises:
            ValidationError: the text is not shaped like a reference (field ``referentie``).
        """
        canonical = normalise_reference(ref)
        row = self.conn.execute(
            "SELECT melding_id FROM meldingen WHERE reference = ?", (canonical,)
        ).fetchone()
        return self.get(row[0]) if row else None

    def _as_reference(self, text: str | None) -> str | None:
        """The reference prefix ``text`` spells, also for a bare municipality prefix (``"dlf"``)."""
        ref = reference_prefix(text or "")
        word = (text or "").strip().upper()
        if ref is None and word.isalpha() and 2 <= len(word) <= 5:
            hit = self.conn.execute(
                "SELECT 1 FROM meldingen WHERE reference >= ? AND reference < ? LIMIT 1",
                (word + "-", word + "-\uffff"),
            ).fetchone()
            ref = word + "-" if hit else None
        return ref

    def _query(
        self,
        text: str | None,
        status: str | None,
        categorie: str | None,
        wijk: str | None,
        overdue: bool | None,
        include_deleted: bool,
        now: datetime | None,
    ) -> tuple[str, list[Any], str]:
        """FROM … WHERE … for the filters, its arguments, and the newest-first ORDER BY column.

        With search text the FTS table drives the loop in descending rowid order (its native order),
        joined to the projection, so a page costs ~limit row look-ups whatever the number of matches.
        Reference-shaped text ("DLF-K7-00") walks the reference index instead, highest first.
        """
        ref = self._as_reference(text)  # may query the reference index: once per search
        key = None if ref else exact_key(text)
        if key is not None:
            # A phone number, e-mail address or postcode as a resident says it, normalised by the
            # KCC's rule (shared.search): an exact match on its column, newest first.
            clauses, kargs = _exact_clauses(key)
            where, args = self._where(None, status, categorie, wijk, overdue, include_deleted, now, clauses, kargs)
            return f" FROM meldingen m{where}", args, "m.rowid"
        where, args = self._where(ref, status, categorie, wijk, overdue, include_deleted, now)
        if ref:
            # Reference-shaped text: highest reference first (a laptop's counter only goes up, so
            # that is its newest first); the reference index gives the order and stops after a page.
            return f" FROM meldingen m{where}", args, "m.reference"
        query = fts_query(text or "")
        if query:
            where = " AND ".join(
                p for p in ("meldingen_fts MATCH ?", where.removeprefix(" WHERE ")) if p
            )
            return (
                f" FROM meldingen_fts JOIN meldingen m ON m.rowid = meldingen_fts.rowid WHERE {where}",
                [query, *args],
                "meldingen_fts.rowid",
            )
        return f" FROM meldingen m{where}", args, "m.rowid"

    def _where(
        self,
        ref: str | None,
        status: str | None,
        categorie: str | None,
        wijk: str | None,
        overdue: bool | None,
        include_deleted: bool,
        now: datetime | None,
        extra: Sequence[str] = (),
        extra_args: Sequence[Any] = (),
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = list(extra)
        args: list[Any] = list(extra_args)
        if ref:
            # A range on the reference index: "DLF-K7-00" finds every reference starting so.
            # The list is then in reference order (see _query), walked backwards on the index.
            clauses.append("m.reference >= ? AND m.reference < ?")
            args += [ref, ref + "\uffff"]
        if status:
            if status == "open":
                clauses.append("m.is_open = 1")
            elif status == "gesloten":
                clauses.append("m.is_open = 0")
            else:
                clauses.append("m.status = ?")
                args.append(status)
        if categorie:
            if "/" in categorie:
                clauses.append("m.categorie = ?")
                args.append(categorie)
            else:  # a main category: every sub-category under it, as a range the index can walk
                clauses.append("m.categorie >= ? AND m.categorie < ?")
                args += [categorie + "/", categorie + "0"]  # "0" sorts right after "/"
        if wijk:
            clauses.append("m.wijk = ?")
            args.append(wijk)
        if overdue is not None:
            stamp = iso(now or utcnow())
            if overdue:
                clauses.append(
                    "(m.is_open = 1 AND m.deadline IS NOT NULL AND m.deadline < ?)"
                )
            else:
                clauses.append(
                    "NOT (m.is_open = 1 AND m.deadline IS NOT NULL AND m.deadline < ?)"
                )
            args.append(stamp)
        if not include_deleted:
            clauses.append("m.deleted = 0")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def search(
        self,
        text: str | None = None,
        *,
        status: str | None = None,
        categorie: str | None = None,
        wijk: str | None = None,
        overdue: bool | None = None,
        offset: int = 0,
        limit: int = 50,
        include_deleted: bool = False,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """One page of meldingen, newest first, as projection rows without ``state``.

        Args:
            text: search-as-you-type text over reference, omschrijving, address and melder
                (every word a prefix, all must match).
            status: a :class:`shared.enums.Status` value, or ``"open"`` / ``"gesloten"``.
            categorie: ``"hoofd/sub"`` or a main category ``"hoofd"``.
            wijk: exact wijk name.
            overdue: True: open and past the deadline (at ``now``, default the clock); False: not so.
            offset, limit: the page (rows).
        """
        source, args, order = self._query(
            text, status, categorie, wijk, overdue, include_deleted, now
        )
        cols = ", ".join(f"m.{c}" for c in LIST_COLUMNS)
        if order == "m.rowid":
            # Two steps: the page's rowids from a covering index (sorting ints, not rows), then the rows.
            sql = (
                f"SELECT {cols} FROM meldingen m WHERE m.rowid IN "
                f"(SELECT m.rowid{source} ORDER BY m.rowid DESC LIMIT ? OFFSET ?) ORDER BY m.rowid DESC"
            )
        else:
            sql = f"SELECT {cols}{source} ORDER BY {order} DESC LIMIT ? OFFSET ?"
        cur = self.conn.execute(sql, [*args, limit, offset])
        return [dict(zip(LIST_COLUMNS, r, strict=True)) for r in cur]

    def count(
        self,
        text: str | None = None,
        *,
        status: str | None = None,
        categorie: str | None = None,
        wijk: str | None = None,
        overdue: bool | None = None,
        include_deleted: bool = False,
        now: datetime | None = None,
        cap: int | None = None,
    ) -> int:
        """How many meldingen :meth:`search` with the same filters would page through.

        Stops counting at ``cap`` (then returns ``cap``; the list shows "meer dan"); None counts all.
        """
        source, args, _ = self._query(
            text, status, categorie, wijk, overdue, include_deleted, now
        )
        if cap is None:
            return self.conn.execute(f"SELECT count(*){source}", args).fetchone()[0]
        sql = f"SELECT count(*) FROM (SELECT 1{source} LIMIT ?)"
        return self.conn.execute(sql, [*args, cap]).fetchone()[0]

    _DUP_COLUMNS = (
        "melding_id", "reference", "device_id", "categorie", "lat", "lon", "registered_at", "deleted",
        "duplicaat_van", "status", "straat", "huisnummer", "locatie_omschrijving", "omschrijving",
    )  # fmt: skip

    def possible_duplicates(self, melding_id: str) -> list[NearbyHit]:
        """Meldingen that may be the same problem as ``melding_id``, registered on another laptop
        before the two synced (``shared.nearby.possible_duplicates``: same categorie, ≤ 50 m, within
        a day), closest first; [] when unknown. One box query on the nearby index's columns."""
        cols = ", ".join(self._DUP_COLUMNS)
        found = self.conn.execute(f"SELECT {cols} FROM meldingen WHERE melding_id = ?", (melding_id,)).fetchone()
        if found is None:
            return []
        row = dict(zip(self._DUP_COLUMNS, found, strict=True))
        if row["lat"] is None or not row["categorie"]:
            return []
        min_lat, max_lat, min_lon, max_lon = bbox_around(row["lat"], row["lon"], NEARBY_RADIUS_M)
        at = parse_iso(row["registered_at"])
        assert at is not None
        cur = self.conn.execute(
            f"SELECT {cols} FROM meldingen WHERE categorie = ? AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? "
            "AND registered_at BETWEEN ? AND ? AND deleted = 0",
            (row["categorie"], min_lat, max_lat, min_lon, max_lon,
             iso(at - POSSIBLE_DUPLICATE_WINDOW), iso(at + POSSIBLE_DUPLICATE_WINDOW)),
        )  # fmt: skip
        return possible_duplicates(row, (dict(zip(self._DUP_COLUMNS, r, strict=True)) for r in cur))

    def events_mark(self) -> int:
        """Where the event log ends now (a rowid): :meth:`pulled_since` tells what came after."""
        return self.conn.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]

    def pulled_since(self, mark: int) -> dict[str, list[tuple[str, str]]]:
        """Events of other devices stored after ``mark`` (a pull), as melding_id → ``(event_id, type)``."""
        own = self.device_code() or ""
        out: dict[str, list[tuple[str, str]]] = {}
        for mid, eid, kind in self.conn.execute(
            "SELECT melding_id, event_id, type FROM events WHERE rowid > ? AND device_id != ?", (mark, own)
        ):
            out.setdefault(mid, []).append((eid, kind))
        return out

    def assigned_to(self, behandelaar: str, melding_ids: Iterable[str]) -> list[str]:
        """References of those of ``melding_ids`` that are open, not deleted and handled by
        ``behandelaar`` (a server user name), soonest deadline first."""
        ids = list(melding_ids)
        if not ids:
            return []
        cur = self.conn.execute(
            "SELECT reference FROM meldingen WHERE behandelaar = ? AND is_open = 1 AND deleted = 0 "
            "AND melding_id IN (SELECT value FROM json_each(?)) ORDER BY deadline IS NULL, deadline, rowid",
            (behandelaar, _json_encode(ids).decode()),
        )
        return [r[0] for r in cur]

    def with_conflicts(self, melding_ids: Iterable[str]) -> list[str]:
        """Those of ``melding_ids`` whose projection counts a concurrent-edit conflict."""
        ids = list(melding_ids)
        if not ids:
            return []
        cur = self.conn.execute(
            "SELECT melding_id FROM meldingen WHERE conflict_count > 0 AND melding_id IN (SELECT value FROM json_each(?))",
            (_json_encode(ids).decode(),),
        )
        return [r[0] for r in cur]

    # -- the werkvoorraad (issue 14) ------------------------------------------------------------

    @staticmethod
    def _scope(behandelaar: str | None, wijken: Sequence[str] | None) -> tuple[str, list[Any]]:
        """The condition of a werkvoorraad: one behandelaar's, a team's (its wijken), or — neither
        given — the meldingen nobody handles."""
        if behandelaar is not None:
            return "m.behandelaar = ?", [behandelaar]
        if wijken:
            return f"m.wijk IN ({', '.join('?' * len(wijken))})", list(wijken)
        return "m.behandelaar IS NULL", []

    def werkvoorraad(
        self,
        *,
        behandelaar: str | None = None,
        wijken: Sequence[str] | None = None,
        now: datetime | None = None,
        per_group: int | Mapping[str, int] = 100,
    ) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
        """Open meldingen of a werkvoorraad grouped as ``shared.werkvoorraad.GROUPS`` (over de norm,
        vandaag, deze week, later), soonest deadline first: ``(count per group, at most ``per_group``
        rows per group)``; ``per_group`` may be a mapping group → limit (a group left out: 100), so one
        group can be shown further. ``behandelaar``: a server user name; else ``wijken`` (a team's); neither:
        the meldingen without a behandelaar. Served by the partial indexes of migration 8: a few
        range scans, whatever the size of the database (bench/bench_tui.py)."""
        from shared.werkvoorraad import GROUPS, bounds

        where, args = self._scope(behandelaar, wijken)
        b = bounds(now or utcnow())
        base = f" FROM meldingen m WHERE {where} AND m.is_open = 1 AND m.deleted = 0"
        ranges = {
            "over_de_norm": ("m.deadline < ?", [b[0]]),
            "vandaag": ("m.deadline >= ? AND m.deadline <= ?", [b[0], b[1]]),
            "deze_week": ("m.deadline > ? AND m.deadline <= ?", [b[1], b[2]]),
            "later": ("(m.deadline > ? OR m.deadline IS NULL)", [b[2]]),
        }
        cols = ", ".join(f"m.{c}" for c in LIST_COLUMNS)
        counts: dict[str, int] = {}
        rows: dict[str, list[dict[str, Any]]] = {}
        for group in GROUPS:
            cond, cargs = ranges[group]
            counts[group] = self.conn.execute(f"SELECT count(*){base} AND {cond}", [*args, *cargs]).fetchone()[0]
            cur = self.conn.execute(
                f"SELECT {cols}{base} AND {cond} ORDER BY m.deadline IS NULL, m.deadline, m.rowid LIMIT ?",
                [*args, *cargs, per_group if isinstance(per_group, int) else per_group.get(group, 100)],
            )
            rows[group] = [dict(zip(LIST_COLUMNS, r, strict=True)) for r in cur]
        return counts, rows

    def terugbellen(
        self, *, behandelaar: str | None = None, wijken: Sequence[str] | None = None, limit: int = 100
    ) -> tuple[int, list[dict[str, Any]]]:
        """"Nog terugbellen": meldingen of a werkvoorraad (as :meth:`werkvoorraad`) whose melders wait
        for a call-back since they progressed (``terugbellen`` > 0), longest waiting first:
        ``(how many, at most ``limit`` rows)``."""
        where, args = self._scope(behandelaar, wijken)
        base = f" FROM meldingen m WHERE {where} AND m.terugbellen > 0 AND m.deleted = 0"
        count = self.conn.execute(f"SELECT count(*){base}", args).fetchone()[0]
        cols = ", ".join(f"m.{c}" for c in LIST_COLUMNS)
        cur = self.conn.execute(f"SELECT {cols}{base} ORDER BY m.terugbellen_sinds LIMIT ?", [*args, limit])
        return count, [dict(zip(LIST_COLUMNS, r, strict=True)) for r in cur]

    def behandelaars(self) -> list[str]:
        """Everyone meldingen are assigned to here, sorted (skip-scan over the werkvoorraad index)."""
        sql = """WITH RECURSIVE b(x) AS (
                   SELECT min(behandelaar) FROM meldingen WHERE is_open = 1 AND deleted = 0
                   UNION ALL SELECT (SELECT min(behandelaar) FROM meldingen
                                     WHERE is_open = 1 AND deleted = 0 AND behandelaar > x) FROM b WHERE x IS NOT NULL)
                 SELECT x FROM b WHERE x IS NOT NULL"""
        return [r[0] for r in self.conn.execute(sql)]

    def duplicates_of(self, reference: str) -> list[dict[str, Any]]:
        """The meldingen linked to ``reference`` as its duplicates (``duplicaat_van``), oldest first,
        deleted ones left out (projection rows: ``melding_id``, ``reference``, ``registered_at``,
        ``status``)."""
        cur = self.conn.execute(
            "SELECT melding_id, reference, registered_at, status FROM meldingen "
            "WHERE duplicaat_van = ? AND deleted = 0 ORDER BY registered_at",
            (reference,),
        )
        return [dict(zip(("melding_id", "reference", "registered_at", "status"), r, strict=True)) for r in cur]

    def wijken(self) -> list[str]:
        """The wijken that occur in the projection, sorted (for the list filter)."""
        # Skip-scan over the wijk index: one index seek per distinct wijk instead of reading every row.
        sql = """WITH RECURSIVE w(x) AS (
                   SELECT min(wijk) FROM meldingen
                   UNION ALL SELECT (SELECT min(wijk) FROM meldingen WHERE wijk > x) FROM w WHERE x IS NOT NULL)
                 SELECT x FROM w WHERE x IS NOT NULL"""
        return [r[0] for r in self.conn.execute(sql)]

    def iter_rows(self, *, include_deleted: bool = True) -> Iterator[dict[str, Any]]:
        """Every projection row in registration order, streamed (for export)."""
        cols = ", ".join(LIST_COLUMNS)
        where = "" if include_deleted else " WHERE deleted = 0"
        for r in self.conn.execute(
            f"SELECT {cols} FROM meldingen{where} ORDER BY rowid"
        ):
            yield dict(zip(LIST_COLUMNS, r, strict=True))

    # -- sync interface ---------------------------------------------------------------------------

    def unacked_events(self, limit: int) -> list[Event]:
        """Up to ``limit`` of this device's events the server has not acknowledged, in ``device_seq`` order.

        Only events under the current device code: the server takes events only from their own
        device's token, so events stranded under an earlier code (a file from before
        :meth:`set_device_code` refused such a change) must not block this device's own in a 403
        on every round; they stay counted in :meth:`pending_count`.
        """
        cur = self.conn.execute(
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events WHERE acked = 0"
            " AND device_id = (SELECT device_id FROM device WHERE id = 1) ORDER BY device_seq LIMIT ?",
            (limit,),
        )
        return [_row_to_event(r) for r in cur]

    def mark_acked(self, event_ids: list[str]) -> None:
        """Mark events as acknowledged by the server (one transaction)."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE events SET acked = 1 WHERE event_id = ?",
                [(i,) for i in event_ids],
            )

    def pending_count(self) -> int:
        """How many local events still wait to be pushed."""
        return self.conn.execute(
            "SELECT count(*) FROM events WHERE acked = 0"
        ).fetchone()[0]

    def mark_sent(self, event_ids: list[str]) -> None:
        """Remember that these events go out in a push request now (before it is sent): from then on
        the server may hold them, so :meth:`fall_back_clock` no longer restamps them."""
        if not event_ids:
            return
        with self.transaction():
            self.conn.execute(
                "UPDATE device SET sent_seq = max(sent_seq, (SELECT coalesce(max(device_seq), 0) FROM events"
                " WHERE event_id IN (SELECT value FROM json_each(?)))) WHERE id = 1",
                (_json_encode(event_ids).decode(),),
            )

    def mark_refused(self, refusals: Iterable[tuple[str, str, str]]) -> int:
        """Keep events the server refused as *geweigerd* (issue 11 §1): ``(event_id, code, reason)``.

        In one transaction each event moves from ``events`` to ``refused`` with the server's reason
        and machine code, and its melding is refolded without it (a refused ``created`` takes the
        melding out of the lists until the admin releases it). A refused event is not pending, not
        pushed again and not lost: :meth:`refused_events` lists it, :meth:`apply_verdicts` records
        the admin's decision. Returns how many events were moved (ids not held unsent are skipped).
        """
        rows = list(refusals)
        if not rows:
            return 0
        cols = ", ".join(_EVENT_COLUMNS)
        moved: set[str] = set()
        touched: set[str] = set()
        with self.transaction():
            now = iso(utcnow())
            for event_id, code, reason in rows:
                cur = self.conn.execute(
                    f"INSERT OR IGNORE INTO refused ({cols}, code, reason, refused_at) "
                    f"SELECT {cols}, ?, ?, ? FROM events WHERE event_id = ? AND acked = 0",
                    (code, reason, now, event_id),
                )
                if cur.rowcount:
                    mid = self.conn.execute("SELECT melding_id FROM events WHERE event_id = ?", (event_id,)).fetchone()[0]
                    self.conn.execute("DELETE FROM events WHERE event_id = ?", (event_id,))
                    moved.add(event_id)
                    touched.add(mid)
            self._refold(touched)
        return len(moved)

    def fall_back_clock(self, server_hlc: int) -> int:
        """After a refusal for a future stamp (issue 11 §1): this laptop's clock falls back to the
        server's (``server_hlc``), and its own events that were never sent and are stamped after it
        get new stamps from the fallen-back clock, in ``device_seq`` order (nobody has seen them, so
        their identity and order stay; their meldingen are refolded). One transaction.

        Returns:
            How many events were restamped.
        """
        with self.transaction():
            d = self.conn.execute("SELECT device_id, hlc_last, sent_seq FROM device WHERE id = 1").fetchone()
            own, last, sent = d
            if last <= server_hlc:
                return 0
            hlc = HLC(server_hlc)
            cur = self.conn.execute(
                f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events WHERE acked = 0 AND device_id = ? AND device_seq > ? "
                "AND hlc > ? ORDER BY device_seq",
                (own or "", sent, server_hlc),
            )
            # shared.trust.restamp also moves a registration time that now lies ahead of its stamp.
            events = [restamp(_row_to_event(r), hlc.now()) for r in cur.fetchall()]
            self.conn.executemany(
                "UPDATE events SET hlc = ?, payload = ? WHERE event_id = ?",
                [(e.hlc, _json_encode(e.payload).decode(), e.event_id) for e in events],
            )
            self.conn.execute("UPDATE device SET hlc_last = ? WHERE id = 1", (hlc.last,))
            self._refold({e.melding_id for e in events})
            return len(events)

    def refused_events(self, *, include_decided: bool = False) -> list[dict[str, Any]]:
        """Refused events, oldest first, as ``{event_id, melding_id, type, hlc, code, reason,
        refused_at, verdict, verdict_note, decided_at, seen, reference, omschrijving}``.

        Without ``include_decided``: those that need the user's attention (waiting for the admin, or
        rejected and not yet dismissed). ``reference``/``omschrijving`` come from the refused
        ``created`` or the melding's projection ("" when neither is here).
        """
        where = "" if include_decided else " WHERE r.verdict = 'waiting' OR (r.verdict = 'rejected' AND r.seen = 0)"
        cur = self.conn.execute(
            "SELECT r.event_id, r.melding_id, r.type, r.hlc, r.code, r.reason, r.refused_at, r.verdict,"
            " r.verdict_note, r.decided_at, r.seen, r.payload, m.reference, m.omschrijving"
            f" FROM refused r LEFT JOIN meldingen m ON m.melding_id = r.melding_id{where} ORDER BY r.device_seq"
        )
        out = []
        names = [d[0] for d in cur.description]
        for row in cur.fetchall():
            item = dict(zip(names, row, strict=True))
            payload = _json_decode(item.pop("payload"))
            fields = payload.get("fields") or {}
            item["reference"] = item.pop("reference") or payload.get("reference") or ""
            item["omschrijving"] = item.pop("omschrijving") or fields.get("omschrijving") or ""
            out.append(item)
        return out

    def refused_count(self) -> int:
        """How many refused events need the user's attention (see :meth:`refused_events`)."""
        return self.conn.execute(
            "SELECT count(*) FROM refused WHERE verdict = 'waiting' OR (verdict = 'rejected' AND seen = 0)"
        ).fetchone()[0]

    def waiting_refused_ids(self) -> list[str]:
        """Ids of refused events still waiting for the admin's verdict (asked at every sync)."""
        return [r[0] for r in self.conn.execute("SELECT event_id FROM refused WHERE verdict = 'waiting' ORDER BY device_seq")]

    def apply_verdicts(self, verdicts: Iterable[Any]) -> dict[str, int]:
        """Record the admin's verdicts (``shared.protocol.Verdict``) in one transaction.

        ``released``: the event is in the record now (restamped where its time was refused); the
        stored version arrives with the pull. ``rejected``: it never enters the record; it stays
        listed until the user dismisses it. ``unknown`` (the server has no such refusal, e.g. it was
        restored from a backup older than the refusal): the event goes back to ``events`` as unsent,
        so the next push offers it again. Returns the count per state.
        """
        counts: dict[str, int] = {}
        with self.transaction():
            now = iso(utcnow())
            cols = ", ".join(_EVENT_COLUMNS)
            for v in verdicts:
                state = v.state
                if state in (VerdictState.RELEASED, VerdictState.REJECTED):
                    cur = self.conn.execute(
                        "UPDATE refused SET verdict = ?, verdict_note = ?, decided_at = ? WHERE event_id = ? AND verdict = 'waiting'",
                        (state, v.note, now, v.event_id),
                    )
                elif state == VerdictState.UNKNOWN:
                    self.conn.execute(
                        f"INSERT OR IGNORE INTO events ({cols}, acked) SELECT {cols}, 0 FROM refused WHERE event_id = ? AND verdict = 'waiting'",
                        (v.event_id,),
                    )
                    cur = self.conn.execute("DELETE FROM refused WHERE event_id = ? AND verdict = 'waiting'", (v.event_id,))
                    mid = self.conn.execute("SELECT melding_id FROM events WHERE event_id = ?", (v.event_id,)).fetchone()
                    if mid:
                        self._refold([mid[0]])
                else:
                    continue
                if cur.rowcount:
                    counts[state] = counts.get(state, 0) + 1
        return counts

    def dismiss_refused(self, event_ids: Iterable[str]) -> None:
        """The user saw these rejected events: they leave the warning (they stay in ``refused``)."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE refused SET seen = 1 WHERE event_id = ? AND verdict != 'waiting'", [(i,) for i in event_ids]
            )

    def own_seq(self) -> int:
        """This laptop's own event counter (the last ``device_seq`` it used)."""
        return self._device()["seq"]

    def highest_counter(self, device_id: str) -> int:
        """The highest reference counter among the ``created`` events of ``device_id`` this laptop
        holds (0: none). After a server restore the laptop reports it for the server's own device, so
        the server's counter continues past numbers only laptops still hold (docs/server.md)."""
        return highest_counter(
            ref
            for (ref,) in self.conn.execute(
                "SELECT json_extract(payload, '$.reference') FROM events WHERE device_id = ? AND type = 'created'",
                (device_id,),
            )
        )

    def clock_behind_ms(self, now_ms: int | None = None) -> int:
        """How far this laptop's wall clock lies behind the time its clock has already seen (ms).

        More than ``shared.protocol.MAX_REGISTERED_BEHIND_MS`` means the clock was set back: new
        registrations then take the clock's time (:meth:`register`), and the app says so.
        """
        return clock_behind_ms(now_ms if now_ms is not None else wall_ms(), self._device()["hlc_last"])

    def local_work(self) -> int:
        """How many events only this laptop holds (:func:`local_work`): a laptop with any never
        replaces its database by a snapshot."""
        return local_work(self.conn)

    def is_empty(self) -> bool:
        """True when the database holds no event at all (a new laptop: its first sync takes a snapshot)."""
        return self.conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is None

    def server_log_id(self) -> int:
        """The id of the server log this laptop synced with (0 before its first sync)."""
        return self.conn.execute("SELECT server_log_id FROM device WHERE id = 1").fetchone()[0]

    def pull_cursor(self) -> int:
        """The server_seq after which the next pull starts (0 for a new laptop)."""
        return self._device()["pull_cursor"]

    def note_server_log(self, log_id: int) -> bool:
        """Compare the server's log id (``PullResponse.log_id``) with the one this laptop synced with.

        The first id seen is remembered; 0 (a server without one) changes nothing. A different id
        means the server was restored from a backup (or this laptop now syncs with another server):
        its log may lack this laptop's later events and numbers ``server_seq`` anew. Then, in one
        transaction, this laptop's own events are marked unsent and the pull cursor goes back to 0,
        so the next round re-sends them and pulls everything (both safe: the server stores each event
        once, and pulled events already here are only marked acknowledged). Events of other devices
        are not re-sent: a token may only send its own device's events (docs/server.md, "Backups").

        Returns:
            True when the store was reset for a new log.
        """
        query = "SELECT server_log_id, device_id FROM device WHERE id = 1"
        if not log_id or self.conn.execute(query).fetchone()[0] == log_id:
            return False  # the usual case: no write transaction for it
        with self.transaction():
            known, own = self.conn.execute(query).fetchone()
            if known == log_id:
                return False
            if known:
                self.conn.execute("UPDATE events SET acked = 0 WHERE device_id = ?", (own or "",))
                self.conn.execute("UPDATE device SET pull_cursor = 0 WHERE id = 1")
            self.conn.execute("UPDATE device SET server_log_id = ? WHERE id = 1", (log_id,))
            return bool(known)

    def apply_remote(
        self,
        events: list[Event],
        next_after: int,
        server_hlc: int | None = None,
        rows: Iterable[tuple[Any, ...]] | None = None,
    ) -> None:
        """Apply one pulled page: insert unknown events (acked), refold what they touch, store the cursor.

        Events already known (e.g. this laptop's own, echoed back) are only marked acked. One
        transaction, so a crash never leaves a page half applied or the cursor past unapplied events.
        The persisted HLC moves past every pulled stamp, so later local edits order after them.
        ``server_hlc``: the page's ``server_hlc``; when given it is merged into the persisted clock as
        :meth:`recv_hlc` would, in the same transaction (one commit, so one fsync, per page instead of
        two: docs/benchmarks.md, "Sync").

        Batched per page (docs/benchmarks.md, "Sync"): the stored events of the touched meldingen are
        read in one query, every melding is folded in memory from its stored plus its new events, and
        the projection and FTS rows are written with ``executemany``.

        ``rows``: the server's projection rows of meldingen of this page (values of ``COLUMNS`` in
        order, checked for type by the wire decoder: ``shared.protocol.PullResponse.rows``). The
        server sends a melding's row only when it holds no event of it after ``next_after``, so once
        this page is applied the laptop holds exactly the events the row was folded from, unless it
        has unsent events of that melding itself: those it folds, the others it takes as they are
        (no stored events read, no fold; docs/benchmarks.md, "Incremental pull").
        """
        # A page makes ~100,000 short-lived container objects; the cyclic GC's passes over them
        # cost ~15 % of a pull (docs/benchmarks.md, "Sync") and find nothing (fold builds no
        # cycles). Reference counting still frees everything; the GC is switched back on after.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._apply_page(events, next_after, server_hlc, rows)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _apply_page(
        self, events: list[Event], next_after: int, server_hlc: int | None, rows: Iterable[tuple[Any, ...]] | None
    ) -> None:
        with self.transaction():
            known = self._known_event_ids([e.event_id for e in events])
            seen = set(known)
            groups: dict[str, list[Event]] = {}
            new: list[Event] = []
            for e in events:
                if e.event_id in seen:
                    continue
                seen.add(e.event_id)  # a page that repeats an event stores it once
                new.append(e)
                groups.setdefault(e.melding_id, []).append(e)
            if known:
                self.conn.executemany(
                    "UPDATE events SET acked = 1 WHERE event_id = ?",
                    [(i,) for i in known],
                )
                # The server is the authority on an event's content: one the admin released after a
                # refusal carries the server's stamp now (shared.trust.restamp). Take that version,
                # so this laptop folds exactly what every other replica folds.
                changed = [e for e in events if e.event_id in known and known[e.event_id] != e.hlc]
                if changed:
                    self.conn.executemany(
                        "UPDATE events SET hlc = ?, payload = ? WHERE event_id = ?",
                        [(e.hlc, _json_encode(e.payload).decode(), e.event_id) for e in changed],
                    )
                    for e in changed:
                        groups.setdefault(e.melding_id, [])
            given: dict[str, tuple[Any, ...]] = {}
            if rows:
                # (not DISTINCT: that reads the whole melding index instead of the few unsent events)
                unsent = {r[0] for r in self.conn.execute("SELECT melding_id FROM events WHERE acked = 0")}
                given = {r[0]: r for r in rows if r[0] in groups and r[0] not in unsent}
            stored = self._stored_events([mid for mid in groups if mid not in given])
            if new:
                self.conn.executemany(
                    f"INSERT OR IGNORE INTO events ({', '.join(_EVENT_COLUMNS)}, acked) VALUES ({', '.join('?' * 11)})",
                    [_event_values(e, 1) for e in new],
                )
                self.conn.execute(
                    "UPDATE device SET hlc_last = max(hlc_last, ?) WHERE id = 1",
                    (max(e.hlc for e in new),),
                )
                self._skip_past_own(new)
            values = itemgetter(*COLUMNS)  # a projection row's values in column order, in C
            projected: list[tuple[str, tuple[Any, ...]]] = []
            for mid, evs in groups.items():
                if mid in given:
                    projected.append((mid, given[mid]))
                elif (m := fold(stored.get(mid, []) + evs, history=False)) is not None:
                    projected.append((mid, values(projection_row(m))))
            self._write_projections(projected, [mid for mid in groups if mid in stored or mid in given])
            # An anonymisation or removal in this page (issue 16): rewrite this laptop's copies of the
            # melding's events too (its own unsent ones included), then refold it.
            erased = self._erase_local({e.melding_id for e in new if e.type in ERASING_EVENTS})
            self._refold(erased)
            self.conn.execute(
                "UPDATE device SET pull_cursor = ? WHERE id = 1", (next_after,)
            )
            if server_hlc is not None:
                self._merge_hlc(server_hlc)

    # -- personal data (issue 16) --------------------------------------------------------------------

    def _erase_local(self, melding_ids: Iterable[str]) -> list[str]:
        """Rewrite the stored events (and refused ones) of erased meldingen among ``melding_ids`` with
        ``shared.avg.scrub_event``, in the caller's transaction, and have :meth:`secure_cleanup` run
        after its commit. The values erased from texts are every melder value this laptop holds for
        the melding. Returns the meldingen that are erased (the caller refolds them)."""
        cols = ", ".join(_EVENT_COLUMNS)
        done: list[str] = []
        for mid in sorted(set(melding_ids)):
            evs = [_row_to_event(r) for r in self.conn.execute(f"SELECT {cols} FROM events WHERE melding_id = ?", (mid,))]
            refused = [_row_to_event(r) for r in self.conn.execute(f"SELECT {cols} FROM refused WHERE melding_id = ?", (mid,))]
            kind = erasure_of(evs)
            if kind is None:
                continue
            values = personal_values(evs + refused)
            for table, items in (("events", evs), ("refused", refused)):
                rows = []
                for e in items:
                    scrubbed = scrub_event(e, kind, values)
                    if scrubbed is not e:
                        rows.append((_json_encode(scrubbed.payload).decode(), e.event_id))
                self.conn.executemany(f"UPDATE {table} SET payload = ? WHERE event_id = ?", rows)
            done.append(mid)
        if done:
            self._cleanup_due = True
        return done

    def secure_cleanup(self) -> bool:
        """After an erasure (issue 16): merge the full-text index into one segment (FTS5 ``optimize``;
        a rewritten row otherwise leaves its old tokens in older segments) and copy the WAL into the
        file and truncate it (``wal_checkpoint(TRUNCATE)``). With ``secure_delete`` freed pages are
        zeros. Runs by itself after the transaction that erased. Returns False when another
        connection kept the checkpoint from finishing (the last connection to close checkpoints and
        removes the WAL anyway)."""
        try:
            with self.transaction():
                self.conn.execute("INSERT INTO meldingen_fts (meldingen_fts) VALUES ('optimize')")
            busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except (sqlite3.Error, StoreError):
            return False
        return busy == 0

    def _skip_past_own(self, new: list[Event]) -> None:
        """Move this laptop's counters past events made under its own device code elsewhere.

        That happens when a laptop is reinstalled (or a config copied) with the same token and
        device code: without this the next melding would get a reference that already exists.
        References stay unique as long as pulled history is applied before new work (docs/references.md).
        """
        own = self.device_code()
        mine = [e for e in new if own and e.device_id == own]
        if not mine:
            return
        counters = [0]
        for e in mine:
            if e.type == EventType.CREATED:
                try:
                    counters.append(counter_of(e.payload.get("reference", "")))
                except ValueError:
                    pass  # a malformed reference is the server's to flag, not ours to count
        self.conn.execute(
            "UPDATE device SET seq = max(seq, ?), melding_counter = max(melding_counter, ?) WHERE id = 1",
            (max(e.device_seq for e in mine), max(counters)),
        )

    def _known_event_ids(self, ids: list[str]) -> dict[str, int]:
        """Which of ``ids`` are already stored, with their stored stamp (one query: the ids travel
        as one JSON array)."""
        if not ids:
            return {}
        cur = self.conn.execute(
            "SELECT event_id, hlc FROM events WHERE event_id IN (SELECT value FROM json_each(?))",
            (_json_encode(ids).decode(),),
        )
        return dict(cur.fetchall())

    def _stored_events(self, melding_ids: list[str]) -> dict[str, list[Event]]:
        """The stored events of the given meldingen, by melding (one query); meldingen without
        stored events are absent."""
        if not melding_ids:
            return {}
        cur = self.conn.execute(
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events"
            " WHERE melding_id IN (SELECT value FROM json_each(?))",
            (_json_encode(melding_ids).decode(),),
        )
        out: dict[str, list[Event]] = {}
        for r in cur:
            out.setdefault(r[1], []).append(_row_to_event(r))
        return out

    def _write_projections(self, projected: list[tuple[str, tuple[Any, ...]]], maybe_projected: list[str]) -> None:
        """Write projection rows (values of ``COLUMNS`` in order) and their FTS rows with ``executemany``.

        ``maybe_projected``: the meldingen that may already have a projection row (it keeps its
        rowid); the others get a new rowid by :func:`sort_key`, in the order of ``projected``, exactly
        as :meth:`_write_projection` would one by one.

        An existing row is updated only in the columns whose value changed (grouped by which, one
        ``executemany`` per group): SQLite then leaves alone every index without a changed column,
        and the full-text row is rewritten only when one of its source columns changed. A pulled
        note or status change touches a few columns of its row and no search text, and an incremental
        pull is mostly those (docs/benchmarks.md, "Incremental pull"). Same rows as writing them whole.
        """
        names = list(COLUMNS)
        old: dict[str, tuple] = {}
        if maybe_projected:
            cur = self.conn.execute(
                f"SELECT {', '.join(names)}, rowid FROM meldingen WHERE melding_id IN (SELECT value FROM json_each(?))",
                (_json_encode(maybe_projected).decode(),),
            )
            old = {r[0]: r for r in cur}
        fresh = [(mid, row) for mid, row in projected if mid not in old]
        keys = [sort_key(row[_REGISTERED_AT]) for _, row in fresh]
        occupied: set[int] = set()
        if keys:
            cur = self.conn.execute(
                "SELECT rowid FROM meldingen WHERE rowid IN (SELECT value FROM json_each(?))",
                (_json_encode(keys).decode(),),
            )
            occupied = {r[0] for r in cur}
        taken: set[int] = set()
        updates: dict[tuple[int, ...], list[tuple]] = {}
        inserts, fts_gone, fts_rows = [], [], []
        for mid, row in projected:
            prev = old.get(mid)
            if prev is None:
                continue
            changed = tuple(compress(_POSITIONS, map(ne, row, prev)))  # the positions that differ, in C
            if not changed:
                continue
            rowid = prev[-1]
            updates.setdefault(changed, []).append((*(row[i] for i in changed), rowid))
            if not _FTS_SOURCE_INDEXES.isdisjoint(changed):
                fts_gone.append((rowid,))
                fts_rows.append((rowid, *_fts_values(dict(zip(names, row)))))
        for (_, row), key in zip(fresh, keys, strict=True):
            if key in occupied or key in taken:
                key = _free_key(self.conn, key, taken)
            taken.add(key)
            inserts.append((key, *row))
            fts_rows.append((key, *_fts_values(dict(zip(names, row)))))
        for changed, params in updates.items():
            self.conn.executemany(
                f"UPDATE meldingen SET {', '.join(f'{names[i]} = ?' for i in changed)} WHERE rowid = ?", params
            )
        if fts_gone:
            self.conn.executemany("DELETE FROM meldingen_fts WHERE rowid = ?", fts_gone)
        if inserts:
            self.conn.executemany(
                f"INSERT INTO meldingen (rowid, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})",
                inserts,
            )
        if fts_rows:
            self.conn.executemany(
                "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)",
                fts_rows,
            )

    def recv_hlc(self, remote: int) -> int:
        """Merge the server's HLC stamp into the persisted clock (``HLC.recv``); returns the new stamp."""
        with self.transaction():
            return self._merge_hlc(remote)

    def _merge_hlc(self, remote: int) -> int:
        """``recv_hlc``'s work, inside the caller's transaction."""
        stamp = HLC(self._device()["hlc_last"]).recv(remote)
        self.conn.execute("UPDATE device SET hlc_last = ? WHERE id = 1", (stamp,))
        return stamp
