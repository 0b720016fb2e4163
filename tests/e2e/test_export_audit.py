"""``wijkteam export --met-persoonsgegevens`` against a real server: recorded in its audit first."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from shared.csvexport import PERSONAL_COLUMNS
from shared.enums import Kanaal
from shared.events import MeldingFields
from shared.model import Melder
from wijkteam_store.local import LocalStore

pytestmark = pytest.mark.e2e


def _laptop_db(path) -> None:
    with LocalStore(path) as store:
        store.set_device_code("K7")
        store.register(
            store.device_clock("tester"),
            prefix="DLF",
            registered_at=datetime(2025, 7, 1, 9, 0, tzinfo=UTC),
            fields=MeldingFields(kanaal=Kanaal.TELEFOON, omschrijving="Losse tegel",
                                 melder=Melder(naam="A. de Vries", telefoon="+31612345678")),
        )


def _export(tmp_path, config, db, out):
    env = {"WIJKTEAM_CONFIG": str(config), "PATH": ""}
    return subprocess.run(
        [sys.executable, "-m", "wijkteam_tui.cli", "export", "--db", str(db), "--format", "csv",
         "--met-persoonsgegevens", "--out", str(out)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )


def test_personal_export_is_audited_on_the_server(server, tmp_path):
    token, _ = server.add_user("hoofd", "manager")
    db, out, config = tmp_path / "l.sqlite", tmp_path / "m.csv", tmp_path / "config.toml"
    _laptop_db(db)
    config.write_text(f'server_url = "{server.url}"\ntoken = "{token}"\n', encoding="utf-8")
    done = _export(tmp_path, config, db, out)
    assert done.returncode == 0, done.stderr
    assert "auditlog" in done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline=""), delimiter=";"))
    assert set(PERSONAL_COLUMNS) <= set(rows[0]) and rows[0]["Telefoon melder"] == "06 12345678"
    log = server.cli("audit", "list", "--alles")
    assert log.returncode == 0
    line = next(x for x in log.stdout.splitlines() if "export_persoonsgegevens" in x)
    assert "hoofd (manager)" in line and "csv-export met persoonsgegevens van 1 melding" in line

    # A revoked or unknown token: the server refuses, nothing is written.
    config.write_text(f'server_url = "{server.url}"\ntoken = "onbekend-token"\n', encoding="utf-8")
    out.unlink()
    refused = _export(tmp_path, config, db, out)
    assert refused.returncode == 1 and "Niet geëxporteerd" in refused.stderr
    assert not out.exists()
