"""The projection row: one flat record per melding, the same on the laptop and on the server.

Both stores keep a ``meldingen`` table with these columns, written in the same transaction as the
events, so lists, search and the barometer read columns instead of folding events. A detail view
folds the melding's own events (``shared.fold.fold``: tens of microseconds for one melding), so the
row carries no copy of the whole state: that copy (~1.7 KB of JSON per melding, with its history)
used to be most of what a sync pull wrote (docs/benchmarks.md, "Sync").

Instants are ISO 8601 text in UTC with a ``Z`` (they sort as text); ``registered_date`` is the
Europe/Amsterdam calendar date (``YYYY-MM-DD``), the day a melding counts in reports.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import msgspec

from shared.deadlines import local_date
from shared.model import Melding
from shared.status import CLOSED, is_open

#: Column name → SQLite type, in table order. ``melding_id`` is the primary key.
COLUMNS: dict[str, type] = {
    "melding_id": str,
    "reference": str,
    "registered_at": str,
    "registered_date": str,
    "registered_by": str,
    "device_id": str,
    "type": str,
    "kanaal": str,
    "categorie": str,
    "servicenorm": int,
    "deadline": str,
    "vier_b": str,
    "prioriteit": str,
    "status": str,
    "is_open": int,
    "wijk": str,
    "straat": str,
    "huisnummer": int,
    "huisletter": str,
    "huisnummertoevoeging": str,
    "postcode": str,
    "woonplaats": str,
    "lat": float,
    "lon": float,
    "locatie_omschrijving": str,
    "omschrijving": str,
    "melder_naam": str,
    "melder_telefoon": str,
    "melder_email": str,
    "melder_anoniem": int,
    "has_contact": int,
    "first_closed_at": str,
    "closed_at": str,
    "reopen_count": int,
    "first_callback_at": str,
    "callback_count": int,
    "duplicaat_van": str,
    "deleted": int,
    "conflict_count": int,
    "public_note": str,
    "updated_hlc": int,
    "event_count": int,
    "status_timeline": str,
    "behandelaar": str,
    "aan_team": int,
    "melder_count": int,
    "terugbellen": int,
    "terugbellen_sinds": str,
    "bron": str,
}

#: Version of what :func:`projection_row` makes of a melding's events. Bump it whenever ``fold`` or
#: ``projection_row`` would give any column another value for the same events: a laptop takes the
#: server's projection rows in a pull only when their :data:`PROJECTION_KEY` equals its own
#: (``shared.protocol.PullResponse.rows``), and folds the events itself otherwise.
PROJECTION_VERSION = 1
#: :data:`PROJECTION_VERSION` with a checksum of ``COLUMNS`` (names and types): a changed column list
#: never passes for the same projection, even when the version was not raised.
PROJECTION_KEY = PROJECTION_VERSION << 32 | zlib.crc32(
    ",".join(f"{name}:{kind.__name__}" for name, kind in COLUMNS.items()).encode()
)

#: A projection row on the wire: the values of ``COLUMNS`` in order, each of its column's type or None
#: (a fixed-length tuple, which msgspec checks while decoding).
WireRow = tuple[tuple(kind | None for kind in COLUMNS.values())]  # type: ignore[misc]

_json = msgspec.json.Encoder()
_timeline_decoder = msgspec.json.Decoder(tuple[tuple[str, bool], ...])

#: A status timeline: ``(at as UTC ISO text, closed after the change)`` per status change, in fold order.
Timeline = tuple[tuple[str, bool], ...]


def iso(instant: datetime | None) -> str | None:
    """An aware instant as sortable UTC text ``2026-04-24T08:15:00.000000Z``; None stays None."""
    if instant is None:
        return None
    utc = instant.astimezone(UTC)
    if utc.year < 1000:
        # strftime's %Y does not zero-pad these years; keep its (historical) text for them.
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # isoformat is ~5x faster than strftime and gives the same text: "...+00:00" → "...Z".
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_iso(text: str | None) -> datetime | None:
    """Inverse of :func:`iso` (accepts any ISO 8601 text with an offset or ``Z``)."""
    if not text:
        return None
    return datetime.fromisoformat(text)  # Python 3.11+ reads the trailing Z


def projection_row(m: Melding) -> dict[str, Any]:
    """The projection columns (``COLUMNS``) for a folded melding."""
    # Hot path of every sync pull (docs/benchmarks.md, "Sync"): enum values are read as
    # ``_value_`` (the plain str, without the ``.value`` descriptor) and each instant is converted once.
    a = m.adres
    melder = m.melder
    punt = m.punt
    callbacks = sorted(t.at for t in m.terugkoppelingen) if m.terugkoppelingen else None
    registered_at = m.registered_at
    terugbellen, sinds = m.terugbellen()
    return {
        "melding_id": m.melding_id,
        "reference": m.reference,
        "registered_at": iso(registered_at),
        "registered_date": local_date(registered_at).isoformat(),
        "registered_by": m.registered_by,
        "device_id": m.device_id,
        "type": m.type._value_,
        "kanaal": m.kanaal._value_,
        "categorie": m.categorie,
        "servicenorm": m.servicenorm,
        "deadline": iso(m.deadline),
        "vier_b": m.vier_b._value_ if m.vier_b else None,
        "prioriteit": m.prioriteit._value_,
        "status": m.status._value_,
        "is_open": int(is_open(m.status)),
        "wijk": m.wijk,
        "straat": a.straat if a else None,
        "huisnummer": a.huisnummer if a else None,
        "huisletter": a.huisletter if a else None,
        "huisnummertoevoeging": a.huisnummertoevoeging if a else None,
        "postcode": a.postcode if a else None,
        "woonplaats": a.woonplaats if a else None,
        "lat": punt.lat if punt else None,
        "lon": punt.lon if punt else None,
        "locatie_omschrijving": m.locatie_omschrijving or None,
        "omschrijving": m.omschrijving,
        "melder_naam": melder.naam if melder else None,
        "melder_telefoon": melder.telefoon if melder else None,
        "melder_email": melder.email if melder else None,
        # 1 when there are no details to show: left none, or erased (``Melder.gewist``); has_contact
        # keeps whether contact details were left, which the barometer counts.
        "melder_anoniem": int(bool(melder and (melder.anoniem or melder.gewist))),
        "has_contact": int(bool(melder and melder.has_contact)),
        "first_closed_at": iso(m.first_closed_at),
        "closed_at": iso(m.closed_at),
        "reopen_count": m.reopen_count,
        "first_callback_at": iso(callbacks[0]) if callbacks else None,
        "callback_count": len(callbacks) if callbacks else 0,
        "duplicaat_van": m.duplicaat_van,
        "deleted": int(m.deleted),
        "conflict_count": len(m.conflicts),
        "public_note": m.public_note(),
        "updated_hlc": m.updated_hlc,
        "event_count": m.event_count,
        "status_timeline": (
            encode_timeline(status_timeline(m))
            if needs_timeline(m.first_closed_at, m.closed_at, m.reopen_count)
            else None
        ),
        "behandelaar": m.behandelaar,
        "aan_team": int(m.aan_team),
        "melder_count": 1 + len(m.melders),
        "terugbellen": terugbellen,
        "terugbellen_sinds": iso(sinds),
        "bron": m.bron or None,  # NULL: registered by a person (as every row from before the column)
    }


def needs_timeline(first_closed_at: object, closed_at: object, reopen_count: int | None) -> bool:
    """Whether a melding changed status after its first closure: then only its status timeline tells
    when it was open (the barometer's backlog, docs/barometer.md). True for reopened meldingen and
    for a closure taken back (``closed_at`` empty or not the first closure). Takes the values as
    instants or as projection text alike."""
    return bool(first_closed_at) and ((reopen_count or 0) > 0 or closed_at != first_closed_at)


def status_timeline(m: Melding) -> Timeline:
    """The melding's status changes as ``(at as UTC ISO text, closed after the change)``, in fold order."""
    return tuple((iso(at), naar in CLOSED) for at, naar in m.status_changes)  # type: ignore[misc]


def encode_timeline(timeline: Timeline | None) -> str | None:
    """A :data:`Timeline` as compact JSON text (the ``status_timeline`` column); ``None`` stays ``None``."""
    if timeline is None:
        return None
    return _json.encode(timeline).decode()


def decode_timeline(text: str | bytes | None) -> Timeline | None:
    """Inverse of :func:`encode_timeline`."""
    if text is None:
        return None
    return _timeline_decoder.decode(text)
