"""The server's own settings: a TOML file (``serve --config PATH``), environment variables, options.

Every setting the server reads is in :data:`SETTINGS` (name, environment variable, default, what it
does); docs/server.md lists the same table, and a test checks the two agree. Precedence, highest
first: a command-line option (``--db``, ``--host``, ``--port``, ``--log-level``), the environment
variable, the settings file, the default. ``wijkteam-server config check`` shows the outcome of each
with where it came from, and checks the stored municipality configuration too.

Settings file (every key optional; unknown keys are refused with file, line and field)::

    db = "/var/lib/wijkteam/wijkteam-server.sqlite3"
    host = "127.0.0.1"
    port = 8080
    public_url = "https://wijkteam.dalfsen.nl"
    trusted_proxies = ["127.0.0.1", "::1"]
    log_level = "info"
    log_format = "logfmt"
    max_body_bytes = 67108864
    min_free_mb = 256
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import msgspec

from shared.gemeente import ConfigError, located_error, read_toml_struct
from sync_server.settings import (
    CRASH_ENV,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_SNAPSHOT_CHECK_S,
    DEFAULT_SNAPSHOT_LAG,
    MAX_BODY_BYTES,
    MIN_FREE_BYTES,
    MIN_FREE_ENV,
    SNAPSHOT_CHECK_ENV,
    SNAPSHOT_DIR_ENV,
    SNAPSHOT_LAG_ENV,
    Settings,
)

#: Environment variable naming the settings file when ``--config`` is not given.
CONFIG_ENV = "WIJKTEAM_SERVER_CONFIG"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("logfmt", "json")


class SettingsFile(msgspec.Struct, forbid_unknown_fields=True):
    """The settings file: every key optional (see the module docstring)."""

    db: str | None = None
    host: str | None = None
    port: int | None = None
    public_url: str | None = None
    trusted_proxies: list[str] | None = None
    log_level: Literal["critical", "error", "warning", "info", "debug"] | None = None
    log_format: Literal["logfmt", "json"] | None = None
    max_body_bytes: int | None = None
    min_free_mb: int | None = None
    snapshot_lag: int | None = None
    snapshot_check_s: float | None = None
    snapshot_dir: str | None = None
    debug: bool | None = None


@dataclass(frozen=True)
class Setting:
    """One setting: its key (in the file and in :class:`~sync_server.settings.Settings`), its
    environment variable, its default as documented, and what it does (Dutch)."""

    key: str
    env: str
    default: str
    help: str


#: Every setting the server reads, in the order docs/server.md lists them.
SETTINGS: tuple[Setting, ...] = (
    Setting("db", "WIJKTEAM_SERVER_DB", "<gebruikersdatamap>/wijkteam/wijkteam-server.sqlite3",
            "het databasebestand (ook --db)"),
    Setting("host", "WIJKTEAM_SERVER_HOST", DEFAULT_HOST, "adres om op te luisteren (ook --host)"),
    Setting("port", "WIJKTEAM_SERVER_PORT", str(DEFAULT_PORT), "poort; 0 kiest een vrije (ook --port)"),
    Setting("public_url", "WIJKTEAM_SERVER_PUBLIC_URL", "", "het adres waarop laptops de server bereiken, achter de proxy (alleen getoond)"),
    Setting("trusted_proxies", "WIJKTEAM_SERVER_TRUSTED_PROXIES", "",
            "proxy-adressen of -netwerken (komma's) waarvan X-Forwarded-For geloofd wordt; leeg: van niemand"),
    Setting("log_level", "WIJKTEAM_SERVER_LOG_LEVEL", "info", "critical, error, warning, info of debug (ook --log-level)"),
    Setting("log_format", "WIJKTEAM_SERVER_LOG_FORMAT", "logfmt", "logfmt (sleutel=waarde) of json, één regel per verzoek"),
    Setting("max_body_bytes", "WIJKTEAM_SERVER_MAX_BODY_BYTES", str(MAX_BODY_BYTES), "grootste verzoek in bytes van een route zonder eigen grens; groter krijgt 413"),
    Setting("min_free_mb", MIN_FREE_ENV, str(MIN_FREE_BYTES // (1024 * 1024)),
            "/ready meldt niet-gereed onder zoveel MB vrije schijfruimte bij de database"),
    Setting("snapshot_lag", SNAPSHOT_LAG_ENV, str(DEFAULT_SNAPSHOT_LAG),
            "bouw de laptop-snapshot opnieuw als het log zoveel events verder is (0: alleen op verzoek)"),
    Setting("snapshot_check_s", SNAPSHOT_CHECK_ENV, str(int(DEFAULT_SNAPSHOT_CHECK_S)), "seconden tussen twee blikken op die achterstand"),
    Setting("snapshot_dir", SNAPSHOT_DIR_ENV, "<database>.snapshots", "map van de snapshotbestanden"),
    Setting("debug", "WIJKTEAM_SERVER_DEBUG", "false", "foutdetails in antwoorden; nooit in productie"),
    Setting("crash_point", CRASH_ENV, "", "alleen voor tests: laat de server zichzelf stoppen tijdens een push"),
)  # fmt: skip


class SettingsError(Exception):
    """Settings that cannot be used; ``message`` is Dutch and names the file and line, or the variable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _from_text(key: str, raw: str, where: str) -> Any:
    """A setting's value from an environment variable or option text."""
    raw = raw.strip()
    if key == "snapshot_check_s":
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{where}: '{raw}' is geen getal.") from None
    if key in ("port", "max_body_bytes", "min_free_mb", "snapshot_lag"):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{where}: '{raw}' is geen geheel getal.") from None
    if key == "debug":
        if raw.lower() in ("1", "true", "ja", "yes"):
            return True
        if raw.lower() in ("0", "false", "nee", "no", ""):
            return False
        raise SettingsError(f"{where}: '{raw}' is geen true of false.")
    if key == "trusted_proxies":
        return [p.strip() for p in raw.split(",") if p.strip()]
    return raw


