"""``LocalStore.apply_remote`` (batched per page) gives exactly what the one-melding-at-a-time path
gives: the same events (and acks), the same projection rows and rowids, the same FTS rows.

The reference applies each page as the store did before the batching: insert the unknown events,
then ``_refold`` (read back, fold, ``_write_projection``) every touched melding.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from shared import commands
from shared.enums import Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.model import Adres, Melder
from shared.projection import COLUMNS
from wijkteam_store.codec import EVENT_SELECT, event_row
from wijkteam_store.local import LocalStore, StoreError, sort_key
from wijkteam_store.local.schema import INSERT_EVENT

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _reference_apply(store: LocalStore, events: list[Event], next_after: int) -> None:
    with store.transaction():
        known = {
            r[0]
            for e in events
            for r in store.conn.execute(
                "SELECT event_id FROM events WHERE event_id = ?", (e.event_id,)
            )
        }
        new = [e for e in events if e.event_id not in known]
        store.conn.executemany(
            INSERT_EVENT.replace("INSERT", "INSERT OR IGNORE", 1), [(*event_row(e), 1) for e in new]
        )
        store.conn.executemany(
            "UPDATE events SET acked = 1 WHERE event_id = ?", [(i,) for i in known]
        )
        if new:
            store.conn.execute(
                "UPDATE device SET hlc_last = max(hlc_last, ?) WHERE id = 1",
                (max(e.hlc for e in new),),
            )
        # in first-seen order, as the batched path assigns rowids to ties
        store._refold(dict.fromkeys(e.melding_id for e in new))
        store.conn.execute(
            "UPDATE device SET pull_cursor = ? WHERE id = 1", (next_after,)
        )


def _dump(store: LocalStore) -> tuple:
    conn = store.conn
    events = sorted(
        conn.execute(f"SELECT {EVENT_SELECT}, acked FROM events")
    )
    cols = ", ".join(COLUMNS)
    rows = sorted(conn.execute(f"SELECT rowid, {cols} FROM meldingen"))
    fts = sorted(
        conn.execute(
            "SELECT rowid, reference, omschrijving, adres, melder FROM meldingen_fts"
        )
    )
    device = conn.execute("SELECT hlc_last, pull_cursor FROM device").fetchone()
    return events, rows, fts, device


def _logs(seed: int) -> tuple[list[Event], list[Event]]:
    """Events of several meldingen on two laptops (edits, status changes, notes, concurrent edits,
    a deletion), some registered in the same microsecond; and the events laptop K1 made itself."""
    rnd = random.Random(seed)
    devs = [commands.DeviceClock("K1", "anna"), commands.DeviceClock("K2", "bram")]
    events: list[Event] = []
    own: list[Event] = []
    for n in range(1, 40):
        dev = devs[n % 2]
        at = T0 + timedelta(
            minutes=n // 3
        )  # every three meldingen share a registration instant
        created = commands.register(
            dev,
            prefix="DLF",
            counter=n,
            registered_at=at,
            fields=MeldingFields(
                omschrijving=f"Losse tegel {n}",
                categorie="verharding/losse_tegel",
                adres=Adres(
                    straat="Kerkstraat",
                    huisnummer=n,
                    postcode="7721EJ",
                    woonplaats="Dalfsen",
                ),
                melder=Melder(naam=f"Melder {n}", telefoon="+31612345678")
                if n % 4
                else None,
            ),
        )
        log = [created]
        state = fold(log)
        for _ in range(rnd.randrange(0, 5)):
            assert state is not None
            kind = rnd.randrange(4)
            other = devs[rnd.randrange(2)]
            if kind == 0:
                new = commands.edit(
                    other, state, {"omschrijving": f"Tegel {n} los, {rnd.random():.3f}"}
                )
            elif kind == 1 and state.status == Status.GEMELD:
                new = [commands.change_status(other, state, Status.IN_BEHANDELING)]
            elif kind == 2:
                new = [commands.add_note(other, state, f"Notitie {rnd.random():.3f}")]
            else:
                # concurrent edit: made from the state before the last event
                new = commands.edit(
                    other, fold(log[:-1]) or state, {"wijk": f"Wijk {rnd.randrange(3)}"}
                )
            log.extend(new)
            state = fold(log)
        if n % 13 == 0:
            assert state is not None
            log.append(commands.delete(devs[0], state, "dubbel"))
        events.extend(log)
        own.extend(e for e in log if e.device_id == "K1" and rnd.random() < 0.3)
    return events, own


@pytest.mark.parametrize("seed", range(6))
def test_batched_apply_equals_one_by_one(tmp_path, seed):
    events, own = _logs(seed)
    rnd = random.Random(seed)
    rnd.shuffle(events)  # later events of a melding may come before its creation
    pages: list[list[Event]] = []
    i = 0
    while i < len(events):
        size = rnd.randrange(1, 30)
        page = events[i : i + size]
        if pages and rnd.random() < 0.3:
            page = page + rnd.sample(pages[-1], 1)  # a repeated event
        if page and rnd.random() < 0.2:
            page = page + [page[0]]  # the same event twice in one page
        pages.append(page)
        i += size
    stores = []
    for name in ("batched", "reference"):
        s = LocalStore(tmp_path / f"{name}.sqlite3")
        s.set_device_code("K1")
        # this laptop's own events are already stored (unacked) before the pull echoes them back
        s.conn.executemany(INSERT_EVENT, [(*event_row(e), 0) for e in own])
        s._refold(dict.fromkeys(e.melding_id for e in own))
        stores.append(s)
    batched, reference = stores
    for k, page in enumerate(pages, 1):
        batched.apply_remote(page, k)
        _reference_apply(reference, page, k)
        assert _dump(batched) == _dump(reference), f"page {k}"
    events_b, rows, fts, _ = _dump(batched)
    assert all(e[-1] == 1 for e in events_b)  # everything pulled, own events acked
    assert len(rows) == len(fts) == 39
    # rowids follow registration time; the meldingen sharing an instant got consecutive keys
    by_key = sorted((r[0], r[1 + list(COLUMNS).index("registered_at")]) for r in rows)
    assert [k for k, _ in by_key] == sorted(k for k, _ in by_key)
    for key, registered_at in by_key:
        assert 0 <= key - sort_key(registered_at) < 3
    for s in stores:
        s.close()


def test_apply_remote_refolds_a_known_melding_in_one_page(tmp_path):
    """A pulled edit of a melding the laptop already holds updates its row in place (same rowid)."""
    dev = commands.DeviceClock("K2", "bram")
    created = commands.register(
        dev,
        prefix="DLF",
        counter=1,
        registered_at=T0,
        fields=MeldingFields(omschrijving="Lantaarnpaal kapot"),
    )
    store = LocalStore(tmp_path / "laptop.sqlite3")
    store.set_device_code("K1")
    store.apply_remote([created], 1)
    rowid = store.conn.execute("SELECT rowid FROM meldingen").fetchone()[0]
    state = fold([created])
    assert state is not None
    edits = commands.edit(dev, state, {"omschrijving": "Lantaarnpaal brandt overdag"})
    store.apply_remote([*edits, created], 2)
    assert store.conn.execute(
        "SELECT rowid, omschrijving, event_count FROM meldingen"
    ).fetchall() == [(rowid, "Lantaarnpaal brandt overdag", 2)]
    assert store.search("overdag")[0]["melding_id"] == created.melding_id  # FTS follows
    assert store.search("kapot") == []
    store.close()


def test_failed_page_stores_nothing(tmp_path, monkeypatch):
    """A failure while writing the projection rolls back the events and the cursor too."""
    dev = commands.DeviceClock("K2", "bram")
    created = commands.register(
        dev,
        prefix="DLF",
        counter=1,
        registered_at=T0,
        fields=MeldingFields(omschrijving="Zwerfvuil"),
    )
    store = LocalStore(tmp_path / "laptop.sqlite3")
    store.set_device_code("K1")

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "_write_projections", broken)
    with pytest.raises(StoreError):
        store.apply_remote([created], 1)
    monkeypatch.undo()
    assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert store.pull_cursor() == 0
    store.close()
