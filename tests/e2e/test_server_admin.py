"""Running the server as an admin would (issue 13 §2), on a real ``wijkteam-server serve`` process:
the settings file, trusted proxies (``X-Forwarded-For`` honoured only from a trusted address, for the
rate limit and the log alike), one structured log line per request without query strings or paths,
and the start-up line naming database, configuration version and URL."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from sync_server.routes.public import PUBLIC_RATE_LIMIT
from tests.e2e.conftest import ServerProcess

STATUS = "/api/v1/public/status/DLF-K7-0001"


def _start(tmp_path: Path, name: str, settings: str) -> ServerProcess:
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(settings, encoding="utf-8")
    srv = ServerProcess(tmp_path / f"{name}.sqlite3", tmp_path / f"{name}.log")
    srv.start(env={"WIJKTEAM_SERVER_CONFIG": str(cfg)})
    return srv


def _access_lines(srv: ServerProcess) -> list[dict]:
    """The access-log lines, read after the process has stopped (so every line is written)."""
    lines = [json.loads(line) for line in srv.log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "wijkteam.access"]


def test_forwarded_address_is_honoured_only_from_a_trusted_proxy(tmp_path):
    trusted = _start(tmp_path, "trusted", 'trusted_proxies = ["127.0.0.1"]\nlog_format = "json"\n')
    untrusted = _start(tmp_path, "untrusted", 'trusted_proxies = ["10.0.0.1"]\nlog_format = "json"\n')
    try:
        with httpx.Client(base_url=trusted.url) as c:
            # The rate limit counts per client: behind the trusted proxy, per forwarded address.
            for _ in range(PUBLIC_RATE_LIMIT):
                assert c.get(STATUS, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
            assert c.get(STATUS, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429
            assert c.get(STATUS, headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 404
        with httpx.Client(base_url=untrusted.url) as c:
            # From an untrusted peer the header is ignored: changing it does not escape the limit.
            for i in range(PUBLIC_RATE_LIMIT):
                assert c.get(STATUS, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code == 404
            assert c.get(STATUS, headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 429
    finally:
        trusted.stop()
        untrusted.stop()
    def clients(srv: ServerProcess) -> set[str]:
        return {line["client"] for line in _access_lines(srv) if line["route"].startswith("/api/v1/public/status/")}

    assert clients(trusted) == {"203.0.113.9", "198.51.100.4"}
    assert clients(untrusted) == {"127.0.0.1"}


def test_one_log_line_per_request_with_the_route_template_and_no_personal_data(tmp_path):
    srv = _start(tmp_path, "logs", 'log_format = "json"\nlog_level = "info"\n')
    token, _ = srv.add_user("anna")
    try:
        with httpx.Client(base_url=srv.url) as c:
            assert c.get("/api/v1/public/status/DLF-K7-0042?telefoon=0612345678").status_code == 404
            me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200
            assert c.get("/api/v1/geen-route/7721AB").status_code == 404
    finally:
        srv.stop()
    lines = _access_lines(srv)
    by_route = {line["route"]: line for line in lines}
    status = by_route["/api/v1/public/status/{reference}"]
    assert (status["method"], status["status"], status["user"]) == ("GET", 404, "-")
    assert isinstance(status["duration_ms"], float)
    assert (by_route["/api/v1/me"]["status"], by_route["/api/v1/me"]["user"]) == (200, "anna")
    assert by_route["-"]["status"] == 404
    text = srv.log.read_text(encoding="utf-8")
    for secret in ("0612345678", "DLF-K7-0042", "7721AB", token):
        assert secret not in text


def test_start_up_names_database_configuration_and_url(tmp_path):
    srv = _start(tmp_path, "start", 'public_url = "https://wijkteam.example.nl"\nlog_format = "logfmt"\n')
    try:
        first = srv.started_line
        assert srv.url in first and str(srv.db) in first and "gemeenteconfiguratie versie 0" in first
    finally:
        srv.stop()
    started = next(line for line in srv.log.read_text(encoding="utf-8").splitlines() if "msg=gestart" in line)
    assert "public_url=https://wijkteam.example.nl" in started and "config_version=0" in started


def test_a_bad_settings_file_is_refused_with_its_line(tmp_path):
    cfg = tmp_path / "server.toml"
    cfg.write_text('port = 8080\ntrusted_proxies = ["proxy.local"]\n', encoding="utf-8")
    srv = ServerProcess(tmp_path / "x.sqlite3", tmp_path / "x.log")
    out = srv.cli("config", "check", "--config", str(cfg))
    assert out.returncode == 1
    assert "server.toml, regel 2, trusted_proxies" in out.stderr and "proxy.local" in out.stderr
