"""Widgets the intake mounts for location: address search and choice, the nearby-duplicate prompt,
and the "buiten de gemeente" confirm step.

* :func:`make_address_lookup` adapts the local gazetteer to the intake form's ``AddressLookup`` hook
  (``wijkteam_tui.widgets``; synchronous, offline, microseconds per call, so safe in the UI thread).
* :class:`AddressChoiceModal` — ``ModalScreen[AdresKeuze | None]``: "12 bestaat als 12A en 12B": pick one
  with the arrow keys and Enter; Escape dismisses with None.
* :class:`NearbyPanel` — open meldingen of the same categorie within 50 m from the last 12 weeks
  (``shared.nearby``), shown in the form; a key (F4) selects one, and saving then adds the caller
  as a second melder to it (issue 14) instead of registering a new melding.
* :class:`AdresZoeker` — the free-text address search at the top of the intake's location part:
  typing ``kerkstr 12 dalfsen`` offers matching addresses (the local gazetteer at once, PDOK
  ``suggest`` added when online) from a thread worker, so typing never waits; ↑/↓ and Enter pick one
  and the form fills the BAG fields from it (:class:`AdresZoeker.Chosen`).
* :class:`BuitenGemeenteModal` — ``ModalScreen[BuitenKeuze | None]``: saving a melding whose location
  lies outside every municipality served asks "bevestigen" / "doorzetten naar …" / back (Escape,
  None: nothing is stored). :class:`DoorgezetModal` then replaces the usual "opgeslagen" window for
  a melding passed on: the reference and the receiver, no service promise or deadline.

User text (addresses, descriptions) is rendered as ``rich.text.Text``, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

import msgspec
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from shared.deadlines import to_local
from shared.enums import Status
from shared.errors import ValidationError
from shared.gazetteer import Gazetteer
from shared.model import Adres, Melding, Punt
from shared.nearby import NEARBY_RADIUS_M, NearbyHit
from shared.projection import parse_iso
from shared.validation import MAX_SHORT_TEXT_LENGTH, clean_line
from wijkteam_tui.location.geocoders import AdresKeuze, with_gemeente
from wijkteam_tui.location.service import (
    OFFLINE_MESSAGE,
    SUGGEST_LIMIT,
    SUGGEST_MIN_LOCAL,
    SUGGEST_MIN_ONLINE,
    adres_key,
)
from wijkteam_tui.screens.dialogs import SavedModal
from wijkteam_tui.widgets import OneLineInput


def make_address_lookup(
    gazetteer: Gazetteer | None,
) -> Callable[[str, int, str | None, str | None], tuple[Adres, Punt | None] | None]:
    """The intake form's ``AddressLookup`` hook over a local gazetteer.

    Called as ``hook("7721EJ", 12, "A", None)``; returns ``(Adres, Punt)`` when exactly one address
    matches (letters/additions compare ignoring case and separators), else None (several matches —
    use :func:`address_choices` and :class:`AddressChoiceModal` — or none). Never raises.
    """

    def hook(postcode: str, huisnummer: int, huisletter: str | None, toevoeging: str | None):
        if gazetteer is None:
            return None
        typed = f"{huisnummer}{huisletter or ''}{'-' + toevoeging if toevoeging else ''}"
        try:
            result = gazetteer.lookup(postcode, typed)
        except ValueError:
            return None
        if result.status != "gevonden":
            return None
        a = result.matches[0]
        return a.adres, a.punt

    return hook


class AddressChoiceModal(ModalScreen[AdresKeuze | None]):
    """Choose one of several addresses (e.g. 12 A and 12 B when 12 was typed).

    It opens because of a look-up, not because the user asked: keys typed ahead before it opened
    were meant for the next field, so they are dropped (``DISCARDS_TYPEAHEAD``, ``wijkteam_tui.keygate``).
    """

    DISCARDS_TYPEAHEAD = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Geen van deze", id="adreskeuze.cancel"),
    ]

    DEFAULT_CSS = """
    AddressChoiceModal { align: center middle; }
    AddressChoiceModal > Vertical { width: 70; height: auto; max-height: 80%; border: thick $accent; padding: 1 2; background: $surface; }
    AddressChoiceModal OptionList { height: auto; max-height: 16; }
    """

    def __init__(self, keuzes: Sequence[AdresKeuze], message: str = "") -> None:
        super().__init__()
        self.keuzes = list(keuzes)
        self.message = message or "Kies het juiste adres."

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.message), id="adreskeuze-message")
            yield OptionList(
                *(Option(Text(k.label), id=str(i)) for i, k in enumerate(self.keuzes)), id="adreskeuze-list"
            )
            yield Static(Text("↑↓ kiezen · Enter overnemen · Esc geen van deze"), classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.keuzes[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)


def _nearby_line(hit: NearbyHit) -> Text:
    """One hit on one line: reference, distance, date, status, address, the description's start."""
    row = hit.row
    registered = row.get("registered_at")
    when = registered if isinstance(registered, datetime) else parse_iso(registered)
    date = to_local(when).strftime("%d-%m-%Y") if when else "?"
    where = " ".join(str(p) for p in (row.get("straat") or "", row.get("huisnummer") or "") if p) or (
        row.get("locatie_omschrijving") or ""
    )
    try:
        status = Status(row.get("status")).label
    except ValueError:
        status = str(row.get("status") or "")
    text = Text()
    text.append(f"{row.get('reference', '?')}", style="bold")
    text.append(f"  {hit.afstand_m:.0f} m  {date}  {status}  ")
    text.append(str(where))
    omschrijving = " ".join((row.get("omschrijving") or "").split())
    if omschrijving:
        text.append(f" — {omschrijving}", style="dim")
    return text


