"""KCC mode in the app (issue 5): chosen by ``--kcc`` or a token with role kcc, and read-only —
no background sync, and new melding / sync / status / note / terugkoppeling / edit are disabled via
``check_action``, so neither a key nor the command palette reaches them."""

from __future__ import annotations

import httpx
import pytest

from shared.enums import VierB
from shared.events import MeldingFields
from wijkteam_store.local import LocalStore
from wijkteam_tui.app import KCC_BLOCKED, WijkteamApp
from wijkteam_tui.config import Config
from wijkteam_tui.screens.detail import DetailScreen
from wijkteam_tui.screens.intake import IntakeScreen
from wijkteam_tui.screens.kcc import KccScreen, starts_in_kcc_mode
from wijkteam_tui.screens.meldingen import MeldingenScreen
from wijkteam_tui.screens.werkvoorraad import WerkvoorraadScreen

from .test_flow import SIZE

SYNCING = Config(device_code="K7", user="kcc1", server_url="http://127.0.0.1:9", token="t")


def _one_melding(db_path):
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("x")
        return store.register(
            dev,
            prefix="DLF",
            fields=MeldingFields(omschrijving="Boom om", categorie="groen/boom", vier_b=VierB.BREDE_BLIK),
        ).reference


def _palette_titles(app) -> set[str]:
    return {c.title for c in app.get_system_commands(app.screen)}


async def test_kcc_mode_does_not_sync_and_blocks_writes(app_factory, db_path):
    _one_melding(db_path)
    calls = []

    def sync(store, url, token):
        calls.append(url)
        raise AssertionError("KCC mode never syncs")

    app = app_factory(config=SYNCING, kcc=True, sync_fn=sync, auto_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)
        assert app._sync_timer is None
        for action in ("new_melding", "sync_now"):
            assert app.check_action(action, ()) is False
        await pilot.press("f5", "f2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)
        app.action_new_melding()  # even called directly: no intake
        app.action_sync_now()
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)
        titles = _palette_titles(app)
        assert "Nieuwe melding" not in titles and "Sync" not in titles
        assert "Zoeken" in titles  # reading stays
        # the local list underneath: no new melding, and the detail has no editing keys
        app.pop_screen()
        await pilot.pause()
        assert isinstance(app.screen, MeldingenScreen)
        assert "Nieuwe melding" not in _palette_titles(app)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, IntakeScreen)
        app.screen.query_one("#lijst").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        titles = _palette_titles(app)
        assert not titles & {"Status", "Notitie", "Terugkoppeling", "Bewerken"}
        for action in ("status", "note", "callback", "edit"):
            assert app.screen.check_action(action, ()) is False
        for key in ("s", "n", "t", "e"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen), key
    assert calls == []


async def test_palette_cannot_start_an_intake_in_kcc_mode(app_factory):
    app = app_factory(kcc=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"Nieuwe melding")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert not any(isinstance(s, IntakeScreen) for s in app.screen_stack)


async def test_normal_mode_still_allows_everything(app_factory):
    app = app_factory(config=SYNCING)
    async with app.run_test(size=SIZE):
        assert all(app.allows(a) for a in KCC_BLOCKED)
        assert app.check_action("new_melding", ()) is True
        assert {"Nieuwe melding", "Sync"} <= _palette_titles(app)


def _transport(role: str | None, status: int = 200):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/me"
        assert request.headers["Authorization"] == "Bearer t"
        return httpx.Response(status, json={"role": role} if status == 200 else {"detail": "nee"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("asked", "role", "status", "expected"),
    [
        (False, "kcc", 200, True),
        (False, "wijkuitvoerder", 200, False),
        (False, None, 401, False),
        (True, "wijkuitvoerder", 200, True),
    ],
)
def test_starts_in_kcc_mode(asked, role, status, expected):
    assert starts_in_kcc_mode(SYNCING, asked=asked, transport=_transport(role, status)) is expected


def test_starts_in_kcc_mode_without_server_is_normal():
    assert starts_in_kcc_mode(Config(), asked=False) is False


@pytest.mark.parametrize(("role", "argv", "expected"), [("kcc", [], True), ("wijkuitvoerder", [], False),
                                                        ("wijkuitvoerder", ["--kcc"], True)])
def test_cli_chooses_kcc_mode_from_the_token(tmp_path, monkeypatch, role, argv, expected):
    import wijkteam_tui.screens.kcc as kcc_mod
    from wijkteam_tui.cli import main

    monkeypatch.setattr(kcc_mod, "token_role", lambda url, token, **kw: role)
    monkeypatch.setattr("wijkteam_tui.cli.data_dir", lambda: tmp_path)
    started = []
    monkeypatch.setattr(WijkteamApp, "run", lambda self, *a, **kw: started.append(self.kcc))
    assert main(["--db", str(tmp_path / "w.sqlite"), *argv]) == 0
    assert started == [expected]


async def test_kcc_screen_uses_settings_saved_while_it_is_open(app_factory, db_path):
    _one_melding(db_path)
    app = app_factory(config=Config(device_code="K7", user="kcc1"), kcc=True, auto_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, KccScreen)
        assert not screen.client.configured
        app.config = SYNCING  # what the settings screen (F9) does on save
        assert screen.client.configured
        assert (screen.client.base_url, screen.client.token) == ("http://127.0.0.1:9", "t")


async def test_f7_on_a_wijkuitvoerders_laptop_goes_back_with_escape(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f7")
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)
        await pilot.press("escape")  # the search box has focus: back to where F7 came from
        await pilot.pause()
        assert isinstance(app.screen, WerkvoorraadScreen)


async def test_escape_never_leaves_an_app_started_in_kcc_mode(app_factory):
    app = app_factory(config=SYNCING, kcc=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)
