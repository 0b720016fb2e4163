"""The laptop store's connection and what every part needs: opening the file (WAL, ``synchronous=FULL``,
``secure_delete``), transactions, the schema migrations (``wijkteam_store.migrations``), the device row
(code, counters, HLC) and the municipality configuration received from the server.

:class:`StoreCore` is the base of every part of ``wijkteam_store.local.LocalStore``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from shared.commands import DeviceClock
from shared.deadlines import utcnow
from shared.gemeente import ConfigError, GemeenteConfig, decode_config, encode_config
from shared.hlc import HLC
from shared.projection import iso
from wijkteam_store.errors import StoreError
from wijkteam_store.local.schema import MIGRATIONS, record_version

# Binding ``None`` costs Python's sqlite3 a failed adapter look-up and two failed attribute look-ups
# per value (``__adapt__``, ``__conform__``); a projection row holds about twenty. With an adapter
# registered for ``NoneType`` the look-up hits at once and the value is bound as NULL as before:
# about half the time of a pulled page's projection insert (docs/benchmarks.md, "Incremental pull").
# It applies to the whole process, which changes nothing else (the adapter returns its argument).
sqlite3.register_adapter(type(None), lambda value: value)


#: Held while a connection is opened and put in WAL mode, and by ``wijkteam_store.snapshot.install``
#: while it replaces the database file: a connection opened in this process during the swap would
#: otherwise put the old file back in WAL mode and leave its ``-wal``/``-shm`` next to the new file.
OPENING = threading.Lock()


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


def local_work(conn: sqlite3.Connection) -> int:
    """How many events of the laptop database on ``conn`` the server has not taken: unsent events,
    and refused ones (waiting for the admin's verdict, or rejected and kept for the user to see). Only
    this laptop holds them, and a snapshot would throw them away (docs/sync.md, "Snapshot")."""
    return conn.execute(
        "SELECT (SELECT count(*) FROM events WHERE acked = 0) + (SELECT count(*) FROM refused)"
    ).fetchone()[0]


class StoreCore:
    """The connection of one laptop database and its transactions, migrations, device row and
    municipality configuration; the parts of ``LocalStore`` build on it (see the package docstring)."""

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
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
        MIGRATIONS.run(self.conn, current, transaction=self.transaction, record=record_version)

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
