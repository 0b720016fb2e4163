"""The store's contract on both engines (issue 17): what the routes rely on holds on SQLite and on
PostgreSQL, under concurrent pushes and pulls too.

Every test here takes ``store_location`` (a SQLite file, then a PostgreSQL schema: ``tests.backends``);
the concurrency tests that need PostgreSQL's overlapping writers say so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import commands
from shared.commands import SERVER_DEVICE
from shared.enums import Role, Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Melder
from shared.projection import projection_row
from sync_server.search import search
from sync_server.storage.api import Store
from sync_server.storage.engines import PostgresDatabase
from sync_server.store import ServerStore

WAIT_S = 60  # the longest any test waits for another thread's step (a hang, not a measurement)


@pytest.fixture
def store(store_location: Path | str) -> Iterator[ServerStore]:
    s = ServerStore(store_location)
    yield s
    s.close()


def device(name: str, store: ServerStore) -> commands.DeviceClock:
    """A laptop (a wijkuitvoerder user with a device code) and its clock."""
    _, code = store.add_user(name, Role.WIJKUITVOERDER)
    assert code
    return commands.DeviceClock(code, name, hlc=HLC())


def meldingen(dev: commands.DeviceClock, n: int, start: int = 1, *, edits: int = 0) -> list[Event]:
    """``n`` new meldingen of ``dev``, each followed by ``edits`` status changes and notes."""
    out: list[Event] = []
    for i in range(n):
        created = commands.register(
            dev, prefix="DLF", counter=start + i,
            fields=MeldingFields(omschrijving=f"Losse tegel {start + i}", melder=Melder(naam=f"Jan {start + i}")),
        )  # fmt: skip
        events = [created]
        state = fold(events)
        for k in range(edits):
            events.append(commands.add_note(dev, state, f"notitie {k}"))
            state = fold(events)
        out += events
    return out


def pulled_ids(store: ServerStore, after: int = 0) -> tuple[list[str], int]:
    """Every event id after ``after``, page by page as a laptop pulls, and the cursor at the end."""
    ids: list[str] = []
    while True:
        page, after, more = store.pull(after, 50)
        ids += [p.event.event_id for p in page]
        if not more:
            return ids, after


def test_the_store_has_the_interface_the_routes_use(store: ServerStore) -> None:
    assert isinstance(store, Store)
    missing = [name for name in dir(Store) if not name.startswith("_") and not hasattr(store, name)]
    assert missing == []


def test_push_pull_projection_and_duplicates(store: ServerStore) -> None:
    dev = device("anna", store)
    events = meldingen(dev, 30, edits=2)
    first = store.ingest(events)
    assert len(first.stored) == 90 and not first.duplicates
    again = store.ingest(events[:10])
    assert again.stored == [] and len(again.duplicates) == 10
    ids, cursor = pulled_ids(store)
    assert ids == [e.event_id for e in events] and cursor == store.max_server_seq()
    row = store.projection(events[0].melding_id)
    assert row == projection_row(fold([e for e in events if e.melding_id == events[0].melding_id], history=False))
    assert store.counts() == {"events": 90, "meldingen": 30, "quarantine": 0}


def test_a_changed_event_and_a_second_registration_are_quarantined(store: ServerStore) -> None:
    dev = device("anna", store)
    events = meldingen(dev, 2)
    store.ingest(events)
    changed = Event(**{**{f: getattr(events[0], f) for f in events[0].__struct_fields__}, "payload": {"x": 1}})
    result = store.ingest([changed])
    assert [q.code for q in result.quarantined] == ["conflicting"]
    assert [q["event_id"] for q in store.list_quarantine()] == [events[0].event_id]


def test_server_made_events_number_after_the_log_and_their_stamps_only_grow(store_location: Path | str) -> None:
    # Two store objects on one database stand in for two server processes (uvicorn workers): each has
    # its own clock, and the server's own stamps must still grow.
    a, b = ServerStore(store_location), ServerStore(store_location)
    try:
        dev = device("anna", a)
        events = meldingen(dev, 3)
        a.ingest(events)
        state = fold([events[0]])
        made = []
        for store in (a, b, a, b):
            made += store.append_server_events(
                "beheer", lambda d, _n, s=state: [commands.add_note(d, s, "opmerking van de server")]
            )
        assert [e.device_seq for e in made] == [1, 2, 3, 4]
        assert [e.hlc for e in made] == sorted(e.hlc for e in made) and len({e.hlc for e in made}) == 4
        assert all(e.device_id == SERVER_DEVICE for e in made)
    finally:
        a.close()
        b.close()


def test_kcc_search_finds_the_same_on_both_engines(store: ServerStore) -> None:
    dev = device("anna", store)
    from shared.model import Adres

    evs = [
        commands.register(
            dev, prefix="DLF", counter=1,
            fields=MeldingFields(omschrijving="Losse tégel bij de ingang", adres=Adres(
                straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen"),
                melder=Melder(naam="Piet de Vries", telefoon="+31612345678", email="Piet@Example.nl")),
        ),
        commands.register(
            dev, prefix="DLF", counter=2,
            fields=MeldingFields(omschrijving="Boom omgewaaid", adres=Adres(
                straat="Molenweg", huisnummer=3, postcode="7722AB", woonplaats="Dalfsen"),
                melder=Melder(naam="Els Smit")),
        ),
    ]  # fmt: skip
    store.ingest(evs)
    ref1 = f"DLF-{dev.device_id}-0001"

    def refs(text: str) -> list[str]:
        return [h.reference for h in search(store, text, prefixes=frozenset({"DLF"})).results]

    assert refs(ref1) == [ref1]
    assert refs("7721EJ 12") == [ref1]
    assert refs("kerkstraat 12") == [ref1]
    assert refs("Kerkst") == [ref1]  # a name, then every word of the text (sync_server.search)
    assert refs("06-12345678") == [ref1]
    assert refs("piet@example.NL") == [ref1]
    assert refs("tegel ingang") == [ref1]  # accents ignored, every word, the last one a prefix
    assert refs("losse teg") == [ref1]
    assert refs("P. de Vries") == [ref1]  # an initial
    assert refs("boom omgewaaid") == [f"DLF-{dev.device_id}-0002"]
    assert refs("vries boom") == []


def _hold_numbered(release: threading.Event, inside: threading.Event) -> Callable[[str], None]:
    """A push's fault hook that pauses it once its events are numbered (uncommitted) until ``release``."""

    def fault(point: str) -> None:
        if point == "push-numbered":
            inside.set()
            assert release.wait(WAIT_S), "the test never released the push"

    return fault


