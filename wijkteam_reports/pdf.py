"""The barometer as an A4 PDF, in pure Python: fpdf2 (tables, SVG charts) with the Source Sans Pro
font from the ``font-source-sans-pro`` package (SIL Open Font License), so the README's install is
all it needs — no system fonts, no browser, no system packages.

Renders :func:`wijkteam_reports.document.document`: page one is the summary (municipality, period,
when made, server_seq and hash, certificate level, criteria, comparisons), then the charts, the
indicator tables split into blocks that fit an A4 page (their headers repeat on a new page), the data
quality and the glossary. Every page carries the footer line with page numbers and, for demo or
imported-only data, the warning banner.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from fpdf import FPDF, FontFace

from shared.barometer import BarometerReport
from wijkteam_reports.document import Delta, Document, Table, cell_text, document

#: Usable width of A4 portrait with 12 mm margins, in mm.
_WIDTH = 210 - 2 * 12
_FONT = "SourceSans"
_GOOD, _BAD, _GREY = (29, 107, 47), (163, 38, 27), (100, 100, 100)


def _font_files() -> tuple[str, str]:
    import font_source_sans_pro as fonts

    return fonts.font_files_ttf["SourceSansPro"], fonts.font_files_ttf["SourceSansProBold"]


class _Pdf(FPDF):
    """FPDF with the report's banner and footer on every page."""

    def __init__(self, doc: Document) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc = doc
        regular, bold = _font_files()
        for family in (_FONT, "sans-serif"):  # the charts' SVG asks for font-family sans-serif
            self.add_font(family, "", regular)
            self.add_font(family, "B", bold)
        self.set_margins(12, 14 if not doc.banner else 22, 12)
        self.set_auto_page_break(True, margin=16)
        self.set_title(doc.title)
        self.set_creator("Wijkteam")
        self.set_lang("nl")

    def header(self) -> None:
        if not self.doc.banner:
            return
        self.set_xy(12, 8)
        self.set_font(_FONT, "B", 9)
        self.set_fill_color(253, 231, 228)
        self.set_draw_color(*_BAD)
        self.set_text_color(138, 28, 16)
        self.multi_cell(_WIDTH, 5, self.doc.banner, border=1, fill=True, align="C")
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.set_y(22)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, "", 7.5)
        self.set_text_color(*_GREY)
        self.cell(_WIDTH * 0.8, 5, self.doc.footer, align="L")
        self.cell(_WIDTH * 0.2, 5, f"pagina {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def _style(value: Any) -> FontFace | None:
    if isinstance(value, Delta) and value.good is not None:
        return FontFace(color=_GOOD if value.good else _BAD, emphasis="BOLD")
    return None


def _table(pdf: _Pdf, t: Table) -> None:
    if t.title:
        pdf.set_font(_FONT, "B", 10)
        pdf.multi_cell(_WIDTH, 6, t.title, new_x="LMARGIN", new_y="NEXT")
    total = sum(c.width for c in t.columns)
    widths = [_WIDTH * c.width / total for c in t.columns]
    aligns = ["LEFT" if c.kind == "text" else "RIGHT" for c in t.columns]
    headed = any(c.header for c in t.columns)
    pdf.set_font(_FONT, "", 8)
    with pdf.table(
        col_widths=widths,
        text_align=aligns,
        first_row_as_headings=headed,
        headings_style=FontFace(emphasis="BOLD", fill_color=(238, 243, 247)),
        line_height=4,
        padding=(0.8, 1),
        width=_WIDTH,
        align="LEFT",
    ) as table:
        if headed:
            head = table.row()
            for c in t.columns:
                head.cell(c.header)
        for values in t.rows:
            row = table.row()
            for v, c in zip(values, t.columns):
                row.cell(cell_text(v, c.kind), style=_style(v))
    pdf.ln(3)


def _chart(pdf: _Pdf, svg: str) -> None:
    # Width from the SVG's own size, at most the page width; a new page when it does not fit.
    width = min(_WIDTH, 0.26 * _svg_size(svg)[0])
    height = width * _svg_size(svg)[1] / _svg_size(svg)[0]
    if pdf.get_y() + height > pdf.h - 18:
        pdf.add_page()
    pdf.image(io.BytesIO(svg.encode("utf-8")), x=12, y=pdf.get_y(), w=width)
    pdf.set_y(pdf.get_y() + height + 4)


def _svg_size(svg: str) -> tuple[float, float]:
    import re

    m = re.search(r"viewBox='0 0 ([\d.]+) ([\d.]+)'", svg)
    return (float(m[1]), float(m[2])) if m else (680.0, 260.0)


def to_pdf(report: BarometerReport, doc: Document | None = None) -> bytes:
    """The report as A4 PDF bytes."""
    doc = doc or document(report)
    # fpdf2 logs every SVG element it skips (our <title> tooltips); they are meant for browsers.
    logging.getLogger("fpdf.svg").setLevel(logging.ERROR)
    pdf = _Pdf(doc)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 16)
    pdf.multi_cell(_WIDTH, 8, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for i, s in enumerate(doc.sections):
        if i > 0:
            pdf.add_page()
        pdf.set_font(_FONT, "B", 13)
        pdf.multi_cell(_WIDTH, 7, s.title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        pdf.set_font(_FONT, "", 9.5)
        for p in s.paragraphs:
            pdf.multi_cell(_WIDTH, 5, p, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        for svg in s.charts:
            _chart(pdf, svg)
        for t in s.tables:
            _table(pdf, t)
    return bytes(pdf.output())
