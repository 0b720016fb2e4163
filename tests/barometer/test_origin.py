"""A report on demo or imported-only data says so on every page (the projection's ``bron``)."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader

from shared.barometer import origin_note
from sync_server.cli import main as server_main


def test_origin_note_rules():
    assert origin_note({}) is None and origin_note({"live": 10}) is None
    assert origin_note({"import": 3, "live": 1}) is None  # imported history next to live work: real data
    assert origin_note({"import": 3}).startswith("ALLEEN GEÏMPORTEERDE GEGEVENS")
    assert origin_note({"demo": 1, "live": 50}).startswith("DEMOGEGEVENS")


def test_report_on_a_demo_server_says_so_on_every_pdf_page(tmp_path, capsys):
    db = tmp_path / "server.sqlite3"
    assert server_main(["demo", "--db", str(db), "--count", "80"]) == 0
    out = tmp_path / "r.pdf"
    period = ["--from", "2000-01-01", "--to", date.today().isoformat()]
    assert server_main(["report", "--db", str(db), *period, "--format", "pdf", "--out", str(out)]) == 0
    pages = PdfReader(io.BytesIO(out.read_bytes())).pages
    assert len(pages) > 3
    assert all("DEMOGEGEVENS" in p.extract_text() for p in pages)
    capsys.readouterr()
    assert server_main(["report", "--db", str(db), *period, "--format", "json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["herkomst"].get("demo", 0) >= report["totaal"]["received"] > 0 and "live" not in report["herkomst"]
