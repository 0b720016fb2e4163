"""Coordinates: the Netherlands bounds check, RD New ⇄ WGS84, distances and GIS export shapes.

WGS84 is EPSG:4326 (degrees, ``lat``/``lon`` in the UI and in :class:`shared.model.Punt`, but
lon/lat order in WKT and GeoJSON); RD New is EPSG:28992 (the Dutch national grid, metres, ``x``
east and ``y`` north). Conversions go through pyproj with ``always_xy=True`` so the axis order is
always (lon, lat) / (x, y) whatever the CRS definition says.

WGS84 values are kept to 7 decimals (about 1 cm, ``shared.model.COORD_DECIMALS``) and shown with
``f"{x:.7f}"``, so a value stored as 5.1214201 is never shown as 5.121420099999999 after a trip
through JSON, SQLite or sync.

Sources: the Netherlands' WGS84 box is the one Signalen uses (lon 3.3–7.3, lat 50.7–53.6); the RD
box x 0–300,000, y 289,000–629,000 m is the RD New validity area (REFERENCE.md, "Coordinates").
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import msgspec
from pyproj import Transformer

from shared.errors import ValidationError
from shared.model import COORD_DECIMALS, Melding, Punt
from shared.projection import iso, projection_row

#: WGS84 box of the Netherlands (degrees), source: Signalen's bounds check.
NL_LAT = (50.7, 53.6)
NL_LON = (3.3, 7.3)
#: RD New (EPSG:28992) box in metres.
RD_X = (0.0, 300_000.0)
RD_Y = (289_000.0, 629_000.0)
#: RD coordinates are rounded to centimetres, the same precision as 7 WGS84 decimals.
RD_DECIMALS = 2
#: Mean earth radius in metres (IUGG), used by :func:`distance_m`.
EARTH_RADIUS_M = 6_371_008.8

WGS84 = "EPSG:4326"
RD_NEW = "EPSG:28992"

_json_encode = msgspec.json.Encoder().encode

# pyproj Transformers are not safe to share between threads; the TUI geocodes in worker threads.
_local = threading.local()


def _transformer(src: str, dst: str) -> Transformer:
    cache: dict[tuple[str, str], Transformer] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = (src, dst)
    if key not in cache:
        cache[key] = Transformer.from_crs(src, dst, always_xy=True)
    return cache[key]


def round_coord(value: float) -> float:
    """A WGS84 degree value rounded to 7 decimals (the stored precision)."""
    return round(float(value), COORD_DECIMALS)


def format_coord(value: float) -> str:
    """A WGS84 degree value as text with exactly 7 decimals: ``5.1214201`` → ``"5.1214201"``."""
    return f"{float(value):.{COORD_DECIMALS}f}"


def format_punt(punt: Punt) -> str:
    """``"52.5067610, 6.2582183"`` (lat, lon — the order people read and type)."""
    return f"{format_coord(punt.lat)}, {format_coord(punt.lon)}"


def in_nl(lat: float, lon: float) -> bool:
    """True when (lat, lon) in WGS84 degrees lies in the Netherlands' box (``NL_LAT``, ``NL_LON``)."""
    return NL_LAT[0] <= lat <= NL_LAT[1] and NL_LON[0] <= lon <= NL_LON[1]


def in_rd(x: float, y: float) -> bool:
    """True when (x, y) in metres lies in the RD New box (``RD_X``, ``RD_Y``)."""
    return RD_X[0] <= x <= RD_X[1] and RD_Y[0] <= y <= RD_Y[1]


def check_wgs84(lat: float, lon: float) -> Punt:
    """A :class:`Punt` for WGS84 (lat, lon) degrees inside the Netherlands.

    Raises:
        ValidationError: (field ``punt``) not finite, or outside the box lat 50.7–53.6, lon 3.3–7.3.
            When swapping lat and lon would be valid, the message suggests the swap (the most common
            location mistake).
    """
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise ValidationError("punt", "Breedte- en lengtegraad moeten getallen zijn.") from None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValidationError("punt", "Breedte- en lengtegraad moeten getallen zijn.")
    if in_nl(lat, lon):
        return Punt(lat=lat, lon=lon)
    if in_nl(lon, lat):
        raise ValidationError(
            "punt",
            f"Dit punt ligt buiten Nederland. Zijn breedte en lengte omgedraaid? "
            f"Bedoelt u breedte {format_coord(lon)}, lengte {format_coord(lat)}?",
        )
    raise ValidationError(
        "punt",
        f"Dit punt ligt buiten Nederland (breedte {NL_LAT[0]}–{NL_LAT[1]}, lengte {NL_LON[0]}–{NL_LON[1]}).",
    )


