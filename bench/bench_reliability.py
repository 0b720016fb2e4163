"""Does the server stay responsive while an unauthenticated client sends oversized bodies?

Starts a real ``wijkteam-server serve`` on 127.0.0.1 (port 0) and measures ``GET /health`` from one
client for ``SECONDS`` seconds, first alone (the floor), then while ``ATTACKERS`` threads keep posting
60 MB bodies without a valid key: a form to Open311 ``POST requests.json`` (the route that used to read
and parse all of it before looking at the key) and a JSON body to the sync push. Printed: health
requests per second answered in under 100 ms, p50/p95/max latency, and the ratio to the floor; plus
how many attack requests were refused and with what status. Loopback only, bounded in time.

Issue 11 §3; figures in docs/reliability.md.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx

SECONDS = 10.0
ATTACKERS = 4
BODY_BYTES = 60 * 1024 * 1024
FAST_MS = 100.0


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    script = Path(sys.executable).parent / "wijkteam-server"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "sync_server.cli"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=log.open("w"), text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    m = re.search(r"http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
    assert m, log.read_text()
    return proc, f"http://127.0.0.1:{m.group(1)}"


def probe(host: str, port: int) -> None:
    """One ``GET /health`` on a new connection, as a load balancer's probe (raw socket: an HTTP
    client library's own set-up would dominate a loopback figure)."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"/health answered {data[:40]!r}")


def measure_health(url: str, seconds: float) -> list[float]:
    """Latencies (ms) of back-to-back health probes for ``seconds``."""
    host, port = url.removeprefix("http://").split(":")
    out: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        probe(host, int(port))
        out.append((time.perf_counter() - t0) * 1000)
    return out


def attack(url: str, stop: threading.Event, statuses: dict[str, int], lock: threading.Lock) -> None:
    """Post 60 MB bodies without a valid key until ``stop``; count the answers by status."""
    body = b"a=" + b"x" * BODY_BYTES
    targets = [
        ("/open311/v2/requests.json", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("/api/v1/sync/push", {"Content-Type": "application/json", "X-Wijkteam-Protocol": "1"}),
    ]
    i = 0
    with httpx.Client(base_url=url, timeout=60) as c:
        while not stop.is_set():
            path, headers = targets[i % 2]
            i += 1
            try:
                code = str(c.post(path, content=body, headers=headers).status_code)
            except httpx.HTTPError as exc:  # the server may close the connection on a refused body
                code = type(exc).__name__
            with lock:
                statuses[code] = statuses.get(code, 0) + 1


def summary(name: str, lat: list[float], seconds: float) -> tuple[float, float]:
    lat_sorted = sorted(lat)
    p = lambda q: lat_sorted[min(len(lat_sorted) - 1, int(q * len(lat_sorted)))]  # noqa: E731
    fast = sum(1 for x in lat if x < FAST_MS) / seconds
    print(f"{name:<28} {fast:8.0f} req/s < {FAST_MS:.0f} ms   p50 {p(0.5):6.2f} ms  p95 {p(0.95):6.2f} ms  max {lat_sorted[-1]:7.1f} ms")
    return fast, p(0.95)


def attacker_process(url: str, seconds: float) -> None:
    """``--attack URL SECONDS``: ATTACKERS threads in their own process (so the measuring client does
    not share a GIL with them); prints the answers' statuses as one line."""
    stop, lock, statuses = threading.Event(), threading.Lock(), {}
    threads = [threading.Thread(target=attack, args=(url, stop, statuses, lock)) for _ in range(ATTACKERS)]
    for t in threads:
        t.start()
    time.sleep(seconds)  # a benchmark's run time, not a test wait
    stop.set()
    for t in threads:
        t.join()
    print(dict(sorted(statuses.items())), flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp) / "server.sqlite3", Path(tmp) / "server.log")
        try:
            floor_rps, floor_p95 = summary("health alone (floor)", measure_health(url, SECONDS), SECONDS)
            attackers = subprocess.Popen(
                [sys.executable, __file__, "--attack", url, str(SECONDS + 2)], stdout=subprocess.PIPE, text=True
            )
            time.sleep(1.0)  # let the attack get going before measuring
            rps, p95 = summary(f"health under {ATTACKERS} x 60 MB posts", measure_health(url, SECONDS), SECONDS)
            out, _ = attackers.communicate(timeout=120)
            print(f"attack requests answered (status: count): {out.strip()}")
            print(f"ratio to floor: req/s < {FAST_MS:.0f} ms {rps / floor_rps:.2f}   p95 {p95 / floor_p95:.2f}")
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--attack":
        attacker_process(sys.argv[2], float(sys.argv[3]))
        raise SystemExit(0)
    raise SystemExit(main())
