"""The server's settings (sync_server.server_config): file, environment and options, their precedence,
refusals that name the place, the shipped example, and docs/server.md listing every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sync_server.cli import main
from sync_server.server_config import SETTINGS, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_without_file_or_environment():
    settings, sources = load_settings(None, {}, {})
    assert (settings.host, settings.port, settings.log_level, settings.log_format) == ("127.0.0.1", 8080, "info", "logfmt")
    assert settings.trusted_proxies == () and settings.min_free_bytes == 256 * 1024 * 1024
    assert set(sources.values()) == {"standaard"}


def test_option_beats_environment_beats_file(tmp_path):
    cfg = tmp_path / "server.toml"
    cfg.write_text('port = 9000\nhost = "0.0.0.0"\nlog_level = "warning"\ntrusted_proxies = ["10.0.0.0/8"]\n', encoding="utf-8")
    env = {"WIJKTEAM_SERVER_PORT": "9100", "WIJKTEAM_SERVER_TRUSTED_PROXIES": "127.0.0.1, ::1"}
    settings, sources = load_settings(cfg, {"port": 9200}, env)
    assert (settings.port, sources["port"]) == (9200, "optie")
    assert (settings.trusted_proxies, sources["trusted_proxies"]) == (("127.0.0.1", "::1"), "WIJKTEAM_SERVER_TRUSTED_PROXIES")
    assert (settings.host, sources["host"]) == ("0.0.0.0", "server.toml")
    assert (settings.log_level, sources["log_level"]) == ("warning", "server.toml")
    settings, _ = load_settings(None, {}, {"WIJKTEAM_SERVER_CONFIG": str(cfg)})
    assert settings.port == 9000


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("poort = 1\n", "server.toml, regel 1, poort: onbekend veld 'poort'"),
        ('host = "x"\nport = "acht"\n', "server.toml, regel 2, port: verwacht een geheel getal"),
        ("port = 70000\n", "server.toml, regel 1, port: een poort ligt tussen 0 en 65535"),
        ('log_level = "luid"\n', "server.toml, regel 1, log_level: onbekende waarde 'luid'"),
        ('trusted_proxies = ["10.0.0.0/8", "proxy"]\n', "server.toml, regel 1, trusted_proxies: 'proxy' is geen IP-adres"),
        ('public_url = "wijkteam.nl"\n', "server.toml, regel 1, public_url: een adres begint met https://"),
        ("port = \n", "server.toml, regel 1: geen geldige TOML"),
    ],
)
def test_a_bad_file_is_refused_with_file_line_and_field(tmp_path, text, fragment):
    cfg = tmp_path / "server.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as exc:
        load_settings(cfg, {}, {})
    assert fragment in exc.value.message


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"WIJKTEAM_SERVER_PORT": "acht"}, "WIJKTEAM_SERVER_PORT: 'acht' is geen geheel getal"),
        ({"WIJKTEAM_SERVER_LOG_FORMAT": "xml"}, "WIJKTEAM_SERVER_LOG_FORMAT (log_format): kies uit logfmt, json"),
        ({"WIJKTEAM_SERVER_DEBUG": "misschien"}, "WIJKTEAM_SERVER_DEBUG: 'misschien' is geen true of false"),
        ({"WIJKTEAM_SERVER_CONFIG": "/bestaat/niet.toml"}, "bestaat niet"),
    ],
)
def test_a_bad_environment_variable_is_named(env, fragment):
    with pytest.raises(SettingsError) as exc:
        load_settings(None, {}, env)
    assert fragment in exc.value.message


def test_the_shipped_example_passes_config_check(tmp_path, capsys, monkeypatch):
    example = (ROOT / "deploy" / "server.toml").read_text(encoding="utf-8")
    cfg = tmp_path / "server.toml"
    cfg.write_text(example.replace("/var/lib/wijkteam/", f"{tmp_path}/"), encoding="utf-8")
    assert main(["config", "check", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "trusted_proxies = 127.0.0.1, ::1    [server.toml]" in out and "port = 8080    [server.toml]" in out
    # Admin commands act on the file the settings name.
    monkeypatch.setenv("WIJKTEAM_SERVER_CONFIG", str(cfg))
    assert main(["user", "add", "anna", "--role", "kcc"]) == 0
    assert (tmp_path / "wijkteam-server.sqlite3").exists()


def test_docs_list_every_setting_with_its_variable_and_default():
    doc = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    table = doc[doc.index("## Settings") : doc.index("## Behind a reverse proxy")]
    rows = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(r"^\| `(\w+)` \| `(\w+)` \| ([^|]+) \|", table, re.M)}
    assert set(rows) == {s.key for s in SETTINGS}
    for s in SETTINGS:
        env, default = rows[s.key]
        assert env == s.env
        if s.default and not s.default.startswith("<"):
            assert s.default in default, s.key


def test_serve_refuses_a_database_of_a_newer_server(tmp_path, capsys):
    import sqlite3

    from sync_server.store import STORE_SCHEMA_VERSION, ServerStore

    db = tmp_path / "nieuw.sqlite3"
    ServerStore(db).close()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE server_state SET value = ? WHERE key = 'schema_version'", (STORE_SCHEMA_VERSION + 1,))
    conn.close()
    assert main(["serve", "--db", str(db), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "is gemaakt door een nieuwere wijkteam-server" in err and "werk de server bij" in err
