"""``shared.avg``: what an erasure does to a melding's events, when retention makes one due, who may
delete (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from shared import commands
from shared.avg import (
    ANONYMISED_TEXT,
    REMOVED_TEXT,
    Erasure,
    PersonalValues,
    may_push,
    melder_matches,
    mentions,
    person,
    personal_values,
    retention_due,
    scrub_event,
    scrub_text,
    years_later,
)
from shared.enums import EventType, Kanaal, Role, Status
from shared.errors import ValidationError
from shared.events import MeldingFields, validate_event
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Adres, Melder, Punt
from shared.projection import projection_row

VALUES = PersonalValues(frozenset({"Anna de Vries-Bakker"}), frozenset({"+31612345678"}), frozenset({"a.devries@voorbeeld.nl"}))


@pytest.mark.parametrize(
    "written",
    ["06-12345678", "06 1234 5678", "06-12 34 56 78", "+31 6 12345678", "+31 (0)6 12345678", "0031612345678", "0612345678"],
)
def test_a_phone_number_is_found_however_it_is_written(written: str) -> None:
    assert scrub_text(f"bel {written} terug", VALUES) == f"bel {ANONYMISED_TEXT} terug"
    assert mentions(f"bel {written} terug", VALUES)


def test_other_numbers_names_and_street_names_stay() -> None:
    text = "Lamp bij De Vriesstraat 12, bel 06-12345679; postcode 7721AB; mevrouw Jansen"
    assert scrub_text(text, VALUES) == text


def test_name_words_email_and_full_name_go() -> None:
    text = "Mw. Anna de Vries-Bakker (A.DEVRIES@voorbeeld.nl) belde; mevrouw de vries en meneer Bakker ook"
    out = scrub_text(text, VALUES)
    assert "Vries" not in out and "vries" not in out and "Bakker" not in out and "voorbeeld" not in out
    assert out.startswith("Mw. [geanonimiseerd]") and "mevrouw de [geanonimiseerd]" in out


def _events() -> list:
    clock = iter(range(1_700_000_000_000, 1_800_000_000_000, 60_000))
    dev = commands.DeviceClock("K7", "jan", hlc=HLC(0, lambda: next(clock)))
    melder = Melder(naam="Anna de Vries-Bakker", telefoon="+31612345678", email="a.devries@voorbeeld.nl")
    created = commands.register(
        dev, prefix="DLF", counter=1,
        fields=MeldingFields(omschrijving="Boom; Anna belt 06-12345678", melder=melder, categorie="groen/boom",
                             adres=Adres(straat="Kerkstraat", huisnummer=12, postcode="7721AB", woonplaats="Dalfsen"),
                             punt=Punt(52.5101234, 6.2601234), locatie_omschrijving="bij de kerk"),
    )  # fmt: skip
    m = fold([created])
    note = commands.add_note(dev, m, "Anna de Vries-Bakker nogmaals gebeld")
    other = commands.edit(dev, m, {"melder": Melder(naam="A. Bakker", telefoon="+31687654321")})
    extra = commands.add_melder(dev, m, kanaal=Kanaal.TELEFOON, melder=Melder(naam="Piet Smit", telefoon="+31611111111"),
                                omschrijving="Piet Smit zag het ook")  # fmt: skip
    cb = commands.log_callback(dev, m, kanaal=Kanaal.TELEFOON, tekst="Gesproken met Anna")
    closed = commands.change_status(dev, m, Status.AFGEHANDELD, "klaar", voor_melder="Beste Anna, opgelost")
    return [created, note, *other, extra, cb, closed]


def test_anonymised_events_keep_their_shape_and_lose_every_value() -> None:
    events = _events()
    values = personal_values(events)
    assert values.phones == {"+31612345678", "+31687654321", "+31611111111"}
    anonymised = [scrub_event(e, Erasure.ANONYMISED, values) for e in events]
    text = msgspec.json.encode(anonymised).decode()
    for personal in ("Vries", "Bakker", "Anna", "Smit", "612345678", "687654321", "611111111", "voorbeeld"):
        assert personal not in text, personal
    for before, after in zip(events, anonymised, strict=True):
        assert (before.event_id, before.type, before.hlc, before.prev) == (after.event_id, after.type, after.hlc, after.prev)
        assert before.payload.keys() == after.payload.keys()
        validate_event(after)
    # Idempotent, and the description keeps what is not personal.
    assert [scrub_event(e, Erasure.ANONYMISED, values) for e in anonymised] == anonymised
    assert anonymised[0].payload["fields"]["omschrijving"] == f"Boom; {ANONYMISED_TEXT} belt {ANONYMISED_TEXT}"
    # Folded, the figures' inputs are the same as before (contact left, location, call-back).
    a, b = projection_row(fold(events)), projection_row(fold(anonymised))
    for col in ("has_contact", "straat", "postcode", "lat", "callback_count", "first_closed_at", "deadline", "melder_count"):
        assert a[col] == b[col], col


def test_purged_events_keep_only_the_statistics() -> None:
    events = _events()
    purged = [scrub_event(e, Erasure.PURGED, personal_values(events)) for e in events]
    text = msgspec.json.encode(purged).decode()
    for gone in ("Boom", "Kerkstraat", "7721AB", "kerk", "nogmaals", "opgelost", "Gesproken", "52.5101234", "zag het"):
        assert gone not in text, gone
    a, b = projection_row(fold(events)), projection_row(fold(purged))
    assert b["omschrijving"] == REMOVED_TEXT and b["straat"] == REMOVED_TEXT and b["postcode"] is None
    assert (b["lat"], b["lon"]) == (52.51, 6.26)
    for col in ("has_contact", "categorie", "wijk", "kanaal", "servicenorm", "deadline", "first_closed_at",
                "callback_count", "first_callback_at", "status_timeline", "conflict_count", "melder_count"):  # fmt: skip
        assert a[col] == b[col], col


def test_a_late_melder_after_the_erasure_is_scrubbed_by_the_fold() -> None:
    events = _events()
    m = fold(events)
    assert m is not None
    clock = iter(range(1_900_000_000_000, 1_990_000_000_000, 60_000))
    dev = commands.DeviceClock("M2", "piet", hlc=HLC(0, lambda: next(clock)))
    anon = commands.anonymise_reporter(dev, m)
    late = commands.edit(dev, m, {"melder": Melder(naam="Zwanenburg", email="z@voorbeeld.nl")})
    folded = fold([*events, anon, *late])
    assert folded is not None and folded.anonymised_at is not None
    assert "Zwanenburg" not in msgspec.json.encode(folded).decode()


@dataclass
class Policy:
    anonimiseren_na_dagen: int = 365
    verwijderen_na_jaren: dict[Status, int] = field(default_factory=lambda: {Status.GEANNULEERD: 1, Status.AFGEHANDELD: 5})


def _row(mid: str, status: str, closed: datetime | None, **kw: object) -> dict[str, object]:
    row = {
        "melding_id": mid, "reference": f"DLF-K7-{mid}", "status": status, "is_open": int(closed is None),
        "closed_at": closed.isoformat() if closed else None, "deleted": 0, "updated_hlc": 0,
        "melder_naam": "Anna", "melder_telefoon": None, "melder_email": None, "purged": 0,
    }  # fmt: skip
    row.update(kw)
    return row


def test_retention_rules() -> None:
    now = datetime(2027, 6, 1, 12, tzinfo=UTC)
    rows = [
        _row("a", "afgehandeld", now - timedelta(days=365)),  # exactly due
        _row("b", "afgehandeld", now - timedelta(days=364)),  # a day early
        _row("c", "afgehandeld", now - timedelta(days=400), melder_naam=""),  # nothing left to anonymise
        _row("d", "geannuleerd", now - timedelta(days=366)),  # removed: one year
        _row("e", "afgehandeld", now - timedelta(days=6 * 365)),  # removed: five years
        _row("f", "doorgezet", now - timedelta(days=9 * 365)),  # no removal rule: anonymised only
        _row("g", "in_behandeling", None),  # open: nothing
        _row("h", "geannuleerd", now - timedelta(days=800), purged=1),  # done already
    ]
    due = {a.melding_id: (a.event_type, a.rule) for a in retention_due(rows, Policy(), now)}
    assert due == {
        "a": (EventType.REPORTER_ANONYMISED, "melder anonimiseren: 365 dagen na sluiting"),
        "d": (EventType.PURGED, "verwijderen: geannuleerd, 1 jaar na sluiting"),
        "e": (EventType.PURGED, "verwijderen: afgehandeld, 5 jaar na sluiting"),
        "f": (EventType.REPORTER_ANONYMISED, "melder anonimiseren: 365 dagen na sluiting"),
    }
    assert retention_due(rows, Policy(anonimiseren_na_dagen=30, verwijderen_na_jaren={}), now)[0].melding_id == "a"
    assert years_later(datetime(2024, 2, 29, tzinfo=UTC), 1) == datetime(2025, 2, 28, tzinfo=UTC)


def test_a_deleted_open_melding_counts_from_its_last_change() -> None:
    from shared.hlc import pack

    now = datetime(2027, 6, 1, tzinfo=UTC)
    last = pack(int((now - timedelta(days=400)).timestamp() * 1000))
    row = _row("x", "gemeld", None, deleted=1, updated_hlc=last)
    assert [(a.event_type) for a in retention_due([row], Policy(), now)] == [EventType.PURGED]


def test_who_may_push_what() -> None:
    assert may_push(Role.ADMIN, EventType.DELETED) and not may_push(Role.WIJKUITVOERDER, EventType.DELETED)
    assert not may_push(Role.WIJKUITVOERDER, EventType.RESTORED)
    assert may_push(Role.WIJKUITVOERDER, EventType.REPORTER_ANONYMISED)
    assert not may_push(Role.ADMIN, EventType.PURGED)
    assert may_push(Role.WIJKUITVOERDER, EventType.NOTE_ADDED)


def test_a_person_as_a_resident_gives_it() -> None:
    wanted = person(telefoon="06 - 1234 5678")
    assert melder_matches({"naam": "x", "telefoon": "+31612345678"}, wanted)
    assert not melder_matches({"naam": "x", "telefoon": "+31612345679"}, wanted)
    by_name = person(naam="A. de  Vries")
    assert melder_matches({"naam": "Anna de Vries"}, by_name) and not melder_matches({"naam": "Anna Bakker"}, by_name)
    assert person(email="A.deVries@Voorbeeld.NL").emails == {"a.devries@voorbeeld.nl"}
    with pytest.raises(ValidationError):
        person(telefoon="06-1234")
    with pytest.raises(ValidationError):
        person()


def test_a_laptop_applying_an_erasure_forgets_every_copy(tmp_path) -> None:
    """Pulled events, its own unsent note and an event the server refused: after the pulled
    anonymisation none of them holds the name or the number, nor does any byte of the file."""
    from wijkteam_store.local import LocalStore

    events = _events()
    path = tmp_path / "laptop.sqlite3"
    with LocalStore(path) as store:
        store.set_device_code("M2")
        store.apply_remote(events, next_after=len(events))
        dev = store.device_clock("piet")
        m = store.get(events[0].melding_id)
        refused = commands.add_note(dev, m, "Anna de Vries-Bakker: 06 1234 5678")
        unsent = commands.add_note(dev, m, "mail a.devries@voorbeeld.nl")
        store.append([refused, unsent], dev)
        assert store.mark_refused([(refused.event_id, "future_stamp", "klok")]) == 1
        server = commands.DeviceClock("00", "beheer", hlc=HLC(dev.hlc.last))
        store.apply_remote([commands.anonymise_reporter(server, m, "verzoek")], next_after=len(events) + 1)
        assert store.pending_count() == 1  # the unsent note stays unsent, rewritten
        notes = [n.tekst for n in store.get(m.melding_id).notes]  # type: ignore[union-attr]
        assert f"mail {ANONYMISED_TEXT}" in notes
        payload = store.conn.execute("SELECT payload FROM refused").fetchone()[0]
        assert "Vries" not in payload and "1234" not in payload
    data = path.read_bytes()
    for personal in (b"Vries", b"Bakker", b"612345678", b"voorbeeld", b"Smit"):
        assert personal not in data, personal