class NearbyPanel(Static):
    """Possible duplicates of the melding being typed, shown *in* the form (issue 14: a window
    that opens while the user types takes keys meant for the form).

    Nothing is chosen until the user presses the key shown (F4 in the intake): each press selects
    the next hit, and after the last one none again. The intake then saves the caller as a second
    melder on the selected melding instead of registering a new one.
    """

    DEFAULT_CSS = """
    NearbyPanel { display: none; height: auto; max-height: 6; border-left: thick $warning; padding: 0 1; margin: 0 1; }
    NearbyPanel.-shown { display: block; }
    """

    #: Hits shown at most (the closest; the panel must not push the form off an 80×24 screen).
    MAX_SHOWN = 3

    def __init__(self, *, key: str = "F4", id: str | None = None) -> None:
        super().__init__(id=id)
        self.key = key
        self.hits: list[NearbyHit] = []
        self.selected: int | None = None

    def show_hits(self, hits: Sequence[NearbyHit]) -> None:
        """Show ``hits`` (closest first), nothing selected; an empty list hides the panel."""
        self.hits = list(hits)[: self.MAX_SHOWN]
        self.selected = None
        self._draw()

    def cycle(self) -> str | None:
        """Select the next hit (none after the last); returns the selected reference or None."""
        if not self.hits:
            return None
        self.selected = 0 if self.selected is None else self.selected + 1
        if self.selected >= len(self.hits):
            self.selected = None
        self._draw()
        return self.reference

    @property
    def reference(self) -> str | None:
        """The selected hit's reference, or None."""
        return self.hits[self.selected].reference if self.selected is not None else None

    @property
    def melding_id(self) -> str | None:
        """The selected hit's melding id, or None."""
        return self.hits[self.selected].row.get("melding_id") if self.selected is not None else None

    def _draw(self) -> None:
        if not self.hits:
            self.update("")
            self.remove_class("-shown")
            return
        n = len(self.hits)
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.selected is None:
            text.append(
                f"Mogelijk al gemeld ({n}, ≤ {NEARBY_RADIUS_M:.0f} m, zelfde categorie) · "
                f"{self.key}: beller als melder toevoegen",
                style="bold",
            )
        else:
            then = "volgende" if self.selected + 1 < n else "toch nieuwe melding"
            text.append(f"Opslaan: beller wordt melder van {self.reference} · {self.key}: {then}", style="bold")
        for i, hit in enumerate(self.hits):
            text.append("\n" + ("▶ " if i == self.selected else "  "))
            text.append_text(_nearby_line(hit))
        self.update(text)
        self.add_class("-shown")


