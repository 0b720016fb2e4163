"""The meldingen list at 80, 100 and 120 columns: what must be read is never cut.

Reference, status and streefdatum are shown whole at every width, the address at least from its
start; the wijk, the registration date and the categorie give way first. Snapshots at 80×24, 100×30
and 120×40 (stable as in ``test_snapshots``: fixed clock, demo data from a fixed seed); look at the
diff before updating one.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from shared.enums import Status
from wijkteam_store.local import LocalStore
from wijkteam_tui.demo import fill_demo
from wijkteam_tui.screens.meldingen import CELL_PADDING, SCROLLBAR, list_columns

from .conftest import NOW
from .test_snapshots import to_all_meldingen

SIZES = [(80, 24), (100, 30), (120, 40)]
#: Columns whose text must never be cut.
WHOLE = ("reference", "status", "deadline")


@pytest.fixture
def demo_db(tmp_path):
    path = tmp_path / "widths.sqlite"
    store = LocalStore(path)
    fill_demo(store, 300, now=NOW, seed=7)
    store.close()
    return path


def _keys(width: int, ref: int = 11) -> list[str]:
    return [c.key for c in list_columns(width, ref)[0]]


@pytest.mark.parametrize("ref", [11, 13, 15])
def test_layout_fits_and_keeps_the_essentials(ref: int) -> None:
    longest_status = max(len(s.label) for s in Status)
    for width in range(ref + 50, 240):
        columns, long_dates = list_columns(width, ref)
        by_key = {c.key: c.width for c in columns}
        assert sum(w + CELL_PADDING for w in by_key.values()) + SCROLLBAR == width, width
        assert by_key["reference"] >= ref and by_key["status"] >= longest_status
        assert by_key["deadline"] >= (len("!04-05-2026") if long_dates else len("!04-05-26"))
        if "datum" in by_key:
            assert by_key["datum"] >= (10 if long_dates else 8)
        assert by_key["adres"] >= 12


def test_less_important_columns_give_way_first() -> None:
    previous: set[str] = set()
    for width in range(60, 240):
        keys = set(_keys(width))
        assert previous <= keys, width  # a wider terminal never shows fewer columns
        previous = keys
        # Drop order as the terminal narrows: omschrijving, wijk, datum, categorie.
        if "omschrijving" in keys:
            assert "wijk" in keys
        if "wijk" in keys:
            assert "datum" in keys
        if "datum" in keys:
            assert "categorie" in keys
    assert _keys(80) == ["reference", "status", "categorie", "adres", "deadline"]
    assert _keys(100) == ["reference", "datum", "status", "categorie", "adres", "deadline"]
    assert _keys(120) == ["reference", "datum", "status", "categorie", "adres", "wijk", "deadline"]
    assert "omschrijving" in _keys(160)
    # The address is readable from 80 columns: at least 20 cells ("Pieter Zeemanstraat 16" nearly whole).
    assert all(dict((c.key, c.width) for c in list_columns(w)[0])["adres"] >= 20 for w in range(80, 240))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_cells_that_must_be_read_are_whole(app_factory, demo_db, size) -> None:
    app = app_factory(db=demo_db)
    async with app.run_test(size=size) as pilot:
        await to_all_meldingen(pilot)
        table = app.screen.query_one("#lijst", DataTable)
        assert not table.show_horizontal_scrollbar  # nothing runs off the right edge
        assert table.virtual_size.width <= table.scrollable_content_region.width
        widths = {str(col.key.value): col.width for col in table.columns.values()}
        assert set(WHOLE) <= set(widths) and "adres" in widths
        assert table.row_count == 50
        for row in range(table.row_count):
            cells = dict(zip(widths, table.get_row_at(row), strict=True))
            for key in WHOLE:
                assert len(cells[key].plain) <= widths[key], (key, cells[key].plain)
        overdue = [table.get_row_at(r)[list(widths).index("deadline")] for r in range(table.row_count)]
        assert any(c.plain.startswith("!") for c in overdue)  # the red "!" deadlines fit too


async def test_resizing_relayouts_without_a_new_query(app_factory, demo_db) -> None:
    app = app_factory(db=demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_all_meldingen(pilot)
        screen = app.screen
        table = screen.query_one("#lijst", DataTable)
        assert "wijk" in [str(k.value) for k in table.columns]
        table.move_cursor(row=7)
        first = table.get_row_at(0)[0].plain
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert [str(k.value) for k in table.columns] == ["reference", "status", "categorie", "adres", "deadline"]
        assert table.get_row_at(0)[0].plain == first and table.row_count == 50
        assert table.cursor_row == 7  # the wijkuitvoerder keeps their place
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert "datum" in [str(k.value) for k in table.columns]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_list_snapshot(snap_compare, app_factory, demo_db, size):
    assert snap_compare(app_factory(db=demo_db), terminal_size=size, run_before=to_all_meldingen)
