"""F8 "Geweigerd": the changes the server refused (issue 11 §1, "Nothing refused is ever silent").

Lists every refused event that needs attention (waiting for the admin, or rejected and not yet
dismissed) with the melding, what was refused, the server's reason, the Dutch explanation and what
to do (``shared.trust.refusal_help``). ``g`` marks the rejected ones as seen; they leave the warning
but stay in the laptop's database. Text from the server is shown as plain text, never as markup.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from shared.hlc import stamp_datetime
from shared.protocol import VerdictState
from shared.trust import refusal_help
from shared.validation import strip_for_display
from wijkteam_tui.fmt import date_time

#: Dutch names of the event types, for "what was refused".
TYPE_LABELS = {
    "created": "nieuwe melding",
    "fields_changed": "wijziging",
    "status_changed": "statuswijziging",
    "note_added": "notitie",
    "callback_logged": "terugkoppeling",
    "deleted": "verwijdering",
    "restored": "terugzetting",
    "reporter_anonymised": "anonimisering",
}


def refused_table(rows: list[dict[str, Any]]) -> Table:
    """The refused events as a table (also used by tests): melding, what, when, state, why, what to do."""
    t = Table(expand=True, show_edge=False, show_lines=True)
    t.add_column("Melding", no_wrap=True)
    t.add_column("Wat", no_wrap=True)
    t.add_column("Tijdstip", no_wrap=True)
    t.add_column("Stand", no_wrap=True)
    t.add_column("Waarom en wat te doen")
    for r in rows:
        what, todo = refusal_help(r["code"])
        state = "afgewezen" if r["verdict"] == VerdictState.REJECTED else "wacht op beheerder"
        why = f"{what}\nServer: {strip_for_display(r['reason'])}\n{todo}"
        if r["verdict"] == VerdictState.REJECTED:
            why += "\nDe beheerder heeft dit afgewezen; het komt niet in het register. Voer het zo nodig opnieuw in."
            if r.get("verdict_note"):
                why += f" Toelichting: {strip_for_display(r['verdict_note'])}"
        melding = strip_for_display(r["reference"] or r["melding_id"][:13])
        if r["omschrijving"]:
            melding += "\n" + strip_for_display(r["omschrijving"])[:40]
        t.add_row(
            Text(melding), Text(TYPE_LABELS.get(r["type"], r["type"])), Text(date_time(stamp_datetime(r["hlc"]))),
            Text(state), Text(why),
        )  # fmt: skip
    return t


class RefusedScreen(ModalScreen[None]):
    """F8: refused changes with the reason in Dutch and what to do; ``g`` dismisses rejected ones."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f8,q", "close", "Sluiten", id="refused.close"),
        Binding("g", "dismiss_rejected", "Afgewezen gezien", id="refused.seen"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="refused-body"):
            yield Static(id="refused-intro")
            yield Static(id="refused-table")

    def on_mount(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """Read the refused events again from the app's store."""
        rows = self.app.store.refused_events()
        intro = self.query_one("#refused-intro", Static)
        table = self.query_one("#refused-table", Static)
        if not rows:
            intro.update(Text("Geweigerde wijzigingen: geen. Alles wat de server kreeg staat in het register."))
            table.update("")
            return
        intro.update(
            Text(
                f"Geweigerde wijzigingen: {len(rows)}. De server heeft ze niet in het register opgenomen; ze blijven "
                "op deze laptop bewaard tot de beheerder ze vrijgeeft of afwijst (wijkteam-server quarantine). "
                "Vrijgegeven wijzigingen komen vanzelf terug bij de volgende sync. Esc: terug; g: afgewezen gezien."
            )
        )
        table.update(refused_table(rows))

    def action_dismiss_rejected(self) -> None:
        rejected = [r["event_id"] for r in self.app.store.refused_events() if r["verdict"] == VerdictState.REJECTED]
        if rejected:
            self.app.store.dismiss_refused(rejected)
            self.app.update_sync_text()
        self.refresh_rows()

    def action_close(self) -> None:
        self.dismiss(None)
