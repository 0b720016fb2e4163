"""Commands (shared.commands): the only way to make events, and the rules they enforce."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import msgspec
import pytest

from shared.commands import (
    DeviceClock,
    add_note,
    anonymise_reporter,
    change_status,
    delete,
    edit,
    log_callback,
    register,
    restore,
)
from shared.deadlines import AMS, HolidayPolicy, to_local
from shared.enums import EventType, Kanaal, Prioriteit, Status
from shared.errors import TransitionError, ValidationError
from shared.events import MeldingFields, validate_event
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Adres, Melder
from shared.status import NOTE_REQUIRED, TRANSITIONS
from shared.taxonomy import load_taxonomy

REGISTERED = datetime(2026, 4, 24, 8, 15, tzinfo=UTC)  # Friday


class Ticking:
    """A wall clock that moves one second per reading (ms since the epoch)."""

    def __init__(self) -> None:
        self.ms = int(REGISTERED.timestamp() * 1000)

    def __call__(self) -> int:
        self.ms += 1000
        return self.ms


def device(code: str = "K7", user: str = "jan") -> DeviceClock:
    return DeviceClock(device_id=code, user=user, hlc=HLC(clock=Ticking()))


def new_melding(dev: DeviceClock, **fields):
    fields.setdefault("omschrijving", "Boom omgewaaid op het fietspad")
    fields.setdefault("categorie", "groen/boom")
    ev = register(dev, prefix="DLF", counter=142, fields=MeldingFields(**fields), registered_at=REGISTERED)
    return ev, fold([ev])


def test_register_makes_a_valid_created_event_with_reference_norm_and_deadline():
    dev = device()
    ev, m = new_melding(dev, melder=Melder(naam="A. de Vries", telefoon="+31612345678"))
    validate_event(ev)
    assert ev.type == EventType.CREATED
    assert (ev.device_id, ev.device_seq, ev.user) == ("K7", 1, "jan")
    assert dev.seq == 1
    assert m.reference == "DLF-K7-004E"
    assert m.registered_at == REGISTERED
    # groen/boom has a norm of 5 working days: Fri 24 Apr 2026 → Mon 4 May 2026 23:59:59 local.
    assert m.servicenorm == load_taxonomy().get("groen/boom").servicenorm == 5
    assert to_local(m.deadline) == datetime(2026, 5, 4, 23, 59, 59, tzinfo=AMS)


def test_register_uses_the_policy_given():
    dev = device()
    ev = register(
        dev,
        prefix="DLF",
        counter=1,
        fields=MeldingFields(omschrijving="Kolk verstopt", categorie="riolering/verstopping"),
        registered_at=datetime(2025, 5, 1, 10, tzinfo=UTC),
        policy=HolidayPolicy(bevrijdingsdag_vrij=False),
    )
    m = fold([ev])
    assert m.servicenorm == 3
    assert to_local(m.deadline).date().isoformat() == "2025-05-06"  # Fri 2, Mon 5, Tue 6 May


def test_register_without_categorie_has_no_norm():
    ev = register(device(), prefix="DLF", counter=1, fields=MeldingFields(omschrijving="Vraag over afval"))
    m = fold([ev])
    assert m.categorie is None and m.servicenorm is None and m.deadline is None
    assert m.registered_at.utcoffset().total_seconds() == 0


def test_register_refuses_bad_input_without_making_an_event():
    dev = device()
    with pytest.raises(ValidationError) as exc:
        register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving=" \x00 "))
    assert exc.value.field == "omschrijving"
    with pytest.raises(ValidationError) as exc:
        register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="x", categorie="groen/cactus"))
    assert exc.value.field == "categorie"
    with pytest.raises(ValidationError) as exc:
        register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="x" * 4001))
    assert "4000" in exc.value.message
    assert dev.seq == 0  # nothing was numbered


def test_register_cleans_free_text():
    _, m = new_melding(device(), omschrijving="  Boom\x1b[31m om\r\n ", locatie_omschrijving="bij de speeltuin\x00")
    assert m.omschrijving == "Boom[31m om"
    assert m.locatie_omschrijving == "bij de speeltuin"


def test_every_allowed_transition_is_accepted_and_every_other_refused():
    for van in Status:
        for naar in Status:
            dev = device()
            _, m = new_melding(dev)
            m = msgspec.structs.replace(m, status=van)
            if naar in TRANSITIONS[van]:
                ev = change_status(dev, m, naar, "reden")
                assert ev.payload == {"van": van.value, "naar": naar.value, "notitie": "reden", "voor_melder": ""}
            else:
                with pytest.raises(TransitionError) as exc:
                    change_status(dev, m, naar, "reden")
                assert exc.value.field == "status"
                assert van.label in exc.value.message and naar.label in exc.value.message


@pytest.mark.parametrize("naar", [Status.AFGEHANDELD, Status.GEANNULEERD])
def test_closing_needs_a_note(naar):
    dev = device()
    _, m = new_melding(dev)
    for note in ("", "   ", "\x00"):
        with pytest.raises(TransitionError) as exc:
            change_status(dev, m, naar, note)
        assert exc.value.field == "notitie"
        assert "verplicht" in exc.value.message and naar.label in exc.value.message
    assert change_status(dev, m, naar, "Boom verwijderd").payload["notitie"] == "Boom verwijderd"


def test_reopening_needs_a_note_and_the_status_flow_folds():
    dev = device()
    c, m = new_melding(dev)
    events = [c, change_status(dev, m, Status.IN_BEHANDELING)]
    m = fold(events)
    events.append(change_status(dev, m, Status.AFGEHANDELD, "Boom weggehaald"))
    m = fold(events)
    assert not m.is_open
    with pytest.raises(TransitionError):
        change_status(dev, m, Status.HEROPEND)
    events.append(change_status(dev, m, Status.HEROPEND, "Stronk staat er nog"))
    m = fold(events)
    assert m.status is Status.HEROPEND and m.is_open and m.reopen_count == 1
    assert m.conflicts == []
    assert NOTE_REQUIRED == {Status.AFGEHANDELD, Status.GEANNULEERD, Status.HEROPEND}


def test_status_change_carries_the_status_setter_as_prev():
    dev = device()
    c, m = new_melding(dev)
    s1 = change_status(dev, m, Status.IN_BEHANDELING)
    assert s1.prev == c.event_id
    m = fold([c, s1])
    assert change_status(dev, m, Status.INGEPLAND).prev == s1.event_id


def test_edit_emits_nothing_for_unchanged_fields():
    dev = device()
    _, m = new_melding(dev, prioriteit=Prioriteit.HOOG)
    assert edit(dev, m, {"omschrijving": m.omschrijving, "prioriteit": "hoog", "categorie": "groen/boom"}) == []
    assert edit(dev, m, {"omschrijving": "  " + m.omschrijving + "\x00 "}) == []  # same after cleaning
    assert dev.seq == 1


def test_edit_groups_fields_by_their_setter():
    dev = device()
    c, m = new_melding(dev)
    (e1,) = edit(dev, m, {"wijk": "Dalfsen"})
    assert e1.prev is None  # wijk was never set
    m = fold([c, e1])
    events = edit(dev, m, {"wijk": "Nieuwleusen", "omschrijving": "Twee bomen om", "prioriteit": "spoed"})
    by_prev = {e.prev: set(e.payload["fields"]) for e in events}
    # wijk was set by e1; omschrijving by the created event; prioriteit never (still the default).
    # Spoed has its own norm (issue 13), so the norm and deadline the created event set change too.
    assert by_prev == {
        e1.event_id: {"wijk"}, c.event_id: {"omschrijving", "servicenorm", "deadline"}, None: {"prioriteit"}
    }
    m = fold([c, e1, *events])
    assert (m.wijk, m.omschrijving, m.prioriteit) == ("Nieuwleusen", "Twee bomen om", Prioriteit.SPOED)
    assert m.servicenorm == load_taxonomy().get(m.categorie).norm("spoed")
    assert m.conflicts == []


def test_recategorising_fixes_the_new_norm_from_the_registration_date():
    dev = device()
    c, m = new_melding(dev)
    (e,) = edit(dev, m, {"categorie": "riolering/verstopping"})
    assert set(e.payload["fields"]) == {"categorie", "servicenorm", "deadline"}
    m = fold([c, e])
    assert m.servicenorm == 3
    assert to_local(m.deadline).date().isoformat() == "2026-04-30"  # 28, 29, 30 Apr (27 is King's Day)
    (e2,) = edit(dev, m, {"categorie": None})
    m = fold([c, e, e2])
    assert m.categorie is None and m.servicenorm is None and m.deadline is None


def test_edit_refuses_unknown_fields_and_bad_values():
    dev = device()
    _, m = new_melding(dev)
    with pytest.raises(ValidationError) as exc:
        edit(dev, m, {"kleur": "rood"})
    assert exc.value.field == "velden"
    with pytest.raises(ValidationError):
        edit(dev, m, {"prioriteit": "heel hoog"})
    with pytest.raises(ValidationError) as exc:
        edit(dev, m, {"categorie": "groen/cactus"})
    assert exc.value.field == "categorie"
    assert dev.seq == 1


def test_edit_accepts_value_objects():
    dev = device()
    c, m = new_melding(dev)
    adres = Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen")
    (e,) = edit(dev, m, {"adres": adres})
    assert fold([c, e]).adres == adres


def test_concurrent_edits_from_two_laptops_become_a_conflict():
    k7, m2 = device("K7", "jan"), device("M2", "piet")
    c, m = new_melding(k7)
    a = edit(k7, m, {"omschrijving": "Tak op de weg"})
    b = edit(m2, m, {"omschrijving": "Boom op de weg"})
    state = fold([c, *a, *b])
    assert state == fold([c, *b, *a])
    assert len(state.conflicts) == 1
    assert {state.omschrijving, state.conflicts[0].loser_value} == {"Tak op de weg", "Boom op de weg"}


def test_notes_callbacks_delete_restore_anonymise():
    dev = device()
    c, m = new_melding(dev, melder=Melder(naam="A. de Vries", telefoon="+31612345678"))
    with pytest.raises(ValidationError):
        add_note(dev, m, " \x1b ")
    note = add_note(dev, m, "Boom ligt op fietspad", openbaar=True)
    at = datetime(2026, 4, 24, 12, 0, tzinfo=UTC)
    cb = log_callback(dev, m, kanaal=Kanaal.TELEFOON, tekst="Teruggebeld", at=at)
    with pytest.raises(ValidationError):
        log_callback(dev, m, kanaal=Kanaal.TELEFOON, at=datetime(2026, 4, 24, 12, 0))
    d = delete(dev, m, "dubbel")
    events = [c, note, cb, d]
    assert fold(events).deleted
    events.append(restore(dev, fold(events), "toch niet dubbel"))
    events.append(anonymise_reporter(dev, fold(events), "verzoek melder"))
    m = fold(events)
    assert not m.deleted and m.anonymised and not m.melder.reachable and not m.melder.has_details
    assert [n.tekst for n in m.notes] == ["Boom ligt op fietspad"]
    assert [(t.kanaal, t.at) for t in m.terugkoppelingen] == [(Kanaal.TELEFOON, at)]
    for e in events:
        validate_event(e)
    # Device counters: one per event, gap-free, and stamps strictly increasing.
    assert [e.device_seq for e in events] == list(range(1, len(events) + 1))
    assert all(a.hlc < b.hlc for a, b in itertools.pairwise(events))


def test_commands_never_make_an_event_that_replicas_would_skip():
    # Struct constructors do not check types; the command does, before a counter is used.
    dev = device()
    with pytest.raises(ValidationError) as exc:
        register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="x", prioriteit="heel hoog"))
    assert exc.value.field == "velden"
    with pytest.raises(ValidationError):
        register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="x", punt={"lat": 209000, "lon": 1}))
    with pytest.raises(ValidationError) as exc:
        register(
            dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="x"), registered_at=datetime(2026, 4, 24)
        )
    assert exc.value.field == "tijdstip"
    assert dev.seq == 0
    ev = register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="x", prioriteit="hoog"))
    assert fold([ev]).prioriteit is Prioriteit.HOOG
    assert dev.seq == 1


def test_instants_are_stored_in_utc_whatever_zone_comes_in():
    dev = device()
    local_time = datetime(2026, 4, 24, 10, 15, tzinfo=AMS)  # 08:15 UTC
    ev = register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="x"), registered_at=local_time)
    assert ev.payload["registered_at"] == "2026-04-24T08:15:00Z"
    m = fold([ev])
    assert m.registered_at == local_time and m.registered_at.utcoffset().total_seconds() == 0
    cb = log_callback(dev, m, kanaal=Kanaal.TELEFOON, at=datetime(2026, 4, 25, 9, 0, tzinfo=AMS))
    assert cb.payload["at"] == "2026-04-25T07:00:00Z"


# -- the municipality configuration decides the norm once (issue 13) ------------------------------


def _configuration_with(**subs: dict) -> None:
    """Activate the package default with some sub-categories of ``groen`` changed."""
    from shared.gemeente import activate, package_default

    cfg = package_default()
    groen = cfg.taxonomy["groen"]
    changed = {k: msgspec.structs.replace(v, **subs.get(k, {})) for k, v in groen.sub.items()}
    taxonomy = {**cfg.taxonomy, "groen": msgspec.structs.replace(groen, sub=changed)}
    activate(msgspec.structs.replace(cfg, version=2, taxonomy=taxonomy))


def test_spoed_gets_the_categorie_s_spoed_norm():
    dev = device()
    _, m = new_melding(dev, prioriteit=Prioriteit.SPOED)
    assert m.servicenorm == 0  # groen/boom: the same day
    assert to_local(m.deadline).date() == to_local(REGISTERED).date()
    _, normal = new_melding(dev)
    assert normal.servicenorm == 5


def test_a_norm_change_never_rewrites_an_existing_melding():
    dev = device()
    c, m = new_melding(dev)
    assert m.servicenorm == 5
    _configuration_with(boom={"servicenorm": 8, "belofte": "Binnen 8 werkdagen."})
    # The whole form sent back with one field changed: the norm stays the one fixed at registration.
    events = edit(dev, m, {"omschrijving": "Grote tak", "categorie": "groen/boom", "prioriteit": "normaal"})
    assert [set(e.payload["fields"]) for e in events] == [{"omschrijving"}]
    assert fold([c, *events]).servicenorm == 5
    _, later = new_melding(dev)
    assert later.servicenorm == 8


def test_a_retired_categorie_stays_on_old_meldingen_but_cannot_be_chosen():
    dev = device()
    c, m = new_melding(dev)
    _configuration_with(boom={"vervallen": True})
    with pytest.raises(ValidationError, match="vervallen"):
        new_melding(dev)
    (e,) = edit(dev, m, {"omschrijving": "Nog steeds een boom", "categorie": "groen/boom"})
    m2 = fold([c, e])
    assert (m2.categorie, m2.servicenorm) == ("groen/boom", 5)
    with pytest.raises(ValidationError, match="vervallen"):
        edit(dev, fold([c, *edit(dev, m, {"categorie": "groen/plantsoen"})]), {"categorie": "groen/boom"})
