"""The status dialog says plainly which text is internal and which is told to the resident."""

from __future__ import annotations

from textual.widgets import Label

from shared.events import MeldingFields
from wijkteam_store.local import LocalStore
from wijkteam_tui.screens.detail import DetailScreen

from .test_flow import SIZE


async def test_status_dialog_separates_the_internal_note_from_the_text_for_the_resident(app_factory, db_path):
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        m = store.register(store.device_clock("piet"), prefix="DLF", fields=MeldingFields(omschrijving="Lamp kapot"))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(DetailScreen(m.melding_id))
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        labels = [str(label.render()) for label in app.screen.query(Label)]
        assert "Interne notitie (alleen voor collega's, niet openbaar)" in labels
        assert "Bericht voor de melder (openbaar: statuspagina, Open311 en KCC)" in labels
        app.screen.query_one("#naar").value = "afgehandeld"
        app.screen.query_one("#notitie").focus()
        await pilot.press(*"Kabel doorgeknaagd")
        app.screen.query_one("#voor_melder").focus()
        await pilot.press(*"Lamp vervangen")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
    with LocalStore(db_path) as store:
        done = store.get(m.melding_id)
    assert done.public_note() == "Lamp vervangen"
    assert {(n.tekst, n.openbaar) for n in done.notes} == {("Kabel doorgeknaagd", False), ("Lamp vervangen", True)}
