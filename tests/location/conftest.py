"""Fixtures for the location tests.

Nothing leaves the machine: every geopy geocoder built during these tests without an explicit
adapter gets :class:`NoNetworkAdapter`, which fails the test if it was ever asked for a URL; tests
that want online answers build geocoders on :class:`Online`'s fake adapter (recorded responses).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopy.geocoders
import pytest

from tests.location.fakes import ESCAPED, NoNetworkAdapter, Online, ServerProcess


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(geopy.geocoders.options, "default_adapter_factory", NoNetworkAdapter)
    ESCAPED.clear()
    yield
    assert ESCAPED == [], f"a test tried to reach the network: {ESCAPED}"


@pytest.fixture
def online() -> Online:
    return Online()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "server.sqlite3", tmp_path / "server.log")
    srv.start()
    yield srv
    srv.stop()