def _check(key: str, value: Any, fail: Any) -> None:
    """The rules of one setting; ``fail(reason)`` raises."""
    if key == "port" and not 0 <= value <= 65535:
        fail("een poort ligt tussen 0 en 65535")
    if key == "log_level" and value not in LOG_LEVELS:
        fail(f"kies uit {', '.join(LOG_LEVELS)}")
    if key == "log_format" and value not in LOG_FORMATS:
        fail(f"kies uit {', '.join(LOG_FORMATS)}")
    if key == "max_body_bytes" and value < 1024:
        fail("minstens 1024 bytes")
    if key == "snapshot_lag" and value < 0:
        fail("0 of meer")
    if key == "snapshot_check_s" and not value > 0:
        fail("meer dan 0 seconden")
    if key == "min_free_mb" and value < 0:
        fail("0 of meer")
    if key == "public_url" and value and not value.startswith(("https://", "http://")):
        fail("een adres begint met https:// (of http://)")
    if key == "trusted_proxies":
        for p in value:
            try:
                ipaddress.ip_network(p, strict=False)
            except ValueError:
                fail(f"'{p}' is geen IP-adres of netwerk (zoals 10.0.0.0/8)")


def load_settings(
    config_path: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Settings, dict[str, str]]:
    """The server's settings and, per setting, where its value came from.

    Args:
        config_path: the settings file; default ``$WIJKTEAM_SERVER_CONFIG``; None: no file.
        options: command-line values (``db``, ``host``, ``port``, ``log_level``); None values are ignored.
        environ: the environment (default ``os.environ``).

    Returns:
        ``(settings, sources)``; ``sources[key]`` is ``"optie"``, the variable's name, the file's
        name or ``"standaard"``.

    Raises:
        SettingsError: an unreadable file, an unknown key, a wrong type or a value breaking a rule;
            the message names the file and line, or the variable.
    """
    environ = os.environ if environ is None else environ
    options = options or {}
    config_path = config_path or environ.get(CONFIG_ENV) or None
    file_values: dict[str, Any] = {}
    if config_path:
        path = Path(config_path)
        if not path.is_file():
            raise SettingsError(f"Instellingenbestand {path} bestaat niet.")
        try:
            parsed = read_toml_struct(path, SettingsFile)
        except ConfigError as exc:
            raise SettingsError(f"Instellingen: {exc.message}") from None
        file_values = {k: v for k, v in msgspec.structs.asdict(parsed).items() if v is not None}
        for key, value in file_values.items():
            def fail(reason: str, key: str = key) -> None:
                raise SettingsError(f"Instellingen: {located_error(path, key, reason).message}")

            _check(key, value, fail)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        if options.get(s.key) is not None:
            value, source = options[s.key], "optie"
        elif environ.get(s.env):
            value, source = _from_text(s.key, environ[s.env], s.env), s.env
        elif s.key in file_values:  # checked above, with its line
            values[s.key], sources[s.key] = file_values[s.key], Path(config_path).name  # type: ignore[arg-type]
            continue
        else:
            continue

        def fail(reason: str, where: str = source, key: str = s.key) -> None:
            raise SettingsError(f"{where} ({key}): {reason}.")

        _check(s.key, value, fail)
        values[s.key] = value
        sources[s.key] = source
    settings = Settings.for_db(values.pop("db", None))
    if "min_free_mb" in values:
        values["min_free_bytes"] = values.pop("min_free_mb") * 1024 * 1024
    if "snapshot_dir" in values:
        values["snapshot_dir"] = Path(values["snapshot_dir"]) if values["snapshot_dir"] else None
    if "snapshot_check_s" in values:
        values["snapshot_check_s"] = float(values["snapshot_check_s"])
    settings = replace(
        settings,
        **{k: (tuple(v) if k == "trusted_proxies" else v) for k, v in values.items() if k != "crash_point"},
    )
    if "crash_point" in values:
        settings = replace(settings, crash_point=values["crash_point"] or None)
    for s in SETTINGS:
        sources.setdefault(s.key, "standaard")
    return settings, sources


