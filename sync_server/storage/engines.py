"""The two database engines of the server store (issue 17): one SQLite file, or PostgreSQL 15+.

:func:`open_database` picks one from the ``--db`` value: a ``postgresql://`` (or ``postgres://``) URL is
PostgreSQL, anything else a SQLite file. Both give the store (``sync_server.store.ServerStore``) the
same three things:

* :meth:`Database.read`: a connection for reads (SQLite: the thread's own connection, autocommit;
  PostgreSQL: one from the pool, autocommit, given back after the ``with``).
* :meth:`Database.transaction`: one transaction, committed durably before the ``with`` ends, rolled
  back on any error. ``serial=True`` (the default of ``ServerStore.write``) runs it alone among the
  writers: SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL the transaction first takes the event log's
  lock (a transaction-level advisory lock, :meth:`Database.lock_log`), which every transaction that
  adds events holds from before it numbers them until after its commit.
* :meth:`Database.lock_keys`: locks on keys (melding ids, a device code) for the rest of the
  transaction, so that pushes of different meldingen run side by side on PostgreSQL while two pushes
  of the same melding wait for each other (no-op on SQLite, whose writers never overlap).

Why the log lock keeps pull cursors gap-safe: ``server_seq`` comes from an identity column, taken
only while the lock is held, and PostgreSQL releases a transaction's advisory locks after its commit
is visible. So when a transaction takes the number N+1, the one that took N is committed and
visible: a pull that sees N+1 sees N, and a cursor never passes a number that commits later
(``tests/server/test_store_contract.py::test_pull_cursor_never_skips_a_late_commit``).

Storage failures become :class:`StorageUnavailable` (503 with a Dutch message, ``/ready``); a
deadlock or serialization failure on PostgreSQL becomes :class:`Conflict`, which the store answers by
running the transaction again.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sync_server.settings import APP_NAME
from sync_server.settings import db_location as parse_location
from wijkteam_store.dialect import POSTGRES, SQLITE, Dialect, PgConnection, configure_connection

BUSY_TIMEOUT_MS = 30_000
#: Advisory lock classes (the first key of PostgreSQL's two-key advisory locks).
LOCK_LOG, LOCK_KEY, LOCK_SNAPSHOT, LOCK_SERVING = 1, 2, 3, 4
#: Connections each server process keeps in its pool (``db_pool_size``; PostgreSQL only).
DEFAULT_POOL_SIZE = 10


class StorageUnavailable(Exception):
    """The database cannot be written now: it became read-only, the disk is full, the disk refuses to
    write, or (PostgreSQL) the database server cannot be reached. Nothing of the request was stored.
    ``message`` is Dutch, for the user; the routes answer 503 with it (``sync_server.errors``), and
    the store recovers by itself once the database is writable again.

    Attributes:
        reason: ``"alleen-lezen"``, ``"vol"``, ``"schrijffout"`` or ``"onbereikbaar"``.
        message: "De server kan niet opslaan: …".
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Conflict(Exception):
    """A PostgreSQL transaction lost a deadlock or a serialization check; nothing of it was stored and
    running it again is safe (``ServerStore`` does)."""


def _unavailable(reason: str, why: str) -> StorageUnavailable:
    return StorageUnavailable(
        reason,
        f"De server kan niet opslaan: {why}. Er is niets opgeslagen; wat u stuurde blijft op uw laptop "
        "bewaard en gaat mee bij een volgende sync. De beheerder is gewaarschuwd (zie /ready).",
    )


