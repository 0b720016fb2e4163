"""GET /api/v1/public/status/{reference}: no token, no personal data, no house number, 404, rate limit."""

from __future__ import annotations

from litestar.testing import TestClient

from sync_server.routes.public import PUBLIC_RATE_LIMIT
from tests.kcc.conftest import KccServer

KEYS = {
    "reference", "open", "status", "status_text", "registered_date", "categorie", "categorie_naam",
    "expected_date", "belofte", "straat", "woonplaats", "message",
}  # fmt: skip


def test_status_without_token(kcc_client: TestClient, kcc_server: KccServer) -> None:
    ref = kcc_server.refs["boom"]
    r = kcc_client.get(f"/api/v1/public/status/{ref}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == KEYS
    assert body["reference"] == ref and body["open"] is True
    assert body["status"] == "gemeld" and body["status_text"] == "Gemeld"
    assert body["categorie"] == "groen/boom"
    assert body["straat"] == "Kerkstraat" and body["woonplaats"] == "Dalfsen"
    text = r.text
    for secret in ("Jansen", "612345678", "jan@example", "12A", "12 A", "7721", "tak afgebroken", "Grote tak"):
        assert secret not in text


def test_closed_shows_public_note(kcc_client: TestClient, kcc_server: KccServer) -> None:
    body = kcc_client.get(f"/api/v1/public/status/{kcc_server.refs['lamp'].lower()}").json()
    assert body["open"] is False and body["status"] == "afgehandeld"
    assert body["public_note"] == "Lamp vervangen." and body["closed_date"]
    assert "expected_date" in body  # still told when it was due


def test_unknown_reference_is_404_in_dutch(kcc_client: TestClient) -> None:
    r = kcc_client.get("/api/v1/public/status/DLF-K7-ZZZZ")
    assert r.status_code == 404
    assert "geen melding met referentie DLF-K7-ZZZZ" in r.json()["detail"]


def test_deleted_is_404(kcc_client: TestClient, kcc_server: KccServer) -> None:
    assert kcc_client.get(f"/api/v1/public/status/{kcc_server.refs['weg']}").status_code == 404


def test_malformed_reference_is_400(kcc_client: TestClient) -> None:
    r = kcc_client.get("/api/v1/public/status/hallo")
    assert r.status_code == 400 and "DLF-K7-0142" in r.json()["detail"]


def test_rate_limited_per_client(kcc_client: TestClient, kcc_server: KccServer) -> None:
    ref = kcc_server.refs["boom"]
    codes = [kcc_client.get(f"/api/v1/public/status/{ref}").status_code for _ in range(PUBLIC_RATE_LIMIT)]
    assert codes == [200] * PUBLIC_RATE_LIMIT
    r = kcc_client.get(f"/api/v1/public/status/{ref}")
    assert r.status_code == 429
    assert "Te veel" in r.json()["detail"]
    assert "ratelimit-reset" in {k.lower() for k in r.headers}
    # The KCC routes have no such limit.
    from tests.kcc.conftest import bearer

    assert kcc_client.post("/api/v1/kcc/search", json={"q": ref}, headers=bearer(kcc_server.tokens["kcc"])).status_code == 200


def test_doorgezet_shows_neither_our_promise_nor_our_date(kcc_client: TestClient, kcc_server: KccServer) -> None:
    from datetime import timedelta

    from shared.deadlines import utcnow
    from shared.enums import Status
    from tests.kcc.helpers import make

    events, state, _ = make(
        31, registered_at=utcnow() - timedelta(days=1), categorie="verlichting/lantaarnpaal",
        status=[(Status.DOORGEZET, "Doorgezet naar gemeente Zwolle: buiten de gemeente.")],
    )  # fmt: skip
    kcc_server.store.ingest(events)
    body = kcc_client.get(f"/api/v1/public/status/{state.reference}").json()
    assert body["status"] == "doorgezet" and "belofte" not in body and "expected_date" not in body
    assert "binnen 5 werkdagen" not in body["message"]
    open311 = kcc_client.get(f"/open311/v2/requests/{state.reference}.json").json()[0]
    assert "service_notice" not in open311 and "expected_datetime" not in open311
