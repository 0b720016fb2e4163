"""Municipalities and wijken: which wijk a melding belongs to, decided by configuration.

The municipalities served and their wijken are data, not code: the ``wijken`` part of the
municipality configuration (``shared.gemeente``; ``shared/data/wijken.toml`` is the SAMPLE package
default, the admin loads the real one on the server) with, per gemeente, its
woonplaatsen and optional 4-digit postcode areas, and per wijk the same; optionally a GeoJSON file
(RFC 7946, WGS84, lon/lat) with a polygon per wijk (``properties.wijk`` = wijk code) and/or per
gemeente boundary (``properties.gemeente`` without ``wijk``). Each wijk names its wijkuitvoerders
(server user names; new meldingen go to them). Layout: ``docs/location.md``.

Decision order (:meth:`WijkConfig.resolve`): a point inside a wijk polygon; a point inside a gemeente
boundary; the address's woonplaats; its postcode area. Where the woonplaats and the postcode disagree
about the municipality (a place name shared by several municipalities), the postcode decides. An address or point that matches no
configured municipality gives the outcome ``buiten`` with the message
"… buiten de gemeente: bevestigen of doorzetten" — never "onbekend adres" (issue 7): the wijkuitvoerder
confirms it anyway or passes it on (status doorgezet).
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

from shared.model import Adres, Punt

#: The outcome text for a location outside every municipality served (issue 7, verbatim).
BUITEN_GEMEENTE = "buiten de gemeente: bevestigen of doorzetten"


class WijkDef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One wijk: stable ``code`` (stored on meldingen), Dutch ``naam``, woonplaatsen and postcode areas
    (4 digits) that fall wholly in it, and ``wijkuitvoerders``: the server user names responsible
    (the first is the default behandelaar of a new melding in the wijk)."""

    code: str
    naam: str
    woonplaatsen: tuple[str, ...] = ()
    postcodes: tuple[str, ...] = ()
    wijkuitvoerders: tuple[str, ...] = ()


class GemeenteDef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A municipality served: ``naam``, reference ``prefix`` (e.g. ``DLF``), its woonplaatsen and
    postcode areas, and its wijken."""

    naam: str
    prefix: str = ""
    woonplaatsen: tuple[str, ...] = ()
    postcodes: tuple[str, ...] = ()
    wijk: tuple[WijkDef, ...] = ()


class WijkenFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The TOML file: ``sample`` (made-up data, labelled in the UI), ``geojson`` (path relative to the
    TOML file, optional) and ``[[gemeente]]`` tables.

    ``grenzen`` is the GeoJSON (a FeatureCollection, WGS84) the ``geojson`` file held: the
    configuration import embeds it, so the configuration travels to laptops as one document.
    """

    gemeente: tuple[GemeenteDef, ...]
    sample: bool = False
    geojson: str = ""
    grenzen: dict[str, Any] | None = None


Ring = list[tuple[float, float]]  # (lon, lat) pairs, GeoJSON order
Polygon = list[Ring]  # exterior ring first, then holes


def _point_in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def point_in_polygon(lon: float, lat: float, polygon: Polygon) -> bool:
    """Even-odd ray casting: inside the exterior ring and in none of the holes (GeoJSON Polygon rings)."""
    if not polygon or not _point_in_ring(lon, lat, polygon[0]):
        return False
    return not any(_point_in_ring(lon, lat, hole) for hole in polygon[1:])


class Area(msgspec.Struct, frozen=True):
    """The polygons of one wijk or gemeente boundary, with a bounding box for a quick reject."""

    polygons: tuple[Polygon, ...]
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat

    def contains(self, lat: float, lon: float) -> bool:
        """True when the WGS84 point lies in one of the polygons."""
        x0, y0, x1, y1 = self.bbox
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            return False
        return any(point_in_polygon(lon, lat, p) for p in self.polygons)


def _area(geometry: dict[str, Any]) -> Area:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        raw = [coords]
    elif kind == "MultiPolygon":
        raw = coords
    else:
        raise ValueError(f"wijken GeoJSON: geometry type {kind!r}; only Polygon and MultiPolygon are used")
    polygons = tuple([[(float(p[0]), float(p[1])) for p in ring] for ring in poly] for poly in raw)
    xs = [p[0] for poly in polygons for p in poly[0]]
    ys = [p[1] for poly in polygons for p in poly[0]]
    return Area(polygons, (min(xs), min(ys), max(xs), max(ys)))


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


Uitkomst = Literal["wijk", "gemeente", "buiten", "onbepaald"]


