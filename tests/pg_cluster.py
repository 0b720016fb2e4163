"""A throw-away PostgreSQL 15 cluster for the tests and the benchmarks (issue 17).

:func:`start` runs ``initdb`` in a new temporary folder and starts ``postgres`` on a free port of
127.0.0.1 (Unix socket in the same folder, no TCP from elsewhere, ``trust`` authentication for the
local user only), waits until it accepts connections and returns a :class:`Cluster`; ``stop()`` shuts
it down and removes the folder. Each test (or bench) database is made with :meth:`Cluster.new_database`.

``initdb`` refuses to run as root: as root the cluster runs as the ``postgres`` system user (through
``runuser``), in a folder that user owns. The binaries are looked up in ``$WIJKTEAM_PG_BIN``, then
``pg_config --bindir``, then the Debian/Ubuntu places (``/usr/lib/postgresql/<version>/bin``).
:func:`start` raises :class:`Unavailable` with the reason when no cluster can be started (no binaries,
no ``postgres`` user as root, initdb failed): the caller skips with that reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN_ENV = "WIJKTEAM_PG_BIN"
_SEARCH = [Path(f"/usr/lib/postgresql/{v}/bin") for v in (15, 16, 17, 14)]


class Unavailable(Exception):
    """No PostgreSQL cluster can be started here; the message says why."""


def bindir() -> Path:
    """The folder holding ``initdb`` and ``postgres``.

    Raises:
        Unavailable: none found.
    """
    env = os.environ.get(PG_BIN_ENV)
    candidates = [Path(env)] if env else []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += _SEARCH
    for c in candidates:
        if (c / "initdb").is_file() and (c / "postgres").is_file():
            return c
    raise Unavailable("geen PostgreSQL-server gevonden (initdb/postgres; zet $WIJKTEAM_PG_BIN)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A running cluster: ``port`` on 127.0.0.1, superuser ``user``, data in ``folder``."""

    folder: Path
    port: int
    user: str
    bin: Path
    _runas: list[str] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = None
    _made: int = 0

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for ``database`` (TCP on 127.0.0.1, no password: ``trust``)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "t") -> str:
        """Create a new empty database and return its URL."""
        import psycopg

        self._made += 1
        name = f"{prefix}_{os.getpid()}_{self._made}"
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url`` (its connections are ended first)."""
        import psycopg

        name = url.rsplit("/", 1)[1].split("?")[0]
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self._proc is not None and self._proc.poll() is None:
            # SIGINT to the postmaster itself is PostgreSQL's fast shutdown (sessions ended, nothing
            # waited for). Not through runuser: on SIGTERM it kills its child after two seconds,
            # which a loaded machine's shutdown checkpoint can outlast.
            try:
                pid = int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGINT)
            except (OSError, ValueError, IndexError):
                self._proc.terminate()
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(*, settings: dict[str, str] | None = None) -> Cluster:
    """initdb + start a private cluster (see the module docstring).

    Args:
        settings: extra ``postgresql.conf`` settings (``-c name=value``).

    Raises:
        Unavailable: no binaries, no user to run them as, or the cluster did not start.
    """
    pgbin = bindir()
    runas: list[str] = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("als root draait initdb niet en er is geen gebruiker 'postgres'") from None
        runuser = shutil.which("runuser")
        if not runuser:
            raise Unavailable("als root draait initdb niet en runuser ontbreekt")
        runas = [runuser, "-u", "postgres", "--"]
        user = "postgres"
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
    folder = Path(tempfile.mkdtemp(prefix="wijkteam-pg-"))
    if runas:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    try:
        for locale in ("C.UTF-8", "C"):  # C.UTF-8 where the system has it
            out = subprocess.run(
                [*runas, str(pgbin / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
                 f"--locale={locale}", "--no-instructions"],
                capture_output=True, text=True, timeout=180, check=False,
            )  # fmt: skip
            if out.returncode == 0:
                break
        if out.returncode != 0:
            raise Unavailable(f"initdb mislukt: {(out.stderr or out.stdout).strip()[-300:]}")
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise Unavailable(f"initdb kon niet starten: {exc}") from None
    conf = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(folder),
        "max_connections": "200",
        "shared_buffers": "64MB",
        "fsync": "on",
        "logging_collector": "off",
        "log_min_messages": "warning",
        **(settings or {}),
    }
    for _ in range(5):
        port = _free_port()
        args = [*runas, str(pgbin / "postgres"), "-D", str(data), "-p", str(port)]
        for k, v in conf.items():
            args += ["-c", f"{k}={v}"]
        log = open(folder / "server.log", "ab")  # noqa: SIM115 - the server writes here while it runs
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        cluster = Cluster(folder, port, user, pgbin, runas, proc)
        if _wait_ready(cluster, proc):
            return cluster
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    tail = (folder / "server.log").read_text(errors="replace")[-500:]
    shutil.rmtree(folder, ignore_errors=True)
    raise Unavailable(f"PostgreSQL startte niet: {tail}")


def _wait_ready(cluster: Cluster, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    """Wait until the server accepts a connection (or has exited: a taken port)."""
    import psycopg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with psycopg.connect(cluster.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            # Starting up: the postmaster answers once recovery is done. Polling the connection is the
            # only readiness signal PostgreSQL gives a client.
            time.sleep(0.05)
    return False
