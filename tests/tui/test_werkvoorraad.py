"""The wijkuitvoerder's day (issue 14 §1): the app opens on *Mijn werkvoorraad* (groups with counts,
*Nog terugbellen* by the terugbelnorm), one key switches to a colleague's, the team's or all
meldingen; ``b`` reassigns (an event, with who assigned whom); a new melding goes to its wijk's
wijkuitvoerder; the laptop learns its user name from the server; the configured standard texts
close a melding and log a call-back in a few keys."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Label

from shared import commands
from shared.enums import Kanaal, Status, VierB
from shared.events import MeldingFields
from shared.model import Adres, Melder
from shared.werkvoorraad import GROUPS, bounds, group_of
from wijkteam_store.local import LocalStore
from wijkteam_tui.config import Config
from wijkteam_tui.screens.choice import ChoiceModal
from wijkteam_tui.screens.detail import DetailScreen
from wijkteam_tui.screens.dialogs import CallbackModal, StatusModal
from wijkteam_tui.screens.meldingen import MeldingenScreen
from wijkteam_tui.screens.werkvoorraad import WerkvoorraadScreen

from .conftest import NOW, settle
from .keys import type_ahead
from .test_flow import SIZE, rendered, type_call

ADRES = Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen")


def _ms(at) -> int:
    return int(at.timestamp() * 1000)


def _fill(db_path) -> dict[str, str]:
    """Meldingen of "tester" in every group, one of "piet", one nobody's, and a closed one whose melder
    waits for a call-back; returns reference → melding id."""
    out = {}
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("tester", clock=lambda: _ms(NOW - timedelta(hours=1)))

        def make(days_ago: float, categorie: str, who: str | None, *, melder=None, omschrijving="x"):
            m = store.register(
                dev, prefix="DLF", registered_at=NOW - timedelta(days=days_ago),
                fields=MeldingFields(omschrijving=omschrijving, categorie=categorie, vier_b=VierB.BETROKKENHEID,
                                     adres=ADRES, melder=melder),
            )  # fmt: skip
            if who:
                store.append([commands.assign(dev, m, who)], dev)
            out[m.reference] = m.melding_id
            return m

        make(20, "verlichting/lantaarnpaal", "tester", omschrijving="te laat")  # over de norm
        make(5, "verlichting/lantaarnpaal", "tester", omschrijving="vandaag?")  # 5 wd from 17 Apr: Fri 24 Apr
        make(0.01, "afval/dumping", "tester", omschrijving="deze week")  # 3 wd: Thu 30 Apr (next week)
        make(0.01, "verlichting/paal_schade", "tester", omschrijving="later")
        make(2, "groen/boom", "piet", omschrijving="van piet")
        make(2, "groen/boom", None, omschrijving="van niemand")
        closed = make(3, "groen/boom", "tester", melder=Melder(naam="Jan", telefoon="+31612345678"))
        store.append([commands.change_status(dev, store.get(closed.melding_id), Status.AFGEHANDELD, voor_melder="klaar")], dev)
    return out


def key_of(modal: ChoiceModal, name: str) -> str:
    """The key the choice window shows for the option naming ``name``."""
    return next(key for key, label, _value in modal.options if name in label)


def test_groups_follow_the_deadline_in_amsterdam_days():
    b = bounds(NOW)  # Friday 24 April 2026, 10:15
    assert group_of("2026-04-23T21:59:59.000000Z", b) == "over_de_norm"
    assert group_of("2026-04-24T21:59:59.000000Z", b) == "vandaag"  # 23:59:59 local
    assert group_of("2026-04-26T21:59:59.000000Z", b) == "deze_week"  # Sunday
    assert group_of("2026-04-27T21:59:59.000000Z", b) == "later"
    assert group_of(None, b) == "later"


async def test_the_day_starts_on_my_werkvoorraad(app_factory, db_path):
    _fill(db_path)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WerkvoorraadScreen)
        assert "Mijn werkvoorraad — tester" in str(screen.query_one("#werk-titel", Label).render())
        with LocalStore(db_path) as store:
            counts, rows = store.werkvoorraad(behandelaar="tester", now=NOW)
        assert sum(counts.values()) == 4 and counts["over_de_norm"] >= 1
        tellers = str(screen.query_one("#werk-tellers", Label).render())
        for group in GROUPS:
            assert f"{counts[group]}" in tellers
        assert "Nog terugbellen 1" in tellers
        table = screen.query_one("#werk", DataTable)
        shown = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert shown[0].startswith("Over de norm (")
        assert "DLF-K7-0005" not in shown and "DLF-K7-0006" not in shown  # piet's and nobody's
        terug = screen.query_one("#terugbellen", DataTable)
        assert [str(terug.get_row_at(i)[0]) for i in range(terug.row_count)] == ["DLF-K7-0007"]
        # the call-back is due 2 working days after closing (default terugbelnorm; King's Day skipped)
        assert str(terug.get_row_at(0)[1]).lstrip("!") == "29-04-2026"
        # Enter on a melding opens it
        table.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape")

        # one key switches: a colleague's, the team's, all meldingen
        await pilot.press("w")
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press(key_of(app.screen, "piet"))  # colleagues: the configuration's and piet
        await settle(pilot)
        assert app.screen is screen and "Werkvoorraad van piet" in str(screen.query_one("#werk-titel", Label).render())
        shown = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "DLF-K7-0005" in shown and "DLF-K7-0001" not in shown
        type_ahead(app, ["w", "t"])  # typed fast: the second key lands in the switch
        await settle(pilot)
        assert app.screen is screen and screen.view.kind == "team"
        await pilot.press("w", "a")
        await settle(pilot)
        assert isinstance(app.screen, MeldingenScreen)
        await pilot.press("escape")  # no filter set: back to the werkvoorraad
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("w", "m")
        await settle(pilot)
        assert screen.view.kind == "mijn"


async def test_b_reassigns_and_the_history_shows_who_assigned_whom(app_factory, db_path):
    refs = _fill(db_path)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#werk", DataTable)
        table.focus()
        table.move_cursor(row=1)
        ref = str(table.get_row_at(1)[0])
        await pilot.press("b")
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press(key_of(app.screen, "piet"))
        await settle(pilot)
        shown = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert ref not in shown  # gone from my werkvoorraad
    with LocalStore(db_path) as store:
        m = store.get(refs[ref])
    assert m.behandelaar == "piet"
    last = m.history[-1]
    assert (last.summary, last.user) == ("Toegewezen aan piet", "tester")


async def test_a_new_melding_goes_to_the_wijkuitvoerder_of_its_wijk(app_factory, db_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await type_call(pilot)  # Kerkstraat 12a, Dalfsen: wijk dalfsen (sample: a.devries)
        await pilot.press("ctrl+s")
        await settle(pilot)
        # the confirmation says who handles it
        assert "Behandelaar: a.devries" in rendered(app.screen.query_one("#saved-body"))
        await pilot.press("enter")
        await settle(pilot)
    with LocalStore(db_path) as store:
        (row,) = list(store.iter_rows())
        m = store.get(row["melding_id"])
    assert (m.wijk, m.behandelaar, row["behandelaar"]) == ("dalfsen", "a.devries", "a.devries")
    assert m.history[-1].summary == "Toegewezen aan a.devries"


async def test_the_laptop_learns_its_user_name_from_the_server(app_factory, db_path, tmp_path):
    asked = []

    def whoami(url, token):
        asked.append((url, token))
        return "jan\x1b[2J"  # from the network: cleaned by the text rules before use

    def sync(store, url, token):
        class R:
            pushed = pulled = quarantined = skew_ms = 0
            finished_at = NOW

        return R()

    config = Config(device_code="K7", user="oslogin", server_url="https://x.example", token="t", sync_interval_s=3600)
    app = app_factory(config=config, sync_fn=sync, auto_sync=True, whoami=whoami)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert asked == [("https://x.example", "t")]
        assert app.config.user == "jan[2J"
        assert "Mijn werkvoorraad — jan[2J" in str(app.screen.query_one("#werk-titel", Label).render())
        await pilot.press("f5")
        await settle(pilot)
        assert len(asked) == 1  # once per session


def _at_status(db_path, status_path: list[Status], categorie="groen/boom") -> str:
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("tester", clock=lambda: _ms(NOW - timedelta(hours=1)))
        m = store.register(
            dev, prefix="DLF", registered_at=NOW - timedelta(days=1),
            fields=MeldingFields(omschrijving="Tak", categorie=categorie, vier_b=VierB.BETROKKENHEID, adres=ADRES,
                                 melder=Melder(naam="Jan", telefoon="+31612345678")),
        )  # fmt: skip
        for naar in status_path:
            store.append([commands.change_status(dev, store.get(m.melding_id), naar)], dev)
        return m.melding_id


async def test_closing_with_a_standard_text_takes_a_few_keys(app_factory, db_path):
    """From *ingepland* the proposed status is *afgehandeld*: ``s``, the text's digit, Ctrl+S."""
    from shared.gemeente import gemeente

    melding_id = _at_status(db_path, [Status.IN_BEHANDELING, Status.INGEPLAND])
    texts = gemeente().teksten("status", status=Status.AFGEHANDELD, categorie="groen/boom")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        keys = ["s", "1", "ctrl+s"]  # "1" chooses the text; s and Ctrl+S are the keys beyond it
        type_ahead(app, keys)
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        assert len(keys) - 1 <= 5
    with LocalStore(db_path) as store:
        m = store.get(melding_id)
    assert m.status == Status.AFGEHANDELD
    assert m.public_note() == texts[0].tekst


