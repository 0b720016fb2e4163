"""shared.geo: NL bounds with swap hints, RD New ⇄ WGS84, 7 decimals through storage, GIS export."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.commands import DeviceClock, register
from shared.errors import ValidationError
from shared.events import MeldingFields, decode_event, encode_event
from shared.fold import fold
from shared.geo import (
    check_rd,
    check_wgs84,
    distance_m,
    feature_collection,
    format_coord,
    melding_feature,
    parse_point,
    parse_wkt_point,
    rd_columns,
    rd_to_wgs84,
    round_coord,
    wgs84_to_rd,
)
from shared.model import Adres, Melder, Punt
from shared.projection import projection_row


def test_point_inside_nl_is_accepted_and_rounded() -> None:
    p = check_wgs84(52.50676104, 6.25821834)
    assert (p.lat, p.lon) == (52.506761, 6.2582183)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(50.69, 5.0), (53.61, 5.0), (52.0, 3.29), (52.0, 7.31), (0.0, 0.0), (48.85, 2.35)],
)
def test_point_outside_nl_is_refused(lat: float, lon: float) -> None:
    with pytest.raises(ValidationError) as exc:
        check_wgs84(lat, lon)
    assert exc.value.field == "punt"
    assert "buiten Nederland" in exc.value.message
    assert "omgedraaid" not in exc.value.message


def test_swapped_lat_lon_gets_a_swap_suggestion() -> None:
    with pytest.raises(ValidationError) as exc:
        check_wgs84(6.2582183, 52.506761)
    msg = exc.value.message
    assert "omgedraaid" in msg
    assert "breedte 52.5067610, lengte 6.2582183" in msg


def test_bounds_edges_are_inclusive() -> None:
    assert check_wgs84(50.7, 3.3) == Punt(lat=50.7, lon=3.3)
    assert check_wgs84(53.6, 7.3) == Punt(lat=53.6, lon=7.3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None])
def test_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        check_wgs84(bad, 5.0)  # type: ignore[arg-type]


def test_rd_bounds_and_swap_suggestion() -> None:
    assert check_rd(155000, 463000) == (155000.0, 463000.0)
    with pytest.raises(ValidationError) as exc:
        check_rd(463000, 155000)
    assert "omgedraaid" in exc.value.message and "x = 155000.00" in exc.value.message
    with pytest.raises(ValidationError) as exc:
        check_rd(-5, 700000)
    assert "omgedraaid" not in exc.value.message
    assert "buiten Nederland" in exc.value.message


def test_amersfoort_reference_point() -> None:
    # REFERENCE.md: RD x=155000, y=463000 is about 52.1552 N, 5.3872 E.
    p = rd_to_wgs84(155000, 463000)
    assert p.lat == pytest.approx(52.1552, abs=2e-4)
    assert p.lon == pytest.approx(5.3872, abs=2e-4)
    x, y = wgs84_to_rd(p.lat, p.lon)
    assert x == pytest.approx(155000, abs=0.05)
    assert y == pytest.approx(463000, abs=0.05)


@given(
    st.floats(min_value=13_000, max_value=278_000),
    st.floats(min_value=306_000, max_value=619_000),
)
def test_rd_round_trip_within_a_few_centimetres(x: float, y: float) -> None:
    try:
        p = rd_to_wgs84(x, y)
    except ValidationError:
        return  # the RD box is wider than the WGS84 box in its corners
    lat, lon = p.lat, p.lon
    x2, y2 = wgs84_to_rd(lat, lon)
    assert abs(x2 - x) < 0.05 and abs(y2 - y) < 0.05


def test_rd_columns() -> None:
    assert rd_columns(None, 6.25) == (None, None)
    x, y = rd_columns(52.5075652, 6.2573199)
    assert 200_000 < x < 230_000 and 490_000 < y < 510_000
    assert x == round(x, 2) and y == round(y, 2)


def test_distance_metres() -> None:
    # One thousandth of a degree of latitude is about 111.2 m everywhere.
    assert distance_m(52.5, 6.25, 52.501, 6.25) == pytest.approx(111.19, abs=0.05)
    assert distance_m(52.5, 6.25, 52.5, 6.25) == 0.0
    # Kerkstraat 12 A and 12 B in the sample lie 0.00003° apart: about 3.3 m.
    assert distance_m(52.5067610, 6.2582183, 52.5067910, 6.2582183) == pytest.approx(3.34, abs=0.02)


def test_parse_point_forms() -> None:
    assert parse_point("52.506761, 6.2582183") == Punt(lat=52.506761, lon=6.2582183)
    assert parse_point("52,506761 6,2582183") == Punt(lat=52.506761, lon=6.2582183)
    rd = parse_point("155000 463000")
    assert rd.lat == pytest.approx(52.1552, abs=2e-4)
    with pytest.raises(ValidationError) as exc:
        parse_point("6.2582183, 52.506761")
    assert "omgedraaid" in exc.value.message
    with pytest.raises(ValidationError):
        parse_point("bij de speeltuin")


def test_parse_wkt_point() -> None:
    assert parse_wkt_point("POINT(6.2582183 52.506761)") == (6.2582183, 52.506761)
    assert parse_wkt_point(" point ( 213575.1  501135.2 ) ") == (213575.1, 501135.2)
    with pytest.raises(ValueError):
        parse_wkt_point("LINESTRING(1 2, 3 4)")


# -- 7 decimals through storage and sync -------------------------------------------------------------


def test_format_coord_never_shows_float_noise() -> None:
    noisy = 5.121420099999999
    assert format_coord(noisy) == "5.1214201"
    assert round_coord(noisy) == 5.1214201
    assert repr(round_coord(noisy)) == "5.1214201"


def _registered(punt: Punt):
    dev = DeviceClock(device_id="K7", user="piet")
    ev = register(
        dev,
        prefix="DLF",
        counter=1,
        fields=MeldingFields(punt=punt, omschrijving="Tegel los", adres=Adres(straat="Kerkstraat", woonplaats="Dalfsen")),
        registered_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    return ev


def test_coordinates_survive_event_json_sqlite_and_fold_with_seven_decimals() -> None:
    # 0.1 + 0.2 style arithmetic produces the noisy float a naive pipeline would store.
    punt = Punt(lat=52.1 + 0.0000001 * 3, lon=5.121420099999999)
    ev = _registered(punt)
    wire = encode_event(ev)
    back = decode_event(wire)
    state = fold([back])
    assert state is not None and state.punt is not None
    row = projection_row(state)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (lat REAL, lon REAL, state TEXT)")
    db.execute("INSERT INTO t VALUES (?, ?, ?)", (row["lat"], row["lon"], msgspec.json.encode(state).decode()))
    lat, lon, state_json = db.execute("SELECT lat, lon, state FROM t").fetchone()
    assert format_coord(lon) == "5.1214201" and repr(lon) == "5.1214201"
    assert format_coord(lat) == "52.1000003"
    assert '"lon":5.1214201' in state_json.replace(" ", "")
    assert b"5.121420099999999" not in wire
    assert "5.121420099999999" not in state_json


def test_melding_location_text_uses_seven_decimals() -> None:
    state = fold([_registered(Punt(lat=52.5, lon=6.25))])
    assert state is not None
    state.adres = None
    assert state.location_text() == "52.5000000, 6.2500000"


# -- GIS export --------------------------------------------------------------------------------------


def test_melding_feature_from_melding_is_lon_lat_and_has_no_personal_data() -> None:
    dev = DeviceClock(device_id="K7", user="piet")
    ev = register(
        dev,
        prefix="DLF",
        counter=7,
        fields=MeldingFields(
            punt=Punt(lat=52.506761, lon=6.2582183),
            adres=Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen"),
            melder=Melder(naam="Jan Jansen", telefoon="+31612345678", email="jan@example.nl"),
            omschrijving="Lantaarnpaal brandt niet",
        ),
        registered_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    state = fold([ev])
    assert state is not None
    f = melding_feature(state)
    assert f["type"] == "Feature"
    assert f["id"] == state.melding_id
    assert f["geometry"] == {"type": "Point", "coordinates": [6.2582183, 52.506761]}
    props = f["properties"]
    assert props["reference"] == state.reference
    assert props["huisletter"] == "A" and props["postcode"] == "7721EJ"
    assert props["is_open"] is True
    assert props["rd_x"] == rd_columns(52.506761, 6.2582183)[0]
    text = json.dumps(f)
    assert "Jan Jansen" not in text and "+31612345678" not in text and "jan@example.nl" not in text


def test_feature_collection_from_rows_and_unlocated_meldingen() -> None:
    rows = [
        {"melding_id": "a", "reference": "DLF-K7-0001", "lat": 52.5, "lon": 6.25, "status": "gemeld", "is_open": 1},
        {"melding_id": "b", "reference": "DLF-K7-0002", "lat": None, "lon": None, "status": "gemeld", "is_open": 1},
    ]
    fc = feature_collection(rows)
    assert fc["type"] == "FeatureCollection"
    assert [f["id"] for f in fc["features"]] == ["a", "b"]
    assert fc["features"][1]["geometry"] is None
    assert [f["id"] for f in feature_collection(rows, only_located=True)["features"]] == ["a"]
    # Round-trips through JSON as valid GeoJSON-shaped data.
    again = msgspec.json.decode(msgspec.json.encode(fc))
    assert again["features"][0]["geometry"]["coordinates"] == [6.25, 52.5]


def test_streamed_feature_collection_equals_the_in_memory_one() -> None:
    from shared.geo import iter_feature_collection_json

    rows = [
        {"melding_id": str(i), "reference": f"DLF-K7-{i:04d}", "lat": 52.5 + i * 1e-7 if i % 3 else None,
         "lon": 6.1214201 if i % 3 else None, "status": "gemeld", "is_open": 1}
        for i in range(10)
    ]
    for only in (False, True):
        text = "".join(iter_feature_collection_json(rows, only_located=only))
        assert msgspec.json.decode(text) == msgspec.json.decode(msgspec.json.encode(feature_collection(rows, only_located=only)))
    assert "6.1214201" in text and "6.121420099" not in text
    assert "".join(iter_feature_collection_json([])) == '{"type":"FeatureCollection","features":[]}\n'
