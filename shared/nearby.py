"""Nearby duplicates: open meldingen about the same thing at the same spot, shown during intake.

Rule (source: Signalen's "nearby" check, REFERENCE.md): open meldingen of the same categorie within
50 m, registered in the last 12 weeks. The stores pre-filter their projection table with
:func:`candidate_bounds` (an index-friendly box); :func:`find_nearby` applies the exact rule to
those candidate rows. Linking the new melding as a duplicate (:func:`link_duplicate`) sets
``duplicaat_van`` to the original's reference and cancels it (status geannuleerd, with a note), so
KCC search and reports count the problem once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from shared.commands import DeviceClock, change_status, edit
from shared.enums import Status
from shared.errors import ValidationError
from shared.events import Event
from shared.geo import bbox_around, distance_m
from shared.model import Melding
from shared.projection import iso, parse_iso
from shared.status import is_open

#: Radius in metres (Signalen).
NEARBY_RADIUS_M = 50.0
#: Look-back window (Signalen: 12 weeks).
NEARBY_WINDOW = timedelta(weeks=12)
#: Two meldingen registered this close in time (and space, same categorie) on two laptops that had
#: not synced may be one problem told twice (issue 14): flagged, never merged.
POSSIBLE_DUPLICATE_WINDOW = timedelta(days=1)


class NearbyHit(msgspec.Struct, frozen=True):
    """A candidate duplicate: its projection row (as given) and its distance in metres."""

    row: Mapping[str, Any]
    afstand_m: float

    @property
    def reference(self) -> str:
        """The candidate's reference (``DLF-K7-0142``)."""
        return self.row["reference"]


def candidate_bounds(lat: float, lon: float, now: datetime) -> dict[str, Any]:
    """Bounds for an SQL pre-filter on the projection table.

    Returns ``{"min_lat", "max_lat", "min_lon", "max_lon", "since"}`` where ``since`` is the UTC
    ISO text (``shared.projection.iso`` form) of ``now`` − 12 weeks, e.g.::

        SELECT * FROM meldingen WHERE is_open = 1 AND deleted = 0 AND categorie = :categorie
          AND lat BETWEEN :min_lat AND :max_lat AND lon BETWEEN :min_lon AND :max_lon
          AND registered_at >= :since
    """
    min_lat, max_lat, min_lon, max_lon = bbox_around(lat, lon, NEARBY_RADIUS_M)
    return {"min_lat": min_lat, "max_lat": max_lat, "min_lon": min_lon, "max_lon": max_lon,
            "since": iso(now - NEARBY_WINDOW)}


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_iso(value) if value else None


def find_nearby(
    rows: Iterable[Mapping[str, Any]],
    *,
    lat: float,
    lon: float,
    categorie: str,
    now: datetime,
    exclude_id: str | None = None,
    radius_m: float = NEARBY_RADIUS_M,
    window: timedelta = NEARBY_WINDOW,
) -> list[NearbyHit]:
    """Candidate rows that are possible duplicates of a melding at (lat, lon) WGS84 with ``categorie``.

    ``rows`` are projection rows (``shared.projection.COLUMNS``): ``melding_id``, ``lat``, ``lon``,
    ``categorie``, ``status``, ``registered_at`` (UTC ISO text or aware datetime), optionally
    ``deleted``. A row qualifies when it is not deleted, its status is open
    (``shared.status.is_open``), its categorie is the same ``"hoofd/sub"`` code, it lies within
    ``radius_m`` metres (default 50) and was registered within ``window`` (default 12 weeks) before
    ``now`` (aware, UTC). ``exclude_id`` leaves out the melding itself. Closest first.
    """
    since = now - window
    hits: list[NearbyHit] = []
    for row in rows:
        if exclude_id is not None and row.get("melding_id") == exclude_id:
            continue
        if row.get("deleted"):
            continue
        if row.get("categorie") != categorie or row.get("lat") is None or row.get("lon") is None:
            continue
        try:
            if not is_open(Status(row.get("status"))):
                continue
        except ValueError:
            continue
        registered = _instant(row.get("registered_at"))
        if registered is None or registered < since or registered > now:
            continue
        d = distance_m(lat, lon, row["lat"], row["lon"])
        if d <= radius_m:
            hits.append(NearbyHit(row, d))
    hits.sort(key=lambda h: (h.afstand_m, h.row.get("registered_at") or ""))
    return hits


def link_duplicate(dev: DeviceClock, state: Melding, original_reference: str, notitie: str = "") -> list[Event]:
    """Events that mark ``state`` as a duplicate of ``original_reference``: ``duplicaat_van`` set, then
    status geannuleerd with a text for the resident (a note is required for geannuleerd; a default
    names the original, so a resident who looks up this reference learns where it went). Store them
    in one transaction; fold applies them in order.

    Raises:
        ValidationError: ``original_reference`` is the melding's own reference.
        TransitionError: the melding's status cannot move to geannuleerd.
    """
    if original_reference == state.reference:
        raise ValidationError("duplicaat_van", "Een melding kan geen dubbele van zichzelf zijn.")
    notitie = notitie.strip() or f"Dubbele melding van {original_reference}."
    events = edit(dev, state, {"duplicaat_van": original_reference})
    events.append(change_status(dev, state, Status.GEANNULEERD, voor_melder=notitie))
    return events


def possible_duplicates(
    row: Mapping[str, Any],
    candidates: Iterable[Mapping[str, Any]],
    *,
    radius_m: float = NEARBY_RADIUS_M,
    window: timedelta = POSSIBLE_DUPLICATE_WINDOW,
) -> list[NearbyHit]:
    """Meldingen among ``candidates`` that may be the same problem as ``row``, registered on another
    laptop before the two synced (issue 14): the same categorie, within ``radius_m`` metres (50),
    registered within ``window`` (a day) of each other, on another device, neither deleted nor
    already linked to the other (``duplicaat_van``). Closest first.

    Only flagged for the user to decide (link one as a duplicate of the other, or not): never merged.
    ``row`` and ``candidates`` are projection rows (``melding_id``, ``reference``, ``device_id``,
    ``categorie``, ``lat``, ``lon``, ``registered_at``, ``deleted``, ``duplicaat_van``).
    """
    if row.get("deleted") or row.get("duplicaat_van") or row.get("lat") is None or not row.get("categorie"):
        return []
    at = _instant(row.get("registered_at"))
    if at is None:
        return []
    hits = []
    for other in candidates:
        if other.get("melding_id") == row.get("melding_id") or other.get("device_id") == row.get("device_id"):
            continue
        if other.get("deleted") or other.get("categorie") != row.get("categorie") or other.get("lat") is None:
            continue
        if other.get("duplicaat_van") or row.get("duplicaat_van") == other.get("reference"):
            continue
        when = _instant(other.get("registered_at"))
        if when is None or abs(when - at) > window:
            continue
        d = distance_m(row["lat"], row["lon"], other["lat"], other["lon"])
        if d <= radius_m:
            hits.append(NearbyHit(other, d))
    hits.sort(key=lambda h: (h.afstand_m, h.row.get("registered_at") or ""))
    return hits
