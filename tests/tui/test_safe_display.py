"""Stored text is never written raw to the terminal (issue 11 §3): text with ESC sequences that
reached a laptop before the server checked the text rules is drawn without them."""

from __future__ import annotations

from shared import commands
from shared.events import Event, MeldingFields
from shared.hlc import HLC
from shared.ids import new_id
from wijkteam_store.local import LocalStore
from wijkteam_tui.safe_display import ControlCharacterFilter

from .conftest import to_list
from .test_flow import SIZE

#: Clears the screen, sets the terminal title, rings the bell: what a hostile laptop pushed.
HOSTILE = "Boom\x1b[2J\x1b]0;overgenomen\x07 omgewaaid\x9b31m"


def _legacy_melding(db_path) -> str:
    """A melding whose created event holds HOSTILE in its description and melder name, stored as a
    pull would have stored it before the rules (apply_remote does not re-check)."""
    dev = commands.DeviceClock("M2", "jan", hlc=HLC())
    clean = commands.register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="x"))
    payload = {**clean.payload, "fields": {**clean.payload["fields"], "omschrijving": HOSTILE,
                                           "melder": {"naam": "Piet\x1b]0;x\x07"}}}  # fmt: skip
    legacy = Event(
        event_id=new_id(), melding_id=clean.melding_id, device_id="M2", device_seq=1, hlc=clean.hlc,
        type=clean.type, payload=payload, user="jan\x1b[2J",
    )  # fmt: skip
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        store.apply_remote([legacy], next_after=1)
        assert store.get(legacy.melding_id).omschrijving == HOSTILE  # the stored text keeps its meaning
    return legacy.melding_id


def _terminal_output(app) -> str:
    """Everything Textual would write to the terminal for the current screen, in full."""
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(app.console)


async def test_list_and_detail_draw_no_control_characters(app_factory, db_path):
    from wijkteam_tui.screens.detail import DetailScreen

    melding_id = _legacy_melding(db_path)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_list(pilot)  # all meldingen (the day starts on the werkvoorraad)
        for screen, shown in ((None, "DLF-M2-0001"), (DetailScreen(melding_id), "omgewaaid")):
            if screen is not None:
                app.push_screen(screen)
                await app.workers.wait_for_complete()
                await pilot.pause()
            out = _terminal_output(app)
            assert shown in out  # the melding is on screen …
            assert "\x1b[2J" not in out and "\x1b]0;" not in out  # … without its escape sequences
            assert "\x07" not in out and "\x9b" not in out


def test_filter_keeps_segments_without_control_characters():
    from rich.segment import Segment
    from textual.color import Color

    plain = [Segment("Kerkstraat 12"), Segment(" open")]
    f = ControlCharacterFilter()
    assert f.apply(plain, Color(0, 0, 0)) is plain
    mixed = [Segment("a"), Segment("b\x1bc\u202ed"), Segment("e")]
    assert [s.text for s in f.apply(mixed, Color(0, 0, 0))] == ["a", "bcd", "e"]
