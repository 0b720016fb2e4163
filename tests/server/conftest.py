"""Fixtures for server unit tests: an app on a temp database, driven through Litestar's TestClient.

The ``server`` fixture runs each test twice, on SQLite and on PostgreSQL (``store_location``,
``tests/conftest.py``): the one contract suite of issue 17."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from shared.enums import Role
from sync_server.app import create_app
from sync_server.settings import Settings
from sync_server.store import ServerStore


class Server:
    """An app, its store and one token per role (``tokens[role]``; laptops get device codes)."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.store = ServerStore(path)
        self.app = create_app(Settings(db_path=path), store=self.store)
        self.tokens: dict[str, str] = {}
        self.devices: dict[str, str | None] = {}
        for role in Role:
            token, code = self.store.add_user(f"test-{role.value}", role)
            self.tokens[role.value] = token
            self.devices[role.value] = code

    def laptop(self, name: str) -> tuple[str, str]:
        """A new wijkuitvoerder user: ``(token, device_code)``."""
        token, code = self.store.add_user(name, Role.WIJKUITVOERDER)
        assert code
        return token, code


@pytest.fixture
def server(store_location: Path | str) -> Iterator[Server]:
    srv = Server(store_location)
    yield srv
    srv.store.close()


@pytest.fixture
def client(server: Server) -> Iterator[TestClient]:
    with TestClient(server.app) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Wijkteam-Protocol": "1"}
