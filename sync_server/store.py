"""The server's store: the event log of every laptop, the quarantine, the projection, users and devices.

One class, :class:`ServerStore`, on one of two engines (``sync_server.storage.engines``): a SQLite file
(the default, nothing to install) or PostgreSQL (``--db postgresql://…``, issue 17). The routes and the
CLI go through its methods (the interface is ``sync_server.storage.api.Store``); SQL stays in this
module and the ``sync_server.storage`` package, written once for both engines
(``wijkteam_store.dialect``). The tables: ``sync_server.storage.schema``.

Writes run in :meth:`ServerStore.write` transactions, committed durably before they return (so before
a push is acknowledged); writers that add events are serialised around the numbering of
``server_seq``, so a pull never skips an event that commits later with a lower number
(``sync_server.storage.engines``). A push (:meth:`ServerStore.ingest`) locks only its device and
meldingen for its reads and folds, and the event log for its last step, so on PostgreSQL pushes of
different meldingen run side by side.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
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
from shared.reference import DEVICE_CODE_WIDTH, device_code, highest_counter
from shared.trust import Refusal, judge_history, restamp
from shared.validation import MAX_TEXT_LENGTH
from sync_server.storage.admin import AdminTables
from sync_server.storage.engines import (
    DEFAULT_POOL_SIZE,
    Conflict,
    Database,
    StorageUnavailable,
    database_errors,
    display_location,
    open_database,
    parse_location,
    side_base,
    storage_failure,  # noqa: F401 - re-exported: sync_server.errors and the routes import it from here
)
from sync_server.storage.reads import ProjectionReads
from sync_server.storage.schema import DEVICE_COLUMNS, QUARANTINE_COLUMNS, SQLITE_SEARCH, TABLES, add_columns_sql
from wijkteam_reports.summary import SUMMARY_VERSION, ensure_summary, write_summary
from wijkteam_store.codec import EVENT_COLUMNS, EVENT_SELECT, event_from_row, event_row
from wijkteam_store.dialect import dialect_of
from wijkteam_store.errors import StoreError
from wijkteam_store.schema import add_projection_columns, werkvoorraad_backfill

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
#: Times a push or server write is run again after losing a deadlock on PostgreSQL (``Conflict``).
_RETRIES = 8
_CHUNK = 500  # stays under SQLite's bound-parameter limit
#: Bytes a pulled event's envelope adds to its payload on the wire (ids, device, stamps, user: a
#: generous upper bound of the JSON), for the byte bound of a pull page.
_ENVELOPE_BYTES = 512

_EVENT_SELECT = "server_seq, " + EVENT_SELECT
_PROJECTION_SELECT = ", ".join(f'"{c}"' for c in COLUMNS)

_json_encode = msgspec.json.Encoder().encode


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


@dataclass
class _HeldLog:
    """What the store holds of some meldingen (``ServerStore._log_of``): their ``events``, the stamp of
    each one's ``created`` (``created_hlc``), their ``erasures`` (``{melding_id: (strongest erasure,
    server_seq of the latest erasing event)}``) and the ``newest`` ``server_seq`` of each."""

    events: dict[str, list[Event]] = field(default_factory=dict)
    created_hlc: dict[str, int] = field(default_factory=dict)
    erasures: dict[str, tuple[Erasure, int]] = field(default_factory=dict)
    newest: dict[str, int] = field(default_factory=dict)


_raw_seq = msgspec.json.Decoder(dict[str, Any])


def _raw_device_seq(raw: str) -> int | None:
    """The ``device_seq`` of a quarantined event's raw JSON text, or None (unreadable, or none)."""
    try:
        seq = _raw_seq.decode(raw).get("device_seq")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


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

    def observe(self, stamp: int) -> None:
        """Never issue a stamp at or below ``stamp`` again (another server process issued it)."""
        with self._lock:
            self.last = max(self.last, stamp)


def _new_log_id() -> int:
    """A random positive 62-bit log id (fits SQLite's INTEGER and JSON numbers exactly)."""
    return secrets.randbits(62) or 1


_UPSERT = (
    "INSERT INTO meldingen ("
    + ", ".join(f'"{c}"' for c in COLUMNS)
    + ") VALUES ("
    + ", ".join("?" for _ in COLUMNS)
    + ") ON CONFLICT(melding_id) DO UPDATE SET "
    + ", ".join(f'"{c}" = excluded."{c}"' for c in COLUMNS if c != "melding_id")
)
_INSERT_EVENT = (
    f"INSERT INTO events ({EVENT_SELECT}, received_at, pushed_by) VALUES ({', '.join('?' * (len(EVENT_COLUMNS) + 2))})"
    " ON CONFLICT(event_id) DO NOTHING"
)




