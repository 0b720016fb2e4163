"""Pulls with the server's projection rows (``PullResponse.rows``): a laptop that takes them ends up with
exactly what a laptop that folds every melding itself has, and the server sends a row only when it is
the fold of the events up to the page's end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import TestClient

from shared import commands
from shared.enums import Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.model import Melder
from shared.projection import COLUMNS, PROJECTION_KEY
from shared.protocol import PullResponse
from tests.server.conftest import Server, auth
from tests.test_apply_remote import _dump
from wijkteam_store.local import LocalStore
from wijkteam_tui.sync_client import sync_once


class FoldingStore(LocalStore):
    """A laptop store that cannot take rows (its ``apply_remote`` has no ``rows``): it folds everything."""

    def apply_remote(self, events: list[Event], next_after: int, server_hlc: int | None = None) -> None:
        super().apply_remote(events, next_after, server_hlc)


class CountingStore(LocalStore):
    """A laptop store that counts the rows it was given."""

    given = 0

    def apply_remote(
        self, events: list[Event], next_after: int, server_hlc: int | None = None, rows: list | None = None
    ) -> None:
        self.given += len(rows or [])
        super().apply_remote(events, next_after, server_hlc, rows)


def _work(lap: LocalStore, n: int, start: int) -> list[str]:
    """``n`` meldingen on ``lap`` (some with a melder), each with a note or status change."""
    dev = lap.device_clock("tester")
    ids = []
    for i in range(start, start + n):
        melder = Melder(naam=f"Melder {i}", telefoon="+31612345678") if i % 3 else None
        m = lap.register(dev, prefix="DLF", fields=MeldingFields(omschrijving=f"Tegel {i}", melder=melder))
        follow = commands.change_status(dev, m, Status.IN_BEHANDELING) if i % 2 else commands.add_note(dev, m, "Gebeld")
        lap.append([follow], dev)
        ids.append(m.melding_id)
    return ids


def _edit(lap: LocalStore, mid: str, make: Any) -> None:
    dev = lap.device_clock("tester")
    state = lap.get(mid)
    assert state is not None
    made = make(dev, state)
    lap.append(made if isinstance(made, list) else [made], dev)


def test_a_laptop_taking_the_servers_rows_equals_one_that_folds(server: Server, client: TestClient, tmp_path: Path) -> None:
    laps = []
    for name in ("anna", "bram"):
        token, code = server.laptop(name)
        lap = LocalStore(tmp_path / f"{name}.sqlite3")
        lap.set_device_code(code)
        laps.append((lap, token))
    (a, ta), (b, tb) = laps
    rows_token, _ = server.laptop("carla")
    fold_token, _ = server.laptop("dirk")
    taking = CountingStore(tmp_path / "taking.sqlite3")
    folding = FoldingStore(tmp_path / "folding.sqlite3")

    def sync_all() -> None:
        for lap, token in laps + laps:  # twice: each sees the other's work
            sync_once(lap, "http://testserver.local", token, client=client, snapshot_behind=None)
        for lap, token in ((taking, rows_token), (folding, fold_token)):
            sync_once(lap, "http://testserver.local", token, client=client, snapshot_behind=None, pull_limit=7)

    ids_a = _work(a, 12, 1)
    ids_b = _work(b, 9, 1)
    sync_all()
    assert taking.given > 0
    # changes to meldingen every laptop holds: edits (one concurrent), notes, closing, a deletion,
    # an anonymised melder; and new meldingen
    _edit(a, ids_b[0], lambda dev, m: commands.edit(dev, m, {"omschrijving": "Tegel ligt er weer"}))
    sync_once(a, "http://testserver.local", ta, client=client, snapshot_behind=None)
    _edit(b, ids_b[0], lambda dev, m: commands.edit(dev, m, {"omschrijving": "Tegel weg"}))  # before b saw a's
    _edit(b, ids_a[1], lambda dev, m: commands.add_note(dev, m, "Buurman belde ook"))
    _edit(a, ids_a[2], lambda dev, m: commands.change_status(dev, m, Status.AFGEHANDELD, "Hersteld"))
    _edit(a, ids_a[3], lambda dev, m: commands.delete(dev, m, "dubbel"))
    _edit(b, ids_a[4], lambda dev, m: commands.anonymise_reporter(dev, m, "verzoek"))
    _work(b, 4, 10)
    before = taking.given
    sync_all()
    assert taking.given > before
    assert _dump(taking)[:3] == _dump(folding)[:3]  # events and acks, rows with rowids, FTS rows
    assert taking.search("weg") == folding.search("weg")
    rows = dict((r[0], r) for r in taking.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM meldingen"))
    for mid, row in rows.items():
        assert server.store.projection(mid) == dict(zip(COLUMNS, row, strict=True))
    for store in (a, b, taking, folding):
        store.close()


def test_no_row_for_a_melding_with_events_after_the_page(server: Server, client: TestClient) -> None:
    token, code = server.laptop("anna")
    dev = commands.DeviceClock(code, "tester")
    first = commands.register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="Tegel"))
    other = commands.register(dev, prefix="DLF", counter=2, fields=MeldingFields(omschrijving="Paal"))
    state = fold([first])
    assert state is not None
    note = commands.add_note(dev, state, "Later")
    body = {"protocol": 1, "device_id": code, "events": msgspec.to_builtins([first, other, note])}
    assert client.post("/api/v1/sync/push", json=body, headers=auth(token)).status_code == 200

    def page(limit: int, version: int = PROJECTION_KEY) -> PullResponse:
        resp = client.get(f"/api/v1/sync/pull?after=0&limit={limit}&rows={version}", headers=auth(token))
        return msgspec.json.decode(resp.content, type=PullResponse)

    two = page(2)  # first and other; first has a note after the page: no row for it
    assert [r[0] for r in two.rows] == [other.melding_id] and two.projection == PROJECTION_KEY
    three = page(3)
    assert sorted(r[0] for r in three.rows) == sorted([first.melding_id, other.melding_id])
    assert dict(zip(COLUMNS, next(r for r in three.rows if r[0] == first.melding_id), strict=True))["event_count"] == 2
    assert page(3, PROJECTION_KEY + 1).rows == []  # another projection version: the laptop folds
    plain = msgspec.json.decode(
        client.get("/api/v1/sync/pull?after=0&limit=3", headers=auth(token)).content, type=PullResponse
    )
    assert (plain.rows, plain.projection) == ([], 0)


def test_a_laptop_folds_a_melding_it_has_unsent_events_of(server: Server, client: TestClient, tmp_path: Path) -> None:
    token_a, code_a = server.laptop("anna")
    token_b, code_b = server.laptop("bram")
    a = LocalStore(tmp_path / "a.sqlite3")
    a.set_device_code(code_a)
    b = CountingStore(tmp_path / "b.sqlite3")
    b.set_device_code(code_b)
    (mid,) = _work(a, 1, 1)
    sync_once(a, "http://testserver.local", token_a, client=client, snapshot_behind=None)
    sync_once(b, "http://testserver.local", token_b, client=client, snapshot_behind=None)
    _edit(b, mid, lambda dev, m: commands.add_note(dev, m, "Nog niet verstuurd"))  # unsent on b
    _edit(a, mid, lambda dev, m: commands.add_note(dev, m, "Van anna"))
    sync_once(a, "http://testserver.local", token_a, client=client, snapshot_behind=None)
    # b pulls only (its own note waits): the server's row lacks b's note, so b must fold
    b.given = 0
    pull_only = type("PullOnly", (), {"__getattr__": lambda self, n: getattr(b, n), "unacked_events": lambda self, k: []})()
    sync_once(pull_only, "http://testserver.local", token_b, client=client, snapshot_behind=None)  # type: ignore[arg-type]
    assert b.given == 1  # offered, not taken
    row = b.conn.execute("SELECT event_count FROM meldingen WHERE melding_id = ?", (mid,)).fetchone()
    assert row == (4,)  # created, status/note, anna's note and b's own unsent note
    a.close()
    b.close()
