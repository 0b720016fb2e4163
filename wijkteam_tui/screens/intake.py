"""The intake screen: register a phone call or street contact, keyboard only, in under a minute.

Field order follows the call (docs/intake.md counts the keys of a typical call). Saving
re-validates every field; nothing is stored while one is invalid; a locked or read-only database
gives a message and the form stays filled.

Nearby duplicates (issue 7, docs/location.md): once the categorie and a point are known, open
meldingen of that categorie within 50 m from the last 12 weeks are looked up in the local
projection (``nearby_candidates``, SQL box pre-filter) and, only when there are any, shown in
``NearbyModal``. Linking stores the new melding and the events of ``shared.nearby.link_duplicate``
(``duplicaat_van`` set, status geannuleerd) in one transaction.
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
from shared.model import Melding, Punt
from shared.nearby import link_duplicate
from wijkteam_tui.fmt import not_saved_message
from wijkteam_tui.location.nearby_query import nearby_candidates
from wijkteam_tui.location.widgets import NearbyModal
from wijkteam_tui.screens.dialogs import SavedModal
from wijkteam_tui.store import NoDeviceCode, StoreError
from wijkteam_tui.widgets import CategoriePicker, FormInvalid, MeldingForm, StatusBar


class IntakeScreen(Screen):
    """A new melding. Ctrl+S saves; Escape goes back to the list and keeps what was typed
    (the app installs this screen once), Ctrl+L empties the form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Opslaan", id="intake.save", priority=True),
        Binding("ctrl+l", "clear", "Leegmaken", id="intake.clear"),
        Binding("escape", "back", "Terug", id="intake.back"),
        Binding("ctrl+d", "keep_new", "Toch nieuw", id="intake.keep_new"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("Nieuwe melding", classes="screen-title")
        yield Label("", id="intake-error", classes="store-error")
        yield Label("", id="intake-duplicaat", classes="duplicaat")
        with VerticalScroll(id="intake-scroll"):
            yield MeldingForm(
                address_lookup=getattr(self.app, "address_lookup", None),
                location=getattr(self.app, "location", None),
                wijken=getattr(self.app, "wijken", None),
                id="form",
            )
        yield StatusBar()
        yield Footer()

    DEFAULT_CSS = """
    IntakeScreen #intake-duplicaat { display: none; color: $text-warning; text-style: bold; padding: 0 1; }
    IntakeScreen #intake-duplicaat.-shown { display: block; }
    """

    #: Reference of the melding the new one duplicates (chosen in NearbyModal), or None.
    duplicaat_van: str | None = None
    #: (categorie, point) last checked for nearby duplicates, so a check is offered once.
    _nearby_checked: tuple[str, Punt] | None = None

    def on_mount(self) -> None:
        self.query_one("#naam").focus()

    # -- nearby duplicates ----------------------------------------------------------------------

    def on_categorie_picker_picked(self, event: CategoriePicker.Picked) -> None:
        self.check_nearby()

    def on_melding_form_punt_known(self, event: MeldingForm.PuntKnown) -> None:
        self.check_nearby()

    def check_nearby(self) -> bool:
        """Show the possible duplicates when categorie and point are known (once per pair).

        Returns True when the modal was opened. No hits: nothing happens (no extra keystroke).
        """
        code = self.form.query_one(CategoriePicker).code
        punt = self.form.current_punt()
        if not code or punt is None or self.duplicaat_van or (code, punt) == self._nearby_checked:
            return False
        self._nearby_checked = (code, punt)
        try:
            hits = nearby_candidates(
                self.app.store.conn, lat=punt.lat, lon=punt.lon, categorie=code, now=self.app.now()
            )
        except Exception:  # noqa: BLE001 - a failing check never blocks the intake
            return False
        if not hits:
            return False
        self.app.push_screen(NearbyModal(hits), self._nearby_chosen)
        return True

    def _nearby_chosen(self, reference: str | None) -> None:
        self.set_duplicaat(reference)

    def set_duplicaat(self, reference: str | None) -> None:
        """Mark (or unmark) the new melding as a duplicate of ``reference``."""
        self.duplicaat_van = reference
        label = self.query_one("#intake-duplicaat", Label)
        label.update(
            Text(
                f"Dubbele melding van {reference}: wordt bij opslaan gekoppeld en geannuleerd "
                "(Ctrl+D: toch als nieuwe melding)."
            )
            if reference
            else ""
        )
        label.set_class(bool(reference), "-shown")

    def action_keep_new(self) -> None:
        """Undo the duplicate link chosen in the modal: save as a new melding after all."""
        self.set_duplicaat(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if hasattr(self.app, "allows") and not self.app.allows(action):
            return False  # KCC mode is read-only
        if action == "keep_new":
            return self.duplicaat_van is not None
        return True

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
                not_saved_message(len(exc.errors))
            )
            widget = self.form.first_error_widget(exc.errors)
            if widget is not None:
                widget.focus()
            return
        app = self.app
        try:
            store = app.store
            dev = store.device_clock(app.config.user, clock=app.hlc_clock)
            # One transaction: a linked duplicate is never stored half (registered but not linked).
            with store.transaction():
                melding = store.register(
                    dev, prefix=app.config.prefix, fields=fields, registered_at=app.now()
                )
                if self.duplicaat_van:
                    store.append(link_duplicate(dev, melding, self.duplicaat_van), dev)
                    melding = store.get(melding.melding_id) or melding
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
        if self.duplicaat_van:
            self.notify(f"{melding.reference} is gekoppeld als dubbele melding van {self.duplicaat_van}.")
        self._store_error(None)
        app.after_save()
        self.app.push_screen(SavedModal(melding), self._after_saved)

    def _after_saved(self, _result: Melding | None) -> None:
        self.form.clear()
        self._reset_nearby()
        self.query_one("#naam").focus()

    def _reset_nearby(self) -> None:
        self._nearby_checked = None
        self.set_duplicaat(None)

    def action_clear(self) -> None:
        self.form.clear()
        self._reset_nearby()
        self._store_error(None)
        self.query_one("#naam").focus()

    def action_back(self) -> None:
        self.app.pop_screen()
