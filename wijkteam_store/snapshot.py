"""Laptop snapshots: a ready laptop database that the server builds and a new laptop installs.

A laptop that starts empty (or has fallen far behind with no work of its own waiting) does not replay
the server's whole log; it downloads a *snapshot*: a SQLite file in exactly the laptop's schema
(:mod:`wijkteam_store.local`), stamped with the ``server_seq`` and log id it covers (the file's own
``device.pull_cursor`` and ``device.server_log_id``), and then pulls the tail as usual
(docs/sync.md, "Snapshot").

Server side (``sync_server.snapshot`` drives it):

* the server keeps a *working copy*: a :class:`~wijkteam_store.local.LocalStore` that pulls the log with
  :meth:`LocalStore.apply_remote` exactly as a laptop does, page by page in ``server_seq`` order, so its
  events, projection rows (with their rowids) and full-text rows are what a pull would have written;
* :func:`publish` turns it into the file laptops download: the full-text index merged into one segment
  (``optimize``: deleted tokens gone), then ``VACUUM INTO`` a new file (no free pages, no slack inside
  pages: values overwritten since, such as an anonymised reporter's, are not shipped), and its SHA-256.

Laptop side (``wijkteam_tui.sync_client`` drives it, after the download and its SHA-256 check):

* :func:`prepare` checks the file (``PRAGMA quick_check``, the schema is exactly this app's, the stamp
  is the one announced) and gives it this laptop's device code and counters;
* :func:`install` replaces the laptop's database by it with one atomic rename, after checking, under an
  exclusive lock, that the laptop still has no unsent work.

A crash at any point leaves the old database or the new one, never a mix: the old file is only
replaced by a rename, the new file is complete and synced before that rename, and neither has a WAL
file at that moment (the old one is switched to rollback-journal mode first, which SQLite allows only
when no other connection has it open).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from shared.enums import EventType
from shared.reference import counter_of
from wijkteam_store.local import OPENING, SCHEMA_VERSION, LocalStore, StoreError, local_work

#: Bytes read per step when hashing or streaming a snapshot file.
CHUNK = 1 << 20


class SnapshotError(StoreError):
    """A snapshot file is not fit to install (damaged, another schema, another stamp) or cannot be
    installed now (the laptop has unsent work, or its database is in use). ``message`` is Dutch; the
    laptop's database is unchanged."""


class SnapshotBusy(SnapshotError):
    """The laptop's database is open elsewhere (another window or program): the install waits."""


class SnapshotStamp(msgspec.Struct, frozen=True):
    """What a snapshot file covers: every event of log ``log_id`` up to ``server_seq``, in laptop
    schema ``store_schema`` (:data:`wijkteam_store.local.SCHEMA_VERSION`)."""

    server_seq: int
    log_id: int
    store_schema: int


class DeviceRow(msgspec.Struct, frozen=True):
    """The laptop-own part of a laptop database (its ``device`` row) that a snapshot must keep:
    device code, event counter, HLC, melding counter and the highest ``device_seq`` ever pushed.
    Cursor and log id come from the snapshot."""

    device_id: str | None
    seq: int
    hlc_last: int
    melding_counter: int
    sent_seq: int = 0


# -- server side ------------------------------------------------------------------------------------


def stamp_of(store: LocalStore) -> SnapshotStamp:
    """The stamp of a working copy (or any laptop database): its pull cursor, log id and schema."""
    cursor, log_id = store.conn.execute("SELECT pull_cursor, server_log_id FROM device WHERE id = 1").fetchone()
    return SnapshotStamp(cursor, log_id, store.schema_version())


def publish(work: LocalStore, target: Path) -> tuple[str, int]:
    """Write the snapshot file of the working copy ``work`` to ``target`` (atomically: a temporary
    file, synced, then renamed).

    The working copy's full-text index is merged into one segment first (FTS5 ``optimize``): a row
    deleted or rewritten since (an anonymised reporter) otherwise leaves its tokens in older segments.
    ``VACUUM INTO`` then writes only live rows into fresh pages, in rollback-journal mode (one file,
    no WAL to lose on the way).

    Returns:
        ``(sha256 hex, length in bytes)`` of the file.

    Raises:
        StoreError: the working copy cannot be read or the target written.
    """
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        with work.transaction():
            work.conn.execute("INSERT INTO meldingen_fts (meldingen_fts) VALUES ('optimize')")
        work.conn.execute("VACUUM INTO ?", (str(tmp),))
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"Snapshot niet geschreven: {exc}") from exc
    sha, length = file_sha256(tmp)
    _fsync(tmp)
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    return sha, length


