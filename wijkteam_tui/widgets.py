"""Widgets shared by the screens: the melding form (intake and edit), its pickers, the status bar.

The form validates every field with the rules in ``shared.validation`` (never its own copies),
shows each Dutch message under its field, and re-validates everything in :meth:`MeldingForm.values`.
User text is only ever shown through ``rich.text.Text`` or ``markup=False``: never as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar

import msgspec
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from shared.deadlines import local_date, parse_dutch_date, utcnow
from shared.enums import Kanaal, MeldingType, Prioriteit, VierB
from shared.errors import ValidationError
from shared.events import MeldingFields
from shared.gazetteer import parse_adres_line
from shared.geo import format_punt, parse_point
from shared.model import Adres, Melder, Melding, Punt
from shared.taxonomy import Categorie, load_taxonomy
from shared.validation import (
    MAX_SHORT_TEXT_LENGTH,
    clean_line,
    clean_text,
    format_phone,
    format_postcode,
    normalise_email,
    normalise_phone,
    normalise_postcode,
    parse_huisnummer,
)
from shared.wijken import WijkBepaling, WijkConfig, load_wijken
from wijkteam_tui.threads import to_ui

#: (postcode "7721AB", huisnummer, huisletter, toevoeging) → the BAG address (and point) or None.
#: The location engineer's offline gazetteer plugs in here (``make_app(address_lookup=…)``).
AddressLookup = Callable[
    [str, int, str | None, str | None], "Adres | tuple[Adres, Punt | None] | None"
]


class OneLineInput(Input):
    """A one-line text field that never silently drops pasted text (issue 14 §2).

    Textual keeps only the first line of a multi-line paste. Here the lines are joined with one
    space (empty lines dropped) and a message says so; a text that ends up too long for the field
    is then refused by the field's own check (``shared.validation``), never cut without a word.
    """

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # Input's own handler (first line only) must not run as well
        lines = [line.strip() for line in event.text.splitlines()]
        lines = [line for line in lines if line]
        if lines:
            text = " ".join(lines)
            if self.selection.is_empty:
                self.insert_text_at_cursor(text)
            else:
                self.replace(text, *self.selection)
            if len(lines) > 1:
                self.app.notify(
                    f"Geplakte tekst van {len(lines)} regels is op één regel gezet.", timeout=4
                )
        event.stop()


class FormInvalid(Exception):
    """One or more fields of the form are invalid; ``errors`` maps field id → Dutch message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


class FieldError(Label):
    """The Dutch message under a field; hidden while the field is valid."""

    DEFAULT_CSS = """
    FieldError { color: $text-error; display: none; padding-left: 11; height: auto; width: 1fr; }
    FieldError.-shown { display: block; }
    """

    def show(self, message: str | None) -> None:
        self.update(Text(message or ""))
        self.set_class(bool(message), "-shown")


class FieldInfo(Label):
    """A Dutch hint under a field that is not an error (the wijk found, "geen adres binnen 100 m")."""

    DEFAULT_CSS = """
    FieldInfo { color: $text-warning; display: none; padding-left: 11; height: auto; width: 1fr; }
    FieldInfo.-ok { color: $text-success; }
    FieldInfo.-shown { display: block; }
    """

    def show(self, message: str | None, *, ok: bool = False) -> None:
        self.update(Text(message or ""))
        self.set_class(bool(message), "-shown")
        self.set_class(ok, "-ok")


class VierBPicker(Widget, can_focus=True):
    """The four B's, chosen with keys 1–4 (or ←/→); choosing moves on to the next field."""

    DEFAULT_CSS = """
    VierBPicker { height: auto; width: 1fr; }
    VierBPicker:focus { background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "choose(0)", "Betrouwbaarheid", show=False),
        Binding("2", "choose(1)", "Betrokkenheid", show=False),
        Binding("3", "choose(2)", "Bereikbaarheid", show=False),
        Binding("4", "choose(3)", "Brede blik", show=False),
        Binding("left", "step(-1)", show=False),
        Binding("right", "step(1)", show=False),
        Binding("delete,backspace", "clear", show=False),
    ]
    value: reactive[VierB | None] = reactive(None)

    class Changed(Message):
        """The chosen B changed."""

        def __init__(self, picker: VierBPicker, value: VierB | None) -> None:
            super().__init__()
            self.picker = picker
            self.value = value

    def render(self) -> Text:
        out = Text()
        for i, b in enumerate(VierB):
            style = "bold reverse" if b == self.value else ""
            out.append(f"{i + 1} {b.label}", style=style)
            out.append("  ")
        return out

    def action_choose(self, index: int) -> None:
        self.value = list(VierB)[index]
        self.post_message(self.Changed(self, self.value))
        self.screen.focus_next()  # the description comes next

    def action_step(self, delta: int) -> None:
        options = list(VierB)
        i = options.index(self.value) if self.value else (-1 if delta > 0 else 0)
        self.value = options[(i + delta) % len(options)]
        self.post_message(self.Changed(self, self.value))

    def action_clear(self) -> None:
        self.value = None
        self.post_message(self.Changed(self, None))


class CategoriePicker(Vertical):
    """Type-to-filter over the taxonomy (``Taxonomy.search``); ↑/↓ move, Enter picks."""

    DEFAULT_CSS = """
    CategoriePicker { height: auto; }
    CategoriePicker OptionList { height: 5; display: none; border: none; padding: 0 0 0 12; }
    CategoriePicker.-open OptionList { display: block; }
    CategoriePicker #categorie-gekozen { color: $text-success; width: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Volgende categorie", show=False),
        Binding("up", "move(-1)", "Vorige categorie", show=False),
    ]
    code: reactive[str | None] = reactive(None)

    class Picked(Message):
        """A categorie was chosen (``code`` None when cleared)."""

        def __init__(self, picker: CategoriePicker, code: str | None) -> None:
            super().__init__()
            self.picker = picker
            self.code = code

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label("Categorie", classes="field-label")
            yield OneLineInput(
                placeholder="typ om te zoeken, bijv. lamp",
                id="categorie",
                compact=True,
                classes="short",
            )
            yield Label("", id="categorie-gekozen")
        matches = OptionList(id="categorie-lijst")
        matches.can_focus = (
            False  # driven from the filter input (↑/↓/Enter); Tab goes on to Vier B
        )
        yield matches

    def on_mount(self) -> None:
        self._matches: list[Categorie] = []
        self._browsed = False  # the highlight was moved with the arrow keys since the last typing
        self._fill("")

    def _fill(self, text: str) -> None:
        self._matches = load_taxonomy().search(text)
        ol = self.query_one(OptionList)
        ol.clear_options()
        ol.add_options(
            [
                Option(Text(f"{c.label}  ({c.servicenorm} wd)"), id=c.code)
                for c in self._matches
            ]
        )
        if self._matches:
            ol.highlighted = 0

    @on(Input.Changed, "#categorie")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._browsed = False
        self._fill(event.value)
        self.add_class("-open")

    @on(Input.Submitted, "#categorie")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        ol = self.query_one(OptionList)
        if not event.value.strip() and not self._browsed:
            # Enter on an empty field (e.g. one Enter too many) is no choice: the first category
            # would set a wrong servicenorm and deadline. Type a word or pick with the arrow keys.
            self.add_class("-open")
            return
        if ol.highlighted is not None and self._matches:
            self.set_code(self._matches[ol.highlighted].code)
            self.remove_class("-open")
            self.screen.focus_next()

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.set_code(event.option.id)
        self.remove_class("-open")

    def on_descendant_focus(self) -> None:
        self.add_class("-open")

    def on_descendant_blur(self) -> None:
        field = self.query_one("#categorie", Input)
        if not field.has_focus:
            self.remove_class("-open")
            # Tab past a filter with a single match: that is the one meant.
            if self.code is None and field.value.strip() and len(self._matches) == 1:
                self.set_code(self._matches[0].code)

    def action_move(self, delta: int) -> None:
        ol = self.query_one(OptionList)
        if not self._matches:
            return
        self.add_class("-open")
        self._browsed = True
        current = ol.highlighted or 0
        ol.highlighted = max(0, min(len(self._matches) - 1, current + delta))

    def set_code(self, code: str | None) -> None:
        self.code = code
        label = self.query_one("#categorie-gekozen", Label)
        if code and code in load_taxonomy():
            cat = load_taxonomy().get(code)
            label.update(Text(f"✓ {cat.label} · {cat.servicenorm} werkdagen"))
        else:
            label.update("")
        self.post_message(self.Picked(self, code))