# SQLite primary result codes (https://sqlite.org/rescode.html) that mean "cannot write now".
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN, _SQLITE_FULL = 8, 10, 14, 13
_STORAGE_REASONS = {
    _SQLITE_READONLY: ("alleen-lezen", "de database is alleen-lezen geworden"),
    _SQLITE_FULL: ("vol", "de schijf is vol"),
    _SQLITE_IOERR: ("schrijffout", "de schijf weigert te schrijven (vol of defect)"),
    _SQLITE_CANTOPEN: ("schrijffout", "het databasebestand kan niet worden geopend"),
}
# PostgreSQL SQLSTATE classes/codes that mean "cannot write now" (Appendix A of its manual).
_PG_REASONS = {
    "53100": ("vol", "de schijf van de database is vol"),
    "25006": ("alleen-lezen", "de database is alleen-lezen (een standby, of in herstel)"),
    "57P01": ("onbereikbaar", "de databaseserver is gestopt"),
    "57P02": ("onbereikbaar", "de databaseserver is gestopt"),
    "57P03": ("onbereikbaar", "de databaseserver start nog op"),
    "58030": ("schrijffout", "de databaseserver kan niet schrijven"),
}


def storage_failure(exc: BaseException) -> StorageUnavailable | None:
    """The :class:`StorageUnavailable` a database error stands for, or ``None`` for any other error
    (a bug, a constraint: those stay what they are)."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if not isinstance(code, int):
            return None
        found = _STORAGE_REASONS.get(code & 0xFF)
        return _unavailable(*found) if found else None
    if type(exc).__module__.startswith("psycopg"):
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate in _PG_REASONS:
            return _unavailable(*_PG_REASONS[sqlstate])
        if sqlstate is None and exc.__class__.__name__ in ("OperationalError", "PoolTimeout", "InterfaceError"):
            return _unavailable("onbereikbaar", "de databaseserver is niet bereikbaar")
        if sqlstate and sqlstate.startswith("08"):  # connection exceptions
            return _unavailable("onbereikbaar", "de verbinding met de databaseserver is verbroken")
    return None


def database_errors() -> tuple[type[BaseException], ...]:
    """The exception classes of both engines' drivers (psycopg's only when it is installed)."""
    try:
        import psycopg
        import psycopg_pool
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error, psycopg_pool.PoolTimeout)


def is_postgres(location: str | Path) -> bool:
    """Whether ``location`` (a ``--db`` value) names a PostgreSQL database."""
    return isinstance(parse_location(location), str)


#: Folder of the files beside a PostgreSQL database (erasure journal, laptop snapshots, serving lock).
DATA_DIR_ENV = "WIJKTEAM_SERVER_DATA_DIR"


def side_base(location: str | Path, data_dir: str | Path | None = None) -> Path:
    """The base name of the files beside a database (``<base>.wissingen``, ``<base>.snapshots``,
    ``<base>.serving``): a SQLite file itself; for PostgreSQL ``<folder>/<database name>``, the folder
    being ``data_dir``, else ``$WIJKTEAM_SERVER_DATA_DIR``, else ``<user data dir>/wijkteam/postgresql``
    (created when missing)."""
    import os

    import platformdirs

    location = parse_location(location)
    if not is_postgres(location):
        return Path(location)
    name = urlsplit(str(location)).path.lstrip("/") or "postgres"
    folder = Path(data_dir or os.environ.get(DATA_DIR_ENV) or Path(platformdirs.user_data_dir(APP_NAME)) / "postgresql")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def display_location(location: str | Path) -> str:
    """``location`` fit for a log line or message: a URL without its password."""
    if not is_postgres(location):
        return str(location)
    parts = urlsplit(str(location))
    if parts.password is None:
        return str(location)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class Database:
    """One engine behind the store (see the module docstring). Subclasses: :class:`SQLiteDatabase`,
    :class:`PostgresDatabase`.

    Attributes:
        dialect: the engine's SQL fragments (``wijkteam_store.dialect``).
        location: the ``--db`` value (a :class:`Path` or the URL).
        path: the SQLite file, or None.
    """

    dialect: Dialect = SQLITE
    location: str | Path
    path: Path | None = None

    def read(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def transaction(self, *, serial: bool = True) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def lock_keys(self, c: Any, keys: Iterable[str]) -> None:
        """Lock ``keys`` for the rest of ``c``'s transaction (no-op where writers never overlap)."""

    def lock_log(self, c: Any) -> None:
        """Take the event log's lock for the rest of ``c``'s transaction (no-op where writers never overlap)."""

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SQLiteDatabase(Database):
    """One SQLite file; each thread its own connection (SQLite connections must stay in their thread).
    Every connection runs in WAL mode with ``busy_timeout``, ``synchronous=FULL`` (a commit is on disk
    before a push is acknowledged) and ``secure_delete`` (deleted content is overwritten with zeros:
    an erased value must not stay in the file's free space, docs/privacy.md)."""

    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.location = self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode)."""
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            c.execute("PRAGMA journal_mode = WAL")
            c.execute("PRAGMA synchronous = FULL")
            c.execute("PRAGMA secure_delete = ON")
            self._local.conn = c
            with self._all_lock:
                self._all.append(c)
        return c

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        yield self.conn()

    @contextmanager
    def transaction(self, *, serial: bool = True) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` (SQLite's writers never overlap, so ``serial`` changes nothing).

        Raises:
            StorageUnavailable: the file cannot be written; this thread's connection is closed so
                the next write opens the file afresh.
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
            self._drop(c)
            raise failure from exc

    def _drop(self, c: sqlite3.Connection) -> None:
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

    def close(self) -> None:
        with self._all_lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()


class PostgresDatabase(Database):
    """A PostgreSQL database through a psycopg 3 connection pool (``psycopg_pool``) of ``pool_size``
    connections per process, each in autocommit mode; transactions are explicit.

    Args:
        url: ``postgresql://user:password@host:port/database`` (libpq's URL; its parameters too).
        pool_size: most connections this process opens.

    Raises:
        StorageUnavailable: the database cannot be reached (within 30 s).
    """

    dialect = POSTGRES

    def __init__(self, url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        import psycopg_pool

        self.location = url
        self.url = url
        self.pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs={"autocommit": True},
            configure=configure_connection,
            open=False,
            name="wijkteam",
        )
        try:
            self.pool.open(wait=True, timeout=30)
        except psycopg_pool.PoolTimeout:
            self.pool.close()
            raise _unavailable("onbereikbaar", f"de database {display_location(url)} is niet bereikbaar") from None

    @contextmanager
    def read(self) -> Iterator[PgConnection]:
        with self.pool.connection() as raw:
            yield PgConnection(raw)

    @contextmanager
    def transaction(self, *, serial: bool = True) -> Iterator[PgConnection]:
        """One transaction on a pooled connection; ``serial`` takes the log lock first.

        Raises:
            StorageUnavailable: the database cannot be written or reached.
            Conflict: a deadlock or serialization failure (nothing stored; run it again).
        """
        import psycopg
        from psycopg import errors

        try:
            with self.pool.connection() as raw:
                with raw.transaction():
                    c = PgConnection(raw)
                    if serial:
                        self.lock_log(c)
                    yield c
        except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
            raise Conflict(str(exc)) from exc
        except (psycopg.Error, Exception) as exc:
            if isinstance(exc, (StorageUnavailable, Conflict)):
                raise
            failure = storage_failure(exc)
            if failure is None:
                raise
            raise failure from exc

    def lock_keys(self, c: PgConnection, keys: Iterable[str]) -> None:
        """Transaction-level advisory locks on ``keys``, taken in one statement in a fixed order (of
        their hashes), so two transactions locking overlapping sets never deadlock on them."""
        wanted = sorted(set(keys))
        if wanted:
            c.execute(
                "SELECT count(pg_advisory_xact_lock(?, h)) FROM "
                "(SELECT DISTINCT hashtext(k) AS h FROM unnest(?::text[]) AS k ORDER BY 1) AS s",
                (LOCK_KEY, wanted),
            )

    def lock_log(self, c: PgConnection) -> None:
        if not c.log_locked:
            c.execute("SELECT pg_advisory_xact_lock(?, 0)", (LOCK_LOG,))
            c.log_locked = True

    def close(self) -> None:
        self.pool.close()


def open_database(location: str | Path, *, pool_size: int = DEFAULT_POOL_SIZE) -> Database:
    """The engine for a ``--db`` value (``sync_server.settings.db_location``)."""
    location = parse_location(location)
    if is_postgres(location):
        return PostgresDatabase(str(location), pool_size=pool_size)
    return SQLiteDatabase(Path(location))
