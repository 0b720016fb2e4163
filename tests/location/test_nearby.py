"""shared.nearby: same categorie, open, within 50 m, last 12 weeks; linking a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.commands import DeviceClock, register
from shared.enums import Status
from shared.errors import ValidationError
from shared.events import MeldingFields
from shared.fold import fold
from shared.geo import distance_m
from shared.model import Punt
from shared.nearby import NEARBY_RADIUS_M, candidate_bounds, find_nearby, link_duplicate
from shared.projection import iso, projection_row

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
LAT, LON = 52.5067610, 6.2582183
# 0.0001° of latitude ≈ 11.12 m.
M_PER_1E4_LAT = distance_m(LAT, LON, LAT + 0.0001, LON)


def row(mid: str, *, dlat_m: float = 0.0, categorie: str = "verharding/losse_tegel", status: str = "gemeld",
        age: timedelta = timedelta(days=1), deleted: int = 0) -> dict:
    return {
        "melding_id": mid,
        "reference": f"DLF-K7-{mid}",
        "lat": LAT + dlat_m / M_PER_1E4_LAT * 0.0001,
        "lon": LON,
        "categorie": categorie,
        "status": status,
        "registered_at": iso(NOW - age),
        "deleted": deleted,
    }


def ids(hits) -> list[str]:
    return [h.row["melding_id"] for h in hits]


def search(rows, **kw):
    return find_nearby(rows, lat=LAT, lon=LON, categorie="verharding/losse_tegel", now=NOW, **kw)


def test_distance_limit_is_50_m() -> None:
    rows = [row("far", dlat_m=50.5), row("edge", dlat_m=49.5), row("near", dlat_m=3)]
    hits = search(rows)
    assert ids(hits) == ["near", "edge"]  # closest first
    assert hits[0].afstand_m == pytest.approx(3, abs=0.01)
    assert NEARBY_RADIUS_M == 50


def test_only_same_categorie_open_and_not_deleted() -> None:
    rows = [
        row("other-cat", categorie="groen/boom"),
        row("afgehandeld", status="afgehandeld"),
        row("geannuleerd", status="geannuleerd"),
        row("doorgezet", status="doorgezet"),
        row("deleted", deleted=1),
        row("heropend", status="heropend"),
        row("ingepland", status="ingepland"),
        {**row("no-point"), "lat": None, "lon": None},
    ]
    assert sorted(ids(search(rows))) == ["heropend", "ingepland"]


def test_window_is_12_weeks() -> None:
    rows = [
        row("old", age=timedelta(weeks=12, seconds=1)),
        row("just-in", age=timedelta(weeks=12) - timedelta(seconds=1)),
        row("future", age=-timedelta(hours=1)),
    ]
    assert ids(search(rows)) == ["just-in"]


def test_datetime_values_and_exclude_self() -> None:
    r = row("self")
    r2 = {**row("other"), "registered_at": NOW - timedelta(days=2)}
    assert ids(search([r, r2], exclude_id="self")) == ["other"]


def test_candidate_bounds_contain_the_circle() -> None:
    b = candidate_bounds(LAT, LON, NOW)
    assert b["since"] == iso(NOW - timedelta(weeks=12))
    # Points 50 m away in each direction are inside the box; 60 m east is not.
    assert b["min_lat"] < LAT - 50 / M_PER_1E4_LAT * 0.0001 < LAT + 50 / M_PER_1E4_LAT * 0.0001 < b["max_lat"]
    east_50 = LON + (b["max_lon"] - LON) * 0.99
    assert distance_m(LAT, LON, LAT, east_50) < 50
    assert distance_m(LAT, LON, LAT, b["max_lon"] + 0.0002) > 50


def _melding(dev: DeviceClock, counter: int, punt: Punt):
    ev = register(
        dev, prefix="DLF", counter=counter,
        fields=MeldingFields(punt=punt, categorie="verharding/losse_tegel", omschrijving="Losse tegel"),
        registered_at=NOW - timedelta(days=1),
    )
    return ev


def test_link_duplicate_cancels_and_links_and_the_original_stays_open() -> None:
    dev = DeviceClock(device_id="K7", user="piet")
    original_ev = _melding(dev, 1, Punt(lat=LAT, lon=LON))
    new_ev = _melding(dev, 2, Punt(lat=LAT + 0.0001, lon=LON))
    original = fold([original_ev])
    new = fold([new_ev])
    assert original is not None and new is not None
    hits = find_nearby([projection_row(original)], lat=new.punt.lat, lon=new.punt.lon,
                       categorie=new.categorie, now=NOW, exclude_id=new.melding_id)
    assert [h.reference for h in hits] == [original.reference]
    events = link_duplicate(dev, new, original.reference)
    linked = fold([new_ev, *events])
    assert linked is not None
    assert linked.status == Status.GEANNULEERD
    assert linked.duplicaat_van == original.reference
    assert linked.public_note() == f"Dubbele melding van {original.reference}."
    # The linked duplicate is closed, so it no longer shows up as a nearby candidate itself.
    assert find_nearby([projection_row(linked)], lat=LAT, lon=LON, categorie=new.categorie, now=NOW) == []
    with pytest.raises(ValidationError):
        link_duplicate(dev, new, new.reference)


def test_nearby_query_on_a_real_laptop_store_and_linking(tmp_path) -> None:
    from wijkteam_tui.location.nearby_query import nearby_candidates
    from wijkteam_store.local import LocalStore

    with LocalStore(tmp_path / "w.sqlite") as store:
        store.set_device_code("K7")
        dev = store.device_clock("piet")

        def add(lat: float, lon: float, categorie: str, days: int):
            return store.register(dev, prefix="DLF", registered_at=NOW - timedelta(days=days), fields=MeldingFields(
                punt=Punt(lat=lat, lon=lon), categorie=categorie, omschrijving="Losse tegel"))

        first = add(LAT, LON, "verharding/losse_tegel", 5)
        add(LAT + 0.0002, LON, "verharding/losse_tegel", 200)  # 22 m away but 200 days old
        add(LAT + 0.0001, LON, "groen/boom", 1)  # other categorie
        add(LAT + 0.001, LON, "verharding/losse_tegel", 1)  # 111 m away
        new = add(LAT + 0.0001, LON, "verharding/losse_tegel", 0)
        hits = nearby_candidates(store.conn, lat=new.punt.lat, lon=new.punt.lon, categorie=new.categorie,
                                 now=NOW, exclude_id=new.melding_id)
        assert [h.reference for h in hits] == [first.reference]
        assert hits[0].afstand_m == pytest.approx(11.12, abs=0.05)
        store.append(link_duplicate(dev, new, first.reference), dev)
        linked = store.get(new.melding_id)
        assert linked.status == Status.GEANNULEERD and linked.duplicaat_van == first.reference
        # Once linked, a later melding at the same spot sees only the original, not the duplicate.
        again = nearby_candidates(store.conn, lat=new.punt.lat, lon=new.punt.lon, categorie=new.categorie, now=NOW)
        assert [h.reference for h in again] == [first.reference]
