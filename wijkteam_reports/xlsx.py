"""The barometer as an Excel workbook, written with XlsxWriter.

* Numbers are numbers: counts as integers, percentages as fractions with the format ``0.0%`` (the
  API's 87.5 is the cell value 0.875, shown as 87,5 % in a Dutch Excel), lead times in working days.
  n.v.t. is an **empty cell with a comment** saying why — never text in a number column.
* Sheets: *Samenvatting* (municipality, period, when made, server_seq, hash, certificate level),
  *Kerncijfers* (the period against the previous period and a year earlier), *Criteria* (with a
  native chart of value and thresholds), one sheet per grouping (*Per wijk*, …), *Per maand* (with a
  native trend chart), *Datakwaliteit* and *Toelichting* (each indicator's definition, rule, source).
* Every table sheet has a frozen header row and an autofilter; every sheet prints on A4 (landscape,
  one page wide) and, for demo or imported-only data, carries the warning in its first row and in
  the printed page header.
"""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter

from shared.barometer import GROUP_LABELS, INDICATORS, INFO, MONTH_INDICATORS, NVT, BarometerReport, IndicatorInfo
from shared.certificering import LEVELS
from wijkteam_reports.document import general_rules, local_minute, meta_table, quality_table, title

#: The comment on an empty (n.v.t.) number cell.
NVT_COMMENT = "n.v.t.: geen meldingen om dit percentage of deze doorlooptijd over te berekenen."

_FORMATS = {"count": "0", "pct": "0.0%", "days": "0.0", "rate": "0.00"}


class _Book:
    """The workbook with its cell formats."""

    def __init__(self, buf: io.BytesIO, report: BarometerReport) -> None:
        self.wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
        self.report = report
        self.bold = self.wb.add_format({"bold": True})
        self.head = self.wb.add_format({"bold": True, "bg_color": "#EEF3F7", "text_wrap": True, "valign": "top", "border": 1})
        self.banner = self.wb.add_format({"bold": True, "font_color": "#8A1C10", "bg_color": "#FDE7E4"})
        self.title = self.wb.add_format({"bold": True, "font_size": 14})
        self.wrap = self.wb.add_format({"text_wrap": True, "valign": "top"})
        self.num = {k: self.wb.add_format({"num_format": f}) for k, f in _FORMATS.items()}

    def sheet(self, name: str) -> Any:
        """A new sheet, A4 landscape one page wide, with the demo/import warning when there is one.
        Returns the sheet; its first free row is ``sheet.first_row``."""
        ws = self.wb.add_worksheet(name)
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        note = self.report.herkomst_note
        ws.first_row = 0
        if note:
            ws.write_string(0, 0, note, self.banner)
            ws.set_header(f"&C&\"-,Bold\"{note.replace('&', '&&')}")
            ws.first_row = 2
        ws.set_footer(f"&L{title(self.report).replace('&', '&&')}&RPagina &P van &N")
        return ws

    def value(self, ws: Any, row: int, col: int, value: float | None, kind: str) -> None:
        """A number cell by kind; ``None`` is an empty cell with :data:`NVT_COMMENT`."""
        if value is None:
            ws.write_blank(row, col, None)
            ws.write_comment(row, col, NVT_COMMENT)
            return
        if kind == "pct":
            value = value / 100
        ws.write_number(row, col, value, self.num[kind])

    def table(self, ws: Any, top: int, header: list[str], rows: list[list[tuple[Any, str]]], widths: list[float]) -> int:
        """A table at row ``top``: frozen header, autofilter; cells are ``(value, kind)`` (kind
        ``text`` or a number kind). Returns the row after the table."""
        for c, h in enumerate(header):
            ws.write_string(top, c, h, self.head)
        for r, cells in enumerate(rows, start=top + 1):
            for c, (v, kind) in enumerate(cells):
                if kind == "text":
                    ws.write_string(r, c, "" if v is None else str(v))
                else:
                    self.value(ws, r, c, v, kind)
        ws.freeze_panes(top + 1, 1)
        ws.autofilter(top, 0, top + max(len(rows), 1), len(header) - 1)
        ws.repeat_rows(top)
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        ws.set_row(top, 45)
        return top + len(rows) + 1


