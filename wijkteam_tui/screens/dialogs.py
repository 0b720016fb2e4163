"""Small modal dialogs: saved confirmation, status change, note, terugkoppeling, a reason for a
deletion or an anonymisation.

Each is a ``ModalScreen[T | None]``: Escape dismisses with None; the result is what to store.
Validation uses ``shared`` (transition table, text rules) and shows the Dutch message inside the
dialog, which stays open until the input is right.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import msgspec
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea
from textual.widgets.option_list import Option

from shared.commands import check_not_future
from shared.deadlines import AMS, to_local
from shared.enums import Kanaal, Status
from shared.errors import ValidationError
from shared.model import Melder, Melding
from shared.status import NOTE_REQUIRED, allowed_next, check_transition, proposed_next
from shared.taxonomy import load_taxonomy
from shared.validation import clean_text
from wijkteam_tui.fmt import long_date
from wijkteam_tui.widgets import KeyChoice, StandaardTeksten


class ConfirmModal(ModalScreen[bool | None]):
    """A yes/no question: Enter answers yes (True), Escape no (None). ``DISCARDS_TYPEAHEAD``: keys
    typed before it opened were not meant as its answer (``wijkteam_tui.keygate``)."""

    DISCARDS_TYPEAHEAD = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "yes", "Ja", id="confirm.yes"),
        Binding("escape", "no", "Nee", id="confirm.no"),
    ]

    def __init__(self, title: str, message: str, *, ja: str = "Enter: ja", nee: str = "Esc: nee") -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.ja = ja
        self.nee = nee

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Static(Text(self.message), id="confirm-message")
            yield Static(Text(f"{self.ja} · {self.nee}"), classes="hint")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(None)


class DutchCommandPalette(CommandPalette):
    """Textual's command palette with Dutch text (issue 14: "the command palette speaks Dutch")."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("placeholder", "Zoek een opdracht…")
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def _start_no_matches_countdown(self, search_value: str) -> None:
        """As Textual's: after a short wait without any hit, say so — in Dutch (:meth:`show_no_matches`)."""
        self._stop_no_matches_countdown()
        if not search_value:
            self._list_visible = False
            return
        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, self.show_no_matches)

    def show_no_matches(self) -> None:
        """Add the "Geen opdracht gevonden" line to the list."""
        from rich.align import Align
        from textual.command import CommandList

        self.query_one(CommandList).add_option(
            Option(Align.center(Text("Geen opdracht gevonden", style="not bold")), disabled=True, id=self._NO_MATCHES)
        )
        self._list_visible = True


class SavedModal(ModalScreen[Melding | None]):
    """After saving: the reference to tell the caller, the service promise and the deadline."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Sluiten", id="saved.close"),
        Binding("enter", "close", "Volgende melding", id="saved.next"),
    ]

    def __init__(self, melding: Melding) -> None:
        super().__init__()
        self.melding = melding

    def compose(self) -> ComposeResult:
        m = self.melding
        body = Text()
        body.append("Melding opgeslagen\n\n", style="bold")
        body.append("Referentie voor de melder:  ")
        body.append(m.reference, style="bold reverse")
        body.append("\n\n")
        if m.categorie and m.categorie in load_taxonomy():
            body.append(load_taxonomy().get(m.categorie).belofte_voor(m.prioriteit) + "\n\n")
        if m.deadline:
            body.append(
                f"Uiterlijk afgehandeld op {long_date(m.deadline)} ({m.servicenorm} werkdagen).\n"
            )
        # Who handles it (the wijk's wijkuitvoerder by default; b on the melding changes it).
        body.append(f"Behandelaar: {m.assignment_text()}\n")
        body.append("\nEnter: volgende melding")
        with Vertical(classes="dialog"):
            yield Static(body, id="saved-body")

    def action_close(self) -> None:
        self.dismiss(self.melding)


class MelderAddedModal(SavedModal):
    """After adding a caller as a melder to a melding already registered (issue 14): *that*
    melding's reference to tell them, its status, the promise and the date. Enter closes."""

    def compose(self) -> ComposeResult:
        m = self.melding
        body = Text()
        body.append("Deze melding was al bekend\n\n", style="bold")
        body.append("Referentie voor de melder:  ")
        body.append(m.reference, style="bold reverse")
        body.append("\n\n")
        body.append(
            f"De beller is als melder {m.melder_count} toegevoegd en wordt teruggebeld zoals de eerste. "
            f"Status nu: {m.status.label}.\n"
        )
        if m.categorie and m.categorie in load_taxonomy() and m.is_open:
            body.append(load_taxonomy().get(m.categorie).belofte + "\n")
        if m.deadline and m.is_open:
            body.append(f"Uiterlijk afgehandeld op {long_date(m.deadline)}.\n")
        body.append("\nEnter: volgende melding")
        with Vertical(classes="dialog"):
            yield Static(body, id="saved-body")


