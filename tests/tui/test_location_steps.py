"""The intake's location steps left open by issue 7: free-text address search (local gazetteer first,
PDOK ``suggest`` when online, from a worker), the wijk picker, and the explicit confirm step for a
location outside the municipality.

The sample gazetteer and the sample wijken are used; online answers are the recorded PDOK answers of
``tests/location/fixtures`` behind a fake geopy adapter. Any geocoder built without one fails the
test if it is asked for a URL: nothing leaves the machine.
"""

from __future__ import annotations

import threading

import geopy.geocoders
import pytest
from textual.widgets import Input, OptionList

from shared.enums import Status, VierB
from shared.events import MeldingFields
from shared.gazetteer import load_sample_gazetteer
from shared.wijken import BUITEN_GEMEENTE
from tests.location.fakes import ESCAPED, NoNetworkAdapter, Online, http_503, pdok_routes
from wijkteam_store.local import LocalStore
from wijkteam_tui.location.geocoders import PDOKLocatieserver
from wijkteam_tui.location.service import OFFLINE_MESSAGE, LocationLookup
from wijkteam_tui.location.widgets import GEEN_ADRES_MESSAGE, AdresZoeker, BuitenGemeenteModal, DoorgezetModal
from wijkteam_tui.screens.dialogs import SavedModal
from wijkteam_tui.screens.edit import EditScreen
from wijkteam_tui.screens.intake import IntakeScreen
from wijkteam_tui.widgets import FieldInfo, MeldingForm, WijkPicker

from .test_flow import SIZE, rendered, type_call

#: PDOK query parameters v3.1 accepts (it rejects others), as in tests/location/test_geocoders.py.
ALLOWED_PDOK_PARAMS = {"q", "fq", "rows", "fl", "lat", "lon", "type", "distance", "id", "start", "sort", "df", "bq"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(geopy.geocoders.options, "default_adapter_factory", NoNetworkAdapter)
    ESCAPED.clear()
    yield
    assert ESCAPED == [], f"a test tried to reach the network: {ESCAPED}"


@pytest.fixture(scope="module")
def gazetteer():
    return load_sample_gazetteer()


@pytest.fixture
def location_app(app_factory, gazetteer):
    def factory(location=None, **kw):
        kw["location"] = location or LocationLookup(gazetteer, online=False)
        return app_factory(**kw)

    return factory


def online_lookup(gazetteer, online: Online) -> LocationLookup:
    pdok = PDOKLocatieserver(adapter_factory=online.adapter())
    return LocationLookup(gazetteer, online=True, pdok=pdok, use_nominatim=False)


def shown(widget) -> str:
    return rendered(widget).strip() if widget.has_class("-shown") else ""


def form(app) -> MeldingForm:
    return app.screen.query_one(MeldingForm)


def suggestions(app) -> list[str]:
    options = app.screen.query_one("#adres-suggesties", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def hint(app) -> str:
    return shown(app.screen.query_one("#adres-zoek-hint"))


def only_melding(db_path):
    with LocalStore(db_path) as store:
        rows = list(store.iter_rows())
        assert len(rows) == 1, rows
        return store.get(rows[0]["melding_id"])


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def to_search_field(pilot) -> None:
    """From a new form to the search field by keyboard: naam ⏎ telefoon ⏎ (postcode), Shift+Tab."""
    await pilot.press("n", *"Jan Jansen", "enter", *"0612345678", "enter", "shift+tab")
    assert pilot.app.focused is pilot.app.screen.query_one("#adres_zoek", Input)


async def finish_and_save(pilot, *, categorie="lamp", b="2", omschrijving="Lamp kapot") -> None:
    await pilot.press(*categorie, "enter", b, *omschrijving, "ctrl+s")
    await pilot.pause()


# -- free-text search -------------------------------------------------------------------------------


async def test_free_text_search_offers_local_addresses_and_fills_the_choice(location_app, db_path, gazetteer):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"kerkstr 12 dalfsen")
        await settle(pilot)
        assert suggestions(app) == ["Kerkstraat 12A, 7721 EJ Dalfsen", "Kerkstraat 12B, 7721 EJ Dalfsen"]
        assert app.screen.query_one(AdresZoeker).has_class("-open")
        # online=False: quietly local only; the hint names the house Enter takes
        assert hint(app) == f"Enter neemt: Kerkstraat 12A, 7721 EJ Dalfsen · {OFFLINE_MESSAGE}"
        await pilot.press("down", "down", "enter")  # the first ↓ goes to 12 A, the second to 12 B
        await pilot.pause()
        f = form(app)
        assert (f.text("postcode"), f.text("huisnummer"), f.text("straat"), f.text("woonplaats")) == (
            "7721 EJ", "12B", "Kerkstraat", "Dalfsen",
        )
        assert f.text("adres_zoek") == "" and suggestions(app) == []
        assert app.focused is app.screen.query_one("#categorie", Input)  # on along the fast path
        assert app.screen.query_one(WijkPicker).value == "dalfsen"
        await finish_and_save(pilot)
        assert isinstance(app.screen, SavedModal)
        await pilot.press("enter")
    m = only_melding(db_path)
    b = gazetteer.lookup("7721EJ", "12B").matches[0]
    assert (m.adres.straat, m.adres.huisnummer, m.adres.huisletter, m.adres.postcode) == ("Kerkstraat", 12, "B", "7721EJ")
    assert m.punt == b.punt and m.wijk == "dalfsen"


async def test_search_nothing_found_offline_gives_a_dutch_hint(location_app):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"grote markt zwolle")
        await settle(pilot)
        assert suggestions(app) == []
        assert hint(app) == f"{GEEN_ADRES_MESSAGE[:-1]} ({OFFLINE_MESSAGE})."
        await pilot.press("enter")  # nothing to take: on to Postcode to type it
        assert app.focused is app.screen.query_one("#postcode", Input)
        assert isinstance(app.screen, IntakeScreen)


