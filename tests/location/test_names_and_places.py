"""Issue 14 §2, addresses as residents say them: street names with digits are never taken apart for
their house number; a place name shared by several municipalities is shown with its municipality,
never silently the first; the gazetteer keeps ``gemeente`` end to end; where place name and postcode
disagree about being inside the municipality, the postcode decides. (The suggestion taking the house
it says: tests/tui/test_address_pick.py.)"""

from __future__ import annotations

from shared.gazetteer import Gazetteer, GazetteerAdres, parse_gazetteer_csv, to_csv_text
from shared.model import Adres
from shared.wijken import parse_wijken
from wijkteam_tui.location.service import LocationLookup


def _a(straat, nr, woonplaats="Dalfsen", *, letter=None, postcode="", gemeente="Dalfsen", lat=52.5, lon=6.25):
    return GazetteerAdres(straat=straat, huisnummer=nr, huisletter=letter, woonplaats=woonplaats, postcode=postcode,
                          gemeente=gemeente, lat=lat, lon=round(lon + nr * 1e-5, 7))  # fmt: skip


ADRESSEN = [
    *(_a("1e Dwarsstraat", n) for n in range(1, 8)),
    *(_a("Plein 1813", n) for n in range(1, 4)),
    *(_a("Laan 1940-1945", n) for n in range(1, 9)),
    *(_a("Dwarsstraat", n) for n in range(1, 5)),
    _a("Kerkstraat", 12, letter="A", postcode="7721EJ"),
    _a("Kerkstraat", 12, letter="B", postcode="7721EJ"),
    # Two places called Hengelo: one in the municipality Hengelo (Overijssel), one in Bronckhorst.
    _a("Dorpsstraat", 1, "Hengelo", postcode="7551AB", gemeente="Hengelo", lat=52.26, lon=6.79),
    _a("Dorpsstraat", 1, "Hengelo", postcode="7255AB", gemeente="Bronckhorst", lat=52.05, lon=6.31),
]
G = Gazetteer(ADRESSEN)


def labels(hits) -> list[str]:
    return [a.label() for a in hits]


def test_a_street_name_with_digits_is_not_taken_apart_for_its_number():
    assert labels(G.search("1e dwarsstraat 4")) == ["1e Dwarsstraat 4, Dalfsen"]  # not number 1, letter E
    assert len(G.search("1e dwarsstraat")) == 7  # the whole street: "1e" is part of its name
    assert labels(G.search("plein 1813 2")) == ["Plein 1813 2, Dalfsen"]
    assert len(G.search("plein 1813")) == 3
    assert labels(G.search("laan 1940-1945 7")) == ["Laan 1940-1945 7, Dalfsen"]
    assert labels(G.search("dwarsstraat 3")) == ["1e Dwarsstraat 3, Dalfsen", "Dwarsstraat 3, Dalfsen"]
    assert labels(G.search("kerkstraat 12 a")) == ["Kerkstraat 12A, 7721 EJ Dalfsen"]
    assert labels(G.search("kerkstraat 12b")) == ["Kerkstraat 12B, 7721 EJ Dalfsen"]
    assert labels(G.search("12 kerkstraat")) == ["Kerkstraat 12A, 7721 EJ Dalfsen", "Kerkstraat 12B, 7721 EJ Dalfsen"]


def test_a_place_name_in_two_municipalities_is_shown_with_each_municipality():
    hits = G.search("dorpsstraat 1 hengelo")
    assert len(hits) == 2 and {a.gemeente for a in hits} == {"Hengelo", "Bronckhorst"}
    got = LocationLookup(G).suggest_local("dorpsstraat 1 hengelo")
    assert sorted(k.label for k in got) == [
        "Dorpsstraat 1, 7255 AB Hengelo (gemeente Bronckhorst)",
        "Dorpsstraat 1, 7551 AB Hengelo (gemeente Hengelo)",
    ]
    # one municipality only: no noise
    assert [k.label for k in LocationLookup(G).suggest_local("plein 1813 2")] == ["Plein 1813 2, Dalfsen"]


def test_the_gazetteer_keeps_the_municipality_end_to_end():
    text = to_csv_text(ADRESSEN)
    assert text.splitlines()[0].endswith(",gemeente")
    again = parse_gazetteer_csv(text)
    assert again.errors == [] and again.adressen == ADRESSEN
    # the same street and number in two places of the same name are two addresses, not a duplicate row
    no_postcode = [_a("Dorpsstraat", 1, "Hengelo", gemeente=g) for g in ("Hengelo", "Bronckhorst")]
    assert len(parse_gazetteer_csv(to_csv_text(no_postcode)).adressen) == 2


WIJKEN = """
[[gemeente]]
naam = "Hengelo"
woonplaatsen = ["Hengelo"]
postcodes = ["7551", "7552"]

[[gemeente.wijk]]
code = "centrum"
naam = "Centrum"
woonplaatsen = ["Hengelo"]
postcodes = ["7551"]
"""


def test_where_place_name_and_postcode_disagree_the_postcode_decides():
    config = parse_wijken(WIJKEN)
    inside = config.resolve(Adres(straat="Dorpsstraat", huisnummer=1, postcode="7551AB", woonplaats="Hengelo"))
    assert (inside.status, inside.wijk) == ("wijk", "centrum")
    # Hengelo in Bronckhorst: the place name says "ours", the postcode says otherwise.
    other = config.resolve(Adres(straat="Dorpsstraat", huisnummer=1, postcode="7255AB", woonplaats="Hengelo"))
    assert other.status == "buiten" and other.bron == ""
    # A place name we do not serve with our postcode: inside, by the postcode.
    typo = config.resolve(Adres(straat="Dorpsstraat", huisnummer=1, postcode="7551AB", woonplaats="Hengeloo"))
    assert (typo.status, typo.wijk, typo.bron) == ("wijk", "centrum", "postcode")
    # Without a postcode the place name still decides.
    assert config.resolve(Adres(straat="Dorpsstraat", woonplaats="Hengelo")).wijk == "centrum"
