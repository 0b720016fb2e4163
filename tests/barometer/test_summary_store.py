"""The server store keeps the barometer summary table ``barometer_rows`` with its projection: written
in the same transaction as every push, rows of deleted meldingen removed, and filled from the
projection when an older database is upgraded. Reports over it equal the reference."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from shared.barometer import (
    SUMMARY_COLUMNS,
    compute_from_projection,
    parse_period,
    summary_row,
)
from shared.commands import delete
from shared.enums import Status
from sync_server.store import STORE_SCHEMA_VERSION, ServerStore
from tests.backends import sql
from wijkteam_reports.sql import build_report
from wijkteam_reports.summary import SUMMARY_VERSION, TABLE

from .helpers import World, figures

DIMS = ("wijk", "categorie", "hoofdcategorie", "kanaal", "vier_b", "type")


def _world() -> tuple[World, dict[str, str]]:
    w = World()
    a = w.melding("2025-03-03 09:00")  # closed, reopened, closed again: needs its timeline
    w.status(a, "2025-03-05 10:00", Status.AFGEHANDELD)
    w.status(a, "2025-03-20 10:00", Status.HEROPEND)
    w.status(a, "2025-04-02 10:00", Status.AFGEHANDELD)
    b = w.melding("2025-03-31 23:30", wijk=None, contact=False)  # 1 April local
    c = w.melding("2025-03-10 08:00", categorie=None)
    w.status(c, "2025-03-11 08:00", Status.AFGEHANDELD)
    w.callback(c, "2025-03-11 09:00")
    d = w.melding("2025-03-12 08:00")
    return w, {"a": a, "b": b, "c": c, "d": d}


def _push(store: ServerStore, w: World) -> None:
    store.ingest([e for evs in w.events.values() for e in evs])


def _summary(store: ServerStore) -> dict[str, tuple]:
    cols = ", ".join(f'"{c}"' for c in SUMMARY_COLUMNS)
    return {r[0]: tuple(r) for r in sql(store, f"SELECT {cols} FROM {TABLE}")}


def _expected(store: ServerStore, ids) -> dict[str, tuple]:
    out = {}
    for mid in ids:
        row = summary_row(store.projection(mid))
        if row is not None:
            out[mid] = row
    return out


def _reports_equal(store: ServerStore, w: World, period: str, as_of: datetime) -> None:
    p = parse_period(period)
    projections = [store.projection(mid) for mid in w.events]
    ref = compute_from_projection(projections, p, as_of=as_of, group_by=DIMS)
    fast = store.barometer(p, as_of=as_of, group_by=DIMS)  # the report layer's SQL, on the store's engine
    assert figures(fast) == figures(ref)


def test_push_writes_the_summary_with_the_projection(store_location):
    """On both engines (issue 17 §4): the summary written with a push, and the report from it."""
    store = ServerStore(store_location)
    w, ids = _world()
    _push(store, w)
    summary = _summary(store)
    assert summary == _expected(store, w.events)
    assert set(summary) == set(ids.values())
    # The reopened melding carries its timeline; the others do not need one.
    tl = list(SUMMARY_COLUMNS).index("timeline")
    assert summary[ids["a"]][tl] is not None and summary[ids["d"]][tl] is None
    # Backlog at the end of March: a (reopened 20 Mar) and d are open, b counts in April.
    report = store.barometer(parse_period("2025-03"), as_of=datetime(2025, 6, 1, tzinfo=UTC))
    assert (report.totaal.received, report.totaal.backlog) == (3, 2)
    _reports_equal(store, w, "2025-03", datetime(2025, 6, 1, tzinfo=UTC))
    _reports_equal(store, w, "2025-Q2", datetime(2025, 4, 1, 12, tzinfo=UTC))
    store.close()


def test_a_later_push_updates_and_deletes_summary_rows(store_location):
    store = ServerStore(store_location)
    w, ids = _world()
    _push(store, w)
    w.status(ids["d"], "2025-03-13 08:00", Status.AFGEHANDELD)
    w.at("2025-03-14 08:00")
    w.events[ids["c"]].append(delete(w.devs[ids["c"]], w.state(ids["c"])))
    _push(store, w)
    summary = _summary(store)
    assert ids["c"] not in summary  # deleted: does not count
    lead = list(SUMMARY_COLUMNS).index("lead")
    assert summary[ids["d"]][lead] == 1  # lead time: closed the next working day
    assert summary == _expected(store, w.events)
    _reports_equal(store, w, "2025-03", datetime(2025, 6, 1, tzinfo=UTC))
    store.close()


def test_upgrade_fills_the_summary_from_the_projection(tmp_path):
    path = tmp_path / "server.sqlite3"
    store = ServerStore(path)
    w, _ = _world()
    _push(store, w)
    expected = _summary(store)
    store.close()
    # Make it look like a database of schema 1: no summary table, no summary version.
    conn = sqlite3.connect(path)
    conn.execute(f"DROP TABLE {TABLE}")
    conn.execute("DELETE FROM server_state WHERE key = 'barometer_summary'")
    conn.execute("UPDATE server_state SET value = 1 WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    store = ServerStore(path)
    assert _summary(store) == expected
    c = store.conn()
    assert c.execute("SELECT value FROM server_state WHERE key = 'barometer_summary'").fetchone()[0] == SUMMARY_VERSION
    assert c.execute("SELECT value FROM server_state WHERE key = 'schema_version'").fetchone()[0] == STORE_SCHEMA_VERSION
    _reports_equal(store, w, "2025-03", datetime(2025, 6, 1, tzinfo=UTC))
    store.close()


def test_upgrade_from_schema_2_drops_state_and_fills_the_status_timeline(tmp_path):
    path = tmp_path / "server.sqlite3"
    store = ServerStore(path)
    w, ids = _world()
    _push(store, w)
    expected = {mid: store.projection(mid) for mid in w.events}
    assert expected[ids["a"]]["status_timeline"] is not None  # reopened: the barometer needs it
    summary = _summary(store)
    store.close()
    # The layout of schema 2: the whole melding as JSON in ``state``, no ``status_timeline``.
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE meldingen DROP COLUMN status_timeline")
    conn.execute("ALTER TABLE meldingen ADD COLUMN state TEXT")
    conn.execute("UPDATE meldingen SET state = '{}'")
    conn.execute("UPDATE server_state SET value = 2 WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    store = ServerStore(path)
    assert "state" not in store.projection(ids["a"])
    assert {mid: store.projection(mid) for mid in w.events} == expected
    assert _summary(store) == summary
    assert store.melding(ids["a"]).reopen_count == 1
    _reports_equal(store, w, "2025-03", datetime(2025, 6, 1, tzinfo=UTC))
    store.close()


def test_rows_written_around_the_store_are_not_missed(tmp_path):
    """A projection row written without the store (a repair script, a test fixture) marks the summary
    stale: reports read the projection until the store, when next opened, brings the summary up to date."""
    from wijkteam_reports.summary import summary_ready

    path = tmp_path / "server.sqlite3"
    store = ServerStore(path)
    w, ids = _world()
    _push(store, w)
    extra = World()
    e = extra.melding("2025-03-18 09:00")
    extra.status(e, "2025-03-19 09:00", Status.AFGEHANDELD)
    row = extra.rows()[0]
    names = list(row)
    with store.write() as c:
        c.execute(f"INSERT INTO meldingen ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", list(row.values()))
        c.execute("UPDATE meldingen SET deleted = 1 WHERE melding_id = ?", (ids["d"],))
    assert not summary_ready(store.conn())
    as_of = datetime(2025, 6, 1, tzinfo=UTC)
    projections = [store.projection(mid) for mid in [*w.events, e]]
    ref = compute_from_projection(projections, parse_period("2025-03"), as_of=as_of, group_by=DIMS)
    assert ref.totaal.received == 3  # a, c and the extra one; d is deleted now
    report = build_report(store.conn(), parse_period("2025-03"), as_of=as_of, group_by=DIMS)
    assert figures(report) == figures(ref)
    store.close()
    store = ServerStore(path)
    assert summary_ready(store.conn())
    assert _summary(store) == _expected(store, [*w.events, e])
    summary = build_report(store.conn(), parse_period("2025-03"), as_of=as_of, group_by=DIMS, use_summary=True)
    assert figures(summary) == figures(ref)
    store.close()


def test_an_older_summary_layout_is_rebuilt(tmp_path):
    """A database whose summary was written by an older layout (recorded version below
    SUMMARY_VERSION, other columns) gets the table dropped and rebuilt when the store opens it."""
    path = tmp_path / "server.sqlite3"
    store = ServerStore(path)
    w, _ = _world()
    _push(store, w)
    expected = _summary(store)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute(f"DROP TABLE {TABLE}")
    conn.execute(f"CREATE TABLE {TABLE} (melding_id TEXT PRIMARY KEY, day INTEGER, lead INTEGER)")
    conn.execute(f"CREATE INDEX {TABLE}_report ON {TABLE}(day, lead)")
    conn.execute("UPDATE server_state SET value = ? WHERE key = 'barometer_summary'", (SUMMARY_VERSION - 1,))
    conn.commit()
    conn.close()
    store = ServerStore(path)
    assert _summary(store) == expected
    _reports_equal(store, w, "2025-03", datetime(2025, 6, 1, tzinfo=UTC))
    store.close()
