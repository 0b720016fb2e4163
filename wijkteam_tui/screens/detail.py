"""The detail screen: current state, full history, notes, terugkoppelingen; status changes, notes,
call-backs and edits, each stored as an event through ``shared.commands``."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Label, Static

from shared import commands
from shared.deadlines import local_date
from shared.enums import Status
from shared.errors import ValidationError
from shared.fold import conflict_notes
from shared.model import Melder, Melding
from shared.status import allowed_next
from shared.validation import format_phone
from wijkteam_store.local import StoreError
from wijkteam_tui.fmt import (
    categorie_label,
    date_time,
    enum_label,
    long_date,
    wijk_label,
)
from wijkteam_tui.screens.base import WijkteamScreen
from wijkteam_tui.screens.dialogs import (
    CallbackModal,
    CallbackResult,
    NoteModal,
    StatusModal,
)
from wijkteam_tui.widgets import StatusBar


def melder_line(melder: Melder | None) -> str:
    """A melder as one line: ``"Jan Jansen · 06-12345678 · jan@example.nl"``, ``"anoniem"`` or
    ``"(geen gegevens)"``; a letter's sender with their postal address."""
    if melder is None:
        return "(geen gegevens)"
    if melder.anoniem:
        return "anoniem"
    parts = [
        melder.naam,
        format_phone(melder.telefoon) if melder.telefoon else "",
        melder.email or "",
        melder.postadres.oneline() if melder.postadres else "",
    ]
    return " · ".join(p for p in parts if p) or "(geen gegevens)"