def _wait_for_lock_waiter(store: ServerStore) -> None:
    """Wait until another PostgreSQL session waits for an advisory lock (the event log's)."""
    import time

    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with store.db.read() as c:
            if c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
            ).fetchone()[0]:
                return
        time.sleep(0.01)  # polling pg_stat_activity is the only way to see a waiting lock from outside
    raise AssertionError("the second push never waited for the log lock")


def _interleave(store: ServerStore, *, second_waits: bool) -> tuple[list[str], list[str], list[str]]:
    """Push A holds its numbered events uncommitted (paused right after numbering them); push B runs meanwhile
    (and, when ``second_waits``, is seen waiting for the log lock); a laptop pulls; then A commits
    and the laptop pulls on from its cursor. Returns (ids the laptop got, A's ids, B's ids)."""
    anna, bert = device("anna", store), device("bert", store)
    a_events, b_events = meldingen(anna, 5), meldingen(bert, 5, start=100)
    release, inside = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run(events: list[Event], fault: Any = None) -> None:
        try:
            store.ingest(events, fault=fault)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    a = threading.Thread(target=run, args=(a_events, _hold_numbered(release, inside)))
    a.start()
    assert inside.wait(WAIT_S)
    b = threading.Thread(target=run, args=(b_events,))
    b.start()
    if second_waits:
        _wait_for_lock_waiter(store)
    else:
        b.join(WAIT_S)
    seen, cursor = pulled_ids(store)
    release.set()
    a.join(WAIT_S)
    b.join(WAIT_S)
    assert not errors, errors
    later, _ = pulled_ids(store, cursor)
    return seen + later, [e.event_id for e in a_events], [e.event_id for e in b_events]


