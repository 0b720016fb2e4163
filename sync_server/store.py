"""The server's store: the event log of every laptop, the quarantine, the projection, users and devices.

SQLite (one file) behind one small class, :class:`ServerStore`, so that a municipality that outgrows
one server can move to PostgreSQL by writing a new module with the same methods, not by rewriting the
routes. SQL stays inside this module (and the read-only queries of ``sync_server.search``, which read
the projection).

Tables (DESIGN.md, "Sync protocol" and "Storage"):

* ``events``: every accepted event, once (``event_id`` UNIQUE), numbered by ``server_seq`` (the rowid,
  ``AUTOINCREMENT`` so a number is never reused). Writes are serialised by ``BEGIN IMMEDIATE``, so
  numbers become visible in order: a pull never skips an event that commits later with a lower number.
* ``quarantine``: refused events with the reason and the raw text as received.
* ``meldingen``: the projection, exactly ``shared.projection.COLUMNS`` (melding_id primary key), written
  in the same transaction as the events; ``meldingen_fts`` (FTS5, rowid = ``meldingen.rowid``) over
  reference, omschrijving, address and melder name, kept by triggers.
* ``barometer_rows``: the barometer's narrow summary of each projection row that counts, written with
  the projection (``wijkteam_reports.summary``; filled from the projection on upgrade).
* ``users`` (name, role, sha256 of the token, device code), ``devices`` (each device code issued once;
  ``"00"`` is the server's own), ``reference_clashes``, ``audit``, ``server_state`` (schema version,
  the server's HLC, the server device's counters).

Connections are per thread (SQLite connections must stay in their thread); every connection runs in
WAL mode with ``busy_timeout`` and ``synchronous=FULL``, so a commit is on disk before a push is
acknowledged.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from shared.avg import (
    ERASING_EVENTS,
    Erasure,
    PersonalValues,
    blank_event,
    erasure_of,
    event_melders,
    event_texts,
    melder_matches,
    mentions,
    personal_values,
    scrub_event,
    scrub_raw,
    search_needles,
)
from shared.commands import SERVER_DEVICE, DeviceClock, add_note
from shared.deadlines import HolidayPolicy
from shared.enums import EventType, Role
from shared.events import Event, decode_event, encode_event
from shared.fold import fold
from shared.hlc import HLC, stamp_datetime, wall_ms
from shared.model import Melding
from shared.projection import COLUMNS, needs_timeline, projection_row
from shared.protocol import (
    LATE_ARRIVAL_DAYS,
    MAX_PULL_BYTES,
    RELEASABLE,
    PulledEvent,
    RefusalCode,
    Verdict,
    VerdictState,
)
from shared.trust import Refusal, judge_history, restamp
from shared.validation import MAX_TEXT_LENGTH
from shared.reference import DEVICE_CODE_WIDTH, device_code, highest_counter
from wijkteam_reports.summary import SUMMARY_VERSION, ensure_summary, write_summary
from wijkteam_store.local import add_projection_columns, werkvoorraad_backfill

#: Version of this database layout; a database written by newer software is refused at open.
#: 2: the barometer summary table ``barometer_rows`` (``wijkteam_reports.summary``), kept with the
#: projection; an older server would leave it stale, so it must refuse such a database.
#: 3: the projection's ``state`` column (the whole melding as JSON) is gone; detail views fold the
#: melding's events, and the barometer reads the new ``status_timeline`` column.
#: 4: trust in the record (issue 11): the quarantine keeps each refusal's machine code, melding and
#: the admin's verdict; ``devices`` keeps the latest stamp each device pushed (``last_hlc``) and the
#: device's own event counter as its last push reported it (``reported_seq``, ``reported_at``).
#: 5: the werkvoorraad of issue 14: projection columns ``behandelaar``, ``aan_team``, ``melder_count``,
#: ``terugbellen``, ``terugbellen_sinds`` (``_migrate_5``).
#: 6: the projection's ``bron`` column (demo and imported meldingen are recognisable, issue 13).
#: 7: the AVG (issue 16): events of erased meldingen are rewritten (``shared.avg``; event schema 3,
#: which an older server cannot fold), every connection runs with ``secure_delete``, and a database
#: from before is vacuumed once so that no deleted value stays in its free space.
STORE_SCHEMA_VERSION = 7
BUSY_TIMEOUT_MS = 30_000
_CHUNK = 500  # stays under SQLite's bound-parameter limit
#: Bytes a pulled event's envelope adds to its payload on the wire (ids, device, stamps, user: a
#: generous upper bound of the JSON), for the byte bound of a pull page.
_ENVELOPE_BYTES = 512

EVENT_COLUMNS = ("event_id", "melding_id", "device_id", "device_seq", "hlc", "type", "payload", "user", "prev", "schema")
_EVENT_SELECT = "server_seq, " + ", ".join(f'"{c}"' for c in EVENT_COLUMNS)

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder(dict[str, Any]).decode


class StoreError(Exception):
    """A store operation the caller asked for cannot be done; ``message`` is Dutch, fit for the admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StorageUnavailable(Exception):
    """The database cannot be written now: it became read-only, the disk is full, or the disk
    refuses to write. Nothing of the request was stored. ``message`` is Dutch, for the user; the
    routes answer 503 with it (``sync_server.errors``), and the store recovers by itself once the
    disk is writable again (the next write opens a fresh connection).

    Attributes:
        reason: ``"alleen-lezen"``, ``"vol"`` or ``"schrijffout"``.
        message: "De server kan niet opslaan: …".
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# SQLite primary result codes (https://sqlite.org/rescode.html) that mean "cannot write now".
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN, _SQLITE_FULL = 8, 10, 14, 13
_STORAGE_REASONS = {
    _SQLITE_READONLY: ("alleen-lezen", "de database is alleen-lezen geworden"),
    _SQLITE_FULL: ("vol", "de schijf is vol"),
    _SQLITE_IOERR: ("schrijffout", "de schijf weigert te schrijven (vol of defect)"),
    _SQLITE_CANTOPEN: ("schrijffout", "het databasebestand kan niet worden geopend"),
}


def storage_failure(exc: BaseException) -> StorageUnavailable | None:
    """The :class:`StorageUnavailable` an SQLite error stands for, or ``None`` for any other error
    (a bug, a constraint: those stay what they are)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or not isinstance(code, int):
        return None
    found = _STORAGE_REASONS.get(code & 0xFF)
    if found is None:
        return None
    reason, why = found
    return StorageUnavailable(
        reason,
        f"De server kan niet opslaan: {why}. Er is niets opgeslagen; wat u stuurde blijft op uw laptop "
        "bewaard en gaat mee bij een volgende sync. De beheerder is gewaarschuwd (zie /ready).",
    )


@dataclass(frozen=True)
class TokenInfo:
    """Who a valid bearer token belongs to (``request.user`` in route handlers).

    Attributes:
        name: the user name given at ``wijkteam-server user add``.
        role: one of :class:`shared.enums.Role`.
        device_code: the laptop's device code issued with the token, or ``None`` (kcc, manager).
    """

    name: str
    role: Role
    device_code: str | None


@dataclass
class UserRow:
    """A user as ``user list`` shows it (never the token)."""

    name: str
    role: str
    device_code: str | None
    created_at: str
    revoked_at: str | None


@dataclass
class QuarantineEntry:
    """A refused event: ``event_id`` (or a made-up id when the event had none), why, and the raw text.

    ``code``: a :class:`shared.protocol.RefusalCode` value; ``status``: a
    :class:`shared.protocol.VerdictState` value (``waiting`` until the admin decides).
    """

    event_id: str
    reason: str
    raw: str
    device_id: str | None = None
    code: str = RefusalCode.INVALID.value
    melding_id: str | None = None
    event_type: str | None = None
    status: str = VerdictState.WAITING.value


_EVENT_LABEL = {
    EventType.CREATED: "registratie",
    EventType.FIELDS_CHANGED: "wijziging",
    EventType.STATUS_CHANGED: "statuswijziging",
    EventType.NOTE_ADDED: "notitie",
    EventType.CALLBACK_LOGGED: "terugkoppeling",
    EventType.DELETED: "verwijdering",
    EventType.RESTORED: "terugzetting",
    EventType.REPORTER_ANONYMISED: "anonimisering",
}


def _same_event(a: Event, b: Event) -> bool:
    """Whether two events with the same id carry the same content (payloads compared as data)."""
    return a == b or msgspec.to_builtins(a) == msgspec.to_builtins(b)


