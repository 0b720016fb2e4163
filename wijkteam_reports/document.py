"""The barometer report as one document of sections, tables and charts, rendered by every format.

Markdown, HTML, PDF and the TUI render the same :class:`Document` (XLSX and CSV use its tables too),
so they show the same figures in the same order:

1. **Samenvatting** (page one): municipality, period, when made (Europe/Amsterdam, to the minute),
   the ``server_seq`` counted to and the hash of the figures, the certificate level with the criteria
   table, and the headline figures against the previous period and the same period a year earlier
   (▲/▼ with whether that is better or worse).
2. **Grafieken**: the monthly trend, % within the norm per categorie, the backlog per wijk (SVG).
3. **Totaal** and one section per grouping and for the months: the indicator table split into the
   blocks of ``shared.barometer.BLOCKS`` — never wider than an A4 page.
4. **Datakwaliteit**: how far the figures can be trusted.
5. **Toelichting**: each indicator's definition, rule and source, and the general rules.

A cell is a value with the column's kind (``count``, ``pct``, ``days``, ``rate``; ``text``), or a
:class:`Delta`; :func:`cell_text` is its Dutch text ("n.v.t." for no value).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from shared.barometer import (
    BLOCKS,
    GROUP_LABELS,
    HEADLINE,
    INDICATORS,
    INFO,
    MONTH_INDICATORS,
    NVT,
    BarometerReport,
    IndicatorInfo,
    Indicators,
    format_value,
)
from shared.certificering import LEVELS
from shared.deadlines import AMS
from shared.projection import parse_iso
from shared.protocol import LATE_ARRIVAL_DAYS

_DIRECTION = {"min": "≥", "max": "≤"}


class Column(NamedTuple):
    """A table column: Dutch ``header``, value ``kind`` and relative ``width`` (PDF). Kinds: ``text``;
    ``figure`` (a figure already written as text, aligned right); or a number kind of
    ``shared.barometer.format_value`` (``count``, ``pct``, ``days``, ``rate``)."""

    header: str
    kind: str = "text"
    width: float = 1.0


class Delta(NamedTuple):
    """A change against an earlier period: ``diff`` (``None``: one side n.v.t.), the indicator's
    ``kind`` and whether the change is ``good`` (``None``: neutral or no change)."""

    diff: float | None
    kind: str
    good: bool | None


class Table(NamedTuple):
    """``key`` (stable id, e.g. ``wijk-instroom``), ``title`` (may be empty), columns and rows."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: list[list[Any]]


class Section(NamedTuple):
    """A titled part of the report: paragraphs, then charts (SVG text), then tables."""

    key: str
    title: str
    paragraphs: list[str]
    tables: list[Table]
    charts: list[str] = []


class Document(NamedTuple):
    """The whole report: ``banner`` (demo/import warning for every page, or ``None``), ``footer``
    (for every page) and the sections."""

    title: str
    banner: str | None
    footer: str
    sections: list[Section]


def local_minute(iso_text: str) -> str:
    """UTC ISO text as Europe/Amsterdam ``dd-mm-jjjj uu:mm`` ("" for empty)."""
    if not iso_text:
        return ""
    return parse_iso(iso_text).astimezone(AMS).strftime("%d-%m-%Y %H:%M")


def _local_day(iso_date: str) -> str:
    return datetime.fromisoformat(iso_date).strftime("%d-%m-%Y")


def cell_text(value: Any, kind: str = "text") -> str:
    """The Dutch text of a cell (``n.v.t.`` for ``None`` in a number column)."""
    if isinstance(value, Delta):
        if value.diff is None:
            return NVT
        if value.diff == 0:
            return "= 0"
        arrow = "▲" if value.diff > 0 else "▼"
        sign = "+" if value.diff > 0 else "−"
        return f"{arrow} {sign}{format_value(abs(value.diff), value.kind)}"
    if kind in ("text", "figure"):
        return "" if value is None else str(value)
    return format_value(value, kind)


def title(report: BarometerReport) -> str:
    """``Barometer meldingen openbare ruimte — Dalfsen, 2026-Q3``."""
    who = f" — {report.gemeente}" if report.gemeente else ""
    return f"Barometer meldingen openbare ruimte{who}, {report.period_label}"


def footer(report: BarometerReport) -> str:
    """The line every page carries: municipality, period, server_seq and the start of the hash."""
    parts = [report.gemeente or "Wijkteam", f"Barometer {report.period_label}"]
    if report.server_seq is not None:
        parts.append(f"server_seq {report.server_seq}")
    parts.append(f"cijfers {report.figures_hash[:12]}")
    return " · ".join(parts)


def _criterion_kind(indicator: str) -> str:
    info = INFO.get(indicator)
    return info.kind if info else "pct"


