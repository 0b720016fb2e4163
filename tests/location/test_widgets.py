"""Pilot tests: the gazetteer in the intake form, the 12 A / 12 B choice, and the nearby-duplicate prompt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.app import App
from textual.widgets import Input, OptionList

from shared.gazetteer import load_sample_gazetteer
from shared.nearby import find_nearby
from shared.projection import iso
from wijkteam_store.local import LocalStore
from wijkteam_tui.app import make_app
from wijkteam_tui.config import Config
from wijkteam_tui.location import LocationLookup
from wijkteam_tui.location.widgets import (
    AddressChoiceModal,
    NearbyPanel,
    make_address_lookup,
)
from wijkteam_tui.screens.intake import IntakeScreen

NOW = datetime(2026, 4, 24, 8, 15, tzinfo=UTC)
SIZE = (120, 50)


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("WIJKTEAM_CONFIG", str(tmp_path / "config.toml"))


def test_hook_answers_only_an_exact_single_address() -> None:
    hook = make_address_lookup(load_sample_gazetteer())
    adres, punt = hook("7721EJ", 12, "A", None)
    assert (adres.straat, adres.huisletter, adres.woonplaats) == ("Kerkstraat", "A", "Dalfsen")
    assert punt is not None and (punt.lat, punt.lon) == (52.506761, 6.2582183)
    assert hook("7721EJ", 12, None, None) is None  # 12 A / 12 B: the choice is the modal's job
    assert hook("7722BB", 7, None, "HS")[0].huisnummertoevoeging == "HS"
    assert hook("9999ZZ", 1, None, None) is None
    assert make_address_lookup(None)("7721EJ", 12, "A", None) is None


async def test_intake_fills_street_and_point_from_postcode_and_number(tmp_path) -> None:
    db = tmp_path / "w.sqlite"
    app = make_app(db, Config(device_code="K7", user="tester", prefix="DLF"), clock=lambda: NOW,
                   address_lookup=make_address_lookup(load_sample_gazetteer()), auto_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        assert isinstance(app.screen, IntakeScreen)
        await pilot.press(*"Jan Jansen", "enter")
        await pilot.press(*"06-12345678", "enter")
        await pilot.press(*"7721 ej", "enter")
        await pilot.press(*"12-a", "enter")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#straat", Input).value == "Kerkstraat"
        assert screen.query_one("#woonplaats", Input).value == "Dalfsen"
        await pilot.press(*"lamp", "enter")
        await pilot.press("2")
        await pilot.press(*"Lamp brandt niet")
        await pilot.press("ctrl+s")
        await pilot.pause()
    store = LocalStore(db)
    try:
        rows = list(store.iter_rows())
    finally:
        store.close()
    assert len(rows) == 1
    row = rows[0]
    assert (row["straat"], row["huisnummer"], row["huisletter"], row["postcode"]) == ("Kerkstraat", 12, "A", "7721EJ")
    assert (row["lat"], row["lon"]) == (52.506761, 6.2582183)


class ModalHost(App[None]):
    """A bare app that pushes one modal and keeps its result."""

    def __init__(self, modal) -> None:
        super().__init__()
        self.modal = modal
        self.result: object = "not dismissed"

    def on_mount(self) -> None:
        self.push_screen(self.modal, self._done)

    def _done(self, result: object) -> None:
        self.result = result


class WidgetHost(App[None]):
    """A bare app showing one widget."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self):
        yield self.widget


async def test_choice_between_12a_and_12b() -> None:
    found = LocationLookup(load_sample_gazetteer()).lookup_postcode("7721 EJ", "12")
    assert found.status == "kies"
    host = ModalHost(AddressChoiceModal(found.keuzes, found.message))
    async with host.run_test(size=SIZE) as pilot:
        options = host.screen.query_one(OptionList)
        assert options.option_count == 2
        assert "12A of 12B" in str(host.screen.query_one("#adreskeuze-message").render())
        await pilot.press("down", "enter")
        await pilot.pause()
    assert host.result.adres.huisletter == "B"
    assert host.result.label == "Kerkstraat 12B, 7721 EJ Dalfsen"


async def test_choice_escape_gives_none() -> None:
    found = LocationLookup(load_sample_gazetteer()).lookup_postcode("7721 EJ", "12")
    host = ModalHost(AddressChoiceModal(found.keuzes))
    async with host.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        await pilot.pause()
    assert host.result is None


def _nearby_rows() -> list[dict]:
    base = {"categorie": "verharding/losse_tegel", "status": "gemeld", "deleted": 0, "straat": "Kerkstraat",
            "huisnummer": 13, "omschrijving": "Tegel ligt los [bold]x[/bold]"}
    return [
        {**base, "melding_id": "a", "reference": "DLF-K7-0001", "lat": 52.5066879, "lon": 6.2582999,
         "registered_at": iso(NOW - timedelta(days=3))},
        {**base, "melding_id": "b", "reference": "DLF-K7-0002", "lat": 52.5067700, "lon": 6.2582183,
         "registered_at": iso(NOW - timedelta(days=10))},
        {**base, "melding_id": "c", "reference": "DLF-K7-0003", "lat": 52.5067700, "lon": 6.2582183,
         "registered_at": iso(NOW - timedelta(weeks=13))},
    ]


async def test_duplicate_panel_shows_the_hits_and_cycles() -> None:
    hits = find_nearby(_nearby_rows(), lat=52.506761, lon=6.2582183, categorie="verharding/losse_tegel", now=NOW)
    assert [h.reference for h in hits] == ["DLF-K7-0002", "DLF-K7-0001"]
    panel = NearbyPanel(key="F4")
    host = WidgetHost(panel)
    async with host.run_test(size=SIZE) as pilot:
        panel.show_hits(hits)
        await pilot.pause()
        text = str(panel.content)
        assert "Mogelijk al gemeld (2, ≤ 50 m" in text and "F4" in text
        assert "[bold]x[/bold]" in text  # user text is never read as markup
        assert panel.reference is None
        assert panel.cycle() == "DLF-K7-0002"
        assert panel.cycle() == "DLF-K7-0001"
        assert "toch nieuwe melding" in str(panel.content)
        assert panel.cycle() is None
        panel.show_hits([])
        await pilot.pause()
        assert not panel.has_class("-shown")
