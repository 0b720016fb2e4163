"""The served OpenAPI document describes what Litestar cannot infer (``sync_server.openapi``): bearer
auth and the public routes, each route's errors with the server's error body, and the bodies the
handlers read as bytes. The routes are read from the app, so routes added later are checked too;
``tests/e2e/test_schemathesis.py`` then holds a real server to the document."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from sync_server.auth import allowed_roles, is_public_route
from sync_server.openapi import describe
from tests.server.conftest import Server

REF = "#/components/schemas/"


@pytest.fixture
def doc(client: TestClient) -> dict[str, Any]:
    resp = client.get("/schema/openapi.json")
    assert resp.status_code == 200
    return resp.json()


def _operations(server: Server, doc: dict[str, Any]):
    for route in server.app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in doc["paths"]:
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if (op := doc["paths"][route.path_format].get(method.lower())) is not None:
                yield route.path_format, method, handler, op


def test_bearer_is_the_default_and_public_routes_need_none(server: Server, doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["bearer"]["type"] == "http"
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["security"] == [{"bearer": []}]
    public = 0
    for path, method, handler, op in _operations(server, doc):
        if (path, method) == ("/open311/v2/requests.json", "POST"):
            assert op["security"] == [{"bearer": []}, {"open311_api_key": []}]
            assert "401" in op["responses"] and "403" in op["responses"]
        elif is_public_route(path, method, handler):
            assert op["security"] == [], f"{method} {path}"
            assert "401" not in op["responses"], f"{method} {path}"
            public += 1
        else:
            assert "security" not in op, f"{method} {path}"  # the document's default: bearer
            assert "401" in op["responses"], f"{method} {path}"
    assert public >= 7  # health, ready, public status, four Open311 reads


def test_403_is_documented_with_the_roles_the_guards_admit(server: Server, doc: dict[str, Any]) -> None:
    guarded = 0
    for path, method, handler, op in _operations(server, doc):
        roles = allowed_roles(handler)
        if roles is None:
            continue
        guarded += 1
        text = op["responses"]["403"]["description"]
        for role in ("wijkuitvoerder", "kcc", "manager", "admin"):
            assert (role in text.split("toegestaan:")[1]) == (role in {r.value for r in roles}), f"{method} {path}"
    assert guarded >= 8  # sync (5), kcc (2), barometer


def test_errors_have_the_servers_body(server: Server, doc: dict[str, Any]) -> None:
    error_body = doc["components"]["schemas"]["ErrorBody"]
    assert {"status_code", "detail"} == set(error_body["required"])
    assert {"field", "reason"} <= set(error_body["properties"])
    for path, method, _, op in _operations(server, doc):
        for status, answer in op["responses"].items():
            if int(status) < 400 or path == "/ready":
                continue
            schema = answer["content"]["application/json"]["schema"]
            if path.startswith("/open311/"):
                assert schema == {"type": "array", "items": {"$ref": REF + "GeoReportError"}}, (
                    f"{method} {path} {status}"
                )
            elif (path, status) == ("/api/v1/kcc/meldingen/{reference}", "409"):
                assert schema == {"$ref": REF + "ReferenceClashBody"}
            else:
                assert schema == {"$ref": REF + "ErrorBody"}, f"{method} {path} {status}"
    responses = doc["paths"]["/api/v1/public/status/{reference}"]["get"]["responses"]
    assert {"400", "404", "409", "429"} <= set(responses)
    assert "Retry-After" in responses["429"]["headers"]
    assert doc["paths"]["/ready"]["get"]["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": REF + "Ready"
    }


def test_bodies_read_as_bytes_are_described(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    push = paths["/api/v1/sync/push"]["post"]
    for media in ("application/json", "application/msgpack"):
        assert push["requestBody"]["content"][media]["schema"] == {"$ref": REF + "PushRequest"}
        assert push["responses"]["200"]["content"][media]["schema"] == {"$ref": REF + "PushResponse"}
    assert {"400", "401", "403", "409", "413", "426", "503"} <= set(push["responses"])
    assert doc["components"]["schemas"]["PushRequest"]["properties"]["events"]["items"] == {"$ref": REF + "Event"}
    assert paths["/api/v1/sync/verdicts"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": REF + "VerdictRequest"
    }
    assert paths["/api/v1/audit/exports"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": REF + "ExportNotice"
    }
    assert paths["/api/v1/kcc/search"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": REF + "SearchRequest"
    }
    pull = paths["/api/v1/sync/pull"]["get"]
    header = [p for p in pull["parameters"] if p["name"] == "X-Wijkteam-Protocol"]
    assert len(header) == 1 and header[0]["required"] is True and header[0]["in"] == "header"
    assert pull["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": REF + "PullResponse"}


def test_open311_post_describes_the_form(doc: dict[str, Any]) -> None:
    body = doc["paths"]["/open311/v2/requests.json"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/x-www-form-urlencoded", "application/json"}
    assert body["application/x-www-form-urlencoded"]["schema"] == {"$ref": REF + "PostRequest"}
    form = doc["components"]["schemas"]["PostRequest"]
    assert set(form["required"]) == {"service_code", "description"}
    assert {
        "api_key", "service_code", "lat", "long", "address_string", "address_id", "email", "first_name",
        "last_name", "phone", "description", "media_url",
    } <= set(form["properties"])  # fmt: skip
    assert form["properties"]["lat"]["minimum"] == 50.7 and form["properties"]["long"]["maximum"] == 7.3


def test_describing_twice_changes_nothing(server: Server, client: TestClient) -> None:
    assert client.get("/schema/openapi.json").status_code == 200
    pull = server.app.openapi_schema.paths["/api/v1/sync/pull"].get
    before = (list(pull.parameters), dict(pull.responses))
    describe(server.app)
    assert (pull.parameters, pull.responses) == before


@pytest.mark.parametrize("path", ["/open311/v2/requests.json", "/api/v1/public/status/DLF-K7-0142"])
def test_a_disk_gone_on_a_read_answers_503_in_the_documented_shape(
    server: Server, client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        if server.store.postgres:
            import psycopg.errors

            raise psycopg.errors.lookup("58030")("could not write block")  # io_error
        exc = sqlite3.OperationalError("disk I/O error")
        exc.sqlite_errorcode = 10  # SQLITE_IOERR
        raise exc

    # Where each engine hands out its connections: SQLite's per thread, PostgreSQL's pool.
    if server.store.postgres:
        monkeypatch.setattr(server.store.db.pool, "connection", broken)
    else:
        monkeypatch.setattr(server.store.db, "conn", broken)
    resp = client.get(path)
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    body = resp.json()
    if path.startswith("/open311/"):
        assert body[0]["code"] == 503 and "kan niet opslaan" in body[0]["description"]
    else:
        assert body["status_code"] == 503 and body["reason"] == "schrijffout"
