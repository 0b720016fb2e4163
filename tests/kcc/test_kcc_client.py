"""KccClient and the KCC-mode choice: every server answer becomes a plain Dutch message."""

from __future__ import annotations

import json

import httpx
import pytest

from wijkteam_tui.config import Config
from wijkteam_tui.screens.kcc import KccClient, KccError, starts_in_kcc_mode, token_role


def client_answering(status: int, body: object | None = None, *, exc: Exception | None = None) -> KccClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer wt_x"
        if exc is not None:
            raise exc
        return httpx.Response(status, json=body)

    return KccClient("http://kcc.test", "wt_x", transport=httpx.MockTransport(handler))


async def test_search_passes_query_and_returns_json() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["q"] = json.loads(request.content)["q"]
        seen["path"] = request.url.path
        seen["method"], seen["query"] = request.method, str(request.url.query, "ascii")
        return httpx.Response(200, json={"kind": "telefoon", "searched": "…", "results": [], "truncated": False})

    c = KccClient("http://kcc.test/", "wt_x", transport=httpx.MockTransport(handler))
    answer = await c.search("06-12345678")
    # The phone number travels in the body, never in the URL (access logs keep URLs).
    assert seen == {"q": "06-12345678", "path": "/api/v1/kcc/search", "method": "POST", "query": ""}
    assert answer.kind == "telefoon"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"detail": "x"}, "niet herkend"),
        (403, {"detail": "x"}, "geen KCC-rechten"),
        (400, {"detail": "Typ een referentie, …"}, "Typ een referentie"),
        (404, {"detail": "Geen melding gevonden met referentie DLF-K7-0001."}, "DLF-K7-0001"),
        (500, {"detail": "Interne serverfout"}, "De server gaf een fout"),
        (418, None, "418"),
    ],
)
async def test_errors_are_dutch(status: int, body: object, expected: str) -> None:
    with pytest.raises(KccError) as exc:
        await client_answering(status, body).search("x")
    assert expected in exc.value.message


async def test_unreachable_and_timeout() -> None:
    with pytest.raises(KccError) as exc:
        await client_answering(0, exc=httpx.ConnectError("refused")).search("x")
    assert "niet bereikbaar" in exc.value.message
    with pytest.raises(KccError) as exc:
        await client_answering(0, exc=httpx.ReadTimeout("slow")).detail("DLF-K7-0001")
    assert "antwoordt niet" in exc.value.message


async def test_not_configured() -> None:
    with pytest.raises(KccError) as exc:
        await KccClient(None, None).search("x")
    assert "Instellingen" in exc.value.message


def me(role: str | None, status: int = 200) -> httpx.MockTransport:
    return httpx.MockTransport(lambda r: httpx.Response(status, json={"name": "a", "role": role, "device_code": None}))


def test_mode_choice() -> None:
    cfg = Config(server_url="http://kcc.test", token="wt_x")
    assert starts_in_kcc_mode(cfg, asked=True)
    assert starts_in_kcc_mode(cfg, asked=False, transport=me("kcc"))
    assert not starts_in_kcc_mode(cfg, asked=False, transport=me("wijkuitvoerder"))
    assert not starts_in_kcc_mode(cfg, asked=False, transport=me("kcc", 401))
    assert not starts_in_kcc_mode(Config(), asked=False)
    refused = httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused")))
    assert token_role("http://kcc.test", "wt_x", transport=refused) is None
