"""fold(events) -> Melding (shared.fold): order independence, union, LWW, conflicts, tombstones."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.enums import EventType, Kanaal, Prioriteit, Status
from shared.errors import InvalidEvent
from shared.events import (
    CallbackLoggedPayload,
    CreatedPayload,
    Event,
    FieldsChangedPayload,
    MeldingFields,
    NoteAddedPayload,
    ReasonPayload,
    StatusChangedPayload,
    decode_event,
    encode_event,
    to_payload,
    validate_event,
)
from shared.fold import conflict_notes, fold, ordered
from shared.hlc import pack
from shared.model import Adres, Melder

T0 = int(datetime(2026, 4, 24, 8, 0, tzinfo=UTC).timestamp() * 1000)
REGISTERED = datetime(2026, 4, 24, 8, 0, tzinfo=UTC)
MELDER = Melder(naam="A. de Vries", telefoon="+31612345678", email="a.devries@voorbeeld.nl")
MID = "melding-1"


def ev(
    event_id: str,
    type_: EventType | str,
    payload: msgspec.Struct | dict[str, Any],
    *,
    t: int = 0,
    dev: str = "K7",
    prev: str | None = None,
    user: str = "jan",
    schema: int = 1,
) -> Event:
    """An event at wall time T0 + t seconds (same t on two devices: a tie broken by device_id)."""
    return Event(
        event_id=event_id,
        melding_id=MID,
        device_id=dev,
        device_seq=1,
        hlc=pack(T0 + t * 1000),
        type=str(type_),
        payload=payload if isinstance(payload, dict) else to_payload(payload),
        user=user,
        prev=prev,
        schema=schema,
    )


def created(event_id: str = "c", *, t: int = 0, dev: str = "K7", **fields: Any) -> Event:
    fields.setdefault("omschrijving", "Lantaarnpaal brandt niet")
    payload = CreatedPayload(reference=f"DLF-{dev}-0001", registered_at=REGISTERED, fields=MeldingFields(**fields))
    return ev(event_id, EventType.CREATED, payload, t=t, dev=dev)


def changed(event_id: str, prev: str | None, *, t: int, dev: str = "K7", **fields: Any) -> Event:
    payload = FieldsChangedPayload(fields=MeldingFields(**fields))
    return ev(event_id, EventType.FIELDS_CHANGED, payload, t=t, dev=dev, prev=prev)


def status(
    event_id: str, van: Status, naar: Status, prev: str | None, *, t: int, dev: str = "K7", notitie: str = ""
) -> Event:
    payload = StatusChangedPayload(van=van, naar=naar, notitie=notitie)
    return ev(event_id, EventType.STATUS_CHANGED, payload, t=t, dev=dev, prev=prev)


def builtins(events) -> Any:
    return msgspec.to_builtins(fold(events))


# --- existence ---------------------------------------------------------------------------------


def test_without_a_created_event_there_is_no_melding():
    assert fold([]) is None
    assert fold([changed("e1", "c", t=1, omschrijving="x")]) is None
    # A created event that does not decode does not count either.
    broken = ev("c", EventType.CREATED, {"reference": "DLF-K7-0001"})
    assert fold([broken, changed("e1", "c", t=1, omschrijving="x")]) is None


def test_created_sets_the_initial_state():
    m = fold([created(melder=MELDER, prioriteit=Prioriteit.HOOG)])
    assert m is not None
    assert (m.melding_id, m.reference, m.registered_at, m.registered_by, m.device_id) == (
        MID,
        "DLF-K7-0001",
        REGISTERED,
        "jan",
        "K7",
    )
    assert m.omschrijving == "Lantaarnpaal brandt niet"
    assert m.melder == MELDER
    assert m.prioriteit is Prioriteit.HOOG
    assert m.status is Status.GEMELD
    assert m.field_setters["omschrijving"] == m.field_setters["status"] == "c"
    assert m.event_count == 1 and len(m.history) == 1 and not m.conflicts


def test_a_second_created_event_is_kept_in_history_but_changes_nothing():
    other = created("c2", t=5, dev="M2", omschrijving="Andere tekst")
    m = fold([created(), other])
    assert m.omschrijving == "Lantaarnpaal brandt niet"
    assert m.reference == "DLF-K7-0001"
    assert [h.event_id for h in m.history] == ["c", "c2"]
    assert m.history[1].summary == "Dubbele registratie genegeerd"


# --- plain fields ------------------------------------------------------------------------------


def test_last_writer_wins_per_field_for_sequential_edits():
    events = [
        created(),
        changed("e1", "c", t=1, omschrijving="eerste"),
        changed("e2", "e1", t=2, omschrijving="tweede"),
    ]
    m = fold(events)
    assert m.omschrijving == "tweede"
    assert m.field_setters["omschrijving"] == "e2"
    assert m.conflicts == []


def test_concurrent_edits_of_one_field_flag_a_conflict_and_keep_the_loser():
    a = changed("e-a", "c", t=10, dev="K7", omschrijving="van laptop K7")
    b = changed("e-b", "c", t=20, dev="M2", omschrijving="van laptop M2")
    results = [builtins(p) for p in itertools.permutations([created(), a, b])]
    assert all(r == results[0] for r in results)
    m = fold([created(), b, a])
    assert m.omschrijving == "van laptop M2"  # later hlc wins
    (conflict,) = m.conflicts
    assert (conflict.field, conflict.winner_event, conflict.loser_event) == ("omschrijving", "e-b", "e-a")
    assert conflict.loser_value == "van laptop K7"
    # The losing value also stays visible in the history.
    assert {"omschrijving": "van laptop K7"} == next(h.details["fields"] for h in m.history if h.event_id == "e-a")
    # ... and detail views say so next to the line that wrote it.
    assert conflict_notes(m) == {
        "e-a": "omschrijving overschreven door een gelijktijdige wijziging; was: «van laptop K7»"
    }


def test_same_hlc_tie_is_broken_by_device_id_everywhere():
    a = changed("e-a", "c", t=10, dev="M2", omschrijving="M2")
    b = changed("e-b", "c", t=10, dev="K7", omschrijving="K7")
    for order in itertools.permutations([created(), a, b]):
        m = fold(order)
        assert m.omschrijving == "M2"  # "K7" < "M2": M2's write comes last
        assert [c.loser_value for c in m.conflicts] == ["K7"]


def test_a_later_edit_that_saw_the_winner_settles_the_conflict():
    a = changed("e-a", "c", t=10, dev="K7", omschrijving="K7")
    b = changed("e-b", "c", t=20, dev="M2", omschrijving="M2")
    settle = changed("e-c", "e-b", t=30, dev="K7", omschrijving="samengevoegd")
    m = fold([created(), a, b, settle])
    assert m.omschrijving == "samengevoegd"
    assert m.conflicts == []


def test_edits_of_different_fields_on_two_devices_both_survive():
    a = changed("e-a", "c", t=10, dev="K7", omschrijving="nieuwe omschrijving")
    b = changed("e-b", None, t=10, dev="M2", wijk="Nieuwleusen", prioriteit=Prioriteit.SPOED)
    for order in itertools.permutations([created(), a, b]):
        m = fold(order)
        assert (m.omschrijving, m.wijk, m.prioriteit) == ("nieuwe omschrijving", "Nieuwleusen", Prioriteit.SPOED)
        assert m.conflicts == []


def test_status_is_last_writer_wins_with_conflicts_too():
    a = status("s-a", Status.GEMELD, Status.IN_BEHANDELING, "c", t=10, dev="K7")
    b = status("s-b", Status.GEMELD, Status.AFGEHANDELD, "c", t=11, dev="M2", notitie="Lamp vervangen")
    m = fold([b, a, created()])
    assert m.status is Status.AFGEHANDELD
    assert [(c.field, c.loser_value) for c in m.conflicts] == [("status", "in_behandeling")]
    assert m.closed_at is not None and m.first_closed_at == m.closed_at


def test_closing_reopening_and_closing_again():
    events = [
        created(),
        status("s1", Status.GEMELD, Status.AFGEHANDELD, "c", t=10, notitie="klaar"),
        status("s2", Status.AFGEHANDELD, Status.HEROPEND, "s1", t=20, notitie="lamp weer stuk"),
        status("s3", Status.HEROPEND, Status.AFGEHANDELD, "s2", t=30, notitie="nu echt klaar"),
    ]
    m = fold(events)
    assert m.status is Status.AFGEHANDELD
    assert m.reopen_count == 1
    assert m.first_closed_at == datetime.fromtimestamp((T0 + 10_000) / 1000, tz=UTC)
    assert m.closed_at == datetime.fromtimestamp((T0 + 30_000) / 1000, tz=UTC)
    assert [n.tekst for n in m.notes] == ["klaar", "lamp weer stuk", "nu echt klaar"]
    assert m.public_note() == "nu echt klaar"
    m2 = fold(events[:3])
    assert m2.is_open and m2.closed_at is None and m2.first_closed_at is not None


# --- unions --------------------------------------------------------------------------------------


def test_history_notes_and_callbacks_are_a_union():
    at = datetime(2026, 4, 25, 9, 0, tzinfo=UTC)
    n1 = ev("n1", EventType.NOTE_ADDED, NoteAddedPayload(tekst="K7 was er", openbaar=False), t=10, dev="K7")
    n2 = ev("n2", EventType.NOTE_ADDED, NoteAddedPayload(tekst="M2 ook", openbaar=True), t=10, dev="M2")
    cb = ev("cb", EventType.CALLBACK_LOGGED, CallbackLoggedPayload(kanaal=Kanaal.TELEFOON, at=at, tekst="gebeld"), t=5)
    for order in itertools.permutations([created(), n1, n2, cb]):
        m = fold(order)
        assert [n.tekst for n in m.notes] == ["K7 was er", "M2 ook"]
        assert [t.kanaal for t in m.terugkoppelingen] == [Kanaal.TELEFOON]
        assert m.terugkoppelingen[0].at == at
        assert [h.event_id for h in m.history] == ["c", "cb", "n1", "n2"]
        assert m.public_note() == "M2 ook"
        assert m.conflicts == []


def test_duplicates_count_once():
    n1 = ev("n1", EventType.NOTE_ADDED, NoteAddedPayload(tekst="een keer"), t=10)
    m = fold([created(), n1, n1, created(), n1])
    assert [n.tekst for n in m.notes] == ["een keer"]
    assert m.event_count == 2
    assert len(ordered([n1, n1, created()])) == 2


# --- tombstones ----------------------------------------------------------------------------------


def test_delete_is_a_tombstone_and_a_stale_edit_is_kept_but_flagged():
    deleted = ev("d", EventType.DELETED, ReasonPayload(reden="dubbel"), t=10, dev="K7")
    stale = changed("e-m2", "c", t=20, dev="M2", omschrijving="bijgewerkt op M2")  # did not see the delete
    stale_status = status("s-m2", Status.GEMELD, Status.IN_BEHANDELING, "c", t=21, dev="M2")
    for order in itertools.permutations([created(), deleted, stale, stale_status]):
        m = fold(order)
        assert m.deleted is True
        assert m.omschrijving == "bijgewerkt op M2"  # nothing typed is lost
        flagged = [c for c in m.conflicts if c.field == "_deleted"]
        assert [(c.winner_event, c.loser_event) for c in flagged] == [("d", "e-m2"), ("d", "s-m2")]


def test_an_edit_before_the_delete_is_not_flagged():
    m = fold([created(), changed("e1", "c", t=5, omschrijving="x"), ev("d", EventType.DELETED, ReasonPayload(), t=10)])
    assert m.deleted and m.conflicts == []


def test_only_restored_revives():
    deleted = ev("d", EventType.DELETED, ReasonPayload(reden="per ongeluk"), t=10)
    restored = ev("r", EventType.RESTORED, ReasonPayload(reden="toch nodig"), t=20)
    m = fold([created(), deleted, restored])
    assert m.deleted is False
    assert fold([created(), deleted, status("s", Status.GEMELD, Status.HEROPEND, "c", t=30, notitie="x")]).deleted
    # Deleted again after the restore: deleted.
    again = ev("d2", EventType.DELETED, ReasonPayload(), t=30)
    assert fold([created(), deleted, restored, again]).deleted is True
    # A restore ordered before the delete does not undo it.
    early_restore = ev("r0", EventType.RESTORED, ReasonPayload(), t=5)
    assert fold([created(), early_restore, deleted]).deleted is True


# --- anonymisation -------------------------------------------------------------------------------


def test_anonymise_scrubs_the_melder_from_state_history_and_conflicts():
    other = Melder(naam="B. Bakker", telefoon="+31529456789")
    events = [
        created(melder=MELDER),
        changed("e-a", "c", t=10, dev="K7", melder=other),
        changed("e-b", "c", t=11, dev="M2", melder=Melder(naam="C. Smit", email="c.smit@voorbeeld.nl")),
        ev("x", EventType.REPORTER_ANONYMISED, ReasonPayload(reden="AVG-verzoek"), t=20),
    ]
    m = fold(events)
    assert m.anonymised is True
    # Erased, but the barometer's "left contact details" stays (past figures do not change).
    assert m.melder == Melder(gewist=True, met_contact=True)
    assert m.melder.has_contact and not m.melder.reachable and not m.melder.has_details
    assert m.anonymised_at is not None
    text = msgspec.json.encode(m).decode()
    for personal in ("Vries", "+31612345678", "a.devries", "Bakker", "+31529456789", "Smit", "c.smit"):
        assert personal not in text, personal
    # The rest of the melding is untouched.
    assert m.omschrijving == "Lantaarnpaal brandt niet"
    assert [h.event_id for h in m.history] == ["c", "e-a", "e-b", "x"]
    # Before the anonymisation the data was there (the test above is not vacuous).
    assert "+31612345678" in msgspec.json.encode(fold(events[:3])).decode()


# --- invalid events ------------------------------------------------------------------------------


def test_invalid_events_are_skipped():
    good = ev("n1", EventType.NOTE_ADDED, NoteAddedPayload(tekst="goed"), t=10)
    bad = [
        ev("b1", "exploded", {"tekst": "?"}, t=11),
        ev("b2", EventType.NOTE_ADDED, {"tekst": 42}, t=12),
        ev("b3", EventType.FIELDS_CHANGED, {"fields": {"prioriteit": "heel hoog"}}, t=13, prev="c"),
        ev("b4", EventType.NOTE_ADDED, {"tekst": "uit de toekomst"}, t=14, schema=99),
        ev("b5", EventType.FIELDS_CHANGED, {"fields": {"onbekend_veld": 1}}, t=15, prev="c"),
        ev("b6", EventType.STATUS_CHANGED, {"van": "gemeld", "naar": "weg"}, t=16, prev="c"),
    ]
    m = fold([created(), good, *bad])
    assert [n.tekst for n in m.notes] == ["goed"]
    assert m.prioriteit is Prioriteit.NORMAAL
    assert m.status is Status.GEMELD
    assert m.event_count == 2
    assert [h.event_id for h in m.history] == ["c", "n1"]


# --- order independence (hypothesis) -------------------------------------------------------------

DEVICES = ("00", "K7", "M2")
FIELD_VALUES: dict[str, list[Any]] = {
    "omschrijving": ["a", "b", "c"],
    "wijk": [None, "Dalfsen", "Nieuwleusen"],
    "prioriteit": list(Prioriteit),
    "melder": [None, MELDER, Melder(naam="B", telefoon="+31529456789")],
    "adres": [None, Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen")],
}


@st.composite
def event_logs(draw) -> list[Event]:
    n = draw(st.integers(min_value=0, max_value=14))
    events = [created("e00", t=draw(st.integers(0, 3)), dev=draw(st.sampled_from(DEVICES)), melder=MELDER)]
    for i in range(1, n + 1):
        eid = f"e{i:02d}"
        t = draw(st.integers(0, 12))  # a small range makes equal hlc stamps (ties) likely
        dev = draw(st.sampled_from(DEVICES))
        prev = draw(st.sampled_from([None] + [e.event_id for e in events]))
        kind = draw(
            st.sampled_from(
                ["fields", "fields", "status", "note", "callback", "deleted", "restored", "anon", "created", "bad"]
            )
        )
        if kind == "fields":
            names = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), min_size=1, max_size=3, unique=True))
            values = {name: draw(st.sampled_from(FIELD_VALUES[name])) for name in names}
            events.append(changed(eid, prev, t=t, dev=dev, **values))
        elif kind == "status":
            van, naar = draw(st.sampled_from(list(Status))), draw(st.sampled_from(list(Status)))
            events.append(status(eid, van, naar, prev, t=t, dev=dev, notitie=draw(st.sampled_from(["", "reden"]))))
        elif kind == "note":
            payload = NoteAddedPayload(tekst=f"notitie {i}", openbaar=draw(st.booleans()))
            events.append(ev(eid, EventType.NOTE_ADDED, payload, t=t, dev=dev))
        elif kind == "callback":
            payload = CallbackLoggedPayload(kanaal=Kanaal.TELEFOON, at=REGISTERED, bereikt=draw(st.booleans()))
            events.append(ev(eid, EventType.CALLBACK_LOGGED, payload, t=t, dev=dev))
        elif kind in ("deleted", "restored", "anon"):
            type_ = {
                "deleted": EventType.DELETED,
                "restored": EventType.RESTORED,
                "anon": EventType.REPORTER_ANONYMISED,
            }[kind]
            events.append(ev(eid, type_, ReasonPayload(), t=t, dev=dev))
        elif kind == "created":
            events.append(created(eid, t=t, dev=dev, omschrijving="tweede registratie"))
        else:
            events.append(ev(eid, EventType.NOTE_ADDED, {"tekst": None}, t=t, dev=dev))
    return events


@given(data=st.data(), events=event_logs())
@settings(max_examples=150, deadline=None)
def test_any_permutation_and_duplication_gives_the_same_melding(data, events):
    expected = builtins(events)
    assert expected is not None
    shuffled = data.draw(st.permutations(events))
    extra = data.draw(st.lists(st.sampled_from(events), max_size=6))
    mixed = data.draw(st.permutations(shuffled + extra))
    assert builtins(mixed) == expected


@given(events=event_logs())
@settings(max_examples=100, deadline=None)
def test_fold_invariants(events):
    m = fold(events)
    valid = [e for e in events if not (e.type == EventType.NOTE_ADDED and e.payload.get("tekst") is None)]
    # Every valid event is in the history, once, in fold order.
    assert [h.event_id for h in m.history] == [e.event_id for e in ordered(valid)]
    assert m.event_count == len(valid)
    assert m.updated_hlc == max(e.hlc for e in valid)
    # Every field setter is an event that really set that field.
    by_id = {e.event_id: e for e in valid}
    for name, eid in m.field_setters.items():
        if name.startswith("_"):
            continue
        e = by_id[eid]
        if e.type == EventType.STATUS_CHANGED:
            assert name == "status"
        elif e.type == EventType.CREATED:
            assert name == "status" or name in e.payload["fields"]
        else:
            assert name in e.payload["fields"]
    if m.anonymised:
        assert "+31612345678" not in msgspec.json.encode(m).decode()


def test_anonymisation_is_final_even_against_a_stale_edit():
    anon = ev("x", EventType.REPORTER_ANONYMISED, ReasonPayload(), t=10, dev="K7")
    stale = changed("e-m2", "c", t=20, dev="M2", melder=Melder(naam="B. Bakker", telefoon="+31529456789"))
    for order in itertools.permutations([created(melder=MELDER), anon, stale]):
        m = fold(order)
        assert m.melder == Melder(gewist=True, met_contact=True)
        assert "Bakker" not in msgspec.json.encode(m).decode()


# --- the event envelope --------------------------------------------------------------------------


def test_events_round_trip_through_json():
    e = changed("e1", "c", t=3, dev="M2", adres=FIELD_VALUES["adres"][1], prioriteit=Prioriteit.HOOG)
    back = decode_event(encode_event(e))
    assert back == e
    assert fold([created(), back]) == fold([created(), e])


def test_validate_event_names_what_is_wrong():
    validate_event(created())
    cases = {
        "required": msgspec.structs.replace(created(), event_id=""),
        "positive": msgspec.structs.replace(created(), device_seq=0),
        "positive ": msgspec.structs.replace(created(), hlc=0),
        "unknown event type": ev("x", "exploded", {}),
        "newer": ev("x", EventType.NOTE_ADDED, {"tekst": "x"}, schema=99),
        "tekst": ev("x", EventType.NOTE_ADDED, {}),
        # Instants in payloads must carry their zone.
        "registered_at": ev(
            "x", EventType.CREATED, {"reference": "DLF-K7-0001", "registered_at": "2026-04-24T08:00:00", "fields": {}}
        ),
        "lat": changed("x", "c", t=1, punt={"lat": 209000.0, "lon": 505000.0}),
    }
    for needle, bad in cases.items():
        with pytest.raises(InvalidEvent) as exc:
            validate_event(bad)
        assert needle.strip() in exc.value.reason, (needle, exc.value.reason)