# --- free-text address search --------------------------------------------------------------------

#: Hint under the search field when nothing matched.
GEEN_ADRES_MESSAGE = "Geen adres gevonden: vul postcode en huisnummer in, of straat en woonplaats."


class Suggesties(msgspec.Struct, frozen=True):
    """What the search worker found for ``tekst``: the addresses to offer (local first), whether the
    online part is still coming (``klaar`` False) and whether it could not be asked (``offline``)."""

    tekst: str
    keuzes: tuple[AdresKeuze, ...] = ()
    klaar: bool = True
    offline: bool = False


class AdresZoeker(Vertical):
    """Free-text address search: type ``kerkstr 12 dalfsen``, ↑/↓ move, Enter takes the address.

    ``location`` is a ``wijkteam_tui.location.LocationLookup``. Each change of the text starts an
    exclusive thread worker: the local gazetteer's hits are shown as soon as they are known (they
    work offline), then, when the laptop is online and room is left, PDOK ``suggest`` answers not
    already shown are added. Answers for text that has changed meanwhile are dropped, so typing is
    never held up and never shows stale hits. Offline, or when PDOK fails, the list keeps the local
    hits and a Dutch hint says only local addresses were searched (never a traceback).

    Enter picks the highlighted suggestion (posting :class:`Chosen`; the form fills postcode,
    huisnummer, straat, woonplaats and the point, and the field empties). Enter before the answer
    for the typed text is in waits for it: one hit is taken, several open the list. Enter on an
    empty field moves on to Postcode.
    """

    DEFAULT_CSS = """
    AdresZoeker { height: auto; }
    AdresZoeker .field-row { height: auto; }
    AdresZoeker OptionList { height: auto; max-height: 8; display: none; border: none; padding: 0 0 0 11; }
    AdresZoeker.-open OptionList { display: block; }
    AdresZoeker #adres-zoek-hint { color: $text-warning; display: none; padding-left: 11; height: auto; width: 1fr; }
    AdresZoeker #adres-zoek-hint.-shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Volgend adres", show=False),
        Binding("up", "move(-1)", "Vorig adres", show=False),
    ]

    class Found(Message, bubble=False):
        """The search worker's answer (posted from its thread: ``post_message`` is thread-safe and,
        unlike ``call_from_thread``, never waits on an app that is shutting down)."""

        def __init__(self, suggesties: Suggesties) -> None:
            super().__init__()
            self.suggesties = suggesties

    class Passed(Message):
        """Enter with nothing to take (an empty field, no hit): the form moves the cursor on."""

        def __init__(self, zoeker: AdresZoeker) -> None:
            super().__init__()
            self.zoeker = zoeker

    class Chosen(Message):
        """An address was taken from the suggestions."""

        def __init__(self, zoeker: AdresZoeker, keuze: AdresKeuze) -> None:
            super().__init__()
            self.zoeker = zoeker
            self.keuze = keuze

    def __init__(
        self,
        location: Any,
        *,
        id: str | None = None,
        input_id: str = "adres_zoek",
        label: str = "Adres",
        placeholder: str = "zoek: kerkstr 12 dalfsen (Enter neemt het eerste, ↓ kiest)",
    ) -> None:
        """``input_id``, ``label``, ``placeholder``: the search field's id, its label (``""``: none,
        when the caller labels it) and hint; the intake uses a second one for a letter's sender."""
        super().__init__(id=id)
        self.input_id = input_id
        self.label = label
        self.placeholder = placeholder
        self.location = location
        #: The answer on show (None: nothing asked yet for the current text).
        self.suggesties: Suggesties | None = None
        self._pending = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            if self.label:
                yield Label(self.label, classes="field-label")
            yield OneLineInput(placeholder=self.placeholder, id=self.input_id, compact=True)
        options = OptionList(id="adres-suggesties")
        options.can_focus = False  # driven from the input (↑/↓/Enter); Tab goes on to Postcode
        yield options
        yield Label("", id="adres-zoek-hint")

    @property
    def input(self) -> Input:
        """The search text field (``#adres_zoek`` unless another ``input_id`` was given)."""
        return self.query_one(f"#{self.input_id}", Input)

    @property
    def _enter_pending(self) -> bool:
        """An Enter waits for the answer for the typed text; keys typed after it are held meanwhile
        (``wijkteam_tui.keygate``), so they land where the chosen address sends the cursor."""
        return self._pending

    @_enter_pending.setter
    def _enter_pending(self, pending: bool) -> None:
        self._pending = pending
        gate = getattr(self.app, "keygate", None)
        if gate is not None:
            gate.busy(f"adres-zoek-{id(self)}", pending)

    # The form's own Input handlers validate fields by id; this one is not a melding field.
    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        if event.input.id != self.input_id:
            return
        event.stop()
        self.remove_class("-open")

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input.id != self.input_id:
            return
        event.stop()
        text = event.value.strip()
        self._enter_pending = False
        if len(text) < SUGGEST_MIN_LOCAL:
            self.suggesties = None
            self._show(Suggesties(text))
            return
        self.suggesties = None
        self._search(text)

    @work(thread=True, exclusive=True, group="adres-zoek")
    def _search(self, text: str) -> None:
        """Local hits first (posted at once), then PDOK ``suggest`` when online (may block)."""
        worker = get_current_worker()
        local = self.location.suggest_local(text, limit=SUGGEST_LIMIT)
        room = SUGGEST_LIMIT - len(local)
        wants_online = room > 0 and len(text) >= SUGGEST_MIN_ONLINE
        self.post_message(self.Found(Suggesties(text, tuple(local), klaar=not wants_online)))
        if not wants_online or worker.is_cancelled:
            return
        extra, offline = self.location.suggest_online(text, limit=room, exclude=local)
        if worker.is_cancelled:
            return
        both = with_gemeente([msgspec.structs.replace(k, label=k.adres.oneline() or k.label) for k in local + extra])
        self.post_message(self.Found(Suggesties(text, tuple(both), offline=offline)))

    def on_adres_zoeker_found(self, event: Found) -> None:
        """Show the worker's answer (if it is still for the text in the field)."""
        self._show(event.suggesties)

    def _show(self, s: Suggesties) -> None:
        if s.tekst != self.input.value.strip():
            return  # typed on meanwhile: a newer answer is coming
        before = self.suggesties
        self.suggesties = s
        options = self.query_one(OptionList)
        # The online part only adds below the local hits: keep the address the user moved to (by
        # address, not by position, so it is the same house whatever arrived meanwhile).
        kept = None
        if before is not None and before.tekst == s.tekst and options.highlighted is not None:
            was = adres_key(before.keuzes[options.highlighted].adres) if options.highlighted < len(before.keuzes) else None
            kept = next((i for i, k in enumerate(s.keuzes) if adres_key(k.adres) == was), None)
        options.clear_options()
        options.add_options([Option(self._line(k), id=str(i)) for i, k in enumerate(s.keuzes)])
        # Nothing is highlighted until the user moves with ↓/↑: Enter then takes the first, and the
        # hint says which one (issue 14: "↓ Enter" took 12 B while the hint promised the first).
        options.highlighted = kept
        self.set_class(bool(s.keuzes) and self.input.has_focus, "-open")
        self._show_hint()
        if self._enter_pending and s.klaar:
            self._enter_pending = False
            if len(s.keuzes) == 1:
                self.choose(s.keuzes[0])
            elif not s.keuzes and s.tekst:
                self.post_message(self.Passed(self))

    @staticmethod
    def _line(k: AdresKeuze) -> Text:
        text = Text(k.label)
        if k.bron != "lokaal":
            text.append(f"  ({k.bron.upper() if k.bron == 'pdok' else k.bron})", style="dim")
        return text

    @property
    def enter_takes(self) -> AdresKeuze | None:
        """The address Enter takes now: the highlighted suggestion, else the first; None without any."""
        s = self.suggesties
        if s is None or not s.keuzes:
            return None
        highlighted = self.query_one(OptionList).highlighted
        return s.keuzes[highlighted] if highlighted is not None and highlighted < len(s.keuzes) else s.keuzes[0]

    def _show_hint(self) -> None:
        s = self.suggesties
        self._hint(self._hint_text(s, self.enter_takes) if s is not None else "")

    @staticmethod
    def _hint_text(s: Suggesties, takes: AdresKeuze | None = None) -> str:
        if len(s.tekst) < SUGGEST_MIN_LOCAL:
            return ""
        if s.keuzes:
            what = f"Enter neemt: {takes.label}" if takes is not None else ""
            return " · ".join(p for p in (what, OFFLINE_MESSAGE if s.offline else "") if p)
        if not s.klaar:
            return ""
        return f"{GEEN_ADRES_MESSAGE[:-1]} ({OFFLINE_MESSAGE})." if s.offline else GEEN_ADRES_MESSAGE

    def _hint(self, message: str) -> None:
        hint = self.query_one("#adres-zoek-hint", Label)
        hint.update(Text(message))
        hint.set_class(bool(message), "-shown")

    def on_descendant_focus(self) -> None:
        """Back in the field: show the suggestions it still has."""
        if self.suggesties is not None and self.suggesties.keuzes:
            self.add_class("-open")

    def action_move(self, delta: int) -> None:
        """Move the highlight ``delta`` suggestions down (negative: up)."""
        options = self.query_one(OptionList)
        if not options.option_count:
            return
        self.add_class("-open")
        if options.highlighted is None:
            options.highlighted = 0  # the first ↓ (or ↑) goes to the first suggestion, not past it
        else:
            options.highlighted = max(0, min(options.option_count - 1, options.highlighted + delta))
        self._show_hint()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id != self.input_id:
            return
        event.stop()
        text = event.value.strip()
        if not text:
            self.post_message(self.Passed(self))
            return
        s = self.suggesties
        if s is None or s.tekst != text:
            self._enter_pending = True  # the answer for this text is still being looked up
            return
        if s.keuzes:
            takes = self.enter_takes
            assert takes is not None
            self.choose(takes)
        elif s.klaar:
            self.post_message(self.Passed(self))
        else:
            self._enter_pending = True

    @on(OptionList.OptionSelected, "#adres-suggesties")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.suggesties is not None:
            self.choose(self.suggesties.keuzes[int(event.option.id or 0)])

    def on_unmount(self) -> None:
        self._enter_pending = False  # never leave the key gate waiting on a field that is gone

    def choose(self, keuze: AdresKeuze) -> None:
        """Take ``keuze``: post :class:`Chosen` and empty the search field."""
        self.post_message(self.Chosen(self, keuze))
        self.reset()

    def reset(self) -> None:
        """Empty the field, the list and the hint (the form's Ctrl+L, after a choice)."""
        self._enter_pending = False
        self.suggesties = None
        with self.prevent(Input.Changed):
            self.input.value = ""
        self.query_one(OptionList).clear_options()
        self.remove_class("-open")
        self._hint("")


