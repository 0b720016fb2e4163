"""The help screen: every key of every screen, read from the screens' own BINDINGS."""

from __future__ import annotations

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

    def compose(self) -> ComposeResult:
        from wijkteam_tui.app import WijkteamApp
        from wijkteam_tui.screens.detail import DetailScreen
        from wijkteam_tui.screens.edit import EditScreen
        from wijkteam_tui.screens.intake import IntakeScreen
        from wijkteam_tui.screens.meldingen import MeldingenScreen
        from wijkteam_tui.screens.refused import RefusedScreen

        t = Table(title="Toetsen", expand=True, show_edge=False)
        t.add_column("Scherm", no_wrap=True)
        t.add_column("Toets", no_wrap=True)
        t.add_column("Wat")
        for name, cls in (
            ("Overal", WijkteamApp),
            ("Lijst", MeldingenScreen),
            ("Nieuwe melding", IntakeScreen),
            ("Melding", DetailScreen),
            ("Bewerken", EditScreen),
            ("Geweigerd", RefusedScreen),
        ):
            for b in cls.BINDINGS:
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
