"""The A4 PDF parsed back (pypdf): every column header of every table, page one, the glossary, and the
demo warning on every page."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from shared.barometer import INDICATORS, ReportSettings, parse_period
from wijkteam_reports.document import document
from wijkteam_reports.pdf import to_pdf
from wijkteam_reports.sql import build_report

from .helpers import make_db, utc
from .test_renderings import GROUPS, sample_world

A4_POINTS = (595.28, 841.89)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def report():
    return build_report(
        make_db(sample_world().rows()),
        parse_period("2025-Q3"),
        as_of=utc("2025-12-01 10:07"),
        made_at=datetime(2025, 12, 1, 22, 59, 30, tzinfo=UTC),  # 23:59 in Amsterdam (winter time)
        group_by=GROUPS.split(","),
        settings=ReportSettings(gemeente="Dalfsen", inwoners=29_000, config_version=3),
    )


def _pages(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(w, 1), round(h, 1)) == (round(A4_POINTS[0], 1), round(A4_POINTS[1], 1))
    return [_norm(p.extract_text()) for p in reader.pages]


def test_every_column_header_of_every_table_is_in_the_pdf(report):
    pages = _pages(to_pdf(report))
    text = " ".join(pages)
    doc = document(report)
    headers = [c.header for s in doc.sections for t in s.tables for c in t.columns if c.header]
    assert len(headers) > 100  # every grouping's block tables, the months, quality, glossary
    missing = sorted({h for h in headers if _norm(h) not in text})
    assert not missing
    # And every table title (the blocks the wide tables are split into).
    titles = {t.title for s in doc.sections for t in s.tables if t.title}
    assert not [t for t in titles if _norm(t) not in text]


def test_page_one_has_the_municipality_period_moment_level_and_comparisons(report):
    first = _pages(to_pdf(report))[0]
    assert "Dalfsen" in first and "2025-Q3" in first and "01-07-2025 t/m 30-09-2025" in first
    assert "01-12-2025 23:59" in first  # made at, Europe/Amsterdam, to the minute
    assert f"Certificeringsniveau over alle criteria: {report.certificate_level or 'geen'}" in first
    assert "Certificeringscriteria" in first and report.criteria[0].label in first
    assert "Vorige periode (2025-Q2)" in first and "Zelfde periode vorig jaar (2024-Q3)" in first
    assert "▲" in first  # 12 received against 0 before
    assert report.figures_hash in first
    assert "Gemeenteconfiguratie versie 3" in first and "Inwoners 29.000" in first


def test_glossary_explains_every_indicator(report):
    text = " ".join(_pages(to_pdf(report)))
    for info in INDICATORS:
        assert _norm(info.definitie) in text, info.field
        assert _norm(info.regel) in text, info.field


def test_demo_data_is_marked_on_every_page(report):
    import msgspec

    demo = msgspec.structs.replace(report, herkomst_note="DEMOGEGEVENS — verzonnen meldingen")
    pages = _pages(to_pdf(demo))
    assert len(pages) > 3
    assert all("DEMOGEGEVENS" in p for p in pages)
    assert not any("DEMOGEGEVENS" in p for p in _pages(to_pdf(report)))
    assert all(re.search(r"pagina \d+/\d+", p) for p in pages)


def test_demo_data_is_marked_on_every_sheet_and_in_html(report):
    import msgspec
    from openpyxl import load_workbook

    from wijkteam_reports.render import to_html
    from wijkteam_reports.xlsx import to_xlsx

    demo = msgspec.structs.replace(report, herkomst_note="DEMOGEGEVENS — verzonnen meldingen")
    wb = load_workbook(io.BytesIO(to_xlsx(demo)))
    for ws in wb:
        assert ws["A1"].value.startswith("DEMOGEGEVENS"), ws.title
        assert "DEMOGEGEVENS" in ws.oddHeader.center.text, ws.title
    html = to_html(demo)
    assert "<div class='banner'>DEMOGEGEVENS" in html and ".banner { position: fixed" in html
