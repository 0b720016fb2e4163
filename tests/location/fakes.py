"""Test doubles for the location tests: recorded online answers behind a fake geopy adapter, and a
real ``wijkteam-server serve`` process for the gazetteer download (fixtures: ``conftest.py``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from geopy.adapters import AdapterHTTPError, BaseSyncAdapter
from geopy.exc import GeocoderUnavailable

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def fixture_json(name: str) -> Any:
    """A recorded answer from ``tests/location/fixtures``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Request:
    """One URL a geocoder asked for: host, endpoint (last path part) and the query as a dict of lists."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.netloc
        self.path = parts.path
        self.endpoint = parts.path.rstrip("/").rsplit("/", 1)[-1]
        self.params = parse_qs(parts.query)

    def __repr__(self) -> str:
        return f"Request({self.url!r})"


Route = Callable[[Request], Any]


class FakeAdapter(BaseSyncAdapter):
    """A geopy adapter that answers from ``routes`` (first route whose result is not None wins).

    A route returns JSON-able data, or raises (e.g. ``GeocoderUnavailable`` for "no network",
    ``AdapterHTTPError`` for an HTTP error). Every request is appended to ``log``.
    """

    def __init__(self, *, proxies: Any = None, ssl_context: Any = None, routes: list[Route], log: list[Request]) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self.routes = routes
        self.log = log

    def get_json(self, url: str, *, timeout: Any, headers: Any) -> Any:
        req = Request(url)
        self.log.append(req)
        for route in self.routes:
            answer = route(req)
            if answer is not None:
                return answer
        raise AssertionError(f"no recorded answer for {url}")

    def get_text(self, url: str, *, timeout: Any, headers: Any) -> str:
        return json.dumps(self.get_json(url, timeout=timeout, headers=headers))


class NoNetworkAdapter(BaseSyncAdapter):
    """The default adapter during these tests: every URL asked is recorded in :data:`ESCAPED` (the
    ``no_network`` fixture fails the test on it) and answered like a machine without network, since
    the code under test swallows look-up errors by design."""

    def get_json(self, url: str, *, timeout: Any, headers: Any) -> Any:
        ESCAPED.append(url)
        raise GeocoderUnavailable(f"test without network: {url}")

    def get_text(self, url: str, *, timeout: Any, headers: Any) -> str:
        return json.dumps(self.get_json(url, timeout=timeout, headers=headers))


#: URLs that a test tried to fetch through a geocoder without a fake adapter.
ESCAPED: list[str] = []


class Online:
    """Builds fake adapters over shared routes; ``log`` holds every request any of them got."""

    def __init__(self) -> None:
        self.log: list[Request] = []
        self.routes: list[Route] = []

    def adapter(self) -> Callable[..., FakeAdapter]:
        return partial(FakeAdapter, routes=self.routes, log=self.log)

    def on(self, route: Route) -> None:
        self.routes.append(route)

    def requests_to(self, host_part: str) -> list[Request]:
        return [r for r in self.log if host_part in r.host]


def unavailable(_req: Request) -> Any:
    """A route that behaves like a machine without network."""
    raise GeocoderUnavailable("Service not available")


def http_503(_req: Request) -> Any:
    """A route that answers 503 (service down)."""
    raise AdapterHTTPError("Service Unavailable", status_code=503, headers={}, text="")


def pdok_routes(req: Request) -> Any:
    """Recorded PDOK answers, chosen by endpoint and filters."""
    if "pdok" not in req.host:
        return None
    fq = req.params.get("fq", [])
    q = (req.params.get("q") or [""])[0].casefold()
    if req.endpoint == "free":
        if "postcode:8011LW" in fq and "huisnummer:1" in fq:
            return fixture_json("pdok_free_8011LW_1.json")
        if "postcode:7722AB" in fq and "huisnummer:5" in fq:
            return fixture_json("pdok_free_7722AB_5.json")
        if "grote markt" in q:
            return fixture_json("pdok_free_grote_markt.json")
        return fixture_json("pdok_empty.json")
    if req.endpoint == "suggest":
        return fixture_json("pdok_suggest_grote_markt.json") if "grote markt" in q else fixture_json("pdok_empty.json")
    if req.endpoint == "reverse":
        lat = float(req.params["lat"][0])
        lon = float(req.params["lon"][0])
        if abs(lat - 52.5126) < 0.001 and abs(lon - 6.0917) < 0.001:
            return fixture_json("pdok_reverse_zwolle.json")
        return fixture_json("pdok_empty.json")
    if req.endpoint == "lookup":
        doc = fixture_json("pdok_free_8011LW_1.json")
        return doc if req.params.get("id") == [doc["response"]["docs"][0]["id"]] else fixture_json("pdok_empty.json")
    return None


def nominatim_routes(req: Request) -> Any:
    """Recorded Nominatim answers."""
    if "nominatim" not in req.host:
        return None
    if req.endpoint == "search":
        q = (req.params.get("q") or [""])[0].casefold()
        return fixture_json("nominatim_search_grote_markt.json") if "grote markt" in q or "8011" in q else []
    if req.endpoint == "reverse":
        lat = float(req.params["lat"][0])
        lon = float(req.params["lon"][0])
        if abs(lat - 52.5126) < 0.02 and abs(lon - 6.0917) < 0.02:
            return fixture_json("nominatim_reverse_zwolle.json")
        return {"error": "Unable to geocode"}
    return None


# -- a real server process -------------------------------------------------------------------------


def server_cmd(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "wijkteam-server"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "sync_server.cli", *args]


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``wijkteam-server … --db DB`` as a subprocess (the admin's command line)."""
    return subprocess.run(
        server_cmd(*args, "--db", str(db)), capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )


class ServerProcess:
    """``wijkteam-server serve --port 0`` on a temp database; ready once it printed its address and
    ``/health`` answers (no polling, no sleeps)."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db = db
        self.log = log
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = dict(os.environ)
        with self.log.open("a") as err:
            self.proc = subprocess.Popen(
                server_cmd("serve", "--db", str(self.db), "--host", "127.0.0.1", "--port", "0"),
                stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=ROOT,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert m, f"server did not start: {line!r}\n{self.log.read_text()}"
        self.url = f"http://127.0.0.1:{m.group(1)}"
        assert httpx.get(self.url + "/health", timeout=30).json()["status"] == "ok"

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

    def add_user(self, name: str, role: str = "wijkuitvoerder") -> str:
        out = run_cli(self.db, "user", "add", name, "--role", role)
        assert out.returncode == 0, out.stderr
        m = re.search(r"Token[^:]*: (\S+)", out.stdout)
        assert m, out.stdout
        return m.group(1)

