"""The intake screen: register a phone call or street contact, keyboard only, in under a minute.

Field order follows the call (docs/intake.md counts the keys of a typical call). Saving
re-validates every field; nothing is stored while one is invalid; a locked or read-only database
gives a message and the form stays filled.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label

from shared.errors import ValidationError
from shared.model import Melding
from wijkteam_tui.screens.dialogs import SavedModal
from wijkteam_tui.store import NoDeviceCode, StoreError
from wijkteam_tui.widgets import FormInvalid, MeldingForm, StatusBar


class IntakeScreen(Screen):
    """A new melding. Ctrl+S saves; Escape goes back to the list and keeps what was typed
    (the app installs this screen once), Ctrl+L empties the form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Opslaan", id="intake.save", priority=True),
        Binding("ctrl+l", "clear", "Leegmaken", id="intake.clear"),
        Binding("escape", "back", "Terug", id="intake.back"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("Nieuwe melding", classes="screen-title")
        yield Label("", id="intake-error", classes="store-error")
        with VerticalScroll(id="intake-scroll"):
            yield MeldingForm(
                address_lookup=getattr(self.app, "address_lookup", None), id="form"
            )
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#naam").focus()

    @property
    def form(self) -> MeldingForm:
        return self.query_one(MeldingForm)

    def _store_error(self, message: str | None) -> None:
        label = self.query_one("#intake-error", Label)
        label.update(Text(message or ""))
        label.set_class(bool(message), "-shown")

    def action_save(self) -> None:
        """Validate everything and register the melding; show the reference to tell the caller."""
        try:
            fields = self.form.values()
        except FormInvalid as exc:
            self._store_error(
                f"Niet opgeslagen: {len(exc.errors)} veld(en) kloppen nog niet."
            )
            widget = self.form.first_error_widget(exc.errors)
            if widget is not None:
                widget.focus()
            return
        app = self.app
        try:
            store = app.store
            dev = store.device_clock(app.config.user, clock=app.hlc_clock)
            melding = store.register(
                dev, prefix=app.config.prefix, fields=fields, registered_at=app.now()
            )
        except NoDeviceCode as exc:
            self._store_error(exc.message)
            return
        except StoreError as exc:
            self._store_error(exc.message)
            return
        except ValidationError as exc:
            self.form.show_error(exc.field, exc.message)
            self._store_error(f"Niet opgeslagen: {exc.message}")
            return
        self._store_error(None)
        app.after_save()
        self.app.push_screen(SavedModal(melding), self._after_saved)

    def _after_saved(self, _result: Melding | None) -> None:
        self.form.clear()
        self.query_one("#naam").focus()

    def action_clear(self) -> None:
        self.form.clear()
        self._store_error(None)
        self.query_one("#naam").focus()

    def action_back(self) -> None:
        self.app.pop_screen()