def _by_melding(events: Iterable[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for e in events:
        out.setdefault(e.melding_id, []).append(e)
    return out


def _blanked(q: QuarantineEntry) -> QuarantineEntry:
    """A quarantine entry of an erased melding keeps only its event blanked (``shared.avg.blank_event``):
    no text or melder value, not even one the server no longer knows. Unreadable raw text is dropped."""
    if not q.raw:
        return q
    try:
        raw = _json_encode(blank_event(decode_event(q.raw))).decode()
    except (msgspec.DecodeError, msgspec.ValidationError):
        raw = '"(onleesbaar; verwijderd omdat de melding geanonimiseerd is)"'
    return QuarantineEntry(q.event_id, q.reason, raw, q.device_id, q.code, q.melding_id, q.event_type, q.status)


def _iso_ms(text: str | None) -> int | None:
    """ms since the epoch of the store's ISO text (``now_iso``), None when empty or unreadable."""
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        return None


@dataclass
class IngestResult:
    """What one push did: ids stored new, ids already present, entries quarantined."""

    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    server_hlc: int = 0
    #: Events of meldingen erased after the pushing laptop's pull cursor: not taken now (the laptop
    #: pulls the erasure, erases the values from its copies and sends them again; issue 16).
    deferred: list[str] = field(default_factory=list)
    #: Meldingen this push erased (a laptop's ``reporter_anonymised``).
    erased: list[str] = field(default_factory=list)


def hash_token(token: str) -> str:
    """sha256 hex of a bearer token: the only form in which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def now_iso() -> str:
    """Now as UTC ISO text with ``Z`` (the projection's format)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _LockedHLC(HLC):
    """The server's HLC, shared by request threads (``now``/``recv`` are read-modify-write)."""

    def __init__(self, last: int = 0, clock: Callable[[], int] | None = None) -> None:
        if clock is None:
            super().__init__(last)
        else:
            super().__init__(last, clock)
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            return super().now()

    def recv(self, remote: int) -> int:
        with self._lock:
            return super().recv(remote)

    def peek(self) -> int:
        with self._lock:
            return self.last


def _new_log_id() -> int:
    """A random positive 62-bit log id (fits SQLite's INTEGER and JSON numbers exactly)."""
    return secrets.randbits(62) or 1


def _adres_text_sql(prefix: str) -> str:
    parts = ["straat", "huisnummer", "huisletter", "huisnummertoevoeging", "postcode", "woonplaats", "locatie_omschrijving"]
    return "trim(" + " || ' ' || ".join(f"coalesce({prefix}.{p}, '')" for p in parts) + ")"


def _schema_sql() -> str:
    sqltype = {str: "TEXT", int: "INTEGER", float: "REAL"}
    cols = ",\n  ".join(
        f'"{name}" {sqltype[t]}' + (" PRIMARY KEY" if name == "melding_id" else "") for name, t in COLUMNS.items()
    )
    fts_insert = (
        "INSERT INTO meldingen_fts(rowid, reference, omschrijving, adres, melder_naam) "
        f"VALUES (new.rowid, new.reference, new.omschrijving, {_adres_text_sql('new')}, new.melder_naam);"
    )
    return f"""
CREATE TABLE IF NOT EXISTS server_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  server_seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  melding_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  device_seq INTEGER NOT NULL,
  hlc INTEGER NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  "user" TEXT NOT NULL,
  prev TEXT,
  "schema" INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  pushed_by TEXT
);
CREATE INDEX IF NOT EXISTS events_melding ON events(melding_id);
CREATE TABLE IF NOT EXISTS quarantine (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  device_id TEXT,
  reason TEXT NOT NULL,
  raw TEXT NOT NULL,
  received_at TEXT NOT NULL,
  pushed_by TEXT
);
CREATE TABLE IF NOT EXISTS devices (
  device_code TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meldingen (
  {cols}
);
CREATE INDEX IF NOT EXISTS meldingen_reference ON meldingen(reference);
CREATE INDEX IF NOT EXISTS meldingen_postcode_huisnummer ON meldingen(postcode, huisnummer);
CREATE INDEX IF NOT EXISTS meldingen_telefoon ON meldingen(melder_telefoon);
CREATE INDEX IF NOT EXISTS meldingen_email ON meldingen(melder_email COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS meldingen_straat ON meldingen(straat COLLATE NOCASE, huisnummer);
CREATE INDEX IF NOT EXISTS meldingen_registered_date ON meldingen(registered_date);
CREATE VIRTUAL TABLE IF NOT EXISTS meldingen_fts USING fts5(
  reference, omschrijving, adres, melder_naam, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER IF NOT EXISTS meldingen_fts_ai AFTER INSERT ON meldingen BEGIN
  {fts_insert}
END;
CREATE TRIGGER IF NOT EXISTS meldingen_fts_au AFTER UPDATE ON meldingen BEGIN
  DELETE FROM meldingen_fts WHERE rowid = old.rowid;
  {fts_insert}
END;
CREATE TRIGGER IF NOT EXISTS meldingen_fts_ad AFTER DELETE ON meldingen BEGIN
  DELETE FROM meldingen_fts WHERE rowid = old.rowid;
END;
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  device_code TEXT UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS reference_clashes (
  id INTEGER PRIMARY KEY,
  reference TEXT NOT NULL,
  melding_id TEXT NOT NULL,
  other_melding_id TEXT NOT NULL,
  detected_at TEXT NOT NULL,
  UNIQUE (reference, melding_id, other_melding_id)
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  melding_id TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_melding ON audit(melding_id);
"""


_UPSERT = (
    "INSERT INTO meldingen ("
    + ", ".join(f'"{c}"' for c in COLUMNS)
    + ") VALUES ("
    + ", ".join("?" for _ in COLUMNS)
    + ") ON CONFLICT(melding_id) DO UPDATE SET "
    + ", ".join(f'"{c}" = excluded."{c}"' for c in COLUMNS if c != "melding_id")
)
_INSERT_EVENT = (
    "INSERT INTO events (event_id, melding_id, device_id, device_seq, hlc, type, payload, \"user\", prev, \"schema\","
    " received_at, pushed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING"
)


def event_from_row(row: Sequence[Any]) -> Event:
    """An :class:`Event` from the columns ``EVENT_COLUMNS`` (payload as JSON text)."""
    return Event(
        event_id=row[0],
        melding_id=row[1],
        device_id=row[2],
        device_seq=row[3],
        hlc=row[4],
        type=row[5],
        payload=_json_decode(row[6]),
        user=row[7],
        prev=row[8],
        schema=row[9],
    )


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class ServerStore:
    """The server's SQLite store. Thread-safe: each thread gets its own connection.

    Args:
        path: the database file; created with its schema when missing.
        clock: wall-clock ms for the server's HLC (tests inject one).

    Raises:
        StoreError: the database was written by a newer version of the server.
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], int] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        #: The last storage failure (:class:`StorageUnavailable`) since the last successful write.
        self.storage_problem: StorageUnavailable | None = None
        self._migrate()
        self._clock = clock or wall_ms
        self.hlc = _LockedHLC(self._state("hlc_last"), clock)

    def wall_ms(self) -> int:
        """The server's wall clock, ms since the Unix epoch (UTC)."""
        return self._clock()

    # -- connections and transactions -------------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: use :meth:`write` for transactions)."""
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            c.execute("PRAGMA journal_mode = WAL")
            c.execute("PRAGMA synchronous = FULL")
            # Deleted and rewritten content is overwritten with zeros, in pages and in free pages: an
            # erased value (issue 16) must not stay in the file's free space (docs/privacy.md).
            c.execute("PRAGMA secure_delete = ON")
            self._local.conn = c
            with self._all_lock:
                self._all.append(c)
        return c

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed (durably) on success, rolled back on any error.

        Raises:
            StorageUnavailable: the database cannot be written (read-only, disk full, write error).
                The failure is kept in :attr:`storage_problem` (``/ready`` shows it) until a write
                succeeds again, and this thread's connection is closed so that the next write opens
                the file afresh: the server recovers by itself once the disk is writable again.
        """
        c = self.conn()
        try:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                if c.in_transaction:  # SQLite may already have rolled back (disk full, I/O error)
                    c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")
        except sqlite3.Error as exc:
            failure = storage_failure(exc)
            if failure is None:
                raise
            self._drop_connection(c)
            self.storage_problem = failure
            raise failure from exc
        self.storage_problem = None

    def _drop_connection(self, c: sqlite3.Connection) -> None:
        """Close and forget this thread's connection after a storage failure."""
        try:
            if c.in_transaction:
                c.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        try:
            c.close()
        except sqlite3.Error:
            pass
        with self._all_lock:
            if c in self._all:
                self._all.remove(c)
        if getattr(self._local, "conn", None) is c:
            self._local.conn = None

    def probe_write(self) -> None:
        """A tiny durable write (the ``ready_probe`` row of ``server_state``), for ``/ready``.

        Raises:
            StorageUnavailable: the database cannot be written now.
        """
        with self.write() as c:
            self._set_state(c, "ready_probe", self.wall_ms())

    def close(self) -> None:
        """Close every connection this store opened (call once, at shutdown)."""
        with self._all_lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    def _migrate(self) -> None:
        c = self.conn()
        c.executescript(_schema_sql())
        with self.write() as w:
            row = w.execute("SELECT value FROM server_state WHERE key = 'schema_version'").fetchone()
            if row and row[0] > STORE_SCHEMA_VERSION:
                raise StoreError(
                    f"De database {self.path} is gemaakt door een nieuwere wijkteam-server "
                    f"(schema {row[0]}, deze versie kent {STORE_SCHEMA_VERSION}): werk de server bij."
                )
            refold = self._migrate_3(w) if row and row[0] < 3 else []
            self._migrate_4(w)
            self._migrate_5(w)
            self._migrate_6(w)
            w.execute(
                "INSERT INTO server_state(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (STORE_SCHEMA_VERSION,),
            )
            w.execute(
                "INSERT INTO devices(device_code, user_name, issued_at) VALUES (?, '(server)', ?) "
                "ON CONFLICT DO NOTHING",
                (SERVER_DEVICE, now_iso()),
            )
            # The barometer's summary table; filled from the projection when new or outdated.
            if ensure_summary(w, self._state("barometer_summary", w)):
                self._set_state(w, "barometer_summary", SUMMARY_VERSION)
            self._refold(w, refold)  # after the summary exists: a refold writes summary rows too
            if not self._state("log_id", w):
                self._set_state(w, "log_id", _new_log_id())
            if not self._state("secure_vacuum", w) and not w.execute("SELECT 1 FROM events LIMIT 1").fetchone():
                self._set_state(w, "secure_vacuum", 1)  # a new database has no old free space

    def vacuum_once(self) -> bool:
        """A database written before ``secure_delete`` (schema < 7) may hold deleted values in free
        pages and in the unused parts of pages: rewrite it once (``VACUUM``; needs free disk space the
        size of the file). ``serve`` calls this before it serves (a VACUUM blocks every writer while
        it runs, so not from admin commands beside a running server); it is retried at each start
        until it succeeds. Returns True when the database is (now) clean in that sense."""
        if self._state("secure_vacuum"):
            return True
        try:
            self.conn().execute("VACUUM")
        except sqlite3.Error:
            return False  # busy or no space: the next start tries again
        with self.write() as w:
            self._set_state(w, "secure_vacuum", 1)
        self.checkpoint()
        return True

    @staticmethod
    def _migrate_3(c: sqlite3.Connection) -> list[str]:
        """Schema 2 → 3, in the caller's transaction: drop the projection's ``state`` column and add
        ``status_timeline``. Returns the (few) meldingen that need a timeline: the caller refolds them."""
        cols = {r[1] for r in c.execute("PRAGMA table_info(meldingen)")}
        if "status_timeline" not in cols:
            c.execute("ALTER TABLE meldingen ADD COLUMN status_timeline TEXT")
        if "state" in cols:
            c.execute("ALTER TABLE meldingen DROP COLUMN state")
        rows = c.execute(
            "SELECT melding_id, first_closed_at, closed_at, reopen_count FROM meldingen WHERE first_closed_at IS NOT NULL"
        )
        return [mid for mid, first, closed, reopens in rows if needs_timeline(first, closed, reopens)]

    @staticmethod
    def _migrate_6(c: sqlite3.Connection) -> None:
        """Schema 5 → 6 (idempotent): the projection's ``bron`` column (NULL registered by a person,
        "demo", "import"); rows from before it are NULL too (every melding then was registered by a
        person), so nothing is rewritten."""
        add_projection_columns(c)

    @staticmethod
    def _migrate_5(c: sqlite3.Connection) -> None:
        """Schema 4 → 5 (idempotent): the werkvoorraad columns of issue 14 (behandelaar, team,
        number of melders, who still waits for a call-back), filled as the laptop's migration 8
        fills them (``wijkteam_store.local.werkvoorraad_backfill``)."""
        if add_projection_columns(c):
            werkvoorraad_backfill(c, EVENT_COLUMNS, event_from_row)

    @staticmethod
    def _migrate_4(c: sqlite3.Connection) -> None:
        """Schema 3 → 4 (and the columns of a new file), in the caller's transaction; idempotent."""
        qcols = {r[1] for r in c.execute("PRAGMA table_info(quarantine)")}
        for col, decl in (
            ("code", "TEXT NOT NULL DEFAULT ''"),
            ("melding_id", "TEXT"),
            ("status", f"TEXT NOT NULL DEFAULT '{VerdictState.WAITING}'"),
            ("decided_at", "TEXT"),
            ("decided_by", "TEXT"),
            ("note", "TEXT NOT NULL DEFAULT ''"),
            ("event_type", "TEXT"),
        ):
            if col not in qcols:
                c.execute(f"ALTER TABLE quarantine ADD COLUMN {col} {decl}")
        if "code" not in qcols:
            # Refusals from before the codes: the future-stamp reason is recognisable by its words.
            c.execute(
                "UPDATE quarantine SET code = ? WHERE reason LIKE 'tijdstempel ligt % voor op de serverklok%'",
                (RefusalCode.FUTURE_STAMP.value,),
            )
        dcols = {r[1] for r in c.execute("PRAGMA table_info(devices)")}
        if "last_hlc" not in dcols:
            c.execute("ALTER TABLE devices ADD COLUMN last_hlc INTEGER NOT NULL DEFAULT 0")
            c.execute(
                "UPDATE devices SET last_hlc = coalesce((SELECT max(hlc) FROM events WHERE device_id = devices.device_code), 0)"
            )
        if "reported_seq" not in dcols:
            c.execute("ALTER TABLE devices ADD COLUMN reported_seq INTEGER NOT NULL DEFAULT 0")
        if "reported_at" not in dcols:
            c.execute("ALTER TABLE devices ADD COLUMN reported_at TEXT")
        c.execute("CREATE INDEX IF NOT EXISTS quarantine_melding ON quarantine(melding_id)")

    def log_id(self) -> int:
        """The identity of this event log (a random positive integer, kept in ``server_state``).

        Every push and pull answer carries it. ``wijkteam-server restore`` gives the restored file a
        new one: a laptop that sees the id change re-sends its own events and pulls from the start,
        because the restored log lacks what came after the backup and numbers ``server_seq`` anew
        (docs/server.md, "Backups").
        """
        return self._state("log_id")

    def renew_log_id(self) -> int:
        """Give this log a new identity (after a restore: :meth:`log_id`); returns it."""
        new = _new_log_id()
        with self.write() as w:
            self._set_state(w, "log_id", new)
        return new

    def _state(self, key: str, c: sqlite3.Connection | None = None) -> int:
        row = (c or self.conn()).execute("SELECT value FROM server_state WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _set_state(c: sqlite3.Connection, key: str, value: int) -> None:
        c.execute(
            "INSERT INTO server_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- users, tokens, devices -------------------------------------------------------------------

    def add_user(
        self, name: str, role: Role | str, *, device: str | None = None, actor: str = "(beheer)"
    ) -> tuple[str, str | None]:
        """Create a user and its bearer token.

        Wijkuitvoerder and admin tokens get a device code (the laptop's part of every reference):
        ``device`` when given and free, else the first free one. Device code ``"00"`` is the server's.

        Returns:
            ``(token, device_code)``: the token is shown once and only its sha256 is stored.

        Raises:
            StoreError: unknown role, name taken, device code taken or malformed, or none left.
        """
        try:
            role = Role(role)
        except ValueError:
            raise StoreError(f"Onbekende rol {role!r}; kies uit {', '.join(r.value for r in Role)}.") from None
        name = name.strip()
        if not name:
            raise StoreError("Geef een naam op.")
        token = "wt_" + secrets.token_urlsafe(32)
        with self.write() as c:
            if c.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise StoreError(f"Gebruiker {name!r} bestaat al; trek het oude token in of kies een andere naam.")
            code: str | None = None
            if role in (Role.WIJKUITVOERDER, Role.ADMIN):
                code = self._issue_device(c, name, device)
            elif device:
                raise StoreError("Alleen wijkuitvoerders en beheerders krijgen een apparaatcode.")
            c.execute(
                "INSERT INTO users(name, role, token_hash, device_code, created_at) VALUES (?, ?, ?, ?, ?)",
                (name, role.value, hash_token(token), code, now_iso()),
            )
            self._audit(c, actor, "user_add", None, f"{name} ({role.value}, apparaat {code or '-'})")
        return token, code

    @staticmethod
    def _issue_device(c: sqlite3.Connection, name: str, wanted: str | None) -> str:
        from shared.reference import ALPHABET

        if wanted:
            wanted = wanted.strip().upper()
            if len(wanted) != DEVICE_CODE_WIDTH or any(ch not in ALPHABET for ch in wanted):
                raise StoreError(f"Apparaatcode {wanted!r} is geen 2 tekens uit {ALPHABET}.")
            if c.execute("SELECT 1 FROM devices WHERE device_code = ?", (wanted,)).fetchone():
                raise StoreError(f"Apparaatcode {wanted} is al uitgegeven; een code wordt nooit twee keer gebruikt.")
            code = wanted
        else:
            taken = {r[0] for r in c.execute("SELECT device_code FROM devices")}
            code = next((device_code(n) for n in range(32**DEVICE_CODE_WIDTH) if device_code(n) not in taken), "")
            if not code:
                raise StoreError("Alle apparaatcodes zijn uitgegeven.")
        c.execute("INSERT INTO devices(device_code, user_name, issued_at) VALUES (?, ?, ?)", (code, name, now_iso()))
        return code

    def list_users(self) -> list[UserRow]:
        """All users, revoked ones included, by name."""
        rows = self.conn().execute(
            "SELECT name, role, device_code, created_at, revoked_at FROM users ORDER BY name"
        ).fetchall()
        return [UserRow(*r) for r in rows]

    def revoke_user(self, name: str, *, actor: str = "(beheer)") -> dict[str, Any]:
        """Make ``name``'s token invalid at once. Its device code stays reserved (never issued again).

        Returns:
            :meth:`device_backlog` of the user's device (``{}`` for a user without one): how many of
            that device's events the server has not seen, as far as it knows.

        Raises:
            StoreError: no such user, or already revoked.
        """
        with self.write() as c:
            row = c.execute("SELECT revoked_at, device_code FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise StoreError(f"Gebruiker {name!r} bestaat niet.")
            if row[0]:
                raise StoreError(f"Het token van {name!r} is al ingetrokken.")
            c.execute("UPDATE users SET revoked_at = ? WHERE name = ?", (now_iso(), name))
            self._audit(c, actor, "user_revoke", None, name)
        return self.device_backlog(row[1]) if row[1] else {}

    def rotate_token(self, name: str, *, actor: str = "(beheer)") -> tuple[str, str | None, bool]:
        """A new bearer token for ``name``, for the same device code; the old token stops working at
        once. A revoked user is made active again: that is how a laptop with events still waiting
        under a revoked code delivers them (docs/server.md, "Tokens vervangen").

        Returns:
            ``(token, device_code, was_revoked)``; the token is shown once, only its sha256 is stored.

        Raises:
            StoreError: no such user.
        """
        token = "wt_" + secrets.token_urlsafe(32)
        with self.write() as c:
            row = c.execute("SELECT device_code, revoked_at FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise StoreError(f"Gebruiker {name!r} bestaat niet.")
            c.execute("UPDATE users SET token_hash = ?, revoked_at = NULL WHERE name = ?", (hash_token(token), name))
            self._audit(c, actor, "user_rotate", None, f"{name} (apparaat {row[0] or '-'})")
        return token, row[0], bool(row[1])

    def device_backlog(self, device_code: str) -> dict[str, Any]:
        """What the server knows of a device's work it has not seen (issue 11 §4).

        Every push carries the laptop's own event counter (``PushRequest.device_seq``): the server
        holds (or quarantined) some of those events; the rest it has never seen.

        Returns:
            ``{"device": code, "reported_seq": the laptop's counter at its last push (0: never),
            "reported_at": when, "seen": events of the device the server holds or quarantined,
            "unseen": reported_seq - seen (never below 0)}``. Events made after the last push are
            unknown to the server by nature, so ``unseen`` is a lower bound.
        """
        c = self.conn()
        row = c.execute("SELECT reported_seq, reported_at FROM devices WHERE device_code = ?", (device_code,)).fetchone()
        reported, at = row if row else (0, None)
        seen = c.execute(
            "SELECT count(*) FROM (SELECT device_seq FROM events WHERE device_id = ?"
            " UNION SELECT json_extract(raw, '$.device_seq') FROM quarantine WHERE device_id = ? AND json_valid(raw))",
            (device_code, device_code),
        ).fetchone()[0]
        return {"device": device_code, "reported_seq": reported, "reported_at": at, "seen": seen,
                "unseen": max(0, reported - seen)}  # fmt: skip

    def note_device_seq(self, c: sqlite3.Connection, device_code: str, seq: int) -> None:
        """Record a device's own event counter as its push reported it (in the caller's transaction)."""
        c.execute(
            "UPDATE devices SET reported_seq = max(reported_seq, ?), reported_at = ? WHERE device_code = ?",
            (min(max(seq, 0), 2**62), now_iso(), device_code),
        )

    # -- the server's own reference counter ----------------------------------------------------------

    @staticmethod
    def _highest_server_reference(c: sqlite3.Connection) -> int:
        """The highest counter in a reference of a melding the server registered itself."""
        return highest_counter(
            ref
            for (ref,) in c.execute(
                "SELECT json_extract(payload, '$.reference') FROM events WHERE device_id = ? AND type = 'created'",
                (SERVER_DEVICE,),
            )
        )

    @classmethod
    def read_server_counter(cls, path: str | Path) -> int:
        """The server's own reference counter as a database file (read-only) shows it: the larger of
        its counter and its highest server reference; 0 when the file is not readable as ours."""
        try:
            conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
        except sqlite3.Error:
            return 0
        try:
            row = conn.execute("SELECT value FROM server_state WHERE key = 'server_melding_counter'").fetchone()
            return max(int(row[0]) if row else 0, cls._highest_server_reference(conn))
        except sqlite3.Error:
            return 0
        finally:
            conn.close()

    def raise_server_counter(self, at_least: int) -> int:
        """Move the server's own reference counter (Open311 intake, import, demo) past ``at_least`` and
        past every server reference in its log; never down. Returns the counter now.

        Called by ``restore`` with the replaced database's counter, and by the push route with the
        highest server reference a laptop holds (``PushRequest.server_counter``): so after a restore
        the counter continues past numbers only laptops still hold (issue 11 §4).
        """
        with self.write() as c:
            now = max(self._state("server_melding_counter", c), int(at_least), self._highest_server_reference(c))
            self._set_state(c, "server_melding_counter", now)
        return now

    def server_counter(self) -> int:
        """The last reference counter the server used itself."""
        return self._state("server_melding_counter")

    def token_info(self, token: str) -> TokenInfo | None:
        """The user a bearer token belongs to, or ``None`` when unknown or revoked."""
        if not token:
            return None
        row = self.conn().execute(
            "SELECT name, role, device_code FROM users WHERE token_hash = ? AND revoked_at IS NULL",
            (hash_token(token),),
        ).fetchone()
        return TokenInfo(row[0], Role(row[1]), row[2]) if row else None

    # -- audit ------------------------------------------------------------------------------------

    @staticmethod
    def _audit(c: sqlite3.Connection, actor: str, action: str, melding_id: str | None, detail: str = "") -> None:
        c.execute(
            "INSERT INTO audit(at, actor, action, melding_id, detail) VALUES (?, ?, ?, ?, ?)",
            (now_iso(), actor, action, melding_id, detail),
        )

    def audit_many(self, actor: str, action: str, entries: Sequence[tuple[str | None, str]]) -> None:
        """Record several ``(melding_id, detail)`` entries of one actor and action in one transaction."""
        at = now_iso()
        with self.write() as c:
            c.executemany(
                "INSERT INTO audit(at, actor, action, melding_id, detail) VALUES (?, ?, ?, ?, ?)",
                [(at, actor, action, mid, detail) for mid, detail in entries],
            )

    def audit(self, actor: str, action: str, melding_id: str | None = None, detail: str = "") -> None:
        """Record who did what (e.g. read a melding's personal data), in its own transaction."""
        with self.write() as c:
            self._audit(c, actor, action, melding_id, detail)

    # -- sync: push --------------------------------------------------------------------------------

    def ingest(
        self,
        events: Sequence[Event],
        quarantine: Sequence[QuarantineEntry] = (),
        *,
        pushed_by: str = "",
        fault: Callable[[str], None] | None = None,
        judge_time: bool = False,
        reported: tuple[str, int] | None = None,
        seen: tuple[int, int] | None = None,
    ) -> IngestResult:
        """Store a push: new events get the next ``server_seq``; known ``event_id``s are skipped;
        refused events go to the quarantine; the projection of every touched melding is refolded;
        reference clashes are flagged; the server's HLC merges the new stamps. One ``BEGIN IMMEDIATE``
        transaction, committed with ``synchronous=FULL`` before this returns (so before the ack).
        ``fault`` (crash tests only) is called with ``"push-before-commit"`` and ``"push-after-commit"``.
        ``reported``: ``(device code, its own event counter)`` from the push (:meth:`device_backlog`).

        The caller has validated ``events`` (``sync_server.routes.sync`` does: decoding, device,
        ``shared.trust.judge_arrival``). Here, against what the server holds (DESIGN.md, "Authority
        and time"), an event is quarantined when:

        * its ``event_id`` is stored with other content (``conflicting``; a retried push with the
          same content is a duplicate, and so is the original of an event the admin released);
        * it is a ``created`` for a melding the server has (``duplicate_created``), or belongs to a
          melding whose ``created`` is quarantined (``created_refused``; rejected with it when the
          ``created`` was rejected);
        * with ``judge_time`` (the push route sets it; loaders of known history such as tests and
          benchmarks do not): ``shared.trust.judge_history`` refuses it (before its melding's
          ``created``, before that device's latest pushed stamp, before the device code was issued).

        A re-pushed event that is already in the quarantine is reported as quarantined again.

        Personal data (issue 16, ``shared.avg``): ``seen`` is the laptop's ``(pull cursor, server log
        id)``. An event of a melding the server erased after that cursor (or in another log) is
        *deferred*: neither stored nor refused, because it may carry values the server erased and no
        longer knows. A client that sends no log id (older software, which would not send a deferred
        event again) has such events stored blanked instead (no text, no melder). Other events of erased meldingen are stored scrubbed (``scrub_event``), a known
        id counts as the same event when it is the same once both are blanked (``blank_event``), and
        a quarantine entry of an erased melding keeps only the blanked event. A ``reporter_anonymised``
        in the push erases its melding here as the CLI does (:meth:`erase`). ``seen`` None (loaders of
        known history, tests): nothing is deferred.
        """
        result = IngestResult()
        received = now_iso()
        erased_now = False
        with self.write() as c:
            # Refused by the route's checks, but released by the admin since: a duplicate (the
            # laptop's original of a restamped event; it takes the stored version at its pull).
            earlier = self._quarantine_by_id(c, [q.event_id for q in quarantine])
            released_ids = {i for i, q in earlier.items() if q[2] == VerdictState.RELEASED}
            result.quarantined = [q for q in quarantine if q.event_id not in released_ids]
            unique: dict[str, Event] = {}
            for e in events:
                unique.setdefault(e.event_id, e)
            # Erased meldingen: what the server holds, and what this push erases.
            erased = self._erasures(
                c, sorted({e.melding_id for e in unique.values()} | {q.melding_id for q in quarantine if q.melding_id})
            )
            if seen is not None and seen[1] == 0 and erased:
                # A client that does not say which log it pulled (software from before issue 16) would
                # not send a deferred event again: keep its events of erased meldingen without texts.
                unique = {i: blank_event(e) if e.melding_id in erased else e for i, e in unique.items()}
            elif seen is not None:
                cursor = seen[0] if seen[1] == self._state("log_id", c) else 0
                late = {mid for mid, (_, seq) in erased.items() if seq > cursor}
                result.deferred = [i for i, e in unique.items() if e.melding_id in late]
                for i in result.deferred:
                    del unique[i]
                result.quarantined = [q for q in result.quarantined if q.melding_id not in late]
            pushed_erasure = {mid: erasure_of(evs) for mid, evs in _by_melding(unique.values()).items()}
            scrub_for = {mid: kind for mid, (kind, _) in erased.items()}
            for mid, kind in pushed_erasure.items():
                if kind is not None and scrub_for.get(mid) != Erasure.PURGED:
                    scrub_for[mid] = kind
            if scrub_for:
                values = {mid: personal_values(evs) for mid, evs in _by_melding(unique.values()).items()}
                unique = {
                    i: scrub_event(e, scrub_for[e.melding_id], values[e.melding_id]) if e.melding_id in scrub_for else e
                    for i, e in unique.items()
                }
                result.quarantined = [_blanked(q) if q.melding_id in scrub_for else q for q in result.quarantined]
            ids = list(unique)
            stored = self._stored_by_id(c, ids)
            held = self._quarantine_by_id(c, ids)
            known: set[str] = set()
            fresh: list[Event] = []
            for i in ids:
                e = unique[i]
                q = held.get(i)
                if i in stored:
                    same = _same_event(stored[i], e) or (
                        e.melding_id in scrub_for and _same_event(blank_event(stored[i]), blank_event(e))
                    )
                    if same or (q is not None and q[2] == VerdictState.RELEASED):
                        known.add(i)
                    else:
                        raw = blank_event(e) if e.melding_id in scrub_for else e
                        result.quarantined.append(
                            QuarantineEntry(
                                i, "dit event_id staat al op de server met een andere inhoud",
                                _json_encode(raw).decode(), e.device_id, RefusalCode.CONFLICTING, e.melding_id, e.type,
                            )
                        )  # fmt: skip
                elif q is not None:
                    result.quarantined.append(QuarantineEntry(i, q[1], "", e.device_id, q[0], e.melding_id, e.type))
                else:
                    fresh.append(e)
            # A ``created`` the route refused in this same push is not in the quarantine table yet:
            # the events of its melding wait on it as on one refused earlier.
            refused_here = {
                q.melding_id for q in result.quarantined if q.event_type == EventType.CREATED and q.melding_id
            }
            new = self._judge(c, fresh, result, judge_time, blank=set(scrub_for), refused_here=refused_here)
            groups: dict[str, list[Event]] = {}
            for e in new:
                groups.setdefault(e.melding_id, []).append(e)
            existing = self._meldingen_with_events(c, list(groups))
            c.executemany(
                _INSERT_EVENT,
                [
                    (
                        e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type,
                        _json_encode(e.payload).decode(), e.user, e.prev, e.schema, received, pushed_by,
                    )
                    for e in new
                ],
            )
            result.stored = [e.event_id for e in new]
            result.duplicates = [e.event_id for e in events if e.event_id in known] + [
                q.event_id for q in quarantine if q.event_id in released_ids
            ]
            if result.quarantined:
                self._insert_quarantine(c, result.quarantined, received, pushed_by)
            # A laptop's anonymisation: erase its melding's stored events, as the CLI does.
            newly = sorted({e.melding_id for e in new if e.type in ERASING_EVENTS})
            if newly:
                self._erased(c, [e for e in new if e.type in ERASING_EVENTS], newly)
                result.erased = newly
                erased_now = True
            # Meldingen new to the server are folded from the pushed events in memory; others are
            # refolded from everything stored (their older events are not in this push).
            self._refold(c, sorted(existing))
            self._write_projection(c, [fold(groups[m], history=False) for m in groups if m not in existing])
            created = [e for e in new if e.type == EventType.CREATED]
            if created:
                self._flag_clashes(c, created)
            if new:
                self.hlc.recv(max(e.hlc for e in new))
            result.server_hlc = self.hlc.now()
            self._set_state(c, "hlc_last", result.server_hlc)
            if reported is not None and reported[1]:
                self.note_device_seq(c, *reported)
            if fault:
                fault("push-before-commit")
        if fault:
            fault("push-after-commit")
        if erased_now:
            self.secure_cleanup()
        return result

    def _judge(
        self, c: sqlite3.Connection, events: list[Event], result: IngestResult, judge_time: bool,
        blank: set[str] | frozenset[str] = frozenset(), refused_here: set[str] | frozenset[str] = frozenset(),
    ) -> list[Event]:  # fmt: skip
        """The events of a push that are new to the server, judged against what it holds (see
        :meth:`ingest`): returns those to store, appends the refused ones to ``result.quarantined``
        (blanked for the meldingen in ``blank``: erased ones), and moves each device's ``last_hlc``
        past its stored stamps. ``refused_here``: meldingen whose ``created`` the route refused in
        this push (their other events are ``created_refused`` unless the server has a ``created``)."""
        if not events:
            return []
        mids = sorted({e.melding_id for e in events})
        created_hlc: dict[str, int] = {}
        refused_created: dict[str, str] = {}
        for chunk in _chunks(mids):
            qs = ",".join("?" * len(chunk))
            created_hlc.update(
                c.execute(
                    f"SELECT melding_id, min(hlc) FROM events WHERE type = 'created' AND melding_id IN ({qs}) "
                    "GROUP BY melding_id",
                    chunk,
                )
            )
            refused_created.update(
                c.execute(
                    f"SELECT melding_id, status FROM quarantine WHERE event_type = 'created' "
                    f"AND status != ? AND melding_id IN ({qs})",
                    (VerdictState.RELEASED.value, *chunk),
                )
            )
        for mid in refused_here:
            refused_created.setdefault(mid, VerdictState.WAITING)
        devices: dict[str, list[Any]] = {}
        for code in sorted({e.device_id for e in events}):
            row = c.execute("SELECT last_hlc, issued_at FROM devices WHERE device_code = ?", (code,)).fetchone()
            devices[code] = [row[0], _iso_ms(row[1])] if row else [0, None]
        accepted: list[Event] = []
        for e in events:
            refusal: Refusal | None = None
            status = VerdictState.WAITING
            if e.type == EventType.CREATED and e.melding_id in created_hlc:
                refusal = Refusal(RefusalCode.DUPLICATE_CREATED, "de server heeft deze melding al; een tweede registratie wordt nooit overgenomen")
            elif e.melding_id in refused_created and e.melding_id not in created_hlc:
                refusal = Refusal(RefusalCode.CREATED_REFUSED, "de registratie van deze melding staat in quarantaine")
                if refused_created[e.melding_id] == VerdictState.REJECTED:
                    status = VerdictState.REJECTED
            elif judge_time:
                last, issued = devices[e.device_id]
                refusal = judge_history(e, created_hlc=created_hlc.get(e.melding_id), device_last_hlc=last, issued_ms=issued)
            if refusal is not None:
                if e.type == EventType.CREATED and e.melding_id not in created_hlc:
                    refused_created[e.melding_id] = VerdictState.WAITING
                raw = blank_event(e) if e.melding_id in blank else e
                result.quarantined.append(
                    QuarantineEntry(
                        e.event_id, refusal.reason, _json_encode(raw).decode(), e.device_id, refusal.code,
                        e.melding_id, e.type, status,
                    )
                )  # fmt: skip
                continue
            accepted.append(e)
            devices[e.device_id][0] = max(devices[e.device_id][0], e.hlc)
            if e.type == EventType.CREATED:
                created_hlc[e.melding_id] = e.hlc
        c.executemany(
            "UPDATE devices SET last_hlc = max(last_hlc, ?) WHERE device_code = ?",
            [(last, code) for code, (last, _) in devices.items()],
        )
        return accepted

    @staticmethod
    def _insert_quarantine(
        c: sqlite3.Connection, entries: Sequence[QuarantineEntry], received: str, pushed_by: str
    ) -> None:
        now = now_iso()
        c.executemany(
            "INSERT INTO quarantine(event_id, device_id, reason, raw, received_at, pushed_by, code, melding_id,"
            " event_type, status, decided_at, decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(event_id) DO NOTHING",
            [
                (
                    q.event_id, q.device_id, q.reason, q.raw, received, pushed_by, q.code, q.melding_id, q.event_type,
                    q.status, now if q.status != VerdictState.WAITING else None,
                    "(automatisch)" if q.status != VerdictState.WAITING else None,
                )
                for q in entries
                if q.raw  # a re-reported entry (already in the quarantine) has no raw text
            ],
        )  # fmt: skip

    @staticmethod
    def _stored_by_id(c: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Event]:
        """The stored events among ``ids``, by id."""
        out: dict[str, Event] = {}
        cols = ", ".join(f'"{x}"' for x in EVENT_COLUMNS)
        for chunk in _chunks(ids):
            qs = ",".join("?" * len(chunk))
            for r in c.execute(f"SELECT {cols} FROM events WHERE event_id IN ({qs})", chunk):
                out[r[0]] = event_from_row(r)
        return out

    @staticmethod
    def _quarantine_by_id(c: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """Quarantine entries among ``ids``: ``{event_id: (code, reason, status)}``."""
        out: dict[str, tuple[str, str, str]] = {}
        for chunk in _chunks(ids):
            qs = ",".join("?" * len(chunk))
            for r in c.execute(f"SELECT event_id, code, reason, status FROM quarantine WHERE event_id IN ({qs})", chunk):
                out[r[0]] = (r[1], r[2], r[3])
        return out

    @staticmethod
    def _meldingen_with_events(c: sqlite3.Connection, melding_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(melding_ids):
            qs = ",".join("?" * len(chunk))
            found.update(r[0] for r in c.execute(f"SELECT DISTINCT melding_id FROM events WHERE melding_id IN ({qs})", chunk))
        return found

    @staticmethod
    def _write_projection(c: sqlite3.Connection, meldingen: Iterable[Any]) -> None:
        rows = [projection_row(m) for m in meldingen if m is not None]
        c.executemany(_UPSERT, [tuple(r.values()) for r in rows])
        write_summary(c, rows)

    def _refold(self, c: sqlite3.Connection, melding_ids: Sequence[str]) -> None:
        for chunk in _chunks(melding_ids):
            qs = ",".join("?" * len(chunk))
            groups: dict[str, list[Event]] = {}
            cols = ", ".join(f'"{x}"' for x in EVENT_COLUMNS)
            for row in c.execute(f"SELECT {cols} FROM events WHERE melding_id IN ({qs})", chunk):
                groups.setdefault(row[1], []).append(event_from_row(row))
            rows = []
            for evs in groups.values():
                m = fold(evs, history=False)
                if m is not None:
                    rows.append(projection_row(m))
            c.executemany(_UPSERT, [tuple(r.values()) for r in rows])
            write_summary(c, rows)

    def _flag_clashes(self, c: sqlite3.Connection, created: Iterable[Event]) -> None:
        refs: dict[str, set[str]] = {}
        for e in created:
            ref = e.payload.get("reference")
            if isinstance(ref, str):
                refs.setdefault(ref, set()).add(e.melding_id)
        if not refs:
            return
        holders: dict[str, set[str]] = {}
        for chunk in _chunks(list(refs)):
            qs = ",".join("?" * len(chunk))
            for ref, mid in c.execute(f"SELECT reference, melding_id FROM meldingen WHERE reference IN ({qs})", chunk):
                holders.setdefault(ref, set()).add(mid)
        now = now_iso()
        rows = [
            (ref, mid, other, now)
            for ref, mids in refs.items()
            for mid in sorted(mids)
            for other in sorted(holders.get(ref, set()) - {mid})
        ]
        c.executemany(
            "INSERT INTO reference_clashes(reference, melding_id, other_melding_id, detected_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )

    def append_server_events(
        self,
        user: str,
        build: Callable[[DeviceClock, Callable[[], int]], list[Event]],
        *,
        after: Callable[[sqlite3.Connection, list[Event]], None] | None = None,
        cleanup: bool = True,
    ) -> list[Event]:
        """Make and store events on the server itself (device ``SERVER_DEVICE``, e.g. Open311 intake).

        ``build(dev, next_counter)`` is called inside the write transaction with the server's
        :class:`~shared.commands.DeviceClock` and a function returning the server's next melding
        counter (for ``shared.commands.register``); the events it returns are stored like a push, so
        they sync to every laptop. If ``build`` raises (e.g. ``ValidationError``) nothing is stored.
        ``after(c, events)`` runs in the same transaction once the events are stored (e.g. the
        import's bookkeeping of which rows it took); if it raises, nothing is stored either.

        Erasing events among them (``shared.avg.ERASING_EVENTS``) erase their meldingen's stored values
        in the same transaction, then (``cleanup``, default) :meth:`secure_cleanup`.
        """
        with self.write() as c:
            seq = self._state("server_device_seq", c)
            counter = [self._state("server_melding_counter", c)]

            def next_counter() -> int:
                counter[0] += 1
                return counter[0]

            dev = DeviceClock(SERVER_DEVICE, user, seq, self.hlc)
            events = build(dev, next_counter)
            self._set_state(c, "server_device_seq", dev.seq)
            self._set_state(c, "server_melding_counter", counter[0])
            received = now_iso()
            c.executemany(
                _INSERT_EVENT,
                [
                    (
                        e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type,
                        _json_encode(e.payload).decode(), e.user, e.prev, e.schema, received, user,
                    )
                    for e in events
                ],
            )
            erasing = [e for e in events if e.type in ERASING_EVENTS]
            if erasing:
                self._erased(c, erasing, sorted({e.melding_id for e in erasing}))
            self._refold(c, sorted({e.melding_id for e in events}))
            self._flag_clashes(c, [e for e in events if e.type == EventType.CREATED])
            self._set_state(c, "hlc_last", self.hlc.peek())
            if after is not None:
                after(c, events)
        if erasing and cleanup:
            self.secure_cleanup()
        return events

    # -- personal data: erasure (issue 16) -----------------------------------------------------------

    def journal_path(self) -> Path:
        """The erasure journal, ``<database>.wissingen``: one line per erasing event as stored (JSON,
        its values already erased: no personal data). ``wijkteam-server restore`` applies it again to
        the restored database (:meth:`reapply_journal`), so a restore from a backup never brings an
        erased value back into use (docs/privacy.md, "Reservekopieën")."""
        return self.path.with_name(self.path.name + ".wissingen")

    def erasure_seq(self) -> int:
        """The highest ``server_seq`` of an erasing event (0: none): a laptop snapshot older than
        this holds erased values and is neither served nor kept (``sync_server.snapshot``)."""
        return self._state("erasure_seq")

    @staticmethod
    def _erasures(c: sqlite3.Connection, melding_ids: Sequence[str]) -> dict[str, tuple[Erasure, int]]:
        """The erased meldingen among ``melding_ids``: ``{melding_id: (strongest erasure, highest
        server_seq of an erasing event)}``."""
        out: dict[str, tuple[Erasure, int]] = {}
        kinds = list(ERASING_EVENTS)
        for chunk in _chunks(list(melding_ids)):
            qs = ",".join("?" * len(chunk))
            for mid, type_, seq in c.execute(
                f"SELECT melding_id, type, max(server_seq) FROM events WHERE melding_id IN ({qs}) "
                f"AND type IN ({','.join('?' * len(kinds))}) GROUP BY melding_id, type",
                (*chunk, *kinds),
            ):
                kind = ERASING_EVENTS[type_]
                before = out.get(mid)
                strongest = Erasure.PURGED if Erasure.PURGED in (kind, before[0] if before else None) else kind
                out[mid] = (strongest, max(seq, before[1] if before else 0))
        return out

    def _erased(self, c: sqlite3.Connection, erasing: Sequence[Event], melding_ids: Sequence[str]) -> None:
        """In the caller's transaction, after ``erasing`` events were stored: journal them, rewrite the
        stored events and quarantine entries of ``melding_ids`` without the erased values, scrub the
        audit and the quarantine of any raw trace of them, and note the erasure's ``server_seq``.
        The caller refolds the meldingen and, after the commit, calls :meth:`secure_cleanup`."""
        self._journal(erasing)
        values = self._rewrite(c, melding_ids)
        self._sweep(c, values, melding_ids)
        self._set_state(
            c, "erasure_seq", max(self._state("erasure_seq", c), max((s for _, s in self._erasures(c, melding_ids).values()), default=0))
        )

    def _journal(self, erasing: Sequence[Event]) -> None:
        if not erasing:
            return
        path = self.journal_path()
        with path.open("ab") as f:
            for e in erasing:
                f.write(encode_event(e) + b"\n")
            f.flush()
            os.fsync(f.fileno())

    def _rewrite(self, c: sqlite3.Connection, melding_ids: Sequence[str]) -> PersonalValues:
        """Rewrite the stored events (in place: same ``server_seq``, same id) and the quarantine entries
        of erased meldingen with ``shared.avg.scrub_event``; returns every value erased."""
        erasures = self._erasures(c, melding_ids)
        cols = ", ".join(f'"{x}"' for x in EVENT_COLUMNS)
        found = PersonalValues()
        for mid, (kind, _) in erasures.items():
            rows = c.execute(f"SELECT server_seq, {cols} FROM events WHERE melding_id = ?", (mid,)).fetchall()
            evs = [(r[0], event_from_row(r[1:])) for r in rows]
            values = personal_values(e for _, e in evs)
            found = found | values
            updates = []
            for seq, e in evs:
                scrubbed = scrub_event(e, kind, values)
                if scrubbed is not e:
                    updates.append((_json_encode(scrubbed.payload).decode(), seq))
            c.executemany("UPDATE events SET payload = ? WHERE server_seq = ?", updates)
            for qid, raw in c.execute("SELECT id, raw FROM quarantine WHERE melding_id = ?", (mid,)).fetchall():
                entry = _blanked(QuarantineEntry("", "", raw))
                if entry.raw != raw:
                    c.execute("UPDATE quarantine SET raw = ? WHERE id = ?", (entry.raw, qid))
        return found

    @staticmethod
    def _sweep(c: sqlite3.Connection, values: PersonalValues, melding_ids: Sequence[str]) -> None:
        """Remove ``values`` wherever else text is kept verbatim: the details of the audit entries about
        these meldingen or about none (admin actions, exports: the only details a person types; the
        other entries are reads of other meldingen, written by the server), and the raw text of
        every quarantine entry (an unreadable push names no melding)."""
        strings = values.strings()
        if not strings:
            return
        # SQLite's LIKE (case-insensitive for ASCII) finds the candidate rows in C; Python rewrites them.
        like = "(" + " OR ".join(["{col} LIKE ? ESCAPE '\\'"] * len(strings)) + ")"
        args = ["%" + x.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for x in strings]
        ids = _json_encode(list(melding_ids)).decode()
        for table, col, where, extra in (
            ("audit", "detail", "(melding_id IS NULL OR melding_id IN (SELECT value FROM json_each(?))) AND ", [ids]),
            ("quarantine", "raw", "", []),
        ):
            rows = c.execute(f"SELECT id, {col} FROM {table} WHERE {where}{like.format(col=col)}", [*extra, *args]).fetchall()
            c.executemany(f"UPDATE {table} SET {col} = ? WHERE id = ?", [(scrub_raw(text, values), rid) for rid, text in rows])

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it to zero bytes (``wal_checkpoint(TRUNCATE)``),
        so erased values in old WAL frames leave the disk. Waits for readers up to the busy timeout;
        returns False when a reader kept it from finishing (the next one will)."""
        try:
            busy, _, _ = self.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error:
            return False
        return busy == 0

    def secure_cleanup(self) -> bool:
        """After an erasure: merge the full-text index into one segment (FTS5 ``optimize``: a rewritten
        row otherwise leaves its old tokens in older segments), then :meth:`checkpoint`. With
        ``secure_delete`` the freed pages are zeros. Returns what :meth:`checkpoint` returns."""
        with self.write() as c:
            c.execute("INSERT INTO meldingen_fts(meldingen_fts) VALUES ('optimize')")
        return self.checkpoint()

    def erase(self, melding_ids: Sequence[str], event_type: EventType, reden: str, *, actor: str) -> list[Event]:
        """Anonymise the melder of (``reporter_anonymised``) or remove (``purged``) each melding, as
        server-made events (:meth:`append_server_events`, device ``00``) that reach every laptop at
        its next sync; their stored values are rewritten at once (module ``shared.avg``).

        Idempotent: a melding already erased that far, or unknown, is skipped. Works in transactions of
        a few hundred meldingen (pushes wait for less than a second each), then
        :meth:`secure_cleanup` once.

        Returns:
            The erasing events made.

        Raises:
            ValidationError: ``reden`` too long.
        """
        from shared.commands import anonymise_reporter, purge

        make = purge if event_type == EventType.PURGED else anonymise_reporter
        wanted = Erasure.PURGED if event_type == EventType.PURGED else Erasure.ANONYMISED
        made: list[Event] = []
        for chunk in _chunks(list(dict.fromkeys(melding_ids)), 200):

            def build(dev: DeviceClock, _next: Callable[[], int], chunk: Sequence[str] = chunk) -> list[Event]:
                c = self.conn()
                done = self._erasures(c, chunk)
                out = []
                for mid in chunk:
                    if done.get(mid, (None,))[0] in (wanted, Erasure.PURGED):
                        continue
                    state = fold(self._events_in(c, mid), history=False)
                    if state is not None:
                        out.append(make(dev, state, reden))
                return out

            made += self.append_server_events(actor, build, cleanup=False)
        if made:
            self.secure_cleanup()
        return made

    def reapply_journal(self) -> int:
        """Store again every erasing event of :meth:`journal_path` this database lacks (after a restore
        from a backup made before it) and erase its melding; returns how many. An event whose melding
        the backup does not hold yet is stored too: when a laptop sends that melding again, the server
        defers it until the laptop has the erasure (:meth:`ingest`)."""
        path = self.journal_path()
        if not path.is_file():
            return 0
        journal: list[Event] = []
        for line in path.read_bytes().splitlines():
            try:
                journal.append(decode_event(line))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # a torn last line after a crash
        with self.write() as c:
            missing = [e for e in journal if e.event_id not in self._stored_by_id(c, [e.event_id])]
            if not missing:
                return 0
            received = now_iso()
            c.executemany(
                _INSERT_EVENT,
                [
                    (
                        e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type,
                        _json_encode(e.payload).decode(), e.user, e.prev, e.schema, received, "(wissingen-journaal)",
                    )
                    for e in missing
                ],
            )  # fmt: skip
            own = max((e.device_seq for e in missing if e.device_id == SERVER_DEVICE), default=0)
            self._set_state(c, "server_device_seq", max(self._state("server_device_seq", c), own))
            self.hlc.recv(max(e.hlc for e in missing))
            self._set_state(c, "hlc_last", self.hlc.peek())
            mids = sorted({e.melding_id for e in missing})
            values = self._rewrite(c, mids)
            self._sweep(c, values, mids)
            self._set_state(c, "erasure_seq", max(s for _, s in self._erasures(c, mids).values()))
            self._refold(c, mids)
            self._audit(c, "(beheer)", "avg_journaal", None, f"{len(missing)} wissing(en) opnieuw toegepast na terugzetten")
        self.secure_cleanup()
        return len(missing)

    def retention_candidates(self) -> list[dict[str, Any]]:
        """Projection rows that a retention rule may concern (``shared.avg.retention_due``'s columns):
        closed or deleted meldingen, with ``purged`` 1 when a ``purged`` event is held."""
        cur = self.conn().execute(
            "SELECT melding_id, reference, status, is_open, closed_at, deleted, updated_hlc, melder_naam, "
            "melder_telefoon, melder_email, EXISTS (SELECT 1 FROM events e WHERE e.melding_id = m.melding_id "
            "AND e.type = 'purged') AS purged FROM meldingen m WHERE (is_open = 0 AND closed_at IS NOT NULL) OR deleted = 1"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur]

    def find_person(self, wanted: PersonalValues) -> dict[str, str]:
        """Every melding holding personal data of the person ``wanted`` describes
        (``shared.avg.person``), in any stored event, current or overwritten:
        ``{melding_id: "melder"}`` where they are (or were) a melder, ``"genoemd"`` where only a text
        mentions them (``shared.avg.mentions``). Reads every event whose raw payload passes
        ``shared.avg.search_needles`` (one scan of ``events``; seconds on a million meldingen)."""
        conds, args = [], []
        stripped = "payload"
        for ch in (" ", "-", ".", "(", ")", "/"):
            stripped = f"replace({stripped}, '{ch}', '')"
        for needle, digits in search_needles(wanted):
            conds.append(f"{stripped} LIKE ? ESCAPE '\\'" if digits else "payload LIKE ? ESCAPE '\\'")
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.append(f"%{escaped}%")
        if not conds:
            return {}
        cols = ", ".join(f'"{x}"' for x in EVENT_COLUMNS)
        found: dict[str, str] = {}
        for row in self.conn().execute(f"SELECT {cols} FROM events WHERE {' OR '.join(conds)}", args):
            e = event_from_row(row)
            if any(melder_matches(m, wanted) for m in event_melders(e)):
                found[e.melding_id] = "melder"
            elif any(mentions(t, wanted) for t in event_texts(e)):
                found.setdefault(e.melding_id, "genoemd")
        return found

    def quarantine_holding(self, wanted: PersonalValues) -> list[dict[str, Any]]:
        """Quarantine entries whose raw text holds the person ``wanted`` describes (as :meth:`list_quarantine`)."""
        out = []
        for q in self.list_quarantine():
            try:
                e = decode_event(q["raw"])
            except (msgspec.DecodeError, msgspec.ValidationError):
                if mentions(q["raw"], wanted):
                    out.append(q)
                continue
            if any(melder_matches(m, wanted) for m in event_melders(e)) or any(mentions(t, wanted) for t in event_texts(e)):
                out.append(q)
        return out

    # -- sync: pull --------------------------------------------------------------------------------

    def pull(self, after: int, limit: int, max_bytes: int = MAX_PULL_BYTES) -> tuple[list[PulledEvent], int, bool]:
        """Events with ``server_seq > after`` in ``server_seq`` order, at most ``limit`` and about
        ``max_bytes`` of event text (payload plus a fixed envelope allowance per event; always at
        least one event, so a page always moves on).

        Returns:
            ``(events, next_after, has_more)``; ``next_after`` is the last ``server_seq`` returned (or
            ``after`` when none).
        """
        rows = self.conn().execute(
            f"SELECT {_EVENT_SELECT} FROM events WHERE server_seq > ? ORDER BY server_seq LIMIT ?",
            (after, limit + 1),
        ).fetchall()
        has_more = len(rows) > limit
        rows = rows[:limit]
        size = 0
        for i, r in enumerate(rows):  # r[7] is the payload's JSON text
            size += len(r[7]) + _ENVELOPE_BYTES
            if size > max_bytes and i > 0:
                rows, has_more = rows[:i], True
                break
        out = [PulledEvent(server_seq=r[0], event=event_from_row(r[1:])) for r in rows]
        return out, (rows[-1][0] if rows else after), has_more

    def projection_as_of(self, melding_ids: Sequence[str], seq: int) -> list[tuple[Any, ...]]:
        """The projection rows (values of ``COLUMNS`` in order) of those of ``melding_ids`` that have
        no event after ``server_seq`` ``seq``: for them the row is what a laptop holding the log up to
        ``seq`` computes (``shared.protocol.PullResponse.rows``). One statement, so one consistent
        read even while pushes commit."""
        if not melding_ids:
            return []
        cols = ", ".join(f'm."{c}"' for c in COLUMNS)
        return self.conn().execute(
            f"SELECT {cols} FROM meldingen m WHERE m.melding_id IN (SELECT value FROM json_each(?))"
            " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.melding_id = m.melding_id AND e.server_seq > ?)",
            (_json_encode(list(melding_ids)).decode(), seq),
        ).fetchall()

    # -- reads for admins and other modules ---------------------------------------------------------

    def events_of(self, melding_id: str) -> list[Event]:
        """Every stored event of one melding (in ``server_seq`` order)."""
        cols = ", ".join(f'"{x}"' for x in EVENT_COLUMNS)
        rows = self.conn().execute(
            f"SELECT {cols} FROM events WHERE melding_id = ? ORDER BY server_seq", (melding_id,)
        ).fetchall()
        return [event_from_row(r) for r in rows]

    def all_events(self) -> Iterator[Event]:
        """Every stored event in ``server_seq`` order (streams; for checks and exports)."""
        cols = ", ".join(f'"{x}"' for x in EVENT_COLUMNS)
        for r in self.conn().execute(f"SELECT {cols} FROM events ORDER BY server_seq"):
            yield event_from_row(r)

    def melding(self, melding_id: str) -> Melding | None:
        """The current state of one melding, history included (the fold of its stored events), or
        ``None`` when no ``created`` event of it is stored."""
        return fold(self.events_of(melding_id))

    def projection(self, melding_id: str) -> dict[str, Any] | None:
        """The projection row of one melding as ``{column: value}``, or ``None``."""
        c = self.conn()
        cur = c.execute("SELECT * FROM meldingen WHERE melding_id = ?", (melding_id,))
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    _QUARANTINE_COLS = (
        "id, event_id, device_id, melding_id, event_type, code, reason, status, received_at, pushed_by,"
        " decided_at, decided_by, note, raw"
    )

    def list_quarantine(self, *, status: str | None = None) -> list[dict[str, Any]]:
        """The quarantine, oldest first: ``{id, event_id, device_id, melding_id, event_type, code,
        reason, status, received_at, pushed_by, decided_at, decided_by, note, raw}``; ``status``
        (a ``shared.protocol.VerdictState`` value) filters."""
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        cur = self.conn().execute(f"SELECT {self._QUARANTINE_COLS} FROM quarantine {where} ORDER BY id", args)
        return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur]

    def quarantine_entry(self, qid: int) -> dict[str, Any] | None:
        """One quarantine entry by its number (as :meth:`list_quarantine`), or None."""
        cur = self.conn().execute(f"SELECT {self._QUARANTINE_COLS} FROM quarantine WHERE id = ?", (qid,))
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def verdicts(self, device_code: str, event_ids: Sequence[str]) -> list[Verdict]:
        """The admin's verdict on each of ``event_ids`` that ``device_code`` pushed and the server
        quarantined (``unknown`` for ids it has not quarantined from that device), in the asked order."""
        found: dict[str, Verdict] = {}
        c = self.conn()
        for chunk in _chunks(list(event_ids)):
            qs = ",".join("?" * len(chunk))
            for eid, status, note in c.execute(
                f"SELECT event_id, status, note FROM quarantine WHERE device_id = ? AND event_id IN ({qs})",
                (device_code, *chunk),
            ):
                found[eid] = Verdict(eid, status, note or "")
            released = [e for e, v in found.items() if v.state == VerdictState.RELEASED and e in chunk]
            if released:
                rq = ",".join("?" * len(released))
                for eid, hlc in c.execute(f"SELECT event_id, hlc FROM events WHERE event_id IN ({rq})", released):
                    found[eid].hlc = hlc
        return [found.get(e) or Verdict(e, VerdictState.UNKNOWN.value) for e in event_ids]

    def _decide(
        self, c: sqlite3.Connection, qid: int, *, every_dependant: bool = False
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The waiting entry ``qid`` and, for a ``created`` of a melding the server has no
        ``created`` for, the waiting entries that go with it: those refused because it waits
        (``created_refused``), or with ``every_dependant`` (a rejection) every waiting entry of its
        melding that is not a ``created`` — whatever its own reason (an edit refused for its own
        future stamp in the same push as its ``created``, say), none of them can ever be stored
        once its ``created`` is rejected."""
        cur = c.execute(f"SELECT {self._QUARANTINE_COLS} FROM quarantine WHERE id = ?", (qid,))
        row = cur.fetchone()
        if row is None:
            raise StoreError(f"Quarantaine-nummer {qid} bestaat niet (zie 'wijkteam-server quarantine list').")
        entry = dict(zip([d[0] for d in cur.description], row, strict=True))
        if entry["status"] != VerdictState.WAITING:
            raise StoreError(f"Over nummer {qid} is al besloten ({entry['status']}, {entry['decided_at']}).")
        deps: list[dict[str, Any]] = []
        mid = entry["melding_id"]
        if entry["event_type"] == EventType.CREATED and mid and not self._has_created(c, mid):
            which = "event_type != 'created'" if every_dependant else "code = ?"
            args = () if every_dependant else (RefusalCode.CREATED_REFUSED.value,)
            cur = c.execute(
                f"SELECT {self._QUARANTINE_COLS} FROM quarantine WHERE melding_id = ? AND {which} AND status = ? "
                "AND id != ? ORDER BY id",
                (mid, *args, VerdictState.WAITING.value, qid),
            )
            deps = [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur]
        return entry, deps

    @staticmethod
    def _has_created(c: sqlite3.Connection, melding_id: str) -> bool:
        """Whether the server stores a ``created`` for ``melding_id``."""
        return c.execute(
            "SELECT 1 FROM events WHERE melding_id = ? AND type = 'created'", (melding_id,)
        ).fetchone() is not None

    def _close_entries(self, c: sqlite3.Connection, ids: Sequence[int], status: VerdictState, by: str, note: str) -> None:
        c.executemany(
            "UPDATE quarantine SET status = ?, decided_at = ?, decided_by = ?, note = ? WHERE id = ?",
            [(status.value, now_iso(), by, note, i) for i in ids],
        )

    def reject_quarantined(self, qid: int, *, by: str = "(beheer)", note: str = "") -> int:
        """Refuse quarantine entry ``qid`` for good; a ``created`` takes every waiting entry of its
        melding along (none of them can be stored without it, whatever its own reason); the laptop
        learns it at its next sync. Returns how many entries were closed.

        Raises:
            StoreError: no such entry, or already decided.
        """
        with self.write() as c:
            entry, deps = self._decide(c, qid, every_dependant=True)
            ids = [entry["id"], *(d["id"] for d in deps)]
            self._close_entries(c, ids, VerdictState.REJECTED, by, note)
            self._audit(c, by, "quarantine_reject", entry["melding_id"], f"{entry['event_id']} (+{len(deps)})")
        return len(ids)

    def release_quarantined(
        self, qid: int, *, by: str = "(beheer)", note: str = "", policy: HolidayPolicy | None = None
    ) -> list[Event]:
        """Apply quarantine entry ``qid`` after all (``wijkteam-server quarantine release``).

        Only refusals about time (``shared.protocol.RELEASABLE``) can be released: the event is
        stored restamped with the server's clock (``shared.trust.restamp``; same ``event_id``), and a
        released ``created`` takes the entries that waited on it along, in their order. A server note
        on the melding keeps each original stamp in the history. Every replica then folds the same
        stored events: the laptop that made the event holds it as refused, takes the stored version
        at its next pull and learns the verdict (``POST /api/v1/sync/verdicts``).

        Returns:
            The events as stored (restamped), then the server's note.

        Raises:
            StoreError: no such entry, already decided, a refusal that is not about time, an event
                of a melding whose ``created`` the server does not hold (it waits in the quarantine:
                release that first; or it was rejected: reject this too), an event that cannot be
                read, or a ``created`` for a melding that has one by now.
        """
        with self.write() as c:
            entry, deps = self._decide(c, qid)
            if entry["code"] not in RELEASABLE and entry["code"] != RefusalCode.CREATED_REFUSED:
                raise StoreError(
                    f"Nummer {qid} is geweigerd om {entry['code'] or 'een onbekende reden'} ({entry['reason']}); "
                    "alleen weigeringen om de tijd kunnen worden vrijgegeven. Wijs het af met 'quarantine reject'."
                )
            if entry["event_type"] != EventType.CREATED and not self._has_created(c, entry["melding_id"] or ""):
                # Never an event of a melding without its registration: no replica could fold it.
                first = c.execute(
                    "SELECT id FROM quarantine WHERE melding_id = ? AND event_type = 'created' AND status = ?",
                    (entry["melding_id"], VerdictState.WAITING.value),
                ).fetchone()
                if first is None:
                    raise StoreError(
                        f"De registratie van de melding van nummer {qid} staat niet op de server (afgewezen of "
                        f"nooit ontvangen); nummer {qid} kan alleen worden afgewezen."
                    )
                then = "dan gaat dit mee" if entry["code"] == RefusalCode.CREATED_REFUSED else "daarna dit"
                raise StoreError(f"Nummer {qid} wacht op de registratie van zijn melding: geef nummer {first[0]} vrij, {then}.")
            originals: list[Event] = []
            for item in (entry, *deps):
                try:
                    originals.append(msgspec.json.decode(item["raw"], type=Event))
                except (msgspec.DecodeError, msgspec.ValidationError):
                    raise StoreError(f"Nummer {item['id']} is niet als event te lezen.") from None
            mid = originals[0].melding_id
            if originals[0].type == EventType.CREATED and self._has_created(c, mid):
                raise StoreError(f"Melding {mid} heeft inmiddels een registratie; nummer {qid} kan alleen worden afgewezen.")
            if self._stored_by_id(c, [e.event_id for e in originals]):
                raise StoreError(f"Een event van nummer {qid} staat al op de server; wijs het af.")
            released = [restamp(e, self.hlc.now(), policy=policy) for e in originals]
            received = now_iso()
            c.executemany(
                _INSERT_EVENT,
                [
                    (
                        e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type,
                        _json_encode(e.payload).decode(), e.user, e.prev, e.schema, received, f"(vrijgegeven: {by})",
                    )
                    for e in released
                ],
            )  # fmt: skip
            made = list(released)
            state = fold(self._events_in(c, mid), history=False)
            if state is not None:
                seq = self._state("server_device_seq", c)
                dev = DeviceClock(SERVER_DEVICE, by, seq, self.hlc)
                lines = "; ".join(
                    f"{_EVENT_LABEL.get(o.type, o.type)} van {o.user or o.device_id} ({o.device_id}), "
                    f"oorspronkelijk {stamp_datetime(o.hlc):%Y-%m-%d %H:%M:%S} UTC"
                    for o in originals
                )
                text = f"Vrijgegeven uit quarantaine door {by} ({entry['reason']}): {lines}."
                if note:
                    text += f" {note}"
                made.append(add_note(dev, state, text[:MAX_TEXT_LENGTH]))
                c.execute(
                    _INSERT_EVENT,
                    (
                        made[-1].event_id, mid, SERVER_DEVICE, made[-1].device_seq, made[-1].hlc, made[-1].type,
                        _json_encode(made[-1].payload).decode(), by, None, made[-1].schema, received, by,
                    ),
                )  # fmt: skip
                self._set_state(c, "server_device_seq", dev.seq)
            self._refold(c, [mid])
            self._flag_clashes(c, [e for e in released if e.type == EventType.CREATED])
            self._set_state(c, "hlc_last", self.hlc.peek())
            self._close_entries(c, [entry["id"], *(d["id"] for d in deps)], VerdictState.RELEASED, by, note)
            self._audit(c, by, "quarantine_release", mid, f"{entry['event_id']} (+{len(deps)})")
        return made

    @staticmethod
    def _events_in(c: sqlite3.Connection, melding_id: str) -> list[Event]:
        cols = ", ".join(f'"{x}"' for x in EVENT_COLUMNS)
        return [event_from_row(r) for r in c.execute(f"SELECT {cols} FROM events WHERE melding_id = ?", (melding_id,))]

    def late_events(
        self, *, min_days: float = LATE_ARRIVAL_DAYS, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        """Data quality for the barometer: pushed events stamped ``min_days`` days or more before they
        reached the server (DESIGN.md, "Authority and time"). A laptop offline for a week keeps its
        original times; this says how much of the record arrived that late.

        Args:
            min_days: the threshold N in days (default ``shared.protocol.LATE_ARRIVAL_DAYS``).
            start / end: only events that arrived in ``[start, end)`` (aware datetimes), else all.

        Returns:
            ``{"late": n, "total": pushed events considered, "min_days": N, "max_days": the largest
            delay in days (0.0 when none), "by_device": {device_code: n}}``. Events the server made
            itself (device ``SERVER_DEVICE``) are not counted: they carry the server's own clock.
        """
        lag = "((julianday(received_at) - 2440587.5) * 86400000.0 - (hlc >> 16)) / 86400000.0"
        where, args = ["device_id != ?"], [SERVER_DEVICE]
        if start is not None:
            where.append("received_at >= ?")
            args.append(start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        if end is not None:
            where.append("received_at < ?")
            args.append(end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        cond = " AND ".join(where)
        c = self.conn()
        total, late, worst = c.execute(
            f"SELECT count(*), coalesce(sum({lag} >= ?), 0), coalesce(max({lag}), 0.0) FROM events WHERE {cond}",
            (min_days, *args),
        ).fetchone()
        by_device = dict(
            c.execute(
                f"SELECT device_id, count(*) FROM events WHERE {cond} AND {lag} >= ? GROUP BY device_id ORDER BY device_id",
                (*args, min_days),
            )
        )
        return {"late": late, "total": total, "min_days": min_days, "max_days": max(0.0, worst), "by_device": by_device}

    def reference_clashes(self) -> list[dict[str, Any]]:
        """Every reference seen on two melding_ids: ``{reference, melding_id, other_melding_id, detected_at}``."""
        cur = self.conn().execute(
            "SELECT reference, melding_id, other_melding_id, detected_at FROM reference_clashes ORDER BY id"
        )
        return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur]

    def counts(self) -> dict[str, int]:
        """Row counts of events, meldingen and quarantine (for /health and the CLI)."""
        c = self.conn()
        return {
            t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("events", "meldingen", "quarantine")
        }

    def max_server_seq(self) -> int:
        """The highest ``server_seq`` handed out (0 for an empty log)."""
        return self.conn().execute("SELECT coalesce(max(server_seq), 0) FROM events").fetchone()[0]

    def backup(self, target: str | Path) -> None:
        """A consistent copy of the database at ``target`` (SQLite online backup; the server may run).

        Raises:
            StoreError: ``target`` exists already.
        """
        target = Path(target)
        if target.exists():
            raise StoreError(f"{target} bestaat al; kies een nieuw bestand voor de reservekopie.")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target)
        try:
            self.conn().backup(dst)
        finally:
            dst.close()
