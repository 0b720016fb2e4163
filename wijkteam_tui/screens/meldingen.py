"""The list screen: meldingen newest first, search as you type, filters, paging.

Never loads every row: each page is one ``LIMIT/OFFSET`` query on the projection, walked
newest-first on an index so it stops after the page; the number of matches (capped at
``COUNT_CAP``) is counted in a worker thread, so typing never waits for it. User text goes into cells as ``rich.text.Text``.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Select
from textual.worker import get_current_worker

from shared.enums import Status
from shared.projection import iso
from shared.taxonomy import load_taxonomy
from wijkteam_tui.fmt import categorie_short, short_date, wijk_label
from wijkteam_tui.store import COUNT_CAP, LocalStore
from wijkteam_tui.widgets import StatusBar

#: Rows per page.
PAGE_SIZE = 50

#: (title, width) of the columns on a wide terminal (≥ ``WIDE`` columns) and on a narrow one (80).
COLUMNS = (
    ("Referentie", 12),
    ("Datum", 10),
    ("Status", 14),
    ("Categorie", 20),
    ("Adres", 26),
    ("Wijk", 12),
    ("Streefdatum", 12),
)
NARROW_COLUMNS = (
    ("Referentie", 11),
    ("Datum", 8),
    ("Status", 14),
    ("Categorie", 11),
    ("Adres", 11),
    ("Streef", 9),
)
WIDE = 110


class MeldingenScreen(Screen):
    """Home screen: find and open meldingen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "Nieuwe melding", id="list.new"),
        Binding("ctrl+f,slash", "focus_search", "Zoeken", id="list.search"),
        Binding("ctrl+o", "toggle_overdue", "Te laat", id="list.overdue"),
        Binding(
            "right_square_bracket",
            "page(1)",
            "Volgende",
            id="list.next_page",
            key_display="]",
        ),
        Binding(
            "left_square_bracket",
            "page(-1)",
            "Vorige",
            id="list.prev_page",
            key_display="[",
        ),
        Binding("escape", "reset", "Filters wissen", id="list.reset", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page = 0
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Label("Meldingen", classes="screen-title")
        yield Input(
            placeholder="Zoek op referentie, adres, naam, telefoon of omschrijving…",
            id="zoek",
            compact=True,
        )
        with Horizontal(id="filters"):
            statuses = [("Open", "open"), ("Gesloten", "gesloten")] + [
                (s.label, s.value) for s in Status
            ]
            yield Select(statuses, prompt="Alle statussen", id="f-status", compact=True)
            hoofden: dict[str, str] = {}
            for c in load_taxonomy().categories:
                hoofden.setdefault(c.hoofd, c.hoofd_naam)
            cats = []
            for hoofd, naam in hoofden.items():
                cats.append((naam, hoofd))
                cats += [
                    (f"  {c.naam.split(' (')[0]}", c.code)
                    for c in load_taxonomy().categories
                    if c.hoofd == hoofd
                ]
            yield Select(
                cats, prompt="Alle categorieën", id="f-categorie", compact=True
            )
            yield Select(
                [(wijk_label(w), w) for w in self.app.store.wijken()],
                prompt="Alle wijken",
                id="f-wijk",
                compact=True,
            )
            yield Checkbox("Te laat", id="f-overdue", compact=True)
        yield DataTable(id="lijst", cursor_type="row", zebra_stripes=True)
        yield Label("", id="paging")
        yield StatusBar()
        yield Footer()

    def _set_columns(self) -> bool:
        """(Re)build the columns for the terminal width; True when they changed."""
        narrow = self.app.size.width < WIDE
        if getattr(self, "_narrow", None) == narrow:
            return False
        self._narrow = narrow
        table = self.query_one("#lijst", DataTable)
        table.clear(columns=True)
        for title, width in NARROW_COLUMNS if narrow else COLUMNS:
            table.add_column(title, width=width, key=title)
        return True

    def on_resize(self) -> None:
        if self._set_columns():
            self.refresh_rows(keep_page=True)

    def on_mount(self) -> None:
        self._set_columns()
        self.refresh_rows()
        self.query_one("#lijst").focus()

    def on_screen_resume(self) -> None:
        self.refresh_rows(keep_page=True)

    def _filters(self) -> dict:
        def sel(wid: str):
            v = self.query_one(wid, Select).value
            return (
                None
                if (v is Select.BLANK or v is Select.NULL or not isinstance(v, str))
                else v
            )

        return {
            "status": sel("#f-status"),
            "categorie": sel("#f-categorie"),
            "wijk": sel("#f-wijk"),
            "overdue": True if self.query_one("#f-overdue", Checkbox).value else None,
        }

    def refresh_rows(self, *, keep_page: bool = False) -> None:
        """Query the current page for the search text and filters and show it."""
        if not keep_page:
            self.page = 0
        store = self.app.store
        text = self.query_one("#zoek", Input).value
        filters = self._filters()
        now = self.app.now()
        self.page = max(0, self.page)
        rows = store.search(
            text, offset=self.page * PAGE_SIZE, limit=PAGE_SIZE, now=now, **filters
        )
        if not rows and self.page:
            # Paged past the end (the count comes later): back to the last page that has rows.
            self.page = max(0, -(-min(self.total, COUNT_CAP) // PAGE_SIZE) - 1)
            rows = store.search(
                text, offset=self.page * PAGE_SIZE, limit=PAGE_SIZE, now=now, **filters
            )
        table = self.query_one("#lijst", DataTable)
        cursor = table.cursor_row
        table.clear()
        now_iso = iso(now)
        for r in rows:
            overdue = bool(r["is_open"] and r["deadline"] and r["deadline"] < now_iso)
            adres = " ".join(p for p in (r["straat"], _nummer(r)) if p) or (
                r["locatie_omschrijving"] or ""
            )
            date_fmt = "%d-%m-%y" if self._narrow else "%d-%m-%Y"
            deadline = Text(short_date(r["deadline"], date_fmt))
            if overdue:
                deadline = Text(
                    "!" + short_date(r["deadline"], date_fmt), style="bold red"
                )
            cells = [
                Text(r["reference"]),
                Text(short_date(r["registered_at"], date_fmt)),
                Text(Status(r["status"]).label),
                Text(categorie_short(r["categorie"])),
                Text(adres),
                Text(wijk_label(r["wijk"])),
                deadline,
            ]
            if self._narrow:
                del cells[
                    5
                ]  # no room for the wijk at 80 columns; the filter still has it
            table.add_row(*cells, key=r["melding_id"])
        if keep_page and rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        self._shown = (
            self.page * PAGE_SIZE + 1 if rows else 0,
            self.page * PAGE_SIZE + len(rows),
        )
        if len(rows) < PAGE_SIZE:
            # The whole result is known: no count needed.
            self._show_count(self.page * PAGE_SIZE + len(rows))
        else:
            self.query_one("#paging", Label).update(
                f"{self._shown[0]}–{self._shown[1]} van … · pagina {self.page + 1}"
            )
            self.count_rows(text, filters, now)

    @work(thread=True, exclusive=True, group="count")
    def count_rows(self, text: str, filters: dict, now) -> None:
        """Count the matches in a worker thread (own connection), so typing never waits for it."""
        store = LocalStore(self.app.db_path, busy_timeout_ms=self.app.busy_timeout_ms)
        try:
            total = store.count(text, now=now, cap=COUNT_CAP + 1, **filters)
        finally:
            store.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_count, total)

    def _show_count(self, total: int) -> None:
        self.total = total
        first, last = getattr(self, "_shown", (0, 0))
        if total > COUNT_CAP:
            info = (
                f"{first}–{last} van meer dan {COUNT_CAP:,}".replace(",", ".")
                + f" · pagina {self.page + 1}"
            )
        else:
            pages = max(1, -(-total // PAGE_SIZE))
            info = (
                f"{first}–{last} van {total:,}".replace(",", ".")
                + f" · pagina {self.page + 1}/{pages}"
            )
        self.query_one("#paging", Label).update(info)

    @on(Input.Changed, "#zoek")
    def _search(self) -> None:
        self.refresh_rows()

    @on(Input.Submitted, "#zoek")
    def _to_table(self) -> None:
        self.query_one("#lijst").focus()

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _filter(self) -> None:
        self.refresh_rows()

    @on(DataTable.RowSelected, "#lijst")
    def _open(self, event: DataTable.RowSelected) -> None:
        from wijkteam_tui.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(event.row_key.value))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``n`` (new melding) is disabled in KCC mode, which is read-only."""
        return not hasattr(self.app, "allows") or self.app.allows(action)

    def action_new(self) -> None:
        self.app.action_new_melding()

    def action_focus_search(self) -> None:
        self.query_one("#zoek").focus()

    def action_toggle_overdue(self) -> None:
        box = self.query_one("#f-overdue", Checkbox)
        box.value = not box.value

    def action_page(self, delta: int) -> None:
        if delta > 0 and self.query_one("#lijst", DataTable).row_count < PAGE_SIZE:
            return  # already on the last page
        self.page += delta
        self.refresh_rows(keep_page=True)

    def action_reset(self) -> None:
        self.query_one("#zoek", Input).value = ""
        for sid in ("#f-status", "#f-categorie", "#f-wijk"):
            self.query_one(sid, Select).clear()
        self.query_one("#f-overdue", Checkbox).value = False
        self.refresh_rows()


def _nummer(r: dict) -> str:
    if r["huisnummer"] is None:
        return ""
    text = f"{r['huisnummer']}{r['huisletter'] or ''}"
    return text + (f"-{r['huisnummertoevoeging']}" if r["huisnummertoevoeging"] else "")
