"""Fixtures for the TUI tests: a fixed clock, a fresh database, an app factory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wijkteam_tui.app import make_app
from wijkteam_tui.config import Config

#: Friday 24 April 2026, 10:15 Europe/Amsterdam: a 5-day norm ends Monday 4 May (King's Day skipped).
NOW = datetime(2026, 4, 24, 8, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("WIJKTEAM_CONFIG", str(tmp_path / "config.toml"))


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "wijkteam.sqlite"


@pytest.fixture
def config():
    return Config(device_code="K7", user="tester", prefix="DLF")


def sample_lookup(postcode, huisnummer, huisletter, toevoeging):
    """A stand-in for the location engineer's gazetteer: the sample addresses, exact match."""
    from wijkteam_tui.demo import sample_addresses

    for adres, punt in sample_addresses():
        if (
            adres.postcode,
            adres.huisnummer,
            adres.huisletter,
            adres.huisnummertoevoeging,
        ) == (postcode, huisnummer, huisletter, toevoeging):
            return adres, punt
    return None


@pytest.fixture
def app_factory(db_path, config):
    def factory(**kw):
        kw.setdefault("clock", lambda: NOW)
        kw.setdefault("address_lookup", sample_lookup)
        kw.setdefault("auto_sync", False)
        return make_app(kw.pop("db", db_path), kw.pop("config", config), **kw)

    return factory


async def settle(pilot) -> None:
    """Wait until every key pressed has landed (``wijkteam_tui.keygate``), every worker is done and
    the screen has processed what that caused: the state a snapshot may be taken of, on a loaded
    machine as on an idle one (events waited for, not time)."""
    app = pilot.app
    await app.keygate.wait_idle()
    await app.workers.wait_for_complete()
    await app.keygate.wait_idle()
    await pilot.pause()


async def to_list(pilot) -> None:
    """From the start screen (*Mijn werkvoorraad*) to the list of all meldingen: ``w``, ``a``."""
    await settle(pilot)
    await pilot.press("w", "a")
    await settle(pilot)
