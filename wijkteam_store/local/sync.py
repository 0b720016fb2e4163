"""The laptop store's side of sync (``wijkteam_tui.sync_client``): unsent events, acknowledgements,
refusals and verdicts, the clock, pulled pages applied with the cursor, and the server log id
(docs/sync.md).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from shared.avg import ERASING_EVENTS
from shared.deadlines import utcnow
from shared.enums import EventType
from shared.events import Event
from shared.fold import fold
from shared.hlc import HLC, wall_ms
from shared.projection import COLUMNS, iso, projection_row
from shared.protocol import VerdictState
from shared.reference import counter_of, highest_counter
from shared.trust import clock_behind_ms, restamp
from wijkteam_store.codec import EVENT_SELECT, event_from_row, event_row, json_decode, json_encode
from wijkteam_store.local.core import StoreCore, local_work
from wijkteam_store.local.schema import INSERT_EVENT


class SyncMixin(StoreCore):
    """What ``wijkteam_tui.sync_client`` asks of the laptop store."""

    # -- sync interface ---------------------------------------------------------------------------

    def unacked_events(self, limit: int) -> list[Event]:
        """Up to ``limit`` of this device's events the server has not acknowledged, in ``device_seq`` order.

        Only events under the current device code: the server takes events only from their own
        device's token, so events stranded under an earlier code (a file from before
        :meth:`set_device_code` refused such a change) must not block this device's own in a 403
        on every round; they stay counted in :meth:`pending_count`.
        """
        cur = self.conn.execute(
            f"SELECT {EVENT_SELECT} FROM events WHERE acked = 0"
            " AND device_id = (SELECT device_id FROM device WHERE id = 1) ORDER BY device_seq LIMIT ?",
            (limit,),
        )
        return [event_from_row(r) for r in cur]

    def mark_acked(self, event_ids: list[str]) -> None:
        """Mark events as acknowledged by the server (one transaction)."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE events SET acked = 1 WHERE event_id = ?",
                [(i,) for i in event_ids],
            )

    def pending_count(self) -> int:
        """How many local events still wait to be pushed."""
        return self.conn.execute(
            "SELECT count(*) FROM events WHERE acked = 0"
        ).fetchone()[0]

    def mark_sent(self, event_ids: list[str]) -> None:
        """Remember that these events go out in a push request now (before it is sent): from then on
        the server may hold them, so :meth:`fall_back_clock` no longer restamps them."""
        if not event_ids:
            return
        with self.transaction():
            self.conn.execute(
                "UPDATE device SET sent_seq = max(sent_seq, (SELECT coalesce(max(device_seq), 0) FROM events"
                " WHERE event_id IN (SELECT value FROM json_each(?)))) WHERE id = 1",
                (json_encode(event_ids).decode(),),
            )

    def mark_refused(self, refusals: Iterable[tuple[str, str, str]]) -> int:
        """Keep events the server refused as *geweigerd* (issue 11 §1): ``(event_id, code, reason)``.

        In one transaction each event moves from ``events`` to ``refused`` with the server's reason
        and machine code, and its melding is refolded without it (a refused ``created`` takes the
        melding out of the lists until the admin releases it). A refused event is not pending, not
        pushed again and not lost: :meth:`refused_events` lists it, :meth:`apply_verdicts` records
        the admin's decision. Returns how many events were moved (ids not held unsent are skipped).
        """
        rows = list(refusals)
        if not rows:
            return 0
        cols = EVENT_SELECT
        moved: set[str] = set()
        touched: set[str] = set()
        with self.transaction():
            now = iso(utcnow())
            for event_id, code, reason in rows:
                cur = self.conn.execute(
                    f"INSERT OR IGNORE INTO refused ({cols}, code, reason, refused_at) "
                    f"SELECT {cols}, ?, ?, ? FROM events WHERE event_id = ? AND acked = 0",
                    (code, reason, now, event_id),
                )
                if cur.rowcount:
                    mid = self.conn.execute("SELECT melding_id FROM events WHERE event_id = ?", (event_id,)).fetchone()[0]
                    self.conn.execute("DELETE FROM events WHERE event_id = ?", (event_id,))
                    moved.add(event_id)
                    touched.add(mid)
            self._refold(touched)
        return len(moved)

    def fall_back_clock(self, server_hlc: int) -> int:
        """After a refusal for a future stamp (issue 11 §1): this laptop's clock falls back to the
        server's (``server_hlc``), and its own events that were never sent and are stamped after it
        get new stamps from the fallen-back clock, in ``device_seq`` order (nobody has seen them, so
        their identity and order stay; their meldingen are refolded). One transaction.

        Returns:
            How many events were restamped.
        """
        with self.transaction():
            d = self.conn.execute("SELECT device_id, hlc_last, sent_seq FROM device WHERE id = 1").fetchone()
            own, last, sent = d
            if last <= server_hlc:
                return 0
            hlc = HLC(server_hlc)
            cur = self.conn.execute(
                f"SELECT {EVENT_SELECT} FROM events WHERE acked = 0 AND device_id = ? AND device_seq > ? "
                "AND hlc > ? ORDER BY device_seq",
                (own or "", sent, server_hlc),
            )
            # shared.trust.restamp also moves a registration time that now lies ahead of its stamp.
            events = [restamp(event_from_row(r), hlc.now()) for r in cur.fetchall()]
            self.conn.executemany(
                "UPDATE events SET hlc = ?, payload = ? WHERE event_id = ?",
                [(e.hlc, json_encode(e.payload).decode(), e.event_id) for e in events],
            )
            self.conn.execute("UPDATE device SET hlc_last = ? WHERE id = 1", (hlc.last,))
            self._refold({e.melding_id for e in events})
            return len(events)

    def refused_events(self, *, include_decided: bool = False) -> list[dict[str, Any]]:
        """Refused events, oldest first, as ``{event_id, melding_id, type, hlc, code, reason,
        refused_at, verdict, verdict_note, decided_at, seen, reference, omschrijving}``.

        Without ``include_decided``: those that need the user's attention (waiting for the admin, or
        rejected and not yet dismissed). ``reference``/``omschrijving`` come from the refused
        ``created`` or the melding's projection ("" when neither is here).
        """
        where = "" if include_decided else " WHERE r.verdict = 'waiting' OR (r.verdict = 'rejected' AND r.seen = 0)"
        cur = self.conn.execute(
            "SELECT r.event_id, r.melding_id, r.type, r.hlc, r.code, r.reason, r.refused_at, r.verdict,"
            " r.verdict_note, r.decided_at, r.seen, r.payload, m.reference, m.omschrijving"
            f" FROM refused r LEFT JOIN meldingen m ON m.melding_id = r.melding_id{where} ORDER BY r.device_seq"
        )
        out = []
        names = [d[0] for d in cur.description]
        for row in cur.fetchall():
            item = dict(zip(names, row, strict=True))
            payload = json_decode(item.pop("payload"))
            fields = payload.get("fields") or {}
            item["reference"] = item.pop("reference") or payload.get("reference") or ""
            item["omschrijving"] = item.pop("omschrijving") or fields.get("omschrijving") or ""
            out.append(item)
        return out

    def refused_count(self) -> int:
        """How many refused events need the user's attention (see :meth:`refused_events`)."""
        return self.conn.execute(
            "SELECT count(*) FROM refused WHERE verdict = 'waiting' OR (verdict = 'rejected' AND seen = 0)"
        ).fetchone()[0]

    def waiting_refused_ids(self) -> list[str]:
        """Ids of refused events still waiting for the admin's verdict (asked at every sync)."""
        return [r[0] for r in self.conn.execute("SELECT event_id FROM refused WHERE verdict = 'waiting' ORDER BY device_seq")]

    def apply_verdicts(self, verdicts: Iterable[Any]) -> dict[str, int]:
        """Record the admin's verdicts (``shared.protocol.Verdict``) in one transaction.

        ``released``: the event is in the record now (restamped where its time was refused); the
        stored version arrives with the pull. ``rejected``: it never enters the record; it stays
        listed until the user dismisses it. ``unknown`` (the server has no such refusal, e.g. it was
        restored from a backup older than the refusal): the event goes back to ``events`` as unsent,
        so the next push offers it again. Returns the count per state.
        """
        counts: dict[str, int] = {}
        with self.transaction():
            now = iso(utcnow())
            cols = EVENT_SELECT
            for v in verdicts:
                state = v.state
                if state in (VerdictState.RELEASED, VerdictState.REJECTED):
                    cur = self.conn.execute(
                        "UPDATE refused SET verdict = ?, verdict_note = ?, decided_at = ? WHERE event_id = ? AND verdict = 'waiting'",
                        (state, v.note, now, v.event_id),
                    )
                elif state == VerdictState.UNKNOWN:
                    self.conn.execute(
                        f"INSERT OR IGNORE INTO events ({cols}, acked) SELECT {cols}, 0 FROM refused WHERE event_id = ? AND verdict = 'waiting'",
                        (v.event_id,),
                    )
                    cur = self.conn.execute("DELETE FROM refused WHERE event_id = ? AND verdict = 'waiting'", (v.event_id,))
                    mid = self.conn.execute("SELECT melding_id FROM events WHERE event_id = ?", (v.event_id,)).fetchone()
                    if mid:
                        self._refold([mid[0]])
                else:
                    continue
                if cur.rowcount:
                    counts[state] = counts.get(state, 0) + 1
        return counts

    def dismiss_refused(self, event_ids: Iterable[str]) -> None:
        """The user saw these rejected events: they leave the warning (they stay in ``refused``)."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE refused SET seen = 1 WHERE event_id = ? AND verdict != 'waiting'", [(i,) for i in event_ids]
            )

    def own_seq(self) -> int:
        """This laptop's own event counter (the last ``device_seq`` it used)."""
        return self._device()["seq"]

    def highest_counter(self, device_id: str) -> int:
        """The highest reference counter among the ``created`` events of ``device_id`` this laptop
        holds (0: none). After a server restore the laptop reports it for the server's own device, so
        the server's counter continues past numbers only laptops still hold (docs/server.md)."""
        return highest_counter(
            ref
            for (ref,) in self.conn.execute(
                "SELECT json_extract(payload, '$.reference') FROM events WHERE device_id = ? AND type = 'created'",
                (device_id,),
            )
        )

    def clock_behind_ms(self, now_ms: int | None = None) -> int:
        """How far this laptop's wall clock lies behind the time its clock has already seen (ms).

        More than ``shared.protocol.MAX_REGISTERED_BEHIND_MS`` means the clock was set back: new
        registrations then take the clock's time (:meth:`register`), and the app says so.
        """
        return clock_behind_ms(now_ms if now_ms is not None else wall_ms(), self._device()["hlc_last"])

    def local_work(self) -> int:
        """How many events only this laptop holds (:func:`local_work`): a laptop with any never
        replaces its database by a snapshot."""
        return local_work(self.conn)

    def is_empty(self) -> bool:
        """True when the database holds no event at all (a new laptop: its first sync takes a snapshot)."""
        return self.conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is None

    def server_log_id(self) -> int:
        """The id of the server log this laptop synced with (0 before its first sync)."""
        return self.conn.execute("SELECT server_log_id FROM device WHERE id = 1").fetchone()[0]

    def pull_cursor(self) -> int:
        """The server_seq after which the next pull starts (0 for a new laptop)."""
        return self._device()["pull_cursor"]

    def note_server_log(self, log_id: int) -> bool:
        """Compare the server's log id (``PullResponse.log_id``) with the one this laptop synced with.

        The first id seen is remembered; 0 (a server without one) changes nothing. A different id
        means the server was restored from a backup (or this laptop now syncs with another server):
        its log may lack this laptop's later events and numbers ``server_seq`` anew. Then, in one
        transaction, this laptop's own events are marked unsent and the pull cursor goes back to 0,
        so the next round re-sends them and pulls everything (both safe: the server stores each event
        once, and pulled events already here are only marked acknowledged). Events of other devices
        are not re-sent: a token may only send its own device's events (docs/server.md, "Backups").

        Returns:
            True when the store was reset for a new log.
        """
        query = "SELECT server_log_id, device_id FROM device WHERE id = 1"
        if not log_id or self.conn.execute(query).fetchone()[0] == log_id:
            return False  # the usual case: no write transaction for it
        with self.transaction():
            known, own = self.conn.execute(query).fetchone()
            if known == log_id:
                return False
            if known:
                self.conn.execute("UPDATE events SET acked = 0 WHERE device_id = ?", (own or "",))
                self.conn.execute("UPDATE device SET pull_cursor = 0 WHERE id = 1")
            self.conn.execute("UPDATE device SET server_log_id = ? WHERE id = 1", (log_id,))
            return bool(known)

    def apply_remote(
        self,
        events: list[Event],
        next_after: int,
        server_hlc: int | None = None,
        rows: Iterable[tuple[Any, ...]] | None = None,
    ) -> None:
        """Apply one pulled page: insert unknown events (acked), refold what they touch, store the cursor.

        Events already known (e.g. this laptop's own, echoed back) are only marked acked. One
        transaction, so a crash never leaves a page half applied or the cursor past unapplied events.
        The persisted HLC moves past every pulled stamp, so later local edits order after them.
        ``server_hlc``: the page's ``server_hlc``; when given it is merged into the persisted clock as
        :meth:`recv_hlc` would, in the same transaction (one commit, so one fsync, per page instead of
        two: docs/benchmarks.md, "Sync").

        Batched per page (docs/benchmarks.md, "Sync"): the stored events of the touched meldingen are
        read in one query, every melding is folded in memory from its stored plus its new events, and
        the projection and FTS rows are written with ``executemany``.

        ``rows``: the server's projection rows of meldingen of this page (values of ``COLUMNS`` in
        order, checked for type by the wire decoder: ``shared.protocol.PullResponse.rows``). The
        server sends a melding's row only when it holds no event of it after ``next_after``, so once
        this page is applied the laptop holds exactly the events the row was folded from, unless it
        has unsent events of that melding itself: those it folds, the others it takes as they are
        (no stored events read, no fold; docs/benchmarks.md, "Incremental pull").
        """
        # A page makes ~100,000 short-lived container objects; the cyclic GC's passes over them
        # cost ~15 % of a pull (docs/benchmarks.md, "Sync") and find nothing (fold builds no
        # cycles). Reference counting still frees everything; the GC is switched back on after.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._apply_page(events, next_after, server_hlc, rows)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _apply_page(
        self, events: list[Event], next_after: int, server_hlc: int | None, rows: Iterable[tuple[Any, ...]] | None
    ) -> None:
        with self.transaction():
            known = self._known_event_ids([e.event_id for e in events])
            seen = set(known)
            groups: dict[str, list[Event]] = {}
            new: list[Event] = []
            for e in events:
                if e.event_id in seen:
                    continue
                seen.add(e.event_id)  # a page that repeats an event stores it once
                new.append(e)
                groups.setdefault(e.melding_id, []).append(e)
            if known:
                self.conn.executemany(
                    "UPDATE events SET acked = 1 WHERE event_id = ?",
                    [(i,) for i in known],
                )
                # The server is the authority on an event's content: one the admin released after a
                # refusal carries the server's stamp now (shared.trust.restamp). Take that version,
                # so this laptop folds exactly what every other replica folds.
                changed = [e for e in events if e.event_id in known and known[e.event_id] != e.hlc]
                if changed:
                    self.conn.executemany(
                        "UPDATE events SET hlc = ?, payload = ? WHERE event_id = ?",
                        [(e.hlc, json_encode(e.payload).decode(), e.event_id) for e in changed],
                    )
                    for e in changed:
                        groups.setdefault(e.melding_id, [])
            given: dict[str, tuple[Any, ...]] = {}
            if rows:
                # (not DISTINCT: that reads the whole melding index instead of the few unsent events)
                unsent = {r[0] for r in self.conn.execute("SELECT melding_id FROM events WHERE acked = 0")}
                given = {r[0]: r for r in rows if r[0] in groups and r[0] not in unsent}
            stored = self._stored_events([mid for mid in groups if mid not in given])
            if new:
                self.conn.executemany(
                    INSERT_EVENT.replace("INSERT", "INSERT OR IGNORE", 1),
                    [(*event_row(e), 1) for e in new],
                )
                self.conn.execute(
                    "UPDATE device SET hlc_last = max(hlc_last, ?) WHERE id = 1",
                    (max(e.hlc for e in new),),
                )
                self._skip_past_own(new)
            values = itemgetter(*COLUMNS)  # a projection row's values in column order, in C
            projected: list[tuple[str, tuple[Any, ...]]] = []
            for mid, evs in groups.items():
                if mid in given:
                    projected.append((mid, given[mid]))
                elif (m := fold(stored.get(mid, []) + evs, history=False)) is not None:
                    projected.append((mid, values(projection_row(m))))
            self._write_projections(projected, [mid for mid in groups if mid in stored or mid in given])
            # An anonymisation or removal in this page (issue 16): rewrite this laptop's copies of the
            # melding's events too (its own unsent ones included), then refold it.
            erased = self._erase_local({e.melding_id for e in new if e.type in ERASING_EVENTS})
            self._refold(erased)
            self.conn.execute(
                "UPDATE device SET pull_cursor = ? WHERE id = 1", (next_after,)
            )
            if server_hlc is not None:
                self._merge_hlc(server_hlc)

    def _skip_past_own(self, new: list[Event]) -> None:
        """Move this laptop's counters past events made under its own device code elsewhere.

        That happens when a laptop is reinstalled (or a config copied) with the same token and
        device code: without this the next melding would get a reference that already exists.
        References stay unique as long as pulled history is applied before new work (docs/references.md).
        """
        own = self.device_code()
        mine = [e for e in new if own and e.device_id == own]
        if not mine:
            return
        counters = [0]
        for e in mine:
            if e.type == EventType.CREATED:
                try:
                    counters.append(counter_of(e.payload.get("reference", "")))
                except ValueError:
                    pass  # a malformed reference is the server's to flag, not ours to count
        self.conn.execute(
            "UPDATE device SET seq = max(seq, ?), melding_counter = max(melding_counter, ?) WHERE id = 1",
            (max(e.device_seq for e in mine), max(counters)),
        )

    def _known_event_ids(self, ids: list[str]) -> dict[str, int]:
        """Which of ``ids`` are already stored, with their stored stamp (one query: the ids travel
        as one JSON array)."""
        if not ids:
            return {}
        cur = self.conn.execute(
            "SELECT event_id, hlc FROM events WHERE event_id IN (SELECT value FROM json_each(?))",
            (json_encode(ids).decode(),),
        )
        return dict(cur.fetchall())

    def _stored_events(self, melding_ids: list[str]) -> dict[str, list[Event]]:
        """The stored events of the given meldingen, by melding (one query); meldingen without
        stored events are absent."""
        if not melding_ids:
            return {}
        cur = self.conn.execute(
            f"SELECT {EVENT_SELECT} FROM events"
            " WHERE melding_id IN (SELECT value FROM json_each(?))",
            (json_encode(melding_ids).decode(),),
        )
        out: dict[str, list[Event]] = {}
        for r in cur:
            out.setdefault(r[1], []).append(event_from_row(r))
        return out

    def recv_hlc(self, remote: int) -> int:
        """Merge the server's HLC stamp into the persisted clock (``HLC.recv``); returns the new stamp."""
        with self.transaction():
            return self._merge_hlc(remote)

    def _merge_hlc(self, remote: int) -> int:
        """``recv_hlc``'s work, inside the caller's transaction."""
        stamp = HLC(self._device()["hlc_last"]).recv(remote)
        self.conn.execute("UPDATE device SET hlc_last = ? WHERE id = 1", (stamp,))
        return stamp
