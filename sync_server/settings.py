"""Server settings: where the database lives and how the server listens.

Settings are passed into :func:`sync_server.app.create_app`; nothing reads globals. The default database
is ``wijkteam-server.sqlite3`` in the platform's user data directory (platformdirs), so that admin
commands (``wijkteam-server user add``) act on the same file as ``wijkteam-server serve``; every
command's ``--db PATH`` overrides it, and so does the environment variable ``WIJKTEAM_SERVER_DB``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "wijkteam"
DB_ENV = "WIJKTEAM_SERVER_DB"
#: Fault injection for the crash tests: ``push-before-commit`` or ``push-after-commit`` makes the
#: server kill itself (SIGKILL) at that point of a push. Never set in production.
CRASH_ENV = "WIJKTEAM_SERVER_CRASH_POINT"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: Largest request body of a route that sets no limit of its own (bytes). Each route that takes a
#: body sets what fits it (docs/server.md, "Request limits"): push ``shared.protocol.MAX_PUSH_BYTES``,
#: verdicts ``VERDICTS_MAX_BODY_BYTES``, Open311 POST ``OPEN311_MAX_BODY_BYTES``, KCC search
#: ``SEARCH_MAX_BODY_BYTES``. A larger body is refused with 413 before it is read (when the client
#: announces its length) or as soon as the limit is passed.
MAX_BODY_BYTES = 64 * 1024
#: Open311 POST: a form with a description of at most 4000 characters and a few short fields.
OPEN311_MAX_BODY_BYTES = 32 * 1024
#: ``POST /api/v1/sync/verdicts``: up to MAX_PUSH_EVENTS event ids.
VERDICTS_MAX_BODY_BYTES = 1024 * 1024
#: ``POST /api/v1/kcc/search``: one search term.
SEARCH_MAX_BODY_BYTES = 4 * 1024
#: ``/ready`` reports "not ready" when less disk space than this is free where the database lives.
MIN_FREE_BYTES = 256 * 1024 * 1024
MIN_FREE_ENV = "WIJKTEAM_SERVER_MIN_FREE_MB"
#: Rebuild the laptop snapshot when the log is more than this many events past it (0: only on demand,
#: ``wijkteam-server snapshot build``). docs/sync.md, "Snapshot"; docs/server.md.
SNAPSHOT_LAG_ENV = "WIJKTEAM_SNAPSHOT_LAG"
DEFAULT_SNAPSHOT_LAG = 1000
#: Seconds between two looks at the snapshot's lag.
SNAPSHOT_CHECK_ENV = "WIJKTEAM_SNAPSHOT_CHECK_S"
DEFAULT_SNAPSHOT_CHECK_S = 30.0
#: Folder of the snapshot files (default: ``<database>.snapshots`` next to the database).
SNAPSHOT_DIR_ENV = "WIJKTEAM_SNAPSHOT_DIR"


def db_location(text: str | Path) -> Path | str:
    """A ``--db`` value: a ``postgresql://`` (or ``postgres://``) URL stays text (PostgreSQL), anything
    else is a SQLite file's path."""
    if isinstance(text, Path) or text.split(":", 1)[0].lower() not in ("postgresql", "postgres"):
        return Path(text)
    return text


def default_db_path() -> Path | str:
    """``$WIJKTEAM_SERVER_DB`` (a file or a PostgreSQL URL) or ``<user data dir>/wijkteam/wijkteam-server.sqlite3``."""
    env = os.environ.get(DB_ENV)
    if env:
        return db_location(env)
    return Path(platformdirs.user_data_dir(APP_NAME)) / "wijkteam-server.sqlite3"


@dataclass(frozen=True)
class Settings:
    """How one server instance runs.

    Attributes:
        db_path: the SQLite database file (created with its schema on first start), or a
            ``postgresql://`` URL (text) of an existing PostgreSQL database (issue 17).
        debug: show exception details in error responses (never in production).
        max_body_bytes: largest request body of a route without its own limit; larger answers 413.
        min_free_bytes: free disk space ``/ready`` requires next to the database
            (``$WIJKTEAM_SERVER_MIN_FREE_MB``, default 256 MB).
        crash_point: fault injection for tests (see ``CRASH_ENV``); ``None`` in production.
        snapshot_lag: rebuild the laptop snapshot in the background when the log is more than this
            many events past it (``$WIJKTEAM_SNAPSHOT_LAG``, default 1000; 0: only on demand).
        snapshot_check_s: seconds between two looks at that lag (``$WIJKTEAM_SNAPSHOT_CHECK_S``, default 30).
        snapshot_dir: folder of the snapshot files (``$WIJKTEAM_SNAPSHOT_DIR``; None: ``<database>.snapshots``).
        host / port: where ``serve`` listens.
        public_url: the address laptops use (behind the reverse proxy); shown at start-up only.
        trusted_proxies: addresses or networks whose ``X-Forwarded-For`` is believed (uvicorn's
            proxy-headers middleware); empty: nobody's, the peer address is the client.
        log_level / log_format: the server log (``sync_server.logs``).

    Every setting, its environment variable and its default: ``sync_server.server_config.SETTINGS``.

    The municipality's name and reference prefix are part of its configuration (``shared.gemeente``,
    ``wijkteam-server config import``), not of the server's settings.
    """

    #: A :class:`Path` or a URL (``str``); typed ``Any`` because Litestar's signature models (the settings
    #: are a route dependency) cannot take a union of ``Path`` and ``str``.
    db_path: Any
    debug: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    min_free_bytes: int = MIN_FREE_BYTES
    crash_point: str | None = None
    snapshot_lag: int = DEFAULT_SNAPSHOT_LAG
    snapshot_check_s: float = DEFAULT_SNAPSHOT_CHECK_S
    snapshot_dir: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    public_url: str = ""
    trusted_proxies: tuple[str, ...] = ()
    log_level: str = "info"
    log_format: str = "logfmt"

    @classmethod
    def for_db(cls, db: str | Path | None) -> Settings:
        """Settings for ``db`` (``None``: :func:`default_db_path`)."""
        return cls(
            db_path=db_location(db) if db else default_db_path(),
            crash_point=os.environ.get(CRASH_ENV) or None,
            min_free_bytes=_min_free_bytes(),
            snapshot_lag=_env_number(SNAPSHOT_LAG_ENV, DEFAULT_SNAPSHOT_LAG, int),
            snapshot_check_s=_env_number(SNAPSHOT_CHECK_ENV, DEFAULT_SNAPSHOT_CHECK_S, float),
            snapshot_dir=Path(os.environ[SNAPSHOT_DIR_ENV]) if os.environ.get(SNAPSHOT_DIR_ENV) else None,
        )


def _min_free_bytes() -> int:
    """``$WIJKTEAM_SERVER_MIN_FREE_MB`` in bytes, or ``MIN_FREE_BYTES`` when unset or not a number."""
    raw = os.environ.get(MIN_FREE_ENV, "").strip()
    try:
        return max(0, int(raw)) * 1024 * 1024 if raw else MIN_FREE_BYTES
    except ValueError:
        return MIN_FREE_BYTES


def _env_number(name: str, default: float, kind: type) -> Any:
    """``$name`` as a number ≥ 0 of ``kind``, or ``default`` when unset.

    Raises:
        SystemExit: set but not such a number (the server refuses to start with a Dutch message).
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise SystemExit(f"Fout: {name}={raw!r} is geen getal van 0 of meer.")
    return value