def _kind(indicator: str) -> str:
    return INFO[indicator].kind if indicator in INFO else "pct"


def _indicator_rows(items: list[tuple[str, Any]], infos: tuple[IndicatorInfo, ...]) -> list[list[tuple[Any, str]]]:
    return [[(label, "text"), *[(getattr(ind, i.field), i.kind) for i in infos]] for label, ind in items]


def to_xlsx(report: BarometerReport) -> bytes:
    """The report as an Excel workbook (bytes)."""
    buf = io.BytesIO()
    book = _Book(buf, report)
    wb = book.wb

    ws = book.sheet("Samenvatting")
    r = ws.first_row
    ws.write_string(r, 0, title(report), book.title)
    r += 2
    for key, value in meta_table(report).rows:
        ws.write_string(r, 0, key, book.bold)
        ws.write_string(r, 1, value)
        r += 1
    ws.write_string(r + 1, 0, "Certificeringsniveau", book.bold)
    ws.write_string(r + 1, 1, report.certificate_level or "geen")
    ws.set_column(0, 0, 38)
    ws.set_column(1, 1, 70)

    # Kerncijfers: the period against the comparisons, every indicator.
    ws = book.sheet("Kerncijfers")
    header = ["Indicator", report.period_label]
    for c in report.comparisons:
        header += [f"{c.label} ({c.period_label})", f"Verschil met {c.label.lower()}"]
    rows = []
    for info in INDICATORS:
        now = getattr(report.totaal, info.field)
        cells: list[tuple[Any, str]] = [(info.label, "text"), (now, info.kind)]
        for c in report.comparisons:
            then = getattr(c.totaal, info.field)
            diff = None if now is None or then is None else round(now - then, 2 if info.kind == "rate" else 1)
            cells += [(then, info.kind), (diff, info.kind)]
        rows.append(cells)
    book.table(ws, ws.first_row, header, rows, [34] + [16] * (len(header) - 1))

    # Criteria with a native chart: value and the three thresholds per criterion.
    ws = book.sheet("Criteria")
    top = ws.first_row
    header = ["Criterium", "Indicator", "Richting", "Waarde", *[lvl.capitalize() for lvl in LEVELS],
              *[f"{lvl.capitalize()} gehaald" for lvl in LEVELS], "Gehaald niveau"]
    rows = []
    for c in report.criteria:
        kind = _kind(c.indicator)
        rows.append(
            [(c.label, "text"), (c.indicator, "text"), ("minimaal" if c.direction == "min" else "maximaal", "text"),
             (c.value, kind), *[(c.thresholds[lvl], kind) for lvl in LEVELS],
             *[(NVT if c.met[lvl] is None else ("ja" if c.met[lvl] else "nee"), "text") for lvl in LEVELS],
             (c.level or "geen", "text")]
        )
    end = book.table(ws, top, header, rows, [44, 22, 10, 10, 10, 10, 10, 12, 12, 12, 14])
    ws.write_string(end + 1, 0, "Certificeringsniveau over alle criteria", book.bold)
    ws.write_string(end + 1, 1, report.certificate_level or "geen")
    pct_criteria = [c for c in report.criteria if _kind(c.indicator) == "pct"]
    if pct_criteria:
        # The chart plots the percentage criteria on one axis (a lead time in days would not fit it);
        # its data is a small block under the table.
        top = end + 3
        ws.write_string(top, 0, "Grafiekgegevens: criteria in procenten", book.bold)
        for c, h in enumerate(("Criterium", "Waarde", *[lvl.capitalize() for lvl in LEVELS]), start=0):
            ws.write_string(top + 1, c, h, book.head)
        for r, c in enumerate(pct_criteria, start=top + 2):
            ws.write_string(r, 0, c.label)
            book.value(ws, r, 1, c.value, "pct")
            for col, lvl in enumerate(LEVELS, start=2):
                book.value(ws, r, col, c.thresholds[lvl], "pct")
        n = len(pct_criteria)
        chart = wb.add_chart({"type": "bar"})
        for col, name in ((1, "Waarde"), (2, "Brons"), (3, "Zilver"), (4, "Goud")):
            chart.add_series(
                {"name": name, "categories": ["Criteria", top + 2, 0, top + 1 + n, 0],
                 "values": ["Criteria", top + 2, col, top + 1 + n, col]}
            )
        chart.set_title({"name": "Criteria: waarde en drempels (brons, zilver, goud)"})
        chart.set_x_axis({"num_format": "0%", "min": 0, "max": 1})
        chart.set_size({"width": 820, "height": 80 + 70 * n})
        ws.insert_chart(top + 3 + n, 0, chart)

    # One sheet per grouping.
    for dim, groups in report.groups.items():
        ws = book.sheet(f"Per {GROUP_LABELS[dim].lower()}"[:31])
        book.table(ws, ws.first_row, [GROUP_LABELS[dim], *[i.label for i in INDICATORS]],
                   _indicator_rows([(g.label, g.indicators) for g in groups], INDICATORS),
                   [30] + [13] * len(INDICATORS))

    # The months, with a native trend chart.
    ws = book.sheet("Per maand")
    top = ws.first_row
    end = book.table(ws, top, ["Maand", *[i.label for i in MONTH_INDICATORS]],
                     _indicator_rows([(m.maand, m.indicators) for m in report.months], MONTH_INDICATORS),
                     [12] + [13] * len(MONTH_INDICATORS))
    if report.months:
        n = len(report.months)
        col = {i.field: c for c, i in enumerate(MONTH_INDICATORS, start=1)}
        bars = wb.add_chart({"type": "column"})
        for field, name in (("received", "Ontvangen"), ("closed", "Afgehandeld")):
            bars.add_series({"name": name, "categories": ["Per maand", top + 1, 0, top + n, 0],
                             "values": ["Per maand", top + 1, col[field], top + n, col[field]]})
        line = wb.add_chart({"type": "line"})
        line.add_series({"name": "Binnen servicenorm (%)", "categories": ["Per maand", top + 1, 0, top + n, 0],
                         "values": ["Per maand", top + 1, col["pct_within_norm"], top + n, col["pct_within_norm"]],
                         "y2_axis": True, "marker": {"type": "circle"}})
        bars.combine(line)
        bars.set_title({"name": "Maandelijkse trend: ontvangen, afgehandeld en % binnen servicenorm"})
        bars.set_y_axis({"name": "Meldingen"})
        line.set_y2_axis({"name": "% binnen norm", "num_format": "0%", "min": 0, "max": 1})
        bars.set_size({"width": 900, "height": 360})
        ws.insert_chart(end + 2, 0, bars)

    # Data quality.
    ws = book.sheet("Datakwaliteit")
    q = quality_table(report)
    book.table(ws, ws.first_row, [c.header for c in q.columns],
               [[(v, c.kind) for v, c in zip(row, q.columns)] for row in q.rows], [48, 12, 90])

    # Glossary and general rules.
    ws = book.sheet("Toelichting")
    top = ws.first_row
    for line in general_rules(report):
        ws.set_row(top, 45)
        ws.merge_range(top, 0, top, 3, line, book.wrap)
        top += 1
    top += 1
    ws.write_string(top, 0, f"Gemaakt op {local_minute(report.made_at)} (Nederlandse tijd)")
    top += 2
    for c, h in enumerate(("Indicator", "Definitie", "Rekenregel", "Bron")):
        ws.write_string(top, c, h, book.head)
    for r, info in enumerate(INDICATORS, start=top + 1):
        for c, text in enumerate((info.label, info.definitie, info.regel, info.bron)):
            ws.write_string(r, c, text, book.wrap)
    ws.freeze_panes(top + 1, 1)
    ws.autofilter(top, 0, top + len(INDICATORS), 3)
    for c, w in enumerate((30, 50, 70, 45)):
        ws.set_column(c, c, w)
    wb.close()
    return buf.getvalue()
