"""Snapshots of the intake, list and detail screens at 80×24 and 120×40.

Stable by construction: a fixed clock (tests/tui/conftest.NOW), demo data from a fixed seed and
the same "now" (references, dates and histories are then the same on every run; the random
UUIDs are never shown), no background sync. Look at the diff before updating a snapshot.
"""

from __future__ import annotations

import pytest

from wijkteam_store.local import LocalStore
from wijkteam_tui.demo import fill_demo

from .conftest import NOW, settle

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def demo_db(tmp_path):
    path = tmp_path / "snap.sqlite"
    store = LocalStore(path)
    fill_demo(store, 300, now=NOW, seed=7)
    store.close()
    return path


async def to_all_meldingen(pilot) -> None:
    """From the start screen (Mijn werkvoorraad) to the list of all meldingen: ``w``, ``a``."""
    await pilot.press("w", "a")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_list(snap_compare, app_factory, demo_db, size):
    assert snap_compare(app_factory(db=demo_db), terminal_size=size, run_before=to_all_meldingen)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_intake(snap_compare, app_factory, demo_db, size):
    async def fill(pilot):
        await pilot.press("n")
        await pilot.press(
            *"Anna Bakker",
            "enter",
            *"0612345",
            "enter",
            *"7721 EJ",
            "enter",
            *"12a",
            "enter",
        )
        await pilot.press(*"lamp")
        await settle(pilot)

    assert snap_compare(app_factory(db=demo_db), terminal_size=size, run_before=fill)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail(snap_compare, app_factory, demo_db, size):
    async def open_detail(pilot):
        from wijkteam_tui.screens.detail import DetailScreen

        store = pilot.app.store
        row = next(
            r
            for r in store.search(status="afgehandeld", limit=50)
            if r["callback_count"] and r["event_count"] >= 4
        )
        await pilot.app.push_screen(DetailScreen(row["melding_id"]))
        await settle(pilot)

    assert snap_compare(
        app_factory(db=demo_db), terminal_size=size, run_before=open_detail
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_werkvoorraad(snap_compare, app_factory, demo_db, size):
    """The start screen of a wijkuitvoerder of the sample configuration (a.devries: Dalfsen-kern)."""
    from wijkteam_tui.config import Config

    config = Config(device_code="K7", user="a.devries", prefix="DLF")

    async def shown(pilot):
        # Freeze what moves: where a scrollbar's thumb is drawn followed the order of layout
        # passes under load; the rows and counts are what this snapshot is about.
        from textual.widgets import DataTable

        await settle(pilot)
        for table in pilot.app.screen.query(DataTable):
            table.styles.scrollbar_size_vertical = 0
        await settle(pilot)

    assert snap_compare(app_factory(db=demo_db, config=config), terminal_size=size, run_before=shown)
