"""The municipality configuration on the server: ``config import|show|export``, versions, the
download laptops use (ETag/304), the running server following a new version, and the refusals."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from shared.gemeente import gemeente, read_config
from sync_server.cli import main
from sync_server.gemeente_config import current_version, history, stored
from tests.server.conftest import auth

DATA = Path(str(resources.files("shared").joinpath("data")))
NAMES = ("gemeente.toml", "taxonomy.toml", "wijken.toml", "wijken.geojson", "certificering.toml", "teksten.toml")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "dalfsen"
    out.mkdir()
    for name in NAMES:
        shutil.copy(DATA / name, out / name)
    _edit(out / "gemeente.toml", "voorbeeld = true", "voorbeeld = false")
    return out


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _import(server, path: Path, *extra: str) -> int:
    return main(["config", "import", str(path), "--db", str(server.path), *extra])


def test_import_stores_a_version_that_laptops_download(server, client, folder, capsys):
    r = client.get("/api/v1/config", headers=auth(server.tokens["wijkuitvoerder"]))
    assert r.status_code == 200 and r.json()["version"] == 0
    assert _import(server, folder) == 0
    assert "Configuratie versie 1 opgeslagen" in capsys.readouterr().out
    r = client.get("/api/v1/config", headers=auth(server.tokens["wijkuitvoerder"]))
    assert r.status_code == 200
    assert r.json()["version"] == 1 and r.json()["naam"] == "Gemeente Dalfsen"
    etag = r.headers["etag"]
    assert etag.startswith('"1-') and r.headers["x-wijkteam-config-version"] == "1"
    again = client.get("/api/v1/config", headers={**auth(server.tokens["kcc"]), "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    info = client.get("/api/v1/config/info", headers=auth(server.tokens["manager"])).json()
    assert (info["version"], info["etag"], info["naam"]) == (1, etag, "Gemeente Dalfsen")
    assert client.get("/api/v1/config").status_code == 401


def test_the_same_configuration_again_is_no_new_version(server, folder, capsys):
    assert _import(server, folder) == 0
    assert _import(server, folder) == 0
    assert "Ongewijzigd" in capsys.readouterr().out
    assert current_version(server.store) == 1
    _edit(folder / "gemeente.toml", "terugbelnorm = 2", "terugbelnorm = 3")
    assert _import(server, folder) == 0
    assert [s.version for s in history(server.store)] == [1, 2]
    assert stored(server.store).config.terugbelnorm == 3
    assert stored(server.store, 1).config.terugbelnorm == 2


def test_an_invalid_configuration_changes_nothing(server, folder, capsys):
    assert _import(server, folder) == 0
    _edit(folder / "taxonomy.toml", "servicenorm = 10", "servicenorm = 100")
    assert _import(server, folder) == 1
    err = capsys.readouterr().err
    assert "taxonomy.toml, regel " in err and "groen.sub.plantsoen.servicenorm" in err
    assert "Er is niets veranderd." in err
    assert current_version(server.store) == 1


def test_a_category_may_be_retired_but_not_removed(server, folder, capsys):
    assert _import(server, folder) == 0
    text = (folder / "taxonomy.toml").read_text(encoding="utf-8")
    start, end = text.index("[spelen.sub.speeltoestel]"), text.index("[verkeer]")
    (folder / "taxonomy.toml").write_text(text[:start] + text[end:], encoding="utf-8")
    assert _import(server, folder) == 1
    assert "spelen/speeltoestel" in capsys.readouterr().err
    assert current_version(server.store) == 1
    (folder / "taxonomy.toml").write_text(
        text.replace("[spelen.sub.speeltoestel]\n", "[spelen.sub.speeltoestel]\nvervallen = true\n"), encoding="utf-8"
    )
    assert _import(server, folder) == 0
    assert "1 vervallen (spelen/speeltoestel)" in capsys.readouterr().out


def test_dry_run_checks_without_storing(server, folder, capsys):
    assert _import(server, folder, "--dry-run") == 0
    assert "er is niets opgeslagen" in capsys.readouterr().out
    assert current_version(server.store) == 0


def test_unknown_wijkuitvoerders_are_a_warning(server, folder, capsys):
    _edit(folder / "wijken.toml", 'wijkuitvoerders = ["a.devries"]', 'wijkuitvoerders = ["test-wijkuitvoerder", "karel"]')
    assert _import(server, folder) == 0
    err = capsys.readouterr().err
    assert "'karel' is (nog) geen gebruiker" in err and "test-wijkuitvoerder" not in err


def test_export_writes_a_folder_that_imports_to_the_same(server, folder, tmp_path, capsys):
    assert _import(server, folder) == 0
    out = tmp_path / "export"
    assert main(["config", "export", str(out), "--db", str(server.path)]) == 0
    assert read_config(out) == read_config(folder)
    assert main(["config", "export", str(out), "--db", str(server.path)]) == 1  # not over a full folder
    assert "niet leeg" in capsys.readouterr().err


def test_show_prints_the_version_in_force(server, folder, capsys):
    assert main(["config", "show", "--db", str(server.path)]) == 0
    assert "Configuratie versie 0" in capsys.readouterr().out
    assert _import(server, folder) == 0
    capsys.readouterr()
    assert main(["config", "show", "--db", str(server.path)]) == 0
    out = capsys.readouterr().out
    assert "Configuratie versie 1" in out and "Gemeente Dalfsen (CBS 0148), voorvoegsel DLF, 29.000 inwoners" in out


def test_the_running_server_follows_a_new_version(server, client, folder):
    _edit(folder / "gemeente.toml", 'naam = "Gemeente Dalfsen"', 'naam = "Gemeente Dalfsen-Oost"')
    _edit(folder / "taxonomy.toml", "[afval.sub.container]\n", "[afval.sub.container]\nvervallen = true\n")
    before = client.get("/open311/v2/services.json").json()
    assert _import(server, folder) == 0
    client.get("/health")  # any request puts the new version in force
    assert gemeente().version == 1 and gemeente().naam == "Gemeente Dalfsen-Oost"
    after = client.get("/open311/v2/services.json").json()
    assert "afval/container" in {s["service_code"] for s in before}
    assert "afval/container" not in {s["service_code"] for s in after}


def test_backup_into_a_folder_keeps_the_newest(server, tmp_path, capsys):
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notities.txt").write_text("blijft staan", encoding="utf-8")
    for _ in range(3):
        assert main(["backup", str(folder), "--keep", "2", "--db", str(server.path)]) == 0
    kept = sorted(p.name for p in folder.glob("wijkteam-*.dump" if server.store.postgres else "wijkteam-*.sqlite3"))
    assert len(kept) == 2 and (folder / "notities.txt").exists()
    assert "Oude reservekopie verwijderd" in capsys.readouterr().out
    assert main(["backup", str(tmp_path / "een.sqlite3"), "--keep", "2", "--db", str(server.path)]) == 1


def test_ready_names_the_configuration(server, client, folder):
    assert _import(server, folder) == 0
    r = client.get("/ready")
    check = next(c for c in r.json()["checks"] if c["name"] == "configuratie")
    assert check["ok"] and "versie 1 (Gemeente Dalfsen)" in check["detail"]
    # A stored version this server cannot read (e.g. written by a newer one) makes /ready fail.
    with server.store.write() as c:
        c.execute("UPDATE gemeente_config SET body = ? WHERE version = 1", (b'{"version": 1, "naam": 3}',))
    from sync_server.gemeente_config import _DECODE_CACHE

    _DECODE_CACHE.clear()
    r = client.get("/ready")
    assert r.status_code == 503 and "gemeenteconfiguratie is onbruikbaar" in r.json()["detail"]
