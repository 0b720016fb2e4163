"""A server report states the ``server_seq`` it counted to and a hash of its figures; ``--as-of SEQ``
makes the same figures after more pushes. The data-quality section reads the server's own tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest

from shared.barometer import ReportSettings, parse_period
from shared.commands import delete
from shared.enums import Status
from shared.errors import ValidationError
from sync_server.cli import main as server_main
from sync_server.store import QuarantineEntry, ServerStore
from wijkteam_reports.sql import build_report

from .helpers import World

GROUPS = ("wijk", "categorie", "hoofdcategorie", "kanaal", "vier_b", "type")
SETTINGS = ReportSettings(gemeente="Dalfsen", inwoners=29_000)


def _push(store: ServerStore, w: World, mids=None) -> None:
    evs = [e for mid, events in w.events.items() if mids is None or mid in mids for e in events]
    store.ingest(evs)


def _pushed(store: ServerStore) -> set[str]:
    return {r[0] for r in store.conn().execute("SELECT event_id FROM events")}


def _push_new(store: ServerStore, w: World) -> None:
    """Push the events of ``w`` the server does not have yet."""
    have = _pushed(store)
    store.ingest([e for events in w.events.values() for e in events if e.event_id not in have])


def _report(store, period="2025-Q1", **kw):
    kw.setdefault("settings", SETTINGS)
    return build_report(store.conn(), parse_period(period), group_by=GROUPS, **kw)


def _same_figures(a, b) -> None:
    da, db = msgspec.to_builtins(a), msgspec.to_builtins(b)
    da.pop("made_at"), db.pop("made_at")
    assert da == db


@pytest.mark.parametrize("use_summary", [True, False])
def test_as_of_gives_the_same_figures_after_more_pushes(tmp_path, use_summary):
    store = ServerStore(tmp_path / "server.sqlite3")
    w = World()
    a = w.melding("2025-01-06 09:00")
    w.status(a, "2025-01-08 09:00", Status.AFGEHANDELD)
    b = w.melding("2025-02-03 09:00")
    c = w.melding("2025-03-03 09:00", wijk="Noord")
    w.callback(c, "2025-03-04 09:00")
    d = w.melding("2024-03-05 09:00")  # the year-earlier comparison
    _push(store, w)
    first = _report(store, use_summary=use_summary)
    seq = first.server_seq
    assert seq == store.max_server_seq() > 0 and len(first.figures_hash) == 64
    assert first.totaal.received == 3

    # Later pushes change the past: a closure and a reopening, a late melding, a deletion, an edit.
    w.status(b, "2025-04-10 09:00", Status.AFGEHANDELD)
    w.status(a, "2025-04-11 09:00", Status.HEROPEND)
    w.melding("2025-03-20 09:00", wijk="Oost")
    w.events[c].append(delete(w.devs[c], w.state(c), "dubbel"))
    w.edit(d, "2025-04-12 09:00", wijk="Noord")
    _push_new(store, w)
    now = _report(store, use_summary=use_summary)
    assert now.server_seq > seq and now.figures_hash != first.figures_hash

    again = _report(store, upto_seq=seq, use_summary=use_summary)
    assert again.server_seq == seq
    assert again.figures_hash == first.figures_hash
    _same_figures(again, first)


def test_as_of_refuses_a_seq_the_server_does_not_have(tmp_path):
    store = ServerStore(tmp_path / "server.sqlite3")
    w = World()
    w.melding("2025-01-06 09:00")
    _push(store, w)
    with pytest.raises(ValidationError) as exc:
        _report(store, upto_seq=store.max_server_seq() + 1)
    assert exc.value.field == "as_of" and "bestaat niet" in exc.value.message


def test_cli_as_of_reproduces_the_hash(tmp_path, capsys):
    db = tmp_path / "server.sqlite3"
    store = ServerStore(db)
    w = World()
    a = w.melding("2025-01-06 09:00")
    _push(store, w)
    seq = store.max_server_seq()
    store.close()

    def run(*extra: str) -> dict:
        assert server_main(["report", "--db", str(db), "--period", "2025-Q1", "--format", "json", *extra]) == 0
        return json.loads(capsys.readouterr().out)

    first = run()
    assert first["server_seq"] == seq
    store = ServerStore(db)
    w.status(a, "2025-01-07 09:00", Status.AFGEHANDELD)
    _push_new(store, w)
    store.close()
    assert run()["figures_hash"] != first["figures_hash"]
    assert run("--as-of", str(seq))["figures_hash"] == first["figures_hash"]
    assert server_main(["report", "--db", str(db), "--period", "2025-Q1", "--as-of", "999"]) == 1
    assert "bestaat niet" in capsys.readouterr().err


def test_data_quality_from_the_server_tables(tmp_path):
    store = ServerStore(tmp_path / "server.sqlite3")
    w = World()
    a = w.melding("2025-03-03 09:00")
    w.status(a, "2025-03-04 09:00", Status.AFGEHANDELD)
    b = w.melding("2025-03-05 09:00")
    w.melding("2025-05-05 09:00")  # outside the period
    _push(store, w)
    # The events reached the server "now" (long after March 2025): all late. Make a's creation and
    # closure arrive the same day as stated: on time.
    with store.write() as c:
        for e in w.events[a]:
            stamp = datetime.fromtimestamp((e.hlc >> 16) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            c.execute("UPDATE events SET received_at = ? WHERE event_id = ?", (stamp, e.event_id))
    store.ingest([], [QuarantineEntry("q1", "ongeldig", "{}", "K7")])
    with store.write() as c:
        c.execute("UPDATE quarantine SET received_at = '2025-03-10T10:00:00.000000Z'")
        c.execute(
            "INSERT INTO reference_clashes (reference, melding_id, other_melding_id, detected_at) "
            "VALUES ('DLF-K7-0001', ?, 'elders', '2025-03-06T10:00:00.000000Z')",
            (b,),
        )
    # The last event's arrival is the data moment: keep one arrival "now" so nothing is cut off.
    dq = _report(store, "2025-03", settings=ReportSettings(late_after_days=7)).data_quality
    assert (dq.events, dq.late_events) == (3, 1)  # a: created + closed on time; b: created, late
    assert dq.pct_late == 33.3
    assert dq.quarantined == 1
    assert dq.reference_clashes == 1
    # A threshold beyond the delay counts nothing late.
    assert _report(store, "2025-03", settings=ReportSettings(late_after_days=100_000)).data_quality.late_events == 0
