"""The melding screen's AVG actions (issue 16): anonymise the melder and delete/restore with a
reason, each behind a confirmation; deleting only for a role that may (``shared.avg.DELETE_ROLES``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import Label, TextArea

from shared.enums import VierB
from shared.events import MeldingFields
from shared.model import Melder
from wijkteam_store.local import LocalStore
from wijkteam_tui.config import Config
from wijkteam_tui.screens import kcc
from wijkteam_tui.screens.detail import DetailScreen
from wijkteam_tui.screens.dialogs import ReasonModal

from .conftest import NOW, settle
from .test_flow import SIZE, rendered

FIELDS = MeldingFields(
    omschrijving="Lamp kapot, Jan Jansen belt 06-12345678",
    categorie="verlichting/lantaarnpaal",
    vier_b=VierB.BETROKKENHEID,
    melder=Melder(naam="Jan Jansen", telefoon="+31612345678"),
)


def _registered(db_path) -> str:
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("tester", clock=lambda: int((NOW - timedelta(hours=1)).timestamp() * 1000))
        return store.register(dev, prefix="DLF", fields=FIELDS, registered_at=NOW - timedelta(days=1)).melding_id


async def test_anonymise_from_the_melding_screen(app_factory, db_path):
    melding_id = _registered(db_path)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        names = [c.title for c in app.get_system_commands(app.screen)]
        assert "Melder anonimiseren" in names and "Verwijderen" in names and "Terugzetten" not in names
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("escape")  # cancelled: nothing happens
        await settle(pilot)
        assert "Jan Jansen" in rendered(app.screen.query_one("#detail-fields"))
        await pilot.press("a")
        await settle(pilot)
        app.screen.query_one("#reden", TextArea).text = "verzoek van de melder"
        await pilot.press("ctrl+s")
        await settle(pilot)
        fields = rendered(app.screen.query_one("#detail-fields"))
        assert "geanonimiseerd op" in fields and "Jan Jansen" not in fields and "Jansen" not in fields
        assert "melder geanonimiseerd" in rendered(app.screen.query_one("#detail-title"))
        assert "Melder anonimiseren" not in [c.title for c in app.get_system_commands(app.screen)]
    with LocalStore(db_path) as store:
        m = store.get(melding_id)
        assert m is not None and m.anonymised and "[geanonimiseerd]" in m.omschrijving
        assert store.pending_count() == 2  # the registration (rewritten) and the anonymisation
    data = db_path.read_bytes()
    assert b"Jansen" not in data and b"612345678" not in data


@pytest.mark.parametrize(("role", "allowed"), [("wijkuitvoerder", False), ("admin", True), (None, False)])
async def test_delete_needs_a_role_that_may_and_a_reason(app_factory, db_path, monkeypatch, role, allowed):
    melding_id = _registered(db_path)
    asked = []
    monkeypatch.setattr(kcc, "token_role", lambda url, token, **kw: asked.append(url) or role)
    config = Config(device_code="K7", user="tester", prefix="DLF", server_url="http://127.0.0.1:9", token="wt_x")
    app = app_factory(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert asked == ["http://127.0.0.1:9"]
        if not allowed:
            assert isinstance(app.screen, DetailScreen)
            error = str(app.screen.query_one("#detail-error", Label).render())
            assert ("Alleen een beheerder" in error) if role else ("niet bereikbaar" in error)
            return
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Geef een reden op" in str(app.screen.query_one("#reason-error", Label).render())
        app.screen.query_one("#reden", TextArea).text = "dubbel ingevoerd"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "VERWIJDERD" in rendered(app.screen.query_one("#detail-title"))
        assert "Terugzetten" in [c.title for c in app.get_system_commands(app.screen)]
        await pilot.press("z")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "VERWIJDERD" not in rendered(app.screen.query_one("#detail-title"))
