"""The location machinery wired into the intake (issue 7): the 12 A / 12 B choice, a typed point
with its reverse look-up, the wijk from the wijken configuration, and nearby duplicates.

The sample gazetteer (made-up; Kerkstraat 12 exists only as 12 A and 12 B, postcode 7721EJ) and the
sample wijken configuration are used offline (``online=False``): nothing leaves the machine.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import Input, OptionList

from shared.enums import Status, VierB
from shared.events import MeldingFields
from shared.gazetteer import load_sample_gazetteer
from shared.geo import format_punt, rd_to_wgs84
from shared.model import Punt
from shared.wijken import BUITEN_GEMEENTE
from wijkteam_store.local import LocalStore
from wijkteam_tui.location.service import NO_ADDRESS_MESSAGE, LocationLookup
from wijkteam_tui.location.widgets import AddressChoiceModal, BuitenGemeenteModal, NearbyPanel
from wijkteam_tui.screens.dialogs import MelderAddedModal, SavedModal
from wijkteam_tui.screens.intake import IntakeScreen
from wijkteam_tui.widgets import FieldError, FieldInfo, MeldingForm

from .conftest import NOW, to_list
from .test_flow import SIZE, rendered

#: A point in the sample municipality (inside the Dalfsen-kern polygon) with no sample address
#: within 100 m.
LONELY = Punt(52.51, 6.27)


@pytest.fixture(scope="module")
def gazetteer():
    return load_sample_gazetteer()


@pytest.fixture
def location_app(app_factory, gazetteer):
    def factory(**kw):
        kw.setdefault("location", LocationLookup(gazetteer, online=False))
        return app_factory(**kw)

    return factory


def only_melding(db_path):
    with LocalStore(db_path) as store:
        rows = list(store.iter_rows())
        assert len(rows) == 1, rows
        return store.get(rows[0]["melding_id"])


def shown(widget) -> str:
    return rendered(widget) if widget.has_class("-shown") else ""


async def start_call(pilot, postcode="7721 EJ", nummer="12"):
    await pilot.press("n")
    await pilot.press(*"Jan Jansen", "enter", *"0612345678", "enter")
    await pilot.press(*postcode, "enter", *nummer, "enter")
    await pilot.pause()


async def finish_call(pilot, categorie="lamp", b="2", omschrijving="Lamp kapot"):
    await pilot.press(*categorie, "enter")
    await pilot.pause()


async def save(pilot, b="2", omschrijving="Lamp kapot"):
    await pilot.press(b, *omschrijving, "ctrl+s")
    await pilot.pause()
    assert isinstance(pilot.app.screen, SavedModal)
    await pilot.press("enter")


def test_gazetteer_has_twelve_a_and_b_only(gazetteer):
    # The premise of the choice tests: the sample has 12 A and 12 B and no plain 12.
    assert gazetteer.lookup("7721EJ", "12").status == "kies"
    assert len(gazetteer.lookup("7721EJ", "12").matches) == 2


async def test_number_without_letter_offers_the_choice(location_app, db_path, gazetteer):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_call(pilot, nummer="12")
        modal = app.screen
        assert isinstance(modal, AddressChoiceModal)
        assert [k.adres.huisnummer_text() for k in modal.keuzes] == ["12A", "12B"]
        assert "12A of 12B" in str(modal.query_one("#adreskeuze-message").render())
        assert modal.query_one(OptionList).option_count == 2
        await pilot.press("down", "enter")  # 12 B
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        form = app.screen.query_one(MeldingForm)
        assert form.text("huisnummer") == "12B"
        assert (form.text("straat"), form.text("woonplaats")) == ("Kerkstraat", "Dalfsen")
        # the cursor went on along the fast path: categorie
        assert app.focused is app.screen.query_one("#categorie", Input)
        await finish_call(pilot)
        await save(pilot)
    m = only_melding(db_path)
    b = gazetteer.lookup("7721EJ", "12B").matches[0]
    assert (m.adres.straat, m.adres.huisnummer, m.adres.huisletter) == ("Kerkstraat", 12, "B")
    assert m.punt == b.punt  # the chosen address's point, not 12 A's
    assert m.wijk == "dalfsen"


async def test_escape_on_the_choice_keeps_what_was_typed(location_app):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_call(pilot, nummer="12")
        assert isinstance(app.screen, AddressChoiceModal)
        await pilot.press("escape")
        form = app.screen.query_one(MeldingForm)
        assert form.text("huisnummer") == "12"
        assert form.text("straat") == ""
        assert form.current_punt() is None


@pytest.mark.parametrize("typed", ["12-a", "12 A", "12/a", "12a"])
async def test_letter_matches_ignoring_case_and_separators(location_app, db_path, gazetteer, typed):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_call(pilot, nummer=typed)
        assert isinstance(app.screen, IntakeScreen), "an exact match needs no choice"
        form = app.screen.query_one(MeldingForm)
        assert form.text("straat") == "Kerkstraat"
        assert form.current_punt() == gazetteer.lookup("7721EJ", "12A").matches[0].punt


async def test_point_without_address_is_location_only(location_app, db_path, gazetteer):
    assert gazetteer.nearest(LONELY.lat, LONELY.lon) is None  # the premise: nothing within 100 m
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.press(*"Jan Jansen", "enter")
        app.screen.query_one("#punt", Input).focus()
        await pilot.press(*"52,51 6,27", "enter")  # decimal commas, as people paste them
        await app.workers.wait_for_complete()  # the reverse look-up runs in a thread worker
        await pilot.pause()
        form = app.screen.query_one(MeldingForm)
        # offline (online=False): the message also says only local addresses were searched
        assert shown(form.query_one("#info-punt", FieldInfo)).strip() == (
            f"{NO_ADDRESS_MESSAGE} (offline: alleen lokale adressen)"
        )
        assert form.text("straat") == ""
        assert "Dalfsen-kern" in shown(form.query_one("#info-wijk", FieldInfo))
        assert app.focused is app.screen.query_one("#categorie", Input)
        await finish_call(pilot)
        await save(pilot)
        await pilot.press("escape")
        await to_list(pilot)  # the list shows the wijk's name, not its code
        row = [str(c) for c in app.screen.query_one("#lijst").get_row_at(0)]
        assert "Dalfsen-kern" in row and "dalfsen" not in row
    m = only_melding(db_path)
    assert m.adres is None
    assert m.punt == LONELY
    assert m.wijk == "dalfsen"  # from the wijk polygon


async def test_point_near_an_address_fills_it(location_app, db_path, gazetteer):
    b = gazetteer.lookup("7721EJ", "12B").matches[0]
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.screen.query_one("#punt", Input).focus()
        await pilot.press(*format_punt(b.punt), "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        form = app.screen.query_one(MeldingForm)
        assert "Dichtstbijzijnde adres: Kerkstraat 12B" in shown(form.query_one("#info-punt", FieldInfo))
        assert (form.text("straat"), form.text("huisnummer"), form.text("postcode")) == ("Kerkstraat", "12B", "7721 EJ")


async def test_rd_point_is_accepted(location_app, db_path):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.screen.query_one("#punt", Input).focus()
        await pilot.press(*"214074 502564", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        form = app.screen.query_one(MeldingForm)
        assert shown(form.query_one("#err-punt", FieldError)) == ""
        assert form.current_punt() == rd_to_wgs84(214074, 502564)


async def test_point_outside_nl_is_refused_with_swap_suggestion(location_app, db_path):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.press(*"Jan Jansen", "enter")
        app.screen.query_one("#punt", Input).focus()
        await pilot.press(*"6.2582183, 52.506761", "enter")
        await pilot.pause()
        form = app.screen.query_one(MeldingForm)
        message = shown(form.query_one("#err-punt", FieldError))
        assert "Zijn breedte en lengte omgedraaid?" in message
        assert "breedte 52.5067610, lengte 6.2582183" in message
        assert form.current_punt() is None
        await finish_call(pilot)
        await pilot.press("2", *"Lamp", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen), "nothing is saved with a wrong point"
        assert app.focused is app.screen.query_one("#punt", Input)
    with LocalStore(db_path) as store:
        assert store.count(include_deleted=True) == 0


async def test_address_outside_the_municipality(location_app, db_path):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_call(pilot, postcode="1234 AB", nummer="5")
        form = app.screen.query_one(MeldingForm)
        assert isinstance(app.screen, IntakeScreen)
        assert BUITEN_GEMEENTE in shown(form.query_one("#info-wijk", FieldInfo))
        assert "1234 AB" in shown(form.query_one("#info-huisnummer", FieldInfo))
        form.query_one("#straat", Input).value = "Damstraat"
        await finish_call(pilot)
        await pilot.press("2", *"Lamp kapot", "ctrl+s")
        await pilot.pause()
        # an explicit confirm step (tests/tui/test_location_steps.py has the other choices)
        assert isinstance(app.screen, BuitenGemeenteModal)
        await pilot.press("enter")  # bevestigen: saved all the same
        await pilot.pause()
        assert isinstance(app.screen, SavedModal)
        await pilot.press("enter")
    m = only_melding(db_path)
    assert m.wijk is None
    assert m.adres.postcode == "1234AB"


def _register_original(db_path, gazetteer, *, categorie="verlichting/lantaarnpaal", days_ago=3):
    a = gazetteer.lookup("7721EJ", "12A").matches[0]
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("eerder")
        m = store.register(
            dev,
            prefix="DLF",
            fields=MeldingFields(
                omschrijving="Lantaarnpaal brandt niet",
                categorie=categorie,
                vier_b=VierB.BETROKKENHEID,
                adres=a.adres,
                punt=a.punt,
            ),
            registered_at=NOW - timedelta(days=days_ago),
        )
        return m.reference


async def test_caller_of_a_known_problem_becomes_a_second_melder(location_app, db_path, gazetteer):
    """Issue 14: the possible duplicate is shown in the form (no window takes the keys typed
    meanwhile); F4 selects it, and saving adds the caller to it as a second melder — called back
    and counted — instead of registering (and cancelling) a melding of their own."""
    original = _register_original(db_path, gazetteer)
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_call(pilot, nummer="12b")  # 12 B: a few metres from 12 A
        await finish_call(pilot, categorie="lamp")
        assert isinstance(app.screen, IntakeScreen)  # no window
        assert app.focused is app.screen.query_one("#vier_b")  # the cursor went on as typed
        panel = app.screen.query_one(NearbyPanel)
        assert [h.reference for h in panel.hits] == [original]
        assert original in shown(panel) and "F4" in shown(panel)
        await pilot.press("f4")
        assert panel.reference == original
        assert f"melder van {original}" in shown(panel)
        await pilot.press("tab", *"Ook bij nummer 12B", "ctrl+s")  # no B needed: the original has one
        await pilot.pause()
        assert isinstance(app.screen, MelderAddedModal)
        body = rendered(app.screen.query_one("#saved-body"))
        assert original in body and "melder 2" in body
        await pilot.press("enter")
        assert isinstance(app.screen, IntakeScreen)
        assert not panel.hits  # the form is empty again, and so is the panel
    with LocalStore(db_path) as store:
        assert store.count() == 1  # no melding of their own
        m = store.get_by_reference(original)
        row = next(store.iter_rows())
    assert m.status == Status.GEMELD and m.melder_count == 2
    second = m.melders[0]
    assert (second.melder.naam, second.melder.telefoon) == ("Jan Jansen", "+31612345678")
    assert second.omschrijving == "Ook bij nummer 12B"
    assert row["melder_count"] == 2
    assert any("Tweede melder" in h.summary for h in m.history)


async def test_f4_cycles_through_the_hits_and_back_to_a_new_melding(location_app, db_path, gazetteer):
    original = _register_original(db_path, gazetteer)
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_call(pilot, nummer="12a")
        await finish_call(pilot, categorie="lamp")
        panel = app.screen.query_one(NearbyPanel)
        await pilot.press("f4")
        assert panel.reference == original
        await pilot.press("f4")  # past the last one: a new melding after all
        assert panel.reference is None and "F4" in shown(panel)
        await save(pilot)
    with LocalStore(db_path) as store:
        new = [store.get(r["melding_id"]) for r in store.iter_rows() if r["reference"] != original]
        assert store.get_by_reference(original).melder_count == 1
    assert len(new) == 1
    assert new[0].status == Status.GEMELD
    assert new[0].duplicaat_van is None


@pytest.mark.parametrize(
    ("categorie", "days_ago"),
    [("groen/boom", 3), ("verlichting/lantaarnpaal", 7 * 13)],  # other categorie; older than 12 weeks
)
async def test_no_panel_without_a_real_candidate(location_app, db_path, gazetteer, categorie, days_ago):
    _register_original(db_path, gazetteer, categorie=categorie, days_ago=days_ago)
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_call(pilot, nummer="12a")
        await finish_call(pilot, categorie="lamp")
        assert isinstance(app.screen, IntakeScreen)
        assert app.focused is app.screen.query_one("#vier_b")
        assert shown(app.screen.query_one(NearbyPanel)) == ""
        await save(pilot)
    with LocalStore(db_path) as store:
        assert store.count() == 2


async def test_typed_point_triggers_the_check_after_the_categorie(location_app, db_path, gazetteer):
    original = _register_original(db_path, gazetteer)
    a = gazetteer.lookup("7721EJ", "12A").matches[0]
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.screen.query_one("#categorie", Input).focus()
        await finish_call(pilot, categorie="lamp")
        panel = app.screen.query_one(NearbyPanel)
        assert not panel.hits  # no point yet: nothing to compare
        app.screen.query_one("#punt", Input).focus()
        await pilot.press(*format_punt(Punt(a.lat + 0.0001, a.lon)), "enter")  # about 11 m north
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        assert panel.hits[0].reference == original


async def test_background_sync_refreshes_the_gazetteer(app_factory, db_path, tmp_path):
    from importlib import resources

    from wijkteam_tui.config import Config
    from wijkteam_tui.location.download import GAZETTEER_FILE

    folder = tmp_path / "data"
    folder.mkdir()
    asked = []

    def sync(store, url, token, *, gazetteer_dir):
        # stands in for sync_client.sync_once, which downloads the address file into gazetteer_dir
        asked.append(gazetteer_dir)
        sample = resources.files("shared").joinpath("data/sample_gazetteer.csv").read_text(encoding="utf-8")
        (gazetteer_dir / GAZETTEER_FILE).write_text(sample, encoding="utf-8")

    location = LocationLookup(None, online=False)
    config = Config(device_code="K7", user="t", server_url="http://127.0.0.1:9", token="t", sync_interval_s=3600)
    app = app_factory(config=config, sync_fn=sync, auto_sync=True, location=location, gazetteer_dir=folder)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert asked == [folder]
        assert location.gazetteer is not None
        await start_call(pilot, nummer="12")
        assert isinstance(app.screen, AddressChoiceModal)


def test_nearby_query_uses_the_partial_index(db_path):
    # The check runs in the UI thread on every categorie/point pair: it must be an index range scan.
    from shared.nearby import candidate_bounds

    with LocalStore(db_path) as store:
        b = candidate_bounds(52.5, 6.25, NOW)
        plan = store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT melding_id FROM meldingen WHERE categorie = ? AND is_open = 1 "
            "AND deleted = 0 AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? AND registered_at >= ?",
            ("groen/boom", b["min_lat"], b["max_lat"], b["min_lon"], b["max_lon"], b["since"]),
        ).fetchall()
    assert "meldingen_nearby" in " ".join(str(r[-1]) for r in plan)
