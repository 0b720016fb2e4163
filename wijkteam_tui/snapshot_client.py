"""The laptop's side of the snapshot: a new (or far behind) laptop installs the server's ready database.

:func:`maybe_take_snapshot` runs at the start of a sync round (``sync_client.sync_once``), before the
push, and does nothing unless:

* the laptop's database holds no event at all, or it has no work of its own that the server has not
  taken (``LocalStore.local_work``) and the server's snapshot is more than ``behind`` events past its
  pull cursor, in the same server log;
* the server has a snapshot (``GET /api/v1/sync/snapshot/info``) of this app's laptop schema.

Then, in order (docs/sync.md, "Snapshot"):

1. **download** to ``<db>.snapshot-download`` (with ``<db>.snapshot-download.json``: what is being
   downloaded), hashing on the way. A download cut short (lost connection, a killed process) resumes
   at the next attempt with ``Range``/``If-Range``: the bytes on disk are hashed again and the rest
   is asked for; a newer snapshot on the server meanwhile starts it over.
2. **check**: length and SHA-256 as announced; the file is renamed to ``<db>.snapshot-install``.
3. **prepare** (``wijkteam_store.snapshot.prepare``): ``PRAGMA quick_check``, exactly this app's
   schema, the announced stamp; this laptop's device code and counters written into it.
4. **install** (``wijkteam_store.snapshot.install``): every connection of the app to the database is
   closed (``exclusive``: the TUI runs it on its UI thread with its own store closed), the old
   database loses its WAL, the laptop is checked once more for work of its own, and one rename puts
   the new file in place. The store is reopened.

The round then pushes (nothing) and pulls the tail as usual. A crash or lost connection at any point
leaves the old database or the new one: steps 1–3 touch only the side files (a left-over
``-install`` file is removed at the next round), and step 4 is one rename. A snapshot that fails a
check is thrown away and the round pulls the log instead.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec

from shared.protocol import SnapshotInfo
from wijkteam_store.local import SCHEMA_VERSION
from wijkteam_store.snapshot import (
    SnapshotBusy,
    SnapshotError,
    SnapshotStamp,
    device_row,
    discard,
    install,
    prepare,
    read_chunks,
)
from wijkteam_tui.server_client import Progress, ServerSession, SyncError

DOWNLOAD_SUFFIX = ".snapshot-download"
INSTALL_SUFFIX = ".snapshot-install"
INFO_PATH = "/api/v1/sync/snapshot/info"
FILE_PATH = "/api/v1/sync/snapshot"
#: Waits (seconds) before trying the install again while another window holds the database.
BUSY_DELAYS = (0.2, 0.5, 1.0)

#: Runs the install while no other connection of this process has the database open.
Exclusive = Callable[[Callable[[], None]], None]

_info_dec = msgspec.msgpack.Decoder(SnapshotInfo)
_side_dec = msgspec.json.Decoder(SnapshotInfo)


@dataclass(frozen=True)
class Outcome:
    """What :func:`maybe_take_snapshot` did: ``events`` installed (0: none), and ``note``, a Dutch
    sentence when a snapshot was tried but not used (the round then pulls as usual)."""

    events: int = 0
    note: str | None = None


def side_files(db: Path) -> tuple[Path, Path, Path]:
    """``(download, its description, install)``: the files next to ``db`` a snapshot passes through."""
    download = db.with_name(db.name + DOWNLOAD_SUFFIX)
    return download, download.with_name(download.name + ".json"), db.with_name(db.name + INSTALL_SUFFIX)


def fetch_info(session: ServerSession) -> SnapshotInfo | None:
    """The server's current snapshot, or None when it has none (or answers with an error: an older
    server, a 5xx) — the round then pulls as usual.

    Raises:
        SyncError: the server cannot be reached (``offline``); the round could not go on anyway.
    """
    try:
        resp = session.request("GET", INFO_PATH)
    except SyncError as exc:
        if exc.status is None:
            raise
        return None
    try:
        return _info_dec.decode(resp.content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _direct(fn: Callable[[], None]) -> None:
    fn()


def maybe_take_snapshot(
    store: Any,
    session: ServerSession,
    *,
    behind: int,
    on_progress: Progress | None = None,
    exclusive: Exclusive | None = None,
    fault: Callable[[str], None] | None = None,
) -> Outcome:
    """Install the server's snapshot when this laptop should (see the module docstring).

    Args:
        store: the laptop's ``LocalStore`` (``path``, ``close``, ``reopen`` and the sync methods).
        session: the round's HTTP session.
        behind: take the snapshot when it is more than this many events past the cursor.
        on_progress: see :data:`Progress`.
        exclusive: runs the install while no other connection of the process is open on the
            database (default: runs it directly; the caller's store is closed by this function).
        fault: a test hook, called with ``"downloading"`` after each chunk written, ``"downloaded"``,
            ``"prepared"``, ``"replacing"`` and ``"installed"`` (the crash tests kill the process there).

    Raises:
        SyncError: the download failed for lack of connection (``offline``; it resumes next round),
            or was cancelled. The laptop's database is unchanged then.
    """
    db = Path(store.path)
    download_path, side_path, install_path = side_files(db)
    discard(install_path)  # left by a crash between check and install: the download starts over
    if store.local_work():  # unsent or refused events (refused ones even in an otherwise empty file)
        return Outcome()
    empty = store.is_empty()
    info = fetch_info(session)
    if info is None or info.store_schema != SCHEMA_VERSION or info.server_seq <= 0:
        return Outcome()
    if not empty:
        known = store.server_log_id()
        if known != info.log_id or info.server_seq - store.pull_cursor() <= behind:
            # Another log (a restored server) may lack this laptop's own events: the round re-sends
            # them first (``note_server_log``), and never throws them away with a snapshot.
            return Outcome()
    own = device_row(store)
    note = _download(session, download_path, side_path, info, on_progress, fault)
    if note is not None:
        return Outcome(note=note)
    os.replace(download_path, install_path)
    side_path.unlink(missing_ok=True)
    if fault:
        fault("downloaded")
    if on_progress:
        on_progress("install", 0, None)
    try:
        events = prepare(install_path, SnapshotStamp(info.server_seq, info.log_id, info.store_schema), own)
    except SnapshotError as exc:
        discard(install_path)
        return Outcome(note=f"Snapshot niet gebruikt: {exc.message}")
    if fault:
        fault("prepared")
    run = exclusive or _direct
    store.close()
    try:
        for attempt in range(len(BUSY_DELAYS) + 1):
            try:
                run(lambda: install(db, install_path, own, fault=fault))
                break
            except SnapshotBusy:
                if attempt == len(BUSY_DELAYS):
                    raise
                session.pause(BUSY_DELAYS[attempt])
    except SnapshotError as exc:
        discard(install_path)
        return Outcome(note=f"Snapshot niet gebruikt: {exc.message}")
    finally:
        store.reopen()
    if fault:
        fault("installed")
    return Outcome(events=events)


def _download(
    session: ServerSession,
    dest: Path,
    side: Path,
    info: SnapshotInfo,
    on_progress: Progress | None,
    fault: Callable[[str], None] | None,
) -> str | None:
    """Download the snapshot ``info`` describes to ``dest``, resuming what an earlier attempt left.

    Returns:
        None when ``dest`` holds the whole file with the announced SHA-256; else a Dutch note (the
        snapshot changed on the server meanwhile, or the bytes do not match) and nothing is kept.

    Raises:
        SyncError: no connection (after ``session.retries`` resumes) or cancelled; what was
            downloaded stays for the next round.
    """
    offset = 0
    try:
        previous = _side_dec.decode(side.read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        previous = None
    size = dest.stat().st_size if dest.exists() else -1
    if previous is not None and (previous.sha256, previous.length) == (info.sha256, info.length) and 0 <= size <= info.length:
        offset = size
    else:
        discard(dest)
        tmp = side.with_name(side.name + ".tmp")
        tmp.write_bytes(msgspec.json.encode(info))
        os.replace(tmp, side)
    digest = hashlib.sha256()
    for chunk in read_chunks(dest, 0, offset) if offset else ():
        digest.update(chunk)
    attempt = 0
    while True:
        session.check_cancel()
        headers = dict(session.headers, Accept="application/vnd.sqlite3")
        if offset:
            headers["Range"] = f"bytes={offset}-"
            headers["If-Range"] = f'"{info.sha256}"'
        try:
            with session.client.stream("GET", session.base + FILE_PATH, headers=headers) as resp:
                if resp.status_code in (404, 416) or resp.headers.get("x-wijkteam-snapshot-sha256") != info.sha256:
                    # Gone, or replaced by a newer one since the info: the next round starts afresh.
                    resp.close()
                    discard(dest)
                    side.unlink(missing_ok=True)
                    return "Het snapshot is op de server intussen vernieuwd; de volgende sync haalt het nieuwe."
                if resp.status_code not in (200, 206):
                    resp.read()
                    session._raise_for(resp)
                if resp.status_code == 206 and not resp.headers.get("content-range", "").startswith(f"bytes {offset}-"):
                    resp.close()  # not the part asked for: ask for the whole file
                    offset, digest = 0, hashlib.sha256()
                    continue
                if resp.status_code == 200:
                    offset, digest = 0, hashlib.sha256()  # the whole file comes: start over
                with open(dest, "r+b" if dest.exists() else "wb") as fh:
                    fh.seek(offset)
                    fh.truncate()
                    for chunk in resp.iter_bytes():  # as received: a cut keeps all that came
                        fh.write(chunk)
                        digest.update(chunk)
                        offset += len(chunk)
                        if offset > info.length:
                            break
                        if on_progress:
                            on_progress("snapshot", offset, info.length)
                        if fault:
                            fh.flush()
                            fault("downloading")
                        session.check_cancel()
                    fh.flush()
                    os.fsync(fh.fileno())
            break
        except httpx.TransportError as exc:
            if attempt < session.retries:
                session.wait(attempt)
                attempt += 1
                continue
            raise SyncError(
                f"Download van het snapshot onderbroken bij {offset / 1e6:.1f} van {info.length / 1e6:.1f} MB "
                f"({type(exc).__name__}); de volgende sync gaat verder waar deze bleef.",
                offline=True,
            ) from None
    if offset != info.length or digest.hexdigest() != info.sha256:
        discard(dest)
        side.unlink(missing_ok=True)
        return "Het gedownloade snapshot klopt niet (lengte of SHA-256); de gebeurtenissen worden gewoon opgehaald."
    return None
