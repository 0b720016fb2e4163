"""The laptop's configuration: a small TOML file, strictly typed.

Location: ``$WIJKTEAM_CONFIG`` if set (tests and the demo use this), else ``config.toml`` in the
platform's user config directory (platformdirs, app name ``wijkteam``). Unknown keys are refused
with a Dutch message, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import getpass
import os
import re
import tomllib
from pathlib import Path

import msgspec
import platformdirs

from shared.errors import ValidationError
from shared.reference import ALPHABET

APP_NAME = "wijkteam"
#: A laptop with no work of its own waiting installs the server's snapshot instead of pulling when the
#: snapshot is more than this many events past its cursor; an empty laptop always does
#: (docs/sync.md, "Snapshot"). Pulling costs roughly ten times more per event than installing.
DEFAULT_SNAPSHOT_BEHIND = 20_000


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (e.g. some containers): still usable
        return "onbekend"


class Config(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Settings of one laptop.

    Attributes:
        server_url: base URL of the sync server (``https://…``); None works offline only.
        token: bearer token issued with ``wijkteam-server user add``; None works offline only.
        device_code: 2–3 Crockford base32 characters issued with the token; without it no new
            meldingen can be numbered (see ``shared.reference``).
        prefix: no longer used: the reference prefix comes from the municipality configuration
            (``shared.gemeente``, received from the server). Kept so older files still load.
        user: who works on this laptop (shown in the history); default the OS login.
        sync_interval_s: seconds between background syncs (when server_url and token are set).
        snapshot_behind: install the server's snapshot instead of pulling when it is more than this
            many events ahead and nothing of this laptop waits (``DEFAULT_SNAPSHOT_BEHIND``).
    """

    server_url: str | None = None
    token: str | None = None
    device_code: str | None = None
    prefix: str = "DLF"
    user: str = msgspec.field(default_factory=_default_user)
    sync_interval_s: int = 60
    snapshot_behind: int = DEFAULT_SNAPSHOT_BEHIND

    @property
    def can_sync(self) -> bool:
        """True when both a server URL and a token are set."""
        return bool(self.server_url and self.token)


def config_path() -> Path:
    """Where the configuration lives (``$WIJKTEAM_CONFIG`` or the user config dir)."""
    env = os.environ.get("WIJKTEAM_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def data_dir() -> Path:
    """The user data directory where the local databases live (platformdirs)."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def check_device_code(raw: str) -> str:
    """Normalise a device code as typed (upper case, o→0, i/l→1).

    Raises:
        ValidationError: not 2–3 Crockford base32 characters (field ``device_code``).
    """
    code = (
        (raw or "")
        .strip()
        .upper()
        .translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    )
    if not 2 <= len(code) <= 3 or any(c not in ALPHABET for c in code):
        raise ValidationError(
            "device_code",
            "Een apparaatcode is 2 of 3 tekens (cijfers en letters, zoals K7).",
        )
    return code


def check_server_url(raw: str) -> str | None:
    """Normalise a server URL (empty → None). Raises ValidationError unless http(s)://host…."""
    url = (raw or "").strip().rstrip("/")
    if not url:
        return None
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        raise ValidationError(
            "server_url",
            "Een serveradres begint met https:// (of http:// op het eigen netwerk).",
        )
    return url


def load_config(path: Path | None = None) -> Config:
    """Read the configuration; a missing file gives the defaults.

    Raises:
        ValidationError: the file is not valid TOML or has unknown/mistyped keys (field ``config``).
    """
    path = path or config_path()
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return msgspec.convert(data, Config)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ValidationError(
            "config", f"Het configuratiebestand {path} klopt niet: {exc}"
        ) from None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write the configuration (only non-default keys), readable only by the user (it holds the token)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = msgspec.to_builtins(config)
    lines = ["# Wijkteam-instellingen (wijkteam_tui.config)"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in data.items() if v is not None]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path
