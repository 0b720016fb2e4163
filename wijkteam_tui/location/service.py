"""The location look-up the intake uses: local gazetteer first, then PDOK, then Nominatim, cached.

:class:`LocationLookup` is the one object the TUI needs. Its methods block (online look-ups), so
call them from a thread worker (``@work(thread=True)``) and post the result back; they never raise
for a look-up problem: a network failure or an unavailable service degrades to the local answer with
``offline`` set and the message :data:`OFFLINE_MESSAGE`. Malformed input (a postcode that cannot
exist) still raises :class:`shared.errors.ValidationError`, with a Dutch message for the field.

Order (issue 7): the local gazetteer (offline, the municipality's BAG addresses) answers first;
only when it has no answer and the laptop is online, PDOK Locatieserver, then Nominatim. Online
answers are cached (LRU) per query, so typing the same address twice costs one request.

Autocomplete for the intake's free-text search: :meth:`LocationLookup.suggest_local` (the gazetteer,
offline) answers first and :meth:`LocationLookup.suggest_online` (PDOK ``suggest``) adds addresses
the local answer does not have; the TUI calls both from one thread worker and shows each part as it
comes (``wijkteam_tui.location.widgets.AdresZoeker``).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Literal

import msgspec

from shared.gazetteer import NEAREST_MAX_M, Gazetteer, number_suffix
from shared.geo import check_wgs84, distance_m
from shared.model import Adres, Punt
from shared.validation import format_postcode, normalise_postcode, parse_huisnummer
from shared.wijken import WijkBepaling, WijkConfig, load_wijken
from wijkteam_tui.location.geocoders import (
    AdresKeuze,
    LocalGazetteerGeocoder,
    PDOKLocatieserver,
    location_to_keuze,
    nominatim,
    with_gemeente,
)

log = logging.getLogger(__name__)

#: Shown when an online look-up was wanted but could not be done.
OFFLINE_MESSAGE = "offline: alleen lokale adressen"
#: Shown when a point has no address within 100 m (the melding becomes location-only).
NO_ADDRESS_MESSAGE = "Geen adres binnen 100 m: de melding krijgt alleen dit punt als locatie."

Status = Literal["gevonden", "kies", "niet_gevonden"]

#: Free-text autocomplete in the intake: suggestions shown at most, and the shortest text asked
#: locally / online (PDOK ``suggest`` answers shorter text with noise).
SUGGEST_LIMIT = 8
SUGGEST_MIN_LOCAL = 2
SUGGEST_MIN_ONLINE = 3


def adres_key(adres: Adres) -> tuple[str | None, int | None, str]:
    """What makes two addresses the same BAG nummeraanduiding for de-duplication: postcode,
    huisnummer, and huisletter + toevoeging compared as the gazetteer does
    (``shared.gazetteer.number_suffix``: no case, no separators)."""
    return (adres.postcode, adres.huisnummer, number_suffix(adres.huisletter, adres.huisnummertoevoeging))


class Zoekresultaat(msgspec.Struct, frozen=True):
    """What a look-up found.

    ``status``: ``gevonden`` (``keuzes[0]`` is the address), ``kies`` (let the user choose one of
    ``keuzes``), ``niet_gevonden``. ``message``: Dutch, for next to the field ("" when found).
    ``bron``: ``lokaal``, ``pdok``, ``nominatim`` or ``""``. ``offline``: an online look-up was
    wanted but not possible (show :data:`OFFLINE_MESSAGE`). ``wijk``: the wijk decision for the
    found address (None unless ``gevonden``).
    """

    status: Status
    keuzes: tuple[AdresKeuze, ...] = ()
    message: str = ""
    bron: str = ""
    offline: bool = False
    wijk: WijkBepaling | None = None


class PuntResultaat(msgspec.Struct, frozen=True):
    """A reverse look-up: the point (checked, 7 decimals), the nearest address within 100 m or None
    (location-only), the wijk decision, a Dutch message, and ``offline`` as in :class:`Zoekresultaat`."""

    punt: Punt
    adres: AdresKeuze | None
    wijk: WijkBepaling
    message: str = ""
    offline: bool = False


class LocationLookup:
    """Address and point look-up for the intake, local first.

    Args:
        gazetteer: the local gazetteer (None when the laptop has not received one yet).
        wijken: the wijk configuration (default :func:`shared.wijken.load_wijken`).
        online: a callable telling whether the laptop is online now (the sync client knows), or a
            bool. False: only the gazetteer is asked.
        pdok / nominatim_geocoder: geocoder instances; default ones are built when None (tests pass ones
            with a fake adapter; pass ``use_nominatim=False`` to leave Nominatim out).
        cache_size: online answers kept (LRU).
    """

    def __init__(
        self,
        gazetteer: Gazetteer | None,
        wijken: WijkConfig | None = None,
        *,
        online: Callable[[], bool] | bool = False,
        pdok: PDOKLocatieserver | None = None,
        nominatim_geocoder: Any = None,
        use_nominatim: bool = True,
        cache_size: int = 512,
        timeout: float = 3.0,
    ) -> None:
        self.gazetteer = gazetteer
        self.local = LocalGazetteerGeocoder(gazetteer) if gazetteer is not None else None
        self._wijken = wijken
        self._online = online if callable(online) else (lambda: bool(online))
        self._pdok = pdok
        self._nominatim = nominatim_geocoder
        self._use_nominatim = use_nominatim
        self._timeout = timeout
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def wijken(self) -> WijkConfig:
        """The wijk configuration: the one given, else that of the municipality configuration in
        force now (it follows a configuration received at sync)."""
        return self._wijken or load_wijken()

    def set_gazetteer(self, gazetteer: Gazetteer) -> None:
        """Install the gazetteer once it is loaded (the CLI indexes it in a background thread)."""
        self.local = LocalGazetteerGeocoder(gazetteer)
        self.gazetteer = gazetteer

    # --- online plumbing -------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        """Whether online services may be asked now."""
        try:
            return bool(self._online())
        except Exception:  # noqa: BLE001 - a broken probe means offline, never a crash
            return False

    def _pdok_geocoder(self) -> PDOKLocatieserver:
        if self._pdok is None:
            self._pdok = PDOKLocatieserver(timeout=self._timeout)
        return self._pdok

    def _nominatim_geocoder(self) -> Any:
        if self._nominatim is None:
            self._nominatim = nominatim(timeout=self._timeout)
        return self._nominatim

    def _cached(self, key: tuple, fetch: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = fetch()  # errors propagate and are not cached
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    def _online_sources(self) -> list[tuple[str, Callable[..., Any]]]:
        sources: list[tuple[str, Any]] = [("pdok", self._pdok_geocoder)]
        if self._use_nominatim:
            sources.append(("nominatim", self._nominatim_geocoder))
        return sources

    def _ask_online(self, kind: str, args: tuple, call: Callable[[str, Any], list[AdresKeuze]]) -> tuple[list[AdresKeuze], str, bool]:
        """Ask the online sources in order; returns (keuzes, bron, offline). Never raises."""
        if not self.online:
            return [], "", True
        failed = False
        for bron, factory in self._online_sources():
            try:
                keuzes = self._cached((bron, kind, *args), lambda bron=bron, factory=factory: call(bron, factory()))
            except Exception as exc:  # noqa: BLE001 - a look-up problem must never reach the user
                log.info("location: %s %s failed: %s", bron, kind, exc)
                failed = True
                continue
            if keuzes:
                return keuzes, bron, False
        return [], "", failed

    # --- look-ups --------------------------------------------------------------------------------

    def wijk_for(self, adres: Adres | None, punt: Punt | None) -> WijkBepaling:
        """The wijk decision (``shared.wijken``) for an address and/or point."""
        return self.wijken.resolve(adres, punt)

    def _result(self, keuzes: list[AdresKeuze], bron: str, offline: bool, message: str, exact: bool = True) -> Zoekresultaat:
        if not keuzes:
            if offline:
                message = f"{message.rstrip('.')} ({OFFLINE_MESSAGE})." if message else OFFLINE_MESSAGE.capitalize()
            return Zoekresultaat("niet_gevonden", (), message, bron, offline)
        if len(keuzes) == 1 and exact:
            k = keuzes[0]
            return Zoekresultaat("gevonden", (k,), "", bron, offline, self.wijk_for(k.adres, k.punt))
        return Zoekresultaat("kies", tuple(keuzes), message, bron, offline)

    def lookup_postcode(self, postcode: str, huisnummer: str) -> Zoekresultaat:
        """The fast path: postcode + huisnummer as typed (``"7721 ej"``, ``"12-a"``).

        Local first; online (PDOK with postcode/huisnummer filters, then Nominatim) only when the
        gazetteer does not have the postcode+number. When the number exists only with letters or
        additions (12 A, 12 B), the result is ``kies`` with all of them.

        Raises:
            ValidationError: malformed postcode or huisnummer (fields ``postcode`` / ``huisnummer``).
        """
        pc = normalise_postcode(postcode)
        nr, letter, toev = parse_huisnummer(huisnummer)
        message = ""
        if self.gazetteer is not None:
            local = self.gazetteer.lookup(pc, huisnummer)
            keuzes = with_gemeente([AdresKeuze(a.adres, a.punt, a.label(), "lokaal", gemeente=a.gemeente) for a in local.matches])
            if local.status == "gevonden":
                return self._result(keuzes, "lokaal", False, "")
            if local.status == "kies":
                return Zoekresultaat("kies", tuple(keuzes), local.message, "lokaal")
            message = local.message
        else:
            message = f"Geen lokaal adresbestand; {format_postcode(pc)} {huisnummer} niet gevonden."

        def call(bron: str, geocoder: Any) -> list[AdresKeuze]:
            if bron == "pdok":
                locations = geocoder.geocode_postcode(pc, nr) or []
            else:
                locations = geocoder.geocode(
                    f"{nr}, {format_postcode(pc)}, Nederland", exactly_one=False, addressdetails=True,
                    country_codes="nl",
                ) or []
            return [location_to_keuze(loc, bron) for loc in locations]

        keuzes, bron, offline = self._ask_online("postcode", (pc, nr), call)
        if not keuzes:
            # A postcode outside every municipality served is "buiten de gemeente", not unknown.
            wijk = self.wijk_for(Adres(postcode=pc, huisnummer=nr), None)
            if wijk.status == "buiten":
                message = wijk.message
            return msgspec.structs.replace(self._result([], bron, offline, message), wijk=wijk)
        wanted = number_suffix(letter, toev)
        exact = [k for k in keuzes if number_suffix(k.adres.huisletter, k.adres.huisnummertoevoeging) == wanted]
        if len(exact) == 1:
            return self._result(exact, bron, False, "")
        texts = ", ".join(k.adres.huisnummer_text() for k in keuzes)
        return self._result(keuzes, bron, False, f"Kies het juiste adres: {texts}.", exact=False)

    def search(self, text: str, *, limit: int = 10) -> Zoekresultaat:
        """Free text (``"Kerkstraat 12 Dalfsen"``): local hits, else PDOK ``free``, else Nominatim.

        One hit gives ``gevonden``, several ``kies``. Never raises.
        """
        text = (text or "").strip()
        if not text:
            return Zoekresultaat("niet_gevonden", (), "Typ een adres, postcode + huisnummer of plaats.")
        if self.local is not None:
            hits = self.local.geocode(text, exactly_one=False, limit=limit)
            if hits:
                keuzes = [location_to_keuze(loc, "lokaal") for loc in hits]
                return self._result(keuzes, "lokaal", False, "Kies het juiste adres.", exact=len(keuzes) == 1)

        def call(bron: str, geocoder: Any) -> list[AdresKeuze]:
            if bron == "pdok":
                locations = geocoder.geocode(text, exactly_one=False, rows=limit) or []
            else:
                locations = geocoder.geocode(text, exactly_one=False, limit=limit, addressdetails=True,
                                             country_codes="nl") or []
            return [location_to_keuze(loc, bron) for loc in locations]

        keuzes, bron, offline = self._ask_online("search", (text.casefold(), limit), call)
        return self._result(keuzes, bron, offline, "Kies het juiste adres." if keuzes else f"Geen adres gevonden voor '{text}'.",
                            exact=len(keuzes) == 1)

    def suggest(self, text: str, *, limit: int = 10) -> list[AdresKeuze]:
        """Autocomplete while typing: local hits; when none and online, PDOK ``suggest``. Never raises."""
        text = (text or "").strip()
        if not text:
            return []
        if self.local is not None:
            hits = self.local.geocode(text, exactly_one=False, limit=limit)
            if hits:
                return with_gemeente([location_to_keuze(loc, "lokaal") for loc in hits])
        if not self.online:
            return []
        try:
            locations = self._cached(("pdok", "suggest", text.casefold(), limit),
                                     lambda: self._pdok_geocoder().suggest(text, rows=limit) or [])
        except Exception as exc:  # noqa: BLE001 - see _ask_online
            log.info("location: pdok suggest failed: %s", exc)
            return []
        return [location_to_keuze(loc, "pdok") for loc in locations]

    def suggest_local(self, text: str, *, limit: int = SUGGEST_LIMIT) -> list[AdresKeuze]:
        """Autocomplete from the local gazetteer only (offline, a few ms on 60,000 addresses).

        ``[]`` for text shorter than :data:`SUGGEST_MIN_LOCAL` characters or without a gazetteer.
        Never raises.
        """
        text = (text or "").strip()
        if len(text) < SUGGEST_MIN_LOCAL or self.local is None:
            return []
        try:
            hits = self.local.geocode(text, exactly_one=False, limit=limit)
        except Exception as exc:  # noqa: BLE001 - odd input must never break typing
            log.info("location: local suggest failed: %s", exc)
            return []
        return with_gemeente([location_to_keuze(loc, "lokaal") for loc in hits])

    def suggest_online(
        self, text: str, *, limit: int = SUGGEST_LIMIT, exclude: Sequence[AdresKeuze] = ()
    ) -> tuple[list[AdresKeuze], bool]:
        """Autocomplete from PDOK Locatieserver ``suggest`` (blocks: call from a thread worker).

        Returns ``(keuzes, offline)``: at most ``limit`` addresses that are not already among
        ``exclude`` (same postcode, huisnummer, huisletter and toevoeging; the local answers are
        shown first), and ``offline`` True when PDOK was wanted but could not be asked (no
        connection, the service down). Text shorter than :data:`SUGGEST_MIN_ONLINE` characters is
        not sent. Answers are cached like every online answer. Never raises.
        """
        text = (text or "").strip()
        if len(text) < SUGGEST_MIN_ONLINE or limit <= 0:
            return [], False
        if not self.online:
            return [], True
        rows = limit + len(exclude)
        try:
            locations = self._cached(
                ("pdok", "suggest", text.casefold(), rows),
                lambda: self._pdok_geocoder().suggest(text, rows=rows) or [],
            )
        except Exception as exc:  # noqa: BLE001 - see _ask_online
            log.info("location: pdok suggest failed: %s", exc)
            return [], True
        seen = {adres_key(k.adres) for k in exclude}
        out: list[AdresKeuze] = []
        for loc in locations:
            loc = self._complete_pdok(loc)
            k = location_to_keuze(loc, "pdok")
            key = adres_key(k.adres)
            if key in seen or k.adres.huisnummer is None:
                continue
            seen.add(key)
            out.append(k)
            if len(out) == limit:
                break
        return out, False

    def _complete_pdok(self, location: Any) -> Any:
        """A ``suggest`` doc without its address parts or point (a server that ignored ``fl``)
        completed with ``lookup?id=…`` (cached); the doc as it was when that fails."""
        raw = location.raw if isinstance(location.raw, dict) else {}
        if (raw.get("huisnummer") is not None or raw.get("huis_nlt")) and raw.get("centroide_ll"):
            return location
        if not raw.get("id"):
            return location
        try:
            full = self._cached(("pdok", "lookup", raw["id"]), lambda: self._pdok_geocoder().lookup(raw["id"]))
        except Exception as exc:  # noqa: BLE001 - see _ask_online
            log.info("location: pdok lookup failed: %s", exc)
            return location
        return full or location

    def reverse(self, lat: float, lon: float) -> PuntResultaat:
        """A point (WGS84 degrees) → the nearest address within 100 m, else location-only.

        Local gazetteer first; when it has none and the laptop is online, PDOK ``reverse`` (100 m),
        then Nominatim (its answer is kept only when within 100 m).

        Raises:
            ValidationError: the point lies outside the Netherlands (with a swap suggestion).
        """
        punt = check_wgs84(lat, lon)
        if self.gazetteer is not None:
            hit = self.gazetteer.nearest(punt.lat, punt.lon, max_m=NEAREST_MAX_M)
            if hit is not None:
                a = hit.adres
                keuze = AdresKeuze(a.adres, a.punt, a.label(), "lokaal", round(hit.afstand_m, 1))
                return PuntResultaat(punt, keuze, self.wijk_for(a.adres, punt))

        def call(bron: str, geocoder: Any) -> list[AdresKeuze]:
            if bron == "pdok":
                loc = geocoder.reverse((punt.lat, punt.lon), exactly_one=True, distance=NEAREST_MAX_M)
                return [location_to_keuze(loc, bron)] if loc else []
            loc = geocoder.reverse((punt.lat, punt.lon), exactly_one=True, addressdetails=True)
            if not loc:
                return []
            d = distance_m(punt.lat, punt.lon, loc.latitude, loc.longitude)
            if d > NEAREST_MAX_M:
                return []
            k = location_to_keuze(loc, bron)
            return [msgspec.structs.replace(k, afstand_m=round(d, 1))]

        keuzes, _bron, offline = self._ask_online("reverse", (punt.lat, punt.lon), call)
        if keuzes:
            k = keuzes[0]
            return PuntResultaat(punt, k, self.wijk_for(k.adres, punt))
        message = NO_ADDRESS_MESSAGE + (f" ({OFFLINE_MESSAGE})" if offline else "")
        return PuntResultaat(punt, None, self.wijk_for(None, punt), message, offline)


def status_text(result: Zoekresultaat | PuntResultaat) -> str:
    """The status-bar text for a result: :data:`OFFLINE_MESSAGE` when offline, else ``""``."""
    return OFFLINE_MESSAGE if result.offline else ""


__all__ = [
    "NO_ADDRESS_MESSAGE",
    "OFFLINE_MESSAGE",
    "SUGGEST_LIMIT",
    "SUGGEST_MIN_LOCAL",
    "SUGGEST_MIN_ONLINE",
    "adres_key",
    "LocationLookup",
    "PuntResultaat",
    "Zoekresultaat",
    "status_text",
]
