"""Settings: sync server, token, device code, user, sync interval (saved to config.toml), and which
municipality configuration this laptop runs on (received from the server; read-only here)."""

from __future__ import annotations

from typing import ClassVar

import msgspec
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Input, Label, Static

from shared.errors import ValidationError
from shared.gemeente import gemeente
from shared.validation import MAX_NAME_LENGTH, clean_line
from wijkteam_store.local import StoreError
from wijkteam_tui.config import (
    check_device_code,
    check_server_url,
    save_config,
)
from wijkteam_tui.screens.base import WijkteamScreen
from wijkteam_tui.widgets import FieldError

EXPLANATION = (
    "De apparaatcode (2 tekens, zoals K7) krijgt u van de beheerder samen met uw token "
    "(wijkteam-server user add). Elke laptop heeft een eigen code; daarmee krijgt elke melding een "
    "referentie die nergens anders kan voorkomen, ook zonder verbinding. Zonder apparaatcode kunt u "
    "meldingen bekijken maar geen nieuwe registreren. Zonder server en token werkt Wijkteam alleen lokaal."
)


class SettingsScreen(WijkteamScreen):
    """Edit and save the laptop's configuration."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Opslaan", id="settings.save", priority=True),
        Binding("escape", "back", "Terug", id="settings.back"),
    ]

    FIELDS = (
        ("server_url", "Server", "https://wijkteam.gemeente.nl"),
        ("token", "Token", ""),
        ("device_code", "Apparaatcode", "K7"),
        ("user", "Gebruiker", ""),
        ("sync_interval_s", "Sync (sec)", "60"),
    )

    def compose(self) -> ComposeResult:
        cfg = self.app.config
        yield Label("Instellingen", classes="screen-title")
        with VerticalScroll():
            yield Static(Text(EXPLANATION), id="settings-help")
            yield Static(Text(gemeente_text()), id="settings-gemeente")
            for key, label, placeholder in self.FIELDS:
                value = getattr(cfg, key)
                with Horizontal(classes="field-row"):
                    yield Label(label, classes="field-label")
                    yield Input(
                        "" if value is None else str(value),
                        placeholder=placeholder,
                        id=key,
                        compact=True,
                        password=key == "token",
                    )
                yield FieldError(id=f"err-{key}")
            yield Label("", id="settings-error", classes="store-error")
        yield Footer()

    def on_mount(self) -> None:
        # Typing starts in the first field: nothing typed before a Tab is lost.
        self.query_one(f"#{self.FIELDS[0][0]}", Input).focus()

    def action_save(self) -> None:
        vals = {k: self.query_one(f"#{k}", Input).value for k, _, _ in self.FIELDS}
        out: dict = {}
        errors = 0
        checks = {
            "server_url": check_server_url,
            "token": lambda v: v.strip() or None,
            "device_code": lambda v: check_device_code(v) if v.strip() else None,
            "user": lambda v: clean_line(
                v, "user", max_length=MAX_NAME_LENGTH, required=True
            ),
            "sync_interval_s": _interval,
        }
        for key, check in checks.items():
            try:
                out[key] = check(vals[key])
                self.query_one(f"#err-{key}", FieldError).show(None)
            except ValidationError as exc:
                errors += 1
                self.query_one(f"#err-{key}", FieldError).show(exc.message)
        if errors:
            return
        config = msgspec.structs.replace(self.app.config, **out)
        try:
            # The store first: it refuses a new device code while the old one's events wait, and
            # then the configuration must not change either.
            if config.device_code:
                self.app.store.set_device_code(config.device_code)
            if not self.app.demo:
                save_config(config)
        except (OSError, StoreError) as exc:
            self.query_one("#settings-error", Label).update(
                Text(f"Niet opgeslagen: {getattr(exc, 'message', exc)}")
            )
            self.query_one("#settings-error", Label).add_class("-shown")
            return
        self.app.config = config
        self.app.refresh_bindings()
        self.app.update_sync_text()
        self.app.schedule_sync(0)
        self.app.notify("Instellingen opgeslagen.")
        self.app.pop_screen()

    def action_back(self) -> None:
        self.app.pop_screen()


def gemeente_text() -> str:
    """Which municipality configuration is in force, for the settings screen: name, prefix, version,
    and whether it came from the server or is the package default."""
    g = gemeente()
    origin = "van de server" if g.version else "pakketstandaard; de server stuurt de echte bij de volgende sync"
    return f"Gemeente: {g.label()} ({origin}). Voorvoegsel van referenties: {g.prefix}."


def _interval(raw: str) -> int:
    try:
        n = int(raw.strip())
    except ValueError:
        n = 0
    if not 10 <= n <= 86400:
        raise ValidationError(
            "sync_interval_s", "Kies een aantal seconden tussen 10 en 86400."
        )
    return n
