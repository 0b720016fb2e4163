"""The projection row (shared.projection) both stores keep: columns, dates, and the status timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from shared.commands import (
    DeviceClock,
    add_note,
    change_status,
    edit,
    log_callback,
    register,
)
from shared.enums import EventType, Kanaal, Status, VierB
from shared.events import MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Adres, Melder, Punt
from shared.projection import COLUMNS, decode_timeline, iso, parse_iso, projection_row
from shared.status import CLOSED


def rich_melding(registered_at: datetime):
    events, early = rich_events(registered_at)
    return fold(events), early


def rich_events(registered_at: datetime):
    """The events of a melding with conflicts, callbacks, a note and a closure; and the early callback's instant."""
    ms = [int(registered_at.timestamp() * 1000)]

    def clock() -> int:
        ms[0] += 60_000
        return ms[0]

    k7 = DeviceClock("K7", "jan", hlc=HLC(clock=clock))
    m2 = DeviceClock("M2", "piet", hlc=HLC(clock=clock))
    c = register(
        k7,
        prefix="DLF",
        counter=7,
        registered_at=registered_at,
        fields=MeldingFields(
            omschrijving="Lantaarnpaal knippert",
            categorie="verlichting/lantaarnpaal",
            kanaal=Kanaal.BALIE,
            vier_b=VierB.BETROUWBAARHEID,
            melder=Melder(naam="A. de Vries", telefoon="+31612345678"),
            adres=Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen"),
            punt=Punt(lat=52.50871234567, lon=6.25790987654),
        ),
    )
    events = [c]
    m = fold(events)
    events += edit(k7, m, {"omschrijving": "Lantaarnpaal knippert 's nachts"})
    events += edit(m2, m, {"omschrijving": "Lantaarnpaal uit"})  # concurrent: a conflict
    m = fold(events)
    late = datetime(2026, 4, 28, 9, 0, tzinfo=UTC)
    early = datetime(2026, 4, 27, 9, 0, tzinfo=UTC)
    events.append(log_callback(k7, m, kanaal=Kanaal.TELEFOON, tekst="Tweede keer", at=late))
    events.append(log_callback(m2, m, kanaal=Kanaal.EMAIL, tekst="Eerste keer", at=early, bereikt=False))
    events.append(add_note(k7, m, "Monteur ingepland", openbaar=True))
    events.append(change_status(k7, m, Status.AFGEHANDELD, voor_melder="Lamp vervangen"))
    return events, early


def test_row_has_exactly_the_columns_with_their_types():
    m, _ = rich_melding(datetime(2026, 4, 24, 8, 0, tzinfo=UTC))
    row = projection_row(m)
    assert list(row) == list(COLUMNS)
    for name, kind in COLUMNS.items():
        value = row[name]
        assert value is None or isinstance(value, kind), (name, value)


def test_row_values():
    m, early = rich_melding(datetime(2026, 4, 24, 8, 0, tzinfo=UTC))
    row = projection_row(m)
    assert row["reference"] == "DLF-K7-0007"
    assert row["registered_at"] == "2026-04-24T08:00:00.000000Z"
    assert row["registered_date"] == "2026-04-24"
    assert row["deadline"] == "2026-05-04T21:59:59.000000Z"  # 5 working days, 23:59:59 CEST
    assert (row["straat"], row["huisnummer"], row["huisletter"], row["postcode"]) == ("Kerkstraat", 12, "A", "7721EJ")
    assert (row["lat"], row["lon"]) == (52.5087123, 6.2579099)
    assert (row["kanaal"], row["vier_b"], row["status"], row["is_open"]) == (
        "balie",
        "betrouwbaarheid",
        "afgehandeld",
        0,
    )
    assert (row["melder_telefoon"], row["has_contact"], row["melder_anoniem"]) == ("+31612345678", 1, 0)
    assert row["callback_count"] == 2
    assert row["first_callback_at"] == iso(early)  # the earliest, not the first logged
    assert row["conflict_count"] == 1
    assert row["public_note"] == "Lamp vervangen"
    assert row["closed_at"] == row["first_closed_at"] is not None
    assert row["event_count"] == len(m.history) == 7
    assert row["deleted"] == 0


def test_registered_date_is_the_amsterdam_date():
    m, _ = rich_melding(datetime(2025, 10, 31, 23, 30, tzinfo=UTC))
    row = projection_row(m)
    assert row["registered_at"].startswith("2025-10-31T23:30")
    assert row["registered_date"] == "2025-11-01"
    # And in summer time: 22:30 UTC is already the next day in Amsterdam.
    m, _ = rich_melding(datetime(2026, 6, 30, 22, 30, tzinfo=UTC))
    assert projection_row(m)["registered_date"] == "2026-07-01"


def test_fold_without_history_gives_the_same_projection():
    events, _ = rich_events(datetime(2026, 4, 24, 8, 0, tzinfo=UTC))
    m = fold(events)
    slim = fold(events, history=False)
    assert slim is not None and slim.history == [] and m.history
    assert projection_row(slim) == projection_row(m)
    assert msgspec.structs.replace(slim, history=m.history) == m


def _timeline_from_history(m) -> tuple:
    """The status timeline as the history shows it (what the barometer used to read)."""
    return tuple(
        (iso(h.at), Status(h.details["naar"]) in CLOSED) for h in m.history if h.type == EventType.STATUS_CHANGED
    )


def test_status_timeline_only_after_a_change_past_the_first_closure():
    events, _ = rich_events(datetime(2026, 4, 24, 8, 0, tzinfo=UTC))
    dev = DeviceClock("K7", "piet")
    closed = fold(events)
    assert closed.status == Status.AFGEHANDELD
    assert projection_row(closed)["status_timeline"] is None  # closed once, never changed after
    events.append(change_status(dev, closed, Status.HEROPEND, "Toch niet goed"))
    reopened = fold(events)
    text = projection_row(reopened)["status_timeline"]
    assert decode_timeline(text) == _timeline_from_history(reopened)
    assert [closed_after for _, closed_after in decode_timeline(text)][-2:] == [True, False]


def test_iso_text_sorts_and_round_trips():
    cet = timezone(timedelta(hours=1))
    a = datetime(2026, 1, 1, 0, 30, tzinfo=cet)  # 2025-12-31T23:30Z
    b = datetime(2025, 12, 31, 23, 45, tzinfo=UTC)
    assert iso(a) == "2025-12-31T23:30:00.000000Z"
    assert iso(a) < iso(b)
    assert parse_iso(iso(a)) == a
    assert parse_iso("2026-04-24T10:00:00+02:00") == datetime(2026, 4, 24, 8, 0, tzinfo=UTC)
    assert iso(None) is None and parse_iso(None) is None and parse_iso("") is None


def test_points_are_rounded_and_survive_json():
    p = Punt(lat=52.508712345678, lon=6.257909876543)
    assert (p.lat, p.lon) == (52.5087123, 6.2579099)
    assert msgspec.json.decode(msgspec.json.encode(p), type=Punt) == p


def test_points_outside_wgs84_or_nan_are_refused():
    for lat, lon in ((float("nan"), 6.2), (52.5, float("nan")), (209_000.0, 505_000.0), (91.0, 6.0), (52.5, 181.0)):
        with pytest.raises(ValueError):
            Punt(lat=lat, lon=lon)
    # Decoding (sync, storage) reports the same as a msgspec.ValidationError, which quarantines the event.
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"lat": 209000, "lon": 505000}', type=Punt)
