"""A laptop reinstalled with the same device code must not hand out a reference that already exists."""

from __future__ import annotations

from shared.enums import Kanaal, MeldingType, VierB
from shared.events import MeldingFields
from shared.reference import counter_of
from wijkteam_store.local import LocalStore


def _fields(text: str) -> MeldingFields:
    return MeldingFields(
        kanaal=Kanaal.TELEFOON,
        type=MeldingType.VRAAG,
        categorie="groen/boom",
        vier_b=VierB.BETROKKENHEID,
        omschrijving=text,
    )


def test_pulled_own_device_events_move_the_counters_on(tmp_path):
    old = LocalStore(tmp_path / "old.sqlite")
    new = LocalStore(tmp_path / "new.sqlite")
    for store in (old, new):
        store.set_device_code("01")
    made = [old.register(old.device_clock("jan"), prefix="DLF", fields=_fields(f"melding {i}")) for i in range(3)]
    events = [e for m in made for e in old.events_of(m.melding_id)]
    new.apply_remote(events, next_after=len(events))

    fresh = new.register(new.device_clock("jan"), prefix="DLF", fields=_fields("na herinstallatie"))
    assert fresh.reference not in {m.reference for m in made}
    assert counter_of(fresh.reference) == max(counter_of(m.reference) for m in made) + 1
    # the event counter moved on too, so (device_id, device_seq) stays unique
    seqs = {e.device_seq for e in events}
    assert all(e.device_seq not in seqs for e in new.events_of(fresh.melding_id))
