"""Render a :class:`~shared.barometer.BarometerReport` as PDF, HTML, XLSX, CSV, Markdown or JSON.

Markdown, HTML and PDF render the same :class:`~wijkteam_reports.document.Document` (same sections,
tables and numbers); XLSX (:mod:`.xlsx`) and CSV hold the same figures as numbers. Every format
shows the same values as the API: percentages with one decimal, lead times in working days, n.v.t.
where a figure has no denominator (an empty cell in CSV and XLSX, never text in a number column).

* PDF (:mod:`.pdf`): A4, pure Python (fpdf2), with the charts; wide tables are split into blocks.
* HTML: one self-contained page (inline CSS and SVG charts) that prints to A4 without losing a
  column (the same blocks; table headers repeat on every printed page).
* CSV: one table by the CSV rules of ``shared.csvexport`` (BOM, ``;``, decimal comma); columns
  ``Sectie;Groep`` then one per indicator; rows: Totaal, each comparison period, each group, each month.
* Every page or sheet of a report on demo or imported-only data carries that warning.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

import msgspec

from shared.barometer import GROUP_LABELS, INDICATORS, BarometerReport
from shared.csvexport import CsvWriter, style
from wijkteam_reports.document import Delta, Document, Table, cell_text, document

FORMATS = ("md", "csv", "xlsx", "html", "pdf", "json")

#: Header of the identifying columns of the indicator table (CSV).
KEY_COLUMNS = ("Sectie", "Groep")


def table_rows(report: BarometerReport) -> list[tuple[str, str, Any]]:
    """The indicator table: ``(sectie, groep, indicators)`` for the total, each comparison period,
    every group of every grouping, and every month."""
    rows: list[tuple[str, str, Any]] = [("Totaal", report.period_label, report.totaal)]
    rows += [("Vergelijking", f"{c.label} ({c.period_label})", c.totaal) for c in report.comparisons]
    for dim, groups in report.groups.items():
        rows += [(GROUP_LABELS[dim], g.label, g.indicators) for g in groups]
    rows += [("Maand", m.maand, m.indicators) for m in report.months]
    return rows


# -- markdown ----------------------------------------------------------------------------------------------


def _md_cell(value: Any, kind: str) -> str:
    return cell_text(value, kind).replace("|", "\\|").replace("\n", " ")


def _md_table(t: Table) -> list[str]:
    out = [f"### {t.title}", ""] if t.title else []
    out.append("| " + " | ".join(_md_cell(c.header, "text") or " " for c in t.columns) + " |")
    out.append("|" + "".join("---|" if c.kind == "text" else "---:|" for c in t.columns))
    out += ["| " + " | ".join(_md_cell(v, c.kind) for v, c in zip(row, t.columns)) + " |" for row in t.rows]
    return [*out, ""]


def to_markdown(report: BarometerReport, doc: Document | None = None) -> str:
    """The report as Markdown (the charts are in the HTML and PDF)."""
    doc = doc or document(report)
    out = [f"# {doc.title}", ""]
    if doc.banner:
        out += [f"> **{doc.banner}**", ""]
    for s in doc.sections:
        out += [f"## {s.title}", ""]
        if s.charts:
            out += ["(De grafieken staan in de HTML- en PDF-versie.)", ""]
        for p in s.paragraphs:
            out += [p, ""]
        for t in s.tables:
            out += _md_table(t)
    out += ["---", doc.footer, ""]
    return "\n".join(out)


# -- csv ---------------------------------------------------------------------------------------------------


def to_csv(report: BarometerReport, *, comma: bool = False) -> str:
    """The indicator table as CSV by ``shared.csvexport`` (BOM, ``;`` and decimal comma — ``,`` with
    ``comma`` —, n.v.t. as an empty cell)."""
    buf = io.StringIO(newline="")
    w = CsvWriter(buf, style(comma))
    w.header([*KEY_COLUMNS, *[i.label for i in INDICATORS]])
    for sectie, groep, ind in table_rows(report):
        w.row([sectie, groep, *[getattr(ind, i.field) for i in INDICATORS]])
    return buf.getvalue()


# -- html --------------------------------------------------------------------------------------------------

_CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin: 1em 0 .3em; }
table { border-collapse: collapse; margin: .3em 0 1em; font-size: .9em; }
th, td { border: 1px solid #bbb; padding: .2em .45em; vertical-align: top; }
thead th { background: #eef3f7; text-align: left; }
td.num { text-align: right; white-space: nowrap; }
td.nvt { color: #666; font-style: italic; text-align: right; }
td.good { color: #1d6b2f; font-weight: bold; } td.bad { color: #a3261b; font-weight: bold; }
figure { margin: 1em 0; break-inside: avoid; } .meta { color: #555; }
.banner { background: #fde7e4; color: #8a1c10; border: 2px solid #a3261b; padding: .4em .8em; font-weight: bold; }
footer { color: #555; font-size: .8em; margin-top: 2em; }
@page { size: A4 portrait; margin: 14mm 12mm 16mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 9pt; }
  table { width: 100%; table-layout: fixed; font-size: 8pt; }
  th, td { overflow-wrap: anywhere; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  section { break-before: page; } section#samenvatting { break-before: auto; }
  figure svg { max-width: 100%; height: auto; }
  /* Repeated on every printed page. */
  .banner { position: fixed; top: 0; left: 0; right: 0; }
  footer { position: fixed; bottom: 0; left: 0; right: 0; margin: 0; }
  body.with-banner { padding-top: 2.6em; }
}
"""


