"""geopy geocoders for Wijkteam: the local gazetteer (offline) and PDOK Locatieserver v3.1 (online).

Both are :class:`geopy.geocoders.base.Geocoder` subclasses returning :class:`geopy.location.Location`
objects (``address`` = one-line Dutch address, ``point`` = WGS84, ``raw`` = the source record), so
they slot in with geopy's Nominatim (the fallback) and geopy's tooling. Every call is blocking:
the TUI runs them in thread workers. Use :func:`location_to_keuze` to turn any of their
Locations into the BAG address parts a melding stores.

PDOK Locatieserver v3.1 (REFERENCE.md): base ``https://api.pdok.nl/bzk/locatieserver/search/v3_1/``,
endpoints ``free``, ``suggest``, ``lookup`` and ``reverse``; answers
``{"response": {"numFound", "start", "maxScore", "docs": [...]}}``; an address doc has
``weergavenaam``, ``straatnaam``, ``huisnummer``, ``huisletter``, ``huisnummertoevoeging``,
``postcode``, ``woonplaatsnaam``, ``gemeentenaam``, ``centroide_ll`` (``POINT(lon lat)``),
``nummeraanduiding_id``; ``reverse`` adds ``afstand`` (metres). Version 3.1 rejects parameters that
are not in its spec, so only ``q``, ``fq``, ``rows``, ``fl``, ``lat``/``lon``, ``type``,
``distance`` and ``id`` are ever sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from typing import Any
from urllib.parse import urlencode

import msgspec
from geopy.geocoders import Nominatim
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location
from geopy.point import Point

from shared.errors import ValidationError
from shared.gazetteer import NEAREST_MAX_M, Gazetteer, GazetteerAdres
from shared.geo import distance_m, in_nl, parse_wkt_point, round_coord
from shared.model import Adres, Punt
from shared.validation import normalise_postcode, parse_huisnummer

PDOK_DOMAIN = "api.pdok.nl"
PDOK_PATH = "/bzk/locatieserver/search/v3_1"
#: Fields asked from PDOK for an address document (``fl``).
PDOK_FIELDS = (
    "id weergavenaam type straatnaam huisnummer huisletter huisnummertoevoeging huis_nlt postcode "
    "woonplaatsnaam gemeentenaam centroide_ll nummeraanduiding_id score"
)
#: User agent sent to online services (Nominatim's usage policy requires an identifying one).
USER_AGENT = "wijkteam/0.1 (meldingen openbare ruimte)"


def _gazetteer_location(a: GazetteerAdres) -> Location:
    return Location(a.label(), Point(a.lat, a.lon), a)


class LocalGazetteerGeocoder(Geocoder):
    """Offline geocoder over a :class:`shared.gazetteer.Gazetteer` (the municipality's BAG addresses).

    ``geocode`` takes free text (``"Kerkstraat 12a Dalfsen"``, ``"7721 EJ 12"``); ``reverse`` the
    nearest address within ``max_m`` metres (default 100) of a WGS84 point, else None.
    ``Location.raw`` is the :class:`GazetteerAdres`. Never touches the network.
    """

    def __init__(self, gazetteer: Gazetteer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gazetteer = gazetteer

    def geocode(self, query: str, *, exactly_one: bool = True, limit: int = 10, timeout: Any = DEFAULT_SENTINEL):
        """Location(s) for free text, or None / [] when nothing matches."""
        hits = self.gazetteer.search(str(query), limit=1 if exactly_one else limit)
        locations = [_gazetteer_location(a) for a in hits]
        if exactly_one:
            return locations[0] if locations else None
        return locations

    def reverse(self, query: Any, *, exactly_one: bool = True, max_m: float = NEAREST_MAX_M, timeout: Any = DEFAULT_SENTINEL):
        """The nearest address within ``max_m`` metres of ``query`` (a geopy Point, ``(lat, lon)`` or
        ``"lat, lon"``), or None / []."""
        p = Point(query)
        hit = self.gazetteer.nearest(p.latitude, p.longitude, max_m=max_m)
        if hit is None:
            return None if exactly_one else []
        loc = _gazetteer_location(hit.adres)
        return loc if exactly_one else [loc]


class PDOKLocatieserver(Geocoder):
    """PDOK Locatieserver v3.1 as a geopy geocoder: ``geocode`` (endpoint ``free``), ``suggest``,
    ``lookup`` and ``reverse``. No API key.

    ``fq`` filters applied to every search (default ``type:adres``; add e.g.
    ``gemeentenaam:Dalfsen`` to restrict). Results are :class:`Location` objects with the PDOK doc
    as ``raw``; docs without ``centroide_ll`` (suggest answers) get ``point`` None-like (0, 0) — use
    :meth:`lookup` for the point.
    """

    def __init__(
        self,
        *,
        domain: str = PDOK_DOMAIN,
        path: str = PDOK_PATH,
        fq: Sequence[str] = ("type:adres",),
        scheme: str | None = None,
        timeout: Any = DEFAULT_SENTINEL,
        proxies: Any = DEFAULT_SENTINEL,
        user_agent: str | None = USER_AGENT,
        ssl_context: Any = DEFAULT_SENTINEL,
        adapter_factory: Any = None,
    ) -> None:
        super().__init__(
            scheme=scheme,
            timeout=timeout,
            proxies=proxies,
            user_agent=user_agent,
            ssl_context=ssl_context,
            adapter_factory=adapter_factory,
        )
        self.api = f"{self.scheme}://{domain.strip('/')}{path.rstrip('/')}"
        self.fq = tuple(fq)

    def _url(self, endpoint: str, params: list[tuple[str, Any]]) -> str:
        return f"{self.api}/{endpoint}?{urlencode(params)}"

    def _search_params(self, query: str, rows: int, fq: Sequence[str] | None) -> list[tuple[str, Any]]:
        params: list[tuple[str, Any]] = [("q", query)]
        params += [("fq", f) for f in (self.fq if fq is None else fq)]
        params += [("rows", int(rows)), ("fl", PDOK_FIELDS)]
        return params

    def geocode(
        self,
        query: str,
        *,
        exactly_one: bool = True,
        rows: int = 10,
        fq: Sequence[str] | None = None,
        timeout: Any = DEFAULT_SENTINEL,
    ):
        """Classic search (endpoint ``free``): Location, list, or None / [] when ``numFound`` is 0.

        ``fq`` replaces the geocoder's default filters for this call.

        Raises:
            geopy.exc.GeocoderServiceError (and subclasses): HTTP or connection failure.
        """
        url = self._url("free", self._search_params(query, 1 if exactly_one else rows, fq))
        return self._call_geocoder(url, partial(self._parse_json, exactly_one=exactly_one), timeout=timeout)

    def geocode_postcode(self, postcode: str, huisnummer: int, *, rows: int = 20, timeout: Any = DEFAULT_SENTINEL):
        """All addresses with this postcode and huisnummer (every letter and addition), as a list.

        Uses ``free`` with filters ``type:adres``, ``postcode:…`` and ``huisnummer:…``.
        """
        fq = ["type:adres", f"postcode:{postcode}", f"huisnummer:{int(huisnummer)}"]
        url = self._url("free", [("q", f"{postcode} {int(huisnummer)}")] + [("fq", f) for f in fq]
                        + [("rows", rows), ("fl", PDOK_FIELDS)])
        return self._call_geocoder(url, partial(self._parse_json, exactly_one=False), timeout=timeout)

    def suggest(self, query: str, *, rows: int = 10, fq: Sequence[str] | None = None, timeout: Any = DEFAULT_SENTINEL):
        """Autocomplete (endpoint ``suggest``): a list of Locations (possibly empty)."""
        url = self._url("suggest", self._search_params(query, rows, fq))
        return self._call_geocoder(url, partial(self._parse_json, exactly_one=False), timeout=timeout)

    def lookup(self, id: str, *, timeout: Any = DEFAULT_SENTINEL):
        """One object in full (endpoint ``lookup?id=…``), or None."""
        url = self._url("lookup", [("id", id), ("fl", PDOK_FIELDS)])
        return self._call_geocoder(url, partial(self._parse_json, exactly_one=True), timeout=timeout)

    def reverse(
        self,
        query: Any,
        *,
        exactly_one: bool = True,
        distance: float = NEAREST_MAX_M,
        rows: int = 5,
        timeout: Any = DEFAULT_SENTINEL,
    ):
        """Addresses nearest to a WGS84 point (endpoint ``reverse``, ``type=adres``) within
        ``distance`` metres, closest first; None / [] when there are none.

        ``afstand`` is taken from the answer, or computed from ``centroide_ll`` when absent.
        """
        p = Point(query)
        params = [("lat", round_coord(p.latitude)), ("lon", round_coord(p.longitude)), ("type", "adres"),
                  ("distance", int(distance)), ("rows", 1 if exactly_one else rows), ("fl", PDOK_FIELDS)]
        url = self._url("reverse", params)

        def parse(data: Any) -> Any:
            locations = self._parse_json(data, exactly_one=False) or []
            kept = []
            for loc in locations:
                d = loc.raw.get("afstand")
                if d is None and loc.raw.get("centroide_ll"):
                    d = distance_m(p.latitude, p.longitude, loc.latitude, loc.longitude)
                    loc.raw["afstand"] = d
                if d is not None and float(d) <= distance:
                    kept.append(loc)
            kept.sort(key=lambda loc: float(loc.raw["afstand"]))
            if exactly_one:
                return kept[0] if kept else None
            return kept

        return self._call_geocoder(url, parse, timeout=timeout)

    @staticmethod
    def _doc_location(doc: dict[str, Any]) -> Location:
        lat = lon = 0.0
        if doc.get("centroide_ll"):
            lon, lat = parse_wkt_point(doc["centroide_ll"])
        return Location(doc.get("weergavenaam", ""), Point(lat, lon), doc)

    def _parse_json(self, data: Any, exactly_one: bool):
        docs = ((data or {}).get("response") or {}).get("docs") or []
        locations = [self._doc_location(d) for d in docs]
        if exactly_one:
            return locations[0] if locations else None
        return locations


def nominatim(*, adapter_factory: Any = None, timeout: Any = DEFAULT_SENTINEL, domain: str | None = None) -> Nominatim:
    """geopy's Nominatim with Wijkteam's identifying user agent (OSMF usage policy)."""
    kwargs: dict[str, Any] = {"user_agent": USER_AGENT, "timeout": timeout, "adapter_factory": adapter_factory}
    if domain:
        kwargs["domain"] = domain
    return Nominatim(**kwargs)


# --- from any Location to what a melding stores -----------------------------------------------------


class AdresKeuze(msgspec.Struct, frozen=True):
    """One address a look-up offers: the BAG parts, its point (WGS84) if known, a label to show,
    where it came from (``lokaal``, ``pdok``, ``nominatim``) and, for reverse look-ups, the distance
    in metres from the point asked."""

    adres: Adres
    punt: Punt | None
    label: str
    bron: str
    afstand_m: float | None = None
    gemeente: str = ""  # the BAG municipality (gazetteer column, PDOK gemeentenaam), when known


def with_gemeente(keuzes: list[AdresKeuze]) -> list[AdresKeuze]:
    """The same choices, labelled with their municipality when they lie in more than one (a place
    name such as Hengelo or Beek exists in several): the user then sees which is which, instead of
    silently taking the first (issue 14)."""
    gemeenten = {k.gemeente for k in keuzes if k.gemeente}
    if len(gemeenten) < 2:
        return keuzes
    return [
        msgspec.structs.replace(k, label=f"{k.label} (gemeente {k.gemeente})") if k.gemeente else k for k in keuzes
    ]


def _punt_or_none(lat: float | None, lon: float | None) -> Punt | None:
    if lat is None or lon is None or not in_nl(lat, lon):
        return None
    return Punt(lat=lat, lon=lon)


def _pdok_keuze(doc: dict[str, Any]) -> AdresKeuze:
    letter = doc.get("huisletter") or None
    toev = doc.get("huisnummertoevoeging") or None
    nr = doc.get("huisnummer")
    if nr is None and doc.get("huis_nlt"):
        try:
            nr, letter, toev = parse_huisnummer(doc["huis_nlt"])
        except ValidationError:
            nr = None
    try:
        postcode = normalise_postcode(doc.get("postcode") or "") if doc.get("postcode") else None
    except ValidationError:
        postcode = None
    adres = Adres(
        straat=doc.get("straatnaam", "") or "",
        huisnummer=int(nr) if nr is not None else None,
        huisletter=letter.upper() if letter else None,
        huisnummertoevoeging=re.sub(r"[\s\-]+", "", toev).upper() if toev else None,
        postcode=postcode,
        woonplaats=doc.get("woonplaatsnaam", "") or "",
    )
    punt = None
    if doc.get("centroide_ll"):
        lon, lat = parse_wkt_point(doc["centroide_ll"])
        punt = _punt_or_none(lat, lon)
    afstand = doc.get("afstand")
    return AdresKeuze(adres, punt, adres.oneline() or doc.get("weergavenaam", ""), "pdok",
                      float(afstand) if afstand is not None else None, gemeente=doc.get("gemeentenaam") or "")


def _nominatim_keuze(raw: dict[str, Any]) -> AdresKeuze:
    addr = raw.get("address") or {}
    nr = letter = toev = None
    if addr.get("house_number"):
        try:
            nr, letter, toev = parse_huisnummer(addr["house_number"])
        except ValidationError:
            pass
    try:
        postcode = normalise_postcode(addr["postcode"]) if addr.get("postcode") else None
    except ValidationError:
        postcode = None
    adres = Adres(
        straat=addr.get("road", "") or "",
        huisnummer=nr,
        huisletter=letter,
        huisnummertoevoeging=toev,
        postcode=postcode,
        woonplaats=addr.get("city") or addr.get("town") or addr.get("village") or addr.get("hamlet") or "",
    )
    punt = None
    if raw.get("lat") is not None and raw.get("lon") is not None:
        punt = _punt_or_none(float(raw["lat"]), float(raw["lon"]))
    return AdresKeuze(adres, punt, adres.oneline() or raw.get("display_name", ""), "nominatim")


def location_to_keuze(location: Location, bron: str) -> AdresKeuze:
    """Turn a Location from any of the three geocoders into an :class:`AdresKeuze`.

    ``bron`` is ``lokaal`` (raw is a GazetteerAdres), ``pdok`` (raw is a PDOK doc) or ``nominatim``
    (raw is a Nominatim place with ``address`` details).
    """
    raw = location.raw
    if isinstance(raw, GazetteerAdres):
        return AdresKeuze(raw.adres, raw.punt, raw.label(), "lokaal", gemeente=raw.gemeente)
    if bron == "pdok":
        return _pdok_keuze(raw)
    return _nominatim_keuze(raw)
