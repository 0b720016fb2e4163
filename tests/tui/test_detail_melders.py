"""The detail screen lists every melder and the meldingen linked as duplicates; the call-back is
logged for the melder chosen; a call-back time typed in the future is refused; the status dialog
proposes the next step forward (issue 14)."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input, Label, Select

from shared import commands
from shared.enums import Kanaal, Status, VierB
from shared.events import MeldingFields
from shared.model import Melder
from shared.nearby import link_duplicate
from wijkteam_store.local import LocalStore
from wijkteam_tui.screens.detail import DetailScreen
from wijkteam_tui.screens.dialogs import CallbackModal, StatusModal

from .conftest import NOW
from .test_flow import SIZE, rendered

FIELDS = MeldingFields(
    omschrijving="Lamp kapot",
    categorie="verlichting/lantaarnpaal",
    vier_b=VierB.BETROKKENHEID,
    melder=Melder(naam="Jan Jansen", telefoon="+31612345678"),
)


def _prepare(db_path) -> tuple[str, str, str]:
    """A planned melding with a second melder and a duplicate registered on its own; returns
    (melding id, the second melder's key, the original's reference)."""
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        # Stamped in the tests' "now" (the app's fixed clock), an hour before it.
        dev = store.device_clock("tester", clock=lambda: int((NOW - timedelta(hours=1)).timestamp() * 1000))
        m = store.register(dev, prefix="DLF", fields=FIELDS, registered_at=NOW - timedelta(days=1))
        store.append([commands.add_melder(dev, m, kanaal=Kanaal.MONDELING, melder=Melder(naam="Piet", telefoon="+31687654321"),
                                          at=NOW - timedelta(hours=20), omschrijving="Ook bij de kerk")], dev)  # fmt: skip
        store.append([commands.change_status(dev, store.get(m.melding_id), Status.IN_BEHANDELING)], dev)
        store.append([commands.change_status(dev, store.get(m.melding_id), Status.INGEPLAND)], dev)
        dup = store.register(dev, prefix="DLF", fields=FIELDS, registered_at=NOW - timedelta(hours=2))
        store.append(link_duplicate(dev, dup, m.reference), dev)
        m = store.get(m.melding_id)
        return m.melding_id, m.melders[0].event_id, m.reference


async def test_detail_lists_melders_duplicates_and_logs_the_call_back_for_the_one_chosen(app_factory, db_path):
    melding_id, piet, reference = _prepare(db_path)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await pilot.pause()
        notes = rendered(app.screen.query_one("#detail-notes"))
        assert "Melders (2)" in notes and "Jan Jansen" in notes and "Piet" in notes and "Ook bij de kerk" in notes
        assert "nog niet" in notes and "Nog terugbellen: 2 melders" in notes
        assert "Dubbele meldingen (1)" in notes and "DLF-K7-0002" in notes
        fields = rendered(app.screen.query_one("#detail-fields"))
        assert "+1 melder" in fields and "niet toegewezen" in fields

        await pilot.press("s")
        assert isinstance(app.screen, StatusModal)
        assert app.screen.query_one("#naar").value == Status.AFGEHANDELD.value  # forward, not back
        await pilot.press("escape")

        await pilot.press("t")
        modal = app.screen
        assert isinstance(modal, CallbackModal)
        choice = modal.query_one("#melder", Select)
        assert choice.value == "1"  # both wait; the first melder first
        choice.value = piet
        modal.query_one("#tekst", Input).value = "Wordt deze week gemaakt"
        modal.query_one("#tijdstip", Input).value = (NOW + timedelta(days=1)).strftime("%d-%m-%Y %H:%M")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is modal  # refused: in the future
        assert "in de toekomst" in str(modal.query_one("#callback-error", Label).render())
        modal.query_one("#tijdstip", Input).value = "24-04-2026 10:00"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        notes = rendered(app.screen.query_one("#detail-notes"))
        assert "Nog terugbellen: de melder" in notes
    with LocalStore(db_path) as store:
        m = store.get(melding_id)
        (callback,) = m.terugkoppelingen
        assert callback.melder == piet and callback.tekst == "Wordt deze week gemaakt"
        assert m.terugbellen()[0] == 1
        row = next(r for r in store.iter_rows() if r["melding_id"] == melding_id)
        assert row["terugbellen"] == 1 and row["melder_count"] == 2
        assert reference == m.reference