async def test_text_too_short_asks_nothing(location_app):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert suggestions(app) == [] and hint(app) == ""


class SlowLocal(LocationLookup):
    """A gazetteer look-up that, for text ending in ``hold``, waits until the test lets it answer
    (no sleeps)."""

    def __init__(self, *a, hold: str, **kw):
        super().__init__(*a, **kw)
        self.hold = hold
        self.release = threading.Event()

    def suggest_local(self, text, **kw):
        if text.endswith(self.hold):
            assert self.release.wait(30)
        return super().suggest_local(text, **kw)


async def test_enter_before_the_answer_takes_the_single_hit(location_app, gazetteer):
    location = SlowLocal(gazetteer, online=False, hold="lemelerveld")
    app = location_app(location)
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"dorpsstr 3 lemelerveld", "enter")  # the worker is still waiting
        await pilot.pause()
        assert form(app).text("straat") == "", "nothing is taken before the answer is in"
        location.release.set()
        await settle(pilot)
        f = form(app)
        assert (f.text("straat"), f.text("huisnummer"), f.text("woonplaats")) == ("Dorpsstraat", "3", "Lemelerveld")
        assert app.screen.query_one(WijkPicker).value == "lemelerveld"
        assert app.focused is app.screen.query_one("#categorie", Input)


async def test_enter_before_the_answer_with_several_hits_opens_the_list(location_app, gazetteer):
    location = SlowLocal(gazetteer, online=False, hold="dalfsen")
    app = location_app(location)
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"kerkstr 12 dalfsen", "enter")
        await pilot.pause()
        location.release.set()
        await settle(pilot)
        # two addresses: nothing is guessed, the list is there to choose from
        assert suggestions(app) == ["Kerkstraat 12A, 7721 EJ Dalfsen", "Kerkstraat 12B, 7721 EJ Dalfsen"]
        assert form(app).text("straat") == ""
        assert app.focused is app.screen.query_one("#adres_zoek", Input)
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert form(app).text("huisnummer") == "12B"


