"""``sync_once``'s pull: the next page is fetched while the current one is applied (one page ahead, no
further), fetch errors surface after the pages before them are applied, and the server's clock is
merged inside ``apply_remote``'s transaction."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import msgspec
import pytest

from shared import commands
from shared.events import Event, MeldingFields
from shared.hlc import pack, wall_ms
from shared.protocol import PulledEvent, PullResponse
from wijkteam_store.local import LocalStore, StoreError
from wijkteam_tui.sync_client import SyncError, sync_once

PAGE = 3
#: The server's clock an hour ahead of the laptop's, so that merging it visibly moves the laptop's HLC.
SERVER_HLC = pack(wall_ms() + 3_600_000, 7)


def server_log(n: int) -> list[PulledEvent]:
    """``n`` events of another laptop (B1) as the server's log, server_seq 1..n."""
    dev = commands.DeviceClock("B1", "bert")
    events = [
        commands.register(dev, prefix="DLF", counter=i + 1, fields=MeldingFields(omschrijving=f"Tegel {i}"))
        for i in range(n)
    ]
    return [PulledEvent(server_seq=i + 1, event=e) for i, e in enumerate(events)]


class FakeServer:
    """Answers pull requests from ``log`` in pages; records each request's ``after``; ``fail_after``
    maps an ``after`` to the status to answer instead; ``requested[after]`` is set when it is asked."""

    def __init__(self, log: list[PulledEvent], fail_after: dict[int, int] | None = None) -> None:
        self.log = log
        self.fail_after = fail_after or {}
        self.afters: list[int] = []
        self.requested: dict[int, threading.Event] = {}
        self.lock = threading.Lock()

    def asked(self, after: int) -> threading.Event:
        with self.lock:
            return self.requested.setdefault(after, threading.Event())

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/sync/snapshot/info":  # an empty laptop asks first; none here
            return httpx.Response(404, json={"status_code": 404, "detail": "Er is nog geen snapshot."})
        if request.url.path == "/api/v1/config":  # the round's configuration check: nothing here
            return httpx.Response(404, json={"status_code": 404, "detail": "geen"})
        assert request.url.path == "/api/v1/sync/pull", request.url.path
        after = int(request.url.params["after"])
        limit = int(request.url.params["limit"])
        self.afters.append(after)
        self.asked(after).set()
        if after in self.fail_after:
            status = self.fail_after[after]
            return httpx.Response(status, json={"status_code": status, "detail": "kapot"})
        page = [pe for pe in self.log if pe.server_seq > after][:limit]
        body = PullResponse(
            protocol=1,
            server_hlc=SERVER_HLC,
            events=page,
            next_after=page[-1].server_seq if page else after,
            has_more=bool(page) and page[-1].server_seq < self.log[-1].server_seq,
        )
        return httpx.Response(200, content=msgspec.msgpack.encode(body))

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler), base_url="http://srv")


class WatchingStore(LocalStore):
    """Records, for every applied page, how many pull requests the server had seen by then, and
    counts separate ``recv_hlc`` calls."""

    def __init__(self, path: Path, server: FakeServer) -> None:
        super().__init__(path)
        self.server = server
        self.requests_at_apply: list[int] = []
        self.recv_calls = 0
        self.hook = None

    def apply_remote(self, events: list[Event], next_after: int, server_hlc: int | None = None) -> None:
        self.requests_at_apply.append(len(self.server.afters))
        if self.hook:
            self.hook(next_after)
        super().apply_remote(events, next_after, server_hlc)

    def recv_hlc(self, remote: int) -> int:
        self.recv_calls += 1
        return super().recv_hlc(remote)


@pytest.fixture
def server() -> FakeServer:
    return FakeServer(server_log(4 * PAGE + 1))  # 5 pages, the last with one event


def test_next_page_is_fetched_while_the_current_one_is_applied_never_further(tmp_path: Path, server: FakeServer) -> None:
    store = WatchingStore(tmp_path / "l.db", server)
    prefetched: list[bool] = []
    # While page 1 is being applied, the request for page 2 arrives (it waits for nothing here).
    store.hook = lambda next_after: prefetched.append(server.asked(next_after).wait(30)) if next_after == PAGE else None
    result = sync_once(store, "http://srv", "t", client=server.client(), pull_limit=PAGE)
    assert prefetched == [True]
    assert result.pulled == len(server.log)
    assert server.afters == [0, 3, 6, 9, 12]  # each page asked once, in order
    # when page k (1-based) is applied, at most k+1 pages have been requested: one page ahead, no more
    assert len(store.requests_at_apply) == 5
    assert all(seen <= k + 1 for k, seen in enumerate(store.requests_at_apply, start=1)), store.requests_at_apply
    assert store.pull_cursor() == len(server.log)
    assert len(store.search(limit=100)) == len(server.log)
    store.close()