class StatusModal(ModalScreen[tuple[Status, str, str] | None]):
    """Change the status: only moves in the transition table; a note where it is required.

    Two texts, labelled plainly: the internal note (colleagues only) and the text for the resident
    (public: status page, Open311, what the KCC tells). Dismisses with ``(naar, notitie,
    voor_melder)``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Annuleren", id="status.cancel"),
        Binding("ctrl+s", "ok", "Opslaan", id="status.ok", priority=True),
    ]

    def __init__(self, melding: Melding) -> None:
        super().__init__()
        self.melding = melding

    def compose(self) -> ComposeResult:
        current = self.melding.status
        choices = [(STATUS_KEYS[s], s.value, s.label + (" *" if s in NOTE_REQUIRED else "")) for s in allowed_next(current)]
        with Vertical(classes="dialog"):
            yield Label(
                Text(f"Status van {self.melding.reference}: nu {current.label}"),
                classes="dialog-title",
            )
            # One key per status; the next step forward is proposed (from ingepland: afgehandeld),
            # never a step back. * : a note is required.
            yield KeyChoice(choices, proposed_next(current).value, id="naar")
            yield Label("Standaardteksten (1–9):", id="standaard-kop")
            yield StandaardTeksten(self._texts(proposed_next(current)), typing_to="voor_melder", id="standaard")
            yield Label("Interne notitie (alleen voor collega's, niet openbaar)")
            yield TextArea(id="notitie", compact=True, tab_behavior="focus")
            yield Label("Bericht voor de melder (openbaar: statuspagina, Open311 en KCC)")
            yield TextArea(id="voor_melder", compact=True, tab_behavior="focus")
            yield Label("", id="status-error", classes="store-error")
            with Horizontal(classes="buttons"):
                yield Button("Opslaan (Ctrl+S)", id="ok", variant="primary")
                yield Button("Annuleren (Esc)", id="cancel")

    def on_mount(self) -> None:
        self._show_texts()
        self.query_one("#naar").focus()

    def _texts(self, naar: Status) -> list[tuple[str, str, str]]:
        """The configured texts for moving to ``naar`` in this categorie: the resident's text
        (soort ``status``) first, then internal notes (soort ``notitie``)."""
        return standard_texts(naar, self.melding.categorie)

    def _show_texts(self) -> None:
        texts = self._texts(Status(self.query_one("#naar", KeyChoice).value))
        self.query_one(StandaardTeksten).set_texts(texts)
        self.query_one("#standaard-kop").display = bool(texts)

    def on_key_choice_changed(self, event: KeyChoice.Changed) -> None:
        self._show_texts()

    def on_key_choice_chosen(self, event: KeyChoice.Chosen) -> None:
        """A status chosen: on to the texts (or, without any, to the resident's message)."""
        target = self.query_one(StandaardTeksten) if self.query_one(StandaardTeksten).texts else self.query_one("#voor_melder")
        target.focus()

    def on_key(self, event: events.Key) -> None:
        """A digit anywhere but in a text field picks a standard text (the status stays as chosen)."""
        char = event.character or ""
        if char.isdigit() and not isinstance(self.focused, TextArea):
            teksten = self.query_one(StandaardTeksten)
            if 1 <= int(char) <= len(teksten.texts):
                event.stop()
                self._take(teksten.texts[int(char) - 1])

    def on_standaard_teksten_chosen(self, event: StandaardTeksten.Chosen) -> None:
        event.stop()
        self._take(event.teksten.texts[event.index])

    def _take(self, text: tuple[str, str, str]) -> None:
        """Put a standard text in its field, cursor at the end, to edit or save as it is."""
        _titel, tekst, field = text
        area = self.query_one(f"#{field}", TextArea)
        area.text = tekst
        area.focus()
        area.move_cursor(area.document.end)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_ok() if event.button.id == "ok" else self.action_cancel()

    def action_ok(self) -> None:
        naar = Status(self.query_one("#naar", KeyChoice).value)
        try:
            notitie = clean_text(self.query_one("#notitie", TextArea).text, "notitie")
            voor_melder = clean_text(self.query_one("#voor_melder", TextArea).text, "voor_melder")
            check_transition(self.melding.status, naar, notitie or voor_melder)
        except ValidationError as exc:
            label = self.query_one("#status-error", Label)
            label.update(Text(exc.message))
            label.add_class("-shown")
            return
        self.dismiss((naar, notitie, voor_melder))

    def action_cancel(self) -> None:
        self.dismiss(None)


#: One key per target status in the status dialog (never ``n``: that is "new melding" everywhere).
STATUS_KEYS: dict[Status, str] = {
    Status.GEMELD: "g",
    Status.IN_BEHANDELING: "b",
    Status.INGEPLAND: "i",
    Status.AFGEHANDELD: "a",
    Status.DOORGEZET: "d",
    Status.GEANNULEERD: "x",
    Status.HEROPEND: "h",
}


def standard_texts(naar: Status | None, categorie: str | None, soort: str = "status") -> list[tuple[str, str, str]]:
    """The municipality's standard texts as ``(titel, tekst, field)``: for a status change the
    resident's texts (soort ``status``, field ``voor_melder``) and internal notes (``notitie``); for
    a call-back (``soort="terugkoppeling"``, ``naar``: the melding's status now) what was said
    (field ``tekst``). Most specific first
    (``shared.gemeente.Gemeente.teksten``); [] when the configuration has none or cannot be read."""
    from shared.gemeente import gemeente

    try:
        g = gemeente()
        if soort == "terugkoppeling":
            return [(t.titel, t.tekst, "tekst") for t in g.teksten("terugkoppeling", status=naar, categorie=categorie)]
        return [(t.titel, t.tekst, "voor_melder") for t in g.teksten("status", status=naar, categorie=categorie)] + [
            (t.titel, t.tekst, "notitie") for t in g.teksten("notitie", status=naar, categorie=categorie)
        ]
    except Exception:  # noqa: BLE001 - a broken configuration never blocks the dialog
        return []


class NoteModal(ModalScreen[tuple[str, bool] | None]):
    """Add a note; ``openbaar`` when it may be told to the resident."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Annuleren", id="note.cancel"),
        Binding("ctrl+s", "ok", "Opslaan", id="note.ok", priority=True),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Notitie toevoegen", classes="dialog-title")
            yield TextArea(id="tekst", compact=True, tab_behavior="focus")
            yield Checkbox(
                "Mag aan de melder worden verteld", id="openbaar", compact=True
            )
            yield Label("", id="note-error", classes="store-error")
            with Horizontal(classes="buttons"):
                yield Button("Opslaan (Ctrl+S)", id="ok", variant="primary")
                yield Button("Annuleren (Esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_ok() if event.button.id == "ok" else self.action_cancel()

    def action_ok(self) -> None:
        try:
            tekst = clean_text(
                self.query_one("#tekst", TextArea).text, "notitie", required=True
            )
        except ValidationError as exc:
            label = self.query_one("#note-error", Label)
            label.update(Text(exc.message))
            label.add_class("-shown")
            return
        self.dismiss((tekst, self.query_one("#openbaar", Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReasonModal(ModalScreen[str | None]):
    """Confirm something weighty (delete, restore, anonymise the melder) with a reason.

    Shows what will happen (``warning``); Ctrl+S confirms with the reason typed, Escape cancels.
    ``required``: a reason must be given (deleting); otherwise it may stay empty.
    """

    DISCARDS_TYPEAHEAD = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Annuleren", id="reason.cancel"),
        Binding("ctrl+s", "ok", "Bevestigen", id="reason.ok", priority=True),
    ]

    def __init__(self, title: str, warning: str, *, confirm: str, required: bool, hint: str = "Reden") -> None:
        super().__init__()
        self.title_text = title
        self.warning = warning
        self.confirm = confirm
        self.required = required
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Static(Text(self.warning), id="reason-warning")
            yield Label(Text(self.hint + (" (verplicht)" if self.required else " (mag leeg blijven)")))
            yield TextArea(id="reden", compact=True, tab_behavior="focus")
            yield Label("", id="reason-error", classes="store-error")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.confirm} (Ctrl+S)", id="ok", variant="error")
                yield Button("Annuleren (Esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_ok() if event.button.id == "ok" else self.action_cancel()

    def action_ok(self) -> None:
        try:
            reden = clean_text(self.query_one("#reden", TextArea).text, "reden")
            if self.required and not reden:
                raise ValidationError("reden", "Geef een reden op.")
        except ValidationError as exc:
            label = self.query_one("#reason-error", Label)
            label.update(Text(exc.message))
            label.add_class("-shown")
            return
        self.dismiss(reden)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CallbackResult(msgspec.Struct, frozen=True):
    """What the terugkoppeling dialog returns."""

    kanaal: Kanaal
    at: datetime
    tekst: str
    bereikt: bool
    melder: str | None = None  # the ExtraMelder's event_id; None: the first melder


def parse_local_datetime(raw: str) -> datetime:
    """``"04-05-2026 14:03"`` (Europe/Amsterdam) → aware UTC datetime.

    Raises:
        ValidationError: not ``dd-mm-jjjj uu:mm`` (field ``tijdstip``).
    """
    try:
        local = datetime.strptime(raw.strip(), "%d-%m-%Y %H:%M")
    except ValueError:
        raise ValidationError(
            "tijdstip",
            "Typ datum en tijd als dd-mm-jjjj uu:mm, bijv. 04-05-2026 14:03.",
        ) from None
    return local.replace(tzinfo=AMS).astimezone(UTC)


def _melder_choice(number: int, melder: Melder, called: bool) -> str:
    """``"2 Piet · 06-12345678 (nog niet teruggebeld)"`` for the call-back dialog's melder choice."""
    from wijkteam_tui.screens.detail import melder_line

    return f"{number} {melder_line(melder)} ({'al teruggebeld' if called else 'nog niet teruggebeld'})"


class CallbackModal(ModalScreen[CallbackResult | None]):
    """Log the terugkoppeling: channel, when (default now), what was said, reached or not."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Annuleren", id="callback.cancel"),
        Binding("ctrl+s", "ok", "Opslaan", id="callback.ok", priority=True),
    ]

    def __init__(self, now: datetime, melding: Melding | None = None) -> None:
        """``now``: the default time (and the latest allowed); ``melding``: when it has several
        melders who can be called back, the dialog asks which one (the first still waiting first)."""
        super().__init__()
        self.now = now
        self.melding = melding

    def _melder_options(self) -> list[tuple[str, str]]:
        """``(label, key)`` per melder who can be called back; key ``"1"`` is the first melder, else
        the ``melder_added`` event id. Empty unless there is a choice to make."""
        m = self.melding
        if m is None or not m.melders:
            return []
        _waiting, since = m.terugbellen()
        called = {c.melder for c in m.terugkoppelingen if since is None or c.at >= since}
        out: list[tuple[str, str]] = []
        if m.melder is not None and m.melder.reachable:
            out.append((_melder_choice(1, m.melder, None in called), "1"))
        for i, x in enumerate(m.melders, start=2):
            if x.reachable and x.melder is not None:
                out.append((_melder_choice(i, x.melder, x.event_id in called), x.event_id))
        if len(out) < 2:
            return []
        # The first one still waiting comes first (the Select's default).
        return sorted(out, key=lambda o: "nog niet" not in o[0])

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Terugkoppeling aan de melder", classes="dialog-title")
            melders = self._melder_options()
            if melders:
                yield Label("Aan")
                yield Select(melders, allow_blank=False, id="melder", compact=True)
            yield Label("Via")
            yield Select(
                [(k.label, k.value) for k in Kanaal],
                value=Kanaal.TELEFOON.value,
                allow_blank=False,
                id="kanaal",
                compact=True,
            )
            yield Label("Wanneer (dd-mm-jjjj uu:mm)")
            yield Input(
                to_local(self.now).strftime("%d-%m-%Y %H:%M"),
                id="tijdstip",
                compact=True,
            )
            yield Checkbox("Melder bereikt", value=True, id="bereikt", compact=True)
            # For this categorie and the melding's status now (a text bound to "afgehandeld" is for
            # the call-back after closing).
            m = self.melding
            texts = standard_texts(m.status if m else None, m.categorie if m else None, "terugkoppeling")
            if texts:
                yield Label("Standaardteksten (1–9):")
                yield StandaardTeksten(texts, typing_to="tekst", id="standaard")
            yield Label("Wat is er verteld")
            # No select-all on focus: a chosen standard text or a first typed character is kept and
            # extended, never replaced by the next key.
            yield Input(placeholder="bijv. lamp is vervangen", id="tekst", compact=True, select_on_focus=False)
            yield Label("", id="callback-error", classes="store-error")
            with Horizontal(classes="buttons"):
                yield Button("Opslaan (Ctrl+S)", id="ok", variant="primary")
                yield Button("Annuleren (Esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_ok() if event.button.id == "ok" else self.action_cancel()

    def on_mount(self) -> None:
        # The texts first (one digit takes one), else what was said.
        standaard = self.query("#standaard")
        (standaard.first() if standaard else self.query_one("#tekst", Input)).focus()

    def on_standaard_teksten_chosen(self, event: StandaardTeksten.Chosen) -> None:
        event.stop()
        _titel, tekst, _field = event.teksten.texts[event.index]
        field = self.query_one("#tekst", Input)
        field.value = tekst
        field.focus()
        field.cursor_position = len(tekst)

    def on_input_submitted(self) -> None:
        self.action_ok()

    def action_ok(self) -> None:
        try:
            at = parse_local_datetime(self.query_one("#tijdstip", Input).value)
            # Typed by hand: it may not lie in the future (issue 14; shared.commands).
            at = check_not_future(at, self.now)
            tekst = clean_text(self.query_one("#tekst", Input).value, "tekst")
        except ValidationError as exc:
            label = self.query_one("#callback-error", Label)
            label.update(Text(exc.message))
            label.add_class("-shown")
            return
        melder = None
        for select in self.query("#melder").results(Select):
            melder = None if select.value == "1" else str(select.value)
        self.dismiss(
            CallbackResult(
                kanaal=Kanaal(self.query_one("#kanaal", Select).value),
                at=at,
                tekst=tekst,
                bereikt=self.query_one("#bereikt", Checkbox).value,
                melder=melder,
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
