"""End-to-end fixtures: a real ``wijkteam-server serve`` process on 127.0.0.1 and laptops on temp files.

The server is started with ``--port 0``; it binds before it prints its address, so reading that
line is the readiness signal (no polling, no sleeps), confirmed with ``GET /health``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from wijkteam_store.local import LocalStore

ROOT = Path(__file__).resolve().parents[2]


def wijkteam_cmd(*args: str) -> list[str]:
    """The laptop's ``wijkteam`` command line (the console script next to this Python, else ``-m``)."""
    script = Path(sys.executable).parent / "wijkteam"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "wijkteam_tui.cli", *args]


def server_cmd(*args: str) -> list[str]:
    """The ``wijkteam-server`` command line (the console script next to this Python, else ``-m``)."""
    script = Path(sys.executable).parent / "wijkteam-server"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "sync_server.cli", *args]


class ServerProcess:
    """A running ``wijkteam-server serve`` on a temp database; ``url``, ``db``, ``add_user()``, ``restart()``."""

    def __init__(self, db: Path | str, log: Path) -> None:
        self.db = db
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.started_line = ""

    def start(self, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        """Start ``serve`` (``args``: more options, e.g. ``--workers 3``) and wait until it answers."""
        full_env = {k: v for k, v in os.environ.items() if k != "WIJKTEAM_SERVER_CRASH_POINT"}
        full_env.update(env or {})
        with self.log.open("a") as err:
            self.proc = subprocess.Popen(
                server_cmd("serve", "--db", str(self.db), "--host", "127.0.0.1", "--port", "0", *args),
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=full_env,
                cwd=ROOT,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.started_line = line
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert m, f"server did not start: {line!r}\n{self.log.read_text()}"
        self.url = f"http://127.0.0.1:{m.group(1)}"
        assert httpx.get(self.url + "/health", timeout=30).json()["status"] == "ok"

    def wait_dead(self) -> int:
        """Wait for the process to end (e.g. after an injected crash); its return code."""
        assert self.proc is not None
        return self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def restart(self, *, env: dict[str, str] | None = None) -> None:
        self.stop()
        self.start(env=env)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            server_cmd(*args, "--db", str(self.db)), capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
        )

    def issued_days_ago(self, device_code: str, days: float) -> None:
        """Pretend ``device_code`` was issued ``days`` ago (a laptop that then worked offline): the
        server refuses events stamped before a device code was issued (``shared.trust``)."""
        from datetime import UTC, datetime, timedelta

        from sync_server.store import ServerStore
        from tests.backends import sql

        at = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        store = ServerStore(self.db)
        try:
            sql(store, "UPDATE devices SET issued_at = ? WHERE device_code = ?", (at, device_code))
        finally:
            store.close()

    def add_user(self, name: str, role: str = "wijkuitvoerder") -> tuple[str, str | None]:
        """``wijkteam-server user add`` through the CLI: ``(token, device_code)``."""
        out = self.cli("user", "add", name, "--role", role)
        assert out.returncode == 0, out.stderr
        token = re.search(r"Token[^:]*: (\S+)", out.stdout)
        code = re.search(r"Apparaatcode: (\S+)", out.stdout)
        assert token, out.stdout
        return token.group(1), code.group(1) if code else None


@pytest.fixture
def server_db(tmp_path: Path) -> Path | str:
    """The database of the ``server`` fixture: a SQLite file. A test module that overrides this with
    ``store_location`` (``tests/conftest.py``) runs its tests on SQLite and on PostgreSQL."""
    return tmp_path / "server.sqlite3"


@pytest.fixture
def server(server_db: Path | str, tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(server_db, tmp_path / "server.log")
    srv.start()
    yield srv
    srv.stop()


class Laptop:
    """A laptop: a LocalStore on a temp file with a device code and token issued by the server."""

    def __init__(self, path: Path, name: str, token: str, code: str) -> None:
        self.path = path
        self.name = name
        self.token = token
        self.code = code
        self.store = LocalStore(path)
        self.store.set_device_code(code)

    def reopen(self) -> None:
        self.store.close()
        self.store = LocalStore(self.path)


@pytest.fixture
def make_laptop(server: ServerProcess, tmp_path: Path) -> Iterator[Callable[[str], Laptop]]:
    made: list[Laptop] = []

    def make(name: str, role: str = "wijkuitvoerder") -> Laptop:
        token, code = server.add_user(name, role)
        assert code
        lap = Laptop(tmp_path / f"{name}.sqlite3", name, token, code)
        made.append(lap)
        return lap

    yield make
    for lap in made:
        lap.store.close()
