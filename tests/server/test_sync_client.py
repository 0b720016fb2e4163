"""``sync_once`` against answers the server may give: retries, errors in Dutch, offline flag."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import pytest

from shared.events import MeldingFields
from shared.protocol import PullResponse
from wijkteam_store.local import LocalStore
from wijkteam_tui.sync_client import SyncError, describe, sync_once


@pytest.fixture
def laptop(tmp_path: Path):
    store = LocalStore(tmp_path / "l.db")
    store.set_device_code("K7")
    store.register(store.device_clock("anna"), prefix="DLF", fields=MeldingFields(omschrijving="Tegel los"))
    yield store
    store.close()


def client(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://srv")


def test_transient_errors_are_retried_then_reported_offline(laptop: LocalStore) -> None:
    calls: list[str] = []
    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503, json={"status_code": 503, "detail": "druk"})

    with pytest.raises(SyncError) as err:
        sync_once(laptop, "http://srv", "t", client=client(handler), sleep=waits.append)
    assert err.value.offline and err.value.status == 503
    assert len(calls) == 3 and waits == [0.25, 1.0]
    assert laptop.pending_count() == 1


@pytest.mark.parametrize(
    ("status", "detail", "words"),
    [
        (401, "Token onbekend of ingetrokken", "kent dit token niet"),
        (403, "De rol kcc mag dit niet", "Geen toegang"),
        (426, "De app is te oud", "De app is te oud"),
        (500, "Interne serverfout", "Serverfout (500)"),
    ],
)
def test_errors_carry_the_servers_dutch_detail(laptop: LocalStore, status: int, detail: str, words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"status_code": status, "detail": detail})

    with pytest.raises(SyncError) as err:
        sync_once(laptop, "http://srv", "t", client=client(handler), sleep=lambda _: None)
    assert words in err.value.message and not err.value.offline and err.value.status == status


def test_newer_event_schema_from_the_server_is_not_applied(laptop: LocalStore) -> None:
    laptop.mark_acked([e.event_id for e in laptop.unacked_events(10)])
    other = laptop.events_of(laptop.search()[0]["melding_id"])[0]
    newer = msgspec.structs.replace(other, event_id="0190-nieuw", schema=99)
    page = PullResponse(protocol=1, server_hlc=1, events=[{"server_seq": 1, "event": newer}], next_after=1, has_more=False)  # type: ignore[list-item]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=msgspec.msgpack.encode(page), headers={"Content-Type": "application/msgpack"})

    with pytest.raises(SyncError) as err:
        sync_once(laptop, "http://srv", "t", client=client(handler))
    assert "werk de wijkteam-app bij" in err.value.message
    assert laptop.pull_cursor() == 0


def test_garbage_answer_is_a_sync_error(laptop: LocalStore) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>proxy login</html>")

    with pytest.raises(SyncError) as err:
        sync_once(laptop, "http://srv", "t", client=client(handler))
    assert "Onverwacht antwoord" in err.value.message
    assert laptop.pending_count() == 1


def test_describe_mentions_refusals_and_skew() -> None:
    from datetime import UTC, datetime

    from wijkteam_tui.sync_client import SyncResult

    r = SyncResult(pushed=3, pulled=5, quarantined=1, server_hlc=1, skew_ms=-600_000, finished_at=datetime.now(UTC))
    text = describe(r)
    assert "3 verstuurd" in text and "5 ontvangen" in text and "1 geweigerd" in text and "10 min achter" in text
    calm = describe(SyncResult(pushed=0, pulled=0, quarantined=0, server_hlc=1, skew_ms=1000, finished_at=datetime.now(UTC)))
    assert "klok" not in calm


def test_server_address_without_scheme_is_explained(laptop: LocalStore) -> None:
    with pytest.raises(SyncError) as err:
        sync_once(laptop, "localhost:8080", "t", sleep=lambda _: None)
    assert "Ongeldig serveradres" in err.value.message and not err.value.offline


def test_local_store_failure_becomes_a_sync_error(laptop: LocalStore) -> None:
    from wijkteam_store.local import StoreError

    class Broken:
        def __getattr__(self, name: str) -> object:
            return getattr(laptop, name)

        def mark_acked(self, event_ids: list[str]) -> None:
            raise StoreError("De database is vergrendeld.")

    def handler(request: httpx.Request) -> httpx.Response:
        ack = {"protocol": 1, "server_hlc": 5, "stored": 1, "duplicates": 0}
        return httpx.Response(200, content=msgspec.msgpack.encode(ack))

    with pytest.raises(SyncError) as err:
        sync_once(Broken(), "http://srv", "t", client=client(handler))  # type: ignore[arg-type]
    assert "vergrendeld" in err.value.message
    assert laptop.pending_count() == 1


def test_a_server_that_does_not_answer_is_reported_at_once_not_retried(laptop: LocalStore) -> None:
    calls: list[str] = []
    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(SyncError) as err:
        sync_once(laptop, "http://srv", "t", client=client(handler), sleep=waits.append)
    assert err.value.offline and "antwoordt niet" in err.value.message
    assert len(calls) == 1 and waits == []
    assert laptop.pending_count() == 1  # nothing lost: the melding waits for the next round
