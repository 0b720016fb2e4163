"""Refused changes in the app (issue 11 §1): a persistent warning with the count, F8 and a Dutch
palette entry open a screen with the reason in Dutch and what to do; 'g' dismisses rejected ones."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from shared.events import MeldingFields
from shared.protocol import RefusalCode, Verdict, VerdictState
from wijkteam_store.local import LocalStore
from wijkteam_tui.screens.refused import RefusedScreen
from wijkteam_tui.widgets import StatusBar

from .conftest import NOW
from .test_flow import SIZE


def as_text(renderable) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def refuse_two(db_path) -> tuple[str, str]:
    """Two meldingen registered on this laptop and refused by the server (one of them later rejected)."""
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        ids = []
        for text in ("Lamp kapot", "Tegel los"):
            dev = store.device_clock("tester", clock=lambda: int(NOW.timestamp() * 1000))
            m = store.register(dev, prefix="DLF", fields=MeldingFields(omschrijving=text), registered_at=NOW)
            ids.append(store.events_of(m.melding_id)[0].event_id)
        store.mark_refused([(ids[0], RefusalCode.FUTURE_STAMP, "tijdstempel ligt 48 uur voor op de serverklok")])
        store.mark_refused([(ids[1], RefusalCode.BEFORE_ISSUE, "tijdstempel ligt voor de uitgifte")])
        store.apply_verdicts([Verdict(ids[1], VerdictState.REJECTED, "klok stond op 2001")])
        assert store.pending_count() == 0 and store.search(limit=10) == []
        return ids[0], ids[1]


async def test_refused_warning_screen_and_palette(app_factory, db_path) -> None:
    refuse_two(db_path)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = str(app.screen.query_one(StatusBar).render())
        assert "0 wachtend" in line and "2 geweigerd (F8)" in line
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Geweigerde wijzigingen" in commands
        await pilot.press("f8")
        await pilot.pause()
        assert isinstance(app.screen, RefusedScreen)
        shown = " ".join(as_text(s.content) for s in app.screen.query("Static"))
        assert "De klok van deze laptop liep voor" in shown and "Zet de klok goed" in shown
        assert "DLF-K7-0001" in shown and "afgewezen" in shown and "klok stond op 2001" in shown
        await pilot.press("g")  # the rejected one is seen; the waiting one stays
        await pilot.pause()
        assert app.store.refused_count() == 1
        await pilot.press("escape")
        await pilot.pause()
        assert "1 geweigerd (F8)" in str(app.screen.query_one(StatusBar).render())


def test_refusal_dates_show_when_the_change_was_made() -> None:
    from wijkteam_tui.screens.refused import refused_table

    row = {
        "event_id": "e", "melding_id": "m" * 20, "type": "status_changed", "hlc": int(NOW.timestamp() * 1000) << 16,
        "code": "unknown-code", "reason": "r\x1b[2J", "verdict": "waiting", "verdict_note": "", "reference": "",
        "omschrijving": "", "refused_at": "", "decided_at": None, "seen": 0,
    }  # fmt: skip
    text = as_text(refused_table([row]))
    assert "statuswijziging" in text and "24-04-2026" in text and "Vraag de beheerder" in text
    assert "\x1b" not in text
    assert datetime.now(UTC) > NOW
