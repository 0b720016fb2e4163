"""The laptop store's part of personal data (issue 16, ``shared.avg``): erased meldingen's events
rewritten, refused and unsent copies forgotten, and the file's free space cleaned (docs/privacy.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from shared.avg import erasure_of, personal_values, scrub_event
from wijkteam_store.codec import EVENT_SELECT, event_from_row, json_encode
from wijkteam_store.errors import StoreError
from wijkteam_store.local.core import StoreCore


class ErasureMixin(StoreCore):
    """Erasure of personal data in the laptop file."""

    # -- personal data (issue 16) --------------------------------------------------------------------

    def _erase_local(self, melding_ids: Iterable[str]) -> list[str]:
        """Rewrite the stored events (and refused ones) of erased meldingen among ``melding_ids`` with
        ``shared.avg.scrub_event``, in the caller's transaction, and have :meth:`secure_cleanup` run
        after its commit. The values erased from texts are every melder value this laptop holds for
        the melding. Returns the meldingen that are erased (the caller refolds them)."""
        cols = EVENT_SELECT
        done: list[str] = []
        for mid in sorted(set(melding_ids)):
            evs = [event_from_row(r) for r in self.conn.execute(f"SELECT {cols} FROM events WHERE melding_id = ?", (mid,))]
            refused = [event_from_row(r) for r in self.conn.execute(f"SELECT {cols} FROM refused WHERE melding_id = ?", (mid,))]
            kind = erasure_of(evs)
            if kind is None:
                continue
            values = personal_values(evs + refused)
            for table, items in (("events", evs), ("refused", refused)):
                rows = []
                for e in items:
                    scrubbed = scrub_event(e, kind, values)
                    if scrubbed is not e:
                        rows.append((json_encode(scrubbed.payload).decode(), e.event_id))
                self.conn.executemany(f"UPDATE {table} SET payload = ? WHERE event_id = ?", rows)
            done.append(mid)
        if done:
            self._cleanup_due = True
        return done

    def secure_cleanup(self) -> bool:
        """After an erasure (issue 16): merge the full-text index into one segment (FTS5 ``optimize``;
        a rewritten row otherwise leaves its old tokens in older segments) and copy the WAL into the
        file and truncate it (``wal_checkpoint(TRUNCATE)``). With ``secure_delete`` freed pages are
        zeros. Runs by itself after the transaction that erased. Returns False when another
        connection kept the checkpoint from finishing (the last connection to close checkpoints and
        removes the WAL anyway)."""
        try:
            with self.transaction():
                self.conn.execute("INSERT INTO meldingen_fts (meldingen_fts) VALUES ('optimize')")
            busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except (sqlite3.Error, StoreError):
            return False
        return busy == 0






