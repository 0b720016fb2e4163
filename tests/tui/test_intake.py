"""Intake validation, locked database, markup safety."""

from __future__ import annotations

import sqlite3

from rich.text import Text
from textual.widgets import DataTable, Input, Label, Static

from wijkteam_store.local import LocalStore
from wijkteam_tui.screens.detail import DetailScreen
from wijkteam_tui.screens.dialogs import SavedModal
from wijkteam_tui.screens.intake import IntakeScreen

from .conftest import to_list
from .test_flow import SIZE, rendered, type_call


def error_text(screen, field: str) -> str:
    label = screen.query_one(f"#err-{field}")
    return str(label.render()) if label.has_class("-shown") else ""


async def test_every_invalid_field_has_a_dutch_message_and_nothing_is_saved(
    app_factory, db_path
):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        screen = app.screen
        values = {
            "telefoon": "06-1234567",
            "email": "jan@",
            "postcode": "0721 AB",
            "huisnummer": "abc",
            "naam": "x" * 201,
        }
        for fid, value in values.items():
            screen.query_one(f"#{fid}", Input).value = value
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        assert error_text(screen, "telefoon") == "Dit telefoonnummer is te kort."
        assert "geen geldig e-mailadres" in error_text(screen, "email")
        assert "4 cijfers (niet beginnend met 0)" in error_text(screen, "postcode")
        assert "Een huisnummer is een getal" in error_text(screen, "huisnummer")
        assert "Maximaal 200 tekens" in error_text(screen, "naam")
        assert "Kies een categorie" in error_text(screen, "categorie")
        assert "vier B's" in error_text(screen, "vier_b")
        assert error_text(screen, "omschrijving") == "Beschrijf kort waar het om gaat."
        assert "Niet opgeslagen" in str(
            screen.query_one("#intake-error", Label).render()
        )
        # the cursor goes to the first invalid field; fixing it clears its message as you type
        assert app.focused.id == "naam"
        screen.query_one("#telefoon", Input).value = "06-12345678"
        await pilot.pause()
        assert error_text(screen, "telefoon") == ""
        # anonymous with a name typed; a house number without postcode or street
        for fid in ("naam", "email", "postcode"):
            screen.query_one(f"#{fid}", Input).value = ""
        screen.query_one("#telefoon", Input).value = ""
        screen.query_one("#huisnummer", Input).value = "12"
        screen.query_one("#naam", Input).value = "Piet"
        screen.query_one("#anoniem").value = True
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Anoniem" in error_text(screen, "anoniem")
        assert "postcode of een straat" in error_text(screen, "locatie")
    store = LocalStore(db_path)
    assert store.count(include_deleted=True) == 0
    assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert store.conn.execute("SELECT melding_counter FROM device").fetchone()[0] == 0
    store.close()


async def test_locked_database_keeps_the_form_filled(app_factory, db_path):
    app = app_factory(busy_timeout_ms=50)
    async with app.run_test(size=SIZE) as pilot:
        await type_call(pilot)
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, IntakeScreen)
            assert "bezet" in str(app.screen.query_one("#intake-error", Label).render())
            assert app.screen.query_one("#naam", Input).value == "Jan Jansen"
            assert app.screen.query_one("#telefoon", Input).value == "06-12345678"
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SavedModal)
        assert "DLF-K7-0001" in rendered(app.screen.query_one("#saved-body", Static))


async def test_no_device_code_asks_for_settings(app_factory, db_path):
    from wijkteam_tui.config import Config

    app = app_factory(config=Config(user="tester"))
    async with app.run_test(size=SIZE) as pilot:
        await type_call(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        assert "apparaatcode" in str(
            app.screen.query_one("#intake-error", Label).render()
        )
        await pilot.press("f9")
        app.screen.query_one("#device_code", Input).value = "k7"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        assert app.config.device_code == "K7"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SavedModal)


async def test_user_text_is_never_markup(app_factory, db_path):
    text = "Container [vol] [/] kapot [bold]x[/bold] [link=http://x]y[/link]"
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await type_call(pilot, naam="[red]Jan[/red]", omschrijving=text)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter", "escape")
        await to_list(pilot)
        table = app.screen.query_one("#lijst", DataTable)
        assert table.row_count == 1
        table.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        shown = rendered(app.screen.query_one("#detail-fields", Static))
        assert text in shown
        assert "[red]Jan[/red]" in shown
    store = LocalStore(db_path)
    assert store.get_by_reference("DLF-K7-0001").omschrijving == text
    store.close()
    assert Text(text).plain == text


async def test_categorie_picker_filters_and_tab_takes_a_single_match(app_factory):
    from wijkteam_tui.widgets import CategoriePicker

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.screen.query_one("#categorie").focus()
        await pilot.press(*"tegel")
        picker = app.screen.query_one(CategoriePicker)
        assert [c.code for c in picker._matches] == ["verharding/losse_tegel"]
        await pilot.press("tab")
        assert picker.code == "verharding/losse_tegel"
        assert app.focused.id == "vier_b"
        await pilot.press("3")
        assert app.screen.query_one("#vier_b").value.value == "bereikbaarheid"
        assert app.focused.id == "omschrijving"
        # ↓ picks the second match
        app.screen.query_one("#categorie").focus()
        app.screen.query_one("#categorie").value = ""
        await pilot.press(*"lantaarnpaal")
        assert len(picker._matches) == 2
        await pilot.press("down", "enter")
        assert picker.code == picker._matches[1].code


async def test_enter_on_an_empty_categorie_picks_nothing(app_factory):
    from wijkteam_tui.widgets import CategoriePicker

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.screen.query_one("#categorie").focus()
        picker = app.screen.query_one(CategoriePicker)
        await pilot.press("enter")  # one Enter too many: no silent first category
        assert picker.code is None and app.focused.id == "categorie"
        await pilot.press("down", "enter")  # browsing with the arrows is a choice
        assert picker.code == picker._matches[1].code
