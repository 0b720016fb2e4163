"""Charts of the barometer as inline SVG: no JavaScript, no external files, printable.

Each function returns an ``<svg>`` element as text; labels are escaped (group names are data). A value
``None`` (n.v.t.) is drawn as an empty bar labelled "n.v.t.", never as 0.
"""

from __future__ import annotations

from html import escape

from shared.barometer import GROUP_LABELS, NVT, BarometerReport, format_value

_FONT = "font-family='sans-serif' font-size='12'"


def hbar_chart(
    title: str, items: list[tuple[str, float | None]], *, unit: str = "", maximum: float | None = None,
    secondary: list[float | None] | None = None, secondary_label: str = "",
) -> str:
    """Horizontal bars, one per ``(label, value)``; ``secondary`` values are drawn darker over the bar
    (e.g. the overdue part of a backlog). ``maximum`` fixes the scale (100 for percentages)."""
    label_w, bar_w, row_h, top = 220, 360, 22, 30
    values = [v for _, v in items if v is not None]
    scale_max = maximum if maximum is not None else (max(values) if values else 1) or 1
    height = top + row_h * max(len(items), 1) + 24
    width = label_w + bar_w + 90
    parts = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' {_FONT}><title>{escape(title)}</title>"
        ),
        f"<text x='0' y='16' font-weight='bold' font-size='14'>{escape(title)}</text>",
    ]
    if not items:
        parts.append(f"<text x='0' y='{top + 14}'>Geen gegevens ({NVT})</text>")
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        parts.append(f"<text x='{label_w - 6}' y='{y + 15}' text-anchor='end'>{escape(label[:34])}</text>")
        parts.append(f"<rect x='{label_w}' y='{y + 3}' width='{bar_w}' height='{row_h - 6}' fill='#eeeeee'/>")
        if value is None:
            parts.append(f"<text x='{label_w + 6}' y='{y + 15}' fill='#555555'>{NVT}</text>")
            continue
        w = bar_w * min(value / scale_max, 1.0) if scale_max else 0
        parts.append(f"<rect x='{label_w}' y='{y + 3}' width='{w:.1f}' height='{row_h - 6}' fill='#2f6f9f'/>")
        if secondary is not None and secondary[i]:
            w2 = bar_w * min(secondary[i] / scale_max, 1.0)
            parts.append(f"<rect x='{label_w}' y='{y + 3}' width='{w2:.1f}' height='{row_h - 6}' fill='#b5443b'/>")
        text = format_value(value, "pct" if unit == "%" else "count") + unit
        parts.append(f"<text x='{label_w + bar_w + 6}' y='{y + 15}'>{escape(text)}</text>")
    if secondary is not None:
        y = top + row_h * max(len(items), 1) + 16
        parts.append(f"<rect x='{label_w}' y='{y - 10}' width='10' height='10' fill='#2f6f9f'/>")
        parts.append(f"<text x='{label_w + 14}' y='{y}'>totaal</text>")
        parts.append(f"<rect x='{label_w + 70}' y='{y - 10}' width='10' height='10' fill='#b5443b'/>")
        parts.append(f"<text x='{label_w + 84}' y='{y}'>{escape(secondary_label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(report: BarometerReport) -> str:
    """Monthly trend: bars for received and closed per month, a line for % within the norm (right axis)."""
    months = report.months
    w, h, left, right, top, bottom = 680, 260, 50, 50, 30, 40
    plot_w, plot_h = w - left - right, h - top - bottom
    n = max(len(months), 1)
    slot = plot_w / n
    every = -(-n // 12)
    peak = max([m.indicators.received for m in months] + [1])
    title = "Maandelijkse trend: ontvangen, afgehandeld en % binnen norm"
    parts = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{w}' height='{h}' viewBox='0 0 {w} {h}' {_FONT}>"
            f"<title>{escape(title)}</title>"
        ),
        f"<text x='0' y='16' font-weight='bold' font-size='14'>{escape(title)}</text>",
        f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' stroke='#333'/>",
        f"<text x='{left - 6}' y='{top + 10}' text-anchor='end'>{peak}</text>",
        f"<text x='{left + plot_w + 6}' y='{top + 10}'>100%</text>",
        f"<text x='{left + plot_w + 6}' y='{top + plot_h}'>0%</text>",
    ]
    points = []
    for i, m in enumerate(months):
        ind = m.indicators
        x = left + i * slot
        bw = slot * 0.35
        for j, (value, colour) in enumerate(((ind.received, "#9ec3e0"), (ind.closed, "#2f6f9f"))):
            bh = plot_h * value / peak
            parts.append(
                f"<rect x='{x + slot * 0.12 + j * bw:.1f}' y='{top + plot_h - bh:.1f}' width='{bw:.1f}' "
                f"height='{bh:.1f}' fill='{colour}'><title>{m.maand}: {value}</title></rect>"
            )
        if i % every == 0:  # a five-year trend labels every few months, not 60 overlapping labels
            parts.append(f"<text x='{x + slot / 2:.1f}' y='{top + plot_h + 14}' text-anchor='middle'>{m.maand[2:]}</text>")
        if ind.pct_within_norm is not None:
            y = top + plot_h * (1 - ind.pct_within_norm / 100)
            points.append((x + slot / 2, y, ind.pct_within_norm))
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        parts.append(f"<polyline points='{path}' fill='none' stroke='#b5443b' stroke-width='2'/>")
    for x, y, v in points:
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='#b5443b'><title>{format_value(v, 'pct')}%</title></circle>")
    ly = h - 8
    parts += [
        f"<rect x='{left}' y='{ly - 10}' width='10' height='10' fill='#9ec3e0'/><text x='{left + 14}' y='{ly}'>ontvangen</text>",
        f"<rect x='{left + 90}' y='{ly - 10}' width='10' height='10' fill='#2f6f9f'/><text x='{left + 104}' y='{ly}'>afgehandeld</text>",
        (
            f"<line x1='{left + 190}' y1='{ly - 5}' x2='{left + 204}' y2='{ly - 5}' stroke='#b5443b' stroke-width='2'/>"
            f"<text x='{left + 208}' y='{ly}'>% binnen norm</text>"
        ),
        "</svg>",
    ]
    return "".join(parts)


def report_charts(report: BarometerReport) -> list[str]:
    """The charts of a report: the monthly trend; % within the norm per categorie (or
    hoofdcategorie) and the backlog per wijk with its overdue part, when the report is grouped so."""
    out = [trend_chart(report)]
    dim = next((d for d in ("categorie", "hoofdcategorie") if d in report.groups), None)
    if dim:
        items = [(g.label, g.indicators.pct_within_norm) for g in report.groups[dim]]
        out.append(hbar_chart(f"% binnen servicenorm per {GROUP_LABELS[dim].lower()}", items, unit="%", maximum=100))
    if "wijk" in report.groups:
        groups = report.groups["wijk"]
        out.append(
            hbar_chart(
                "Werkvoorraad per wijk aan het einde van de periode",
                [(g.label, g.indicators.backlog) for g in groups],
                secondary=[g.indicators.backlog_overdue for g in groups],
                secondary_label="over de norm",
            )
        )
    return out
