"""Property: several laptops, random edits, partial syncs and crashes; after a full sync every replica
(the laptops' stores and the server's) equals the fold of all events.

Runs in-process (Litestar's TestClient) for speed; the real-process crash tests are in tests/e2e.
A "crash" here is a write transaction that dies before its commit (an exception inside it: SQLite
rolls back exactly as after a power cut) or a connection dropped mid-round, followed by reopening the
store from its file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from litestar.testing import TestClient

from shared import commands
from shared.enums import Prioriteit, Role
from shared.events import Event, MeldingFields
from shared.hlc import wall_ms
from shared.protocol import VerdictState
from shared.status import allowed_next
from sync_server.app import create_app
from sync_server.settings import Settings
from sync_server.storage.engines import DATA_DIR_ENV
from sync_server.store import ServerStore, StoreError
from tests import backends, pg_cluster
from tests.e2e.replicas import assert_replicas_equal
from wijkteam_store.local import LocalStore
from wijkteam_tui.sync_client import SyncError, sync_once

LAPTOPS = 3
DAY_MS = 24 * 3600 * 1000


class Crash(Exception):
    """Stands in for a power cut inside a transaction."""


class CrashingStore(LocalStore):
    """A LocalStore whose next ``apply_remote`` dies after writing, before the commit."""

    crash_next_apply = False

    def apply_remote(
        self, events: list[Event], next_after: int, server_hlc: int | None = None, rows: list | None = None
    ) -> None:
        if not self.crash_next_apply:
            return super().apply_remote(events, next_after, server_hlc, rows)
        self.crash_next_apply = False
        with self.transaction():
            super().apply_remote(events, next_after, server_hlc, rows)
            raise Crash


class DropAfter(httpx.BaseTransport):
    """Lets ``n`` requests through to the app, then the connection drops (the answer of the n-th is lost)."""

    def __init__(self, inner: httpx.BaseTransport, n: int, lose_last: bool) -> None:
        self.inner, self.n, self.lose_last = inner, n, lose_last

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.n <= 0:
            raise httpx.ConnectError("verbinding weg", request=request)
        self.n -= 1
        resp = self.inner.handle_request(request)
        if self.n == 0 and self.lose_last:
            resp.read()
            raise httpx.ReadError("antwoord kwijt", request=request)
        return resp


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="wijkteam-stateful-"))
        self.location = self._server_location()
        self.server_store = ServerStore(self.location)
        self.client = TestClient(create_app(Settings(db_path=self.location), store=self.server_store))
        self.client.__enter__()
        self.laptops: list[CrashingStore] = []
        self.tokens: list[str] = []
        for i in range(LAPTOPS):
            token, code = self.server_store.add_user(f"laptop{i}", Role.WIJKUITVOERDER)
            store = CrashingStore(self.dir / f"laptop{i}.sqlite3")
            store.set_device_code(code or "")
            self.laptops.append(store)
            self.tokens.append(token)

    def _server_location(self) -> Path | str:
        """Where the server's store lives: a SQLite file (:class:`PgSyncMachine`: PostgreSQL)."""
        return self.dir / "server.sqlite3"

    def _drop_server(self) -> None:
        """Remove the server's database (the SQLite file goes with ``self.dir``)."""

    def _known(self, i: int) -> list[str]:
        return [r["melding_id"] for r in self.laptops[i].search(limit=1000, include_deleted=True)]

    def _sync(self, i: int, client: httpx.Client | None = None, **kw: object) -> None:
        sync_once(self.laptops[i], "", self.tokens[i], client=client or self.client, sleep=lambda _: None,
                  push_batch=2, pull_limit=3, **kw)  # type: ignore[arg-type]

    @rule(i=st.integers(0, LAPTOPS - 1), texts=st.lists(st.sampled_from(["tak", "tegel", "put"]), min_size=1, max_size=4))
    def register(self, i: int, texts: list[str]) -> None:
        store = self.laptops[i]
        for text in texts:
            store.register(store.device_clock(f"u{i}"), prefix="DLF", fields=MeldingFields(omschrijving=text))

    @precondition(lambda self: any(self._known(i) for i in range(LAPTOPS)))
    @rule(data=st.data(), i=st.integers(0, LAPTOPS - 1), what=st.sampled_from(["tekst", "prioriteit", "status", "delete", "restore", "note"]))
    def change(self, data: st.DataObject, i: int, what: str) -> None:
        known = self._known(i)
        if not known:
            return
        store = self.laptops[i]
        state = store.get(data.draw(st.sampled_from(known)))
        assert state is not None
        dev = store.device_clock(f"u{i}")
        events: list[Event] = []
        if what == "tekst":
            events = commands.edit(dev, state, {"omschrijving": data.draw(st.sampled_from(["tak", "tegel", "lamp"]))})
        elif what == "prioriteit":
            events = commands.edit(dev, state, {"prioriteit": data.draw(st.sampled_from(list(Prioriteit)))})
        elif what == "status":
            options = sorted(allowed_next(state.status))
            if options:
                events = [commands.change_status(dev, state, data.draw(st.sampled_from(options)), "notitie")]
        elif what == "delete" and not state.deleted:
            events = [commands.delete(dev, state)]
        elif what == "restore" and state.deleted:
            events = [commands.restore(dev, state)]
        elif what == "note":
            events = [commands.add_note(dev, state, "gebeld")]
        if events:
            store.append(events, dev)

    @rule(i=st.integers(0, LAPTOPS - 1), days=st.sampled_from([2, 400]))
    def register_with_clock_ahead(self, i: int, days: int) -> None:
        """A laptop whose clock runs ``days`` ahead registers a melding (issue 11 §1): the server refuses
        it (kept as geweigerd), and the laptop's clock falls back to the server's at that sync."""
        store = self.laptops[i]
        ahead = wall_ms() + days * DAY_MS
        dev = store.device_clock(f"u{i}", clock=lambda: ahead)
        at = datetime.fromtimestamp(ahead / 1000, UTC)
        store.register(dev, prefix="DLF", fields=MeldingFields(omschrijving="klok voor"), registered_at=at)

    @precondition(lambda self: bool(self.server_store.list_quarantine(status=VerdictState.WAITING)))
    @rule(data=st.data(), release=st.booleans())
    def admin_decides(self, data: st.DataObject, release: bool) -> None:
        """The admin releases (restamped) or rejects a refused event; laptops learn it at their sync."""
        entry = data.draw(st.sampled_from(self.server_store.list_quarantine(status=VerdictState.WAITING)))
        try:
            if release:
                self.server_store.release_quarantined(entry["id"])
            else:
                self.server_store.reject_quarantined(entry["id"])
        except StoreError:
            pass  # not releasable (waits on its created): the teardown decides it with its created

    @rule(i=st.integers(0, LAPTOPS - 1))
    def full_sync(self, i: int) -> None:
        self._sync(i)

    @rule(i=st.integers(0, LAPTOPS - 1), n=st.integers(0, 4), lose_last=st.booleans())
    def partial_sync(self, i: int, n: int, lose_last: bool) -> None:
        transport = DropAfter(self.client._transport, n, lose_last)
        with httpx.Client(transport=transport, base_url=self.client.base_url) as c:
            try:
                self._sync(i, c, retries=0)
            except SyncError as exc:
                assert exc.offline

    @rule(i=st.integers(0, LAPTOPS - 1))
    def crash_while_applying(self, i: int) -> None:
        store = self.laptops[i]
        store.crash_next_apply = True
        try:
            self._sync(i)
        except Crash:
            pass
        store.crash_next_apply = False
        store.close()
        reopened = CrashingStore(store.path)
        self.laptops[i] = reopened

    @invariant()
    def projection_is_the_fold_on_every_laptop(self) -> None:
        for store in self.laptops:
            for row in store.search(limit=1000, include_deleted=True):
                m = store.get(row["melding_id"])
                assert m is not None and m.reference == row["reference"]

    @invariant()
    def refused_events_are_neither_pending_nor_folded(self) -> None:
        for store in self.laptops:
            for r in store.refused_events():
                assert not store.conn.execute("SELECT 1 FROM events WHERE event_id = ?", (r["event_id"],)).fetchone()

    def teardown(self) -> None:
        try:
            for i in range(LAPTOPS):
                self._sync(i)
            # The admin decides everything still waiting: releases what can be, rejects the rest.
            for entry in self.server_store.list_quarantine(status=VerdictState.WAITING):
                try:
                    self.server_store.release_quarantined(entry["id"])
                except StoreError:
                    if self.server_store.quarantine_entry(entry["id"])["status"] == VerdictState.WAITING:
                        self.server_store.reject_quarantined(entry["id"])
            for _ in range(2):
                for i in range(LAPTOPS):
                    self._sync(i)
            assert_replicas_equal(*(s.path for s in self.laptops), self.location)
            for store in self.laptops:
                assert store.pending_count() == 0
                assert store.waiting_refused_ids() == []
        finally:
            self.client.__exit__(None, None, None)
            for store in self.laptops:
                store.close()
            self.server_store.close()
            self._drop_server()
            shutil.rmtree(self.dir, ignore_errors=True)