# -- config check --------------------------------------------------------------------------------


def _check_command(args: argparse.Namespace) -> int:
    from sync_server.gemeente_config import stored, summary
    from sync_server.store import ServerStore, StoreError

    try:
        settings, sources = load_settings(args.config, {"db": getattr(args, "db", None)})
    except SettingsError as exc:
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 1
    print("Serverinstellingen:")
    for s in SETTINGS:
        value = settings.db_path if s.key == "db" else getattr(settings, s.key, None)
        if s.key == "min_free_mb":
            value = settings.min_free_bytes // (1024 * 1024)
        if s.key == "trusted_proxies":
            value = ", ".join(value) or "(geen)"
        print(f"  {s.key} = {value}    [{sources[s.key]}]")
    if isinstance(settings.db_path, Path) and not settings.db_path.exists():
        print(f"De database {settings.db_path} bestaat nog niet; 'serve' maakt haar aan.")
        return 0
    try:
        store = ServerStore(settings.db_path)
    except StoreError as exc:
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 1
    try:
        cur = stored(store)
        config = cur.config
    except ConfigError as exc:
        print(f"Fout: de opgeslagen gemeenteconfiguratie is ongeldig: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Gemeenteconfiguratie versie {cur.version}:")
    for line in summary(config):
        print(f"  {line}")
    print("In orde.")
    return 0


def configure_check(sub: Any) -> None:
    """Add ``config check`` (to the ``config`` group of ``sync_server.gemeente_config``)."""
    from sync_server.cli_common import add_command

    p = add_command(sub, "check", "controleer de serverinstellingen (bestand en omgeving) en de opgeslagen gemeenteconfiguratie")
    p.add_argument("--config", type=Path, default=None, help=f"instellingenbestand (TOML; standaard ${CONFIG_ENV})")
    p.set_defaults(func=_check_command)
