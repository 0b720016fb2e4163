"""App-wide behaviour: command palette, help, settings, background sync status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from textual.widgets import Input, Static

from wijkteam_tui.config import Config, load_config
from wijkteam_tui.screens.help import HelpScreen
from wijkteam_tui.screens.intake import IntakeScreen
from wijkteam_tui.screens.settings import SettingsScreen
from wijkteam_tui.widgets import StatusBar

from .test_flow import SIZE, rendered, type_call


async def test_command_palette_runs_actions(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Nieuwe melding")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)


async def test_help_lists_keys(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = rendered(app.screen.query_one(Static))
        for words in (
            "Nieuwe melding",
            "Opslaan",
            "Terugkoppeling",
            "Status",
            "Instellingen",
        ):
            assert words in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_settings_validate_and_save(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f9")
        assert isinstance(app.screen, SettingsScreen)
        assert app.focused is app.screen.query_one("#server_url", Input)  # typing starts at once
        app.screen.query_one("#server_url", Input).value = "ftp://x"
        app.screen.query_one("#device_code", Input).value = "UUU"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert "https://" in str(app.screen.query_one("#err-server_url").render())
        assert "2 of 3 tekens" in str(app.screen.query_one("#err-device_code").render())
        app.screen.query_one(
            "#server_url", Input
        ).value = "https://wijkteam.example.nl/"
        app.screen.query_one("#device_code", Input).value = "m3"
        app.screen.query_one("#token", Input).value = "geheim"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, SettingsScreen)
    saved = load_config()
    assert (saved.server_url, saved.device_code, saved.token, saved.user) == (
        "https://wijkteam.example.nl",
        "M3",
        "geheim",
        "tester",
    )
    assert (tmp_path / "config.toml").stat().st_mode & 0o077 == 0


@dataclass
class FakeResult:
    pushed: int
    pulled: int
    server_hlc: int
    skew_ms: int
    finished_at: datetime


class FakeSyncError(Exception):
    def __init__(self, message: str, offline: bool) -> None:
        super().__init__(message)
        self.message = message
        self.offline = offline


async def test_background_sync_after_save_and_status_line(app_factory, db_path):
    calls = []

    def fake_sync(store, url, token):
        pending = store.unacked_events(100)
        calls.append((url, token, len(pending)))
        store.mark_acked([e.event_id for e in pending])
        return FakeResult(
            len(pending), 0, 0, 7 * 60 * 1000, datetime(2026, 4, 24, 8, 16, tzinfo=UTC)
        )

    config = Config(
        device_code="K7",
        user="tester",
        server_url="https://x.example",
        token="t",
        sync_interval_s=3600,
    )
    app = app_factory(config=config, sync_fn=fake_sync, auto_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await type_call(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert calls[-1] == ("https://x.example", "t", 2)  # created, and assigned to the wijk's wijkuitvoerder
        await pilot.press(
            "enter"
        )  # close the confirmation: back on the form with its status line
        line = str(app.screen.query_one(StatusBar).render())
        assert "laatste sync 24-04-2026 10:16" in line
        assert "0 wachtend" in line
        assert "klok wijkt 420 s af" in line


async def test_sync_failure_shows_offline_and_backs_off(app_factory):
    def failing(store, url, token):
        raise FakeSyncError("Geen verbinding met de server.", offline=True)

    config = Config(
        device_code="K7",
        user="tester",
        server_url="https://x.example",
        token="t",
        sync_interval_s=60,
    )
    app = app_factory(config=config, sync_fn=failing, auto_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "offline" in str(app.screen.query_one(StatusBar).render())
        assert app._failures == 1
        assert app._sync_timer is not None


async def test_other_screens_open_from_the_app(app_factory):
    from wijkteam_tui.screens.kcc import KccScreen
    from wijkteam_tui.screens.report import ReportScreen

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        await pilot.press("escape")
        await pilot.press("f7")
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)


def test_config_is_strict_and_round_trips(tmp_path):
    import pytest

    from shared.errors import ValidationError
    from wijkteam_tui.config import check_device_code, save_config

    path = tmp_path / "c.toml"
    cfg = Config(
        server_url="https://x.example",
        token='a"b\\c',
        device_code="K7",
        user="piet",
        sync_interval_s=30,
    )
    save_config(cfg, path)
    assert load_config(path) == cfg
    path.write_text('server_urll = "https://typo"\n')
    with pytest.raises(ValidationError, match="klopt niet"):
        load_config(path)
    assert load_config(tmp_path / "missing.toml").prefix == "DLF"
    assert check_device_code(" k7 ") == "K7" and check_device_code("o1") == "01"


async def test_status_line_says_a_sync_is_running(app_factory):
    import asyncio
    import threading

    entered, release = threading.Event(), threading.Event()

    def slow(store, url, token):
        entered.set()
        release.wait(10)
        return FakeResult(0, 0, 0, 0, datetime(2026, 4, 24, 8, 16, tzinfo=UTC))

    config = Config(device_code="K7", user="tester", server_url="https://x.example", token="t", sync_interval_s=3600)
    app = app_factory(config=config, sync_fn=slow, auto_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await asyncio.to_thread(entered.wait, 10)
        await pilot.pause()
        assert "bezig met synchroniseren" in str(app.screen.query_one(StatusBar).render())
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        line = str(app.screen.query_one(StatusBar).render())
        assert "bezig met synchroniseren" not in line and "laatste sync" in line


async def test_settings_keep_the_device_code_while_its_events_wait(app_factory, tmp_path):
    from shared.events import MeldingFields

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.store.register(app.store.device_clock("tester"), prefix="DLF", fields=MeldingFields(omschrijving="Tegel los"))
        await pilot.press("f9")
        app.screen.query_one("#device_code", Input).value = "M3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)  # not saved: the screen stays, with the reason
        assert "Synchroniseer eerst" in str(app.screen.query_one("#settings-error").render())
        assert app.store.device_code() == "K7"
    assert not (tmp_path / "config.toml").exists() or load_config().device_code == "K7"


async def test_start_with_a_new_device_code_while_old_events_wait(app_factory, db_path):
    from shared.events import MeldingFields
    from wijkteam_store.local import LocalStore
    from wijkteam_tui.config import Config

    store = LocalStore(db_path)
    store.set_device_code("K7")
    store.register(store.device_clock("tester"), prefix="DLF", fields=MeldingFields(omschrijving="Tegel los"))
    store.close()
    app = app_factory(config=Config(device_code="M3", user="tester", prefix="DLF"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.store.device_code() == "K7"  # kept: its event still waits for the server
        messages = [n.message for n in app._notifications]
        assert any("M3 niet overgenomen" in m and "Synchroniseer eerst" in m for m in messages), messages
