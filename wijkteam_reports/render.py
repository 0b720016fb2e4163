"""Render a :class:`~shared.barometer.BarometerReport` as Markdown, CSV, XLSX or HTML.

All formats show the same numbers as the API (the report's ``Indicators``): percentages with one
decimal, lead times in working days, "n.v.t." where a figure has no denominator.

* CSV: one table, ``;``-separated with decimal commas (what Dutch Excel opens directly), UTF-8 with
  BOM; columns ``Sectie;Sleutel;Groep`` then one per indicator; sections Totaal, each grouping, Maand.
* XLSX (openpyxl): sheet "Indicatoren" (the CSV table, numbers as numbers), "Criteria", "Toelichting".
* HTML: one self-contained page (inline CSS and SVG charts), readable on screen and printable.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from html import escape

from shared.barometer import (
    GROUP_LABELS,
    INDICATORS,
    MONTH_INDICATORS,
    NVT,
    BarometerReport,
    Indicators,
    format_value,
)
from shared.certificering import LEVELS
from wijkteam_reports.charts import hbar_chart, trend_chart

FORMATS = ("md", "csv", "xlsx", "html")

#: Header of the identifying columns of the indicator table (CSV and XLSX).
KEY_COLUMNS = ("Sectie", "Sleutel", "Groep")

_DIRECTION = {"min": "≥", "max": "≤"}


def table_rows(report: BarometerReport) -> Iterator[tuple[str, str, str, Indicators]]:
    """The indicator table: ``(sectie, sleutel, groep, indicators)`` for the total, every group of
    every grouping, and every month."""
    yield "Totaal", "", "Totaal", report.totaal
    for dim, groups in report.groups.items():
        for g in groups:
            yield GROUP_LABELS[dim], g.key or "", g.label, g.indicators
    for m in report.months:
        yield "Maand", m.maand, m.maand, m.indicators


def _title(report: BarometerReport) -> str:
    return f"Barometer {report.period_label}"


def _subtitle(report: BarometerReport) -> str:
    return (
        f"Periode {report.period_from} t/m {report.period_to} (Europe/Amsterdam); "
        f"berekend {report.as_of}; werkvoorraad op {report.backlog_at} (UTC)."
    )


def _level(level: str | None) -> str:
    return level or "geen"


def _met(value: bool | None) -> str:
    return NVT if value is None else ("ja" if value else "nee")


def _threshold(c, lvl: str) -> str:
    kind = "days" if c.indicator.startswith("lead") else "pct"
    return f"{_DIRECTION[c.direction]} {format_value(c.thresholds[lvl], kind)}"


def _crit_value(c) -> str:
    return format_value(c.value, "days" if c.indicator.startswith("lead") else "pct")


# -- markdown ----------------------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def to_markdown(report: BarometerReport) -> str:
    """The report as Markdown: totals, criteria, each grouping and the monthly trend."""
    out = [f"# {_title(report)}", "", _subtitle(report), ""]
    out += ["## Totaal", ""]
    out.append(_md_table(["Indicator", "Waarde"], [[i.label, format_value(getattr(report.totaal, i.field), i.kind)] for i in INDICATORS]))
    out += ["", "## Certificeringscriteria", ""]
    out.append(
        _md_table(
            ["Criterium", "Waarde", *[lvl.capitalize() for lvl in LEVELS], "Gehaald niveau"],
            [
                [c.label, _crit_value(c), *[f"{_threshold(c, lvl)}: {_met(c.met[lvl])}" for lvl in LEVELS], _level(c.level)]
                for c in report.criteria
            ],
        )
    )
    out += ["", f"Certificeringsniveau over alle criteria: **{_level(report.certificate_level)}**.", ""]
    for dim, groups in report.groups.items():
        out += [f"## Per {GROUP_LABELS[dim].lower()}", ""]
        out.append(
            _md_table(
                [GROUP_LABELS[dim], *[i.label for i in INDICATORS]],
                [[g.label, *[format_value(getattr(g.indicators, i.field), i.kind) for i in INDICATORS]] for g in groups],
            )
        )
        out.append("")
    out += ["## Per maand (naar registratiedatum)", ""]
    out.append(
        _md_table(
            ["Maand", *[i.label for i in MONTH_INDICATORS]],
            [[m.maand, *[format_value(getattr(m.indicators, i.field), i.kind) for i in MONTH_INDICATORS]] for m in report.months],
        )
    )
    out += ["", "Rekenregels: zie docs/barometer.md.", ""]
    return "\n".join(out)


# -- csv ---------------------------------------------------------------------------------------------------


def to_csv(report: BarometerReport) -> str:
    """The indicator table as CSV (``;``, decimal comma, "n.v.t." for no value); prefix a BOM when
    writing a file for Excel."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([*KEY_COLUMNS, *[i.label for i in INDICATORS]])
    for sectie, key, groep, ind in table_rows(report):
        w.writerow([sectie, key, groep, *[format_value(getattr(ind, i.field), i.kind) for i in INDICATORS]])
    return buf.getvalue()


