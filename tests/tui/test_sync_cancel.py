"""Quitting while the sync server hangs: the round is cancelled, not waited out; committed work stays.

A real socket server on 127.0.0.1 in a thread plays the hung server: it accepts, reads the request
and never answers (or, for the commit test, answers the push properly and then hangs on the pull).
The read time-out is raised to 10 minutes, so a round that is not cancelled would still be blocked
long after every wait below has given up; nothing here measures time.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import msgspec
import pytest
from textual.worker import WorkerState

from shared.events import MeldingFields
from shared.protocol import PROTOCOL_VERSION, PushRequest, PushResponse
from wijkteam_store.local import LocalStore
from wijkteam_tui import server_client
from wijkteam_tui.config import Config
from wijkteam_tui.sync_client import SyncCancelled, sync_once

#: Generous bound for a wait on an event that, when the code works, is set almost at once.
WAIT_S = 60


class HangingServer:
    """Listens on 127.0.0.1; answers ``POST /api/v1/sync/push`` when ``answer_push``, else nothing.

    Events: ``got_request`` (a request it will not answer has been read), ``client_closed`` (the
    client closed that connection: the request was abandoned).
    """

    def __init__(self, *, answer_push: bool = False) -> None:
        self.answer_push = answer_push
        self.got_request = threading.Event()
        self.client_closed = threading.Event()
        self.pushed: list[str] = []
        self.paths: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            self._conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                self.paths.append(path)
                length = next(
                    (int(v) for k, _, v in (ln.partition(":") for ln in lines[1:]) if k.lower() == "content-length"), 0
                )
                while len(buf) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                if self.answer_push and method == "POST" and path.startswith("/api/v1/sync/push"):
                    req = msgspec.msgpack.decode(body, type=PushRequest)
                    self.pushed += [e.event_id for e in req.events]
                    ack = msgspec.msgpack.encode(
                        PushResponse(
                            protocol=PROTOCOL_VERSION, server_hlc=req.device_hlc, stored=len(req.events), duplicates=0
                        )
                    )
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/msgpack\r\n"
                        + f"Content-Length: {len(ack)}\r\n\r\n".encode()
                        + ack
                    )
                    continue
                # Hang: never answer; wait until the client gives up on the connection.
                self.got_request.set()
                while conn.recv(65536):
                    pass
                self.client_closed.set()
                return
        except OSError:
            self.client_closed.set()
        finally:
            conn.close()

    def stop(self) -> None:
        # shutdown() wakes the blocked accept(); close() from another thread would not (Linux).
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(WAIT_S)


@pytest.fixture(autouse=True)
def _long_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_client, "READ_TIMEOUT_S", 600.0)


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.stop()


@pytest.fixture
def half_hanging() -> Iterator[HangingServer]:
    server = HangingServer(answer_push=True)
    yield server
    server.stop()


def _laptop(path) -> LocalStore:
    store = LocalStore(path)
    store.set_device_code("K7")
    store.register(store.device_clock("anna"), prefix="DLF", fields=MeldingFields(omschrijving="Tegel los"))
    return store


def test_cancel_keeps_the_acknowledged_push(tmp_path, half_hanging: HangingServer) -> None:
    """The server acknowledged the push, then hangs on the pull: cancelling ends the round with
    SyncCancelled, and the acknowledgement stays committed (nothing waits to be pushed again)."""
    laptop = _laptop(tmp_path / "l.sqlite")
    assert laptop.pending_count() == 1
    cancel = threading.Event()
    outcome: list[BaseException | object] = []

    def run() -> None:
        store = LocalStore(tmp_path / "l.sqlite")
        try:
            outcome.append(sync_once(store, half_hanging.url, "t", cancel=cancel))
        except BaseException as exc:
            outcome.append(exc)
        finally:
            store.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert half_hanging.got_request.wait(WAIT_S)
    assert half_hanging.paths[0] == "/api/v1/sync/push" and half_hanging.paths[-1].startswith("/api/v1/sync/pull")
    assert thread.is_alive()  # the round waits for the pull answer
    cancel.set()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], SyncCancelled)
    assert "afgebroken" in outcome[0].message
    assert half_hanging.client_closed.wait(WAIT_S)  # the pull request was abandoned, its socket closed
    assert laptop.pending_count() == 0  # the push the server acknowledged stays acknowledged
    assert laptop.pull_cursor() == 0  # nothing half-applied
    assert len(half_hanging.pushed) == 1
    laptop.close()


def test_cancel_before_a_round_sends_nothing(tmp_path, hanging: HangingServer) -> None:
    laptop = _laptop(tmp_path / "l.sqlite")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(SyncCancelled):
        sync_once(laptop, hanging.url, "t", cancel=cancel)
    assert hanging.paths == [] and laptop.pending_count() == 1
    laptop.close()


async def test_quit_during_a_hung_sync_cancels_the_round(app_factory, db_path, hanging: HangingServer) -> None:
    """Ctrl+Q while the server holds the round: the sync worker is cancelled, the round returns
    (SyncCancelled) and drops the connection, and the app's exit completes — no read time-out waited."""
    finished = threading.Event()
    seen: list[BaseException] = []

    def real_sync(store, url, token, **kw):
        try:
            return sync_once(store, url, token, **kw)
        except BaseException as exc:
            seen.append(exc)
            raise
        finally:
            finished.set()

    _laptop(db_path).close()
    config = Config(device_code="K7", user="anna", prefix="DLF", server_url=hanging.url, token="t")
    app = app_factory(config=config, sync_fn=real_sync, auto_sync=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await asyncio.to_thread(hanging.got_request.wait, WAIT_S)
        assert hanging.paths == ["/api/v1/sync/push"]
        worker = next(w for w in app.workers if w.group == "sync")
        assert worker.state == WorkerState.RUNNING and not finished.is_set()
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    assert worker.is_cancelled and worker.state == WorkerState.CANCELLED
    assert await asyncio.to_thread(finished.wait, WAIT_S)
    assert len(seen) == 1 and isinstance(seen[0], SyncCancelled)
    assert await asyncio.to_thread(hanging.client_closed.wait, WAIT_S)
    # The push was never acknowledged: the melding still waits for the next round, nothing lost.
    store = LocalStore(db_path)
    try:
        assert store.pending_count() == 1
    finally:
        store.close()


async def test_cancelling_the_sync_worker_ends_the_round(app_factory, hanging: HangingServer) -> None:
    """Not only quitting: cancelling the sync worker (as starting a new exclusive round does) ends the
    hung round too, and the cancelled round reports nothing to the UI."""
    finished = threading.Event()

    def real_sync(store, url, token, **kw):
        try:
            return sync_once(store, url, token, **kw)
        finally:
            finished.set()

    config = Config(
        device_code="K7", user="anna", prefix="DLF", server_url=hanging.url, token="t", sync_interval_s=3600
    )
    app = app_factory(config=config, sync_fn=real_sync, auto_sync=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await asyncio.to_thread(hanging.got_request.wait, WAIT_S)
        app.workers.cancel_group(app, "sync")
        assert await asyncio.to_thread(finished.wait, WAIT_S)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await asyncio.to_thread(hanging.client_closed.wait, WAIT_S)
        assert app.sync_error is None  # a cancelled round reports nothing


@pytest.mark.e2e
def test_cancellable_client_syncs_normally_with_a_real_server(tmp_path) -> None:
    """The cancellable client is the one the TUI uses: a full round against a real server works,
    over several pull pages and a kept-alive connection, while the flag stays unset."""
    from tests.e2e.conftest import ServerProcess

    srv = ServerProcess(tmp_path / "server.sqlite3", tmp_path / "server.log")
    srv.start()
    try:
        token, code = srv.add_user("anna")
        one = LocalStore(tmp_path / "a.sqlite")
        one.set_device_code(code)
        for i in range(5):
            one.register(one.device_clock("anna"), prefix="DLF", fields=MeldingFields(omschrijving=f"Tegel {i}"))
        cancel = threading.Event()
        first = sync_once(one, srv.url, token, cancel=cancel, push_batch=2)
        assert (first.pushed, one.pending_count()) == (5, 0)
        other = LocalStore(tmp_path / "b.sqlite")
        second = sync_once(other, srv.url, token, cancel=cancel, pull_limit=2)
        assert second.pulled == 5 and len(other.search()) == 5
        one.close()
        other.close()
    finally:
        srv.stop()
