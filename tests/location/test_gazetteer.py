"""shared.gazetteer: CSV layouts, row errors with line numbers, the postcode fast path, search, nearest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.gazetteer import (
    Gazetteer,
    GazetteerFormatError,
    load_sample_gazetteer,
    parse_gazetteer_csv,
    read_gazetteer_csv,
    to_csv_text,
)
from shared.geo import distance_m, rd_to_wgs84, wgs84_to_rd


@pytest.fixture(scope="module")
def sample() -> Gazetteer:
    return load_sample_gazetteer()


def test_sample_loads_every_row_and_is_labelled_sample(sample: Gazetteer) -> None:
    result = read_gazetteer_csv(Path(__file__).resolve().parents[2] / "shared/data/sample_gazetteer.csv")
    assert result.errors == []
    assert len(sample) == len(result.adressen) > 500
    assert sample.sample is True
    assert sample.woonplaatsen == ["Dalfsen", "Lemelerveld", "Nieuwleusen"]


def test_postcode_and_number_finds_one_address(sample: Gazetteer) -> None:
    r = sample.lookup("7721 kn", "3")
    assert r.status == "gevonden"
    a = r.matches[0]
    assert (a.straat, a.huisnummer, a.postcode, a.woonplaats) == ("Kerkstraat", 3, "7721KN", "Dalfsen")
    assert r.message == ""


def test_number_that_exists_only_with_letters_offers_both(sample: Gazetteer) -> None:
    r = sample.lookup("7721EJ", "12")
    assert r.status == "kies"
    assert [m.huisletter for m in r.matches] == ["A", "B"]
    assert "12A of 12B" in r.message


@pytest.mark.parametrize("typed", ["12-A", "12a", "12 A", "12 a", "12/a", "12A"])
def test_letter_compares_ignoring_case_and_separators(sample: Gazetteer, typed: str) -> None:
    r = sample.lookup("7721EJ", typed)
    assert r.status == "gevonden"
    assert r.matches[0].huisletter == "A"


@pytest.mark.parametrize(("typed", "toev"), [("7hs", "HS"), ("7-HS", "HS"), ("7 hs", "HS"), ("7-1", "1"), ("7 1", "1")])
def test_addition_compares_ignoring_case_and_separators(sample: Gazetteer, typed: str, toev: str) -> None:
    r = sample.lookup("7722BB", typed)
    assert r.status == "gevonden"
    assert r.matches[0].huisnummertoevoeging == toev


def test_letter_that_does_not_exist_offers_the_ones_that_do(sample: Gazetteer) -> None:
    r = sample.lookup("7721EJ", "12c")
    assert r.status == "kies"
    assert {m.huisletter for m in r.matches} == {"A", "B"}
    assert "12C" in r.message


def test_unknown_number_and_unknown_postcode(sample: Gazetteer) -> None:
    r = sample.lookup("7721EJ", "99")
    assert r.status == "niet_gevonden" and r.matches == ()
    assert "99" in r.message and "7721 EJ" in r.message
    r = sample.lookup("1011AB", "1")
    assert r.status == "niet_gevonden"
    assert "1011 AB" in r.message
    assert "onbekend adres" not in r.message.lower()


def test_malformed_input_raises_validation_error_for_the_field(sample: Gazetteer) -> None:
    with pytest.raises(ValidationError) as exc:
        sample.lookup("0721EJ", "12")
    assert exc.value.field == "postcode"
    with pytest.raises(ValidationError) as exc:
        sample.lookup("7721EJ", "twaalf")
    assert exc.value.field == "huisnummer"


def test_free_text_search(sample: Gazetteer) -> None:
    hits = sample.search("kerkstraat 12 dalfsen")
    assert [(h.huisnummer, h.huisletter) for h in hits] == [(12, "A"), (12, "B")]
    assert [h.huisletter for h in sample.search("Kerkstr 12-b")] == ["B"]
    assert [h.huisnummer for h in sample.search("7721 EJ 13")] == [13]
    assert sample.search("") == []
    assert sample.search("qqqqstraat 1") == []
    assert len(sample.search("straat", limit=5)) == 5


def test_nearest_address_within_100_m(sample: Gazetteer) -> None:
    a = sample.lookup("7721EJ", "13").matches[0]
    # 20 m north of Kerkstraat 13: still that address (or a neighbour closer to the point).
    hit = sample.nearest(a.lat + 0.00018, a.lon)
    assert hit is not None
    assert hit.afstand_m <= 100
    brute = min(sample, key=lambda x: distance_m(a.lat + 0.00018, a.lon, x.lat, x.lon))
    assert hit.adres == brute


def test_nearest_none_beyond_100_m(sample: Gazetteer) -> None:
    # A field between Dalfsen and Nieuwleusen, far from any sample address.
    assert sample.nearest(52.55, 6.27) is None
    a = sample.lookup("7721KN", "1").matches[0]
    # Brute force agrees with the grid index at every distance limit.
    for max_m in (5, 50, 100, 250):
        lat = a.lat + 0.0009
        got = sample.nearest(lat, a.lon, max_m=max_m)
        within = [x for x in sample if distance_m(lat, a.lon, x.lat, x.lon) <= max_m]
        if not within:
            assert got is None
        else:
            assert got is not None
            assert got.afstand_m == pytest.approx(min(distance_m(lat, a.lon, x.lat, x.lon) for x in within))


def test_canonical_csv_round_trip(sample: Gazetteer) -> None:
    text = to_csv_text(sample)
    again = parse_gazetteer_csv(text)
    assert again.errors == []
    assert tuple(again.adressen) == sample.adressen


# -- other layouts ---------------------------------------------------------------------------------


def test_pdok_bag_export_layout() -> None:
    text = (
        "straatnaam;huis_nlt;postcode;woonplaatsnaam;gemeentenaam;nummeraanduiding_id;centroide_ll\n"
        "Kerkstraat;12A;7721 EJ;Dalfsen;Dalfsen;0148200000000001;POINT(6.2582183 52.506761)\n"
        "Molenstraat;7-HS;7722BB;Dalfsen;Dalfsen;0148200000000002;POINT(6.235817 52.4959836)\n"
        "Dorpsstraat;546 K 1;7711AC;Nieuwleusen;Dalfsen;0148200000000003;POINT(6.29 52.58)\n"
    )
    result = parse_gazetteer_csv(text)
    assert result.errors == []
    a, b, c = result.adressen
    assert (a.straat, a.huisnummer, a.huisletter, a.huisnummertoevoeging, a.postcode) == ("Kerkstraat", 12, "A", None, "7721EJ")
    assert (a.lat, a.lon) == (52.506761, 6.2582183)
    assert a.gemeente == "Dalfsen" and a.bag_id == "0148200000000001"
    assert (b.huisnummer, b.huisletter, b.huisnummertoevoeging) == (7, None, "HS")
    assert (c.huisnummer, c.huisletter, c.huisnummertoevoeging) == (546, "K", "1")


def test_rd_columns_and_centroide_rd_are_converted_through_pyproj() -> None:
    x, y = wgs84_to_rd(52.506761, 6.2582183)
    text = (
        "openbare_ruimte,huisnummer,huisletter,huisnummertoevoeging,postcode,woonplaats,x,y\n"
        f"Kerkstraat,12,A,,7721EJ,Dalfsen,{x},{y}\n"
    )
    (a,) = parse_gazetteer_csv(text).adressen
    assert a.lat == pytest.approx(52.506761, abs=1e-6) and a.lon == pytest.approx(6.2582183, abs=1e-6)
    text2 = f"straatnaam,huisnummer,postcode,woonplaatsnaam,centroide_rd\nKerkstraat,12,7721EJ,Dalfsen,POINT({x} {y})\n"
    (b,) = parse_gazetteer_csv(text2).adressen
    assert (b.lat, b.lon) == (a.lat, a.lon)
    assert rd_to_wgs84(x, y) == a.punt


def test_semicolons_decimal_commas_and_bom() -> None:
    text = "\ufeffOpenbare ruimte;Huisnummer;Postcode;Woonplaats;Lat;Lon\nKerkstraat;1;7721KN;Dalfsen;52,5075652;6,2573199\n"
    (a,) = parse_gazetteer_csv(text).adressen
    assert (a.straat, a.lat, a.lon) == ("Kerkstraat", 52.5075652, 6.2573199)


def test_bad_rows_are_skipped_with_their_line_numbers() -> None:
    text = (
        "openbare_ruimte,huisnummer,huisletter,huisnummertoevoeging,postcode,woonplaats,lat,lon\n"  # 1
        "Kerkstraat,1,,,7721KN,Dalfsen,52.5075652,6.2573199\n"  # 2 ok
        "Kerkstraat,abc,,,7721KN,Dalfsen,52.5,6.25\n"  # 3 number
        "Kerkstraat,2,,,0721KN,Dalfsen,52.5,6.25\n"  # 4 postcode
        "Kerkstraat,3,,,7721KN,Dalfsen,6.25,52.5\n"  # 5 swapped point
        "\n"  # 6 blank: ignored
        ",4,,,7721KN,Dalfsen,52.5,6.25\n"  # 7 no street
        "Kerkstraat,1,,,7721KN,Dalfsen,52.5075652,6.2573199\n"  # 8 duplicate of 2
        "Kerkstraat,5,AB,,7721KN,Dalfsen,52.5,6.25\n"  # 9 letter
        "Kerkstraat,6,,TOOLONG,7721KN,Dalfsen,52.5,6.25\n"  # 10 addition
        "Kerkstraat,7,,,7721KN,Dalfsen,52.5,6.25\n"  # 11 ok
    )
    result = parse_gazetteer_csv(text)
    assert [a.huisnummer for a in result.adressen] == [1, 7]
    assert [e.line for e in result.errors] == [3, 4, 5, 7, 8, 9, 10]
    by_line = {e.line: e.message for e in result.errors}
    assert "omgedraaid" in by_line[5]
    assert "regel 2" in by_line[8]
    assert str(result.errors[0]).startswith("regel 3: ")


def test_missing_columns_is_a_format_error_naming_them() -> None:
    with pytest.raises(GazetteerFormatError) as exc:
        parse_gazetteer_csv("straat,postcode\nKerkstraat,7721KN\n")
    msg = exc.value.message
    assert "huisnummer" in msg and "woonplaats" in msg and "lat en lon" in msg
    with pytest.raises(GazetteerFormatError):
        parse_gazetteer_csv("")


@pytest.mark.parametrize(
    ("huis_nlt", "typed", "parts"),
    [
        ("44-bis", "44 BIS", (44, None, "BIS")),
        ("1-TRAF", "1traf", (1, None, "TRAF")),
        ("19p-8", "19 P 8", (19, "P", "8")),
        ("546 K 1", "546k-1", (546, "K", "1")),
    ],
)
def test_real_world_additions_are_kept_and_found(huis_nlt: str, typed: str, parts: tuple) -> None:
    text = f"straatnaam,huis_nlt,postcode,woonplaatsnaam,centroide_ll\nDorpsstraat,{huis_nlt},7711AC,Nieuwleusen,POINT(6.29 52.58)\n"
    (a,) = parse_gazetteer_csv(text).adressen
    assert (a.huisnummer, a.huisletter, a.huisnummertoevoeging) == parts
    r = Gazetteer([a]).lookup("7711AC", typed)
    assert r.status == "gevonden" and r.matches[0] == a
    assert Gazetteer([a]).lookup("7711AC", str(parts[0])).status == "kies"


@given(
    sep=st.sampled_from(["", " ", "-", "/", " - "]),
    upper=st.booleans(),
)
def test_separator_and_case_never_matter(sep: str, upper: bool) -> None:
    g = load_sample_gazetteer()
    letter = "B" if upper else "b"
    r = g.lookup("7721EJ", f"12{sep}{letter}")
    assert r.status == "gevonden" and r.matches[0].huisletter == "B"


def _search_by_full_sort(g: Gazetteer, words: list[str], nr: int | None, suffix: str, limit: int) -> list:
    """The free-text rule written the slow, obvious way: every matching address, sorted, then cut."""
    from shared.gazetteer import _fold

    hits = [
        a for a in g.adressen
        if all(w in _fold(a.straat) or any(h.startswith(w) for h in (_fold(a.straat) + " " + _fold(a.woonplaats)).split())
               for w in words)
        and (nr is None or a.huisnummer == nr)
    ]  # fmt: skip
    if suffix:
        hits = [a for a in hits if a.suffix == suffix] or hits
    hits.sort(key=lambda a: (_fold(a.straat), _fold(a.woonplaats), a.huisnummer, a.suffix))
    return hits[:limit]


@given(
    prefix=st.sampled_from(["k", "ke", "kerk", "mol", "da", "n", "st", "dalfsen", "ju", "wh", "v"]),
    nr=st.sampled_from([None, 1, 3, 12]),
    limit=st.integers(1, 12),
)
def test_free_text_search_stops_early_but_gives_the_same_first_hits(sample: Gazetteer, prefix, nr, limit) -> None:
    text = prefix + (f" {nr}" if nr is not None else "")
    assert sample.search(text, limit=limit) == _search_by_full_sort(sample, [prefix], nr, "", limit)
