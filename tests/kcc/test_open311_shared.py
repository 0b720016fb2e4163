"""shared.open311: GeoReport v2 shapes, field by field against the specification."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from shared.enums import Kanaal, MeldingType, Status
from shared.errors import ValidationError
from shared.model import Adres, Melder, Punt
from shared.open311 import (
    MAX_REQUESTS,
    error,
    fields_from_post,
    iso_local,
    parse_request_filter,
    service_request,
    services,
)
from shared.taxonomy import load_taxonomy
from shared.wijken import load_wijken
from tests.kcc.helpers import make

# GeoReport v2: datetimes are ISO 8601 with an offset, e.g. 2010-04-14T06:37:38-08:00.
ISO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
REG = datetime(2026, 4, 24, 8, 15, tzinfo=UTC)
SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_KEYS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip


def test_services_one_per_subcategory() -> None:
    tax = load_taxonomy()
    out = services(tax)
    assert [s["service_code"] for s in out] == [c.code for c in tax.categories]
    for s, c in zip(out, tax.categories, strict=True):
        assert set(s) == SERVICE_KEYS
        assert s["service_name"] == c.naam
        assert s["description"] == c.belofte
        assert s["group"] == c.hoofd_naam
        assert s["metadata"] is False
        assert s["type"] in ("realtime", "batch", "blackbox")
        assert isinstance(s["keywords"], str)
        assert s["keywords"].split(", ") == list(c.trefwoorden) or not c.trefwoorden


def test_iso_local_has_amsterdam_offset() -> None:
    assert iso_local(datetime(2026, 4, 24, 8, 15, tzinfo=UTC)) == "2026-04-24T10:15:00+02:00"
    assert iso_local(datetime(2026, 1, 5, 8, 15, tzinfo=UTC)) == "2026-01-05T09:15:00+01:00"
    assert iso_local(None) is None


def test_service_request_open() -> None:
    _, state, row = make(
        registered_at=REG,
        adres=Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen"),
        punt=Punt(lat=52.5012345, lon=6.2598765),
        melder=Melder(naam="Jan Jansen", telefoon="+31612345678", email="jan@example.nl"),
        omschrijving="Mevrouw Jansen (06-12345678) belde over de tak",
    )
    r = service_request(row, agency="Gemeente Dalfsen")
    assert set(r) <= REQUEST_KEYS
    assert r["service_request_id"] == state.reference
    assert r["status"] == "open"
    assert r["service_code"] == "groen/boom"
    assert r["service_name"] == load_taxonomy().get("groen/boom").naam
    assert r["service_notice"] == load_taxonomy().get("groen/boom").belofte
    assert r["agency_responsible"] == "Gemeente Dalfsen, wijk Centrum"
    assert r["requested_datetime"] == "2026-04-24T10:15:00+02:00"
    assert r["expected_datetime"] == "2026-05-04T23:59:59+02:00"
    assert ISO_OFFSET.match(r["updated_datetime"])
    assert r["address"] == "Kerkstraat, Dalfsen"
    assert r["zipcode"] == "7721"
    assert (r["lat"], r["long"]) == (52.501, 6.26)
    assert "status_notes" not in r  # no public note yet
    text = repr(r)
    for secret in ("Jansen", "612345678", "jan@example", "12A", "7721EJ", "belde"):
        assert secret not in text


def test_service_request_closed_has_status_notes() -> None:
    _, _, row = make(registered_at=REG, status=[(Status.AFGEHANDELD, "Tak weggehaald.")])
    r = service_request(row)
    assert r["status"] == "closed"
    assert r["status_notes"] == "Tak weggehaald."


@pytest.mark.parametrize("status", [Status.DOORGEZET, Status.GEANNULEERD])
def test_other_closed_statuses_are_closed(status: Status) -> None:
    _, _, row = make(registered_at=REG, status=[(status, "Reden.")])
    assert service_request(row)["status"] == "closed"


def test_error_shape() -> None:
    assert error(404, "Niet gevonden") == [{"code": 404, "description": "Niet gevonden"}]


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_filter_default_window_is_90_days() -> None:
    f = parse_request_filter({}, now=NOW)
    assert f.end == NOW and f.start == NOW - timedelta(days=90)
    assert f.limit == MAX_REQUESTS == 1000


def test_filter_one_date_gives_90_days() -> None:
    f = parse_request_filter({"start_date": "2026-01-01T00:00:00Z"}, now=NOW)
    assert f.start == datetime(2026, 1, 1, tzinfo=UTC) and f.end == f.start + timedelta(days=90)
    f = parse_request_filter({"end_date": "2026-04-01T00:00:00+02:00"}, now=NOW)
    assert f.end == datetime(2026, 3, 31, 22, tzinfo=UTC) and f.start == f.end - timedelta(days=90)


def test_filter_lists() -> None:
    f = parse_request_filter(
        {"service_request_id": "DLF-K7-0001, DLF-K7-0002", "service_code": "groen/boom", "status": "open,closed"},
        now=NOW,
    )
    # service_request_id overrides every other argument (spec), even one that would be refused.
    assert f.ids == ("DLF-K7-0001", "DLF-K7-0002")
    assert f.service_codes == () and f.statuses == ()
    assert f.start is None and f.end is None
    f = parse_request_filter({"service_request_id": "DLF-K7-0001", "status": "gemeld"}, now=NOW)
    assert f.ids == ("DLF-K7-0001",) and f.statuses == ()
    f = parse_request_filter({"service_code": "groen/boom,verlichting/lantaarnpaal", "status": "closed"}, now=NOW)
    assert f.service_codes == ("groen/boom", "verlichting/lantaarnpaal") and f.statuses == ("closed",)


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "gisteren"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
        {"status": "gemeld"},
        {"service_code": "bestaat/niet"},
    ],
)
def test_filter_errors(params: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        parse_request_filter(params, now=NOW)


def test_post_fields_with_point_and_reporter() -> None:
    f = fields_from_post(
        {
            "api_key": "x", "service_code": "verlichting/lantaarnpaal", "lat": "52.5", "long": "6.26",
            "description": "Lamp brandt niet", "first_name": "Jan", "last_name": "Jansen",
            "phone": "06-12345678", "email": "jan@example.nl", "attribute[x]": "y",
        }
    )  # fmt: skip
    assert f.kanaal == Kanaal.WEBSITE and f.type == MeldingType.MELDING
    assert f.categorie == "verlichting/lantaarnpaal"
    assert f.punt == Punt(lat=52.5, lon=6.26)
    assert f.omschrijving == "Lamp brandt niet"
    assert f.melder == Melder(naam="Jan Jansen", telefoon="+31612345678", email="jan@example.nl")


def test_post_fields_with_address_string() -> None:
    f = fields_from_post({"service_code": "groen/boom", "address_string": "Kerkstraat 12a, Dalfsen", "description": "x"})
    assert f.adres == Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", woonplaats="Dalfsen")
    assert f.locatie_omschrijving == "Kerkstraat 12a, Dalfsen"
    assert f.melder == Melder(anoniem=True)
    f = fields_from_post({"service_code": "groen/boom", "address_string": "bij de speeltuin", "description": "x"})
    assert f.adres is None and f.locatie_omschrijving == "bij de speeltuin"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "52.5", "long": "6.2", "description": "x"}, "service_code"),
        ({"service_code": "nee/nee", "lat": "52.5", "long": "6.2", "description": "x"}, "service_code"),
        ({"service_code": "groen/boom", "description": "x"}, "lat"),
        ({"service_code": "groen/boom", "lat": "52.5", "description": "x"}, "long"),
        ({"service_code": "groen/boom", "lat": "40.0", "long": "6.2", "description": "x"}, "lat"),
        ({"service_code": "groen/boom", "lat": "noord", "long": "6.2", "description": "x"}, "lat"),
        ({"service_code": "groen/boom", "lat": "52.5", "long": "6.2"}, "description"),
        ({"service_code": "groen/boom", "lat": "52.5", "long": "6.2", "description": "x", "phone": "06-123"}, "telefoon"),
        ({"service_code": "groen/boom", "lat": "52.5", "long": "6.2", "description": "x", "email": "jan@"}, "email"),
    ],
)
def test_post_fields_errors(params: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        fields_from_post(params)
    assert exc.value.field == field


def test_agency_names_the_wijk_by_its_configured_name_not_its_code() -> None:
    _, _, row = make(
        registered_at=REG,
        adres=Adres(straat="Kerkstraat", huisnummer=13, postcode="7721EJ", woonplaats="Dalfsen"),
        wijk="dalfsen",
    )
    naam = load_wijken().wijk("dalfsen").naam
    assert naam != "dalfsen"
    assert service_request(row, agency="Gemeente Dalfsen")["agency_responsible"] == f"Gemeente Dalfsen, wijk {naam}"