def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class ServerStore(ProjectionReads, AdminTables):
    """The server's store on SQLite or PostgreSQL (module docstring). Thread-safe.

    Args:
        location: the SQLite database file (created with its schema when missing), or a
            ``postgresql://`` URL of an existing database (its tables are created when missing).
        clock: wall-clock ms for the server's HLC (tests inject one).
        pool_size: connections this process keeps to PostgreSQL (ignored for SQLite).
        data_dir: the folder of the files beside a PostgreSQL database (erasure journal, snapshots);
            default ``sync_server.storage.engines.side_base``'s. A SQLite database keeps them next to its file.

    Raises:
        StoreError: the database was written by a newer version of the server.
        StorageUnavailable: PostgreSQL cannot be reached.
    """

    def __init__(
        self,
        location: str | Path,
        *,
        clock: Callable[[], int] | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        data_dir: Path | None = None,
    ) -> None:
        self.location = parse_location(location)
        self.db: Database = open_database(self.location, pool_size=pool_size)
        self.dialect = self.db.dialect
        #: Base name of the files beside the database (``<base>.wissingen``, ``<base>.snapshots``):
        #: the SQLite file itself, or ``<data_dir>/<database name>`` for PostgreSQL.
        self.path: Path = side_base(self.location, data_dir)
        #: The last storage failure (:class:`StorageUnavailable`) since the last successful write.
        self.storage_problem: StorageUnavailable | None = None
        self._tx = threading.local()  # the connection of this thread's open write transaction
        try:
            self._migrate()
        except BaseException:
            self.db.close()
            raise
        self._clock = clock or wall_ms
        self.hlc = _LockedHLC(self._state("hlc_last"), clock)

    @property
    def postgres(self) -> bool:
        """Whether this store is on PostgreSQL."""
        return self.dialect.postgres

    def describe(self) -> str:
        """Where the database is, for messages and logs (a URL without its password)."""
        return display_location(self.location)

    def wall_ms(self) -> int:
        """The server's wall clock, ms since the Unix epoch (UTC)."""
        return self._clock()

    # -- connections and transactions -------------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        """This thread's SQLite connection (autocommit mode), for the store's own SQLite-only work and
        tests; routes and commands use the store's methods.

        Raises:
            StoreError: the store is on PostgreSQL.
        """
        conn = getattr(self.db, "conn", None)
        if conn is None:
            raise StoreError("Deze bewerking kan alleen op een SQLite-database.")
        return conn()

    def _read(self) -> Any:
        """A connection for reads (``with self._read() as c``): autocommit, one statement one snapshot;
        inside this thread's :meth:`write` its transaction (so a read sees what the transaction wrote)."""
        c = getattr(self._tx, "c", None)
        return nullcontext(c) if c is not None else self.db.read()

    @contextmanager
    def write(self, *, serial: bool = True) -> Iterator[Any]:
        """One transaction: committed (durably) on success, rolled back on any error. ``serial`` (the
        default) runs it alone among the writers, holding the event log's lock from the start (needed
        to add events, or to read-modify-write the server's counters); :meth:`ingest` locks less.

        Raises:
            StorageUnavailable: the database cannot be written (read-only, disk full, write error,
                unreachable). The failure is kept in :attr:`storage_problem` (``/ready`` shows it)
                until a write succeeds again; the store recovers by itself.
            Conflict: PostgreSQL chose this transaction as a deadlock's victim (nothing stored):
                :meth:`_retry` runs it again.
        """
        try:
            with self.db.transaction(serial=serial) as c:
                self._tx.c = c
                try:
                    yield c
                finally:
                    self._tx.c = None
        except StorageUnavailable as failure:
            self.storage_problem = failure
            raise
        self.storage_problem = None

    @staticmethod
    def _retry(work: Callable[[], Any]) -> Any:
        """Run ``work`` (a whole transaction) again when PostgreSQL made it a deadlock's victim."""
        for attempt in range(_RETRIES):
            try:
                return work()
            except Conflict:
                if attempt == _RETRIES - 1:
                    raise
        return None  # pragma: no cover - the loop returns or raises

    def probe_write(self) -> None:
        """A tiny durable write (the ``ready_probe`` row of ``server_state``), for ``/ready``.

        Raises:
            StorageUnavailable: the database cannot be written now.
        """
        with self.write(serial=False) as c:
            self._set_state(c, "ready_probe", self.wall_ms())

    def close(self) -> None:
        """Close every connection this store opened (call once, at shutdown)."""
        self.db.close()

    def _migrate(self) -> None:
        if self.postgres:
            self._migrate_postgres()
            return
        c = self.conn()
        c.executescript(TABLES + SQLITE_SEARCH)
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
            self._migrate_common(w, refold)
            if not self._state("secure_vacuum", w) and not w.execute("SELECT 1 FROM events LIMIT 1").fetchone():
                self._set_state(w, "secure_vacuum", 1)  # a new database has no old free space

    def _migrate_common(self, w: Any, refold: Sequence[str] = ()) -> None:
        """What every open does on both engines, in the migration's transaction: the schema version,
        the server's own device, the barometer summary, a log id."""
        w.execute(
            "INSERT INTO server_state(key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (STORE_SCHEMA_VERSION,),
        )
        w.execute(
            "INSERT INTO devices(device_code, user_name, issued_at) VALUES (?, '(server)', ?) ON CONFLICT DO NOTHING",
            (SERVER_DEVICE, now_iso()),
        )
        # The barometer's summary table; filled from the projection when new or outdated.
        if ensure_summary(w, self._state("barometer_summary", w)):
            self._set_state(w, "barometer_summary", SUMMARY_VERSION)
        self._refold(w, refold)  # after the summary exists: a refold writes summary rows too
        if not self._state("log_id", w):
            self._set_state(w, "log_id", _new_log_id())

    def _migrate_postgres(self) -> None:
        """Create the tables on PostgreSQL (``sync_server.storage.schema``; a new database starts at
        this schema version, so none of SQLite's upgrades apply) and check the version. Serialised by
        the log lock, so several server processes starting at once create them once."""
        from sync_server.storage.schema import POSTGRES_SEARCH

        with self.write() as w:
            row = w.execute("SELECT to_regclass('server_state') IS NOT NULL").fetchone()
            version = None
            if row[0]:
                found = w.execute("SELECT value FROM server_state WHERE key = 'schema_version'").fetchone()
                version = found[0] if found else None
            if version is not None and version > STORE_SCHEMA_VERSION:
                raise StoreError(
                    f"De database {self.describe()} is gemaakt door een nieuwere wijkteam-server "
                    f"(schema {version}, deze versie kent {STORE_SCHEMA_VERSION}): werk de server bij."
                )
            if version != STORE_SCHEMA_VERSION:
                w.executescript(self.dialect.ddl(TABLES))
                for table, columns in (("quarantine", QUARANTINE_COLUMNS), ("devices", DEVICE_COLUMNS)):
                    for statement in add_columns_sql(table, columns, set()):
                        w.executescript(self.dialect.ddl(statement.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS")))
                w.execute("CREATE INDEX IF NOT EXISTS quarantine_melding ON quarantine(melding_id)")
                w.executescript(POSTGRES_SEARCH)
            self._migrate_common(w)

    def vacuum_once(self) -> bool:
        """A SQLite database written before ``secure_delete`` (schema < 7) may hold deleted values in free
        pages and in the unused parts of pages: rewrite it once (``VACUUM``; needs free disk space the
        size of the file). ``serve`` calls this before it serves (a VACUUM blocks every writer while
        it runs, so not from admin commands beside a running server); it is retried at each start
        until it succeeds. Returns True when the database is (now) clean in that sense (always on PostgreSQL,
        where the store vacuums after each erasure: ``secure_cleanup``)."""
        if self.postgres:
            return True
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
        fills them (``wijkteam_store.schema.werkvoorraad_backfill``)."""
        if add_projection_columns(c):
            werkvoorraad_backfill(c)

    @staticmethod
    def _migrate_4(c: sqlite3.Connection) -> None:
        """Schema 3 → 4 (and the columns of a new file), in the caller's transaction; idempotent."""
        qcols = {r[1] for r in c.execute("PRAGMA table_info(quarantine)")}
        for statement in add_columns_sql("quarantine", QUARANTINE_COLUMNS, qcols):
            c.execute(statement)
        if "code" not in qcols:
            # Refusals from before the codes: the future-stamp reason is recognisable by its words.
            c.execute(
                "UPDATE quarantine SET code = ? WHERE reason LIKE 'tijdstempel ligt % voor op de serverklok%'",
                (RefusalCode.FUTURE_STAMP.value,),
            )
        dcols = {r[1] for r in c.execute("PRAGMA table_info(devices)")}
        for statement in add_columns_sql("devices", DEVICE_COLUMNS, dcols):
            c.execute(statement)
        if "last_hlc" not in dcols:
            c.execute(
                "UPDATE devices SET last_hlc = coalesce((SELECT max(hlc) FROM events WHERE device_id = devices.device_code), 0)"
            )
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

    def _state(self, key: str, c: Any = None) -> int:
        if c is None:
            with self._read() as r:
                return self._state(key, r)
        row = c.execute("SELECT value FROM server_state WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _set_state(c: Any, key: str, value: int) -> None:
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
    def _issue_device(c: Any, name: str, wanted: str | None) -> str:
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
        with self._read() as c:
            rows = c.execute("SELECT name, role, device_code, created_at, revoked_at FROM users ORDER BY name").fetchall()
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
        with self._read() as c:
            row = c.execute(
                "SELECT reported_seq, reported_at FROM devices WHERE device_code = ?", (device_code,)
            ).fetchone()
            reported, at = row if row else (0, None)
            held = {r[0] for r in c.execute("SELECT device_seq FROM events WHERE device_id = ?", (device_code,))}
            # The quarantine keeps the raw text as received: its device_seq is read here, in Python,
            # the same way on both engines (an unreadable entry has none).
            for (raw,) in c.execute("SELECT raw FROM quarantine WHERE device_id = ?", (device_code,)):
                seq = _raw_device_seq(raw)
                if seq is not None:
                    held.add(seq)
        seen = len(held)
        return {"device": device_code, "reported_seq": reported, "reported_at": at, "seen": seen,
                "unseen": max(0, reported - seen)}  # fmt: skip

    def note_device_seq(self, c: Any, device_code: str, seq: int) -> None:
        """Record a device's own event counter as its push reported it (in the caller's transaction)."""
        c.execute(
            f"UPDATE devices SET reported_seq = {self.dialect.greatest('reported_seq', '?')}, reported_at = ? "
            "WHERE device_code = ?",
            (min(max(seq, 0), 2**62), now_iso(), device_code),
        )

    # -- the server's own reference counter ----------------------------------------------------------

    @staticmethod
    def _highest_server_reference(c: Any) -> int:
        """The highest counter in a reference of a melding the server registered itself."""
        ref = dialect_of(c).json_text("payload", "reference")
        return highest_counter(
            r for (r,) in c.execute(f"SELECT {ref} FROM events WHERE device_id = ? AND type = 'created'", (SERVER_DEVICE,))
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

    def server_counter_with_references(self) -> int:
        """The larger of the server's own reference counter and its highest server reference (what
        :meth:`read_server_counter` reads from a file, on either engine)."""
        with self._read() as c:
            return max(self.server_counter(), self._highest_server_reference(c))

    def other_sessions(self) -> int:
        """How many other sessions are connected to this PostgreSQL database (a running server holds
        some); 0 on SQLite, whose running server ``sync_server.serving`` finds."""
        if not self.postgres:
            return 0
        with self._read() as c:
            return c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid != pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()[0]

    def raise_server_counter(self, at_least: int) -> int:
        """Move the server's own reference counter (Open311 intake, import, demo) past ``at_least`` and
        past every server reference in its log; never down. Returns the counter now.

        Called by ``restore`` with the replaced database's counter, and by the push route with the
        highest server reference a laptop holds (``PushRequest.server_counter``): so after a restore
        the counter continues past numbers only laptops still hold (issue 11 §4).
        """
        current = self.server_counter()
        if at_least <= current:
            return current  # the usual push: nothing to move (every server reference is ≤ the counter)
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
        with self._read() as c:
            row = c.execute(
                "SELECT name, role, device_code FROM users WHERE token_hash = ? AND revoked_at IS NULL",
                (hash_token(token),),
            ).fetchone()
        return TokenInfo(row[0], Role(row[1]), row[2]) if row else None

    # -- audit ------------------------------------------------------------------------------------

    @staticmethod
    def _audit(c: Any, actor: str, action: str, melding_id: str | None, detail: str = "") -> None:
        c.execute(
            "INSERT INTO audit(at, actor, action, melding_id, detail) VALUES (?, ?, ?, ?, ?)",
            (now_iso(), actor, action, melding_id, detail),
        )

    def audit_many(self, actor: str, action: str, entries: Sequence[tuple[str | None, str]]) -> None:
        """Record several ``(melding_id, detail)`` entries of one actor and action in one transaction."""
        at = now_iso()
        with self.write(serial=False) as c:
            c.executemany(
                "INSERT INTO audit(at, actor, action, melding_id, detail) VALUES (?, ?, ?, ?, ?)",
                [(at, actor, action, mid, detail) for mid, detail in entries],
            )

    def audit(self, actor: str, action: str, melding_id: str | None = None, detail: str = "") -> None:
        """Record who did what (e.g. read a melding's personal data), in its own transaction."""
        with self.write(serial=False) as c:
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
        reference clashes are flagged; the server's HLC merges the new stamps. One transaction, committed
        durably before this returns (so before the ack).
        ``fault`` (crash and concurrency tests only) is called with ``"push-numbered"`` (the new events
        are numbered, nothing committed), ``"push-before-commit"`` and ``"push-after-commit"``.
        ``reported``: ``(device code, its own event counter)`` from the push (:meth:`device_backlog`).

        The caller has validated ``events`` (``sync_server.routes.sync`` does: decoding, device,
        ``shared.trust.judge_arrival``). Here, against what the server holds (docs/design.md, "Authority
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
        Concurrency (issue 17): the push first locks its device and meldingen
        (``Database.lock_keys``) and does its reads, judging and folding, and writes the projection;
        only then does it take the event log's lock, check that no server-made event changed its
        meldingen meanwhile (else it runs again), number and store its events and commit. On
        PostgreSQL pushes of different meldingen therefore overlap except for that last step.
        """
        return self._retry(
            lambda: self._ingest(events, quarantine, pushed_by, fault, judge_time, reported, seen)
        )

    def _ingest(
        self,
        events: Sequence[Event],
        quarantine: Sequence[QuarantineEntry],
        pushed_by: str,
        fault: Callable[[str], None] | None,
        judge_time: bool,
        reported: tuple[str, int] | None,
        seen: tuple[int, int] | None,
    ) -> IngestResult:
        result = IngestResult()
        received = now_iso()
        erased_now = False
        with self.write(serial=False) as c:
            unique: dict[str, Event] = {}
            for e in events:
                unique.setdefault(e.event_id, e)
            touched = sorted({e.melding_id for e in unique.values()} | {q.melding_id for q in quarantine if q.melding_id})
            self.db.lock_keys(
                c, [f"melding:{m}" for m in touched] + [f"device:{d}" for d in {e.device_id for e in unique.values()}]
            )
            # Refused by the route's checks, but released by the admin since: a duplicate (the
            # laptop's original of a restamped event; it takes the stored version at its pull).
            earlier = self._quarantine_by_id(c, [q.event_id for q in quarantine])
            released_ids = {i for i, q in earlier.items() if q[2] == VerdictState.RELEASED}
            result.quarantined = [q for q in quarantine if q.event_id not in released_ids]
            # Everything stored of the touched meldingen, read once: their events (to fold), their
            # registrations (to judge), their erasures, and the newest server_seq of each.
            held_log = self._log_of(c, touched)
            erased = held_log.erasures
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
            new, device_hlc = self._judge(
                c, fresh, result, judge_time, held_log.created_hlc, blank=set(scrub_for), refused_here=refused_here
            )
            groups = _by_melding(new)
            newly = sorted({e.melding_id for e in new if e.type in ERASING_EVENTS})
            # The projection of each melding the push adds to: the fold of what is stored and what is
            # new (a melding erased by this push is refolded after its events are rewritten, below).
            self._write_projection(
                c, [fold(held_log.events.get(m, []) + evs, history=False) for m, evs in groups.items() if m not in newly]
            )
            # -- the event log's turn: number, store, commit (the lock is held until after the commit)
            self.db.lock_log(c)
            if self.postgres:
                # A server-made event (Open311, an erasure, a released refusal) may have reached these
                # meldingen while this push read them, or another push may have stored one of these
                # event ids under another melding: then the reads above are stale, so run again.
                if self._log_of(c, touched).newest != held_log.newest or self._stored_by_id(c, [e.event_id for e in new]):
                    raise Conflict("meldingen gewijzigd tijdens de push")
            self._insert_events(c, new, received, pushed_by)
            if fault:
                fault("push-numbered")
            result.stored = [e.event_id for e in new]
            result.duplicates = [e.event_id for e in events if e.event_id in known] + [
                q.event_id for q in quarantine if q.event_id in released_ids
            ]
            if result.quarantined:
                self._insert_quarantine(c, result.quarantined, received, pushed_by)
            c.executemany(
                f"UPDATE devices SET last_hlc = {self.dialect.greatest('last_hlc', '?')} WHERE device_code = ?",
                [(last, code) for code, last in device_hlc.items()],
            )
            # A laptop's anonymisation: erase its melding's stored events, as the CLI does.
            if newly:
                self._erased(c, [e for e in new if e.type in ERASING_EVENTS], newly)
                self._refold(c, newly)
                result.erased = newly
                erased_now = True
            created = [e for e in new if e.type == EventType.CREATED]
            if created:
                self._flag_clashes(c, created)
            self._follow_hlc(c)
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

    def _log_of(self, c: Any, melding_ids: Sequence[str]) -> _HeldLog:
        """Everything stored of ``melding_ids`` (one read of ``events``): see :class:`_HeldLog`."""
        out = _HeldLog()
        cols = EVENT_SELECT
        for chunk in _chunks(list(melding_ids)):
            for row in c.execute(f"SELECT server_seq, {cols} FROM events WHERE {self._in(len(chunk))}", chunk):
                seq, e = row[0], event_from_row(row[1:])
                mid = e.melding_id
                out.events.setdefault(mid, []).append(e)
                out.newest[mid] = max(out.newest.get(mid, 0), seq)
                if e.type == EventType.CREATED:
                    out.created_hlc[mid] = min(out.created_hlc.get(mid, e.hlc), e.hlc)
                kind = ERASING_EVENTS.get(e.type)
                if kind is not None:
                    before = out.erasures.get(mid)
                    strongest = Erasure.PURGED if Erasure.PURGED in (kind, before[0] if before else None) else kind
                    out.erasures[mid] = (strongest, max(seq, before[1] if before else 0))
        return out

    @staticmethod
    def _in(n: int, column: str = "melding_id") -> str:
        """``column IN (?, …)`` for ``n`` parameters."""
        return f"{column} IN ({','.join('?' * n)})"

    def _insert_events(self, c: Any, events: Sequence[Event], received: str, pushed_by: str) -> None:
        """Store ``events`` (numbered by ``server_seq``) in ``c``'s transaction, which must hold the
        event log's lock (see ``sync_server.storage.engines``: that is what keeps cursors gap-safe)."""
        if not events:
            return
        if self.postgres and not getattr(c, "log_locked", False):
            raise RuntimeError("events stored without the event log's lock")
        c.executemany(
            _INSERT_EVENT,
            [
                (*event_row(e), received, pushed_by)
                for e in events
            ],
        )  # fmt: skip

    def _follow_hlc(self, c: Any) -> None:
        """Bring this process's HLC up to the stamp the store last recorded (``hlc_last``), in a
        transaction that holds the event log's lock: with several server processes each has its own
        clock, and the server's stamps must still only grow."""
        self.hlc.observe(self._state("hlc_last", c))

    def _judge(
        self, c: Any, events: list[Event], result: IngestResult, judge_time: bool, created_hlc: dict[str, int],
        blank: set[str] | frozenset[str] = frozenset(), refused_here: set[str] | frozenset[str] = frozenset(),
    ) -> tuple[list[Event], dict[str, int]]:  # fmt: skip
        """The events of a push that are new to the server, judged against what it holds (see
        :meth:`ingest`; ``created_hlc``: the stamp of each touched melding's stored ``created``):
        returns those to store and each device's ``last_hlc`` moved past their stamps, and appends
        the refused ones to ``result.quarantined`` (blanked for the meldingen in ``blank``: erased
        ones). ``refused_here``: meldingen whose ``created`` the route refused in this push (their
        other events are ``created_refused`` unless the server has a ``created``)."""
        if not events:
            return [], {}
        mids = sorted({e.melding_id for e in events})
        created_hlc = {m: created_hlc[m] for m in mids if m in created_hlc}
        refused_created: dict[str, str] = {}
        for chunk in _chunks(mids):
            refused_created.update(
                c.execute(
                    f"SELECT melding_id, status FROM quarantine WHERE event_type = 'created' "
                    f"AND status != ? AND {self._in(len(chunk))}",
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
        return accepted, {code: last for code, (last, _) in devices.items()}

    @staticmethod
    def _insert_quarantine(
        c: Any, entries: Sequence[QuarantineEntry], received: str, pushed_by: str
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

    @classmethod
    def _stored_by_id(cls, c: Any, ids: Sequence[str]) -> dict[str, Event]:
        """The stored events among ``ids``, by id."""
        out: dict[str, Event] = {}
        cols = EVENT_SELECT
        for chunk in _chunks(ids):
            for r in c.execute(f"SELECT {cols} FROM events WHERE {cls._in(len(chunk), 'event_id')}", chunk):
                out[r[0]] = event_from_row(r)
        return out

    @classmethod
    def _quarantine_by_id(cls, c: Any, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """Quarantine entries among ``ids``: ``{event_id: (code, reason, status)}``."""
        out: dict[str, tuple[str, str, str]] = {}
        for chunk in _chunks(ids):
            sql = f"SELECT event_id, code, reason, status FROM quarantine WHERE {cls._in(len(chunk), 'event_id')}"
            for r in c.execute(sql, chunk):
                out[r[0]] = (r[1], r[2], r[3])
        return out

    @staticmethod
    def _write_projection(c: Any, meldingen: Iterable[Any]) -> None:
        rows = [projection_row(m) for m in meldingen if m is not None]
        c.executemany(_UPSERT, [tuple(r.values()) for r in rows])
        write_summary(c, rows)

    def _refold(self, c: Any, melding_ids: Sequence[str]) -> None:
        """Write the projection of ``melding_ids`` again from their stored events."""
        for chunk in _chunks(melding_ids):
            self._write_projection(c, [fold(evs, history=False) for evs in self._log_of(c, chunk).events.values()])

    def _flag_clashes(self, c: Any, created: Iterable[Event]) -> None:
        refs: dict[str, set[str]] = {}
        for e in created:
            ref = e.payload.get("reference")
            if isinstance(ref, str):
                refs.setdefault(ref, set()).add(e.melding_id)
        if not refs:
            return
        holders: dict[str, set[str]] = {}
        for chunk in _chunks(list(refs)):
            sql = f"SELECT reference, melding_id FROM meldingen WHERE {self._in(len(chunk), 'reference')}"
            for ref, mid in c.execute(sql, chunk):
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
        imported: Callable[[list[Event]], Sequence[tuple[Any, ...]]] | None = None,
        cleanup: bool = True,
    ) -> list[Event]:
        """Make and store events on the server itself (device ``SERVER_DEVICE``, e.g. Open311 intake).

        ``build(dev, next_counter)`` is called inside the write transaction with the server's
        :class:`~shared.commands.DeviceClock` and a function returning the server's next melding
        counter (for ``shared.commands.register``); the events it returns are stored like a push, so
        they sync to every laptop. If ``build`` raises (e.g. ``ValidationError``) nothing is stored.
        ``imported(events)`` (``wijkteam-server import``) returns the rows of ``import_rows`` to
        record in the same transaction: ``(key, melding_id, reference, bron, file, line,
        imported_at)``; if it raises, nothing is stored either. One serial transaction (the server's
        counters are read and moved in it); ``build`` may run again when PostgreSQL makes it a
        deadlock's victim, so it must only make events.

        Erasing events among them (``shared.avg.ERASING_EVENTS``) erase their meldingen's stored values
        in the same transaction, then (``cleanup``, default) :meth:`secure_cleanup`.
        """

        def once() -> list[Event]:
            with self.write() as c:
                seq = self._state("server_device_seq", c)
                counter = [self._state("server_melding_counter", c)]

                def next_counter() -> int:
                    counter[0] += 1
                    return counter[0]

                self._follow_hlc(c)
                dev = DeviceClock(SERVER_DEVICE, user, seq, self.hlc)
                events = build(dev, next_counter)
                self._set_state(c, "server_device_seq", dev.seq)
                self._set_state(c, "server_melding_counter", counter[0])
                self._insert_events(c, events, now_iso(), user)
                erasing = [e for e in events if e.type in ERASING_EVENTS]
                if erasing:
                    self._erased(c, erasing, sorted({e.melding_id for e in erasing}))
                self._refold(c, sorted({e.melding_id for e in events}))
                self._flag_clashes(c, [e for e in events if e.type == EventType.CREATED])
                self._set_state(c, "hlc_last", self.hlc.peek())
                if imported is not None:
                    c.executemany(
                        "INSERT INTO import_rows(key, melding_id, reference, bron, file, line, imported_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        imported(events),
                    )
            return events

        events = self._retry(once)
        if cleanup and any(e.type in ERASING_EVENTS for e in events):
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

    def _erasures(self, c: Any, melding_ids: Sequence[str]) -> dict[str, tuple[Erasure, int]]:
        """The erased meldingen among ``melding_ids``: ``{melding_id: (strongest erasure, highest
        server_seq of an erasing event)}``."""
        out: dict[str, tuple[Erasure, int]] = {}
        kinds = list(ERASING_EVENTS)
        for chunk in _chunks(list(melding_ids)):
            for mid, type_, seq in c.execute(
                f"SELECT melding_id, type, max(server_seq) FROM events WHERE {self._in(len(chunk))} "
                f"AND type IN ({','.join('?' * len(kinds))}) GROUP BY melding_id, type",
                (*chunk, *kinds),
            ):
                kind = ERASING_EVENTS[type_]
                before = out.get(mid)
                strongest = Erasure.PURGED if Erasure.PURGED in (kind, before[0] if before else None) else kind
                out[mid] = (strongest, max(seq, before[1] if before else 0))
        return out

    def _erased(self, c: Any, erasing: Sequence[Event], melding_ids: Sequence[str]) -> None:
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

    def _rewrite(self, c: Any, melding_ids: Sequence[str]) -> PersonalValues:
        """Rewrite the stored events (in place: same ``server_seq``, same id) and the quarantine entries
        of erased meldingen with ``shared.avg.scrub_event``; returns every value erased."""
        erasures = self._erasures(c, melding_ids)
        cols = EVENT_SELECT
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

    def _sweep(self, c: Any, values: PersonalValues, melding_ids: Sequence[str]) -> None:
        """Remove ``values`` wherever else text is kept verbatim: the details of the audit entries about
        these meldingen or about none (admin actions, exports: the only details a person types; the
        other entries are reads of other meldingen, written by the server), and the raw text of
        every quarantine entry (an unreadable push names no melding)."""
        strings = values.strings()
        if not strings:
            return
        # A LIKE that ignores ASCII case finds the candidate rows in the database; Python rewrites them.
        like = "(" + " OR ".join([f"{{col}} {self.dialect.like_nocase} ? ESCAPE '\\'"] * len(strings)) + ")"
        args = ["%" + x.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for x in strings]
        ids = self.dialect.list_param(melding_ids)
        for table, col, where, extra in (
            ("audit", "detail", f"(melding_id IS NULL OR {self.dialect.in_list('melding_id')}) AND ", [ids]),
            ("quarantine", "raw", "", []),
        ):
            rows = c.execute(f"SELECT id, {col} FROM {table} WHERE {where}{like.format(col=col)}", [*extra, *args]).fetchall()
            c.executemany(f"UPDATE {table} SET {col} = ? WHERE id = ?", [(scrub_raw(text, values), rid) for rid, text in rows])

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it to zero bytes (``wal_checkpoint(TRUNCATE)``),
        so erased values in old WAL frames leave the disk. Waits for readers up to the busy timeout;
        returns False when a reader kept it from finishing (the next one will).

        PostgreSQL: a ``CHECKPOINT`` when the database user may run one (PostgreSQL 15: a superuser),
        so the WAL segments holding the erased values can be recycled; they are overwritten only
        when PostgreSQL reuses them (docs/privacy.md, "PostgreSQL"). Returns whether it ran."""
        if self.postgres:
            try:
                with self.db.read() as c:
                    c.execute("CHECKPOINT")
            except database_errors():
                return False
            return True
        try:
            busy, _, _ = self.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error:
            return False
        return busy == 0

    def secure_cleanup(self) -> bool:
        """After an erasure: merge the full-text index into one segment (FTS5 ``optimize``: a rewritten
        row otherwise leaves its old tokens in older segments), then :meth:`checkpoint`. With
        ``secure_delete`` the freed pages are zeros. Returns what :meth:`checkpoint` returns.

        PostgreSQL keeps the old version of every rewritten row until ``VACUUM`` removes it: the
        tables an erasure rewrites are vacuumed here (their GIN index's pending entries too), so no
        query, index or dump reaches an erased value any more. VACUUM does not overwrite the bytes
        it frees (they stay in the data files until PostgreSQL reuses the space, and in the WAL until
        its segments are recycled): what "gone" means there is in docs/privacy.md."""
        if self.postgres:
            with self.db.read() as c:
                c.execute("VACUUM events, quarantine, audit, meldingen, barometer_rows")
            return self.checkpoint()
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
                with self._read() as c:  # the transaction of append_server_events
                    done = self._erasures(c, chunk)
                    held = self._log_of(c, chunk).events
                out = []
                for mid in chunk:
                    if done.get(mid, (None,))[0] in (wanted, Erasure.PURGED):
                        continue
                    state = fold(held.get(mid, []), history=False)
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
            stored = self._stored_by_id(c, list(dict.fromkeys(e.event_id for e in journal)))
            missing = list({e.event_id: e for e in journal if e.event_id not in stored}.values())
            if not missing:
                return 0
            self._insert_events(c, missing, now_iso(), "(wissingen-journaal)")
            own = max((e.device_seq for e in missing if e.device_id == SERVER_DEVICE), default=0)
            self._set_state(c, "server_device_seq", max(self._state("server_device_seq", c), own))
            self._follow_hlc(c)
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
        purged = self.dialect.as_int(
            "EXISTS (SELECT 1 FROM events e WHERE e.melding_id = m.melding_id AND e.type = 'purged')"
        )
        with self._read() as c:
            cur = c.execute(
                "SELECT melding_id, reference, status, is_open, closed_at, deleted, updated_hlc, melder_naam, "
                f"melder_telefoon, melder_email, {purged} AS purged FROM meldingen m "
                "WHERE (is_open = 0 AND closed_at IS NOT NULL) OR deleted = 1"
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
            like = self.dialect.like_nocase
            conds.append(f"{stripped} {like} ? ESCAPE '\\'" if digits else f"payload {like} ? ESCAPE '\\'")
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.append(f"%{escaped}%")
        if not conds:
            return {}
        cols = EVENT_SELECT
        found: dict[str, str] = {}
        with self._read() as c:
            rows = c.execute(f"SELECT {cols} FROM events WHERE {' OR '.join(conds)}", args).fetchall()
        for row in rows:
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
        with self._read() as c:
            rows = c.execute(
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
        with self._read() as c:
            return c.execute(
                f"SELECT {cols} FROM meldingen m WHERE {self.dialect.in_list('m.melding_id')}"
                " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.melding_id = m.melding_id AND e.server_seq > ?)",
                (self.dialect.list_param(melding_ids), seq),
            ).fetchall()

    # -- reads for admins and other modules ---------------------------------------------------------

    def events_of(self, melding_id: str) -> list[Event]:
        """Every stored event of one melding (in ``server_seq`` order)."""
        cols = EVENT_SELECT
        with self._read() as c:
            rows = c.execute(f"SELECT {cols} FROM events WHERE melding_id = ? ORDER BY server_seq", (melding_id,)).fetchall()
        return [event_from_row(r) for r in rows]

    def all_events(self) -> Iterator[Event]:
        """Every stored event in ``server_seq`` order (streams, in pages of 5,000; for checks and exports)."""
        cols = EVENT_SELECT
        after = 0
        while True:
            with self._read() as c:
                rows = c.execute(
                    f"SELECT server_seq, {cols} FROM events WHERE server_seq > ? ORDER BY server_seq LIMIT 5000", (after,)
                ).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            for r in rows:
                yield event_from_row(r[1:])

    def melding(self, melding_id: str) -> Melding | None:
        """The current state of one melding, history included (the fold of its stored events), or
        ``None`` when no ``created`` event of it is stored."""
        return fold(self.events_of(melding_id))

    def projection(self, melding_id: str) -> dict[str, Any] | None:
        """The projection row of one melding as ``{column: value}``, or ``None``."""
        with self._read() as c:
            row = c.execute(f"SELECT {_PROJECTION_SELECT} FROM meldingen WHERE melding_id = ?", (melding_id,)).fetchone()
        return dict(zip(COLUMNS, row, strict=True)) if row else None

    _QUARANTINE_COLS = (
        "id, event_id, device_id, melding_id, event_type, code, reason, status, received_at, pushed_by,"
        " decided_at, decided_by, note, raw"
    )

    def list_quarantine(self, *, status: str | None = None) -> list[dict[str, Any]]:
        """The quarantine, oldest first: ``{id, event_id, device_id, melding_id, event_type, code,
        reason, status, received_at, pushed_by, decided_at, decided_by, note, raw}``; ``status``
        (a ``shared.protocol.VerdictState`` value) filters."""
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        with self._read() as c:
            cur = c.execute(f"SELECT {self._QUARANTINE_COLS} FROM quarantine {where} ORDER BY id", args)
            return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur]

    def quarantine_entry(self, qid: int) -> dict[str, Any] | None:
        """One quarantine entry by its number (as :meth:`list_quarantine`), or None."""
        with self._read() as c:
            cur = c.execute(f"SELECT {self._QUARANTINE_COLS} FROM quarantine WHERE id = ?", (qid,))
            row = cur.fetchone()
            return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def verdicts(self, device_code: str, event_ids: Sequence[str]) -> list[Verdict]:
        """The admin's verdict on each of ``event_ids`` that ``device_code`` pushed and the server
        quarantined (``unknown`` for ids it has not quarantined from that device), in the asked order."""
        found: dict[str, Verdict] = {}
        with self._read() as c:
            for chunk in _chunks(list(event_ids)):
                for eid, status, note in c.execute(
                    f"SELECT event_id, status, note FROM quarantine WHERE device_id = ? AND {self._in(len(chunk), 'event_id')}",
                    (device_code, *chunk),
                ):
                    found[eid] = Verdict(eid, status, note or "")
                released = [e for e, v in found.items() if v.state == VerdictState.RELEASED and e in chunk]
                if released:
                    sql = f"SELECT event_id, hlc FROM events WHERE {self._in(len(released), 'event_id')}"
                    for eid, hlc in c.execute(sql, released):
                        found[eid].hlc = hlc
        return [found.get(e) or Verdict(e, VerdictState.UNKNOWN.value) for e in event_ids]

    def _decide(
        self, c: Any, qid: int, *, every_dependant: bool = False
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
    def _has_created(c: Any, melding_id: str) -> bool:
        """Whether the server stores a ``created`` for ``melding_id``."""
        return c.execute(
            "SELECT 1 FROM events WHERE melding_id = ? AND type = 'created'", (melding_id,)
        ).fetchone() is not None

    def _close_entries(self, c: Any, ids: Sequence[int], status: VerdictState, by: str, note: str) -> None:
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
        return self._retry(lambda: self._release(qid, by, note, policy))

    def _release(self, qid: int, by: str, note: str, policy: HolidayPolicy | None) -> list[Event]:
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
            self._follow_hlc(c)
            released = [restamp(e, self.hlc.now(), policy=policy) for e in originals]
            received = now_iso()
            self._insert_events(c, released, received, f"(vrijgegeven: {by})")
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
    def _events_in(c: Any, melding_id: str) -> list[Event]:
        cols = EVENT_SELECT
        return [event_from_row(r) for r in c.execute(f"SELECT {cols} FROM events WHERE melding_id = ?", (melding_id,))]

    def late_events(
        self, *, min_days: float = LATE_ARRIVAL_DAYS, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        """Data quality for the barometer: pushed events stamped ``min_days`` days or more before they
        reached the server (docs/design.md, "Authority and time"). A laptop offline for a week keeps its
        original times; this says how much of the record arrived that late.

        Args:
            min_days: the threshold N in days (default ``shared.protocol.LATE_ARRIVAL_DAYS``).
            start / end: only events that arrived in ``[start, end)`` (aware datetimes), else all.

        Returns:
            ``{"late": n, "total": pushed events considered, "min_days": N, "max_days": the largest
            delay in days (0.0 when none), "by_device": {device_code: n}}``. Events the server made
            itself (device ``SERVER_DEVICE``) are not counted: they carry the server's own clock.
        """
        lag = f"(({self.dialect.epoch_ms('received_at')} - (hlc >> 16)) / 86400000.0)"
        where, args = ["device_id != ?"], [SERVER_DEVICE]
        if start is not None:
            where.append("received_at >= ?")
            args.append(start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        if end is not None:
            where.append("received_at < ?")
            args.append(end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        cond = " AND ".join(where)
        with self._read() as c:
            total, late, worst = c.execute(
                f"SELECT count(*), coalesce(sum({self.dialect.as_int(f'{lag} >= ?')}), 0), coalesce(max({lag}), 0.0) "
                f"FROM events WHERE {cond}",
                (min_days, *args),
            ).fetchone()
            by_device = dict(
                c.execute(
                    f"SELECT device_id, count(*) FROM events WHERE {cond} AND {lag} >= ? GROUP BY device_id ORDER BY device_id",
                    (*args, min_days),
                )
            )
        late, worst = int(late), float(worst)
        return {"late": late, "total": total, "min_days": min_days, "max_days": max(0.0, worst), "by_device": by_device}

    def reference_clashes(self) -> list[dict[str, Any]]:
        """Every reference seen on two melding_ids: ``{reference, melding_id, other_melding_id, detected_at}``."""
        with self._read() as c:
            cur = c.execute("SELECT reference, melding_id, other_melding_id, detected_at FROM reference_clashes ORDER BY id")
            return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur]

    def counts(self) -> dict[str, int]:
        """Row counts of events, meldingen and quarantine (for /health and the CLI)."""
        with self._read() as c:
            return {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("events", "meldingen", "quarantine")}

    def max_server_seq(self) -> int:
        """The highest ``server_seq`` handed out (0 for an empty log)."""
        with self._read() as c:
            return c.execute("SELECT coalesce(max(server_seq), 0) FROM events").fetchone()[0]

    def backup(self, target: str | Path) -> None:
        """A consistent copy of the database at ``target`` (SQLite online backup; the server may run).

        Raises:
            StoreError: ``target`` exists already, or the store is on PostgreSQL (``pg_dump`` makes its
                backups: ``sync_server.storage.pg_backup``).
        """
        if self.postgres:
            raise StoreError("Deze bewerking kan alleen op een SQLite-database (PostgreSQL: pg_dump).")
        target = Path(target)
        if target.exists():
            raise StoreError(f"{target} bestaat al; kies een nieuw bestand voor de reservekopie.")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target)
        try:
            self.conn().backup(dst)
        finally:
            dst.close()
