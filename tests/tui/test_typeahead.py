"""Keys typed ahead while the app or a look-up is busy land in the field meant, in order, or nowhere
(issue 14 §2; ``wijkteam_tui.keygate``). Every key of a call is put in the app's queue at once —
from the moment the app starts — with an address look-up that takes a long time, as on a loaded
laptop. Also: multi-line paste, Ctrl+Q with a half-typed melding, the footer at 80 columns, the
Dutch command palette, and ``n`` meaning one thing."""

from __future__ import annotations

import time

from textual.widgets import Input, Label, Static

from wijkteam_store.local import LocalStore
from wijkteam_tui.app import WijkteamApp
from wijkteam_tui.screens.dialogs import ConfirmModal, DutchCommandPalette, NoteModal
from wijkteam_tui.screens.intake import IntakeScreen
from wijkteam_tui.screens.werkvoorraad import WerkvoorraadScreen

from .conftest import NOW, sample_lookup, to_list
from .keys import keys_of, type_ahead
from .test_flow import SIZE

#: How long the slowed look-up takes (seconds): far longer than the gaps between typed keys.
SLOW_LOOKUP_S = 0.3


def slow_lookup(postcode, huisnummer, huisletter, toevoeging):
    """The sample address look-up, made slow on purpose: it stands for a laptop under load (the
    UI thread is blocked while it runs, so every key typed meanwhile queues up)."""
    time.sleep(SLOW_LOOKUP_S)
    return sample_lookup(postcode, huisnummer, huisletter, toevoeging)


CALL_1 = keys_of(
    "n", "Jan Jansen", ["enter"], "06-12345678", ["enter"], "7721 EJ", ["enter"], "12a", ["enter"],
    "lamp", ["enter"], "2", "Lamp kapot", ["ctrl+s"], ["enter"],
)  # fmt: skip
CALL_2 = keys_of(
    "Piet Peters", ["enter"], "0687654321", ["enter"], "7721 EJ", ["enter"], "14", ["enter"],
    "tegel", ["enter"], "1", "Tegel los", ["ctrl+s"], ["enter"],
)  # fmt: skip


class EarlyTypist(WijkteamApp):
    """The app, with keys already typed before its first screen is up."""

    typed: list[str] = []

    def on_mount(self) -> None:  # runs before WijkteamApp.on_mount pushes the first screen
        type_ahead(self, self.typed)


def _stored(db_path) -> list:
    store = LocalStore(db_path)
    try:
        rows = store.search(limit=10)
        return [store.get(r["melding_id"]) for r in reversed(rows)]
    finally:
        store.close()


async def test_two_calls_typed_ahead_from_start_up_land_in_their_fields(db_path, config):
    EarlyTypist.typed = CALL_1 + CALL_2
    app = EarlyTypist(db_path, config, clock=lambda: NOW, address_lookup=slow_lookup, auto_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.keygate.wait_idle()
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen), app.screen
        assert app.focused.id == "naam" and app.focused.value == ""  # ready for the next call
    first, second = _stored(db_path)
    assert first.reference == "DLF-K7-0001"
    assert (first.melder.naam, first.melder.telefoon) == ("Jan Jansen", "+31612345678")
    assert (first.adres.postcode, first.adres.huisnummer, first.adres.huisletter) == ("7721EJ", 12, "A")
    assert first.adres.straat == "Kerkstraat"
    assert (first.categorie, first.vier_b.value, first.omschrijving) == (
        "verlichting/lantaarnpaal", "betrokkenheid", "Lamp kapot",
    )  # fmt: skip
    assert (second.melder.naam, second.melder.telefoon) == ("Piet Peters", "+31687654321")
    assert (second.adres.postcode, second.adres.huisnummer, second.adres.huisletter) == ("7721EJ", 14, None)
    assert second.categorie.startswith("verharding/")
    assert (second.vier_b.value, second.omschrijving) == ("betrouwbaarheid", "Tegel los")


