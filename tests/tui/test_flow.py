"""The whole flow through the real app: a call is typed, saved, found, survives a restart, is
closed with a note, and the history shows every step."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Label, Static

from wijkteam_tui.screens.detail import DetailScreen
from wijkteam_tui.screens.dialogs import SavedModal
from wijkteam_tui.screens.intake import IntakeScreen
from wijkteam_tui.screens.meldingen import MeldingenScreen
from wijkteam_tui.store import LocalStore

SIZE = (120, 40)


async def type_call(pilot, *, naam="Jan Jansen", telefoon="06-12345678", postcode="7721 EJ", nummer="12a",
                    categorie="lamp", b="2", omschrijving="Container [vol] [/] kapot") -> None:
    """The fast path of docs/intake.md: name ⏎ phone ⏎ postcode ⏎ number ⏎ category ⏎ B text."""
    await pilot.press("n")
    await pilot.press(*naam, "enter")
    await pilot.press(*telefoon, "enter")
    await pilot.press(*postcode, "enter")
    await pilot.press(*nummer, "enter")
    await pilot.press(*categorie, "enter")
    await pilot.press(b)
    await pilot.press(*omschrijving)


def rendered(widget) -> str:
    """The plain text a Static shows (a Rich renderable rendered wide, so nothing is cut)."""
    from rich.console import Console

    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(widget.content)
    return console.export_text()


async def test_full_flow(app_factory, db_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, MeldingenScreen)
        await type_call(pilot)
        assert isinstance(app.screen, IntakeScreen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SavedModal), app.screen.query_one("#intake-error", Label).render()
        body = str(app.screen.query_one("#saved-body", Static).render())
        assert "DLF-K7-0001" in body
        assert "maandag 4 mei 2026" in body  # 5 working days after Fri 24 Apr, King's Day skipped
        assert "5 werkdagen" in body
        await pilot.press("enter")  # next call: empty form
        assert app.screen.query_one("#naam", Input).value == ""
        await pilot.press("escape")
        assert isinstance(app.screen, MeldingenScreen)
        table = app.screen.query_one("#lijst", DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[0]) == "DLF-K7-0001"
        # search as you type, by street and by phone
        await pilot.press("slash", *"Kerkstr")
        assert table.row_count == 1
        await pilot.press(*" zz")
        assert table.row_count == 0
        app.screen.query_one("#zoek", Input).value = "0612345"
        await pilot.pause()
        assert table.row_count == 1

    stored = LocalStore(db_path)
    m = stored.get_by_reference("DLF-K7-0001")
    assert m.omschrijving == "Container [vol] [/] kapot"
    assert m.melder.telefoon == "+31612345678"
    assert (m.adres.postcode, m.adres.huisnummer, m.adres.huisletter) == ("7721EJ", 12, "A")
    # filled by the address hook from postcode + number
    assert (m.adres.straat, m.adres.woonplaats, m.wijk) == ("Kerkstraat", "Dalfsen", "Dalfsen")
    assert m.punt is not None
    assert m.categorie == "verlichting/lantaarnpaal"
    assert m.vier_b.value == "betrokkenheid"
    stored.close()

    # restart on the same database
    app2 = app_factory()
    async with app2.run_test(size=SIZE) as pilot:
        table = app2.screen.query_one("#lijst", DataTable)
        assert table.row_count == 1
        table.focus()
        await pilot.press("enter")
        assert isinstance(app2.screen, DetailScreen)
        # status change: afgehandeld needs a note; without one the dialog refuses
        await pilot.press("s")
        await pilot.pause()
        from textual.widgets import Select

        app2.screen.query_one("#naar", Select).value = "afgehandeld"
        await pilot.press("ctrl+s")
        error = app2.screen.query_one("#status-error", Label)
        assert "een notitie verplicht" in str(error.render())
        app2.screen.query_one("#notitie").focus()
        await pilot.press(*"Lamp vervangen")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app2.screen, DetailScreen)
        assert app2.screen.melding.status.value == "afgehandeld"
        history = rendered(app2.screen.query_one("#detail-history", Static))
        # every step, with device and user
        assert "Geregistreerd als DLF-K7-0001" in history
        assert "Status Gemeld → Afgehandeld" in history
        assert "tester" in history and "K7" in history
        notes = rendered(app2.screen.query_one("#detail-notes", Static))
        assert "Lamp vervangen" in notes
        # a terugkoppeling
        await pilot.press("t")
        await pilot.pause()
        app2.screen.query_one("#tekst").focus()
        await pilot.press(*"Gebeld, opgelost", "enter")
        await pilot.pause()
        history = rendered(app2.screen.query_one("#detail-history", Static))
        assert "Terugkoppeling via Telefoon" in history
    stored = LocalStore(db_path)
    events = stored.events_of(stored.get_by_reference("DLF-K7-0001").melding_id)
    assert [e.type for e in events] == ["created", "status_changed", "callback_logged"]
    assert [e.device_seq for e in events] == [1, 2, 3]
    assert stored.pending_count() == 3
    stored.close()
