"""The CSV rules (shared.csvexport) and ``wijkteam export --format csv``: what a Dutch Excel needs,
formula injection, labels, local dates, and personal data only with --met-persoonsgegevens."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from shared.barometer import group_label
from shared.csvexport import (
    BOM,
    INTERNATIONAL,
    PERSONAL_COLUMNS,
    cell,
    melding_columns,
    neutralise,
    phone_cell,
    write_csv,
)
from shared.enums import Kanaal, MeldingType, VierB
from shared.events import MeldingFields
from shared.model import Adres, Melder
from wijkteam_store.local import LocalStore
from wijkteam_tui.cli import main


@pytest.mark.parametrize("text", ["=1+1", "+31 6 1234", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =HYPERLINK(\"x\")"])
def test_formula_starts_are_neutralised(text):
    assert neutralise(text) == "'" + text
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Kerkstraat 12", "boom 2-3 m", "a=b", "", "'al veilig"])
def test_plain_text_is_left_alone(text):
    assert neutralise(text) == text


def test_phone_numbers_stay_readable_and_safe():
    assert phone_cell("+31612345678") == "06 12345678"
    foreign = phone_cell("+32470123456")
    assert foreign.startswith("0032") and "'" not in foreign
    assert phone_cell(None) == ""


def test_values_by_type():
    moment = datetime(2025, 7, 1, 22, 30, 15, tzinfo=UTC)  # 2 July 00:30 in Amsterdam (summer time)
    assert cell(moment) == "02-07-2025 00:30"
    assert cell(datetime(2025, 1, 1, 22, 30, tzinfo=UTC)) == "01-01-2025 23:30"  # winter time
    assert cell(date(2025, 3, 9)) == "09-03-2025"
    assert (cell(87.5), cell(87.5, INTERNATIONAL), cell(12), cell(None), cell(True)) == ("87,5", "87.5", "12", "", "ja")


def test_write_csv_has_bom_semicolons_and_crlf():
    buf = io.StringIO(newline="")
    write_csv(buf, ["Naam", "Waarde"], [["=kwaad", 1.5], ["Noord; Oost", None]])
    text = buf.getvalue()
    assert text.startswith(BOM)
    assert text[1:] == "Naam;Waarde\r\n'=kwaad;1,5\r\n\"Noord; Oost\";\r\n"


def _store_with_meldingen(path) -> None:
    with LocalStore(path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("tester")
        for omschrijving, telefoon in (("=HYPERLINK(\"http://kwaad\")", "+31612345678"), ("Losse tegel", None)):
            store.register(
                dev,
                prefix="DLF",
                registered_at=datetime(2025, 7, 1, 22, 30, tzinfo=UTC),
                fields=MeldingFields(
                    type=MeldingType.KLACHT,
                    kanaal=Kanaal.TELEFOON,
                    omschrijving=omschrijving,
                    categorie="groen/boom",
                    vier_b=VierB.BETROUWBAARHEID,
                    melder=Melder(naam="A. de Vries", telefoon=telefoon) if telefoon else Melder(anoniem=True),
                    adres=Adres(straat="Kerkstraat", huisnummer=12, postcode="7721EJ", woonplaats="Dalfsen"),
                ),
            )


def _read(path):
    raw = path.read_bytes()
    assert raw.startswith(BOM.encode())
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_cli_csv_export_for_dutch_excel(tmp_path):
    db, out = tmp_path / "l.sqlite", tmp_path / "m.csv"
    _store_with_meldingen(db)
    assert main(["export", "--db", str(db), "--format", "csv", "--out", str(out)]) == 0
    assert b"\r\n" in out.read_bytes()
    rows = _read(out)
    assert len(rows) == 2
    header = list(rows[0])
    assert header == list(melding_columns(False))
    assert not set(PERSONAL_COLUMNS) & set(header)
    # No internal columns: ids, device, clocks, counters.
    for internal in ("melding_id", "device_id", "updated_hlc", "event_count", "status_timeline", "has_contact"):
        assert internal not in header
    first = next(r for r in rows if r["Omschrijving"].startswith("'"))
    assert first["Omschrijving"] == "'=HYPERLINK(\"http://kwaad\")"
    assert first["Type"] == "Klacht" and first["Kanaal"] == "Telefoon" and first["Status"] == "Gemeld"
    assert first["Categorie"] == group_label("categorie", "groen/boom") != "groen/boom"
    assert first["Geregistreerd op"] == "02-07-2025 00:30"
    assert first["Postcode"] == "7721 EJ"
    assert "A. de Vries" not in out.read_text(encoding="utf-8-sig")


def test_cli_csv_export_with_comma_flag(tmp_path):
    db, out = tmp_path / "l.sqlite", tmp_path / "m.csv"
    _store_with_meldingen(db)
    assert main(["export", "--db", str(db), "--format", "csv", "--komma", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert rows[0]["Referentie"].startswith("DLF-") and "Omschrijving" in rows[0]


def test_jsonl_leaves_personal_data_out_without_the_flag(tmp_path):
    db, out = tmp_path / "l.sqlite", tmp_path / "m.jsonl"
    _store_with_meldingen(db)
    assert main(["export", "--db", str(db), "--format", "jsonl", "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines and all("melder_naam" not in x and "melder_telefoon" not in x for x in lines)


def test_personal_data_without_a_server_writes_nothing(tmp_path, monkeypatch, capsys):
    db, out = tmp_path / "l.sqlite", tmp_path / "m.csv"
    _store_with_meldingen(db)
    monkeypatch.setenv("WIJKTEAM_CONFIG", str(tmp_path / "geen-config.toml"))
    code = main(["export", "--db", str(db), "--format", "csv", "--met-persoonsgegevens", "--out", str(out)])
    assert code == 1
    assert not out.exists()
    assert "server" in capsys.readouterr().err
