"""The help screen: every key of every screen, read from the screens' own BINDINGS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from wijkteam_tui.fmt import key_label


def _key(b: Binding) -> str:
    return key_label(b)


class HelpScreen(ModalScreen[None]):
    """F1: the keys; Escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Sluiten", id="help.close")
    ]

    def __init__(self, sections: Sequence[tuple[str, Sequence[BindingType]]]) -> None:
        """``sections``: per screen its name as shown ("Lijst") and its BINDINGS, in the order shown;
        the app passes them (``WijkteamApp.help_sections``), so this screen imports no other screen."""
        super().__init__()
        self._sections = tuple(sections)

    def compose(self) -> ComposeResult:
        t = Table(title="Toetsen", expand=True, show_edge=False)
        t.add_column("Scherm", no_wrap=True)
        t.add_column("Toets", no_wrap=True)
        t.add_column("Wat")
        for name, bindings in self._sections:
            for b in bindings:
                if isinstance(b, Binding) and b.description:
                    t.add_row(Text(name), Text(_key(b)), Text(b.description))
        t.add_row(
            Text("Nieuwe melding"),
            Text("Enter"),
            Text("naar het volgende veld van het snelle pad"),
        )
        t.add_row(
            Text("Nieuwe melding"),
            Text("1–4"),
            Text("vier B kiezen (in het veld Vier B)"),
        )
        t.add_row(
            Text("Overal"), Text("Ctrl+P"), Text("opdrachtenpalet: elke actie op naam")
        )
        with VerticalScroll(classes="dialog"):
            yield Static(t)

    def action_close(self) -> None:
        self.dismiss(None)