def test_a_failing_prefetched_page_leaves_the_pages_before_it_applied(tmp_path: Path) -> None:
    server = FakeServer(server_log(4 * PAGE), fail_after={2 * PAGE: 500})
    store = WatchingStore(tmp_path / "l.db", server)
    with pytest.raises(SyncError) as err:
        sync_once(store, "http://srv", "t", client=server.client(), pull_limit=PAGE, sleep=lambda _: None)
    assert err.value.status == 500 and "Serverfout (500)" in err.value.message
    assert store.pull_cursor() == 2 * PAGE  # pages 1 and 2 applied, page 3 failed, page 4 never asked
    assert len(store.search(limit=100)) == 2 * PAGE
    assert server.afters == [0, PAGE, 2 * PAGE]
    # the next round starts at the cursor and finishes the log
    server.fail_after.clear()
    result = sync_once(store, "http://srv", "t", client=server.client(), pull_limit=PAGE)
    assert result.pulled == 2 * PAGE and store.pull_cursor() == 4 * PAGE
    store.close()


def test_offline_during_prefetch_is_reported_offline_after_applying_the_current_page(tmp_path: Path) -> None:
    server = FakeServer(server_log(3 * PAGE))
    real = server.handler

    def handler(request: httpx.Request) -> httpx.Response:
        if int(request.url.params.get("after", -1)) == PAGE:
            raise httpx.ConnectError("verbinding weg", request=request)
        return real(request)

    store = WatchingStore(tmp_path / "l.db", server)
    with pytest.raises(SyncError) as err:
        sync_once(store, "http://srv", "t", client=httpx.Client(transport=httpx.MockTransport(handler)),
                  pull_limit=PAGE, retries=1, sleep=lambda _: None)
    assert err.value.offline
    assert store.pull_cursor() == PAGE
    store.close()


def test_a_store_error_while_a_page_is_fetched_stops_the_round(tmp_path: Path, server: FakeServer) -> None:
    store = WatchingStore(tmp_path / "l.db", server)

    def fail_on_page_2(next_after: int) -> None:
        if next_after == 2 * PAGE:
            raise StoreError("De database is vergrendeld.")

    store.hook = fail_on_page_2
    with pytest.raises(SyncError) as err:
        sync_once(store, "http://srv", "t", client=server.client(), pull_limit=PAGE)
    assert "vergrendeld" in err.value.message
    assert store.pull_cursor() == PAGE
    assert server.afters[:2] == [0, PAGE] and len(server.afters) <= 3  # at most the page after the failed one
    assert not [t for t in threading.enumerate() if t.name.startswith("wijkteam-pull")]  # no fetch left running
    store.close()


def test_server_clock_is_merged_in_the_page_transaction(tmp_path: Path, server: FakeServer) -> None:
    store = WatchingStore(tmp_path / "l.db", server)
    store.set_device_code("K7")
    sync_once(store, "http://srv", "t", client=server.client(), pull_limit=PAGE)
    assert store.recv_calls == 0  # no separate transaction per page
    assert store.device_clock("anna").hlc.last > SERVER_HLC
    store.close()


def test_a_store_without_server_hlc_gets_recv_hlc_per_page(tmp_path: Path, server: FakeServer) -> None:
    class OldStore(WatchingStore):
        def apply_remote(self, events: list[Event], next_after: int) -> None:  # type: ignore[override]
            super().apply_remote(events, next_after)

    store = OldStore(tmp_path / "l.db", server)
    store.set_device_code("K7")
    sync_once(store, "http://srv", "t", client=server.client(), pull_limit=PAGE)
    assert store.recv_calls == 5
    assert store.device_clock("anna").hlc.last > SERVER_HLC
    store.close()


def test_server_clock_merge_rolls_back_with_the_page(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "l.db")
    store.set_device_code("K7")
    before = store.device_clock("anna").hlc.last
    events = [pe.event for pe in server_log(2)]

    class Crash(Exception):
        pass

    with pytest.raises(Crash), store.transaction():
        store.apply_remote(events, 2, server_hlc=SERVER_HLC)
        raise Crash
    assert store.device_clock("anna").hlc.last == before and store.pull_cursor() == 0
    store.apply_remote(events, 2, server_hlc=SERVER_HLC)
    assert store.device_clock("anna").hlc.last > SERVER_HLC and store.pull_cursor() == 2
    store.close()