class SlowOnline(LocationLookup):
    """PDOK ``suggest`` that waits until the test lets it answer (no sleeps)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.release = threading.Event()

    def suggest_online(self, text, **kw):
        assert self.release.wait(30)
        return super().suggest_online(text, **kw)


async def test_the_online_part_keeps_the_highlighted_local_hit(location_app, gazetteer):
    online = Online()
    online.on(pdok_routes)
    location = SlowOnline(gazetteer, online=True, pdok=PDOKLocatieserver(adapter_factory=online.adapter()),
                          use_nominatim=False)
    app = location_app(location)
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"dorpsstr 3")
        await pilot.pause()  # the local hits are shown while PDOK is still being asked
        assert suggestions(app) == ["Dorpsstraat 3, 8151 FV Lemelerveld", "Dorpsstraat 3, 7711 CV Nieuwleusen"]
        await pilot.press("down", "down")  # to the second local hit
        location.release.set()
        await settle(pilot)
        assert app.screen.query_one("#adres-suggesties", OptionList).highlighted == 1
        await pilot.press("enter")
        await pilot.pause()
        assert form(app).text("woonplaats") == "Nieuwleusen"
        assert {r.endpoint for r in online.requests_to("pdok")} == {"suggest"}


async def test_stale_answers_are_dropped(location_app, gazetteer):
    # An answer for text that has changed since must never fill the list.
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        zoeker = app.screen.query_one(AdresZoeker)
        await pilot.press(*"dorpsstr 3")
        await settle(pilot)
        assert len(suggestions(app)) == 2  # Lemelerveld and Nieuwleusen
        from wijkteam_tui.location.widgets import Suggesties

        old = zoeker.suggesties
        await pilot.press(*" nieuw")
        await settle(pilot)
        assert suggestions(app) == ["Dorpsstraat 3, 7711 CV Nieuwleusen"]
        zoeker._show(Suggesties(old.tekst, old.keuzes))  # a late answer for "dorpsstr 3"
        assert suggestions(app) == ["Dorpsstraat 3, 7711 CV Nieuwleusen"]


async def test_online_pdok_suggestions_follow_the_local_ones(location_app, gazetteer, db_path):
    online = Online()
    online.on(pdok_routes)
    app = location_app(online_lookup(gazetteer, online))
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"grote markt zwolle")
        await settle(pilot)
        assert suggestions(app) == [
            "Grote Markt 1, 8011 LW Zwolle  (PDOK)",
            "Grote Markt 1A, 8011 LW Zwolle  (PDOK)",
        ]
        assert hint(app) == "Enter neemt: Grote Markt 1, 8011 LW Zwolle"
        asked = online.requests_to("pdok")
        assert asked and {r.endpoint for r in asked} == {"suggest"}
        assert all(set(r.params) <= ALLOWED_PDOK_PARAMS for r in asked)
        assert all(len(r.params["q"][0]) >= 3 for r in asked)  # short text is not sent
        await pilot.press("enter")
        await pilot.pause()
        f = form(app)
        assert (f.text("straat"), f.text("huisnummer"), f.text("postcode"), f.text("woonplaats")) == (
            "Grote Markt", "1", "8011 LW", "Zwolle",
        )
        assert f.current_punt() is not None
        assert BUITEN_GEMEENTE in shown(f.query_one("#info-wijk", FieldInfo))
        # Outside the municipality: pass it on to Zwolle.
        await finish_and_save(pilot)
        modal = app.screen
        assert isinstance(modal, BuitenGemeenteModal)
        assert "Grote Markt 1, 8011 LW Zwolle" in rendered(modal.query_one("#buiten-waar"))
        await pilot.press("down", "enter")
        assert app.focused is modal.query_one("#buiten-naar", Input)
        assert modal.query_one("#buiten-naar", Input).value == "gemeente Zwolle"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DoorgezetModal)
        body = rendered(app.screen.query_one("#saved-body"))
        assert "DLF-K7-0001" in body and "Doorgezet naar gemeente Zwolle" in body
        assert "Uiterlijk" not in body  # no promise on behalf of another municipality
        await pilot.press("enter")
        assert isinstance(app.screen, IntakeScreen) and form(app).text("straat") == ""
    m = only_melding(db_path)
    assert m.status == Status.DOORGEZET
    assert m.adres.postcode == "8011LW" and m.wijk is None
    assert any("Doorgezet naar gemeente Zwolle" in (h.details.get("voor_melder") or "") for h in m.history)


async def test_local_hits_are_not_repeated_from_pdok(location_app, gazetteer):
    online = Online()
    online.on(pdok_routes)
    app = location_app(online_lookup(gazetteer, online))
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"kerkstr 12 dalfsen")
        await settle(pilot)
        # the local answers first; PDOK had nothing new for this text
        assert suggestions(app) == ["Kerkstraat 12A, 7721 EJ Dalfsen", "Kerkstraat 12B, 7721 EJ Dalfsen"]
        assert hint(app) == "Enter neemt: Kerkstraat 12A, 7721 EJ Dalfsen"


@pytest.mark.parametrize("failure", [http_503, "unavailable"])
async def test_pdok_failing_degrades_to_local_quietly(location_app, gazetteer, failure):
    from tests.location.fakes import unavailable

    online = Online()
    online.on(unavailable if failure == "unavailable" else failure)
    app = location_app(online_lookup(gazetteer, online))
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"grote markt zwolle")
        await settle(pilot)
        assert suggestions(app) == []
        assert hint(app) == f"{GEEN_ADRES_MESSAGE[:-1]} ({OFFLINE_MESSAGE})."
        app.screen.query_one("#adres_zoek", Input).value = ""
        await pilot.press(*"kerkstr 12")
        await settle(pilot)
        # the local hits are offered; PDOK, asked for more, failed: said quietly
        assert len(suggestions(app)) == 2
        assert hint(app) == f"Enter neemt: Kerkstraat 12A, 7721 EJ Dalfsen · {OFFLINE_MESSAGE}"
        assert isinstance(app.screen, IntakeScreen)


async def test_ctrl_l_empties_the_search(location_app):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_search_field(pilot)
        await pilot.press(*"kerkstr")
        await settle(pilot)
        assert suggestions(app)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert form(app).text("adres_zoek") == "" and suggestions(app) == [] and hint(app) == ""


async def test_fast_path_keeps_nine_keystrokes_with_the_search_field(location_app, db_path):
    # docs/intake.md: n, 5× Enter, the B, Ctrl+S, Enter. The search field adds no step to it.
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_call(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SavedModal)
        await pilot.press("enter")
        assert isinstance(app.screen, IntakeScreen)
        assert app.focused is app.screen.query_one("#naam", Input)
    m = only_melding(db_path)
    assert (m.adres.straat, m.adres.huisletter, m.wijk) == ("Kerkstraat", "A", "dalfsen")


# -- the wijk picker --------------------------------------------------------------------------------


async def test_wijk_picker_follows_the_location_until_picked_by_hand(location_app, db_path):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", *"Jan", "enter", "enter", *"7721 EJ", "enter", *"12a", "enter")
        await pilot.pause()
        picker = app.screen.query_one(WijkPicker)
        assert picker.value == "dalfsen" and not picker.by_hand
        # another address moves an automatic wijk along
        f = form(app)
        f.query_one("#postcode", Input).value = "7711 HM"
        f.query_one("#huisnummer", Input).value = "1"
        f.query_one("#straat", Input).value = ""
        f.query_one("#woonplaats", Input).value = ""
        f.try_lookup()
        await pilot.pause()
        assert (f.text("woonplaats"), picker.value) == ("Nieuwleusen", "nieuwleusen")
        # by keyboard: Enter opens the list, typing searches it, Enter takes it
        picker.focus()
        await pilot.press("enter", *"lemel", "enter")
        await pilot.pause()
        assert picker.value == "lemelerveld" and picker.by_hand
        assert shown(f.query_one("#info-wijk", FieldInfo)) == ""
        # a wijk picked by hand stays when the address changes
        f.query_one("#postcode", Input).value = "7721 EJ"
        f.query_one("#huisnummer", Input).value = "12b"
        f.try_lookup()
        await pilot.pause()
        assert picker.value == "lemelerveld"
        app.screen.query_one("#categorie", Input).focus()
        await finish_and_save(pilot)
        assert isinstance(app.screen, SavedModal)
        await pilot.press("enter")
        assert app.screen.query_one(WijkPicker).is_blank()  # the next call starts blank
    assert only_melding(db_path).wijk == "lemelerveld"


async def test_wijk_options_come_from_the_configuration(location_app):
    from shared.wijken import load_wijken

    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        picker = app.screen.query_one(WijkPicker)
        codes = [code for _label, code in picker._wijk_options()]
        assert codes == [w.code for w in load_wijken().wijken]
        assert picker.is_blank()


async def test_edit_keeps_a_wijk_that_is_not_configured(location_app, db_path, gazetteer):
    a = gazetteer.lookup("7721EJ", "12A").matches[0]
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("eerder")
        m = store.register(
            dev,
            prefix="DLF",
            fields=MeldingFields(omschrijving="Tegel los", categorie="verharding/losse_tegel", vier_b=VierB.BETROKKENHEID,
                                 adres=a.adres, punt=a.punt, wijk="Centrum"),
        )
        events_before = len(store.events_of(m.melding_id))
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(EditScreen(m.melding_id))
        await pilot.pause()
        picker = app.screen.query_one(WijkPicker)
        assert picker.value == "Centrum" and picker.by_hand  # older data is shown, not dropped
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, EditScreen)
    with LocalStore(db_path) as store:
        assert store.get(m.melding_id).wijk == "Centrum"
        assert len(store.events_of(m.melding_id)) == events_before  # nothing changed, nothing stored


# -- outside the municipality -----------------------------------------------------------------------


async def start_outside_call(pilot) -> None:
    await pilot.press("n", *"Jan Jansen", "enter", *"0612345678", "enter", *"1234 AB", "enter", *"5", "enter")
    await pilot.pause()
    form(pilot.app).query_one("#straat", Input).value = "Damstraat"


async def test_outside_back_stores_nothing_then_confirm(location_app, db_path):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_outside_call(pilot)
        await finish_and_save(pilot)
        modal = app.screen
        assert isinstance(modal, BuitenGemeenteModal)
        assert BUITEN_GEMEENTE in rendered(modal.query_one("#buiten-message"))
        with LocalStore(db_path) as store:
            assert store.count(include_deleted=True) == 0, "nothing is stored until the user chooses"
        await pilot.press("escape")  # back to the form
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        assert "buiten de gemeente" in rendered(app.screen.query_one("#intake-error"))
        assert app.focused is app.screen.query_one("#postcode", Input)
        assert form(app).text("straat") == "Damstraat"  # the form stays filled
        with LocalStore(db_path) as store:
            assert store.count(include_deleted=True) == 0
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, BuitenGemeenteModal)
        await pilot.press("enter")  # bevestigen
        await pilot.pause()
        assert isinstance(app.screen, SavedModal)
        await pilot.press("enter")
    m = only_melding(db_path)
    assert m.status == Status.GEMELD and m.wijk is None
    assert any("buiten de gemeente" in n.tekst for n in m.notes)


async def test_outside_doorzetten_needs_a_receiver(location_app, db_path):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_outside_call(pilot)  # no woonplaats typed: nothing to suggest
        await finish_and_save(pilot)
        modal = app.screen
        await pilot.press("down", "enter")
        naar = modal.query_one("#buiten-naar", Input)
        assert app.focused is naar and naar.value == ""
        await pilot.press("enter")
        assert rendered(modal.query_one("#buiten-fout")).strip() == "Vul in naar wie de melding gaat."
        assert app.screen is modal
        await pilot.press(*"Waterschap [Drents] Overijsselse Delta", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DoorgezetModal)
        assert "Waterschap [Drents] Overijsselse Delta" in rendered(app.screen.query_one("#saved-body"))
        await pilot.press("enter")
    m = only_melding(db_path)
    assert m.status == Status.DOORGEZET
    assert any(
        "Doorgezet naar Waterschap [Drents] Overijsselse Delta" in (h.details.get("voor_melder") or "") for h in m.history
    )


async def test_outside_with_a_wijk_picked_by_hand_asks_nothing(location_app, db_path):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_outside_call(pilot)
        app.screen.query_one(WijkPicker).focus()
        await pilot.press("enter", *"dalf", "enter")
        await pilot.pause()
        assert app.screen.query_one(WijkPicker).value == "dalfsen"
        info = shown(app.screen.query_one("#info-wijk", FieldInfo))
        assert "Met de hand gekozen" in info and BUITEN_GEMEENTE not in info  # nothing left to confirm
        app.screen.query_one("#categorie", Input).focus()
        await finish_and_save(pilot)
        assert isinstance(app.screen, SavedModal)
        await pilot.press("enter")
    assert only_melding(db_path).wijk == "dalfsen"


async def test_inside_the_municipality_asks_nothing(location_app, db_path):
    app = location_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", *"Jan", "enter", "enter", *"7711 HM", "enter", *"1", "enter")
        await pilot.press(*"lamp", "enter", "2", *"Lamp", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SavedModal)
    assert only_melding(db_path).wijk == "nieuwleusen"
