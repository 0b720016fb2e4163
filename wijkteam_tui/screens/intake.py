"""The intake screen: register a phone call or street contact, keyboard only, in under a minute.

Field order follows the call (docs/intake.md counts the keys of a typical call). Saving
re-validates every field; nothing is stored while one is invalid; a locked or read-only database
gives a message and the form stays filled.

Nearby duplicates (issue 7, docs/location.md): once the categorie and a point are known, open
meldingen of that categorie within 50 m from the last 12 weeks are looked up in the local
projection (``nearby_candidates``, SQL box pre-filter) and, only when there are any, shown in
``NearbyModal``. Linking stores the new melding and the events of ``shared.nearby.link_duplicate``
(``duplicaat_van`` set, status geannuleerd) in one transaction.

Outside the municipality (docs/location.md): when the location lies outside every municipality
served (``shared.wijken``: ``buiten``) and no wijk was picked, saving first asks in
``BuitenGemeenteModal``: *bevestigen* registers it with a note saying so, *doorzetten naar …*
registers it and moves it to status doorgezet with a note naming the receiver (one transaction),
Escape goes back to the form. Nothing is stored before the choice; inside the municipality nothing
extra opens, so the typical call keeps its keystroke count.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Label

from shared import commands
from shared.enums import Status
from shared.errors import ValidationError
from shared.events import MeldingFields
from shared.model import Melding, Punt
from shared.nearby import link_duplicate
from wijkteam_store.local import NoDeviceCode, StoreError
from wijkteam_tui.fmt import not_saved_message
from wijkteam_tui.location.nearby_query import nearby_candidates
from wijkteam_tui.location.widgets import BuitenGemeenteModal, BuitenKeuze, DoorgezetModal, NearbyModal
from wijkteam_tui.screens.base import WijkteamScreen
from wijkteam_tui.screens.dialogs import SavedModal
from wijkteam_tui.widgets import CategoriePicker, FormInvalid, MeldingForm, StatusBar


class IntakeScreen(WijkteamScreen):
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
        """Validate everything and register the melding; show the reference to tell the caller.

        A location outside the municipality first asks :class:`BuitenGemeenteModal` (see the
        module docstring); the melding is stored only after that choice.
        """
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
        buiten = self._buiten_message(fields)
        if buiten:
            self.app.push_screen(
                BuitenGemeenteModal(buiten, self._waar(fields), self._naar_suggestie(fields)),
                lambda keuze: self._buiten_chosen(fields, keuze),
            )
            return
        self._register(fields)

    def _buiten_message(self, fields: MeldingFields) -> str | None:
        """The "buiten de gemeente" message when saving must ask first, else None.

        Asked only when no wijk is set (a wijk picked by hand places it inside) and the melding is
        not being linked as a duplicate (it is cancelled then, not handled here or elsewhere).
        """
        if fields.wijk or self.duplicaat_van or (fields.adres is None and fields.punt is None):
            return None
        b = self.form.wijken.resolve(fields.adres, fields.punt)
        return b.message if b.status == "buiten" else None

    @staticmethod
    def _waar(fields: MeldingFields) -> str:
        if fields.adres is not None and fields.adres.oneline():
            return fields.adres.oneline()
        if fields.punt is not None:
            from shared.geo import format_punt

            return f"Punt {format_punt(fields.punt)}"
        return ""

    @staticmethod
    def _naar_suggestie(fields: MeldingFields) -> str:
        # The woonplaats is usually named after (or lies in) the municipality that handles it.
        woonplaats = fields.adres.woonplaats if fields.adres is not None else ""
        return f"gemeente {woonplaats}" if woonplaats else ""

    def _buiten_chosen(self, fields: MeldingFields, keuze: BuitenKeuze | None) -> None:
        if keuze is None:
            self._store_error("Niet opgeslagen: de locatie ligt buiten de gemeente; pas die aan of sla opnieuw op.")
            self.form.query_one("#postcode").focus()
            return
        self._register(fields, buiten=keuze)

    def _register(self, fields: MeldingFields, *, buiten: BuitenKeuze | None = None) -> None:
        app = self.app
        try:
            store = app.store
            dev = store.device_clock(app.config.user, clock=app.hlc_clock)
            # One transaction: a linked duplicate or a melding passed on is never stored half.
            with store.transaction():
                melding = store.register(
                    dev, prefix=app.config.prefix, fields=fields, registered_at=app.now()
                )
                if self.duplicaat_van:
                    store.append(link_duplicate(dev, melding, self.duplicaat_van), dev)
                elif buiten is not None and buiten.actie == "doorzetten":
                    note = f"Doorgezet naar {buiten.naar}: de locatie ligt buiten de gemeente."
                    store.append([commands.change_status(dev, melding, Status.DOORGEZET, voor_melder=note)], dev)
                elif buiten is not None:
                    note = "Locatie buiten de gemeente; bij de registratie bevestigd."
                    store.append([commands.add_note(dev, melding, note)], dev)
                if self.duplicaat_van or buiten is not None:
                    melding = store.get(melding.melding_id) or melding
        except NoDeviceCode as exc:
            self._store_error(exc.message)
            return
        except StoreError as exc:
            self._store_error(exc.message)
            return
        except ValidationError as exc:  # TransitionError included
            self.form.show_error(exc.field, exc.message)
            self._store_error(f"Niet opgeslagen: {exc.message}")
            return
        if self.duplicaat_van:
            self.notify(f"{melding.reference} is gekoppeld als dubbele melding van {self.duplicaat_van}.")
        self._store_error(None)
        app.after_save()
        if buiten is not None and buiten.actie == "doorzetten" and not self.duplicaat_van:
            self.app.push_screen(DoorgezetModal(melding, buiten.naar), self._after_saved)
            return
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
