"""``wijkteam-server import``: the shipped messy spreadsheet (Dutch dates, postcodes with spaces, an
unknown category, empty rows, a duplicate row) gives exactly the expected meldingen and refusals;
a second import adds none; a dry run stores nothing; imported meldingen keep their original times
and are recognisable (history, ``bron``)."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from shared.enums import Kanaal, Status
from shared.gemeente import read_toml_struct
from shared.importing import ImportMapping, parse_dutch_datetime
from shared.projection import COLUMNS
from sync_server.cli import main
from sync_server.gazetteer_cli import gazetteer_import
from sync_server.import_cli import run_import
from tests.backends import sql

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "import"
MAPPING = EXAMPLES / "mapping-voorbeeld.toml"

#: line → (reference, registered_at UTC, categorie, status, closed_at UTC, wijk) of the rows that become meldingen.
EXPECTED = {
    4: ("DLF-00-0001", "2025-03-03T08:15:00.000000Z", "riolering/verstopping", "afgehandeld", "2025-03-05T16:00:00.000000Z", "dalfsen"),
    5: ("DLF-00-0002", "2025-03-04T13:30:00.000000Z", "riolering/stank", "gemeld", None, "dalfsen"),
    6: ("DLF-00-0003", "2025-03-05T11:00:00.000000Z", "riolering/verstopping", "in_behandeling", None, "dalfsen"),
    15: ("DLF-00-0004", "2025-03-12T08:30:00.000000Z", "riolering/verstopping", "afgehandeld", "2025-03-12T16:00:00.000000Z", "nieuwleusen"),
    16: ("DLF-00-0005", "2025-03-13T11:00:00.000000Z", "riolering/stank", "doorgezet", "2025-03-14T16:00:00.000000Z", None),
}  # fmt: skip
#: line → the start of the reason a row is refused.
REFUSED = {
    8: "categorie: onbekende categorie 'Boomwortels'",
    9: "ontvangen: '31-02-2025' is geen bestaande datum",
    11: "postcode: Een postcode is 4 cijfers",
    13: "telefoon: Dit telefoonnummer is te kort",
    14: "kanaal: onbekend kanaal 'whatsapp'",
}


@pytest.fixture
def mapping() -> ImportMapping:
    return read_toml_struct(MAPPING, ImportMapping)


@pytest.fixture
def gazetteer(server):
    gazetteer_import(server.path, Path(str(resources.files("shared").joinpath("data/sample_gazetteer.csv"))), report=lambda e: None)


def _projection(server) -> dict[str, dict]:
    """The server's projection rows by reference."""
    select = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM meldingen"
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in sql(server.store, select)]
    return {r["reference"]: r for r in rows}


@pytest.mark.parametrize("name", ["rioolklachten-voorbeeld.xlsx", "rioolklachten-voorbeeld.csv"])
def test_the_messy_example_gives_exactly_the_expected_meldingen(server, gazetteer, mapping, name):
    result = run_import(server.store, EXAMPLES / name, mapping, dry_run=False, user="import:test")
    assert {row.line: ref for row, ref in result.created} == {line: e[0] for line, e in EXPECTED.items()}
    assert {r.line for r in result.refused} == set(REFUSED)
    for r in result.refused:
        assert r.reason.startswith(REFUSED[r.line]), r
    assert result.duplicates == [(10, 4)]
    assert result.empty == 2 and result.already == []
    rows = _projection(server)
    assert set(rows) == {e[0] for e in EXPECTED.values()}
    for ref, registered_at, categorie, status, closed_at, wijk in EXPECTED.values():
        p = rows[ref]
        assert (p["registered_at"], p["categorie"], p["status"], p["closed_at"], p["wijk"]) == (
            registered_at, categorie, status, closed_at, wijk
        ), ref
        assert p["bron"] == "import"
    # Postcodes with spaces are stored compact, the gazetteer fills in the point, phone numbers are E.164.
    first = rows["DLF-00-0001"]
    assert (first["postcode"], first["huisnummer"], first["melder_telefoon"]) == ("7721CB", 4, "+31612345678")
    assert first["lat"] is not None
    assert (rows["DLF-00-0003"]["huisletter"], rows["DLF-00-0003"]["kanaal"]) == ("A", Kanaal.BALIE.value)
    assert rows["DLF-00-0005"]["melder_email"] == "k.smit@voorbeeld.nl"