def _met(value: bool | None) -> str:
    return NVT if value is None else ("ja" if value else "nee")


def criteria_table(report: BarometerReport) -> Table:
    """Criterion, value, per level its threshold and whether it is met, the level reached."""
    rows = []
    for c in report.criteria:
        kind = _criterion_kind(c.indicator)
        rows.append(
            [
                c.label,
                format_value(c.value, kind),
                *[f"{_DIRECTION[c.direction]} {format_value(c.thresholds[lvl], kind)}: {_met(c.met[lvl])}" for lvl in LEVELS],
                c.level or "geen",
            ]
        )
    columns = (
        Column("Criterium", "text", 2.6),
        Column("Waarde", "figure"),
        *[Column(lvl.capitalize(), "text", 1.1) for lvl in LEVELS],
        Column("Gehaald niveau", "text"),
    )
    return Table("criteria", "Certificeringscriteria", columns, rows)


def _delta(now: float | None, then: float | None, info: IndicatorInfo) -> Delta:
    if now is None or then is None:
        return Delta(None, info.kind, None)
    diff = round(now - then, 2 if info.kind == "rate" else 1)
    good = None if diff == 0 or not info.better else (diff > 0) == (info.better == "up")
    return Delta(diff, info.kind if info.kind != "count" else "count", good)


def headline_table(report: BarometerReport) -> Table:
    """The headline figures of the period against each comparison (value and change)."""
    columns = [Column("Indicator", "text", 2.6), Column(report.period_label, "figure")]
    for c in report.comparisons:
        columns += [Column(f"{c.label} ({c.period_label})", "figure", 1.3), Column("Verschil", "figure")]
    rows = []
    for field in HEADLINE:
        info = INFO[field]
        now = getattr(report.totaal, field)
        row: list[Any] = [info.label, cell_text(now, info.kind)]
        for c in report.comparisons:
            then = getattr(c.totaal, field)
            row += [cell_text(then, info.kind), _delta(now, then, info)]
        rows.append(row)
    return Table("kerncijfers", "Kerncijfers vergeleken", tuple(columns), rows)


def meta_table(report: BarometerReport) -> Table:
    """Municipality, period, when made, data moment, server_seq and hash (page one)."""
    rows = [
        ["Gemeente", report.gemeente or "(niet ingesteld)"],
        ["Periode", f"{report.period_label}: {_local_day(report.period_from)} t/m {_local_day(report.period_to)}"],
        ["Gemaakt op", f"{local_minute(report.made_at)} (Nederlandse tijd)"],
        ["Gegevens tot en met", f"{local_minute(report.as_of)} (Nederlandse tijd)"],
        ["Werkvoorraad gemeten op", local_minute(report.backlog_at)],
    ]
    if report.inwoners:
        rows.append(["Inwoners", f"{report.inwoners:,}".replace(",", ".")])
    if report.config_version is not None:
        rows.append(["Gemeenteconfiguratie", f"versie {report.config_version}"
                     + (" (standaardwaarden van het pakket)" if report.config_version == 0 else "")])
    if report.server_seq is not None:
        rows.append(["Geteld tot en met server_seq", str(report.server_seq)])
    rows.append(["Vingerafdruk van de cijfers (SHA-256)", report.figures_hash])
    return Table("rapport", "", (Column("", "text", 1.4), Column("", "text", 3.2)), rows)


def block_tables(key: str, first: str, rows: Sequence[tuple[str, Indicators]], infos: Sequence[IndicatorInfo]) -> list[Table]:
    """The indicator table of ``rows`` (label, indicators) split into the blocks of ``BLOCKS``."""
    out = []
    for block, block_title, _ in BLOCKS:
        cols = [i for i in infos if i.block == block]
        if not cols:
            continue
        out.append(
            Table(
                f"{key}-{block}",
                block_title,
                (Column(first, "text", 2.2), *[Column(i.label, i.kind) for i in cols]),
                [[label, *[getattr(ind, i.field) for i in cols]] for label, ind in rows],
            )
        )
    return out


def totaal_table(report: BarometerReport) -> Table:
    """Every indicator of the whole period, one per row."""
    return Table(
        "totaal",
        "",
        (Column("Indicator", "text", 3), Column("Waarde", "figure")),
        [[i.label, cell_text(getattr(report.totaal, i.field), i.kind)] for i in INDICATORS],
    )