async def test_closing_from_in_behandeling_picks_the_status_by_its_letter(app_factory, db_path):
    melding_id = _at_status(db_path, [Status.IN_BEHANDELING])
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        await pilot.press("s")
        modal = app.screen
        assert isinstance(modal, StatusModal)
        assert modal.query_one("#naar").value == Status.INGEPLAND.value  # the next step forward
        keys = ["a", "1", *" Ook gesnoeid.", "ctrl+s"]  # editable before saving
        type_ahead(app, keys)
        await settle(pilot)
    with LocalStore(db_path) as store:
        m = store.get(melding_id)
    assert m.status == Status.AFGEHANDELD and m.public_note().endswith(" Ook gesnoeid.")


async def test_logging_the_call_back_with_a_standard_text_takes_a_few_keys(app_factory, db_path):
    from shared.gemeente import gemeente

    melding_id = _at_status(db_path, [Status.IN_BEHANDELING])
    texts = gemeente().teksten("terugkoppeling", categorie="groen/boom")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        await pilot.press("t")
        assert isinstance(app.screen, CallbackModal)
        keys = ["1", "ctrl+s"]  # "1" chooses the text; t and Ctrl+S are the keys beyond it
        type_ahead(app, keys)
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        assert "Terugkoppelingen" in rendered(app.screen.query_one("#detail-notes"))
    with LocalStore(db_path) as store:
        m = store.get(melding_id)
    (callback,) = m.terugkoppelingen
    assert (callback.tekst, callback.kanaal) == (texts[0].tekst, Kanaal.TELEFOON)


