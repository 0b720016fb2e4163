"""What a sync round changed that the user must see (issue 14 §3), worked out in the sync worker.

* the meldingen it touched, so the screen showing one of them refreshes;
* changes made on this laptop that lost a concurrent-edit conflict to a change the round brought
  (``shared.fold.lost_edits``): the user is told which melding and which value won;
* meldingen registered on another laptop that may be the same problem as one already here (same
  categorie, ≤ 50 m, within a day: ``shared.nearby.possible_duplicates``): flagged on both laptops
  after each has synced, never merged;
* meldingen the round gave to this laptop's user (an ``assigned`` event from elsewhere — a colleague,
  Open311 intake on the server — and they are now the behandelaar): the user hears of the new work
  in their werkvoorraad (issue 14 §1).
"""

from __future__ import annotations

import msgspec

from shared.enums import EventType
from shared.fold import LostEdit, lost_edits
from wijkteam_store.local import LocalStore

#: A round that brought more new meldingen than this (a first sync) is not searched for possible
#: duplicates one by one; the detail screen still shows them for each melding.
MAX_DUPLICATE_CHECKS = 1000


class PossibleDuplicate(msgspec.Struct, frozen=True):
    """A melding that came in with the round (``new``) and one that may be the same problem."""

    new: str
    new_id: str
    other: str
    afstand_m: float


class SyncEffects(msgspec.Struct, frozen=True):
    """See the module docstring."""

    touched: frozenset[str] = frozenset()
    lost: tuple[LostEdit, ...] = ()
    duplicates: tuple[PossibleDuplicate, ...] = ()
    #: References of the meldingen assigned to ``me`` by the round (open ones, oldest deadline first).
    assigned_to_me: tuple[str, ...] = ()


def sync_effects(store: LocalStore, mark: int, me: str | None = None) -> SyncEffects:
    """What the events stored after ``mark`` (``LocalStore.events_mark`` before the round) changed.

    Reads only: the touched meldingen with a conflict are folded (with history), new ones from other
    laptops are checked for possible duplicates (one index query each, at most
    :data:`MAX_DUPLICATE_CHECKS`); with ``me`` (this laptop's user name), the open meldingen the
    round assigned to ``me`` are listed (one query)."""
    pulled = store.pulled_since(mark)
    if not pulled:
        return SyncEffects()
    own = store.device_code()
    lost: list[LostEdit] = []
    if own:
        for mid in store.with_conflicts(pulled):
            m = store.get(mid)
            if m is not None:
                lost += lost_edits(m, own, {eid for eid, _kind in pulled[mid]})
    created = [mid for mid, evs in pulled.items() if any(kind == EventType.CREATED for _eid, kind in evs)]
    duplicates: list[PossibleDuplicate] = []
    if len(created) <= MAX_DUPLICATE_CHECKS:
        for mid in created:
            for hit in store.possible_duplicates(mid):
                ref = store.conn.execute("SELECT reference FROM meldingen WHERE melding_id = ?", (mid,)).fetchone()
                if ref:
                    duplicates.append(PossibleDuplicate(ref[0], mid, hit.reference, hit.afstand_m))
    assigned = [mid for mid, evs in pulled.items() if any(kind == EventType.ASSIGNED for _eid, kind in evs)]
    mine = tuple(store.assigned_to(me, assigned)) if me and assigned else ()
    return SyncEffects(frozenset(pulled), tuple(lost), tuple(duplicates), mine)