def check_rd(x: float, y: float) -> tuple[float, float]:
    """RD New (x, y) in metres, checked against the RD box and rounded to centimetres.

    Raises:
        ValidationError: (field ``punt``) not finite or outside x 0–300,000, y 289,000–629,000; the
            message suggests swapping x and y when that would be valid.
    """
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        raise ValidationError("punt", "RD-coördinaten x en y moeten getallen zijn.") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValidationError("punt", "RD-coördinaten x en y moeten getallen zijn.")
    if in_rd(x, y):
        return round(x, RD_DECIMALS), round(y, RD_DECIMALS)
    if in_rd(y, x):
        raise ValidationError(
            "punt",
            f"Deze RD-coördinaten liggen buiten Nederland. Zijn x en y omgedraaid? "
            f"Bedoelt u x = {y:.2f}, y = {x:.2f}?",
        )
    raise ValidationError(
        "punt", "Deze RD-coördinaten liggen buiten Nederland (x 0–300.000, y 289.000–629.000 meter)."
    )


def rd_to_wgs84(x: float, y: float) -> Punt:
    """RD New (EPSG:28992) x/y in metres → WGS84 :class:`Punt` (7 decimals).

    Raises:
        ValidationError: the RD point or its WGS84 image lies outside the Netherlands (see
            :func:`check_rd`, :func:`check_wgs84`).
    """
    x, y = check_rd(x, y)
    lon, lat = _transformer(RD_NEW, WGS84).transform(x, y)
    return check_wgs84(lat, lon)


def wgs84_to_rd(lat: float, lon: float) -> tuple[float, float]:
    """WGS84 (EPSG:4326) lat/lon degrees → RD New (x, y) metres, rounded to centimetres.

    No bounds check: use :func:`check_wgs84` first for user input.
    """
    x, y = _transformer(WGS84, RD_NEW).transform(float(lon), float(lat))
    return round(x, RD_DECIMALS), round(y, RD_DECIMALS)


