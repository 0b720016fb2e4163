"""Open311 GeoReport v2 (JSON) mapping: services from the taxonomy, service requests from meldingen.

Source: the GeoReport v2 specification (wiki.open311.org/GeoReport_v2; summary in REFERENCE.md):

* a service has ``service_code``, ``service_name``, ``description``, ``metadata`` (bool), ``type``
  (``realtime``/``batch``/``blackbox``), ``keywords`` (comma-separated text) and ``group``;
* a service request has ``service_request_id``, ``status`` (``open``/``closed``), ``status_notes``,
  ``service_name``, ``service_code``, ``description``, ``agency_responsible``, ``service_notice``,
  ``requested_datetime``, ``updated_datetime``, ``expected_datetime`` (ISO 8601 with offset),
  ``address``, ``address_id``, ``zipcode``, ``lat``, ``long``, ``media_url``;
* ``GET requests`` filters on ``service_request_id`` (comma list), ``service_code``, ``status``,
  ``start_date``/``end_date``; without dates the last 90 days, never more than 90 days, at most
  1000 results;
* errors are an array of ``{"code": …, "description": …}``.

Wijkteam's choices (docs/open311.md): ``service_code`` is the categorie code (``groen/boom``);
``service_request_id`` is the reference (``DLF-K7-0142``); datetimes are Europe/Amsterdam wall time
with its offset. GET responses never carry personal data: no reporter fields, no free-text
description (residents write names and phone numbers in it), no house number or full postcode
(``zipcode`` is the 4-digit area), and the point is rounded to 3 decimals (about 100 m).

Pure: works on projection rows (``shared.projection.COLUMNS``) and the taxonomy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec

from shared.deadlines import AMS
from shared.enums import Kanaal, MeldingType, Status
from shared.errors import ValidationError
from shared.events import MeldingFields
from shared.hlc import stamp_datetime
from shared.model import Adres, Melder, Punt
from shared.projection import parse_iso
from shared.search import QueryKind, classify
from shared.status import promise_applies
from shared.taxonomy import Taxonomy, load_taxonomy
from shared.validation import (
    MAX_EMAIL_LENGTH,
    MAX_INSTANT,
    MAX_NAME_LENGTH,
    MAX_SHORT_TEXT_LENGTH,
    MAX_TEXT_LENGTH,
    MIN_INSTANT,
    clean_line,
    clean_text,
    normalise_email,
    normalise_phone,
)
from shared.wijken import wijk_naam

#: Default and largest date window of ``GET requests`` (spec: "may not span more than 90 days").
WINDOW_DAYS = 90
#: Largest number of requests one ``GET requests`` returns (spec: "1000 requests").
MAX_REQUESTS = 1000
#: Decimals of lat/long in GET responses: 3 decimals ≈ 110 m north–south, ≈ 70 m east–west here.
PUBLIC_COORD_DECIMALS = 3
#: The Netherlands in WGS84 (EPSG:4326), the box Signalen uses: lat 50.7–53.6, lon 3.3–7.3.
NL_LAT = (50.7, 53.6)
NL_LON = (3.3, 7.3)
#: The service ``type``: a request is registered at once and gets its id in the answer.
SERVICE_TYPE = "realtime"


class GeoReportError(msgspec.Struct):
    """One element of a GeoReport error body: ``code`` is the HTTP status, ``description`` Dutch text."""

    code: int
    description: str


def error(code: int, description: str) -> list[dict[str, Any]]:
    """A GeoReport error body: ``[{"code": 400, "description": "…"}]`` (:class:`GeoReportError`)."""
    return [msgspec.structs.asdict(GeoReportError(code, description))]


def _field(description: str, **constraints: Any) -> Any:
    return msgspec.Meta(description=description, **constraints)


class PostRequest(msgspec.Struct):
    """The body of ``POST requests`` (GeoReport v2), form-encoded as the spec says or a JSON object with
    the same keys. This describes the body for the OpenAPI document; :func:`fields_from_post` reads it
    (and words its refusals), so a change to one belongs in the other.

    A location is needed: ``lat`` and ``long`` together, or ``address_string``. ``address_id``,
    ``media_url``, ``device_id``, ``account_id`` and ``attribute[…]`` are accepted and ignored (no
    service asks attributes; there is no address register by id).
    """

    service_code: Annotated[str, _field("De categorie, zoals in services.json (bijv. groen/boom).", min_length=1)]
    description: Annotated[
        str, _field("Wat er aan de hand is.", min_length=1, max_length=MAX_TEXT_LENGTH)
    ]
    api_key: Annotated[
        str, _field("Token met rol wijkuitvoerder of admin; mag ook als 'Authorization: Bearer …' of ?api_key=.")
    ] = ""
    lat: Annotated[float, _field("Breedtegraad (WGS84), in Nederland.", ge=NL_LAT[0], le=NL_LAT[1])] | msgspec.UnsetType = msgspec.UNSET
    long: Annotated[float, _field("Lengtegraad (WGS84), in Nederland.", ge=NL_LON[0], le=NL_LON[1])] | msgspec.UnsetType = msgspec.UNSET
    address_string: Annotated[
        str, _field("Adres of omschrijving van de plek.", max_length=MAX_SHORT_TEXT_LENGTH)
    ] = ""
    address_id: Annotated[str, _field("Genegeerd.")] = ""
    email: Annotated[str, _field("E-mailadres van de melder.", max_length=MAX_EMAIL_LENGTH)] = ""
    first_name: Annotated[str, _field("Voornaam van de melder.", max_length=MAX_NAME_LENGTH)] = ""
    last_name: Annotated[str, _field("Achternaam van de melder.", max_length=MAX_NAME_LENGTH)] = ""
    phone: Annotated[str, _field("Telefoonnummer van de melder.")] = ""
    media_url: Annotated[str, _field("Genegeerd.")] = ""
    device_id: Annotated[str, _field("Genegeerd.")] = ""
    account_id: Annotated[str, _field("Genegeerd.")] = ""


def iso_local(instant: datetime | None) -> str | None:
    """An aware instant as ISO 8601 Europe/Amsterdam time with offset, to the second:
    ``2026-04-24T10:15:00+02:00``. None stays None."""
    if instant is None:
        return None
    return instant.astimezone(AMS).isoformat(timespec="seconds")


def services(taxonomy: Taxonomy | None = None) -> list[dict[str, Any]]:
    """Every sub-category of the taxonomy that can be chosen (not retired, ``vervallen``) as a
    GeoReport service, in file order.

    ``description`` is the service promise (belofte); ``group`` the main category's Dutch name;
    ``metadata`` is false (no extra attributes are asked), ``type`` is ``realtime``.
    """
    taxonomy = taxonomy or load_taxonomy()
    return [
        {
            "service_code": c.code,
            "service_name": c.naam,
            "description": c.belofte,
            "metadata": False,
            "type": SERVICE_TYPE,
            "keywords": ", ".join(c.trefwoorden),
            "group": c.hoofd_naam,
        }
        for c in taxonomy.categories
        if not c.vervallen
    ]


def _updated(row: Mapping[str, Any]) -> datetime | None:
    hlc = row.get("updated_hlc") or 0
    return stamp_datetime(hlc) if hlc > 0 else parse_iso(row.get("registered_at"))


def _public_coord(value: float | None) -> float | None:
    return None if value is None else round(value, PUBLIC_COORD_DECIMALS)


def service_request(
    row: Mapping[str, Any], taxonomy: Taxonomy | None = None, *, agency: str = "Gemeente"
) -> dict[str, Any]:
    """A melding's projection row as a GeoReport service request, without personal data.

    Keys that have no value are left out (the spec allows omitting optional fields); ``status``,
    ``service_request_id`` and ``requested_datetime`` are always there.

    Args:
        row: a ``meldingen`` projection row (needs the non-personal columns only).
        agency: the municipality's name; the wijk is added when known (``"Gemeente Dalfsen, wijk
            Noord"``).
    """
    taxonomy = taxonomy or load_taxonomy()
    code = row.get("categorie")
    cat = taxonomy.get(code) if code and code in taxonomy else None
    straat, woonplaats = row.get("straat") or "", row.get("woonplaats") or ""
    address = ", ".join(p for p in (straat, woonplaats) if p) or None
    postcode = row.get("postcode")
    wijk = wijk_naam(row.get("wijk"))  # people read names, not codes
    ours = promise_applies(Status(row["status"])) if row.get("status") else True
    out: dict[str, Any] = {
        "service_request_id": row["reference"],
        "status": "open" if row["is_open"] else "closed",
        "status_notes": row.get("public_note") or None,
        "service_name": cat.naam if cat else None,
        "service_code": code,
        "agency_responsible": f"{agency}, wijk {wijk}" if wijk else agency,
        "service_notice": cat.belofte if cat and ours else None,
        "requested_datetime": iso_local(parse_iso(row["registered_at"])),
        "updated_datetime": iso_local(_updated(row)),
        "expected_datetime": iso_local(parse_iso(row.get("deadline"))) if ours else None,
        "address": address,
        "zipcode": postcode[:4] if postcode else None,
        "lat": _public_coord(row.get("lat")),
        "long": _public_coord(row.get("lon")),
    }
    return {k: v for k, v in out.items() if v is not None}


# --- GET requests filters ----------------------------------------------------------------------


class RequestFilter(msgspec.Struct, frozen=True):
    """Parsed ``GET requests`` query.

    Attributes:
        ids: references asked for (``service_request_id``); when given, every other filter is
            ignored, as the spec says.
        service_codes: categorie codes (comma list).
        statuses: ``open`` and/or ``closed``.
        start, end: UTC instants bounding ``requested_datetime`` (start inclusive, end inclusive).
        limit: at most :data:`MAX_REQUESTS`.
    """

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    limit: int = MAX_REQUESTS


def _comma(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _w3c(value: str, name: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValidationError(name, f"{name} is geen datum-tijd in W3C-formaat, zoals 2026-04-01T00:00:00Z.") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=AMS)  # a local time without offset is read as Dutch time
    # A window is computed around the dates (± 90 days, ± 1 day for the index): year 9999 would
    # overflow, and no melding lies outside these bounds anyway.
    if not MIN_INSTANT <= instant <= MAX_INSTANT:
        raise ValidationError(name, f"{name} ligt buiten {MIN_INSTANT.year}–{MAX_INSTANT.year}.")
    return instant.astimezone(UTC)


def parse_request_filter(
    params: Mapping[str, str | None], *, now: datetime | None = None, taxonomy: Taxonomy | None = None
) -> RequestFilter:
    """Parse the ``GET requests`` query parameters per the spec.

    ``service_request_id`` overrides every other argument. Otherwise: without ``start_date`` and
    ``end_date`` the window is the last 90 days up to ``now``; with one of them the other is 90 days
    away; a window longer than 90 days is refused.

    Raises:
        ValidationError: a date that is not W3C date-time, end before start, a window over 90
            days, an unknown ``status`` or ``service_code``.
    """
    taxonomy = taxonomy or load_taxonomy()
    now = now or datetime.now(UTC)
    ids = _comma(params.get("service_request_id"))
    if ids:
        # Spec: service_request_id "overrides all other arguments".
        return RequestFilter(ids=ids)
    codes = _comma(params.get("service_code"))
    for code in codes:
        if code not in taxonomy:
            raise ValidationError("service_code", f"Onbekende service_code '{code}'.")
    statuses = tuple(s.lower() for s in _comma(params.get("status")))
    for s in statuses:
        if s not in ("open", "closed"):
            raise ValidationError("status", "status is open of closed.")
    start_raw, end_raw = params.get("start_date"), params.get("end_date")
    start = _w3c(start_raw, "start_date") if start_raw else None
    end = _w3c(end_raw, "end_date") if end_raw else None
    window = timedelta(days=WINDOW_DAYS)
    if start is None and end is None:
        end, start = now, now - window
    elif start is None:
        start = end - window
    elif end is None:
        end = start + window
    if end < start:
        raise ValidationError("end_date", "end_date ligt voor start_date.")
    if end - start > window:
        raise ValidationError("start_date", f"Een zoekperiode is hoogstens {WINDOW_DAYS} dagen.")
    return RequestFilter(service_codes=codes, statuses=statuses, start=start, end=end)


# --- POST requests -----------------------------------------------------------------------------


def _float(value: str | None, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationError(name, f"{name} is geen getal.") from None


def fields_from_post(params: Mapping[str, Any], taxonomy: Taxonomy | None = None) -> MeldingFields:
    """The intake fields for a ``POST requests`` body (form or JSON keys as in the spec).

    Maps ``service_code`` → categorie, ``lat``/``long`` → punt (WGS84, must lie in the Netherlands),
    ``address_string`` → locatie_omschrijving (and an address when it is a postcode + number or a
    street + number), ``description`` → omschrijving, ``first_name``/``last_name``/``phone``/
    ``email`` → melder. ``type`` is melding, ``kanaal`` website. ``api_key`` and unknown keys such as
    ``attribute[…]``, ``device_id``, ``account_id``, ``media_url`` are ignored.

    Raises:
        ValidationError: missing or unknown ``service_code``; no location; a point outside the
            Netherlands; a bad phone number or e-mail address; texts too long; no description.
    """
    taxonomy = taxonomy or load_taxonomy()
    code = str(params.get("service_code") or "").strip()
    if not code:
        raise ValidationError("service_code", "service_code is verplicht.")
    if code not in taxonomy:
        raise ValidationError("service_code", f"Onbekende service_code '{code}'.")
    lat, lon = _float(params.get("lat"), "lat"), _float(params.get("long"), "long")
    address_string = clean_line(str(params.get("address_string") or ""), "address_string", max_length=MAX_SHORT_TEXT_LENGTH)
    if (lat is None) != (lon is None):
        raise ValidationError("long" if lon is None else "lat", "lat en long horen bij elkaar: geef ze allebei.")
    if lat is None and not address_string:
        raise ValidationError("lat", "Geef een locatie: lat en long, of address_string.")
    punt = None
    if lat is not None and lon is not None:
        if not (NL_LAT[0] <= lat <= NL_LAT[1] and NL_LON[0] <= lon <= NL_LON[1]):
            raise ValidationError("lat", "Deze locatie ligt niet in Nederland (lat 50,7–53,6; long 3,3–7,3).")
        punt = Punt(lat=lat, lon=lon)
    adres = _adres(address_string) if address_string else None
    description = clean_text(str(params.get("description") or ""), "description")
    if not description:
        raise ValidationError("description", "description is verplicht: beschrijf kort waar het om gaat.")
    naam = " ".join(
        clean_line(str(params.get(k) or ""), k, max_length=MAX_NAME_LENGTH) for k in ("first_name", "last_name")
    ).strip()
    phone_raw, email_raw = str(params.get("phone") or "").strip(), str(params.get("email") or "").strip()
    telefoon = normalise_phone(phone_raw) if phone_raw else None
    email = normalise_email(email_raw) if email_raw else None
    melder = Melder(naam=naam, telefoon=telefoon, email=email) if (naam or telefoon or email) else Melder(anoniem=True)
    return MeldingFields(
        type=MeldingType.MELDING,
        kanaal=Kanaal.WEBSITE,
        categorie=code,
        punt=punt,
        adres=adres,
        locatie_omschrijving=address_string,
        omschrijving=description,
        melder=melder,
    )


def _adres(address_string: str) -> Adres | None:
    """An address from ``address_string`` when it is recognisably one (postcode + number, or street
    + number); the text itself is always kept as the location description."""
    try:
        q = classify(address_string)
    except ValidationError:
        return None
    if q.kind == QueryKind.POSTCODE and q.huisnummer is not None:
        return Adres(postcode=q.postcode, huisnummer=q.huisnummer, huisletter=q.huisletter,
                     huisnummertoevoeging=q.huisnummertoevoeging)  # fmt: skip
    if q.kind == QueryKind.STREET and q.straat and q.huisnummer is not None:
        woonplaats = address_string.split(",", 1)[1].strip() if "," in address_string else ""
        return Adres(straat=q.straat, huisnummer=q.huisnummer, huisletter=q.huisletter,
                     huisnummertoevoeging=q.huisnummertoevoeging, woonplaats=woonplaats)  # fmt: skip
    return None
