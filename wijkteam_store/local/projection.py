"""The laptop store's writes: events in (new local ones, registrations, bulk loads), and the projection
and its full-text rows refolded from them in the same transaction (docs/design.md, "Records are event
logs").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import compress
from operator import ne
from typing import Any

from shared.avg import ERASING_EVENTS
from shared.commands import DeviceClock, register
from shared.deadlines import utcnow
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.model import Melding
from shared.projection import COLUMNS, projection_row
from shared.trust import registration_time
from wijkteam_store.codec import event_row, json_encode
from wijkteam_store.local.core import StoreCore
from wijkteam_store.local.schema import (
    FTS_SOURCE_INDEXES,
    INSERT_EVENT,
    POSITIONS,
    REGISTERED_AT,
    free_key,
    fts_values,
    sort_key,
)


class ProjectionMixin(StoreCore):
    """Events in; the projection and its full-text rows refolded in the same transaction."""

    # -- writes -----------------------------------------------------------------------------------

    def append(self, events: list[Event], dev: DeviceClock) -> None:
        """Store new local events, persist ``dev``'s counter and HLC, refold the touched meldingen.

        One transaction (joins an outer :meth:`transaction`).

        Raises:
            StoreError: locked / read-only database; nothing is stored.
        """
        with self.transaction():
            self.conn.executemany(
                INSERT_EVENT,
                [(*event_row(e), 0) for e in events],
            )
            self.conn.execute(
                "UPDATE device SET seq = max(seq, ?), hlc_last = max(hlc_last, ?) WHERE id = 1",
                (dev.seq, dev.hlc.last),
            )
            self._erase_local({e.melding_id for e in events if e.type in ERASING_EVENTS})
            self._refold({e.melding_id for e in events})

    def register(
        self,
        dev: DeviceClock,
        *,
        prefix: str,
        fields: MeldingFields,
        registered_at: datetime | None = None,
    ) -> Melding:
        """Register a new melding: take the counter, make the ``created`` event, store both at once.

        Returns:
            The folded new melding (with its reference, servicenorm and deadline).

        Raises:
            ValidationError: from :func:`shared.commands.register`; nothing stored, counter unused.
            StoreError: the database cannot be written; nothing stored.
        """
        with self.transaction():
            counter = self.next_melding_counter()
            # A wall clock set back (say to 2001) cannot date a registration before what this
            # laptop's clock has already seen from the server (shared.trust.registration_time).
            at = registration_time(registered_at or utcnow(), dev.hlc.last)
            event = register(
                dev,
                prefix=prefix,
                counter=counter,
                fields=fields,
                registered_at=at,
            )
            self.append([event], dev)
        melding = self.get(event.melding_id)
        assert melding is not None
        return melding

    def _refold(self, melding_ids: Iterable[str]) -> None:
        for mid in melding_ids:
            self._write_projection(fold(self.events_of(mid), history=False), mid)

    def _write_projection(self, melding: Melding | None, melding_id: str) -> None:
        if melding is None:
            # Its created event has not arrived yet, or it was refused by the server: no row.
            row = self.conn.execute("SELECT rowid FROM meldingen WHERE melding_id = ?", (melding_id,)).fetchone()
            if row:
                self.conn.execute("DELETE FROM meldingen WHERE rowid = ?", (row[0],))
                self.conn.execute("DELETE FROM meldingen_fts WHERE rowid = ?", (row[0],))
            return
        row = projection_row(melding)
        names = list(COLUMNS)
        existing = self.conn.execute(
            "SELECT rowid FROM meldingen WHERE melding_id = ?", (melding_id,)
        ).fetchone()
        if existing:
            rowid = existing[0]
            updates = ", ".join(f"{n} = ?" for n in names if n != "melding_id")
            self.conn.execute(
                f"UPDATE meldingen SET {updates} WHERE rowid = ?",
                [*(row[n] for n in names if n != "melding_id"), rowid],
            )
        else:
            rowid = free_key(self.conn, sort_key(row["registered_at"]))
            self.conn.execute(
                f"INSERT INTO meldingen (rowid, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})",
                [rowid, *(row[n] for n in names)],
            )
        self.conn.execute("DELETE FROM meldingen_fts WHERE rowid = ?", (rowid,))
        self.conn.execute(
            "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)",
            (rowid, *fts_values(row)),
        )

    def bulk_load(
        self,
        groups: Iterable[list[Event]],
        *,
        acked: bool = True,
        device: DeviceClock | None = None,
        melding_counter: int | None = None,
    ) -> int:
        """Load the complete event logs of meldingen that are new to this store, in one transaction.

        Used by the demo generator and benchmarks: each group is every event of one new melding, so
        it is folded in memory instead of re-read. ``device`` / ``melding_counter`` (optional) are
        persisted as this laptop's counters.

        Returns:
            The number of meldingen loaded.

        Raises:
            StoreError: the database cannot be written; nothing stored.
        """
        names = list(COLUMNS)
        n = 0
        taken: set[int] = set()
        with self.transaction():
            ev_rows: list[tuple] = []
            m_rows: list[list[Any]] = []
            fts_rows: list[tuple] = []
            for events in groups:
                m = fold(events, history=False)
                if m is None:
                    continue
                n += 1
                ev_rows.extend((*event_row(e), int(acked)) for e in events)
                row = projection_row(m)
                key = free_key(self.conn, sort_key(row["registered_at"]), taken)
                taken.add(key)
                m_rows.append([key, *(row[c] for c in names)])
                fts_rows.append((key, *fts_values(row)))
                if len(ev_rows) > 20000:
                    self._flush_bulk(ev_rows, m_rows, fts_rows, names)
            self._flush_bulk(ev_rows, m_rows, fts_rows, names)
            if device is not None:
                self.conn.execute(
                    "UPDATE device SET device_id = ?, seq = max(seq, ?), hlc_last = max(hlc_last, ?) WHERE id = 1",
                    (device.device_id, device.seq, device.hlc.last),
                )
            if melding_counter is not None:
                self.conn.execute(
                    "UPDATE device SET melding_counter = max(melding_counter, ?) WHERE id = 1",
                    (melding_counter,),
                )
        # One big transaction leaves a WAL as large as the data; fold it back now, not on next open.
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def _flush_bulk(
        self, ev_rows: list, m_rows: list, fts_rows: list, names: list[str]
    ) -> None:
        self.conn.executemany(
            INSERT_EVENT,
            ev_rows,
        )
        self.conn.executemany(
            f"INSERT INTO meldingen (rowid, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})",
            m_rows,
        )
        self.conn.executemany(
            "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)",
            fts_rows,
        )
        ev_rows.clear()
        m_rows.clear()
        fts_rows.clear()

    def _write_projections(self, projected: list[tuple[str, tuple[Any, ...]]], maybe_projected: list[str]) -> None:
        """Write projection rows (values of ``COLUMNS`` in order) and their FTS rows with ``executemany``.

        ``maybe_projected``: the meldingen that may already have a projection row (it keeps its
        rowid); the others get a new rowid by :func:`sort_key`, in the order of ``projected``, exactly
        as :meth:`_write_projection` would one by one.

        An existing row is updated only in the columns whose value changed (grouped by which, one
        ``executemany`` per group): SQLite then leaves alone every index without a changed column,
        and the full-text row is rewritten only when one of its source columns changed. A pulled
        note or status change touches a few columns of its row and no search text, and an incremental
        pull is mostly those (docs/benchmarks.md, "Incremental pull"). Same rows as writing them whole.
        """
        names = list(COLUMNS)
        old: dict[str, tuple] = {}
        if maybe_projected:
            cur = self.conn.execute(
                f"SELECT {', '.join(names)}, rowid FROM meldingen WHERE melding_id IN (SELECT value FROM json_each(?))",
                (json_encode(maybe_projected).decode(),),
            )
            old = {r[0]: r for r in cur}
        fresh = [(mid, row) for mid, row in projected if mid not in old]
        keys = [sort_key(row[REGISTERED_AT]) for _, row in fresh]
        occupied: set[int] = set()
        if keys:
            cur = self.conn.execute(
                "SELECT rowid FROM meldingen WHERE rowid IN (SELECT value FROM json_each(?))",
                (json_encode(keys).decode(),),
            )
            occupied = {r[0] for r in cur}
        taken: set[int] = set()
        updates: dict[tuple[int, ...], list[tuple]] = {}
        inserts, fts_gone, fts_rows = [], [], []
        for mid, row in projected:
            prev = old.get(mid)
            if prev is None:
                continue
            changed = tuple(compress(POSITIONS, map(ne, row, prev)))  # the positions that differ, in C
            if not changed:
                continue
            rowid = prev[-1]
            updates.setdefault(changed, []).append((*(row[i] for i in changed), rowid))
            if not FTS_SOURCE_INDEXES.isdisjoint(changed):
                fts_gone.append((rowid,))
                fts_rows.append((rowid, *fts_values(dict(zip(names, row)))))
        for (_, row), key in zip(fresh, keys, strict=True):
            if key in occupied or key in taken:
                key = free_key(self.conn, key, taken)
            taken.add(key)
            inserts.append((key, *row))
            fts_rows.append((key, *fts_values(dict(zip(names, row)))))
        for changed, params in updates.items():
            self.conn.executemany(
                f"UPDATE meldingen SET {', '.join(f'{names[i]} = ?' for i in changed)} WHERE rowid = ?", params
            )
        if fts_gone:
            self.conn.executemany("DELETE FROM meldingen_fts WHERE rowid = ?", fts_gone)
        if inserts:
            self.conn.executemany(
                f"INSERT INTO meldingen (rowid, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})",
                inserts,
            )
        if fts_rows:
            self.conn.executemany(
                "INSERT INTO meldingen_fts (rowid, reference, omschrijving, adres, melder) VALUES (?, ?, ?, ?, ?)",
                fts_rows,
            )