class WijkBepaling(msgspec.Struct, frozen=True):
    """Which wijk a location belongs to.

    ``status``: ``wijk`` (``wijk`` and ``gemeente`` set), ``gemeente`` (inside a municipality served
    but no wijk matched: let the user pick), ``buiten`` (outside every municipality served: the
    user confirms or passes it on — ``message`` contains :data:`BUITEN_GEMEENTE`), ``onbepaald`` (no
    address or point to decide on). ``bron`` says what decided: ``polygoon``, ``woonplaats``,
    ``postcode`` or ``""``. ``message`` is Dutch ("" when a wijk was found).
    """

    status: Uitkomst
    wijk: str | None = None
    wijk_naam: str | None = None
    gemeente: str | None = None
    bron: str = ""
    message: str = ""


class WijkConfig:
    """The parsed configuration with its polygons; immutable, safe to share between threads."""

    def __init__(self, data: WijkenFile, features: Sequence[dict[str, Any]] = (), *, source: str = "") -> None:
        self.data = data
        self.sample = data.sample
        self.source = source
        self.gemeenten: tuple[GemeenteDef, ...] = data.gemeente
        self._wijk: dict[str, tuple[WijkDef, GemeenteDef]] = {}
        for g in self.gemeenten:
            for w in g.wijk:
                if w.code in self._wijk:
                    raise ValueError(f"wijken: wijk code {w.code!r} appears twice")
                self._wijk[w.code] = (w, g)
        self._gemeente = {_fold(g.naam): g for g in self.gemeenten}
        self._wijk_areas: list[tuple[str, Area]] = []
        self._gemeente_areas: list[tuple[str, Area]] = []
        for f in features:
            props = f.get("properties") or {}
            geometry = f.get("geometry")
            if not geometry:
                continue
            if props.get("wijk"):
                if props["wijk"] not in self._wijk:
                    raise ValueError(f"wijken GeoJSON: wijk {props['wijk']!r} is not in the TOML configuration")
                self._wijk_areas.append((props["wijk"], _area(geometry)))
            elif props.get("gemeente"):
                g = self._gemeente.get(_fold(props["gemeente"]))
                if g is None:
                    raise ValueError(f"wijken GeoJSON: gemeente {props['gemeente']!r} is not in the TOML configuration")
                self._gemeente_areas.append((g.naam, _area(geometry)))
        self._by_woonplaats: dict[str, list[str]] = {}
        self._by_pc4: dict[str, list[str]] = {}
        for code, (w, _g) in self._wijk.items():
            for wp in w.woonplaatsen:
                self._by_woonplaats.setdefault(_fold(wp), []).append(code)
            for pc in w.postcodes:
                self._by_pc4.setdefault(pc[:4], []).append(code)
        self._gemeente_by_woonplaats = {_fold(wp): g.naam for g in self.gemeenten for wp in g.woonplaatsen}
        self._gemeente_by_pc4 = {pc[:4]: g.naam for g in self.gemeenten for pc in g.postcodes}
        for w, g in self._wijk.values():
            for wp in w.woonplaatsen:
                self._gemeente_by_woonplaats.setdefault(_fold(wp), g.naam)
            for pc in w.postcodes:
                self._gemeente_by_pc4.setdefault(pc[:4], g.naam)

    @classmethod
    def from_file(cls, data: WijkenFile, *, source: str = "") -> WijkConfig:
        """The configuration of a parsed file whose polygons are embedded in ``data.grenzen``.

        Raises:
            ValueError: as :func:`parse_wijken`.
        """
        doc = data.grenzen or {}
        features = doc.get("features", []) if doc.get("type") == "FeatureCollection" else ([doc] if doc else [])
        return cls(data, features, source=source)

    @property
    def wijken(self) -> list[WijkDef]:
        """All wijken in file order (for a picker)."""
        return [w for g in self.gemeenten for w in g.wijk]

    def wijk(self, code: str) -> WijkDef | None:
        """The wijk with ``code``, or None."""
        hit = self._wijk.get(code)
        return hit[0] if hit else None

    def _found(self, code: str, bron: str) -> WijkBepaling:
        w, g = self._wijk[code]
        return WijkBepaling("wijk", w.code, w.naam, g.naam, bron)

    def _inside(self, gemeente: str, bron: str) -> WijkBepaling:
        return WijkBepaling("gemeente", None, None, gemeente, bron, f"Binnen de gemeente {gemeente}, maar in geen wijk: kies de wijk.")

    def _postcode_overrules(self, adres: Adres) -> bool:
        """True when the address's postcode and its place name disagree about which municipality
        served it lies in (or whether it lies in one): the postcode decides then (issue 14). A place
        name is not unique in the Netherlands (Hengelo, Beek, …); a postcode is. Only when postcode
        areas are configured can the postcode speak."""
        if not adres.postcode or not self._gemeente_by_pc4:
            return False
        by_postcode = self._gemeente_by_pc4.get(adres.postcode[:4])
        by_place = self._gemeente_by_woonplaats.get(_fold(adres.woonplaats))
        return by_postcode != by_place

    def resolve(self, adres: Adres | None = None, punt: Punt | None = None) -> WijkBepaling:
        """The wijk for an address and/or WGS84 point (see the module docstring for the order).

        A woonplaats that maps to several wijken (a town split by polygons) decides only the
        gemeente. Never raises for a well-formed Adres/Punt.
        """
        if punt is not None:
            for code, area in self._wijk_areas:
                if area.contains(punt.lat, punt.lon):
                    return self._found(code, "polygoon")
            for naam, area in self._gemeente_areas:
                if area.contains(punt.lat, punt.lon):
                    return self._inside(naam, "polygoon")
        if adres is not None and adres.woonplaats and not self._postcode_overrules(adres):
            key = _fold(adres.woonplaats)
            codes = self._by_woonplaats.get(key, [])
            if len(codes) == 1:
                return self._found(codes[0], "woonplaats")
            if key in self._gemeente_by_woonplaats:
                return self._inside(self._gemeente_by_woonplaats[key], "woonplaats")
        if adres is not None and adres.postcode:
            pc4 = adres.postcode[:4]
            codes = self._by_pc4.get(pc4, [])
            if len(codes) == 1:
                return self._found(codes[0], "postcode")
            if pc4 in self._gemeente_by_pc4:
                return self._inside(self._gemeente_by_pc4[pc4], "postcode")
        has_address = adres is not None and bool(adres.woonplaats or adres.postcode)
        if punt is None and not has_address:
            return WijkBepaling("onbepaald", message="Geen adres of punt: kies de wijk.")
        if punt is not None and not has_address and not (self._wijk_areas or self._gemeente_areas):
            # Without polygons a bare point cannot be placed; do not call it outside.
            return WijkBepaling("onbepaald", message="Geen wijkgrenzen ingesteld: kies de wijk.")
        where = "Deze locatie ligt" if not has_address else "Dit adres ligt"
        return WijkBepaling("buiten", message=f"{where} {BUITEN_GEMEENTE}.")


