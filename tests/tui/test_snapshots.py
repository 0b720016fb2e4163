"""Snapshots of the intake, list and detail screens at 80×24 and 120×40.

Stable by construction: a fixed clock (tests/tui/conftest.NOW), demo data from a fixed seed and
the same "now" (references, dates and histories are then the same on every run; the random
UUIDs are never shown), no background sync. Look at the diff before updating a snapshot.
"""

from __future__ import annotations

import pytest

from wijkteam_tui.demo import fill_demo
from wijkteam_store.local import LocalStore

from .conftest import NOW, settle

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def demo_db(tmp_path):
    path = tmp_path / "snap.sqlite"
    store = LocalStore(path)
    fill_demo(store, 300, now=NOW, seed=7)
    store.close()
    return path


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_list(snap_compare, app_factory, demo_db, size):
    assert snap_compare(app_factory(db=demo_db), terminal_size=size, run_before=settle)


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
