"""The start screen: *Mijn werkvoorraad* (issue 14 §1).

The open meldingen of one behandelaar, grouped *over de norm*, *vandaag*, *deze week*, *later* with
a count per group (``shared.werkvoorraad``), and below them **Nog terugbellen**: meldingen whose
melders wait for a call-back since the melding progressed, with the date the configured
``terugbelnorm`` (working days, default 2) says they should have been called.

``w`` switches, with one more key, to a colleague's werkvoorraad (holiday cover), the team's (the
wijken the user is a wijkuitvoerder of; without any: the meldingen nobody handles) or all meldingen
(the searchable list, ``MeldingenScreen``). ``b`` reassigns the highlighted melding (to me, a
colleague, the team, or nobody) as an ``assigned`` event. Enter opens it; on a group's
"… en N meer" line it shows more of that group.

Every query is a few range scans on partial indexes (``LocalStore.werkvoorraad``), so the screen
opens in milliseconds on 100,000 meldingen (bench/bench_tui.py). User text goes into cells as
``rich.text.Text``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Label

from shared.enums import Status
from shared.projection import iso, parse_iso
from shared.werkvoorraad import GROUP_LABELS, GROUPS, terugbel_deadline, wijken_of
from wijkteam_tui.assignment import assign_melding, colleagues
from wijkteam_tui.fmt import categorie_short, short_date, wijk_label
from wijkteam_tui.screens.base import WijkteamScreen
from wijkteam_tui.widgets import StatusBar

#: Rows shown per group (the count says how many there are).
PER_GROUP = 30
#: Rows added to a group by Enter on its "… en N meer" line.
MORE_ROWS = 100
#: Rows of "Nog terugbellen" shown.
TERUGBELLEN_SHOWN = 30


class View(msgspec.Struct, frozen=True):
    """Whose werkvoorraad is shown: ``mijn``, ``collega`` (``naam``), ``team`` or ``alle`` (the list)."""

    kind: str = "mijn"
    naam: str = ""


def _nummer(r: dict[str, Any]) -> str:
    if r.get("huisnummer") is None:
        return ""
    text = f"{r['huisnummer']}{r.get('huisletter') or ''}"
    return text + (f"-{r['huisnummertoevoeging']}" if r.get("huisnummertoevoeging") else "")


def adres_cell(r: dict[str, Any]) -> str:
    """The address of a projection row on one line, else its location description."""
    return " ".join(p for p in (r.get("straat") or "", _nummer(r)) if p) or (r.get("locatie_omschrijving") or "")


class WerkvoorraadScreen(WijkteamScreen):
    """Mijn werkvoorraad, a colleague's, or the team's (see the module docstring)."""

    DEFAULT_CSS = """
    WerkvoorraadScreen #werk-tellers { height: 1; padding: 0 1; }
    WerkvoorraadScreen #werk { height: 3fr; width: 100%; }
    WerkvoorraadScreen #terugbellen-blok { height: 2fr; }
    WerkvoorraadScreen #terugbellen-kop { height: 1; padding: 0 1; color: $accent; text-style: bold; }
    WerkvoorraadScreen #terugbellen { height: 1fr; width: 100%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Shown first in the footer: the start screen is where a call comes in (the app's own "n"
        # binding works everywhere but is hidden so that no screen shows it twice).
        Binding("n", "new", "Nieuwe melding", id="werk.new"),
        Binding("w", "switch", "Wisselen", id="werk.switch"),
        Binding("b", "assign", "Toewijzen", id="werk.assign"),
        Binding("slash,ctrl+f", "search", "Zoeken", id="werk.search"),
    ]

    def __init__(self, view: View | None = None) -> None:
        super().__init__()
        self.view = view or View()
        self.counts: dict[str, int] = {}
        self.terugbel_count = 0
        #: Rows shown per group: PER_GROUP, more after Enter on a group's "… en N meer" line.
        self.limits: dict[str, int] = dict.fromkeys(GROUPS, PER_GROUP)

    # -- who -------------------------------------------------------------------------------------

    @property
    def me(self) -> str:
        """The user working on this laptop (the server user name once a sync told it)."""
        return self.app.config.user

    def _scope(self) -> dict[str, Any]:
        """The werkvoorraad's query scope (``LocalStore.werkvoorraad``)."""
        if self.view.kind == "collega":
            return {"behandelaar": self.view.naam}
        if self.view.kind == "team":
            return {"wijken": self._team_wijken()}
        return {"behandelaar": self.me}

    def _team_wijken(self) -> list[str]:
        from shared.wijken import load_wijken

        return wijken_of(self.me, getattr(self.app, "wijken", None) or load_wijken())

    def title_text(self) -> str:
        """``"Mijn werkvoorraad — jan"``, ``"Werkvoorraad van piet"``, ``"Team Dalfsen-kern"``."""
        if self.view.kind == "collega":
            return f"Werkvoorraad van {self.view.naam}"
        if self.view.kind == "team":
            wijken = self._team_wijken()
            names = ", ".join(wijk_label(w) for w in wijken)
            return f"Team {names}" if wijken else "Zonder behandelaar (u bent van geen wijk wijkuitvoerder)"
        return f"Mijn werkvoorraad — {self.me}"

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label("", id="werk-titel", classes="screen-title")
        yield Label("", id="werk-tellers")
        yield DataTable(id="werk", cursor_type="row", zebra_stripes=True)
        with Vertical(id="terugbellen-blok"):
            yield Label("", id="terugbellen-kop")
            yield DataTable(id="terugbellen", cursor_type="row", zebra_stripes=True)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#werk").focus()

    def on_screen_resume(self) -> None:
        # Also when the screen is first shown: one query per showing, not one per event.
        self.refresh_rows(keep_page=getattr(self, "_width", None) is not None)

    def on_resize(self) -> None:
        if getattr(self, "_width", None) not in (None, self.app.size.width):
            self.refresh_rows(keep_page=True)

    def _widths(self, rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        """Column widths that fill the terminal: the first column holds a reference and a group's
        heading ("Over de norm (12)"), the address takes what the rest leaves; the categorie gives
        way on narrow terminals."""
        width = self.app.size.width
        headings = [len(self._heading(g)) for g in GROUPS]
        refs = [len(r["reference"]) for rs in rows.values() for r in rs]
        fixed = {"reference": max([11, *headings, *refs]), "deadline": 9, "status": 14,
                 "categorie": 16 if width >= 100 else 12}  # fmt: skip
        if self.view.kind == "team":
            fixed["behandelaar"] = 12
        used = sum(w + 2 for w in fixed.values()) + 2 + 2  # cell padding, the address's, scrollbar
        return {**fixed, "adres": max(10, width - used)}

    def _heading(self, group: str) -> str:
        return f"{GROUP_LABELS[group]} ({self.counts.get(group, 0)})"

    def refresh_rows(self, *, keep_page: bool = False) -> None:
        """Query the werkvoorraad and "Nog terugbellen" and show them (keeping the cursor row)."""
        now = self.app.now()
        store = self.app.store
        scope = self._scope()
        self.counts, rows = store.werkvoorraad(now=now, per_group=self.limits, **scope)
        self.terugbel_count, callbacks = store.terugbellen(limit=TERUGBELLEN_SHOWN, **scope)
        self._width = self.app.size.width
        self.query_one("#werk-titel", Label).update(Text(self.title_text()))
        tellers = Text()
        for i, group in enumerate(GROUPS):
            if i:
                tellers.append(" · ")
            style = "bold red" if group == "over_de_norm" and self.counts[group] else "bold"
            tellers.append(f"{GROUP_LABELS[group]} ")
            tellers.append(str(self.counts[group]), style=style)
        tellers.append(" · Nog terugbellen ")
        tellers.append(str(self.terugbel_count), style="bold yellow" if self.terugbel_count else "bold")
        self.query_one("#werk-tellers", Label).update(tellers)
        self._fill_werk(rows, keep_page)
        self._fill_terugbellen(callbacks, keep_page, now)

    def _fill_werk(self, rows: dict[str, list[dict[str, Any]]], keep: bool) -> None:
        table = self.query_one("#werk", DataTable)
        cursor = table.cursor_row
        w = self._widths(rows)
        table.clear(columns=True)
        titles = {"reference": "Referentie", "deadline": "Streef", "status": "Status", "categorie": "Categorie",
                  "behandelaar": "Behandelaar", "adres": "Adres"}  # fmt: skip
        for key in ("reference", "deadline", "status", "categorie", "behandelaar", "adres"):
            if key in w:
                table.add_column(titles[key], width=w[key], key=key)
        now_iso = iso(self.app.now())
        for group in GROUPS:
            n = self.counts[group]
            head = Text(self._heading(group), style="bold red" if group == "over_de_norm" and n else "bold")
            table.add_row(head, *(Text("") for _ in range(len(w) - 1)), key=f"kop:{group}")
            for r in rows[group]:
                table.add_row(*self._cells(r, w, now_iso), key=r["melding_id"])
            if n > len(rows[group]):
                more = Text(f"… en {n - len(rows[group])} meer (Enter: toon ze)", style="dim")
                table.add_row(more, *(Text("") for _ in range(len(w) - 1)), key=f"meer:{group}")
        if keep and table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        elif table.row_count > 1:
            table.move_cursor(row=1 if rows[GROUPS[0]] else 0)

    def _cells(self, r: dict[str, Any], w: dict[str, int], now_iso: str) -> list[Text]:
        overdue = bool(r["deadline"] and r["deadline"] < now_iso)
        deadline = short_date(r["deadline"], "%d-%m-%y") or "—"
        cells = [
            Text(r["reference"]),
            Text("!" + deadline, style="bold red") if overdue else Text(deadline),
            Text(Status(r["status"]).label),
            Text(categorie_short(r["categorie"]) or "—"),
        ]
        if "behandelaar" in w:
            who = r.get("behandelaar") or ("team" if r.get("aan_team") else "—")
            cells.append(Text(who))
        cells.append(Text(adres_cell(r)))
        return cells

    def _fill_terugbellen(self, rows: list[dict[str, Any]], keep: bool, now) -> None:
        from shared.gemeente import gemeente

        norm = gemeente().terugbelnorm
        self.query_one("#terugbellen-kop", Label).update(
            Text(f"Nog terugbellen ({self.terugbel_count}) — binnen {norm} werkdagen na de voortgang")
        )
        table = self.query_one("#terugbellen", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        width = self.app.size.width
        fixed = {"reference": 11, "voor": 11, "status": 14, "melders": 7}
        adres = max(10, width - sum(v + 2 for v in fixed.values()) - 4)
        for key, title in (("reference", "Referentie"), ("voor", "Bellen vóór"), ("status", "Status"),
                           ("melders", "Melders")):  # fmt: skip
            table.add_column(title, width=fixed[key], key=key)
        table.add_column("Adres", width=adres, key="adres")
        for r in rows:
            since = parse_iso(r["terugbellen_sinds"])
            due = terugbel_deadline(since, norm) if since else None
            late = due is not None and due < now
            due_text = short_date(due, "%d-%m-%Y") if due else "—"
            who = f"{r['terugbellen']}/{r['melder_count'] or 1}"
            table.add_row(
                Text(r["reference"]),
                Text("!" + due_text, style="bold red") if late else Text(due_text),
                Text(Status(r["status"]).label),
                Text(who),
                Text(adres_cell(r)),
                key=r["melding_id"],
            )
        self.query_one("#terugbellen-blok").display = bool(rows) or self.terugbel_count > 0
        if keep and table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    # -- actions ---------------------------------------------------------------------------------

    def _highlighted(self) -> str | None:
        """The melding id under the cursor of the focused table (None on a group heading)."""
        for table in self.query(DataTable):
            if table.has_focus and table.row_count:
                key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
                return None if key is None or ":" in key else key
        return None

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is not None and key.startswith("meer:"):
            # The rest of this group, here: the list of all meldingen cannot narrow to one
            # behandelaar's group.
            group = key.removeprefix("meer:")
            self.limits[group] += MORE_ROWS
            self.refresh_rows(keep_page=True)
            return
        if key is None or ":" in key:
            return
        from wijkteam_tui.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(key))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not hasattr(self.app, "allows") or self.app.allows(action)

    def action_new(self) -> None:
        """``n``: a new melding (the app's intake; see :meth:`WijkteamApp.action_new_melding`)."""
        self.app.action_new_melding()

    def action_switch(self) -> None:
        """``w``: a colleague's werkvoorraad, the team's, mine, or all meldingen."""
        open_view(self.app, self.me)

    def action_search(self) -> None:
        """``/``: search all meldingen (the list, search box focused)."""
        from wijkteam_tui.screens.meldingen import MeldingenScreen

        screen = MeldingenScreen()
        self.app.push_screen(screen)
        screen.call_after_refresh(screen.action_focus_search)

    def action_assign(self) -> None:
        """``b``: reassign the highlighted melding (to me, a colleague, the team, nobody)."""
        melding_id = self._highlighted()
        if melding_id is None:
            self.notify("Kies eerst een melding in de lijst.", severity="warning")
            return
        assign_melding(self.app, melding_id, after=lambda: self.refresh_rows(keep_page=True))


def open_view(app: Any, me: str) -> None:
    """The ``w`` switch: pick mine, the team's, a colleague's werkvoorraad, or all meldingen, and show it."""
    from wijkteam_tui.screens.choice import ChoiceModal, digit_keys

    options = [("m", "Mijn werkvoorraad", View("mijn")), ("t", "Team", View("team")),
               ("a", "Alle meldingen", View("alle"))]  # fmt: skip
    for key, name in digit_keys(colleagues(app, me)):  # after the ninth: ↑↓ Enter
        options.append((key, f"Werkvoorraad van {name}", View("collega", name)))

    def chosen(view: View | None) -> None:
        if view is not None:
            show_view(app, view)

    app.push_screen(ChoiceModal("Welke werkvoorraad?", options), chosen)


def show_view(app: Any, view: View) -> None:
    """Show ``view``: the werkvoorraad at the bottom of the stack switches to it, or the list of all
    meldingen opens on top of it."""
    from wijkteam_tui.screens.meldingen import MeldingenScreen

    if view.kind == "alle" and isinstance(app.screen, MeldingenScreen):
        return
    while len(app.screen_stack) > 2 and not isinstance(app.screen, WerkvoorraadScreen):
        app.pop_screen()
    base = app.screen
    if view.kind == "alle":
        if not isinstance(base, MeldingenScreen):
            app.push_screen(MeldingenScreen())
        return
    if isinstance(base, WerkvoorraadScreen):
        base.view = view
        base.limits = dict.fromkeys(GROUPS, PER_GROUP)
        base.refresh_rows()
    else:
        app.push_screen(WerkvoorraadScreen(view))


__all__ = ["View", "WerkvoorraadScreen", "open_view", "show_view"]