def parse_wijken(toml_text: str, geojson_text: str | None = None, *, source: str = "") -> WijkConfig:
    """A :class:`WijkConfig` from TOML text and the optional GeoJSON text it refers to.

    Raises:
        ValueError: invalid TOML, unknown keys, a duplicate wijk code, GeoJSON naming a wijk or
            gemeente the TOML does not have, or a geometry other than (Multi)Polygon.
    """
    try:
        data = msgspec.convert(tomllib.loads(toml_text), WijkenFile)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"wijken: {exc}") from None
    features: list[dict[str, Any]] = []
    if geojson_text:
        doc = json.loads(geojson_text)
        features = doc.get("features", []) if doc.get("type") == "FeatureCollection" else [doc]
    return WijkConfig(data, features, source=source)


def read_wijken(path: str | Path) -> WijkConfig:
    """Read a wijken TOML file and the GeoJSON file it names (relative to the TOML's folder).

    Raises:
        ValueError: as :func:`parse_wijken`. OSError: a file cannot be read.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    ref = tomllib.loads(text).get("geojson") or ""
    geo = (path.parent / ref).read_text(encoding="utf-8") if ref else None
    return parse_wijken(text, geo, source=str(path))


def load_wijken() -> WijkConfig:
    """The configuration in force: the ``wijken`` of the active municipality configuration
    (``shared.gemeente.gemeente()``; the SAMPLE package default until one is activated)."""
    from shared.gemeente import gemeente

    return gemeente().wijken


def wijk_naam(value: str | None) -> str:
    """A stored wijk as shown to people: the configured name of a wijk code (``"dalfsen"`` →
    ``"Dalfsen-kern"`` in the sample configuration). A value that is not a configured code (older
    data, typed by hand) is shown as stored; ``""`` for none. Never raises: a broken configuration
    must not break a screen or an API answer."""
    if not value:
        return ""
    try:
        wijk = load_wijken().wijk(value)
    except (OSError, ValueError):
        return value
    return wijk.naam if wijk else value
