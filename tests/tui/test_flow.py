"""The whole flow through the real app: a call is typed, saved, found, survives a restart, is
closed with a note, and the history shows every step."""

from __future__ import annotations

import os

from textual.widgets import DataTable, Input, Label, Static

from wijkteam_store.local import LocalStore
from wijkteam_tui.screens.detail import DetailScreen
from wijkteam_tui.screens.dialogs import SavedModal
from wijkteam_tui.screens.intake import IntakeScreen
from wijkteam_tui.screens.meldingen import MeldingenScreen
from wijkteam_tui.screens.werkvoorraad import WerkvoorraadScreen

from .conftest import to_list

SIZE = (120, 40)


async def type_call(
    pilot,
    *,
    naam="Jan Jansen",
    telefoon="06-12345678",
    postcode="7721 EJ",
    nummer="12a",
    categorie="lamp",
    b="2",
    omschrijving="Container [vol] [/] kapot",
) -> None:
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

    with open(os.devnull, "w") as sink:
        console = Console(width=200, record=True, file=sink)
        console.print(widget.content)
        return console.export_text()


async def test_full_flow(app_factory, db_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, WerkvoorraadScreen)  # the day starts on Mijn werkvoorraad
        await type_call(pilot)
        assert isinstance(app.screen, IntakeScreen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SavedModal), app.screen.query_one(
            "#intake-error", Label
        ).render()
        body = str(app.screen.query_one("#saved-body", Static).render())
        assert "DLF-K7-0001" in body
        assert (
            "maandag 4 mei 2026" in body
        )  # 5 working days after Fri 24 Apr, King's Day skipped
        assert "5 werkdagen" in body
        await pilot.press("enter")  # next call: empty form
        assert app.screen.query_one("#naam", Input).value == ""
        await pilot.press(*"Half")
        await pilot.press("escape")
        await pilot.press("n")  # a half-typed call survives going to the list and back
        assert app.screen.query_one("#naam", Input).value == "Half"
        await pilot.press("ctrl+l", "escape")
        assert isinstance(app.screen, WerkvoorraadScreen)
        await to_list(pilot)
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
        assert "1–1 van 1" in str(app.screen.query_one("#paging", Label).render())

    stored = LocalStore(db_path)
    m = stored.get_by_reference("DLF-K7-0001")
    assert m.omschrijving == "Container [vol] [/] kapot"
    assert m.melder.telefoon == "+31612345678"
    assert (m.adres.postcode, m.adres.huisnummer, m.adres.huisletter) == (
        "7721EJ",
        12,
        "A",
    )
    # filled by the address hook from postcode + number; the wijk code from the (sample) wijken
    # configuration, shared.wijken
    from shared.wijken import load_wijken

    expected_wijk = load_wijken().resolve(m.adres, m.punt).wijk
    assert expected_wijk == "dalfsen"
    assert (m.adres.straat, m.adres.woonplaats, m.wijk) == (
        "Kerkstraat",
        "Dalfsen",
        expected_wijk,
    )
    assert m.punt is not None
    assert m.categorie == "verlichting/lantaarnpaal"
    assert m.vier_b.value == "betrokkenheid"
    stored.close()

    # restart on the same database
    app2 = app_factory()
    async with app2.run_test(size=SIZE) as pilot:
        await to_list(pilot)
        table = app2.screen.query_one("#lijst", DataTable)
        assert table.row_count == 1
        table.focus()
        await pilot.press("enter")
        assert isinstance(app2.screen, DetailScreen)
        # status change: afgehandeld needs a note; without one the dialog refuses
        await pilot.press("s")
        await pilot.pause()

        app2.screen.query_one("#naar").value = "afgehandeld"
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
    assert [e.type for e in events] == ["created", "assigned", "status_changed", "callback_logged"]
    assert [e.device_seq for e in events] == [1, 2, 3, 4]
    assert stored.pending_count() == 4
    stored.close()


async def test_list_pages_and_counts_in_a_worker(app_factory, db_path):
    from wijkteam_tui.demo import fill_demo
    from wijkteam_tui.screens.meldingen import PAGE_SIZE

    from .conftest import NOW

    store = LocalStore(db_path)
    fill_demo(store, 130, now=NOW, seed=2)
    newest = store.search(limit=1)[0]["reference"]
    store.close()
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_list(pilot)
        screen = app.screen
        table = screen.query_one("#lijst", DataTable)
        assert table.row_count == PAGE_SIZE
        assert str(table.get_row_at(0)[0]) == newest
        assert (
            str(screen.query_one("#paging", Label).render())
            == f"1–{PAGE_SIZE} van 130 · pagina 1/3"
        )
        await pilot.press(
            "right_square_bracket", "right_square_bracket", "right_square_bracket"
        )
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count == 130 - 2 * PAGE_SIZE
        assert (
            str(screen.query_one("#paging", Label).render())
            == f"{2 * PAGE_SIZE + 1}–130 van 130 · pagina 3/3"
        )
        await pilot.press("left_square_bracket")
        assert table.row_count == PAGE_SIZE
        # filter: overdue at the fixed clock
        await pilot.press("ctrl+o")
        await app.workers.wait_for_complete()
        await pilot.pause()
        store = LocalStore(db_path)
        expected = store.count(overdue=True, now=NOW)
        store.close()
        assert 0 < expected == table.row_count
        assert all(
            str(table.get_row_at(i)[-1]).startswith("!") for i in range(table.row_count)
        )


async def test_edit_makes_an_event_per_change(app_factory, db_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await type_call(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter", "escape")
        await to_list(pilot)
        app.screen.query_one("#lijst", DataTable).focus()
        await pilot.press("enter", "e")
        await pilot.pause()
        from textual.widgets import TextArea

        app.screen.query_one("#omschrijving", TextArea).text = "Lamp knippert"
        app.screen.query_one("#telefoon", Input).value = "0529-456789"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        history = rendered(app.screen.query_one("#detail-history", Static))
        assert "Gewijzigd: melder, omschrijving" in history
    store = LocalStore(db_path)
    m = store.get_by_reference("DLF-K7-0001")
    assert (m.omschrijving, m.melder.telefoon) == ("Lamp knippert", "+31529456789")
    assert [e.type for e in store.events_of(m.melding_id)] == [
        "created",
        "assigned",  # the wijk's wijkuitvoerder (sample configuration)
        "fields_changed",
    ]
    store.close()


async def test_detail_shows_the_value_a_concurrent_edit_overwrote(app_factory, db_path):
    from shared import commands
    from shared.events import MeldingFields
    from wijkteam_store.local import LocalStore
    from wijkteam_tui.screens.detail import DetailScreen

    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        m = store.register(store.device_clock("piet"), prefix="DLF", fields=MeldingFields(omschrijving="Tegel los"))
        # Two laptops edit the same field from the same version: the later write wins, the other is kept.
        for device, text in (("K7", "Tegel los bij de ingang"), ("M2", "Twee tegels los")):
            dev = commands.DeviceClock(device, "piet", hlc=store.device_clock("piet").hlc)
            store.append(commands.edit(dev, m, {"omschrijving": text}), dev)
        winner = store.get(m.melding_id).omschrijving
    loser = ({"Tegel los bij de ingang", "Twee tegels los"} - {winner}).pop()
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(DetailScreen(m.melding_id))
        await pilot.pause()
        history = rendered(app.screen.query_one("#detail-history"))
        assert f"overschreven door een gelijktijdige wijziging; was: «{loser}»" in history