async def test_typing_instead_of_choosing_a_standard_text_loses_no_key(app_factory, db_path):
    """The texts have the focus when the call-back and status dialogs open; a user who types their
    own text instead finds every character in the field, the first one included."""
    from shared.gemeente import gemeente

    melding_id = _at_status(db_path, [Status.IN_BEHANDELING])
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        type_ahead(app, ["t", *"Lamp gaat vrijdag", "ctrl+s"])
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        type_ahead(app, ["s", "a", *"Tak weggehaald", "ctrl+s"])  # a: afgehandeld, then own text
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        type_ahead(app, ["t", "1", *" En bedankt.", "ctrl+s"])  # a standard text, extended
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
    with LocalStore(db_path) as store:
        m = store.get(melding_id)
    standaard = gemeente().teksten("terugkoppeling", categorie=m.categorie)[0].tekst
    assert [t.tekst for t in m.terugkoppelingen] == ["Lamp gaat vrijdag", standaard + " En bedankt."]
    assert m.status == Status.AFGEHANDELD and m.public_note() == "Tak weggehaald"


async def test_enter_on_a_groups_more_line_shows_the_rest_of_that_group(app_factory, db_path):
    """A busy wijkuitvoerder's group is cut at PER_GROUP rows with "… en N meer"; Enter on that line
    shows the rest here (the list of all meldingen cannot narrow to one behandelaar's group)."""
    from wijkteam_tui.screens.werkvoorraad import PER_GROUP

    extra = 4
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("tester", clock=lambda: _ms(NOW - timedelta(hours=1)))
        for i in range(PER_GROUP + extra):
            m = store.register(
                dev, prefix="DLF", registered_at=NOW - timedelta(minutes=90 - i),
                fields=MeldingFields(omschrijving=f"bank {i}", categorie="groen/boom", vier_b=VierB.BETROKKENHEID,
                                     adres=ADRES),
            )  # fmt: skip
            store.append([commands.assign(dev, m, "tester")], dev)
        counts, _rows = store.werkvoorraad(behandelaar="tester", now=NOW)
    (group,) = [g for g in GROUPS if counts[g]]
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#werk", DataTable)

        def keys() -> list[str]:
            return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]

        assert sum(1 for k in keys() if ":" not in k) == PER_GROUP
        more = keys().index(f"meer:{group}")
        assert str(table.get_row_at(more)[0]) == f"… en {extra} meer (Enter: toon ze)"
        table.focus()
        table.move_cursor(row=more)
        await pilot.press("enter")
        await settle(pilot)
        assert sum(1 for k in keys() if ":" not in k) == PER_GROUP + extra
        assert f"meer:{group}" not in keys()
        assert isinstance(app.screen, WerkvoorraadScreen)