# -- xlsx --------------------------------------------------------------------------------------------------


def to_xlsx(report: BarometerReport) -> bytes:
    """The report as an Excel workbook (bytes): "Indicatoren", "Criteria" and "Toelichting" sheets.

    Numbers are numeric cells (percentages as 87.5 with format ``0.0``); no value is the text "n.v.t.".
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Indicatoren"
    ws.append([*KEY_COLUMNS, *[i.label for i in INDICATORS]])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for sectie, key, groep, ind in table_rows(report):
        ws.append([sectie, key, groep, *[_xl(getattr(ind, i.field)) for i in INDICATORS]])
        for col, info in enumerate(INDICATORS, start=len(KEY_COLUMNS) + 1):
            if info.kind != "count":
                ws.cell(ws.max_row, col).number_format = "0.0"
    ws.freeze_panes = "D2"
    ws.column_dimensions["C"].width = 32

    wc = wb.create_sheet("Criteria")
    wc.append(["Indicator", "Criterium", "Richting", "Waarde", *[lvl.capitalize() for lvl in LEVELS],
               *[f"{lvl.capitalize()} gehaald" for lvl in LEVELS], "Gehaald niveau"])
    for cell in wc[1]:
        cell.font = Font(bold=True)
    for c in report.criteria:
        wc.append([c.indicator, c.label, c.direction, _xl(c.value), *[c.thresholds[lvl] for lvl in LEVELS],
                   *[_met(c.met[lvl]) for lvl in LEVELS], _level(c.level)])
    wc.append([])
    wc.append(["Certificeringsniveau", _level(report.certificate_level)])

    wt = wb.create_sheet("Toelichting")
    for line in (_title(report), _subtitle(report), "Rekenregels: zie docs/barometer.md.",
                 "n.v.t.: geen meldingen om het percentage of de doorlooptijd over te berekenen."):
        wt.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xl(value: float | None) -> float | int | str:
    return NVT if value is None else value


# -- html --------------------------------------------------------------------------------------------------

_CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }
th, td { border: 1px solid #bbb; padding: .25em .5em; }
th { background: #eef3f7; text-align: left; } td.num { text-align: right; }
td.nvt { color: #666; font-style: italic; text-align: right; }
.ja { color: #1d6b2f; font-weight: bold; } .nee { color: #a3261b; font-weight: bold; }
figure { margin: 1em 0; page-break-inside: avoid; } .meta { color: #555; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; }
  table, figure { page-break-inside: avoid; } }
"""


def _td(value: float | None, kind: str) -> str:
    if value is None:
        return f"<td class='nvt'>{NVT}</td>"
    return f"<td class='num' data-value='{value}'>{escape(format_value(value, kind))}</td>"