def rd_columns(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    """The ``rd_x``, ``rd_y`` columns of a CSV export for a WGS84 point; ``(None, None)`` without one."""
    if lat is None or lon is None:
        return None, None
    return wgs84_to_rd(lat, lon)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS84 points.

    On the scale Wijkteam uses it (50–100 m) the error against the ellipsoid is well below 1 %.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bbox_around(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """A WGS84 box ``(min_lat, max_lat, min_lon, max_lon)`` that contains the circle of ``radius_m``.

    For SQL pre-filters (``lat BETWEEN ? AND ?``) before the exact :func:`distance_m` check.
    """
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


_WKT_POINT = re.compile(r"^\s*POINT\s*(?:Z\s*)?\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)(?:\s+[-+0-9.eE]+)?\s*\)\s*$", re.IGNORECASE)


def parse_wkt_point(text: str) -> tuple[float, float]:
    """``"POINT(6.2582183 52.506761)"`` → ``(6.2582183, 52.506761)``: the two numbers in WKT order.

    WKT puts x first: lon/lat for ``centroide_ll``, x/y for ``centroide_rd`` (PDOK).

    Raises:
        ValueError: not a WKT POINT.
    """
    m = _WKT_POINT.match(text or "")
    if not m:
        raise ValueError(f"geen WKT-punt: {text!r}")
    return float(m.group(1)), float(m.group(2))


_NUMBER_PAIR = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*[,;\s]\s*([-+]?\d+(?:[.,]\d+)?)\s*$")


def parse_point(text: str) -> Punt:
    """A point as a user types or pastes it: ``"52.50676, 6.25822"`` (lat, lon) or RD ``"214074 502564"``.

    Two numbers separated by a comma, semicolon or space; a decimal comma is accepted when the
    separator is a space or semicolon. Both numbers above 1000 means RD New metres (x, y).

    Raises:
        ValidationError: (field ``punt``) not two numbers, or outside the Netherlands (with the swap
            suggestion of :func:`check_wgs84` / :func:`check_rd`).
    """
    raw = (text or "").strip()
    m = _NUMBER_PAIR.match(raw)
    if not m:
        raise ValidationError("punt", "Typ een punt als breedte, lengte (52.50676, 6.25822) of RD x y (214074 502564).")
    a, b = (float(g.replace(",", ".")) for g in m.groups())
    if abs(a) > 1000 and abs(b) > 1000:
        return rd_to_wgs84(a, b)
    return check_wgs84(a, b)


# --- GIS export -----------------------------------------------------------------------------------

#: Projection columns copied into a GeoJSON feature's properties. Never the melder's personal data.
FEATURE_PROPERTIES: tuple[str, ...] = (
    "reference",
    "type",
    "kanaal",
    "categorie",
    "status",
    "is_open",
    "prioriteit",
    "vier_b",
    "wijk",
    "registered_at",
    "deadline",
    "closed_at",
    "straat",
    "huisnummer",
    "huisletter",
    "huisnummertoevoeging",
    "postcode",
    "woonplaats",
    "locatie_omschrijving",
    "omschrijving",
    "duplicaat_van",
)


def _as_row(item: Mapping[str, Any] | Melding) -> Mapping[str, Any]:
    if isinstance(item, Melding):
        return projection_row(item)
    return item


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value


def melding_feature(item: Mapping[str, Any] | Melding) -> dict[str, Any]:
    """A GeoJSON Feature (RFC 7946) for one melding: WGS84, coordinates in ``[lon, lat]`` order.

    ``item`` is a projection row (``shared.projection.COLUMNS``; keys that are missing become null)
    or a folded :class:`Melding`. Geometry is a Point rounded to 7 decimals, or ``null`` for a
    melding without a point (RFC 7946 §3.2 allows an unlocated feature). ``id`` is the melding_id;
    properties are :data:`FEATURE_PROPERTIES` plus ``rd_x``/``rd_y`` — never the melder's name,
    phone or e-mail.
    """
    row = _as_row(item)
    lat, lon = row.get("lat"), row.get("lon")
    geometry = None
    rd_x = rd_y = None
    if lat is not None and lon is not None:
        geometry = {"type": "Point", "coordinates": [round_coord(lon), round_coord(lat)]}
        rd_x, rd_y = rd_columns(lat, lon)
    props = {name: _plain(row.get(name)) for name in FEATURE_PROPERTIES}
    if props.get("is_open") is not None:
        props["is_open"] = bool(props["is_open"])
    props["rd_x"], props["rd_y"] = rd_x, rd_y
    return {"type": "Feature", "id": row.get("melding_id"), "geometry": geometry, "properties": props}


def feature_collection(items: Iterable[Mapping[str, Any] | Melding], *, only_located: bool = False) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of :func:`melding_feature` for each item (WGS84, RFC 7946).

    ``only_located`` leaves out meldingen without a point (some GIS tools reject null geometry).
    Deleted meldingen are the caller's business: pass only what should be exported.
    """
    features = [melding_feature(i) for i in items]
    if only_located:
        features = [f for f in features if f["geometry"] is not None]
    return {"type": "FeatureCollection", "features": features}


def iter_feature_collection_json(items: Iterable[Mapping[str, Any] | Melding], *, only_located: bool = False) -> Iterator[str]:
    """The JSON text of :func:`feature_collection`, in pieces, so an export of 100,000 meldingen
    streams (``for chunk in …: out.write(chunk)``) instead of holding every feature in memory."""
    yield '{"type":"FeatureCollection","features":['
    first = True
    for item in items:
        feature = melding_feature(item)
        if only_located and feature["geometry"] is None:
            continue
        yield ("" if first else ",") + _json_encode(feature).decode()
        first = False
    yield "]}\n"
