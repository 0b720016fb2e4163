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

from shared.commands import SERVER_DEVICE, DeviceClock
from shared.enums import EventType, Role
from shared.events import Event
from shared.fold import fold
from shared.hlc import HLC, wall_ms
from shared.model import Melding
from shared.projection import COLUMNS, needs_timeline, projection_row
from shared.protocol import PulledEvent
from shared.reference import DEVICE_CODE_WIDTH, device_code
from wijkteam_reports.summary import SUMMARY_VERSION, ensure_summary, write_summary

#: Version of this database layout; a database written by newer software is refused at open.
#: 2: the barometer summary table ``barometer_rows`` (``wijkteam_reports.summary``), kept with the
#: projection; an older server would leave it stale, so it must refuse such a database.
#: 3: the projection's ``state`` column (the whole melding as JSON) is gone; detail views fold the
#: melding's events, and the barometer reads the new ``status_timeline`` column.
STORE_SCHEMA_VERSION = 3
BUSY_TIMEOUT_MS = 30_000
_CHUNK = 500  # stays under SQLite's bound-parameter limit

EVENT_COLUMNS = ("event_id", "melding_id", "device_id", "device_seq", "hlc", "type", "payload", "user", "prev", "schema")
_EVENT_SELECT = "server_seq, " + ", ".join(f'"{c}"' for c in EVENT_COLUMNS)

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder(dict[str, Any]).decode


class StoreError(Exception):
    """A store operation the caller asked for cannot be done; ``message`` is Dutch, fit for the admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
    """A refused event: ``event_id`` (or a made-up id when the event had none), why, and the raw text."""

    event_id: str
    reason: str
    raw: str
    device_id: str | None = None


@dataclass
class IngestResult:
    """What one push did: ids stored new, ids already present, entries quarantined."""

    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    server_hlc: int = 0


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
CREATE TABLE IF NOT EXISTS meldingen (
  {cols}
);
CREATE INDEX IF NOT EXISTS meldingen_reference ON meldingen(reference);
CREATE INDEX IF NOT EXISTS meldingen_postcode_huisnummer ON meldingen(postcode, huisnummer);
CREATE INDEX IF NOT EXISTS meldingen_telefoon ON meldingen(melder_telefoon);
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
CREATE TABLE IF NOT EXISTS devices (
  device_code TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  issued_at TEXT NOT NULL
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
            self._local.conn = c
            with self._all_lock:
                self._all.append(c)
        return c

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed (durably) on success, rolled back on any error."""
        c = self.conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

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

    def add_user(self, name: str, role: Role | str, *, device: str | None = None) -> tuple[str, str | None]:
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
            self._audit(c, "(beheer)", "user_add", None, f"{name} ({role.value}, apparaat {code or '-'})")
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

    def revoke_user(self, name: str) -> None:
        """Make ``name``'s token invalid at once. Its device code stays reserved (never issued again).

        Raises:
            StoreError: no such user, or already revoked.
        """
        with self.write() as c:
            row = c.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise StoreError(f"Gebruiker {name!r} bestaat niet.")
            if row[0]:
                raise StoreError(f"Het token van {name!r} is al ingetrokken.")
            c.execute("UPDATE users SET revoked_at = ? WHERE name = ?", (now_iso(), name))
            self._audit(c, "(beheer)", "user_revoke", None, name)

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
    ) -> IngestResult:
        """Store a push: new events get the next ``server_seq``; known ``event_id``s are skipped;
        refused events go to the quarantine; the projection of every touched melding is refolded;
        reference clashes are flagged; the server's HLC merges the new stamps. One ``BEGIN IMMEDIATE``
        transaction, committed with ``synchronous=FULL`` before this returns (so before the ack).
        ``fault`` (crash tests only) is called with ``"push-before-commit"`` and ``"push-after-commit"``.

        The caller has validated ``events`` (``sync_server.routes.sync`` does; so does
        :meth:`append_server_events`).
        """
        result = IngestResult(quarantined=list(quarantine))
        received = now_iso()
        with self.write() as c:
            unique: dict[str, Event] = {}
            for e in events:
                unique.setdefault(e.event_id, e)
            ids = list(unique)
            known: set[str] = set()
            for chunk in _chunks(ids):
                qs = ",".join("?" * len(chunk))
                known.update(r[0] for r in c.execute(f"SELECT event_id FROM events WHERE event_id IN ({qs})", chunk))
            new = [unique[i] for i in ids if i not in known]
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
            result.duplicates = [e.event_id for e in events if e.event_id in known]
            if result.quarantined:
                c.executemany(
                    "INSERT INTO quarantine(event_id, device_id, reason, raw, received_at, pushed_by) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
                    [(q.event_id, q.device_id, q.reason, q.raw, received, pushed_by) for q in result.quarantined],
                )
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
            if fault:
                fault("push-before-commit")
        if fault:
            fault("push-after-commit")
        return result

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
        self, user: str, build: Callable[[DeviceClock, Callable[[], int]], list[Event]]
    ) -> list[Event]:
        """Make and store events on the server itself (device ``SERVER_DEVICE``, e.g. Open311 intake).

        ``build(dev, next_counter)`` is called inside the write transaction with the server's
        :class:`~shared.commands.DeviceClock` and a function returning the server's next melding
        counter (for ``shared.commands.register``); the events it returns are stored like a push, so
        they sync to every laptop. If ``build`` raises (e.g. ``ValidationError``) nothing is stored.
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
            self._refold(c, sorted({e.melding_id for e in events}))
            self._flag_clashes(c, [e for e in events if e.type == EventType.CREATED])
            self._set_state(c, "hlc_last", self.hlc.peek())
        return events

    # -- sync: pull --------------------------------------------------------------------------------

    def pull(self, after: int, limit: int) -> tuple[list[PulledEvent], int, bool]:
        """Events with ``server_seq > after`` in ``server_seq`` order, at most ``limit``.

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
        out = [PulledEvent(server_seq=r[0], event=event_from_row(r[1:])) for r in rows]
        return out, (rows[-1][0] if rows else after), has_more

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

    def list_quarantine(self) -> list[dict[str, Any]]:
        """The quarantine, oldest first: ``{event_id, device_id, reason, raw, received_at, pushed_by}``."""
        cur = self.conn().execute(
            "SELECT event_id, device_id, reason, raw, received_at, pushed_by FROM quarantine ORDER BY id"
        )
        return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur]

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
