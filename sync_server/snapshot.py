"""The server's laptop snapshot: built in the background, served to new laptops (docs/sync.md, "Snapshot").

Files, in the snapshot folder (``Settings.snapshot_dir``, default ``<database>.snapshots`` next to the
database):

* ``work.sqlite3``: the *working copy*, a laptop database (``wijkteam_store.local.LocalStore``) that
  pulls the server's log with the laptop's own ``apply_remote``, page by page in ``server_seq`` order,
  exactly as a laptop would; each build only applies what was added since the last one. It is thrown
  away and rebuilt from the start when the log has another id (a restore) or when it was made by
  another laptop schema version.
* ``laptop-<log id>-<server_seq>.sqlite3``: the published snapshots (``wijkteam_store.snapshot.publish``:
  FTS merged, ``VACUUM INTO``, SHA-256). The current one and the one before it are kept, so a laptop
  that is halfway through the previous download can finish it.
* ``current.json``: which file is current, with its stamp, length and SHA-256 (:class:`Published`),
  replaced atomically after the file is in place.
* ``build.lock``: held while a build runs (one build at a time, also with ``wijkteam-server snapshot build``).

A build runs in a process of its own (``python -m sync_server.snapshot``, at lower CPU priority): it
reads the log over its own read-only connection (WAL: pushes are never blocked), and its memory (one
page of events plus SQLite's cache) is given back when it ends. :class:`SnapshotService`, started in the
server's lifespan, checks every ``Settings.snapshot_check_s`` seconds whether the current snapshot lags
the log by more than ``Settings.snapshot_lag`` events (or belongs to another log id or schema) and then
starts one. Never in a request.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from shared.events import Event
from shared.protocol import MAX_PULL_LIMIT, SnapshotInfo
from sync_server.settings import db_location
from sync_server.storage.admin import AdminTables
from sync_server.storage.engines import LOCK_SNAPSHOT, display_location, is_postgres, side_base
from sync_server.store import StoreError
from wijkteam_store.codec import EVENT_SELECT, event_from_row
from wijkteam_store.dialect import SQLITE
from wijkteam_store.local import SCHEMA_VERSION, LocalStore
from wijkteam_store.snapshot import discard, publish

WORK_FILE = "work.sqlite3"
CURRENT_FILE = "current.json"
LOCK_FILE = "build.lock"
FILE_PREFIX = "laptop-"


class Published(SnapshotInfo, frozen=True):
    """The current snapshot as ``current.json`` keeps it: what it covers (:class:`SnapshotInfo`, without
    ``log_seq``) and ``file``, its name in the snapshot folder."""

    file: str = ""

    def info(self, log_seq: int) -> SnapshotInfo:
        """The protocol's :class:`~shared.protocol.SnapshotInfo`, with the log's current end ``log_seq``."""
        fields = {name: getattr(self, name) for name in SnapshotInfo.__struct_fields__}
        return SnapshotInfo(**{**fields, "log_seq": log_seq})


_decode_published = msgspec.json.Decoder(Published).decode


def read_current(folder: Path) -> Published | None:
    """The current snapshot of ``folder`` (None when none was built or its file is gone)."""
    try:
        meta = _decode_published((folder / CURRENT_FILE).read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return meta if (folder / meta.file).is_file() else None


class LogReader(AdminTables):
    """The server's event log, read over a read-only connection of its own (for the builder process):
    a SQLite file read-only, or a PostgreSQL database (``postgresql://…``, issue 17)."""

    def __init__(self, db: Path | str) -> None:
        self.dialect = SQLITE
        if is_postgres(db):
            import psycopg

            from wijkteam_store.dialect import PgConnection, configure_connection

            try:
                raw = psycopg.connect(str(db), autocommit=True)
            except psycopg.Error as exc:
                raise StoreError(f"Database {display_location(db)} is niet bereikbaar ({exc}).") from None
            configure_connection(raw)
            self.conn: Any = PgConnection(raw)
            self.dialect = self.conn.dialect
            return
        db = Path(db)
        if not db.is_file():
            raise StoreError(f"Database {db} bestaat niet.")
        self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        self.conn.execute("PRAGMA busy_timeout = 30000")

    @contextmanager
    def _read(self) -> Iterator[Any]:
        yield self.conn

    def only_builder(self) -> bool:
        """On PostgreSQL: take the snapshot builders' session lock (an advisory lock, held until this
        reader closes) and say whether this is the only builder of this database, on any machine.
        SQLite: True (``build.lock`` in the snapshot folder decides)."""
        if not self.dialect.postgres:
            return True
        return bool(self.conn.execute("SELECT pg_try_advisory_lock(?, 0)", (LOCK_SNAPSHOT,)).fetchone()[0])

    def log_id(self) -> int:
        """The log's id (``ServerStore.log_id``; 0 before the server first opened the file)."""
        row = self.conn.execute("SELECT value FROM server_state WHERE key = 'log_id'").fetchone()
        return int(row[0]) if row else 0

    def max_seq(self) -> int:
        """The log's latest ``server_seq`` (0 when empty)."""
        return self.conn.execute("SELECT coalesce(max(server_seq), 0) FROM events").fetchone()[0]

    def erasure_seq(self) -> int:
        """``ServerStore.erasure_seq`` of the log (0: no erasure)."""
        row = self.conn.execute("SELECT value FROM server_state WHERE key = 'erasure_seq'").fetchone()
        return int(row[0]) if row else 0

    def pull(self, after: int, limit: int) -> tuple[list[Event], int]:
        """Events with ``server_seq > after``, at most ``limit``, in ``server_seq`` order (as
        ``ServerStore.pull`` serves them), and the last ``server_seq`` returned (``after`` when none)."""
        cols = EVENT_SELECT
        rows = self.conn.execute(
            f"SELECT server_seq, {cols} FROM events WHERE server_seq > ? ORDER BY server_seq LIMIT ?", (after, limit)
        ).fetchall()
        return [event_from_row(r[1:]) for r in rows], (rows[-1][0] if rows else after)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


@contextmanager
def _build_lock(folder: Path) -> Iterator[bool]:
    """Hold ``build.lock`` (True), or yield False when another build holds it."""
    fh = open(folder / LOCK_FILE, "a+b")  # noqa: SIM115 - held for the duration of the build
    try:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not POSIX: msvcrt locks a byte range instead
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            yield False
            return
        yield True
    finally:
        fh.close()  # releases the lock


def _open_work(path: Path, log_id: int) -> LocalStore:
    """The working copy, continued when it belongs to log ``log_id`` and this schema version, else new."""
    if path.exists():
        keep = False
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
                known = conn.execute("SELECT server_log_id FROM device WHERE id = 1").fetchone()[0]
                keep = version == SCHEMA_VERSION and known == log_id
            finally:
                conn.close()
        except sqlite3.Error:
            pass
        if not keep:
            discard(path)
    work = LocalStore(path)
    # The working copy can always be rebuilt from the log: losing its last commit in a power cut
    # costs a re-apply, never a wrong file (WAL keeps it consistent).
    work.conn.execute("PRAGMA synchronous = NORMAL")
    work.note_server_log(log_id)
    return work


def build(
    db: Path | str,
    folder: Path,
    *,
    limit: int = MAX_PULL_LIMIT,
    progress: Any = None,
    keep_going: Callable[[], bool] | None = None,
) -> Published | None:
    """Bring the working copy up to the end of the log and publish it as the current snapshot.

    Args:
        db: the server's database (read only): a SQLite file or a PostgreSQL URL.
        folder: the snapshot folder (created when missing).
        limit: events per page, as a laptop pulls them.
        progress: optional ``callable(applied_up_to_seq, target_seq)`` after each page.
        keep_going: asked before each page; False stops the build without publishing (what was
            applied stays in the working copy for the next build).

    Returns:
        The current snapshot (unchanged when the log had nothing new), or None when the log is empty,
        another build holds the lock, or ``keep_going`` said stop.

    Raises:
        StoreError: the database or the folder cannot be read or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with _build_lock(folder) as locked:
        if not locked:
            return None
        reader = LogReader(db)
        try:
            if not reader.only_builder():
                return None
            log_id, target, erased = reader.log_id(), reader.max_seq(), reader.erasure_seq()
            if target == 0:
                return None
            work = _open_work(folder / WORK_FILE, log_id)
            try:
                after = work.pull_cursor()
                while after < target:
                    if keep_going is not None and not keep_going():
                        return None
                    events, after = reader.pull(after, limit)
                    if not events:
                        break
                    work.apply_remote(events, after)
                    if progress:
                        progress(after, target)
                _carry_config(reader, work)
                current = read_current(folder)
                if current and (current.server_seq, current.log_id, current.store_schema) == (
                    after,
                    log_id,
                    SCHEMA_VERSION,
                ):
                    return current
                name = f"{FILE_PREFIX}{log_id:x}-{after}.sqlite3"
                sha, length = publish(work, folder / name)
            finally:
                work.close()
        finally:
            reader.close()
        published = Published(
            file=name,
            server_seq=after,
            log_id=log_id,
            store_schema=SCHEMA_VERSION,
            sha256=sha,
            length=length,
            built_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        tmp = folder / (CURRENT_FILE + ".tmp")
        tmp.write_bytes(msgspec.json.encode(published))
        os.replace(tmp, folder / CURRENT_FILE)
        keep = {name, current.file if current else ""}
        if current is not None and current.server_seq < erased:
            keep.discard(current.file)  # it holds values erased since (issue 16)
        for old in folder.glob(f"{FILE_PREFIX}*.sqlite3"):
            if old.name not in keep:
                old.unlink(missing_ok=True)
        return published


def _carry_config(reader: LogReader, work: LocalStore) -> None:
    """Put the server's municipality configuration in force into the working copy, so a laptop that
    installs the snapshot starts on it (its next configuration check then answers 304)."""
    from sync_server.gemeente_config import stored

    cur = stored(reader)  # type: ignore[arg-type] - the reader has the store's config_row
    if work.gemeente_config_etag() != cur.etag:
        work.set_gemeente_config(cur.body, cur.etag)


def discard_before(folder: Path, server_seq: int) -> int:
    """Delete every published snapshot of ``folder`` that covers less than ``server_seq`` (and
    ``current.json`` when it names one): after an erasure of personal data at ``server_seq`` they hold
    erased values (issue 16). Returns how many files were deleted."""
    current = read_current(folder)
    if current is not None and current.server_seq < server_seq:
        (folder / CURRENT_FILE).unlink(missing_ok=True)
    gone = 0
    for f in folder.glob(f"{FILE_PREFIX}*.sqlite3"):
        try:
            seq = int(f.stem.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            continue
        if seq < server_seq:
            f.unlink(missing_ok=True)
            gone += 1
    return gone


def snapshot_dir(db: Path | str, configured: Path | None = None) -> Path:
    """The snapshot folder: ``configured``, else ``<database>.snapshots`` next to the database (for
    PostgreSQL next to its other files, ``sync_server.storage.engines.side_base``)."""
    if configured:
        return configured
    base = side_base(db)
    return base.with_name(base.name + ".snapshots")


class SnapshotService:
    """The server process's side: the current snapshot for the routes, and the background rebuilds.

    Args:
        db: the server's database.
        folder: the snapshot folder.
        lag: rebuild when the log is more than this many events past the snapshot (0: never
            automatically; ``wijkteam-server snapshot build`` still builds on demand).
        check_s: seconds between two looks at the lag.
        store: the server's store (``max_server_seq``, ``log_id``), read from the checking thread.
    """

    def __init__(self, db: Path | str, folder: Path, *, lag: int, check_s: float, store: Any) -> None:
        self.db = db
        self.folder = folder
        self.lag = lag
        self.check_s = max(check_s, 0.1)
        self.store = store
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int], Published | None] | None = None

    def current(self) -> Published | None:
        """The current snapshot (re-read only when ``current.json`` changed); None when there is none,
        or when it predates an erasure of personal data (issue 16: it would ship erased values): such
        files are deleted here, and the next build makes a clean one."""
        try:
            st = (self.folder / CURRENT_FILE).stat()
            key = (st.st_mtime_ns, st.st_size)
        except OSError:
            return None
        cached = self._cached
        if cached is None or cached[0] != key or (cached[1] and not (self.folder / cached[1].file).is_file()):
            cached = (key, read_current(self.folder))
            self._cached = cached
        published = cached[1]
        if published is not None and published.server_seq < self._erasure_seq():
            discard_before(self.folder, self._erasure_seq())
            self._cached = None
            return None
        return published

    def _erasure_seq(self) -> int:
        erasure_seq = getattr(self.store, "erasure_seq", None)
        return erasure_seq() if erasure_seq is not None else 0

    def path_of(self, published: Published) -> Path:
        """Where the file of ``published`` is."""
        return self.folder / published.file

    def start(self) -> None:
        """Start the checking thread (does nothing when ``lag`` is 0)."""
        if self.lag <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="wijkteam-snapshot", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking, and end a build that is still running (its half-made file is never current)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def due(self) -> bool:
        """Whether the current snapshot lags the log by more than ``lag`` events, or belongs to another
        log id or laptop schema (no snapshot at all: whether the log holds more than ``lag`` events)."""
        log_seq = self.store.max_server_seq()
        current = self.current()
        if current is None:
            # Right after an erasure every laptop snapshot is gone: make a clean one at once.
            return log_seq > self.lag or (log_seq > 0 and self._erasure_seq() > 0)
        if current.log_id != self.store.log_id() or current.store_schema != SCHEMA_VERSION:
            return log_seq > 0
        return log_seq - current.server_seq > self.lag

    def check(self) -> bool:
        """Start a build process when one is due and none runs; True when one was started."""
        with self._lock:
            if self._stop.is_set() or (self._proc is not None and self._proc.poll() is None):
                return False
            if not self.due():
                return False
            self._proc = subprocess.Popen(
                [
                    sys.executable, "-m", "sync_server.snapshot", "--db", str(self.db), "--dir", str(self.folder),
                    "--nice", "--parent", str(os.getpid()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
            return True

    def _run(self) -> None:
        try:
            self.check()
            while not self._stop.wait(self.check_s):
                self.check()
        except Exception as exc:  # noqa: BLE001 - a failed check must not end the server; say so
            print(f"wijkteam-server: snapshotcontrole mislukt: {exc}", file=sys.stderr, flush=True)


# -- command line: ``python -m sync_server.snapshot`` and ``wijkteam-server snapshot`` -------------------


def _build_command(db: Path | str, folder: Path, keep_going: Callable[[], bool] | None = None) -> int:
    try:
        published = build(db, folder, keep_going=keep_going)
    except (StoreError, OSError) as exc:
        message = getattr(exc, "message", str(exc))
        print(f"Fout: snapshot niet gemaakt: {message}", file=sys.stderr)
        return 1
    if published is None:
        print("Geen snapshot gemaakt: het log is leeg, of er loopt al een build.")
        return 0
    print(
        f"Snapshot {published.file}: events tot en met {published.server_seq}, {published.length:,} bytes, "
        f"SHA-256 {published.sha256}."
    )
    return 0


def configure(sub: Any) -> None:
    """``wijkteam-server snapshot build|show`` (see ``sync_server.cli``)."""
    from sync_server.cli_common import add_command, db_path
    from sync_server.settings import Settings

    def folder_of(args: argparse.Namespace) -> tuple[Path, Path]:
        settings = Settings.for_db(db_path(args))
        return settings.db_path, snapshot_dir(settings.db_path, settings.snapshot_dir)

    def run_build(args: argparse.Namespace) -> int:
        return _build_command(*folder_of(args))

    def run_show(args: argparse.Namespace) -> int:
        db, folder = folder_of(args)
        current = read_current(folder)
        if current is None:
            print(f"Nog geen snapshot in {folder}.")
            return 0
        print(
            f"{folder / current.file}\nevents tot en met server_seq {current.server_seq} (log {current.log_id}), "
            f"laptopschema {current.store_schema}\n{current.length:,} bytes, SHA-256 {current.sha256}\n"
            f"gemaakt {current.built_at}"
        )
        return 0

    p = sub.add_parser("snapshot", help="het laptopsnapshot (eerste sync van een nieuwe laptop)",
                       description="het laptopsnapshot (eerste sync van een nieuwe laptop)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTIE")
    add_command(actions, "build", "maak nu een snapshot van het hele log").set_defaults(func=run_build)
    add_command(actions, "show", "toon het huidige snapshot").set_defaults(func=run_show)


def main(argv: Sequence[str] | None = None) -> int:
    """The build process the server starts: ``python -m sync_server.snapshot --db DB --dir DIR [--nice]``."""
    p = argparse.ArgumentParser(prog="python -m sync_server.snapshot")
    p.add_argument("--db", type=db_location, required=True)
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--nice", action="store_true", help="run at lower CPU priority (the server's requests first)")
    p.add_argument("--parent", type=int, help="stop when this process (the server) is gone")
    args = p.parse_args(argv)
    if args.nice and hasattr(os, "nice"):
        os.nice(10)
    # A server killed outright (SIGKILL, a crash) cannot stop its build: the build notices that it
    # was orphaned (its parent changed) before the next page and stops.
    parent = args.parent
    return _build_command(args.db, args.dir, (lambda: os.getppid() == parent) if parent else None)


if __name__ == "__main__":
    sys.exit(main())
