"""The intake screen: register a phone call or street contact, keyboard only, in under a minute.

Field order follows the call (docs/intake.md counts the keys of a typical call). Saving
re-validates every field; nothing is stored while one is invalid; a locked or read-only database
gives a message and the form stays filled.

Nearby duplicates (issue 7 and 14, docs/location.md): once the categorie and a point are known,
open meldingen of that categorie within 50 m from the last 12 weeks are looked up in the local
projection (``nearby_candidates``, SQL box pre-filter) and, only when there are any, shown in the
form (``NearbyPanel``) — never in a window, which would take the keys typed meanwhile. F4 selects
one (again: the next, then none); saving then adds the caller as a second melder to it
(``shared.commands.add_melder``: called back and counted like the first) and shows *its*
reference, instead of registering a melding of their own.

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
from shared.gemeente import gemeente
from shared.model import Melder, Melding, Punt
from shared.werkvoorraad import default_assignment, wijkuitvoerders_of
from wijkteam_store.local import NoDeviceCode, StoreError
from wijkteam_tui.fmt import not_saved_message
from wijkteam_tui.location.nearby_query import nearby_candidates
from wijkteam_tui.location.widgets import BuitenGemeenteModal, BuitenKeuze, DoorgezetModal, NearbyPanel
from wijkteam_tui.screens.base import WijkteamScreen
from wijkteam_tui.screens.dialogs import MelderAddedModal, SavedModal
from wijkteam_tui.widgets import CategoriePicker, FormInvalid, MeldingForm, StatusBar


class IntakeScreen(WijkteamScreen):
    """A new melding. Ctrl+S saves; Escape goes back to the list and keeps what was typed
    (the app installs this screen once), Ctrl+L empties the form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Opslaan", id="intake.save", priority=True),
        Binding("ctrl+l", "clear", "Leegmaken", id="intake.clear"),
        Binding("escape", "back", "Terug", id="intake.back"),
        Binding("f4", "link", "Al gemeld", id="intake.link"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("Nieuwe melding", classes="screen-title")
        yield Label("", id="intake-error", classes="store-error")
        yield NearbyPanel(key="F4", id="intake-nearby")
        with VerticalScroll(id="intake-scroll"):
            yield MeldingForm(
                address_lookup=getattr(self.app, "address_lookup", None),
                location=getattr(self.app, "location", None),
                wijken=getattr(self.app, "wijken", None),
                id="form",
            )
        yield StatusBar()
        yield Footer()

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
        """Show the possible duplicates in the form when categorie and point are known (once per
        pair). Returns True when there are any; nothing is selected and no key is taken."""
        code = self.form.query_one(CategoriePicker).code
        punt = self.form.current_punt()
        if not code or punt is None or (code, punt) == self._nearby_checked:
            return False
        self._nearby_checked = (code, punt)
        try:
            hits = nearby_candidates(
                self.app.store.conn, lat=punt.lat, lon=punt.lon, categorie=code, now=self.app.now()
            )
        except Exception:  # noqa: BLE001 - a failing check never blocks the intake
            hits = []
        self.nearby.show_hits(hits)
        self.refresh_bindings()
        return bool(hits)

    @property
    def nearby(self) -> NearbyPanel:
        """The panel of possible duplicates."""
        return self.query_one(NearbyPanel)

    @property
    def duplicaat_van(self) -> str | None:
        """The reference of the melding this caller will be added to as a melder (F4), or None."""
        return self.nearby.reference

    def action_link(self) -> None:
        """F4: select the next possible duplicate (after the last: none, a new melding after all)."""
        self.nearby.cycle()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if hasattr(self.app, "allows") and not self.app.allows(action):
            return False  # KCC mode is read-only
        if action == "link":
            return bool(self.nearby.hits)
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
        if self.duplicaat_van:
            self._add_melder()
            return
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

        Asked only when no wijk is set (a wijk picked by hand places it inside).
        """
        if fields.wijk or (fields.adres is None and fields.punt is None):
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

    def _add_melder(self) -> None:
        """Save the caller as a second melder on the selected melding (issue 14): their details,
        the kanaal and what they said; nothing else of the form is needed."""
        try:
            fields = self.form.values(for_melder=True)
        except FormInvalid as exc:
            self._store_error(not_saved_message(len(exc.errors)))
            widget = self.form.first_error_widget(exc.errors)
            if widget is not None:
                widget.focus()
            return
        app = self.app
        melding_id = self.nearby.melding_id
        try:
            store = app.store
            dev = store.device_clock(app.config.user, clock=app.hlc_clock)
            with store.transaction():
                original = store.get(melding_id) if melding_id else None
                if original is None:
                    raise ValidationError("melding", f"{self.duplicaat_van} is niet gevonden.")
                melder = fields.melder if isinstance(fields.melder, Melder) else None
                event = commands.add_melder(
                    dev, original, kanaal=fields.kanaal, melder=melder, at=app.now(),
                    omschrijving=fields.omschrijving or "", now=app.now(),
                )  # fmt: skip
                store.append([event], dev)
            original = store.get(original.melding_id) or original
        except StoreError as exc:
            self._store_error(exc.message)
            return
        except ValidationError as exc:
            self._store_error(f"Niet opgeslagen: {exc.message}")
            return
        self._store_error(None)
        app.after_save()
        self.app.push_screen(MelderAddedModal(original), self._after_saved)

    def _register(self, fields: MeldingFields, *, buiten: BuitenKeuze | None = None) -> None:
        app = self.app
        try:
            store = app.store
            dev = store.device_clock(app.config.user, clock=app.hlc_clock)
            # One transaction: a melding passed on is never stored half.
            with store.transaction():
                melding = store.register(
                    dev, prefix=gemeente().prefix, fields=fields, registered_at=app.now()
                )
                # The wijk's wijkuitvoerder gets it (configuration, issue 14); no one: the team.
                behandelaar, aan_team = default_assignment(melding.wijk, wijkuitvoerders_of(self.form.wijken))
                if behandelaar or aan_team:
                    store.append([commands.assign(dev, melding, behandelaar, aan_team=aan_team)], dev)
                    melding = store.get(melding.melding_id) or melding
                if buiten is not None and buiten.actie == "doorzetten":
                    note = f"Doorgezet naar {buiten.naar}: de locatie ligt buiten de gemeente."
                    store.append([commands.change_status(dev, melding, Status.DOORGEZET, voor_melder=note)], dev)
                elif buiten is not None:
                    note = "Locatie buiten de gemeente; bij de registratie bevestigd."
                    store.append([commands.add_note(dev, melding, note)], dev)
                if buiten is not None:
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
        self._store_error(None)
        app.after_save()
        if buiten is not None and buiten.actie == "doorzetten":
            self.app.push_screen(DoorgezetModal(melding, buiten.naar), self._after_saved)
            return
        self.app.push_screen(SavedModal(melding), self._after_saved)

    def _after_saved(self, _result: Melding | None) -> None:
        self.form.clear()
        self._reset_nearby()
        self.query_one("#naam").focus()

    def _reset_nearby(self) -> None:
        self._nearby_checked = None
        self.nearby.show_hits([])
        self.refresh_bindings()

    def action_clear(self) -> None:
        self.form.clear()
        self._reset_nearby()
        self._store_error(None)
        self.query_one("#naam").focus()

    def action_back(self) -> None:
        self.app.pop_screen()
