"""Every route answers 401 without a valid token (except public ones) and 403 for a role it does not admit.

The routes are read from the app itself, so routes added later by other modules are covered too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from shared.enums import Role
from sync_server.auth import is_public
from tests.server.conftest import Server, auth


def _routes(app: Litestar) -> Iterator[tuple[str, str, object]]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods):
                if method in ("HEAD", "OPTIONS"):
                    continue
                path = re.sub(r"\{[^}]+\}", "X", route.path)
                yield method, path, handler


def _public(method: str, path: str, handler: object) -> bool:
    return is_public({"path": path, "method": method, "route_handler": handler})  # type: ignore[typeddict-item]


def test_every_route_without_token_is_401(server: Server, client: TestClient) -> None:
    checked = 0
    for method, path, handler in _routes(server.app):
        if _public(method, path, handler):
            continue
        resp = client.request(method, path)
        assert resp.status_code == 401, f"{method} {path} answered {resp.status_code}"
        assert resp.json()["detail"]
        bad = client.request(method, path, headers={"Authorization": "Bearer wt_onzin"})
        assert bad.status_code == 401, f"{method} {path} with a wrong token answered {bad.status_code}"
        checked += 1
    assert checked >= 3  # at least push, pull and /api/v1/me


def test_public_routes_need_no_token(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/schema/openapi.json").status_code == 200


def test_revoked_token_is_401(server: Server, client: TestClient) -> None:
    token, _ = server.laptop("weg")
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 200
    server.store.revoke_user("weg")
    resp = client.get("/api/v1/me", headers=auth(token))
    assert resp.status_code == 401 and "ingetrokken" in resp.json()["detail"]


def test_each_role_gets_403_where_it_does_not_belong(server: Server, client: TestClient) -> None:
    checked = 0
    for method, path, handler in _routes(server.app):
        guards = [g for g in (handler.guards or []) if hasattr(g, "roles")]
        owner_guards = [g for layer in handler.ownership_layers for g in (layer.guards or []) if hasattr(g, "roles")]
        if not guards + owner_guards:
            continue  # no role guard: the route decides itself (e.g. Open311's api_key), tested there
        allowed = set(Role)
        for g in guards + owner_guards:
            allowed &= set(g.roles)  # type: ignore[attr-defined]
        for role in Role:
            resp = client.request(method, path, headers=auth(server.tokens[role.value]))
            if role in allowed:
                assert resp.status_code != 403, f"{role} refused on {method} {path}: {resp.text}"
            else:
                assert resp.status_code == 403, f"{role} got {resp.status_code} on {method} {path}"
                assert role.value in resp.json()["detail"]
                checked += 1
    assert checked >= 4  # kcc and manager on push and pull at least


@pytest.mark.parametrize("role", list(Role))
def test_me_tells_who_the_token_is(server: Server, client: TestClient, role: Role) -> None:
    resp = client.get("/api/v1/me", headers=auth(server.tokens[role.value]))
    assert resp.status_code == 200
    body = resp.json()
    assert body["role"] == role.value and body["name"] == f"test-{role.value}"
    assert body["device_code"] == server.devices[role.value]
    assert (body["device_code"] is not None) == (role in (Role.WIJKUITVOERDER, Role.ADMIN))


def test_sync_role_matrix_explicitly(server: Server, client: TestClient) -> None:
    for role, expected in (("kcc", 403), ("manager", 403)):
        assert client.get("/api/v1/sync/pull", headers=auth(server.tokens[role])).status_code == expected
        assert client.post("/api/v1/sync/push", headers=auth(server.tokens[role]), content=b"{}").status_code == expected
    for role in ("wijkuitvoerder", "admin"):
        assert client.get("/api/v1/sync/pull", headers=auth(server.tokens[role])).status_code == 200
