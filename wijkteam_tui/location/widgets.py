"""Widgets the intake mounts for location: choosing between addresses, and the nearby-duplicate prompt.

* :func:`make_address_lookup` adapts the local gazetteer to the intake form's ``AddressLookup`` hook
  (``wijkteam_tui.widgets``; synchronous, offline, microseconds per call, so safe in the UI thread).
* :class:`AddressChoiceModal` — ``ModalScreen[AdresKeuze | None]``: "12 bestaat als 12A en 12B": pick one
  with the arrow keys and Enter; Escape dismisses with None.
* :class:`NearbyModal` — ``ModalScreen[str | None]``: open meldingen of the same categorie within 50 m
  from the last 12 weeks (``shared.nearby``); Enter on one links the new melding as its duplicate
  (returns that reference), ``n``/Escape keeps the new melding as it is (None).

User text (addresses, descriptions) is rendered as ``rich.text.Text``, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from shared.deadlines import to_local
from shared.gazetteer import Gazetteer
from shared.model import Adres, Punt
from shared.nearby import NEARBY_RADIUS_M, NearbyHit
from shared.projection import parse_iso
from wijkteam_tui.location.geocoders import AdresKeuze


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
    """Choose one of several addresses (e.g. 12 A and 12 B when 12 was typed)."""

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
    row = hit.row
    registered = row.get("registered_at")
    when = registered if isinstance(registered, datetime) else parse_iso(registered)
    date = to_local(when).strftime("%d-%m-%Y") if when else "?"
    where = " ".join(str(p) for p in (row.get("straat") or "", row.get("huisnummer") or "") if p) or (
        row.get("locatie_omschrijving") or ""
    )
    text = Text()
    text.append(f"{row.get('reference', '?')}", style="bold")
    text.append(f"  {hit.afstand_m:.0f} m  {date}  {row.get('status', '')}  ")
    text.append(str(where))
    omschrijving = (row.get("omschrijving") or "").splitlines()[0:1]
    if omschrijving:
        text.append(f"\n    {omschrijving[0][:80]}")
    return text


class NearbyModal(ModalScreen[str | None]):
    """Possible duplicates of a new melding; dismisses with the reference to link, or None to keep it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "keep", "Toch nieuw", id="nearby.keep"),
        Binding("n", "keep", "Toch nieuw", id="nearby.keep_n", show=False),
    ]

    DEFAULT_CSS = """
    NearbyModal { align: center middle; }
    NearbyModal > Vertical { width: 90; height: auto; max-height: 85%; border: thick $warning; padding: 1 2; background: $surface; }
    NearbyModal OptionList { height: auto; max-height: 18; }
    """

    def __init__(self, hits: Sequence[NearbyHit]) -> None:
        super().__init__()
        self.hits = list(hits)

    def compose(self) -> ComposeResult:
        n = len(self.hits)
        title = (
            f"{n} open melding{'en' if n != 1 else ''} van dezelfde categorie binnen {NEARBY_RADIUS_M:.0f} m "
            "(laatste 12 weken). Is dit dezelfde?"
        )
        with Vertical():
            yield Label(Text(title), id="nearby-title")
            yield OptionList(*(Option(_nearby_line(h), id=str(i)) for i, h in enumerate(self.hits)), id="nearby-list")
            yield Static(Text("Enter: koppel als dubbele melding (wordt geannuleerd) · n/Esc: toch als nieuwe melding"),
                         classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.hits[int(event.option.id or 0)].reference)

    def action_keep(self) -> None:
        self.dismiss(None)
