"""The detail screen: current state, full history, notes, terugkoppelingen; status changes, notes,
call-backs and edits, each stored as an event through ``shared.commands``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Label, Static

from shared import commands
from shared.avg import DELETE_ROLES
from shared.deadlines import local_date
from shared.enums import Status
from shared.errors import ValidationError
from shared.fold import conflict_notes
from shared.model import Melder, Melding
from shared.nearby import link_duplicate
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
    ReasonModal,
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
    if melder.gewist:
        return "geanonimiseerd"
    parts = [
        melder.naam,
        format_phone(melder.telefoon) if melder.telefoon else "",
        melder.email or "",
        melder.postadres.oneline() if melder.postadres else "",
    ]
    return " · ".join(p for p in parts if p) or "(geen gegevens)"


def has_personal_data(m: Melding) -> bool:
    """Whether any melder of ``m`` still has a detail to erase (name, phone, e-mail, postal address)."""
    return any(x is not None and x.has_details for x in (m.melder, *(e.melder for e in m.melders)))


def delete_refusal(server_url: str, token: str) -> str | None:
    """Why this laptop's token may not delete or restore a melding (Dutch), or None when it may
    (its role, ``GET /api/v1/me``, is in ``shared.avg.DELETE_ROLES``). Blocking: call from a worker."""
    from wijkteam_tui.screens.kcc import token_role

    role = token_role(server_url, token)
    if role is None:
        return (
            "Uw rol kan niet worden gecontroleerd: de server is niet bereikbaar. Verwijderen en terugzetten "
            "mag alleen een beheerder; probeer het opnieuw als er verbinding is."
        )
    if role not in DELETE_ROLES:
        return f"Alleen een beheerder (rol admin) mag meldingen verwijderen of terugzetten; uw rol is {role}. Vraag de beheerder."
    return None


class DetailScreen(WijkteamScreen):
    """One melding, by id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "status", "Status", id="detail.status"),
        Binding("o", "note", "Notitie", id="detail.note"),
        Binding("t", "callback", "Terugkoppeling", id="detail.callback"),
        Binding("e", "edit", "Bewerken", id="detail.edit"),
        # Weighty and rare: in the command palette and the help, not in the footer (it would push
        # Terug and the app's keys off a 120-column screen).
        Binding("a", "anonymise", "Melder anonimiseren", id="detail.anonymise", show=False),
        Binding("v", "delete", "Verwijderen", id="detail.delete", show=False),
        Binding("z", "restore", "Terugzetten", id="detail.restore", show=False),
        Binding("b", "assign", "Toewijzen", id="detail.assign"),
        Binding("d", "link_duplicate", "Dubbel koppelen", id="detail.duplicate"),
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
        if action == "link_duplicate":
            return bool(getattr(self, "maybe_duplicates", None))
        m = self.melding
        if m is None:
            return True
        if action == "status":
            return bool(allowed_next(m.status))
        if action == "delete":
            return not m.deleted
        if action == "restore":
            return m.deleted
        if action == "anonymise":
            return not m.anonymised and has_personal_data(m)
        return True

    def reload(self) -> None:
        """Read the melding again and render it."""
        self.melding = m = self.app.store.get(self.melding_id)
        if m is None:
            self.query_one("#detail-title", Label).update("Melding niet gevonden")
            return
        title = Text(f"{m.reference} · {m.status.label}")
        if m.purged:
            title.append(" · VERWIJDERD NA BEWAARTERMIJN", style="bold red")
        elif m.deleted:
            title.append(" · VERWIJDERD", style="bold red")
        if m.anonymised and not m.purged:
            title.append(" · melder geanonimiseerd", style="bold")
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
        if m.anonymised_at is not None:
            melder_text = f"geanonimiseerd op {long_date(m.anonymised_at)}"
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
        maybe = self._possible_duplicates(m)
        if maybe is not None:
            parts.append(maybe)
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

    def _possible_duplicates(self, m: Melding) -> Text | None:
        """Meldingen of another laptop that may be this same problem (same categorie, ≤ 50 m, within a
        day; registered before the laptops synced): flagged, never merged — ``d`` links."""
        self.maybe_duplicates = [] if m.deleted or m.duplicaat_van else self.app.store.possible_duplicates(m.melding_id)
        if not self.maybe_duplicates:
            return None
        text = Text("Mogelijk dubbel (andere laptop, zelfde categorie, zelfde dag): ", style="bold yellow")
        text.append(", ".join(f"{h.reference} ({h.afstand_m:.0f} m)" for h in self.maybe_duplicates), style="yellow")
        text.append(" — d: deze koppelen als dubbele melding", style="yellow")
        return text

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

    # -- deleting and the AVG (issue 16) ------------------------------------------------------------

    def action_anonymise(self) -> None:
        if not self.check_action("anonymise", ()) or self.melding is None:
            return
        self._ask_reason(
            commands.anonymise_reporter,
            "Melder anonimiseren",
            "Naam, telefoonnummer, e-mailadres en postadres van de melder (en van elke volgende melder) "
            "worden gewist, ook waar ze in teksten staan: op deze laptop nu, op de server en de andere "
            "laptops bij hun volgende sync. Dit kan niet ongedaan worden gemaakt. Terugbellen kan daarna "
            "niet meer; de melding zelf en de cijfers blijven.",
            confirm="Anonimiseren",
            hint="Reden, bv. 'verzoek van de melder' (zet er geen persoonsgegevens in)",
        )

    def action_delete(self) -> None:
        if not self.check_action("delete", ()) or self.melding is None:
            return
        self._with_delete_role(
            lambda: self._ask_reason(
                commands.delete,
                "Melding verwijderen",
                "De melding verdwijnt uit de lijsten en telt niet mee in de barometer. Een beheerder kan "
                "hem terugzetten; de historie blijft bewaard.",
                confirm="Verwijderen",
                required=True,
            )
        )

    def action_restore(self) -> None:
        if not self.check_action("restore", ()) or self.melding is None:
            return
        self._with_delete_role(
            lambda: self._ask_reason(
                commands.restore,
                "Melding terugzetten",
                "De melding komt terug in de lijsten en telt weer mee in de barometer.",
                confirm="Terugzetten",
            )
        )

    def _ask_reason(
        self, make: Callable[..., Any], title: str, warning: str, *, confirm: str, required: bool = False,
        hint: str = "Reden",
    ) -> None:  # fmt: skip
        """Show a :class:`ReasonModal`; on confirmation store ``make(dev, state, reden)``."""

        def done(reden: str | None) -> None:
            if reden is not None:
                self._store(lambda dev, s: [make(dev, s, reden)])

        assert self.melding is not None
        modal = ReasonModal(
            f"{title} — {self.melding.reference}", warning, confirm=confirm, required=required, hint=hint
        )
        self.app.push_screen(modal, done)

    def _with_delete_role(self, then: Callable[[], None]) -> None:
        """Ask the server whether this laptop's token may delete (``shared.avg.DELETE_ROLES``) in a
        worker, then run ``then`` or say why not. Without a server (local only) nobody is asked."""
        config = self.app.config
        if not (getattr(config, "server_url", None) and getattr(config, "token", None)):
            then()
            return
        label = self.query_one("#detail-error", Label)

        def ask() -> None:
            message = delete_refusal(config.server_url, config.token)

            def answer() -> None:
                if message is None:
                    label.remove_class("-shown")
                    then()
                else:
                    label.update(Text(message))
                    label.add_class("-shown")

            self.app.call_from_thread(answer)

        self.run_worker(ask, thread=True, exclusive=True, group="delete-role")

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

    def action_assign(self) -> None:
        """``b``: give the melding to me, a colleague, the team, or nobody (an ``assigned`` event)."""
        if not self.check_action("assign", ()) or self.melding is None:
            return
        from wijkteam_tui.assignment import assign_melding

        assign_melding(self.app, self.melding_id, after=self.reload)

    def action_link_duplicate(self) -> None:
        """``d``: cancel this melding as a duplicate of the (first) possible duplicate, after asking;
        the other one then lists it under "Dubbele meldingen". Nothing happens without a yes."""
        if not self.check_action("link_duplicate", ()) or self.melding is None:
            return
        other = self.maybe_duplicates[0].reference
        this = self.melding.reference
        from wijkteam_tui.screens.dialogs import ConfirmModal

        def chosen(yes: bool | None) -> None:
            if yes:
                self._store(lambda dev, s: link_duplicate(dev, s, other))
                self.app.notify(f"{this} is gekoppeld als dubbele melding van {other} en geannuleerd.")

        self.app.push_screen(
            ConfirmModal(
                "Dubbele melding koppelen",
                f"{this} annuleren als dubbele melding van {other}? {other} blijft open en toont deze bij "
                "'Dubbele meldingen'.",
                ja="Enter: koppelen",
                nee="Esc: niet koppelen",
            ),
            chosen,
        )

    def action_back(self) -> None:
        self.app.pop_screen()


__all__ = ["DetailScreen", "local_date"]
