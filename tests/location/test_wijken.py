"""shared.wijken: polygons, woonplaats and postcode mappings, and "buiten de gemeente"."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shared.gazetteer import load_sample_gazetteer
from shared.model import Adres, Punt
from shared.wijken import (
    BUITEN_GEMEENTE,
    load_wijken,
    parse_wijken,
    point_in_polygon,
    read_wijken,
)

ZWOLLE = Punt(lat=52.5126412, lon=6.0917013)
COUNTRYSIDE = Punt(lat=52.55, lon=6.27)  # inside the sample municipality, between the villages

TOML_NO_POLYGONS = """
[[gemeente]]
naam = "Dalfsen"
woonplaatsen = ["Dalfsen", "Nieuwleusen", "Lemelerveld"]
postcodes = ["7721", "7722", "7711", "8151"]

[[gemeente.wijk]]
code = "noord"
naam = "Noord"
woonplaatsen = ["Nieuwleusen"]

[[gemeente.wijk]]
code = "zuid"
naam = "Zuid"
woonplaatsen = ["Dalfsen", "Lemelerveld"]
postcodes = ["7721", "7722"]
"""


def test_sample_config_is_labelled_and_has_three_wijken() -> None:
    cfg = load_wijken()
    assert cfg.sample is True
    assert [w.code for w in cfg.wijken] == ["dalfsen", "nieuwleusen", "lemelerveld"]
    assert cfg.gemeenten[0].prefix == "DLF"


def test_every_sample_address_falls_in_the_wijk_of_its_woonplaats() -> None:
    cfg = load_wijken()
    expected = {"Dalfsen": "dalfsen", "Nieuwleusen": "nieuwleusen", "Lemelerveld": "lemelerveld"}
    for a in load_sample_gazetteer():
        by_point = cfg.resolve(punt=a.punt)
        assert (by_point.status, by_point.wijk, by_point.bron) == ("wijk", expected[a.woonplaats], "polygoon"), a
        by_address = cfg.resolve(adres=Adres(straat=a.straat, huisnummer=a.huisnummer, woonplaats=a.woonplaats))
        assert by_address.wijk == expected[a.woonplaats]


def test_point_outside_the_municipality_is_buiten_never_unknown() -> None:
    r = load_wijken().resolve(punt=ZWOLLE)
    assert r.status == "buiten" and r.wijk is None and r.gemeente is None
    assert BUITEN_GEMEENTE in r.message
    assert BUITEN_GEMEENTE == "buiten de gemeente: bevestigen of doorzetten"
    assert "onbekend" not in r.message.lower()


def test_address_outside_the_municipality_is_buiten() -> None:
    r = load_wijken().resolve(adres=Adres(straat="Grote Markt", huisnummer=1, postcode="8011LW", woonplaats="Zwolle"))
    assert r.status == "buiten"
    assert r.message == f"Dit adres ligt {BUITEN_GEMEENTE}."
    r = load_wijken().resolve(adres=Adres(postcode="8011LW", huisnummer=1))
    assert r.status == "buiten"


def test_point_in_municipality_but_no_wijk_asks_for_the_wijk() -> None:
    r = load_wijken().resolve(punt=COUNTRYSIDE)
    assert (r.status, r.gemeente, r.wijk) == ("gemeente", "Dalfsen", None)
    assert "kies de wijk" in r.message


def test_nothing_to_decide_on() -> None:
    assert load_wijken().resolve().status == "onbepaald"
    assert load_wijken().resolve(adres=Adres()).status == "onbepaald"


def test_woonplaats_and_postcode_mapping_without_polygons() -> None:
    cfg = parse_wijken(TOML_NO_POLYGONS)
    assert cfg.sample is False
    assert cfg.resolve(adres=Adres(woonplaats="nieuwleusen")).wijk == "noord"
    r = cfg.resolve(adres=Adres(woonplaats="Lemelerveld"))
    assert (r.wijk, r.bron) == ("zuid", "woonplaats")
    r = cfg.resolve(adres=Adres(postcode="7722AB"))
    assert (r.wijk, r.bron) == ("zuid", "postcode")
    # A postcode area of the gemeente that no wijk claims: inside, but choose the wijk.
    r = cfg.resolve(adres=Adres(postcode="8151AA"))
    assert (r.status, r.gemeente) == ("gemeente", "Dalfsen")
    assert cfg.resolve(adres=Adres(woonplaats="Zwolle")).status == "buiten"
    # Without polygons a bare point cannot be called outside.
    assert cfg.resolve(punt=ZWOLLE).status == "onbepaald"


def test_polygon_with_a_hole() -> None:
    outer = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)]
    hole = [(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0), (4.0, 4.0)]
    assert point_in_polygon(2, 2, [outer, hole])
    assert not point_in_polygon(5, 5, [outer, hole])
    assert not point_in_polygon(11, 5, [outer, hole])


def test_multipolygon_and_gemeente_from_files(tmp_path: Path) -> None:
    (tmp_path / "w.toml").write_text(
        'geojson = "w.geojson"\n[[gemeente]]\nnaam = "Test"\n[[gemeente.wijk]]\ncode = "twee"\nnaam = "Twee delen"\n',
        encoding="utf-8",
    )
    (tmp_path / "w.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"wijk": "twee"},'
        ' "geometry": {"type": "MultiPolygon", "coordinates": ['
        "[[[5.0, 52.0], [5.1, 52.0], [5.1, 52.1], [5.0, 52.0]]],"
        "[[[6.0, 52.0], [6.1, 52.0], [6.1, 52.1], [6.0, 52.0]]]]}}]}",
        encoding="utf-8",
    )
    cfg = read_wijken(tmp_path / "w.toml")
    assert cfg.resolve(punt=Punt(lat=52.01, lon=6.09)).wijk == "twee"
    assert cfg.resolve(punt=Punt(lat=52.09, lon=6.01)).status == "buiten"


def test_the_active_municipality_configuration_decides() -> None:
    import msgspec

    from shared.gemeente import activate, package_default
    from shared.wijken import WijkenFile

    own = msgspec.structs.replace(package_default(), wijken=msgspec.convert(tomllib.loads(TOML_NO_POLYGONS), WijkenFile))
    activate(own)
    assert [w.code for w in load_wijken().wijken] == ["noord", "zuid"]
    activate(None)
    assert [w.code for w in load_wijken().wijken] == ["dalfsen", "nieuwleusen", "lemelerveld"]


@pytest.mark.parametrize(
    ("toml", "geojson", "fragment"),
    [
        ('[[gemeente]]\nnaam = "X"\nkleur = "rood"\n', None, "kleur"),
        ('[[gemeente]]\nnaam = "X"\n[[gemeente.wijk]]\ncode = "a"\nnaam = "A"\n[[gemeente.wijk]]\ncode = "a"\nnaam = "B"\n', None, "twice"),
        ('[[gemeente]]\nnaam = "X"\n', '{"type": "Feature", "properties": {"wijk": "zz"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}', "zz"),
        ('[[gemeente]]\nnaam = "X"\n[[gemeente.wijk]]\ncode = "a"\nnaam = "A"\n', '{"type": "Feature", "properties": {"wijk": "a"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}', "Point"),
    ],
)
def test_bad_configuration_is_refused(toml: str, geojson: str | None, fragment: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_wijken(toml, geojson)
    assert fragment in str(exc.value)