def file_sha256(path: Path, *, upto: int | None = None) -> tuple[str, int]:
    """``(sha256 hex, bytes read)`` of a file, or of its first ``upto`` bytes."""
    h = hashlib.sha256()
    n = 0
    for chunk in read_chunks(path, 0, upto):
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


def read_chunks(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The bytes of ``path`` from ``start`` up to (not including) ``end`` (default: the end), in
    :data:`CHUNK`-sized pieces; the file is opened once, so a later rename or unlink of the path does
    not cut the stream short."""
    with open(path, "rb") as fh:
        fh.seek(start)
        left = None if end is None else max(end - start, 0)
        while left is None or left > 0:
            chunk = fh.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


# -- laptop side ------------------------------------------------------------------------------------


def device_row(store: LocalStore) -> DeviceRow:
    """This laptop's own counters (:class:`DeviceRow`), to carry into a snapshot."""
    row = store.conn.execute(
        "SELECT device_id, seq, hlc_last, melding_counter, sent_seq FROM device WHERE id = 1"
    ).fetchone()
    return DeviceRow(*row)


_EXPECTED_SCHEMA: list[tuple[str, str, str, str]] | None = None


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    return [
        tuple(r)
        for r in conn.execute("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
    ]


def expected_schema() -> list[tuple[str, str, str, str]]:
    """The ``sqlite_master`` entries (type, name, table, SQL) of a new laptop database of this version."""
    global _EXPECTED_SCHEMA
    if _EXPECTED_SCHEMA is None:
        fresh = LocalStore(":memory:")
        try:
            _EXPECTED_SCHEMA = _schema(fresh.conn)
        finally:
            fresh.close()
    return _EXPECTED_SCHEMA


def _own_counters(conn: sqlite3.Connection, code: str) -> tuple[int, int]:
    """``(highest device_seq, highest melding counter)`` of the events made under device ``code``.

    A snapshot holds the events of every device, possibly of this device code too (a reinstalled
    laptop): the laptop's counters must continue after them, or its next melding would get a
    reference that exists already (docs/references.md).
    """
    seq = 0
    counter = 0
    for type_, device_seq, reference in conn.execute(
        "SELECT type, device_seq, CASE WHEN type = ? THEN json_extract(payload, '$.reference') END"
        " FROM events WHERE device_id = ?",
        (EventType.CREATED.value, code),
    ):
        seq = max(seq, device_seq)
        if type_ == EventType.CREATED and isinstance(reference, str):
            try:
                counter = max(counter, counter_of(reference))
            except ValueError:
                pass  # a malformed reference is the server's to flag, not ours to count
    return seq, counter


def prepare(path: Path, stamp: SnapshotStamp, own: DeviceRow) -> int:
    """Check a downloaded snapshot file (its SHA-256 was checked by the caller) and make it this
    laptop's: device code ``own.device_id``, event and melding counters past every event of that code
    in the file and past ``own``'s, HLC past both.

    Checks: ``PRAGMA quick_check`` is ``ok``; the schema (every table, index, trigger and view) is
    exactly that of a new laptop database of this version, so the file can carry nothing that would
    run on this laptop; the file's stamp (cursor, log id, schema version) is ``stamp``.

    The file stays in rollback-journal mode (no WAL), synced, ready for :func:`install`.

    Returns:
        The number of events in the file.

    Raises:
        SnapshotError: the file fails a check; it should be thrown away.
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise SnapshotError(f"Het snapshot kan niet worden geopend: {exc}") from exc
    try:
        try:
            conn.execute("PRAGMA synchronous = FULL")
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise SnapshotError(f"Het snapshot is geen leesbare database: {exc}") from exc
        try:
            check = [r[0] for r in conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            check = [str(exc)]
        if mode != "delete" or check != ["ok"]:
            raise SnapshotError(f"Het snapshot is beschadigd ({'; '.join(check[:3])}).")
        if _schema(conn) != expected_schema():
            raise SnapshotError("Het snapshot heeft niet de opbouw van een laptopdatabase van deze versie.")
        version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        cursor, log_id = conn.execute("SELECT pull_cursor, server_log_id FROM device WHERE id = 1").fetchone()
        if (cursor, log_id, version) != (stamp.server_seq, stamp.log_id, stamp.store_schema) or version != SCHEMA_VERSION:
            raise SnapshotError(
                f"Het snapshot dekt iets anders dan de server aankondigde (positie {cursor}, log {log_id}, "
                f"schema {version}; verwacht {stamp.server_seq}, {stamp.log_id}, {stamp.store_schema})."
            )
        conn.execute("BEGIN IMMEDIATE")
        seq, counter = _own_counters(conn, own.device_id) if own.device_id else (0, 0)
        # Events of this device code in the file are on the server: sent (their stamps must stay).
        conn.execute(
            "UPDATE device SET device_id = ?, seq = max(?, ?), melding_counter = max(?, ?),"
            " hlc_last = max(hlc_last, ?), sent_seq = max(?, ?) WHERE id = 1",
            (own.device_id, own.seq, seq, own.melding_counter, counter, own.hlc_last, own.sent_seq, seq),
        )
        conn.execute("COMMIT")
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.Error as exc:
        raise SnapshotError(f"Het snapshot kan niet worden klaargezet: {exc}") from exc
    finally:
        conn.close()
    _fsync(path)
    return events


def install(
    db: Path, prepared: Path, own: DeviceRow, *, busy_timeout_ms: int = 2000, fault: Callable[[str], None] | None = None
) -> None:
    """Replace the laptop database ``db`` by the prepared snapshot ``prepared`` (one atomic rename).

    The caller closes every connection of its own to ``db`` first (the app's and the sync worker's);
    no connection of this process is opened while this runs (:data:`wijkteam_store.local.OPENING`).
    Then, on a connection of its own: the database is switched to rollback-journal mode, which
    checkpoints and removes its WAL and shared-memory files and succeeds only when no other
    connection has the file open; under an exclusive lock it is checked that there is still no local
    work and that the device code is still ``own.device_id``; the prepared file is renamed over it.
    Before the rename only the old database exists, after it only the new one (neither has a WAL).
    ``fault``: a test hook, called with ``"replacing"`` right before the rename (the crash tests kill
    the process there).

    Raises:
        SnapshotError: the database is in use elsewhere, or has unsent work or another device code
            now; nothing changed (``prepared`` is left for the caller to remove).
    """
    with OPENING:  # no connection of this process opens the file meanwhile
        _install(db, prepared, own, busy_timeout_ms, fault)


def _install(
    db: Path, prepared: Path, own: DeviceRow, busy_timeout_ms: int, fault: Callable[[str], None] | None
) -> None:
    try:
        conn = sqlite3.connect(db, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise SnapshotError(f"De database kan niet worden geopend: {exc}") from exc
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlite3.OperationalError:
            mode = "busy"
        if mode != "delete":
            raise SnapshotBusy("De database is in gebruik door een ander venster of programma; het snapshot wacht.")
        conn.execute("BEGIN EXCLUSIVE")
        waiting = local_work(conn)
        code = conn.execute("SELECT device_id FROM device WHERE id = 1").fetchone()[0]
        if waiting:
            raise SnapshotError(
                f"Er {'is' if waiting == 1 else 'zijn'} intussen {waiting} "
                f"{'wijziging' if waiting == 1 else 'wijzigingen'} op deze laptop gemaakt; het snapshot is niet gebruikt."
            )
        if code != own.device_id:
            raise SnapshotError("De apparaatcode is intussen gewijzigd; het snapshot is niet gebruikt.")
        if fault:
            fault("replacing")
        if os.name == "nt":  # Windows cannot rename over a file that is open
            conn.execute("ROLLBACK")
            conn.close()
        os.replace(prepared, db)
        _fsync_dir(db.parent)
    except sqlite3.Error as exc:
        raise SnapshotError(f"Het snapshot kan niet worden geïnstalleerd: {exc}") from exc
    finally:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
        except sqlite3.Error:
            pass


def discard(path: Path) -> None:
    """Remove a snapshot file and whatever SQLite keeps next to it (journal, WAL, shared memory)."""
    for p in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
        p.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
