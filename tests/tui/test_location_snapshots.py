"""Snapshots of the intake's location steps at 80×24 (the smallest supported terminal): the free-text
address search with its suggestions, and the "buiten de gemeente" confirm step.

Offline (``online=False``) on the sample gazetteer and the sample wijken, with the fixed clock of
tests/tui/conftest.py: the same picture on every run. Look at the diff before updating.
"""

from __future__ import annotations

from shared.gazetteer import load_sample_gazetteer
from wijkteam_tui.location.service import LocationLookup

from .conftest import settle

SIZE = (80, 24)


def location_app(app_factory):
    return app_factory(location=LocationLookup(load_sample_gazetteer(), online=False))


def test_address_search_suggestions(snap_compare, app_factory):
    async def search(pilot):
        await pilot.press("n")
        # waiting for the worker may outlast a cursor blink: keep the cursor still for the picture
        pilot.app.screen.query_one("#adres_zoek").cursor_blink = False
        await pilot.press(*"Anna Bakker", "enter", *"0612345678", "enter", "shift+tab", *"dorpsstr 3")
        await settle(pilot)

    assert snap_compare(location_app(app_factory), terminal_size=SIZE, run_before=search)


def test_buiten_de_gemeente_confirm(snap_compare, app_factory):
    async def outside(pilot):
        await pilot.press("n", *"Anna Bakker", "enter", *"0612345678", "enter", *"1234 AB", "enter", *"5", "enter")
        await pilot.press(*"lamp", "enter", "2", *"Lamp kapot", "ctrl+s")
        await settle(pilot)

    assert snap_compare(location_app(app_factory), terminal_size=SIZE, run_before=outside)
