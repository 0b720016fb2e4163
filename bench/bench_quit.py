"""Quitting ``wijkteam`` while the sync server hangs: seconds from Ctrl+Q to the process's exit.

The real ``wijkteam`` process runs in a pseudo-terminal (100×30) against a socket server on
127.0.0.1 that accepts the connection, reads the request and never answers — the round is then
waiting on its read time-out (``READ_TIMEOUT_S``, 30 s). Once the server has the request, Ctrl+Q is
sent and the time to the process's exit taken. The floor is the same quit without a server
configured (no sync at all), measured in the same run; the ratio is hung / floor (median of
``--runs``). Before the sync worker was cancellable the hung quit took the whole read time-out.

    python bench/bench_quit.py [--runs 5]

Prints figures only; docs/benchmarks.md records them. Not a test: nothing is asserted. POSIX only.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIJKTEAM = Path(sys.executable).with_name("wijkteam")


class Hanging:
    """Accepts, reads, never answers; ``got`` is set when a request has arrived."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.got = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        try:
            if conn.recv(65536):
                self.got.set()
            while conn.recv(65536):
                pass
        except OSError:
            pass
        finally:
            conn.close()


def quit_seconds(tmp: Path, server: Hanging | None) -> float:
    """Start wijkteam in a pty, wait until it draws (and, with a server, until the round hangs),
    press Ctrl+Q, return the seconds until the process has exited."""
    cfg = tmp / "config.toml"
    lines = ['device_code = "K7"', 'user = "bench"']
    if server is not None:
        lines += [f'server_url = "{server.url}"', 'token = "t"']
        server.got.clear()
    cfg.write_text("\n".join(lines) + "\n")
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {**os.environ, "WIJKTEAM_CONFIG": str(cfg), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    proc = subprocess.Popen(
        [str(WIJKTEAM), "--db", str(tmp / "laptop.sqlite")], stdin=slave, stdout=slave, stderr=slave, env=env,
        cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""

    def drain(wait: float) -> None:
        nonlocal seen
        ready, _, _ = select.select([master], [], [], wait)
        if ready:
            try:
                seen = (seen + os.read(master, 65536))[-4096:]
            except OSError:
                pass

    deadline = time.monotonic() + 60
    while b"Meldingen" not in seen and time.monotonic() < deadline:
        drain(0.05)
    if server is not None:
        while not server.got.is_set() and time.monotonic() < deadline:
            drain(0.05)
    for _ in range(5):  # let the first frame settle
        drain(0.05)
    t0 = time.perf_counter()
    os.write(master, b"\x11")  # Ctrl+Q
    while proc.poll() is None:
        drain(0.005)
    elapsed = time.perf_counter() - t0
    os.close(master)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = Hanging()
    floor: list[float] = []
    hung: list[float] = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            floor.append(quit_seconds(Path(d), None))
        with tempfile.TemporaryDirectory() as d:
            hung.append(quit_seconds(Path(d), server))
        print(f"run {i + 1}: floor {floor[-1]:.3f} s, hung sync {hung[-1]:.3f} s", flush=True)
    f, h = statistics.median(floor), statistics.median(hung)
    print(f"quit, no sync (floor):     median {f:.3f} s  (min {min(floor):.3f}, max {max(floor):.3f})")
    print(f"quit during a hung sync:   median {h:.3f} s  (min {min(hung):.3f}, max {max(hung):.3f})")
    print(f"ratio hung / floor:        {h / f:.2f}")


if __name__ == "__main__":
    main()
