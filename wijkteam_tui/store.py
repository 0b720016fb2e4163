"""The laptop's local store: event log, projection and full-text index in one SQLite file.

Layout (DESIGN.md, "Storage" and "Records are event logs"):

* ``events``: every event this laptop made or pulled; ``acked`` = 1 once the server has it.
* ``meldingen``: the projection, exactly the columns of :data:`shared.projection.COLUMNS`, rewritten
  with :func:`shared.projection.projection_row` of the refolded state in the same transaction as
  the events that changed it.
* ``meldingen_fts``: FTS5 over reference, omschrijving, address and melder name (rowid = the
  projection row's rowid), kept in sync by the same code path.
* ``device``: one row with this laptop's device code, event counter, HLC, melding counter and the
  pull cursor of sync.

Every write is one ``BEGIN IMMEDIATE`` transaction with ``synchronous=FULL`` (a user's work and a
server acknowledgement depend on the commit). The connection belongs to the thread that opened
it: a sync worker thread opens its own :class:`LocalStore` on the same path.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import sqlite_utils

from shared.commands import DeviceClock, register
from shared.deadlines import utcnow
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Melding
from shared.projection import COLUMNS, iso, projection_row, state_from_row
from shared.reference import normalise_reference

#: Current schema version; :data:`MIGRATIONS` brings an older file up to it.
SCHEMA_VERSION = 1

#: Columns a list or search returns (the projection without the bulky ``state`` JSON).
LIST_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c != "state")

_EVENT_COLUMNS = ("event_id", "melding_id", "device_id", "device_seq", "hlc", "type", "prev", "schema", "user", "payload")
_SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL"}
_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


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
        return StoreError("De database is bezet door een ander programma. Probeer het over een paar seconden opnieuw; uw invoer blijft staan.")
    if "readonly" in text or "read-only" in text or "permission" in text:
        return StoreError("De database kan niet worden beschreven (alleen-lezen). Er is niets opgeslagen; uw invoer blijft staan.")
    if "full" in text or "disk" in text:
        return StoreError("De schijf is vol of niet bereikbaar. Er is niets opgeslagen; uw invoer blijft staan.")
    return StoreError(f"Databasefout: {exc}. Er is niets opgeslagen.")


def _migration_1(conn: sqlite3.Connection) -> None:
    db = sqlite_utils.Database(conn)
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
        f"{name} {_SQL_TYPES[kind]}" + (" PRIMARY KEY" if name == "melding_id" else "") for name, kind in COLUMNS.items()
    )
    conn.execute(f"CREATE TABLE meldingen ({cols})")
    for col in ("registered_at", "reference", "status", "categorie", "wijk", "deadline", "postcode"):
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
    assert db["events"].exists()


#: version → function bringing the file from version-1 to version (run inside one transaction).
MIGRATIONS = {1: _migration_1}


def _fts_values(row: dict[str, Any]) -> tuple[str, str, str, str]:
    adres = " ".join(
        str(row[k])
        for k in ("straat", "huisnummer", "huisletter", "huisnummertoevoeging", "postcode", "woonplaats", "locatie_omschrijving", "wijk")
        if row.get(k)
    )
    melder = " ".join(str(row[k]) for k in ("melder_naam", "melder_email") if row.get(k))
    if row.get("melder_telefoon"):
        # Both the E.164 and the national form, so "0612" and "+31612" both find the caller.
        tel = row["melder_telefoon"]
        melder += f" {tel.lstrip('+')} {'0' + tel[3:] if tel.startswith('+31') else ''}"
    # The reference without its municipality prefix: "DLF" is on every row and would make the
    # prefix queries "D", "DL", "DLF" match everything; reference-shaped text is searched on the
    # reference index instead (see LocalStore._where).
    ref = row["reference"].split("-", 1)[-1]
    return (ref, row["omschrijving"] or "", adres, melder)


_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


#: Text that starts like a reference ("DLF-", "dlf-k7-00"): searched as a reference prefix.
_REF_PREFIX = re.compile(r"^\s*([A-Za-z]{2,5})[-\s]+([0-9A-Za-z]{0,3})(?:[-\s]+([0-9A-Za-z]{0,6}))?\s*$")

#: Fewer characters than this are not searched as text (one letter matches nearly everything).
MIN_SEARCH_CHARS = 2

#: Counting stops here; the list then says "meer dan …" (counting 100,000 matches costs time).
COUNT_CAP = 10_000


def reference_prefix(text: str) -> str | None:
    """The canonical reference prefix typed so far (``"dlf-k7-00"`` → ``"DLF-K7-00"``), or None."""
    m = _REF_PREFIX.match(text or "")
    if not m:
        return None
    prefix, dev, ctr = m.group(1).upper(), (m.group(2) or "").upper(), (m.group(3) or "").upper()
    lookalikes = str.maketrans({"O": "0", "I": "1", "L": "1"})
    dev, ctr = dev.translate(lookalikes), ctr.translate(lookalikes)
    return f"{prefix}-{dev}" + (f"-{ctr}" if m.group(3) is not None else "")


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for search-as-you-type: every word as a prefix, all required.

    ``"Kerkstr 12"`` → ``'"Kerkstr"* AND "12"*'``; ``"K7 0001"`` → both parts. Returns None when
    the text has no word characters or fewer than ``MIN_SEARCH_CHARS`` (nothing is filtered on text).
    """
    if len((text or "").strip()) < MIN_SEARCH_CHARS:
        return None
    words = _FTS_TOKEN.findall(text or "")
    if not words:
        return None
    return " AND ".join(f'"{w}"*' for w in words)


