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

from fpdf import FPDF

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
        #: The header row of the table being drawn, repeated after a page break.
        self.table_header: list | None = None

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


_LINE = 3.8  # mm per text line in a table (8 pt)
_PAD = 1.0  # mm of padding left and right in a cell


def _colour(value: Any) -> tuple[int, int, int]:
    if isinstance(value, Delta) and value.good is not None:
        return _GOOD if value.good else _BAD
    return (0, 0, 0)


def _lines(pdf: _Pdf, text: str, width: float) -> list[str]:
    """``text`` broken into the lines that fit ``width`` (mm); one line when it fits (the common,
    cheap case: fpdf2's own line breaking costs about a millisecond per cell)."""
    if not text or pdf.get_string_width(text) <= width - 2 * _PAD:
        return [text]
    return pdf.multi_cell(width, _LINE, text, dry_run=True, output="LINES", padding=(0, _PAD))


def _row(pdf: _Pdf, widths: list[float], cells: list[tuple[str, str, tuple[int, int, int]]], *, head: bool) -> None:
    """One table row at the current y: ``cells`` are ``(text, align, colour)``; borders, and a
    shaded background for the header. Breaks the page first when the row does not fit."""
    pdf.set_font(_FONT, "B" if head else "", 8)
    lines = [_lines(pdf, text, w) for (text, _, _), w in zip(cells, widths)]
    height = max(len(x) for x in lines) * _LINE + 1
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
        if not head and pdf.table_header is not None:
            _row(pdf, widths, pdf.table_header, head=True)
            pdf.set_font(_FONT, "", 8)
    x, y = pdf.l_margin, pdf.get_y()
    for (_, align, colour), w, parts in zip(cells, widths, lines):
        pdf.set_text_color(*colour)
        if head:
            pdf.set_fill_color(238, 243, 247)
            pdf.rect(x, y, w, height, style="DF")
        else:
            pdf.rect(x, y, w, height)
        for i, part in enumerate(parts):
            pdf.set_xy(x + _PAD, y + 0.5 + i * _LINE)
            pdf.cell(w - 2 * _PAD, _LINE, part, align=align)
        x += w
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin, y + height)


def _table(pdf: _Pdf, t: Table) -> None:
    if t.title:
        pdf.set_font(_FONT, "B", 10)
        if pdf.get_y() + 16 > pdf.page_break_trigger:  # keep a title with its first rows
            pdf.add_page()
        pdf.multi_cell(_WIDTH, 6, t.title, new_x="LMARGIN", new_y="NEXT")
    total = sum(c.width for c in t.columns)
    widths = [_WIDTH * c.width / total for c in t.columns]
    aligns = ["L" if c.kind == "text" else "R" for c in t.columns]
    pdf.table_header = None
    if any(c.header for c in t.columns):
        pdf.table_header = [(c.header, a, (0, 0, 0)) for c, a in zip(t.columns, aligns)]
        _row(pdf, widths, pdf.table_header, head=True)
    for values in t.rows:
        _row(pdf, widths, [(cell_text(v, c.kind), a, _colour(v)) for v, c, a in zip(values, t.columns, aligns)], head=False)
    pdf.table_header = None
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
