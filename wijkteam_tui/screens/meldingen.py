"""The list screen: meldingen newest first, search as you type, filters, paging.

Never loads every row: each page is one ``LIMIT/OFFSET`` query on the projection, walked
newest-first on an index so it stops after the page; the number of matches (capped at
``COUNT_CAP``) is counted in a worker thread, so typing never waits for it. User text goes into cells as ``rich.text.Text``.

The columns follow the terminal width (:func:`list_columns`): reference, status and streefdatum are
never cut and the address always shows its start; the wijk, the registration date and the categorie
give way first, in that order, as the terminal narrows (checked at 80, 100 and 120 columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Select
from textual.worker import get_current_worker

from shared.enums import Status
from shared.projection import iso
from shared.taxonomy import load_taxonomy
from wijkteam_store.local import COUNT_CAP, LocalStore
from wijkteam_tui.fmt import categorie_short, short_date, wijk_label
from wijkteam_tui.screens.base import WijkteamScreen
from wijkteam_tui.threads import to_ui
from wijkteam_tui.widgets import StatusBar

#: Rows per page.
PAGE_SIZE = 50

#: DataTable cells: one cell of padding either side of every column (``cell_padding=1``).
CELL_PADDING = 2
#: The vertical scrollbar's width, always reserved (a page of 50 rows scrolls on any laptop screen).
SCROLLBAR = 2
#: Shortest reference column (``DLF-K7-0001``); longer references on the page widen it.
REFERENCE_WIDTH = 11
#: The longest status label (``In behandeling``): a status is never cut.
STATUS_WIDTH = max(len(s.label) for s in Status)


@dataclass(frozen=True)
class ListColumn:
    """One column of the list: ``key`` names the cell (see ``MeldingenScreen._cells``), ``width`` is
    its content width in terminal cells (the table adds :data:`CELL_PADDING`)."""

    key: str
    title: str
    width: int


#: Display order of the columns that can appear.
ORDER = ("reference", "datum", "status", "categorie", "adres", "wijk", "deadline", "omschrijving")


def list_columns(width: int, reference_width: int = REFERENCE_WIDTH) -> tuple[tuple[ListColumn, ...], bool]:
    """The columns that fit a list ``width`` terminal cells wide, and whether dates are long.

    What a wijkuitvoerder must read at any width comes first and is never cut: reference, status
    and streefdatum (``!`` and red when overdue), and at least the start of the address (or the
    location description when there is no address). Then, as the width allows, in this order:
    the address up to 20 cells, the categorie (12), the registration date, a wider categorie (16)
    and address (26), dates with the year in full, the categorie at 20, the wijk (the filter
    still offers it when the column is gone), and from about 140 cells the omschrijving. A step
    that does not fit stops the list, so a wider terminal never shows less; the cells left over
    widen the address (to 32), the categorie (to 24) and then the last column.

    Returns:
        (columns in display order, True when dates are shown as ``dd-mm-jjjj``).
    """
    room = width - SCROLLBAR
    widths: dict[str, int] = {"reference": reference_width, "status": STATUS_WIDTH, "deadline": 9, "adres": 12}
    long_dates = False

    def used() -> int:
        return sum(w + CELL_PADDING for w in widths.values())

    steps: list[tuple[str, int]] = [
        ("adres", 20), ("categorie", 12), ("datum", 8), ("categorie", 16), ("adres", 26),
        ("long_dates", 0), ("categorie", 20), ("wijk", 12), ("omschrijving", 16),
    ]  # fmt: skip
    for key, w in steps:
        if key == "long_dates":
            extra = 4 if "datum" in widths else 2
            if used() + extra > room:
                break
            long_dates = True
            widths["deadline"] = 11
            if "datum" in widths:
                widths["datum"] = 10
            continue
        grow = w - widths.get(key, -CELL_PADDING)
        if used() + grow > room:
            break
        widths[key] = w
    left = room - used()
    if left < 0:  # narrower than the essentials: only the address gives way
        widths["adres"] = max(1, widths["adres"] + left)
        left = 0
    for key, cap in (("adres", 32), ("categorie", 24)):
        if key in widths and left > 0 and widths[key] < cap:
            add = min(left, cap - widths[key])
            widths[key] += add
            left -= add
    if left > 0:
        last = "omschrijving" if "omschrijving" in widths else "adres"
        widths[last] += left
    titles = {
        "reference": "Referentie", "datum": "Datum", "status": "Status", "categorie": "Categorie", "adres": "Adres",
        "wijk": "Wijk", "deadline": "Streefdatum" if long_dates else "Streef", "omschrijving": "Omschrijving",
    }  # fmt: skip
    return tuple(ListColumn(k, titles[k], widths[k]) for k in ORDER if k in widths), long_dates


class MeldingenScreen(WijkteamScreen):
    """Home screen: find and open meldingen."""

    # The table spans the screen: sized to its columns (the default), it would leave no room for its
    # own vertical scrollbar and cut the last column by that much.
    DEFAULT_CSS = """
    MeldingenScreen #lijst { width: 100%; }
    """

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
        Binding("w", "switch", "Wisselen", id="list.switch"),
        Binding("escape", "reset", "Filters wissen", id="list.reset", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page = 0
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Label("Alle meldingen", classes="screen-title")
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

    def _layout_for(self, rows: list[dict[str, Any]]) -> tuple[tuple[ListColumn, ...], bool]:
        ref_width = max([REFERENCE_WIDTH, *(len(r["reference"]) for r in rows)])
        return list_columns(self.app.size.width, ref_width)

    def _set_columns(self, rows: list[dict[str, Any]]) -> None:
        """(Re)build the columns when the terminal width or the page's longest reference needs it."""
        layout = self._layout_for(rows)
        if layout == getattr(self, "_layout", None):
            return
        self._layout = layout
        table = self.query_one("#lijst", DataTable)
        table.clear(columns=True)
        for col in layout[0]:
            table.add_column(col.title, width=col.width, key=col.key)

    def on_resize(self) -> None:
        # Only a change of layout redraws the page (from the rows in hand: no new query).
        if hasattr(self, "_rows") and self._layout_for(self._rows) != getattr(self, "_layout", None):
            self._show_rows(self._rows, keep_cursor=True)

    def on_mount(self) -> None:
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
        self._rows = rows
        self._show_rows(rows, keep_cursor=keep_page)
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

    def _show_rows(self, rows: list[dict[str, Any]], *, keep_cursor: bool) -> None:
        """Fill the table with ``rows`` in the columns that fit the current width."""
        table = self.query_one("#lijst", DataTable)
        cursor = table.cursor_row  # before a new layout clears the columns (and with them the cursor)
        self._set_columns(rows)
        columns, long_dates = self._layout
        date_fmt = "%d-%m-%Y" if long_dates else "%d-%m-%y"
        now_iso = iso(self.app.now())
        table.clear()
        for r in rows:
            cells = _cells(r, date_fmt, now_iso)
            table.add_row(*(cells[c.key] for c in columns), key=r["melding_id"])
        if keep_cursor and rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    @work(thread=True, exclusive=True, group="count")
    def count_rows(self, text: str, filters: dict, now) -> None:
        """Count the matches in a worker thread (own connection), so typing never waits for it."""
        store = LocalStore(self.app.db_path, busy_timeout_ms=self.app.busy_timeout_ms)
        try:
            total = store.count(text, now=now, cap=COUNT_CAP + 1, **filters)
        finally:
            store.close()
        if not get_current_worker().is_cancelled:
            to_ui(self, self._show_count, total)

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

    def action_switch(self) -> None:
        """``w``: back to a werkvoorraad (mine, the team's, a colleague's)."""
        self.app.switch_werkvoorraad()

    def _filtered(self) -> bool:
        f = self._filters()
        return bool(self.query_one("#zoek", Input).value) or any(v for v in f.values())

    def action_reset(self) -> None:
        """Escape: clear the search and filters; with none set, back to the werkvoorraad."""
        if not self._filtered() and len(self.app.screen_stack) > 2:
            self.app.pop_screen()
            return
        self.query_one("#zoek", Input).value = ""
        for sid in ("#f-status", "#f-categorie", "#f-wijk"):
            self.query_one(sid, Select).clear()
        self.query_one("#f-overdue", Checkbox).value = False
        self.refresh_rows()


def _cells(r: dict[str, Any], date_fmt: str, now_iso: str) -> dict[str, Text]:
    """Every cell a list row can show, by column key; user text as plain ``Text`` (never markup)."""
    overdue = bool(r["is_open"] and r["deadline"] and r["deadline"] < now_iso)
    deadline = short_date(r["deadline"], date_fmt)
    adres = " ".join(p for p in (r["straat"], _nummer(r)) if p) or (r["locatie_omschrijving"] or "")
    return {
        "reference": Text(r["reference"]),
        "datum": Text(short_date(r["registered_at"], date_fmt)),
        "status": Text(Status(r["status"]).label),
        "categorie": Text(categorie_short(r["categorie"])),
        "adres": Text(adres),
        "wijk": Text(wijk_label(r["wijk"])),
        "deadline": Text("!" + deadline, style="bold red") if overdue else Text(deadline),
        "omschrijving": Text(" ".join((r.get("omschrijving") or "").split())),
    }


def _nummer(r: dict) -> str:
    if r["huisnummer"] is None:
        return ""
    text = f"{r['huisnummer']}{r['huisletter'] or ''}"
    return text + (f"-{r['huisnummertoevoeging']}" if r["huisnummertoevoeging"] else "")