class WijkPicker(Select[str]):
    """The wijk of a melding, picked from the configuration (``shared.wijken``); value = wijk code.

    Blank means "from the location": :meth:`MeldingForm.values` then stores the wijk the location
    decides, if any. :meth:`auto` fills in the wijk the location decides, but never overrides a
    wijk the user picked by hand (Enter opens the list, typing searches it, Enter takes one). A
    stored value that is not a configured code (older data) is kept as an extra option, so editing
    never drops it silently.
    """

    def __init__(self, wijken: WijkConfig, *, id: str | None = "wijk") -> None:
        self._wijken = wijken
        self._auto: str | None = None
        super().__init__(
            self._wijk_options(), prompt="(uit adres of punt)", allow_blank=True, compact=True, id=id
        )

    def _wijk_options(self, extra: str | None = None) -> list[tuple[str, str]]:
        several = len(self._wijken.gemeenten) > 1
        options = [
            (f"{w.naam} ({g.naam})" if several else w.naam, w.code)
            for g in self._wijken.gemeenten
            for w in g.wijk
        ]
        if extra and extra not in {code for _label, code in options}:
            options.append((f"{extra} (niet in de indeling)", extra))
        return options

    @property
    def code(self) -> str | None:
        """The picked wijk code, or None (blank: from the location)."""
        return None if self.is_blank() else str(self.value)

    @property
    def by_hand(self) -> bool:
        """True when the shown wijk was picked by the user, not filled in from the location."""
        return self.code is not None and self.code != self._auto

    def set_code(self, code: str | None, *, auto: bool = False) -> None:
        """Show ``code`` (None: blank). ``auto``: it came from the location (a later location may
        replace it); otherwise it counts as picked by hand."""
        if code and code not in {c for _label, c in self._wijk_options()} and code != self.code:
            self.set_options(self._wijk_options(extra=code))
        self._auto = code if auto else None
        if code:
            self.value = code
        else:
            self.clear()

    def auto(self, code: str | None) -> None:
        """The location decides ``code`` (None: no wijk): shown unless the user picked one by hand."""
        if not self.by_hand:
            self.set_code(code, auto=True)