async def test_the_status_dialog_with_standard_texts_fits_80_by_24(app_factory, db_path):
    """Everything of the status dialog — its title, the texts laid out between entries, both fields
    and the buttons — is on an 80×24 screen without scrolling."""
    from textual.containers import Vertical

    from wijkteam_tui.widgets import StandaardTeksten

    melding_id = _at_status(db_path, [Status.IN_BEHANDELING, Status.INGEPLAND])
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, StatusModal)
        assert modal.query_one(".dialog", Vertical).max_scroll_y == 0
        teksten = modal.query_one(StandaardTeksten)
        lines = str(teksten.render()).split("\n")
        assert len(teksten.texts) >= 3 and len(lines) >= 2  # several texts, more than one line
        titels = [t[0] for t in teksten.texts]
        for titel in titels:  # no title is broken over two lines
            assert any(titel in line for line in lines)
        assert all(len(line) <= teksten.size.width for line in lines)
        assert modal.query_one("#ok").region.bottom <= 24


async def test_colleagues_after_the_ninth_are_reachable_with_the_arrows(app_factory, db_path):
    """With more colleagues than digits the first nine get 1–9 and the rest ↑↓ Enter: nobody a
    melding cannot be given to, nobody whose werkvoorraad cannot be shown."""
    refs = _fill(db_path)
    names = [f"collega-{i:02d}" for i in range(12)]
    with LocalStore(db_path) as store:
        dev = store.device_clock("tester", clock=lambda: _ms(NOW - timedelta(minutes=30)))
        for name in names:  # each handles one melding here, so the laptop knows them
            m = store.register(dev, prefix="DLF", registered_at=NOW - timedelta(hours=1),
                               fields=MeldingFields(omschrijving=name, categorie="groen/boom", adres=ADRES))  # fmt: skip
            store.append([commands.assign(dev, m, name)], dev)
    last = names[-1]
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#werk", DataTable)
        table.focus()
        table.move_cursor(row=1)
        ref = str(table.get_row_at(1)[0])
        await pilot.press("b")
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        keyed = [label for key, label, _v in modal.options if key.isdigit()]
        assert len(keyed) == 9
        index = next(i for i, (key, label, _v) in enumerate(modal.options) if label == last)
        assert modal.options[index][0] == ""
        await pilot.press(*["down"] * index, "enter")
        await settle(pilot)
        # and their werkvoorraad: w, then down to them
        await pilot.press("w")
        modal = app.screen
        index = next(i for i, (_k, label, _v) in enumerate(modal.options) if label.endswith(last))
        await pilot.press(*["down"] * index, "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WerkvoorraadScreen) and screen.view.naam == last
        shown = [str(screen.query_one("#werk", DataTable).get_row_at(i)[0]) for i in range(table.row_count)]
    with LocalStore(db_path) as store:
        assert store.get(refs[ref]).behandelaar == last
    assert ref in shown


async def test_call_back_texts_follow_the_configuration_status_and_categorie(app_factory, db_path):
    """The call-back dialog offers the terugkoppeling texts of the configuration this laptop received
    for the melding's status now and its categorie — a text bound to another status or categorie is
    left out."""
    import msgspec

    from shared.gemeente import StandaardTekst, encode_config, package_default
    from wijkteam_tui.widgets import StandaardTeksten

    extra = (
        StandaardTekst(soort="terugkoppeling", titel="Ingepland", tekst="Gepland, gebeld.", status=Status.INGEPLAND),
        StandaardTekst(soort="terugkoppeling", titel="Tijdens werk", tekst="We zijn bezig.", status=Status.IN_BEHANDELING),
        StandaardTekst(soort="terugkoppeling", titel="Lamp", tekst="Lamp besteld.", categorie="verlichting"),
    )
    received = msgspec.structs.replace(package_default(), version=2, teksten=package_default().teksten + extra)
    melding_id = _at_status(db_path, [Status.IN_BEHANDELING, Status.INGEPLAND])  # groen/boom
    with LocalStore(db_path) as store:
        store.set_gemeente_config(encode_config(received), '"v2"')
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        await pilot.press("t")
        modal = app.screen
        assert isinstance(modal, CallbackModal)
        titels = [t[0] for t in modal.query_one(StandaardTeksten).texts]
        assert "Ingepland" in titels and "Tijdens werk" not in titels and "Lamp" not in titels
        await pilot.press(str(titels.index("Ingepland") + 1), "ctrl+s")
        await settle(pilot)
    with LocalStore(db_path) as store:
        (callback,) = store.get(melding_id).terugkoppelingen
    assert callback.tekst == "Gepland, gebeld."