# --- outside the municipality --------------------------------------------------------------------


class BuitenKeuze(msgspec.Struct, frozen=True):
    """What the user chose for a location outside the municipality: ``bevestigen`` (register it
    here anyway) or ``doorzetten`` (register it and pass it on to ``naar`` at once, status
    doorgezet)."""

    actie: Literal["bevestigen", "doorzetten"]
    naar: str = ""


class BuitenGemeenteModal(ModalScreen[BuitenKeuze | None]):
    """Saving a melding located outside every municipality served (``shared.wijken``: ``buiten``).

    Enter on *Bevestigen* registers it as it is; *Doorzetten naar …* asks to whom (prefilled with
    ``naar``, e.g. "gemeente Zwolle") and registers it as doorgezet to them; Escape goes back to the
    form and stores nothing. Issue 7: "buiten de gemeente: bevestigen of doorzetten".
    """

    #: Opens on saving, as a question nobody typed ahead for (``wijkteam_tui.keygate``).
    DISCARDS_TYPEAHEAD = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Terug naar het formulier", id="buiten.back"),
    ]

    DEFAULT_CSS = """
    BuitenGemeenteModal { align: center middle; }
    BuitenGemeenteModal > Vertical { width: 76; max-width: 95%; height: auto; max-height: 90%; border: thick $warning; padding: 1 2; background: $surface; }
    BuitenGemeenteModal #buiten-title { text-style: bold; }
    BuitenGemeenteModal OptionList { height: auto; margin: 1 0; }
    BuitenGemeenteModal #buiten-naar-rij { height: auto; display: none; }
    BuitenGemeenteModal.-doorzetten #buiten-naar-rij { display: block; }
    BuitenGemeenteModal #buiten-naar-rij Label { width: 16; }
    BuitenGemeenteModal #buiten-naar { width: 1fr; }
    BuitenGemeenteModal #buiten-fout { color: $text-error; height: auto; }
    """

    def __init__(self, message: str, waar: str = "", naar: str = "") -> None:
        """``message``: the wijk decision's Dutch text; ``waar``: the location as one line;
        ``naar``: a suggestion for whom to pass it on to."""
        super().__init__()
        self.message = message
        self.waar = waar
        self.naar = naar

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Buiten de gemeente"), id="buiten-title")
            yield Label(Text(self.message), id="buiten-message")
            if self.waar:
                yield Label(Text(self.waar), id="buiten-waar")
            yield OptionList(
                Option(Text("Bevestigen: toch hier registreren"), id="bevestigen"),
                Option(Text("Doorzetten naar …: registreren en meteen doorzetten"), id="doorzetten"),
                id="buiten-keuze",
            )
            with Horizontal(id="buiten-naar-rij"):
                yield Label("Doorzetten naar")
                yield Input(self.naar, placeholder="bijv. gemeente Zwolle", id="buiten-naar", compact=True)
            yield Label("", id="buiten-fout")
            yield Static(Text("↑↓ kiezen · Enter · Esc terug naar het formulier (niets opgeslagen)"), classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected, "#buiten-keuze")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == "bevestigen":
            self.dismiss(BuitenKeuze("bevestigen"))
            return
        self.add_class("-doorzetten")
        self.query_one("#buiten-naar", Input).focus()

    @on(Input.Submitted, "#buiten-naar")
    def _naar(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            naar = clean_line(event.value, "naar", max_length=MAX_SHORT_TEXT_LENGTH)
        except ValidationError as exc:
            self.query_one("#buiten-fout", Label).update(Text(exc.message))
            return
        if not naar:
            self.query_one("#buiten-fout", Label).update(Text("Vul in naar wie de melding gaat."))
            return
        self.dismiss(BuitenKeuze("doorzetten", naar))

    def action_back(self) -> None:
        """Escape: back to the form, nothing stored."""
        self.dismiss(None)


class DoorgezetModal(SavedModal):
    """After registering a melding and passing it on at once: the reference to tell the caller and
    to whom it went. Unlike :class:`SavedModal` no service promise or deadline: this municipality
    does not handle it. Enter or Escape closes (result: the melding)."""

    def __init__(self, melding: Melding, naar: str) -> None:
        super().__init__(melding)
        self.naar = naar

    def compose(self) -> ComposeResult:
        """The same frame as :class:`SavedModal`, with the receiver instead of the deadline."""
        body = Text()
        body.append("Melding opgeslagen en doorgezet\n\n", style="bold")
        body.append("Referentie voor de melder:  ")
        body.append(self.melding.reference, style="bold reverse")
        body.append("\n\n")
        body.append(f"Doorgezet naar {self.naar}: de locatie ligt buiten de gemeente. ")
        body.append("Zij handelen de melding verder af.\n")
        body.append("\nEnter: volgende melding")
        with Vertical(classes="dialog"):
            yield Static(body, id="saved-body")