class KeyChoice(Widget, can_focus=True):
    """One of a few values, chosen with one key: the key shown before each option (issue 14: the
    kanaal and the type with one key each). ←/→ step through the options; Enter keeps the one
    shown. Choosing (a key or Enter) posts :class:`Chosen`, on which the form moves the cursor on;
    ←/→ post only :class:`Changed`.

    Args:
        options: ``(key, value, label)`` per option, e.g. ``("r", "brief", "Brief")``; keys are single
            characters, never ``n`` (that is "new melding" everywhere).
        value: the value shown at first.
    """

    DEFAULT_CSS = """
    KeyChoice { height: auto; width: 1fr; }
    KeyChoice:focus { background: $boost; }
    """
    value: reactive[str] = reactive("")

    class Changed(Message):
        """The value changed (by a key, ←/→ or the program)."""

        def __init__(self, choice: KeyChoice, value: str) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> KeyChoice:
            return self.choice

    class Chosen(Changed):
        """The user chose (a key or Enter): move on."""

    def __init__(self, options: list[tuple[str, str, str]], value: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        assert all(len(k) == 1 and k != "n" for k, _v, _l in options)
        self.options = options
        self.set_reactive(KeyChoice.value, value)

    def render(self) -> Text:
        out = Text()
        for i, (key, value, label) in enumerate(self.options):
            chosen = value == self.value
            if i:
                out.append(" ")
            out.append(key, style="bold underline" + (" reverse" if chosen else ""))
            out.append(f" {label}", style="reverse" if chosen else "")
        return out

    def watch_value(self, value: str) -> None:
        self.post_message(self.Changed(self, value))

    def on_key(self, event: events.Key) -> None:
        char = event.character or ""
        for key, value, _label in self.options:
            if char == key:
                event.stop()
                event.prevent_default()
                self.value = value
                self.post_message(self.Chosen(self, value))
                return
        if event.key in ("left", "right"):
            event.stop()
            values = [v for _k, v, _l in self.options]
            i = values.index(self.value) if self.value in values else 0
            self.value = values[(i + (1 if event.key == "right" else -1)) % len(values)]
        elif event.key == "enter":
            event.stop()
            self.post_message(self.Chosen(self, self.value))


class StandaardTeksten(Widget, can_focus=True):
    """The municipality's standard texts for this moment (``shared.gemeente``: per soort, status and
    categorie), numbered 1–9: a digit puts text *i* in the field it belongs to, to be edited or saved
    as it is (issue 14). Enter or Tab goes on without one.

    Args:
        texts: ``(titel, tekst, field id)`` in the order offered (at most nine are shown).
        typing_to: the id of the field any other typed character goes to (with the character).
    """

    DEFAULT_CSS = """
    StandaardTeksten { height: auto; width: 1fr; color: $text-muted; }
    StandaardTeksten:focus { background: $boost; color: $text; }
    """

    class Chosen(Message):
        """Text ``index`` was chosen."""

        def __init__(self, teksten: StandaardTeksten, index: int) -> None:
            super().__init__()
            self.teksten = teksten
            self.index = index

    def __init__(self, texts: list[tuple[str, str, str]], *, typing_to: str | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = texts[:9]
        #: The id of the field a typed character (not a text's digit) goes to: the user started
        #: typing their own text, and no key is lost (issue 14 §2).
        self.typing_to = typing_to

    def set_texts(self, texts: list[tuple[str, str, str]]) -> None:
        """Offer other texts (after the status changed)."""
        self.texts = texts[:9]
        self.display = bool(self.texts)
        self.refresh(layout=True)

    def render(self) -> Text:
        # Laid out here, entry by entry: a narrow dialog goes to the next line between texts,
        # never inside a title ("4 Ter / plaatse bekeken").
        width = max(self.size.width, 20)
        out = Text()
        used = 0
        for i, (titel, _tekst, field) in enumerate(self.texts, start=1):
            entry = Text.assemble((str(i), "bold underline"), f" {titel}")
            if field == "notitie":
                entry.append(" (intern)", style="dim")
            if used and used + 2 + entry.cell_len > width:
                out.append("\n")
                used = 0
            elif used:
                out.append("  ")
                used += 2
            out.append_text(entry)
            used += entry.cell_len
        return out

    def on_key(self, event: events.Key) -> None:
        char = event.character or ""
        if char.isdigit() and 1 <= int(char) <= len(self.texts):
            event.stop()
            event.prevent_default()
            self.post_message(self.Chosen(self, int(char) - 1))
        elif self.typing_to and event.is_printable and char:
            # Typing instead of choosing: the character starts the user's own text in its field.
            try:
                field = self.screen.query_one(f"#{self.typing_to}")
            except NoMatches:
                return
            event.stop()
            event.prevent_default()
            field.focus()
            if isinstance(field, TextArea):
                field.insert(char)
            elif isinstance(field, Input):
                field.insert_text_at_cursor(char)


def _choice(enum: type[StrEnum], keys: str, default: StrEnum, widget_id: str) -> KeyChoice:
    """A :class:`KeyChoice` over a domain enum: ``keys[i]`` chooses the i-th member (its Dutch label)."""
    return KeyChoice([(k, m.value, m.label) for k, m in zip(keys, enum, strict=True)], default.value, id=widget_id)


#: One key per kanaal, type and prioriteit (``n`` is never one: it means "new melding" everywhere).
KANAAL_KEYS = "tbrewmk"  # telefoon balie bRief e-mail website mondeling kcc
TYPE_KEYS = "vmk"  # vraag melding klacht
PRIORITEIT_KEYS = "1234"  # laag normaal hoog spoed


def _field(label: str, widget: Widget, field_id: str, *, info: bool = False) -> Vertical:
    parts: list[Widget] = [
        Horizontal(Label(label, classes="field-label"), widget, classes="field-row"),
        FieldError(id=f"err-{field_id}"),
    ]
    if info:
        parts.append(FieldInfo(id=f"info-{field_id}"))
    return Vertical(*parts, classes="field")


#: Where Enter in an input goes next: the fast path of a phone call (see docs/intake.md).
ENTER_NEXT = {
    "ontvangen": "naam",
    "naam": "telefoon",
    "telefoon": "postcode",
    "email": "postcode",
    "postcode": "huisnummer",
    "huisnummer": "categorie",
    "straat": "huisnummer",
    "woonplaats": "categorie",
    "wijk": "categorie",
    "locatie_omschrijving": "categorie",
    "punt": "categorie",
}

_SHORT_TEXT = ("naam", "straat", "woonplaats", "wijk", "locatie_omschrijving")


class MeldingForm(Vertical):
    """The fields of a melding in the order of a phone call.

    :meth:`values` re-validates every field and returns :class:`MeldingFields`, or raises
    :class:`FormInvalid` after showing each message beside its field. :meth:`load` fills the form
    from a melding (for editing); :meth:`clear` empties it for the next call.
    """

    DEFAULT_CSS = """
    MeldingForm { height: auto; }
    MeldingForm .field { height: auto; width: 1fr; }
    MeldingForm .field-row { height: auto; }
    MeldingForm .field-label { width: 11; color: $text-muted; }
    MeldingForm Input { width: 1fr; }
    MeldingForm Select { width: 1fr; }
    MeldingForm .pair { height: auto; }
    MeldingForm TextArea#omschrijving { height: 4; border: none; }
    MeldingForm .section { color: $accent; text-style: bold; height: 1; }
    MeldingForm #brief-velden { display: none; }
    MeldingForm.-brief #brief-velden { display: block; }
    """

    class PuntKnown(Message):
        """The melding's point became known or changed (from the address look-up or typed)."""

        def __init__(self, form: MeldingForm, punt: Punt) -> None:
            super().__init__()
            self.form = form
            self.punt = punt

    def __init__(
        self,
        *,
        address_lookup: AddressLookup | None = None,
        location: Any = None,
        wijken: WijkConfig | None = None,
        id: str | None = None,
    ) -> None:
        """``location``: a ``wijkteam_tui.location.LocationLookup`` (gazetteer, PDOK, Nominatim); when
        given it answers postcode + huisnummer (with the 12 A / 12 B choice) and reverse look-ups,
        before ``address_lookup``. ``wijken``: the wijk configuration (default: the location's, else
        ``shared.wijken.load_wijken()``)."""
        super().__init__(id=id)
        self.address_lookup = address_lookup
        self.location = location
        self._wijken = wijken
        self._punt: Punt | None = None
        self._postadres: Adres | None = None  # a letter's sender, picked in the Postadres search
        self._lookup_key: tuple | None = None
        self._typed_punt: Punt | None = None
        self._reverse_for: Punt | None = None
        self.wijk_bepaling: WijkBepaling | None = None

    @property
    def wijken(self) -> WijkConfig:
        """The wijk configuration in force (``shared.wijken``)."""
        if self._wijken is None:
            self._wijken = getattr(self.location, "wijken", None) or load_wijken()
        return self._wijken

    def compose(self) -> ComposeResult:
        yield _field("Kanaal", _choice(Kanaal, KANAAL_KEYS, Kanaal.TELEFOON, "kanaal"), "kanaal")
        yield _field("Type", _choice(MeldingType, TYPE_KEYS, MeldingType.MELDING, "type"), "type")
        # A letter (kanaal brief): when it came, and where the answer goes (shown only for a letter).
        with Horizontal(classes="pair brief", id="brief-velden"):
            yield _field(
                "Ontvangen", OneLineInput(placeholder="vandaag (of dd-mm-jjjj)", id="ontvangen", compact=True), "ontvangen"
            )
            if self.location is not None:
                from wijkteam_tui.location.widgets import AdresZoeker

                yield _field(
                    "Postadres",
                    AdresZoeker(self.location, id="postadres-zoeker", input_id="postadres", label="",
                                placeholder="afzender: 7721 ej 12 of kerkstr 12"),
                    "postadres", info=True,
                )  # fmt: skip
            else:
                yield _field(
                    "Postadres",
                    OneLineInput(placeholder="afzender: Kerkstraat 12, 7721 EJ Dalfsen", id="postadres", compact=True),
                    "postadres", info=True,
                )  # fmt: skip
        with Horizontal(classes="pair"):
            yield _field(
                "Naam",
                OneLineInput(placeholder="naam melder", id="naam", compact=True),
                "naam",
            )
            yield _field(
                "Telefoon",
                OneLineInput(placeholder="06-12345678", id="telefoon", compact=True),
                "telefoon",
            )
        with Horizontal(classes="pair"):
            yield _field(
                "E-mail",
                OneLineInput(placeholder="naam@voorbeeld.nl", id="email", compact=True),
                "email",
            )
            yield _field("", Checkbox("Anoniem", id="anoniem", compact=True), "anoniem")
        if self.location is not None:
            from wijkteam_tui.location.widgets import AdresZoeker

            yield AdresZoeker(self.location, id="adres-zoeker")
        with Horizontal(classes="pair"):
            yield _field(
                "Postcode",
                OneLineInput(placeholder="7721 AB", id="postcode", compact=True),
                "postcode",
            )
            yield _field(
                "Huisnummer",
                OneLineInput(placeholder="12a", id="huisnummer", compact=True),
                "huisnummer",
                info=True,
            )
        with Horizontal(classes="pair"):
            yield _field("Straat", OneLineInput(id="straat", compact=True), "straat")
            yield _field(
                "Woonplaats", OneLineInput(id="woonplaats", compact=True), "woonplaats"
            )
        with Horizontal(classes="pair"):
            yield _field(
                "Plek",
                OneLineInput(
                    placeholder="bijv. bij de speeltuin",
                    id="locatie_omschrijving",
                    compact=True,
                ),
                "locatie_omschrijving",
            )
            yield _field("Wijk", WijkPicker(self.wijken, id="wijk"), "wijk", info=True)
        yield _field(
            "Punt",
            OneLineInput(
                placeholder="breedte, lengte (52.50676, 6.25822) of RD x y (214074 502564)",
                id="punt",
                compact=True,
            ),
            "punt",
            info=True,
        )
        yield FieldError(id="err-locatie")
        yield CategoriePicker(id="categorie-picker")
        yield FieldError(id="err-categorie")
        yield _field("Vier B", VierBPicker(id="vier_b"), "vier_b")
        yield Label("Omschrijving (Ctrl+S slaat op)", classes="section")
        yield TextArea(
            id="omschrijving", soft_wrap=True, tab_behavior="focus", compact=True
        )
        yield FieldError(id="err-omschrijving")
        yield _field("Prioriteit", _choice(Prioriteit, PRIORITEIT_KEYS, Prioriteit.NORMAAL, "prioriteit"), "prioriteit")

    # -- field access -------------------------------------------------------------------------

    def _input(self, field_id: str) -> Input:
        return self.query_one(f"#{field_id}", Input)

    def text(self, field_id: str) -> str:
        """The raw text of an input (or the description area)."""
        if field_id == "omschrijving":
            return self.query_one("#omschrijving", TextArea).text
        return self._input(field_id).value

    def show_error(self, field_id: str, message: str | None) -> None:
        """Put ``message`` under ``field_id`` (None hides it)."""
        target = {
            "melder": "naam",
            "adres": "locatie",
            "servicenorm": "categorie",
            "deadline": "categorie",
        }.get(field_id, field_id)
        try:
            self.query_one(f"#err-{target}", FieldError).show(message)
        except (
            NoMatches
        ):  # a field without its own message line: show it under the description
            self.query_one("#err-omschrijving", FieldError).show(message)

    def _check(self, field_id: str) -> Any:
        """Validate one field; returns its normalised value or raises ValidationError."""
        if field_id == "wijk":
            return self.query_one(WijkPicker).code
        if field_id in _SHORT_TEXT:
            return clean_line(
                self.text(field_id), field_id, max_length=MAX_SHORT_TEXT_LENGTH
            )
        raw = self.text(field_id).strip()
        if field_id == "telefoon":
            return normalise_phone(raw) if raw else None
        if field_id == "email":
            return normalise_email(raw) if raw else None
        if field_id == "postcode":
            return normalise_postcode(raw) if raw else None
        if field_id == "huisnummer":
            return parse_huisnummer(raw) if raw else None
        if field_id == "punt":
            return parse_point(raw) if raw else None
        if field_id == "ontvangen":
            return self._ontvangen(raw)
        if field_id == "postadres":
            if self.location is not None:
                return self._postadres
            return parse_adres_line(raw) if raw else None
        if field_id == "omschrijving":
            text = clean_text(self.text("omschrijving"), "omschrijving")
            if not text:
                raise ValidationError(
                    "omschrijving", "Beschrijf kort waar het om gaat."
                )
            return text
        raise KeyError(field_id)

    def _ontvangen(self, raw: str) -> date:
        """A letter's date of receipt as typed (empty: today), never after today."""
        today = local_date(self.app.now() if hasattr(self.app, "now") else utcnow())
        received = parse_dutch_date(raw, "ontvangen") if raw else today
        if received > today:
            raise ValidationError("ontvangen", "De datum van ontvangst ligt in de toekomst.")
        return received

    def validate_field(self, field_id: str) -> str | None:
        """Validate one field and show (or clear) its message; returns the message or None."""
        try:
            self._check(field_id)
        except ValidationError as exc:
            self.show_error(field_id, exc.message)
            return exc.message
        self.show_error(field_id, None)
        return None

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        fid = event.input.id
        if fid and fid != "categorie" and event.input.value.strip():
            self.validate_field(fid)
        if fid in ("postcode", "huisnummer"):
            self.try_lookup()
        if fid == "punt":
            self.take_punt()
        if fid in ("postcode", "woonplaats", "wijk"):
            self.update_wijk()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        fid = event.input.id
        # Clear a message as soon as the field is right again; never nag while still typing.
        if (
            fid
            and fid != "categorie"
            and self.query_one(f"#err-{fid}", FieldError).has_class("-shown")
        ):
            self.validate_field(fid)
        if fid in ("postcode", "huisnummer") and self._lookup_key is not None:
            # The looked-up point belongs to the old address; keep it only if the key is unchanged.
            try:
                key = (self._check("postcode"), self._check("huisnummer"))
            except ValidationError:
                key = None
            if key != self._lookup_key:
                self._punt = None
                self._lookup_key = None
        if fid == "punt" and not event.value.strip() and self._typed_punt is not None:
            self._typed_punt = None
            self._reverse_for = None
            self._info("punt", None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        fid = event.input.id
        if fid == "postadres" and self.location is None:
            event.stop()
            self.validate_field("postadres")
            self._after_postadres()
            return
        if fid not in ENTER_NEXT:
            return
        event.stop()
        if event.value.strip():
            self.validate_field(fid)
        target = ENTER_NEXT[fid]
        if fid == "naam" and self.is_brief:
            target = "postadres"  # a letter: the sender's address, not a phone number
        if fid == "ontvangen":
            self.validate_field("ontvangen")
        if fid == "huisnummer":
            self.try_lookup()
            if not self.text("postcode").strip() and not self.text("straat").strip():
                target = "straat"
        if fid == "punt":
            self.take_punt()
        self.query_one(f"#{target}").focus()

    @on(TextArea.Changed, "#omschrijving")
    def _desc_changed(self) -> None:
        if self.query_one("#err-omschrijving", FieldError).has_class("-shown"):
            self.validate_field("omschrijving")

    @on(VierBPicker.Changed)
    def _b_changed(self, event: VierBPicker.Changed) -> None:
        if event.value:
            self.show_error("vier_b", None)

    @on(CategoriePicker.Picked)
    def _cat_picked(self, event: CategoriePicker.Picked) -> None:
        if event.code:
            self.show_error("categorie", None)

    @on(Checkbox.Changed, "#anoniem")
    def _anon_changed(self) -> None:
        self.show_error("anoniem", None)

    def _info(self, field_id: str, message: str | None, *, ok: bool = False) -> None:
        self.query_one(f"#info-{field_id}", FieldInfo).show(message, ok=ok)

    def current_punt(self) -> Punt | None:
        """The melding's point: the typed one when valid, else the looked-up address's (WGS84)."""
        return self._typed_punt or self._punt

    def _set_punt(self, punt: Punt | None) -> None:
        self._punt = punt
        if punt is not None and self._typed_punt is None:
            self.post_message(self.PuntKnown(self, punt))

    def try_lookup(self) -> bool:
        """Fill straat/woonplaats from postcode + huisnummer.

        With a ``location`` service: the local gazetteer answers at once (microseconds, UI thread);
        several matches (12 A and 12 B) open :class:`AddressChoiceModal`; no local answer while
        online asks PDOK/Nominatim in a thread worker. Else the ``address_lookup`` hook. Only empty
        fields are filled by an automatic match, so nothing typed is overwritten. Returns True when
        filled now.
        """
        if self.address_lookup is None and self.location is None:
            return False
        try:
            postcode = self._check("postcode")
            nummer = self._check("huisnummer")
        except ValidationError:
            return False
        if not postcode or not nummer:
            return False
        key = (postcode, nummer)
        if key == self._lookup_key:
            return False
        self._lookup_key = key
        if self.location is not None:
            self._info("huisnummer", None)
            return self._lookup_location(postcode, nummer)
        try:
            found = self.address_lookup(postcode, *nummer)
        except Exception:  # noqa: BLE001 - a failing look-up never blocks the intake: type the street
            return False
        if not found:
            return False
        adres, punt = found if isinstance(found, tuple) else (found, None)
        for fid, value in (("straat", adres.straat), ("woonplaats", adres.woonplaats)):
            if value and not self._input(fid).value.strip():
                self._input(fid).value = value
        self._set_punt(punt)
        self.update_wijk()
        return True

    def _lookup_location(self, postcode: str, nummer: tuple) -> bool:
        from wijkteam_tui.location.geocoders import AdresKeuze
        from wijkteam_tui.location.widgets import AddressChoiceModal

        typed = f"{nummer[0]}{nummer[1] or ''}{'-' + nummer[2] if nummer[2] else ''}"
        gazetteer = getattr(self.location, "gazetteer", None)
        message = ""
        if gazetteer is not None:
            try:
                local = gazetteer.lookup(postcode, typed)
            except ValidationError:
                return False
            keuzes = [AdresKeuze(a.adres, a.punt, a.label(), "lokaal") for a in local.matches]
            if local.status == "gevonden":
                self.apply_keuze(keuzes[0], chosen=False)
                return True
            if local.status == "kies":
                self.app.push_screen(
                    AddressChoiceModal(keuzes, local.message),
                    lambda keuze: keuze is not None and self.apply_keuze(keuze, chosen=True),
                )
                return False
            message = local.message
        if self.location.online:
            self._lookup_online(postcode, typed, (postcode, nummer))
        elif message:
            self._info("huisnummer", message)
        return False

    @work(thread=True, exclusive=True, group="adres")
    def _lookup_online(self, postcode: str, typed: str, key: tuple) -> None:
        """PDOK / Nominatim for a postcode the local gazetteer does not know (may block: thread)."""
        try:
            result = self.location.lookup_postcode(postcode, typed)
        except Exception:  # noqa: BLE001 - a failing look-up never blocks the intake: type the street
            return
        to_ui(self, self._online_done, key, result)

    def _online_done(self, key: tuple, result: Any) -> None:
        from wijkteam_tui.location.widgets import AddressChoiceModal

        if key != self._lookup_key:
            return  # the user typed another address meanwhile
        if result.status == "gevonden":
            self.apply_keuze(result.keuzes[0], chosen=False)
        elif result.status == "kies" and self._still_at_address():
            self.app.push_screen(
                AddressChoiceModal(result.keuzes, result.message),
                lambda keuze: keuze is not None and self.apply_keuze(keuze, chosen=True),
            )
        elif result.status == "kies":
            # The user has moved on: a window now would take keys meant for another field. Say it
            # beside the number instead; typing the letter there settles it.
            self._info("huisnummer", result.message)
        elif result.message:
            self._info("huisnummer", result.message)

    def _still_at_address(self) -> bool:
        """The cursor is still in postcode or huisnummer and no typed-ahead key is waiting."""
        focused = self.app.focused
        gate = getattr(self.app, "keygate", None)
        return getattr(focused, "id", None) in ("postcode", "huisnummer") and (gate is None or gate.idle)

    def on_adres_zoeker_chosen(self, event: Any) -> None:
        """An address taken from the free-text search (``AdresZoeker``): fill every address field,
        then go on along the fast path (Categorie; Huisnummer when the address has none). From the
        letter's *Postadres* search: that is the sender's address (:meth:`_after_postadres`)."""
        event.stop()
        if event.zoeker.id == "postadres-zoeker":
            self.set_postadres(event.keuze.adres)
            self._after_postadres()
            return
        self.apply_keuze(event.keuze, chosen=True)
        self._input("huisnummer" if event.keuze.adres.huisnummer is None else "categorie").focus()

    def on_adres_zoeker_passed(self, event: Any) -> None:
        """Enter in an address search with nothing to take: on along the fast path."""
        event.stop()
        if event.zoeker.id == "postadres-zoeker":
            self._after_postadres()
        else:
            self._input("postcode").focus()

    # -- kanaal, type, a letter --------------------------------------------------------------------

    @property
    def is_brief(self) -> bool:
        """The contact is a letter (kanaal brief): its date of receipt and sender's address apply."""
        return self.query_one("#kanaal", KeyChoice).value == Kanaal.BRIEF.value

    @on(KeyChoice.Changed, "#kanaal")
    def _kanaal_changed(self, event: KeyChoice.Changed) -> None:
        self.set_class(event.value == Kanaal.BRIEF.value, "-brief")

    @on(KeyChoice.Chosen, "#kanaal")
    def _kanaal_chosen(self) -> None:
        self.query_one("#type").focus()  # one key for the kanaal, one for the type

    @on(KeyChoice.Chosen, "#type")
    def _type_chosen(self) -> None:
        """After the type, the first field that fits the kanaal: a letter's date of receipt, the
        place where a resident stopped you (mondeling), else the caller's name."""
        kanaal = self.query_one("#kanaal", KeyChoice).value
        target = {Kanaal.BRIEF.value: "ontvangen", Kanaal.MONDELING.value: "locatie_omschrijving"}.get(kanaal, "naam")
        self.query_one(f"#{target}").focus()

    def set_postadres(self, adres: Adres | None) -> None:
        """The letter's sender address (from the search, or None to clear), shown under the field."""
        self._postadres = adres
        self._info("postadres", f"✓ {adres.oneline()}" if adres else None, ok=True)
        self.show_error("postadres", None)

    def _after_postadres(self) -> None:
        """From the sender's address on: the location for a report of a problem, else the categorie
        (a complaint or question by letter needs no location)."""
        mtype = self.query_one("#type", KeyChoice).value
        self.query_one("#postcode" if mtype == MeldingType.MELDING.value else "#categorie").focus()

    def apply_keuze(self, keuze: Any, *, chosen: bool) -> None:
        """Fill the address fields from an ``AdresKeuze``. ``chosen`` (picked in the modal): every
        address field is set; otherwise only empty straat/woonplaats are filled."""
        adres: Adres = keuze.adres
        self._info("huisnummer", None)
        if chosen:
            values = {
                "postcode": format_postcode(adres.postcode) if adres.postcode else "",
                "huisnummer": adres.huisnummer_text(),
                "straat": adres.straat,
                "woonplaats": adres.woonplaats,
            }
            for fid, value in values.items():
                self._input(fid).value = value
                self.show_error(fid, None)
            try:
                self._lookup_key = (self._check("postcode"), self._check("huisnummer"))
            except ValidationError:
                self._lookup_key = None
        else:
            for fid, value in (("straat", adres.straat), ("woonplaats", adres.woonplaats)):
                if value and not self._input(fid).value.strip():
                    self._input(fid).value = value
        self._set_punt(keuze.punt)
        self.update_wijk()

    # -- point, reverse look-up, wijk ---------------------------------------------------------

    def take_punt(self) -> None:
        """Read the typed point (``shared.geo.parse_point``: lat,lon or RD x y); a valid new one is
        announced (:class:`PuntKnown`) and looked up in reverse in a thread worker."""
        try:
            punt = self._check("punt")
        except ValidationError as exc:
            self.show_error("punt", exc.message)
            self._typed_punt = None
            return
        self.show_error("punt", None)
        if punt is None or punt == self._typed_punt:
            return
        self._typed_punt = punt
        self.post_message(self.PuntKnown(self, punt))
        self.update_wijk()
        if self.location is not None:
            self._info("punt", f"{format_punt(punt)}: adres zoeken…")
            self._reverse_for = punt
            self._reverse(punt)
        else:
            self._info("punt", format_punt(punt), ok=True)

    @work(thread=True, exclusive=True, group="reverse")
    def _reverse(self, punt: Punt) -> None:
        """Reverse look-up of a typed point (gazetteer, then online): may block, so a thread."""
        try:
            result = self.location.reverse(punt.lat, punt.lon)
        except Exception:  # noqa: BLE001 - the point stays; only the address is not found
            result = None
        to_ui(self, self._reverse_done, punt, result)

    def _reverse_done(self, punt: Punt, result: Any) -> None:
        from wijkteam_tui.location.service import NO_ADDRESS_MESSAGE

        if punt != self._reverse_for or punt != self._typed_punt:
            return  # another point was typed meanwhile
        if result is None or result.adres is None:
            self._info("punt", result.message if result is not None else NO_ADDRESS_MESSAGE)
        else:
            k = result.adres
            a = k.adres
            for fid, value in (
                ("straat", a.straat),
                ("woonplaats", a.woonplaats),
                ("postcode", format_postcode(a.postcode) if a.postcode else ""),
                ("huisnummer", a.huisnummer_text()),
            ):
                if value and not self._input(fid).value.strip():
                    self._input(fid).value = value
            try:
                self._lookup_key = (self._check("postcode"), self._check("huisnummer"))
            except ValidationError:
                self._lookup_key = None
            afstand = f" ({k.afstand_m:.0f} m)" if k.afstand_m is not None else ""
            self._info("punt", f"Dichtstbijzijnde adres: {k.label}{afstand}", ok=True)
        self.update_wijk()

    def _adres_from_fields(self) -> Adres | None:
        try:
            postcode = self._check("postcode")
            woonplaats = self._check("woonplaats")
        except ValidationError:
            return None
        if not (postcode or woonplaats):
            return None
        return Adres(postcode=postcode, woonplaats=woonplaats)

    def update_wijk(self) -> WijkBepaling | None:
        """Decide the wijk (``shared.wijken``) from the address and point; fill it into the wijk
        picker (unless one was picked by hand) and show the outcome beside it.

        A location outside every municipality served shows "… buiten de gemeente: bevestigen of
        doorzetten"; saving then asks to confirm or pass it on (``IntakeScreen``).
        """
        adres = self._adres_from_fields()
        punt = self.current_punt()
        picker = self.query_one(WijkPicker)
        if adres is None and punt is None:
            self.wijk_bepaling = None
            picker.auto(None)
            self._info("wijk", None)
            return None
        b = self.wijken.resolve(adres, punt)
        self.wijk_bepaling = b
        picker.auto(b.wijk if b.status == "wijk" else None)
        self._show_wijk_info()
        return b

    def _show_wijk_info(self) -> None:
        b = self.wijk_bepaling
        if b is None:
            self._info("wijk", None)
            return
        if self.query_one(WijkPicker).by_hand:
            # Saving asks nothing then (the wijk picked places it inside), so no call to confirm.
            note = "Met de hand gekozen; volgens de wijkindeling ligt de locatie buiten de gemeente."
            self._info("wijk", note if b.status == "buiten" else None)
        elif b.status == "wijk":
            # A made-up sample configuration is labelled as such (docs/location.md).
            sample = "; voorbeeldindeling" if self.wijken.sample else ""
            self._info("wijk", f"{b.wijk_naam} ({b.gemeente}{sample})", ok=True)
        else:
            self._info("wijk", b.message or None)

    @on(Select.Changed, "#wijk")
    def _wijk_changed(self) -> None:
        self._show_wijk_info()

    # -- whole form ---------------------------------------------------------------------------

    def values(self, *, for_melder: bool = False) -> MeldingFields:
        """Re-validate every field and return the melding's fields.

        ``for_melder``: the caller is added as a melder to a melding already registered (issue 14):
        only what was typed is checked; the location, categorie, B and description are the
        original's, so none of them is required (the description, if any, is what they said).

        Raises:
            FormInvalid: with every field's Dutch message (also shown beside the fields).
        """
        errors: dict[str, str] = {}
        vals: dict[str, Any] = {}
        if for_melder:
            vals["omschrijving"] = ""
        for fid in (
            "naam",
            "telefoon",
            "email",
            "postcode",
            "huisnummer",
            "straat",
            "woonplaats",
            "wijk",
            "locatie_omschrijving",
            "punt",
            "omschrijving",
        ):
            if for_melder and fid == "omschrijving" and not self.text(fid).strip():
                self.show_error(fid, None)
                continue
            try:
                vals[fid] = self._check(fid)
                self.show_error(fid, None)
            except ValidationError as exc:
                errors[fid] = exc.message
                self.show_error(fid, exc.message)
        anoniem = self.query_one("#anoniem", Checkbox).value
        if anoniem and (
            self.text("naam").strip()
            or self.text("telefoon").strip()
            or self.text("email").strip()
            or (self.is_brief and (self.text("postadres").strip() or self._postadres))
        ):
            errors["anoniem"] = (
                "Anoniem: laat naam, telefoon en e-mail leeg (of zet 'Anoniem' uit)."
            )
        self.show_error("anoniem", errors.get("anoniem"))
        mtype = MeldingType(self.query_one("#type", KeyChoice).value)
        brief = self.is_brief
        for fid in ("ontvangen", "postadres") if brief else ():
            try:
                vals[fid] = self._check(fid)
                self.show_error(fid, None)
            except ValidationError as exc:
                errors[fid] = exc.message
                self.show_error(fid, exc.message)
        if vals.get("punt") is not None:
            self._typed_punt = vals["punt"]
        punt = self.current_punt() if "punt" not in errors else None
        has_location = (
            any(
                self.text(f).strip()
                for f in ("postcode", "straat", "locatie_omschrijving")
            )
            or punt
        )
        loc_error = None
        if self.text("huisnummer").strip() and not (
            self.text("postcode").strip() or self.text("straat").strip()
        ):
            loc_error = "Bij een huisnummer hoort een postcode of een straat."
        elif mtype == MeldingType.MELDING and not has_location and not for_melder:
            loc_error = "Geef een locatie: postcode en huisnummer, straat en woonplaats, of een plek (bijv. bij de speeltuin)."
        if loc_error:
            errors["locatie"] = loc_error
        self.show_error("locatie", loc_error)
        code = self.query_one(CategoriePicker).code
        cat_error = (
            None if code or for_melder else "Kies een categorie: typ een woord en druk op Enter."
        )
        if cat_error:
            errors["categorie"] = cat_error
        self.show_error("categorie", cat_error)
        vier_b = self.query_one(VierBPicker).value
        b_error = None if vier_b or for_melder else "Kies een van de vier B's met de toetsen 1–4."
        if b_error:
            errors["vier_b"] = b_error
        self.show_error("vier_b", b_error)
        if errors:
            raise FormInvalid(errors)

        postadres = vals.get("postadres") if brief else None
        if anoniem:
            melder: Melder | None = Melder(anoniem=True)
        elif vals["naam"] or vals["telefoon"] or vals["email"] or postadres:
            melder = Melder(
                naam=vals["naam"], telefoon=vals["telefoon"], email=vals["email"], postadres=postadres
            )
        else:
            melder = None
        nummer = vals["huisnummer"]
        adres = None
        if vals["postcode"] or vals["straat"]:
            adres = Adres(
                straat=vals["straat"],
                huisnummer=nummer[0] if nummer else None,
                huisletter=nummer[1] if nummer else None,
                huisnummertoevoeging=nummer[2] if nummer else None,
                postcode=vals["postcode"],
                woonplaats=vals["woonplaats"],
            )
        # The wijk is configuration (shared.wijken, docs/location.md); one picked by hand wins. An
        # automatic one is decided again here: the address may have changed without leaving its field.
        wijk = vals["wijk"] if self.query_one(WijkPicker).by_hand else None
        if not wijk:
            b = self.wijken.resolve(adres, punt)
            wijk = b.wijk if b.status == "wijk" else None
        return MeldingFields(
            type=mtype,
            kanaal=Kanaal(self.query_one("#kanaal", KeyChoice).value),
            melder=melder,
            adres=adres,
            punt=punt,
            locatie_omschrijving=vals["locatie_omschrijving"],
            wijk=wijk,
            categorie=code,
            vier_b=vier_b,
            omschrijving=vals["omschrijving"],
            prioriteit=Prioriteit(self.query_one("#prioriteit", KeyChoice).value),
            ontvangen_op=vals.get("ontvangen") if brief else None,
        )

    def first_error_widget(self, errors: dict[str, str]) -> Widget | None:
        """The input of the first invalid field in form order (to put the cursor there)."""
        order = [
            "naam",
            "telefoon",
            "email",
            "anoniem",
            "postcode",
            "huisnummer",
            "straat",
            "woonplaats",
            "locatie_omschrijving",
            "wijk",
            "punt",
            "locatie",
            "categorie",
            "vier_b",
            "omschrijving",
        ]
        for fid in order:
            if fid in errors:
                target = {"locatie": "postcode"}.get(fid, fid)
                return self.query_one(f"#{target}")
        return None

    def typed_summary(self) -> str | None:
        """What was typed so far, in a few words (``"Jan Jansen, 4 velden"``), or None when nothing
        was typed or chosen: used to ask before a half-typed melding is thrown away (Ctrl+Q)."""
        filled = [inp for inp in self.query(Input) if inp.value.strip()]
        count = len(filled)
        if self.text("omschrijving").strip():
            count += 1
        if self.query_one(CategoriePicker).code:
            count += 1
        if self.query_one(VierBPicker).value:
            count += 1
        if not count:
            return None
        naam = self.text("naam").strip()
        velden = f"{count} veld" if count == 1 else f"{count} velden"
        return f"{naam[:40]}, {velden}" if naam else velden

    def clear(self) -> None:
        """Empty the form for the next call (defaults: telefoon, melding, normaal)."""
        for inp in self.query(Input):
            inp.value = ""
        self.query_one("#omschrijving", TextArea).text = ""
        self.query_one("#anoniem", Checkbox).value = False
        self.query_one("#kanaal", KeyChoice).value = Kanaal.TELEFOON.value
        self.query_one("#type", KeyChoice).value = MeldingType.MELDING.value
        self.query_one("#prioriteit", KeyChoice).value = Prioriteit.NORMAAL.value
        self._postadres = None
        self.query_one(VierBPicker).value = None
        self.query_one(CategoriePicker).set_code(None)
        self.query_one(WijkPicker).set_code(None)
        for zoeker in self.query("AdresZoeker"):
            zoeker.reset()
        self._punt = None
        self._lookup_key = None
        self._typed_punt = None
        self._reverse_for = None
        self.wijk_bepaling = None
        for err in self.query(FieldError):
            err.show(None)
        for info in self.query(FieldInfo):
            info.show(None)

    def load(self, m: Melding) -> None:
        """Fill the form with a melding's current values (for editing)."""
        self.query_one("#kanaal", KeyChoice).value = m.kanaal.value
        self.query_one("#type", KeyChoice).value = m.type.value
        self.query_one("#prioriteit", KeyChoice).value = m.prioriteit.value
        melder = m.melder or Melder()
        self._input("ontvangen").value = m.ontvangen_op.strftime("%d-%m-%Y") if m.ontvangen_op else ""
        self.set_postadres(melder.postadres)
        if self.location is None and melder.postadres:
            self._input("postadres").value = melder.postadres.oneline()
        self._input("naam").value = melder.naam
        self._input("telefoon").value = (
            format_phone(melder.telefoon) if melder.telefoon else ""
        )
        self._input("email").value = melder.email or ""
        self.query_one("#anoniem", Checkbox).value = melder.anoniem
        a = m.adres or Adres()
        self._input("postcode").value = (
            format_postcode(a.postcode) if a.postcode else ""
        )
        self._input("huisnummer").value = a.huisnummer_text()
        self._input("straat").value = a.straat
        self._input("woonplaats").value = a.woonplaats
        self._input("locatie_omschrijving").value = m.locatie_omschrijving
        # A stored wijk the location also decides stays "automatic": a changed address moves it.
        decided = self.wijken.resolve(m.adres, m.punt) if (m.adres or m.punt) else None
        self.query_one(WijkPicker).set_code(
            m.wijk, auto=decided is not None and decided.wijk == m.wijk
        )
        self._lookup_key = (
            a.postcode,
            (a.huisnummer, a.huisletter, a.huisnummertoevoeging),
        )
        self._punt = m.punt
        self.query_one(CategoriePicker).set_code(m.categorie)
        self.query_one(VierBPicker).value = m.vier_b
        self.query_one("#omschrijving", TextArea).text = m.omschrijving


def changes_between(state: Melding, fields: MeldingFields) -> dict[str, Any]:
    """The fields of the form that differ from ``state`` (as builtins, for ``commands.edit``)."""
    out: dict[str, Any] = {}
    for name, value in fields.items().items():
        if name == "punt" and value is None and state.punt is not None:
            continue  # the form only knows a point from a look-up; keep the stored one
        if msgspec.to_builtins(getattr(state, name)) != msgspec.to_builtins(value):
            out[name] = msgspec.to_builtins(value)
    return out


class StatusBar(Static):
    """One line above the footer: sync state, events waiting, clock skew (text from the app)."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "sync_text", self._show, init=True)

    def _show(self, text: str) -> None:
        self.update(Text(text))
