"""Which database a running ``wijkteam-server serve`` holds, so that ``restore`` refuses to replace it
under a live server (issue 11 §4).

``serve`` takes an exclusive ``flock`` on ``<database>.serving`` (and writes its process id there;
a second ``serve`` of the same file refuses to start)
for as long as it runs; the kernel drops the lock when the process ends, however it ends (a crash or
SIGKILL included), so a stale file never blocks anything. ``restore`` tries the same lock without
waiting. On a system without ``fcntl`` (Windows) there is no lock and no check; docs/server.md says
to stop the server first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]


def lock_path(db: Path) -> Path:
    """The lock file next to the database: ``<database>.serving``."""
    return db.with_name(db.name + ".serving")


def hold(db: Path) -> IO[str] | None:
    """Take the serving lock of ``db`` for this process; keep the returned file open while serving.

    Returns None when the lock cannot be had (another server holds it: :func:`serving_pid` then says
    which), the lock file cannot be made, or there is no ``fcntl``.
    """
    if fcntl is None:
        return None
    try:
        f = lock_path(db).open("a+")
    except OSError:  # no such folder, or not writable: the store says so when it opens the database
        return None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def serving_pid(db: Path) -> int | None:
    """The process id of the server that serves ``db`` now (-1 when unknown), or None when none does."""
    path = lock_path(db)
    if fcntl is None or not path.exists():
        return None
    with path.open("r") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = f.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(f, fcntl.LOCK_UN)
    return None
