"""``wijkteam-server gazetteer import`` and ``GET /api/v1/gazetteer``, against a real server process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from shared.gazetteer import RowError, load_sample_gazetteer, parse_gazetteer_csv
from sync_server.gazetteer_cli import gazetteer_import
from sync_server.store import ServerStore, StoreError
from tests.location.fakes import ServerProcess, run_cli
from wijkteam_tui.location.download import (
    GAZETTEER_FILE,
    download_gazetteer,
    load_local_gazetteer,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "shared/data/sample_gazetteer.csv"
HEADER = "openbare_ruimte,huisnummer,huisletter,huisnummertoevoeging,postcode,woonplaats,lat,lon\n"


def count(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT count(*) FROM gazetteer").fetchone()[0]


def _meta(db: Path) -> dict[str, str]:
    store = ServerStore(db)
    try:
        return store.gazetteer_meta()
    finally:
        store.close()


def test_import_reports_bad_rows_and_loads_the_rest(tmp_path: Path) -> None:
    csv_path = tmp_path / "bag.csv"
    csv_path.write_text(
        HEADER
        + "Kerkstraat,1,,,7721KN,Dalfsen,52.5075652,6.2573199\n"
        + "Kerkstraat,2,,,7721KN,Dalfsen,6.25,52.5\n"
        + "Kerkstraat,3,,,SS7721,Dalfsen,52.5,6.25\n"
        + "Kerkstraat,12,A,,7721EJ,Dalfsen,52.506761,6.2582183\n",
        encoding="utf-8",
    )
    reported: list[RowError] = []
    n = gazetteer_import(tmp_path / "db.sqlite3", csv_path, report=reported.append)
    assert n == 2
    assert [e.line for e in reported] == [3, 4]
    assert count(tmp_path / "db.sqlite3") == 2
    meta = _meta(tmp_path / "db.sqlite3")
    assert meta["count"] == "2" and meta["skipped"] == "2" and meta["sample"] == "0"


def test_shipped_sample_is_marked_sample(tmp_path: Path) -> None:
    n = gazetteer_import(tmp_path / "db.sqlite3", SAMPLE)
    assert n == len(load_sample_gazetteer())
    assert _meta(tmp_path / "db.sqlite3")["sample"] == "1"


def test_a_failed_import_leaves_the_previous_gazetteer(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    gazetteer_import(db, SAMPLE)
    before = count(db)
    # No good row at all: refused.
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "Kerkstraat,x,,,7721KN,Dalfsen,52.5,6.25\n", encoding="utf-8")
    with pytest.raises(StoreError, match="geen enkel geldig adres"):
        gazetteer_import(db, bad, report=lambda e: None)
    # Missing columns: refused.
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("straat,postcode\nKerkstraat,7721KN\n", encoding="utf-8")
    with pytest.raises(StoreError, match="mist kolommen"):
        gazetteer_import(db, nocols)
    # A database failure halfway through the inserts: rolled back, never half loaded.
    with sqlite3.connect(db) as c:
        c.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON gazetteer WHEN NEW.huisnummer = 3 "
            "BEGIN SELECT RAISE(ABORT, 'kapot'); END"
        )
    small = tmp_path / "small.csv"
    small.write_text(
        HEADER + "".join(f"Kerkstraat,{i},,,7721KN,Dalfsen,52.5075652,6.2573199\n" for i in range(1, 6)),
        encoding="utf-8",
    )
    with pytest.raises(StoreError, match="ongewijzigd"):
        gazetteer_import(db, small)
    assert count(db) == before
    with pytest.raises(StoreError, match="niet lezen"):
        gazetteer_import(db, tmp_path / "missing.csv")


def test_cli_download_etag_and_laptop_copy(server: ServerProcess, tmp_path: Path) -> None:
    token = server.add_user("kees")
    url = server.url + "/api/v1/gazetteer"
    # Before any import: 404 with a Dutch detail.
    r = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404 and "gazetteer import" in r.json()["detail"]
    # Import while the server runs (the admin's command line).
    out = run_cli(server.db, "gazetteer", "import", str(SAMPLE))
    assert out.returncode == 0, out.stderr
    assert f"{len(load_sample_gazetteer())} adressen geladen" in out.stdout
    info = run_cli(server.db, "gazetteer", "info")
    assert "VOORBEELDADRESSEN" in info.stdout
    # No token: 401. Any valid token: the CSV.
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    kcc = server.add_user("kcc-agent", "kcc")
    assert httpx.get(url, headers={"Authorization": f"Bearer {kcc}"}).status_code == 200
    r = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["X-Wijkteam-Sample"] == "1"
    parsed = parse_gazetteer_csv(r.text)
    assert parsed.errors == []
    assert set(parsed.adressen) == set(load_sample_gazetteer().adressen)
    etag = r.headers["ETag"]
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}", "If-None-Match": etag}).status_code == 304
    meta = httpx.get(url + "/info", headers={"Authorization": f"Bearer {token}"}).json()
    assert meta["count"] == len(parsed.adressen) and meta["sample"] is True and f'"{meta["version"]}"' == etag

    # The laptop keeps a copy and only downloads again when it changed.
    folder = tmp_path / "laptop"
    with httpx.Client() as client:
        first = download_gazetteer(client, server.url, token, folder)
        assert first.changed and first.count == len(parsed.adressen)
        again = download_gazetteer(client, server.url, token, folder)
        assert not again.changed
        local = load_local_gazetteer(folder)
        assert local is not None and local.sample and len(local) == first.count
        assert local.lookup("7721EJ", "12").status == "kies"
        # A new import (fewer addresses) changes the version: the laptop gets the new copy.
        smaller = tmp_path / "smaller.csv"
        smaller.write_text(HEADER + "Kerkstraat,1,,,7721KN,Dalfsen,52.5075652,6.2573199\n", encoding="utf-8")
        assert run_cli(server.db, "gazetteer", "import", str(smaller)).returncode == 0
        third = download_gazetteer(client, server.url, token, folder)
        assert third.changed and third.count == 1
        assert len(load_local_gazetteer(folder)) == 1
        assert not load_local_gazetteer(folder).sample
        with pytest.raises(httpx.HTTPStatusError):
            download_gazetteer(client, server.url, "wrong-token", tmp_path / "other")
    assert (folder / GAZETTEER_FILE).exists()


def test_cli_reports_skipped_rows_with_line_numbers(tmp_path: Path) -> None:
    csv_path = tmp_path / "bag.csv"
    csv_path.write_text(HEADER + "Kerkstraat,1,,,7721KN,Dalfsen,52.5075652,6.2573199\nKerkstraat,0,,,7721KN,Dalfsen,52.5,6.25\n",
                        encoding="utf-8")
    out = run_cli(tmp_path / "db.sqlite3", "gazetteer", "import", str(csv_path))
    assert out.returncode == 0
    assert "regel 3" in out.stderr
    assert "1 adressen geladen" in out.stdout and "1 regel(s) overgeslagen" in out.stdout
    bad = run_cli(tmp_path / "db.sqlite3", "gazetteer", "import", str(tmp_path / "nope.csv"))
    assert bad.returncode == 1 and "Fout:" in bad.stderr and "Traceback" not in bad.stderr


def test_load_local_falls_back_to_the_sample(tmp_path: Path) -> None:
    g = load_local_gazetteer(tmp_path / "empty")
    assert g is not None and g.sample
    assert load_local_gazetteer(tmp_path / "empty", fallback_to_sample=False) is None