class DetailScreen(WijkteamScreen):
    """One melding, by id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "status", "Status", id="detail.status"),
        Binding("o", "note", "Notitie", id="detail.note"),
        Binding("t", "callback", "Terugkoppeling", id="detail.callback"),
        Binding("e", "edit", "Bewerken", id="detail.edit"),
        Binding("escape", "back", "Terug", id="detail.back"),
    ]

    def __init__(self, melding_id: str) -> None:
        super().__init__()
        self.melding_id = melding_id
        self.melding: Melding | None = None

    def compose(self) -> ComposeResult:
        yield Label("", id="detail-title", classes="screen-title")
        yield Label("", id="detail-error", classes="store-error")
        with VerticalScroll(id="detail-scroll"):
            yield Static(id="detail-fields")
            yield Static(id="detail-notes")
            yield Static(id="detail-history")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#detail-scroll").focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if hasattr(self.app, "allows") and not self.app.allows(action):
            return False  # KCC mode is read-only
        return not (
            action == "status"
            and self.melding is not None
            and not allowed_next(self.melding.status)
        )

    def reload(self) -> None:
        """Read the melding again and render it."""
        self.melding = m = self.app.store.get(self.melding_id)
        if m is None:
            self.query_one("#detail-title", Label).update("Melding niet gevonden")
            return
        title = Text(f"{m.reference} · {m.status.label}")
        if m.deleted:
            title.append(" · VERWIJDERD", style="bold red")
        self.query_one("#detail-title", Label).update(title)
        self.query_one("#detail-fields", Static).update(self._fields(m))
        self.query_one("#detail-notes", Static).update(self._notes(m))
        self.query_one("#detail-history", Static).update(self._history(m))
        self.refresh_bindings()

    def _fields(self, m: Melding) -> Table:
        t = Table.grid(padding=(0, 2))
        t.add_column(style="dim", no_wrap=True)
        t.add_column()
        melder_text = melder_line(m.melder)
        if m.melders:
            melder_text += f"  (+{len(m.melders)} {'melder' if len(m.melders) == 1 else 'melders'}, zie Melders)"
        now = self.app.now()
        deadline = Text(long_date(m.deadline))
        if m.deadline and m.is_open and m.deadline < now:
            deadline.append("  (te laat)", style="bold red")
        rows = [
            (
                "Geregistreerd",
                f"{date_time(m.registered_at)} door {m.registered_by} ({m.device_id})",
            ),
            ("Type / kanaal", f"{m.type.label} · {m.kanaal.label}"
             + (f" · ontvangen {m.ontvangen_op.strftime('%d-%m-%Y')}" if m.ontvangen_op else "")),
            ("Melder", melder_text),
            ("Locatie", m.location_text()),
            ("Wijk", wijk_label(m.wijk)),
            ("Behandelaar", m.assignment_text()),
            ("Categorie", categorie_label(m.categorie)),
            ("Vier B", enum_label(type(m.vier_b), m.vier_b.value) if m.vier_b else ""),
            ("Prioriteit", m.prioriteit.label),
            ("Streefdatum", deadline),
            ("Omschrijving", m.omschrijving),
        ]
        if m.conflicts:
            rows.append(
                (
                    "Conflicten",
                    f"{len(m.conflicts)} gelijktijdige wijziging(en); de overschreven waarde staat in de historie",
                )
            )
        for k, v in rows:
            t.add_row(Text(k), v if isinstance(v, Text) else Text(v))
        return t

    def _notes(self, m: Melding) -> Group:
        parts: list = []
        if m.melders:
            parts.append(self._melders(m))
        duplicates = self._duplicates(m)
        if duplicates is not None:
            parts.append(duplicates)
        if m.notes:
            t = Table(
                title="Notities", title_justify="left", expand=True, show_edge=False
            )
            t.add_column("Tijd", no_wrap=True, width=16)
            t.add_column("Door", no_wrap=True)
            t.add_column("Notitie", ratio=1)
            for n in m.notes:
                t.add_row(
                    Text(date_time(n.at)),
                    Text(n.user),
                    Text(n.tekst + (" (melder)" if n.openbaar else "")),
                )
            parts.append(t)
        if m.terugkoppelingen:
            t = Table(
                title="Terugkoppelingen",
                title_justify="left",
                expand=True,
                show_edge=False,
            )
            t.add_column("Tijd", no_wrap=True, width=16)
            t.add_column("Via", no_wrap=True)
            t.add_column("Bereikt", no_wrap=True)
            t.add_column("Tekst", ratio=1)
            for c in m.terugkoppelingen:
                t.add_row(
                    Text(date_time(c.at)),
                    Text(c.kanaal.label),
                    Text("ja" if c.bereikt else "nee"),
                    Text(c.tekst),
                )
            parts.append(t)
        waiting, since = m.terugbellen()
        if waiting:
            who = "de melder" if waiting == 1 else f"{waiting} melders"
            parts.append(Text(f"Nog terugbellen: {who} (sinds {date_time(since)}).", style="yellow"))
        elif not m.terugkoppelingen and m.melder is not None and m.melder.reachable:
            parts.append(Text("Nog geen terugkoppeling aan de melder.", style="yellow"))
        return Group(*parts)

    def _melders(self, m: Melding) -> Table:
        """Everyone who reported it: the first melder and each later one (issue 14), with whether
        they were called back since the call-back became due."""
        _waiting, since = m.terugbellen()
        called = {c.melder for c in m.terugkoppelingen if since is None or c.at >= since}
        t = Table(title=f"Melders ({m.melder_count})", title_justify="left", expand=True, show_edge=False)
        t.add_column("#", no_wrap=True)
        t.add_column("Tijd", no_wrap=True, width=16)
        t.add_column("Via", no_wrap=True)
        t.add_column("Melder", ratio=1)
        t.add_column("Teruggebeld", no_wrap=True)

        def done(key: str | None, melder: Melder | None) -> Text:
            if melder is None or not melder.has_contact:
                return Text("n.v.t.", style="dim")
            return Text("ja") if key in called else Text("nog niet", style="yellow")

        t.add_row(Text("1"), Text(date_time(m.registered_at)), Text(m.kanaal.label), Text(melder_line(m.melder)),
                  done(None, m.melder))
        for i, x in enumerate(m.melders, start=2):
            who = melder_line(x.melder) + (f" — {x.omschrijving}" if x.omschrijving else "")
            t.add_row(Text(str(i)), Text(date_time(x.at)), Text(x.kanaal.label), Text(who), done(x.event_id, x.melder))
        return t

    def _duplicates(self, m: Melding) -> Table | None:
        """Meldingen registered on their own and later linked to this one as its duplicates."""
        rows = self.app.store.duplicates_of(m.reference)
        if not rows:
            return None
        t = Table(title=f"Dubbele meldingen ({len(rows)})", title_justify="left", expand=True, show_edge=False)
        t.add_column("Referentie", no_wrap=True)
        t.add_column("Geregistreerd", no_wrap=True, width=16)
        t.add_column("Status", no_wrap=True)
        for r in rows:
            t.add_row(Text(r["reference"]), Text(date_time(r["registered_at"])), Text(Status(r["status"]).label))
        return t

    def _history(self, m: Melding) -> Table:
        t = Table(
            title=f"Historie ({len(m.history)})",
            title_justify="left",
            expand=True,
            show_edge=False,
        )
        t.add_column("Tijd", no_wrap=True, width=16)
        t.add_column("Apparaat", no_wrap=True)
        t.add_column("Door", no_wrap=True)
        t.add_column("Gebeurtenis", ratio=1)
        lost = conflict_notes(m)
        for h in m.history:
            what = Text(h.summary)
            if h.event_id in lost:
                what.append(f" — {lost[h.event_id]}", style="yellow")
            t.add_row(Text(date_time(h.at)), Text(h.device_id), Text(h.user), what)
        return t

    # -- actions ----------------------------------------------------------------------------------

    def _store(self, make_events) -> bool:
        """Make events from the current state and append them; show a store error in place."""
        app = self.app
        label = self.query_one("#detail-error", Label)
        try:
            state = app.store.get(self.melding_id)
            dev = app.store.device_clock(app.config.user, clock=app.hlc_clock)
            events = make_events(dev, state)
            if events:
                app.store.append(events, dev)
        except (StoreError, ValidationError) as exc:
            label.update(Text(exc.message))
            label.add_class("-shown")
            return False
        label.remove_class("-shown")
        app.after_save()
        self.reload()
        return True

    def action_status(self) -> None:
        if not self.check_action("status", ()):
            return
        if self.melding is None:
            return

        def done(result: tuple[Status, str, str] | None) -> None:
            if result:
                naar, notitie, voor_melder = result
                self._store(
                    lambda dev, s: [
                        commands.change_status(dev, s, naar, notitie, voor_melder=voor_melder)
                    ]
                )

        self.app.push_screen(StatusModal(self.melding), done)

    def action_note(self) -> None:
        if not self.check_action("note", ()):
            return
        def done(result: tuple[str, bool] | None) -> None:
            if result:
                tekst, openbaar = result
                self._store(
                    lambda dev, s: [commands.add_note(dev, s, tekst, openbaar=openbaar)]
                )

        self.app.push_screen(NoteModal(), done)

    def action_callback(self) -> None:
        if not self.check_action("callback", ()):
            return
        def done(result: CallbackResult | None) -> None:
            if result:
                self._store(
                    lambda dev, s: [
                        commands.log_callback(
                            dev,
                            s,
                            kanaal=result.kanaal,
                            tekst=result.tekst,
                            at=result.at,
                            bereikt=result.bereikt,
                            melder=result.melder,
                            now=self.app.now(),
                        )
                    ]
                )

        self.app.push_screen(CallbackModal(self.app.now(), self.melding), done)

    def action_edit(self) -> None:
        if not self.check_action("edit", ()):
            return
        from wijkteam_tui.screens.edit import EditScreen

        if self.melding is not None:
            self.app.push_screen(EditScreen(self.melding_id))

    def action_back(self) -> None:
        self.app.pop_screen()


__all__ = ["DetailScreen", "local_date"]