def test_a_second_import_adds_none(server, gazetteer, mapping, capsys):
    args = ["import", str(EXAMPLES / "rioolklachten-voorbeeld.xlsx"), "--mapping", str(MAPPING), "--db", str(server.path)]
    assert main(args) == 0
    assert "5 meldingen aangemaakt, 5 geweigerd, 1 dubbel in het bestand, 0 eerder geïmporteerd, 2 lege regels." in capsys.readouterr().out
    events_before = server.store.max_server_seq()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "0 meldingen aangemaakt, 5 geweigerd, 1 dubbel in het bestand, 5 eerder geïmporteerd" in out
    assert "regel 4: overgeslagen: eerder geïmporteerd als DLF-00-0001" in out
    # The same rows as CSV are the same registrations: nothing new either.
    assert main([*args[:1], str(EXAMPLES / "rioolklachten-voorbeeld.csv"), *args[2:]]) == 0
    assert server.store.max_server_seq() == events_before
    assert len(_projection(server)) == 5


def test_a_dry_run_prints_and_stores_nothing(server, gazetteer, capsys):
    args = ["import", str(EXAMPLES / "rioolklachten-voorbeeld.xlsx"), "--mapping", str(MAPPING), "--db", str(server.path), "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "regel 4: zou worden aangemaakt: 03-03-2025 09:15 · Riolering › Verstopte put of kolk · Prinsenstraat 4, 7721 CB Dalfsen" in out
    assert "regel 8: geweigerd: categorie: onbekende categorie 'Boomwortels'" in out
    assert "Proef (--dry-run), er is niets opgeslagen: 5 meldingen zouden worden aangemaakt" in out
    assert server.store.max_server_seq() == 0


def test_imported_meldingen_keep_their_times_and_say_so_in_their_history(server, gazetteer, mapping):
    run_import(server.store, EXAMPLES / "rioolklachten-voorbeeld.xlsx", mapping, dry_run=False, user="import:beheer")
    mid = sql(server.store, "SELECT melding_id FROM meldingen WHERE reference = 'DLF-00-0001'")[0][0]
    m = server.store.melding(mid)
    assert m.registered_at == datetime(2025, 3, 3, 8, 15, tzinfo=UTC)
    assert m.closed_at == datetime(2025, 3, 5, 16, 0, tzinfo=UTC)  # 17:00 Amsterdam on the closing day
    assert m.servicenorm == 3 and m.bron == "import"
    users = [h.user for h in m.history]
    assert users[:2] == ["import", "import"] and users[2] == "import:beheer"
    note = m.history[-1].details["tekst"] if m.history[-1].details else ""
    assert "Geïmporteerd uit rioolklachten-voorbeeld.xlsx, regel 4 (bron: Rioolklachten 2025" in note
    assert m.status == Status.AFGEHANDELD


def test_a_mapping_naming_an_unknown_category_or_column_is_refused(server, tmp_path, capsys):
    bad = tmp_path / "mapping.toml"
    bad.write_text(MAPPING.read_text(encoding="utf-8").replace('"riolering/stank"', '"riolering/geur"'), encoding="utf-8")
    args = ["import", str(EXAMPLES / "rioolklachten-voorbeeld.xlsx"), "--mapping", str(bad), "--db", str(server.path)]
    assert main(args) == 1
    assert "Onbekende categorie 'riolering/geur'" in capsys.readouterr().err
    bad.write_text(MAPPING.read_text(encoding="utf-8").replace('omschrijving = "Omschrijving"', 'omschrijving = "Toelichting"'), encoding="utf-8")
    assert main(args) == 1
    assert "'Toelichting' uit de mapping staan niet in de kopregel" in capsys.readouterr().err
    bad.write_text(MAPPING.read_text(encoding="utf-8").replace("kopregel = 3", "kopregel = 3\nkleur = 1"), encoding="utf-8")
    assert main(args) == 1
    assert "mapping.toml, regel" in capsys.readouterr().err
    assert server.store.max_server_seq() == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-2-2025", "2025-02-03T11:00:00+00:00"),
        ("03/02/25 14:30", "2025-02-03T13:30:00+00:00"),
        ("3.2.2025 14.30", "2025-02-03T13:30:00+00:00"),
        ("2025-07-03 09:05", "2025-07-03T07:05:00+00:00"),
        ("3 feb. 2025", "2025-02-03T11:00:00+00:00"),
        ("maandag 3 februari 2025 om 14:30 uur", "2025-02-03T13:30:00+00:00"),
        (datetime(2025, 2, 3, 14, 30), "2025-02-03T13:30:00+00:00"),
    ],
)
def test_dutch_dates(text, expected):
    assert parse_dutch_datetime(text, "ontvangen")[0].isoformat() == expected


@pytest.mark.parametrize("text", ["31-02-2025", "2025-13-01", "gisteren", "3 brumaire 2025", "", "12-03-2025 25:00"])
def test_not_a_date(text):
    from shared.errors import ValidationError

    with pytest.raises(ValidationError):
        parse_dutch_datetime(text, "ontvangen")