def test_an_edit_refused_with_its_rejected_created_never_reaches_a_replica() -> None:
    """The shortest form of a sequence the machine found: a laptop two days ahead registers a
    melding and edits it; one push refuses both for their stamps; the admin rejects the created.
    The edit goes with it: nothing is left waiting, the laptop learns both verdicts, and no replica
    holds an event of a melding without its created (the teardown's checks)."""
    machine = SyncMachine()
    machine.register_with_clock_ahead(i=0, days=2)
    store = machine.laptops[0]
    (mid,) = machine._known(0)
    state = store.get(mid)
    assert state is not None
    dev = store.device_clock("u0")
    edit = commands.edit(dev, state, {"omschrijving": "tegel"})
    store.append(edit, dev)
    machine.full_sync(0)
    waiting = machine.server_store.list_quarantine(status=VerdictState.WAITING)
    assert {(q["event_type"], q["code"]) for q in waiting} == {("created", "future_stamp"), ("fields_changed", "future_stamp")}
    created = next(q for q in waiting if q["event_type"] == "created")
    assert machine.server_store.reject_quarantined(created["id"]) == 2
    machine.full_sync(0)
    refused = machine.laptops[0].refused_events(include_decided=True)
    assert sorted((r["type"], r["verdict"]) for r in refused) == [("created", "rejected"), ("fields_changed", "rejected")]
    machine.teardown()  # syncs every laptop, decides what still waits, compares the replicas


SyncMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestSync = SyncMachine.TestCase


class PgSyncMachine(SyncMachine):
    """The same machine with the server on PostgreSQL (issue 17 §4): a new schema per example."""

    def _server_location(self) -> Path | str:
        # The side files (erasure journal, snapshots) of this example's store in its own folder.
        self._data_dir_before = os.environ.get(DATA_DIR_ENV)
        os.environ[DATA_DIR_ENV] = str(self.dir)
        return backends.new_schema_url()

    def _drop_server(self) -> None:
        backends.drop_schema(str(self.location))
        if self._data_dir_before is None:
            os.environ.pop(DATA_DIR_ENV, None)
        else:
            os.environ[DATA_DIR_ENV] = self._data_dir_before


PgSyncMachine.TestCase.settings = SyncMachine.TestCase.settings


class TestSyncPostgresql(PgSyncMachine.TestCase):  # type: ignore[name-defined,misc]
    def setUp(self) -> None:
        try:
            backends.cluster()
        except pg_cluster.Unavailable as exc:
            self.skipTest(f"PostgreSQL niet beschikbaar: {exc}")