async def test_keys_typed_ahead_of_an_unasked_question_are_dropped(app_factory, db_path):
    """12 exists only as 12 A and 12 B: the choice opens after the look-up. The keys typed after the
    Enter were meant for the categorie, so they answer nothing and land nowhere; a message says so."""
    from shared.gazetteer import load_sample_gazetteer
    from wijkteam_tui.location import LocationLookup
    from wijkteam_tui.location.widgets import AddressChoiceModal

    app = app_factory(location=LocationLookup(load_sample_gazetteer()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        type_ahead(app, keys_of("Jan", ["enter"], ["enter"], "7721 EJ", ["enter"], "12", ["enter"], "lamp", ["enter"], "2"))
        await app.keygate.wait_idle()
        await pilot.pause()
        assert isinstance(app.screen, AddressChoiceModal)
        assert app.keygate.dropped == 6  # l, a, m, p, Enter, 2
        assert any("6 vooruit getypte toetsen niet gebruikt" in str(n.message) for n in app._notifications)
        await pilot.press("down", "enter")  # the user now sees the question and answers it
        form = app.screen
        assert isinstance(form, IntakeScreen)
        assert form.query_one("#huisnummer", Input).value == "12B"
        assert form.query_one("#categorie", Input).value == ""  # "lamp" did not land anywhere
    assert LocalStore(db_path).count(include_deleted=True) == 0


async def test_multi_line_paste_into_a_one_line_field_keeps_all_text(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        from textual import events

        app.post_message(events.Paste("Jan\n\n  Jansen\r\nde Tweede\n"))
        await app.keygate.wait_idle()
        await pilot.pause()
        assert app.screen.query_one("#naam", Input).value == "Jan Jansen de Tweede"
        assert any("3 regels" in str(n.message) for n in app._notifications)
        # Too long once joined: the field says so (shared.validation), nothing is cut silently.
        app.screen.query_one("#naam", Input).value = ""
        app.post_message(events.Paste("a" * 150 + "\n" + "b" * 100))
        await app.keygate.wait_idle()
        await pilot.press("enter")
        assert len(app.screen.query_one("#naam", Input).value) == 251
        assert "Maximaal 200 tekens" in str(app.screen.query_one("#err-naam", Label).render())


async def test_ctrl_q_with_a_half_typed_melding_asks_first(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", *"Jan", "escape")  # back to the werkvoorraad; the form keeps "Jan"
        assert isinstance(app.screen, WerkvoorraadScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "half ingevulde melding (Jan, 1 veld)" in str(app.screen.query_one("#confirm-message", Static).render())
        await pilot.press("escape")  # no: back, nothing lost
        assert app.is_running
        await pilot.press("n")
        assert app.screen.query_one("#naam", Input).value == "Jan"
        await pilot.press("ctrl+q", "enter")  # yes: stop
        await pilot.pause()
    assert not app.is_running


async def test_ctrl_q_with_an_empty_form_stops_at_once(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "escape", "ctrl+q")
        await pilot.pause()
    assert not app.is_running


async def test_footer_shows_help_and_quit_at_80_columns(app_factory):
    from textual.widgets._footer import FooterKey

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        for keys in ((), ("n",), ("escape", "f9")):
            await pilot.press(*keys)
            await pilot.pause()
            shown = {k.key: k for k in app.screen.query(FooterKey)}
            for key in ("f1", "ctrl+q"):
                assert key in shown, (app.screen, key)
                assert shown[key].region.right <= 80 and shown[key].region.width > 0, (app.screen, key)


async def test_command_palette_speaks_dutch(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, DutchCommandPalette)
        field = palette.query_one(Input)
        assert field.placeholder == "Zoek een opdracht…"
        names = [c.title for c in app.get_system_commands(app.screen_stack[-2])]
        assert "Nieuwe melding" in names and "Stoppen" in names and "Help" in names
        assert not {"Quit", "Keys", "Theme", "Screenshot", "palette"} & set(names)
        await pilot.press(*"xyzzyq")
        await palette.workers.wait_for_complete()
        await pilot.pause()
        assert palette._no_matches_timer is not None  # nothing matches: the "no match" line is due
        palette.show_no_matches()  # what the timer runs (not waited for: no sleeps in tests)
        await pilot.pause()
        from textual.command import CommandList

        options = palette.query_one(CommandList)
        texts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Geen opdracht gevonden" in t for t in texts), texts


async def test_n_is_always_a_new_melding_and_o_a_note(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        from .test_flow import type_call

        await type_call(pilot)
        await pilot.press("ctrl+s", "enter", "escape")
        await to_list(pilot)
        table = app.screen.query_one("#lijst")
        table.focus()
        await pilot.press("enter")  # open the melding
        from wijkteam_tui.screens.detail import DetailScreen

        assert isinstance(app.screen, DetailScreen)
        await pilot.press("o")
        assert isinstance(app.screen, NoteModal)
        await pilot.press("escape", "n")
        assert isinstance(app.screen, IntakeScreen)