def _html_cell(value: Any, kind: str) -> str:
    if isinstance(value, Delta):
        cls = "nvt" if value.diff is None else ("num" if value.good is None else ("good" if value.good else "bad"))
        return f"<td class='{cls}'>{escape(cell_text(value))}</td>"
    if kind == "text":
        return f"<td>{escape(cell_text(value))}</td>"
    if kind == "figure":
        return f"<td class='num'>{escape(cell_text(value, kind))}</td>"
    if value is None:
        return f"<td class='nvt'>{escape(cell_text(value, kind))}</td>"
    return f"<td class='num' data-value='{value}'>{escape(cell_text(value, kind))}</td>"


def _html_table(t: Table) -> str:
    head = "".join(f"<th>{escape(c.header)}</th>" for c in t.columns)
    body = "".join(
        "<tr>" + "".join(_html_cell(v, c.kind) for v, c in zip(row, t.columns)) + "</tr>" for row in t.rows
    )
    caption = f"<h3>{escape(t.title)}</h3>" if t.title else ""
    thead = f"<thead><tr>{head}</tr></thead>" if any(c.header for c in t.columns) else ""
    return f"{caption}<table id='{escape(t.key)}'>{thead}<tbody>{body}</tbody></table>"


def to_html(report: BarometerReport, doc: Document | None = None) -> str:
    """The report as one HTML page with inline SVG charts, printable on A4."""
    doc = doc or document(report)
    banner = f"<div class='banner'>{escape(doc.banner)}</div>" if doc.banner else ""
    parts = [
        "<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>",
        f"<title>{escape(doc.title)}</title><style>{_CSS}</style></head>",
        f"<body class='{'with-banner' if doc.banner else ''}'>{banner}<h1>{escape(doc.title)}</h1>",
    ]
    for s in doc.sections:
        parts.append(f"<section id='{escape(s.key)}'><h2>{escape(s.title)}</h2>")
        parts += [f"<p>{escape(p)}</p>" for p in s.paragraphs]
        parts += [f"<figure>{svg}</figure>" for svg in s.charts]
        parts += [_html_table(t) for t in s.tables]
        parts.append("</section>")
    parts.append(f"<footer>{escape(doc.footer)}</footer></body></html>")
    return "".join(parts)


# -- dispatch ----------------------------------------------------------------------------------------------


def render(report: BarometerReport, fmt: str, *, comma: bool = False) -> str | bytes:
    """The report in ``fmt`` (one of ``FORMATS``): text, or bytes for xlsx and pdf.

    Raises:
        ValueError: unknown format.
    """
    if fmt == "md":
        return to_markdown(report)
    if fmt == "csv":
        return to_csv(report, comma=comma)
    if fmt == "html":
        return to_html(report)
    if fmt == "json":
        return msgspec.json.format(msgspec.json.encode(report), indent=2).decode() + "\n"
    if fmt == "xlsx":
        from wijkteam_reports.xlsx import to_xlsx

        return to_xlsx(report)
    if fmt == "pdf":
        from wijkteam_reports.pdf import to_pdf

        return to_pdf(report)
    raise ValueError(f"Onbekend formaat '{fmt}'; kies uit {', '.join(FORMATS)}.")
