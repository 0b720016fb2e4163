"""The free-text address suggestion takes the house it says it takes (issue 14 §2: "↓ Enter kiest"
took 12 B instead of 12 A)."""

from __future__ import annotations

from textual.widgets import Input, OptionList

from shared.gazetteer import load_sample_gazetteer
from wijkteam_tui.location.service import LocationLookup

from .conftest import settle


async def test_the_address_suggestion_takes_the_house_it_says(app_factory):
    """Typing "kerkstr 12" offers 12 A and 12 B; nothing is highlighted until ↓; the hint names the
    house Enter takes; the first ↓ goes to the first suggestion (it used to skip to 12 B)."""
    from wijkteam_tui.location.widgets import AdresZoeker

    for keys, expected in ((["enter"], "12A"), (["down", "enter"], "12A"), (["down", "down", "enter"], "12B")):
        app = app_factory(location=LocationLookup(load_sample_gazetteer(), online=False))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("n")
            zoeker = app.screen.query_one(AdresZoeker)
            zoeker.input.focus()
            await pilot.press(*"kerkstr 12")
            await settle(pilot)
            assert zoeker.query_one(OptionList).highlighted is None
            hint = str(zoeker.query_one("#adres-zoek-hint").render())
            assert "Enter neemt: Kerkstraat 12A, 7721 EJ Dalfsen" in hint
            if keys[0] == "down":
                await pilot.press("down")
                hint = str(zoeker.query_one("#adres-zoek-hint").render())
                assert "Enter neemt: Kerkstraat 12A" in hint  # the first ↓ stays on the first
                keys = keys[1:]
            await pilot.press(*keys)
            await settle(pilot)
            assert app.screen.query_one("#huisnummer", Input).value == expected, keys