def test_pull_cursor_never_skips_a_late_commit(store: ServerStore) -> None:
    """Gap safety (issue 17 §3): a push that numbered its events but has not committed holds back every
    later number, so a laptop's cursor never passes an event that commits afterwards."""
    if not store.postgres:
        pytest.skip("SQLite's writers never overlap (BEGIN IMMEDIATE); tests/e2e covers its pulls")
    got, a_ids, b_ids = _interleave(store, second_waits=True)
    assert sorted(got) == sorted(a_ids + b_ids)
    assert got[: len(a_ids)] == a_ids  # the held push's numbers come first, and are pulled first


def test_without_the_log_lock_a_cursor_would_skip_events(store: ServerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above fails without the serialisation: here the log lock is taken away, the second
    push commits higher numbers first, and the laptop's cursor passes the first push's events."""
    if not store.postgres:
        pytest.skip("the log lock is PostgreSQL's")

    def no_lock(self: PostgresDatabase, c: Any) -> None:
        c.log_locked = True  # claims the lock without taking it

    monkeypatch.setattr(PostgresDatabase, "lock_log", no_lock)
    got, a_ids, b_ids = _interleave(store, second_waits=False)
    assert set(b_ids) <= set(got) and not set(a_ids) & set(got)  # A's events were skipped for good
    assert store.counts()["events"] == 10


def test_concurrent_pushes_of_one_melding_and_a_server_event_keep_the_projection(store: ServerStore) -> None:
    """Pushes of the same melding wait for each other; a server-made event on a melding a push is
    folding makes the push run again: the projection is the fold of everything stored."""
    anna, bert = device("anna", store), device("bert", store)
    base = meldingen(anna, 1)
    store.ingest(base)
    state = fold(base)
    notes = {
        "anna": [commands.add_note(anna, state, f"a{i}") for i in range(20)],
        "bert": [commands.add_note(bert, state, f"b{i}") for i in range(20)],
    }
    errors: list[BaseException] = []

    def push(events: list[Event]) -> None:
        try:
            for e in events:
                store.ingest([e])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def server_notes() -> None:
        try:
            for i in range(10):
                store.append_server_events("beheer", lambda d, _n, i=i: [commands.add_note(d, state, f"s{i}")])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(v,)) for v in notes.values()] + [threading.Thread(target=server_notes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)
    assert not errors, errors
    stored = store.events_of(base[0].melding_id)
    assert len(stored) == 1 + 20 + 20 + 10
    assert store.projection(base[0].melding_id) == projection_row(fold(stored, history=False))
    ids, _ = pulled_ids(store)
    assert len(ids) == len(set(ids)) == store.counts()["events"]


def test_status_and_erasure_work_on_the_store(store: ServerStore) -> None:
    dev = device("anna", store)
    events = meldingen(dev, 1)
    state = fold(events)
    events.append(commands.change_status(dev, state, Status.IN_BEHANDELING))
    store.ingest(events)
    from shared.enums import EventType

    made = store.erase([events[0].melding_id], EventType.REPORTER_ANONYMISED, "verzoek", actor="beheer")
    assert len(made) == 1 and store.erasure_seq() == store.max_server_seq()
    assert "Jan 1" not in str([e.payload for e in store.events_of(events[0].melding_id)])
    assert store.find_person(_person("Jan 1")) == {}


def _person(naam: str) -> Any:
    from shared.avg import person

    return person(naam=naam)