def _row_to_event(row: tuple) -> Event:
    event_id, melding_id, device_id, device_seq, hlc, type_, prev, schema, user, payload = row
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
        e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type, e.prev, e.schema, e.user,
        _json_encode(e.payload).decode(), acked,
    )


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
        try:
            # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE) by this class.
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_ms / 1000)
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.db = sqlite_utils.Database(self.conn)
            self._depth = 0
            self._migrate()
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    # -- plumbing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> LocalStore:
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
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise _store_error(exc) from exc
            raise
        finally:
            self._depth = 0

    def _migrate(self) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        current = row[0] or 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"Deze database heeft schemaversie {current}; deze versie van Wijkteam kent tot {SCHEMA_VERSION}. Werk Wijkteam bij."
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                MIGRATIONS[version](self.conn)
                self.conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def schema_version(self) -> int:
        """The schema version of the open file."""
        return self.conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]

    # -- device -----------------------------------------------------------------------------------

    def _device(self) -> dict[str, Any]:
        cur = self.conn.execute("SELECT device_id, seq, hlc_last, melding_counter, pull_cursor FROM device WHERE id = 1")
        return dict(zip(("device_id", "seq", "hlc_last", "melding_counter", "pull_cursor"), cur.fetchone(), strict=True))

    def device_code(self) -> str | None:
        """The device code this laptop numbers its meldingen with, or None before one is set."""
        return self._device()["device_id"]

    def set_device_code(self, code: str) -> None:
        """Store the device code issued by the server with the token (2–3 Crockford base32 characters).

        A later change keeps the counters: references stay unique because the code differs.
        """
        with self.transaction():
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
            raise RuntimeError("next_melding_counter() must run inside store.transaction()")
        self.conn.execute("UPDATE device SET melding_counter = melding_counter + 1 WHERE id = 1")
        return self.conn.execute("SELECT melding_counter FROM device WHERE id = 1").fetchone()[0]

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
            event = register(dev, prefix=prefix, counter=counter, fields=fields, registered_at=registered_at)
            self.append([event], dev)
        melding = self.get(event.melding_id)
        assert melding is not None
        return melding

    def _refold(self, melding_ids: Iterable[str]) -> None:
        for mid in melding_ids:
            self._write_projection(fold(self.events_of(mid)), mid)

    def _write_projection(self, melding: Melding | None, melding_id: str) -> None:
        if melding is None:
            return  # its created event has not arrived yet
        row = projection_row(melding)
        names = list(COLUMNS)
        placeholders = ", ".join("?" * len(names))
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "melding_id")
        self.conn.execute(
            f"INSERT INTO meldingen ({', '.join(names)}) VALUES ({placeholders}) "
            f"ON CONFLICT(melding_id) DO UPDATE SET {updates}",
            [row[n] for n in names],
        )
        rowid = self.conn.execute("SELECT rowid FROM meldingen WHERE melding_id = ?", (melding_id,)).fetchone()[0]
        self.conn.execute("DELETE FROM meldingen_fts WHERE rowid = ?", (rowid,))
        self.conn.execute(
            "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)",
            (rowid, *_fts_values(row)),
        )

    def bulk_load(self, groups: Iterable[list[Event]], *, acked: bool = True, device: DeviceClock | None = None,
                  melding_counter: int | None = None) -> int:
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
        with self.transaction():
            start = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM meldingen").fetchone()[0]
            ev_rows: list[tuple] = []
            m_rows: list[list[Any]] = []
            fts_rows: list[tuple] = []
            for events in groups:
                m = fold(events)
                if m is None:
                    continue
                n += 1
                ev_rows.extend(_event_values(e, int(acked)) for e in events)
                row = projection_row(m)
                m_rows.append([start + n, *(row[c] for c in names)])
                fts_rows.append((start + n, *_fts_values(row)))
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
                    "UPDATE device SET melding_counter = max(melding_counter, ?) WHERE id = 1", (melding_counter,)
                )
        return n

    def _flush_bulk(self, ev_rows: list, m_rows: list, fts_rows: list, names: list[str]) -> None:
        self.conn.executemany(
            f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}, acked) VALUES ({', '.join('?' * 11)})", ev_rows
        )
        self.conn.executemany(
            f"INSERT INTO meldingen (rowid, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})", m_rows
        )
        self.conn.executemany(
            "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)", fts_rows
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
        """The current state of one melding (from the projection), or None when unknown."""
        row = self.conn.execute("SELECT state FROM meldingen WHERE melding_id = ?", (melding_id,)).fetchone()
        return state_from_row(row[0]) if row else None

    def get_by_reference(self, ref: str) -> Melding | None:
        """The melding with a reference as a caller spells it (``"dlf k7 o142"``), or None.

        Raises:
            ValidationError: the text is not shaped like a reference (field ``referentie``).
        """
        canonical = normalise_reference(ref)
        row = self.conn.execute("SELECT state FROM meldingen WHERE reference = ?", (canonical,)).fetchone()
        return state_from_row(row[0]) if row else None

    def _where(
        self,
        text: str | None,
        status: str | None,
        categorie: str | None,
        wijk: str | None,
        overdue: bool | None,
        include_deleted: bool,
        now: datetime | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        ref = reference_prefix(text or "")
        query = None if ref else fts_query(text or "")
        if ref:
            # A range on the reference index: "DLF-K7-00" finds every reference starting so.
            clauses.append("m.reference >= ? AND m.reference < ?")
            args += [ref, ref + "\uffff"]
        if query:
            clauses.append("m.rowid IN (SELECT rowid FROM meldingen_fts WHERE meldingen_fts MATCH ?)")
            args.append(query)
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
            else:  # a main category: every sub-category under it
                clauses.append("m.categorie LIKE ?")
                args.append(categorie + "/%")
        if wijk:
            clauses.append("m.wijk = ?")
            args.append(wijk)
        if overdue is not None:
            stamp = iso(now or utcnow())
            if overdue:
                clauses.append("(m.is_open = 1 AND m.deadline IS NOT NULL AND m.deadline < ?)")
            else:
                clauses.append("NOT (m.is_open = 1 AND m.deadline IS NOT NULL AND m.deadline < ?)")
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
        where, args = self._where(text, status, categorie, wijk, overdue, include_deleted, now)
        cols = ", ".join(f"m.{c}" for c in LIST_COLUMNS)
        cur = self.conn.execute(
            f"SELECT {cols} FROM meldingen m{where} ORDER BY m.registered_at DESC, m.melding_id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
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
        where, args = self._where(text, status, categorie, wijk, overdue, include_deleted, now)
        if cap is None:
            return self.conn.execute(f"SELECT count(*) FROM meldingen m{where}", args).fetchone()[0]
        sql = f"SELECT count(*) FROM (SELECT 1 FROM meldingen m{where} LIMIT ?)"
        return self.conn.execute(sql, [*args, cap]).fetchone()[0]

    def wijken(self) -> list[str]:
        """The wijken that occur in the projection, sorted (for the list filter)."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT wijk FROM meldingen WHERE wijk IS NOT NULL ORDER BY wijk")]

    def iter_rows(self, *, include_deleted: bool = True) -> Iterator[dict[str, Any]]:
        """Every projection row (without ``state``) in registration order, streamed (for export)."""
        cols = ", ".join(LIST_COLUMNS)
        where = "" if include_deleted else " WHERE deleted = 0"
        for r in self.conn.execute(f"SELECT {cols} FROM meldingen{where} ORDER BY registered_at, melding_id"):
            yield dict(zip(LIST_COLUMNS, r, strict=True))

    # -- sync interface ---------------------------------------------------------------------------

    def unacked_events(self, limit: int) -> list[Event]:
        """Up to ``limit`` events the server has not acknowledged, in ``device_seq`` order."""
        cur = self.conn.execute(
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events WHERE acked = 0 ORDER BY device_seq LIMIT ?", (limit,)
        )
        return [_row_to_event(r) for r in cur]

    def mark_acked(self, event_ids: list[str]) -> None:
        """Mark events as acknowledged by the server (one transaction)."""
        with self.transaction():
            self.conn.executemany("UPDATE events SET acked = 1 WHERE event_id = ?", [(i,) for i in event_ids])

    def pending_count(self) -> int:
        """How many local events still wait to be pushed."""
        return self.conn.execute("SELECT count(*) FROM events WHERE acked = 0").fetchone()[0]

    def pull_cursor(self) -> int:
        """The server_seq after which the next pull starts (0 for a new laptop)."""
        return self._device()["pull_cursor"]

    def apply_remote(self, events: list[Event], next_after: int) -> None:
        """Apply one pulled page: insert unknown events (acked), refold what they touch, store the cursor.

        Events already known (e.g. this laptop's own, echoed back) are only marked acked. One
        transaction, so a crash never leaves a page half applied or the cursor past unapplied events.
        The persisted HLC moves past every pulled stamp, so later local edits order after them.
        """
        with self.transaction():
            ids = [e.event_id for e in events]
            known: set[str] = set()
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                cur = self.conn.execute(
                    f"SELECT event_id FROM events WHERE event_id IN ({', '.join('?' * len(chunk))})", chunk
                )
                known.update(r[0] for r in cur)
            new = [e for e in events if e.event_id not in known]
            self.conn.executemany(
                f"INSERT OR IGNORE INTO events ({', '.join(_EVENT_COLUMNS)}, acked) VALUES ({', '.join('?' * 11)})",
                [_event_values(e, 1) for e in new],
            )
            if known:
                self.conn.executemany("UPDATE events SET acked = 1 WHERE event_id = ?", [(i,) for i in known])
            if new:
                self.conn.execute(
                    "UPDATE device SET hlc_last = max(hlc_last, ?) WHERE id = 1", (max(e.hlc for e in new),)
                )
            self._refold({e.melding_id for e in new})
            self.conn.execute("UPDATE device SET pull_cursor = ? WHERE id = 1", (next_after,))

    def recv_hlc(self, remote: int) -> int:
        """Merge the server's HLC stamp into the persisted clock (``HLC.recv``); returns the new stamp."""
        with self.transaction():
            hlc = HLC(self._device()["hlc_last"])
            stamp = hlc.recv(remote)
            self.conn.execute("UPDATE device SET hlc_last = ? WHERE id = 1", (stamp,))
        return stamp
