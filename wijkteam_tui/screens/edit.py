"""Edit a melding's fields: the intake form filled with the current values; each changed group of
fields becomes one ``fields_changed`` event (``shared.commands.edit``)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Label

from shared import commands
from shared.errors import ValidationError
from wijkteam_store.local import StoreError
from wijkteam_tui.fmt import not_saved_message
from wijkteam_tui.screens.base import WijkteamScreen
from wijkteam_tui.widgets import FormInvalid, MeldingForm, StatusBar, changes_between


class EditScreen(WijkteamScreen):
    """Ctrl+S stores the changes (nothing while a field is invalid); Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Opslaan", id="edit.save", priority=True),
        Binding("escape", "back", "Annuleren", id="edit.back"),
    ]

    def __init__(self, melding_id: str) -> None:
        super().__init__()
        self.melding_id = melding_id

    def compose(self) -> ComposeResult:
        yield Label("", id="edit-title", classes="screen-title")
        yield Label("", id="edit-error", classes="store-error")
        with VerticalScroll():
            yield MeldingForm(
                address_lookup=getattr(self.app, "address_lookup", None),
                location=getattr(self.app, "location", None),
                wijken=getattr(self.app, "wijken", None),
                id="form",
            )
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        m = self.app.store.get(self.melding_id)
        self.query_one("#edit-title", Label).update(Text(f"Bewerken: {m.reference}"))
        self.query_one(MeldingForm).load(m)
        self.query_one("#naam").focus()

    def _error(self, message: str | None) -> None:
        label = self.query_one("#edit-error", Label)
        label.update(Text(message or ""))
        label.set_class(bool(message), "-shown")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Saving is a write: disabled in KCC mode (read-only)."""
        return self.app.allows(action) if hasattr(self.app, "allows") else True

    def action_save(self) -> None:
        if hasattr(self.app, "allows") and not self.app.allows("save"):
            return
        form = self.query_one(MeldingForm)
        try:
            fields = form.values()
        except FormInvalid as exc:
            self._error(
                not_saved_message(len(exc.errors))
            )
            return
        app = self.app
        try:
            state = app.store.get(self.melding_id)
            changes = changes_between(state, fields)
            if changes:
                dev = app.store.device_clock(app.config.user, clock=app.hlc_clock)
                events = commands.edit(dev, state, changes)
                if events:
                    app.store.append(events, dev)
                    app.after_save()
        except (StoreError, ValidationError) as exc:
            self._error(exc.message)
            return
        app.pop_screen()

    def action_back(self) -> None:
        self.app.pop_screen()
