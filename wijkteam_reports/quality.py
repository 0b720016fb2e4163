"""The data-quality section of the barometer and what a report reads of the server's own tables.

A server database has an ``events`` log with the arrival time of every event (``received_at``,
written by the store when a push commits), a ``quarantine`` of refused events and a list of
``reference_clashes``. A laptop database has none of these; its figures stay ``None`` ("n.v.t.").

* **Late events**: pushed events whose stated time — their HLC clock, ``shared.hlc.physical_ms`` — lies
  in the period and that reached the server N days or more (``ReportSettings.late_after_days``,
  default ``shared.protocol.LATE_ARRIVAL_DAYS``) after it: the same rule as the store's
  ``late_events`` (which counts by arrival window). Events the server made itself (device
  ``shared.commands.SERVER_DEVICE``: imports, demo, Open311) carry the server's clock and are not
  counted. Such an event may have changed the figures of a period after they were first reported.
* **Quarantined**: refused events (``quarantine``) that arrived in the period.
* **Reference clashes**: meldingen registered in the period whose reference another melding also
  carries (``reference_clashes``).
* Up to the report's ``server_seq``: later events and arrivals after its moment are not counted.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from shared.barometer import DataQuality, Period, pct
from shared.commands import SERVER_DEVICE
from shared.hlc import COUNTER_BITS
from shared.projection import iso
from wijkteam_store.dialect import dialect_of

_DAY_MS = 86_400_000


def _columns(conn: Any, table: str) -> set[str]:
    try:
        return set(dialect_of(conn).columns(conn, table))
    except sqlite3.Error:
        return set()


def is_server_db(conn: Any) -> bool:
    """Whether ``conn`` is a server database: an ``events`` log with ``server_seq`` and ``received_at``."""
    return {"server_seq", "received_at"} <= _columns(conn, "events")


def max_seq(conn: Any) -> int:
    """The highest ``server_seq`` handed out (0 for an empty log)."""
    return conn.execute("SELECT coalesce(max(server_seq), 0) FROM events").fetchone()[0]


def moment_of(conn: Any, seq: int) -> datetime | None:
    """When event ``seq`` reached the server (``received_at``), or ``None`` (``seq`` 0 or gone)."""
    row = conn.execute("SELECT received_at FROM events WHERE server_seq <= ? ORDER BY server_seq DESC LIMIT 1", (seq,)).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def fill(conn: Any, dq: DataQuality | None, period: Period, seq: int | None, moment: datetime) -> None:
    """Fill the server-only fields of ``dq`` for ``period``, counting events up to ``seq`` and
    arrivals up to ``moment``."""
    if dq is None or seq is None:
        return
    start = int(period.start_instant().timestamp() * 1000) << COUNTER_BITS
    end = int(period.end_instant().timestamp() * 1000) << COUNTER_BITS
    late_ms = dq.late_after_days * _DAY_MS
    # received_at is UTC ISO text (with its Z), read as ms since the epoch by either engine.
    d = dialect_of(conn)
    received_ms = f"CAST(round({d.epoch_ms('received_at')}) AS BIGINT)"
    events, late = conn.execute(
        f"""SELECT count(*), coalesce(sum({d.as_int(f"{received_ms} - (hlc >> {COUNTER_BITS}) >= ?")}), 0)
            FROM events WHERE hlc >= ? AND hlc < ? AND server_seq <= ? AND device_id != ?""",
        (late_ms, start, end, seq, SERVER_DEVICE),
    ).fetchone()
    dq.events, dq.late_events, dq.pct_late = events, late, pct(late, events)
    lo, hi = iso(period.start_instant()), iso(min(period.end_instant(), moment))
    upto = iso(moment)
    if "received_at" in _columns(conn, "quarantine"):
        dq.quarantined = conn.execute(
            "SELECT count(*) FROM quarantine WHERE received_at >= ? AND received_at < ? AND received_at <= ?",
            (lo, hi, upto),
        ).fetchone()[0]
    if "detected_at" in _columns(conn, "reference_clashes"):
        dq.reference_clashes = conn.execute(
            """SELECT count(DISTINCT m.melding_id) FROM reference_clashes AS c
               JOIN meldingen AS m ON m.melding_id IN (c.melding_id, c.other_melding_id)
               WHERE m.registered_date BETWEEN ? AND ? AND c.detected_at <= ?""",
            (period.start.isoformat(), period.end.isoformat(), upto),
        ).fetchone()[0]


def origins(conn: Any) -> dict[str, int]:
    """Meldingen (not deleted) per origin — ``live``, ``demo``, ``import`` — from the projection's
    ``bron`` column (``wijkteam-server demo`` and ``import`` set it); ``{}`` without that column."""
    if "bron" not in _columns(conn, "meldingen"):
        return {}
    return {
        bron: n
        for bron, n in conn.execute(
            "SELECT coalesce(nullif(bron, ''), 'live'), count(*) FROM meldingen WHERE deleted = 0 GROUP BY 1"
        )
    }