def _html_table(first: str, rows: list[tuple[str, Indicators]], infos) -> str:
    head = "".join(f"<th data-field='{i.field}'>{escape(i.label)}</th>" for i in infos)
    body = "".join(
        f"<tr><th>{escape(label)}</th>" + "".join(_td(getattr(ind, i.field), i.kind) for i in infos) + "</tr>"
        for label, ind in rows
    )
    return f"<table><thead><tr><th>{escape(first)}</th>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: BarometerReport) -> str:
    """The report as one HTML page with inline SVG charts: the monthly trend, % within the norm per
    categorie and the backlog per wijk (the last two when the report is grouped by those)."""
    t = report.totaal
    parts = [
        "<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>",
        f"<title>{escape(_title(report))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(_title(report))}</h1><p class='meta'>{escape(_subtitle(report))}</p>",
        "<h2>Totaal</h2><table id='totaal'><tbody>",
        *[f"<tr data-field='{i.field}'><th>{escape(i.label)}</th>{_td(getattr(t, i.field), i.kind)}</tr>" for i in INDICATORS],
        "</tbody></table>",
        "<h2>Certificeringscriteria</h2><table id='criteria'><thead><tr><th>Criterium</th><th>Waarde</th>",
        *[f"<th>{lvl.capitalize()}</th>" for lvl in LEVELS],
        "<th>Gehaald niveau</th></tr></thead><tbody>",
    ]
    for c in report.criteria:
        cells = "".join(
            f"<td>{escape(_threshold(c, lvl))}: <span class='{_met(c.met[lvl]).replace('.', '')}'>{_met(c.met[lvl])}</span></td>"
            for lvl in LEVELS
        )
        kind = "days" if c.indicator.startswith("lead") else "pct"
        parts.append(f"<tr><th>{escape(c.label)}</th>{_td(c.value, kind)}{cells}<td>{_level(c.level)}</td></tr>")
    parts.append(
        f"</tbody></table><p>Certificeringsniveau over alle criteria: <strong>{_level(report.certificate_level)}</strong>.</p>"
    )
    parts += ["<h2>Grafieken</h2>", f"<figure>{trend_chart(report)}</figure>"]
    if "categorie" in report.groups or "hoofdcategorie" in report.groups:
        dim = "categorie" if "categorie" in report.groups else "hoofdcategorie"
        items = [(g.label, g.indicators.pct_within_norm) for g in report.groups[dim]]
        parts.append(f"<figure>{hbar_chart(f'% binnen servicenorm per {GROUP_LABELS[dim].lower()}', items, unit='%', maximum=100)}</figure>")
    if "wijk" in report.groups:
        groups = report.groups["wijk"]
        items = [(g.label, g.indicators.backlog) for g in groups]
        parts.append(
            "<figure>"
            + hbar_chart(
                "Werkvoorraad per wijk aan het einde van de periode", items,
                secondary=[g.indicators.backlog_overdue for g in groups], secondary_label="over de norm",
            )
            + "</figure>"
        )
    for dim, groups in report.groups.items():
        parts.append(f"<h2>Per {escape(GROUP_LABELS[dim].lower())}</h2>")
        parts.append(_html_table(GROUP_LABELS[dim], [(g.label, g.indicators) for g in groups], INDICATORS))
    parts.append("<h2>Per maand (naar registratiedatum)</h2>")
    parts.append(_html_table("Maand", [(m.maand, m.indicators) for m in report.months], MONTH_INDICATORS))
    parts.append("<p class='meta'>Rekenregels: zie docs/barometer.md. n.v.t.: geen meldingen om over te rekenen.</p>")
    parts.append("</body></html>")
    return "".join(parts)


def render(report: BarometerReport, fmt: str) -> str | bytes:
    """The report in ``fmt`` (one of ``FORMATS``): text, or bytes for xlsx.

    Raises:
        ValueError: unknown format.
    """
    if fmt == "md":
        return to_markdown(report)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    if fmt == "html":
        return to_html(report)
    raise ValueError(f"Onbekend formaat '{fmt}'; kies uit {', '.join(FORMATS)}.")