def quality_table(report: BarometerReport) -> Table:
    """The data-quality figures with what each means."""
    dq = report.data_quality
    n = dq.late_after_days if dq else LATE_ARRIVAL_DAYS
    rows: list[list[Any]] = []
    if dq is not None:
        rows = [
            ["Gebeurtenissen met een tijdstip in de periode", dq.events,
             "Wijzigingen van meldingen die de server bereikten."],
            [f"Waarvan {n} dagen of meer te laat bij de server", dq.late_events,
             f"{cell_text(dq.pct_late, 'pct')} %: een laptop was lang offline; eerder gemaakte rapporten over de periode "
             "kunnen daardoor andere cijfers tonen."],
            ["Geweigerde gebeurtenissen (quarantaine)", dq.quarantined,
             "Door de server niet opgenomen; een beheerder beoordeelt ze."],
            ["Meldingen met een dubbel gebruikte referentie", dq.reference_clashes,
             "Twee meldingen met hetzelfde referentienummer."],
            ["Meldingen met gelijktijdige wijzigingen", dq.conflicts,
             "Twee mensen wijzigden hetzelfde veld; de laatste wijziging geldt, de andere staat in de geschiedenis."],
            ["Meldingen zonder locatie", dq.without_location, "Geen adres, kaartpunt of locatieomschrijving."],
            ["Meldingen zonder categorie", dq.without_categorie, "Zonder categorie geen servicenorm."],
        ]
    return Table(
        "datakwaliteit", "",
        (Column("Onderdeel", "text", 2.4), Column("Aantal", "count", 0.8), Column("Betekenis", "text", 3.2)),
        rows,
    )


def glossary_table() -> Table:
    """Each indicator's definition, rule and source."""
    return Table(
        "toelichting",
        "Indicatoren",
        (Column("Indicator", "text", 1.3), Column("Definitie", "text", 2.0), Column("Rekenregel", "text", 2.6),
         Column("Bron", "text", 1.5)),
        [[i.label, i.definitie, i.regel, i.bron] for i in INDICATORS],
    )


def general_rules(report: BarometerReport) -> list[str]:
    """The rules that hold for every indicator (the glossary's introduction)."""
    seq = (
        f" Dit rapport telde tot en met server_seq {report.server_seq}; `wijkteam-server report --period "
        f"{report.period_label} --as-of {report.server_seq}` maakt later precies dezelfde cijfers (zelfde vingerafdruk)."
        if report.server_seq is not None
        else ""
    )
    return [
        "Periode: kalenderdagen in Nederlandse tijd; een melding telt in de periode van haar registratiedatum. "
        "Alle cijfers behalve de werkvoorraad gaan over de meldingen die in de periode zijn ontvangen, hoe laat "
        "ze ook zijn afgehandeld.",
        "Verwijderde meldingen en meldingen die als duplicaat van een andere zijn gemarkeerd tellen niet mee.",
        "n.v.t.: er zijn geen meldingen om het percentage of de doorlooptijd over te berekenen (nooit 0 % of 100 %).",
        f"Terugbelnorm: {report.terugbelnorm} werkdagen. Werkdagen: maandag tot en met vrijdag, zonder de "
        "feestdagen van de feestdagenregeling van de gemeente.",
        "De certificeringscriteria zijn lokaal beleid van de gemeente, geen landelijke norm. Het niveau is het "
        "hoogste dat elk criterium haalt; zolang een criterium n.v.t. is, wordt geen niveau toegekend." + seq,
    ]


def document(report: BarometerReport) -> Document:
    """The :class:`Document` of a report (charts included)."""
    from wijkteam_reports.charts import report_charts

    level = report.certificate_level or "geen"
    summary = Section(
        "samenvatting",
        "Samenvatting",
        [f"Certificeringsniveau over alle criteria: {level}."],
        [meta_table(report), criteria_table(report), headline_table(report)],
    )
    sections = [summary, Section("grafieken", "Grafieken", [], [], report_charts(report))]
    sections.append(Section("totaal", "Totaal van de periode", [], [totaal_table(report)]))
    for dim, groups in report.groups.items():
        name = GROUP_LABELS[dim]
        sections.append(
            Section(
                f"per-{dim}", f"Per {name.lower()}", [],
                block_tables(dim, name, [(g.label, g.indicators) for g in groups], INDICATORS),
            )
        )
    sections.append(
        Section(
            "per-maand", "Per maand (naar registratiedatum)", [],
            block_tables("maand", "Maand", [(m.maand, m.indicators) for m in report.months], MONTH_INDICATORS),
        )
    )
    sections.append(
        Section(
            "datakwaliteit", "Datakwaliteit",
            ["Hoe betrouwbaar zijn de cijfers? Op een laptop zijn aankomsttijden, quarantaine en dubbele "
             "referenties niet bekend (n.v.t.)."],
            [quality_table(report)],
        )
    )
    sections.append(Section("toelichting", "Toelichting", general_rules(report), [glossary_table()]))
    return Document(title(report), report.herkomst_note, footer(report), sections)
