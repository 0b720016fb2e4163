"""Demo generator, export and the CLI commands."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

from shared.csvexport import melding_columns
from shared.fold import fold
from wijkteam_store.local import LIST_COLUMNS, LocalStore
from wijkteam_tui.cli import main
from wijkteam_tui.demo import DEMO_DEVICES, fill_demo

NOW = datetime(2026, 4, 24, 8, 15, tzinfo=UTC)


def test_demo_is_realistic(tmp_path):
    store = LocalStore(tmp_path / "d.sqlite")
    assert fill_demo(store, 600, now=NOW, seed=3) == 600
    assert store.count() == 600
    rows = list(store.iter_rows())
    assert {r["device_id"] for r in rows} == set(DEMO_DEVICES)
    assert min(r["registered_at"] for r in rows) >= "2025-04-24"
    assert max(r["registered_at"] for r in rows) < "2026-04-24T08:15"
    assert len({r["categorie"] for r in rows}) >= 10
    assert len({r["kanaal"] for r in rows}) >= 5
    assert len({r["vier_b"] for r in rows}) == 4
    assert {r["wijk"] for r in rows} == {"dalfsen", "nieuwleusen", "lemelerveld"}  # shared.wijken codes
    statuses = {r["status"] for r in rows}
    assert {"gemeld", "afgehandeld", "doorgezet", "geannuleerd"} <= statuses
    assert 0 < store.count(overdue=True, now=NOW) < 60
    assert sum(r["callback_count"] for r in rows) > 100
    # the projection is the fold of the stored events
    r = next(r for r in rows if r["event_count"] >= 4)
    assert fold(store.events_of(r["melding_id"])).event_count == r["event_count"]
    assert store.pending_count() == 0
    # the demo laptop continues its own numbering
    dev = store.device_clock("x")
    assert dev.device_id == "K7"
    k7 = sum(1 for r in rows if r["device_id"] == "K7")
    from shared.events import MeldingFields

    m = store.register(
        dev,
        prefix="DLF",
        fields=MeldingFields(omschrijving="x", categorie="groen/boom"),
    )
    from shared.reference import make_reference

    assert m.reference == make_reference("DLF", "K7", k7 + 1)
    store.close()


def test_demo_is_deterministic(tmp_path):
    refs = []
    for name in ("a", "b"):
        s = LocalStore(tmp_path / f"{name}.sqlite")
        fill_demo(s, 50, now=NOW, seed=9)
        refs.append(
            [
                (r["reference"], r["registered_at"], r["status"], r["omschrijving"])
                for r in s.iter_rows()
            ]
        )
        s.close()
    assert refs[0] == refs[1]


def test_cli_demo_and_export(tmp_path, capsys):
    db = tmp_path / "c.sqlite"
    assert main(["demo", "--db", str(db), "--count", "40"]) == 0
    assert "40 voorbeeldmeldingen" in capsys.readouterr().out
    assert (
        main(["demo", "--db", str(db), "--count", "40"]) == 1
    )  # refuses to add to a filled database
    out = tmp_path / "m.jsonl"
    assert (
        main(["export", "--db", str(db), "--format", "jsonl", "--out", str(out)]) == 0
    )
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 40
    # Internal column and (without --met-persoonsgegevens) the reporter's personal data left out.
    assert list(lines[0]) == [
        c for c in LIST_COLUMNS if c not in ("status_timeline", "melder_naam", "melder_telefoon", "melder_email")
    ]
    assert all(
        x["event_count"] >= 1 and x["reference"].startswith("DLF-") for x in lines
    )
    out = tmp_path / "m.csv"
    assert main(["export", "--db", str(db), "--format", "csv", "--out", str(out)]) == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert len(rows) == sum(1 for x in lines if not x["deleted"])
    assert {r["Referentie"] for r in rows} == {x["reference"] for x in lines if not x["deleted"]}
    with open(out, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh, delimiter=";"))
    assert header == list(melding_columns(False))
    assert (
        main(["export", "--db", str(tmp_path / "missing.sqlite"), "--format", "csv"])
        == 1
    )
    assert "bestaat niet" in capsys.readouterr().err


def test_prepare_demo_fills_once_and_never_syncs(tmp_path):
    from wijkteam_tui.cli import prepare_demo
    from wijkteam_tui.config import Config

    db = tmp_path / "demo.sqlite"
    real = Config(server_url="https://echt.example", token="geheim", device_code="M3")
    _, cfg = prepare_demo(db, real, count=30)
    assert (cfg.server_url, cfg.token, cfg.device_code) == (None, None, "K7")
    prepare_demo(db, real, count=30)
    with LocalStore(db) as s:
        assert s.count() == 30


def test_cli_sync_reports_failure(tmp_path, capsys, monkeypatch):
    import wijkteam_tui.sync_client as sc

    def fail(store, url, token, **kw):
        raise sc.SyncError("Geen verbinding met de server.", offline=True)

    monkeypatch.setattr(sc, "sync_once", fail)
    assert (
        main(
            [
                "sync",
                "--server",
                "http://127.0.0.1:9",
                "--token",
                "t",
                "--db",
                str(tmp_path / "s.sqlite"),
            ]
        )
        == 1
    )
    assert (
        "Synchroniseren mislukt: Geen verbinding met de server."
        in capsys.readouterr().err
    )


def test_background_address_lookup_uses_the_sample_only_for_the_demo(tmp_path):
    from wijkteam_tui.cli import BackgroundAddressLookup

    demo = BackgroundAddressLookup(tmp_path, sample=True)
    demo._thread.join()
    adres, punt = demo("7721EJ", 12, "A", None)
    assert (adres.straat, adres.woonplaats) == (
        "Kerkstraat",
        "Dalfsen",
    ) and punt is not None
    assert (
        demo("7721EJ", 12, None, None) is None
    )  # 12 exists only as 12 A and 12 B: no guess
    real = BackgroundAddressLookup(tmp_path, sample=False)
    real._thread.join()
    assert (
        real("7721EJ", 12, "A", None) is None
    )  # no downloaded gazetteer: never made-up streets


def test_background_location_loads_the_gazetteer_for_the_demo_only(tmp_path):
    from wijkteam_tui.cli import background_location

    demo = background_location(tmp_path, sample=True, online=False)
    demo.loader.join()
    r = demo.lookup_postcode("7721 EJ", "12")
    assert r.status == "kies" and len(r.keuzes) == 2
    real = background_location(tmp_path, sample=False, online=False)
    real.loader.join()
    assert real.gazetteer is None  # no downloaded gazetteer: never made-up streets
    assert real.lookup_postcode("7721 EJ", "12a").status == "niet_gevonden"


def _demo_export(tmp_path, fmt):
    db = tmp_path / "g.sqlite"
    if not db.exists():
        assert main(["demo", "--db", str(db), "--count", "60"]) == 0
    out = tmp_path / f"m.{fmt}"
    assert main(["export", "--db", str(db), "--format", fmt, "--out", str(out)]) == 0
    return db, out


def test_cli_export_geojson(tmp_path, capsys):
    from shared.geo import in_nl

    db, out = _demo_export(tmp_path, "geojson")
    assert "meldingen geëxporteerd" in capsys.readouterr().err
    doc = json.loads(out.read_text(encoding="utf-8"))
    with LocalStore(db) as store:
        rows = {r["melding_id"]: r for r in store.iter_rows(include_deleted=False)}
        personal = {
            v
            for r in store.iter_rows()
            for v in (r["melder_naam"], r["melder_telefoon"], r["melder_email"])
            if v
        }
    assert doc["type"] == "FeatureCollection"
    assert {f["id"] for f in doc["features"]} == set(rows)
    located = 0
    for f in doc["features"]:
        row = rows[f["id"]]
        assert f["type"] == "Feature"
        assert f["properties"]["reference"] == row["reference"]
        assert not any(k.startswith("melder") for k in f["properties"])
        assert not personal & {v for v in f["properties"].values() if isinstance(v, str)}
        if row["lat"] is None:
            assert f["geometry"] is None
            continue
        located += 1
        lon, lat = f["geometry"]["coordinates"]  # RFC 7946: [lon, lat]
        assert f["geometry"]["type"] == "Point"
        assert (lat, lon) == (row["lat"], row["lon"])
        assert in_nl(lat, lon)
    assert located > 0
    assert personal, "the demo has reporters, so the no-personal-data check means something"


def test_cli_export_csv_has_rd_columns(tmp_path):
    from shared.geo import rd_to_wgs84

    _, out = _demo_export(tmp_path, "csv")
    with open(out, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";")
        assert {"RD x (m)", "RD y (m)"} <= set(reader.fieldnames)
        rows = list(reader)

    def num(text):
        return float(text.replace(",", "."))

    with_point = [r for r in rows if r["Breedtegraad"]]
    assert with_point
    for r in rows:
        if not r["Breedtegraad"]:
            assert (r["RD x (m)"], r["RD y (m)"]) == ("", "")
            continue
        x, y = num(r["RD x (m)"]), num(r["RD y (m)"])
        assert 0 < x < 300_000 and 289_000 < y < 629_000
        back = rd_to_wgs84(x, y)  # centimetre RD rounding: the way back is within ~1e-7 degrees
        assert abs(back.lat - num(r["Breedtegraad"])) < 5e-7
        assert abs(back.lon - num(r["Lengtegraad"])) < 5e-7
