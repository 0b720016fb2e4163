"""The barometer report: :class:`BarometerReport` with its groupings, months, comparisons, data quality
and certificate level, computed from rows (:func:`barometer`) or from pre-counted cells
(:func:`barometer_from_cells`), and sealed with a hash of its figures.

Rules: the package docstring (``shared.barometer``) and docs/barometer.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

import msgspec

from shared.barometer.indicators import Accumulator, Indicators
from shared.barometer.period import Period, comparison_periods
from shared.barometer.rows import (
    BacklogRow,
    RowCodes,
    age_class,
    age_day,
    backlog_age,
    backlog_row,
    barometer_row,
    open_at,
    over_three_times_norm,
)
from shared.certificering import CriterionResult, evaluate, load_criteria
from shared.enums import Kanaal, MeldingType, VierB
from shared.errors import ValidationError
from shared.projection import iso
from shared.protocol import LATE_ARRIVAL_DAYS

#: The roles that may see the barometer (the server's guard and the TUI's F6 both ask this).
REPORT_ROLES: frozenset[str] = frozenset({"manager", "admin"})

#: Dimensions a report can be grouped by (``hoofdcategorie`` is the part of ``categorie`` before "/").
GROUP_BY: tuple[str, ...] = ("wijk", "categorie", "hoofdcategorie", "kanaal", "vier_b", "type")

GROUP_LABELS: dict[str, str] = {
    "wijk": "Wijk",
    "categorie": "Categorie",
    "hoofdcategorie": "Hoofdcategorie",
    "kanaal": "Kanaal",
    "vier_b": "Vier B",
    "type": "Type",
}


def vocabularies() -> dict[str, tuple[str, ...]]:
    """The known values per grouping dimension: the enums, the taxonomy's categorie codes and the
    configured wijk codes (values outside these still work, as text)."""
    from shared.taxonomy import load_taxonomy

    try:
        from shared.wijken import load_wijken

        wijken = tuple(w.code for w in load_wijken().wijken)
    except (ImportError, ValueError, OSError):
        wijken = ()
    return {
        "wijk": wijken,
        "categorie": tuple(c.code for c in load_taxonomy().categories),
        "kanaal": tuple(k.value for k in Kanaal),
        "vier_b": tuple(v.value for v in VierB),
        "type": tuple(t.value for t in MeldingType),
    }


class Group(msgspec.Struct):
    """The figures of one value of a grouping dimension (``key`` ``None``: not filled in)."""

    key: str | None
    label: str
    indicators: Indicators


class Month(msgspec.Struct):
    """The figures of the meldingen received in one month (``YYYY-MM``) of the period."""

    maand: str
    indicators: Indicators


class ReportSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What a report takes from the municipality configuration (``shared.gemeente``), or the package
    defaults: the municipality's name and CBS code, its inhabitants (for "per 1,000 inhabitants"),
    the terugbelnorm in working days (default 2) and after how many days an event that reached the
    server counts as late for the data-quality section (``shared.protocol.LATE_ARRIVAL_DAYS``, 7)."""

    gemeente: str = ""
    gemeente_code: str = ""
    inwoners: int | None = None
    terugbelnorm: int = 2
    late_after_days: int = LATE_ARRIVAL_DAYS
    config_version: int | None = None


def report_settings() -> ReportSettings:
    """The :class:`ReportSettings` of the municipality configuration in force
    (``shared.gemeente.gemeente()``: on the server the newest version it stores, on a laptop the one
    it received at its last sync, else the package default, version 0)."""
    from shared.gemeente import gemeente

    g = gemeente()
    return ReportSettings(
        gemeente=g.naam,
        gemeente_code=g.code,
        inwoners=g.inwoners or None,
        terugbelnorm=g.terugbelnorm,
        config_version=g.version,
    )


class DataQuality(msgspec.Struct, kw_only=True):
    """How far the period's figures can be trusted (docs/barometer.md, "Data quality").

    ``None`` where the database cannot know (a laptop keeps no arrival times, quarantine or clash
    list). Attributes:
        late_after_days: the threshold N in days.
        events: events whose stated time (their HLC clock) lies in the period, that reached the server.
        late_events: of those, the ones that reached the server more than N days after their stated time.
        pct_late: ``late_events / events`` in percent.
        quarantined: events the server refused (quarantine) that arrived in the period.
        reference_clashes: meldingen received in the period whose reference another melding also carries.
        conflicts: meldingen received in the period with at least one concurrent edit (decided by the fold).
        without_location, without_categorie: meldingen received in the period without a location / categorie.
    """

    late_after_days: int = LATE_ARRIVAL_DAYS
    events: int | None = None
    late_events: int | None = None
    pct_late: float | None = None
    quarantined: int | None = None
    reference_clashes: int | None = None
    conflicts: int = 0
    without_location: int = 0
    without_categorie: int = 0


class Comparison(msgspec.Struct):
    """The totals of a period page one compares with: ``kind`` ``vorige_periode`` or ``vorig_jaar``."""

    kind: str
    label: str
    period_label: str
    period_from: str
    period_to: str
    totaal: Indicators


class BarometerReport(msgspec.Struct):
    """A full barometer report.

    Attributes:
        period_from, period_to: the period's first and last Europe/Amsterdam date (ISO).
        period_label: e.g. ``2026-Q3``.
        as_of: the moment of the data (UTC ISO): on the server the arrival of the last event counted
            (``server_seq``), on a laptop the moment the report was made; closures known then count.
        backlog_at: the moment ``T`` of the backlog (UTC ISO).
        totaal: the figures of the whole period.
        groups: per grouping dimension (``GROUP_BY``) asked for, its groups sorted by label.
        months: the monthly trend.
        criteria: the certificate criteria judged on ``totaal``; ``certificate_level`` the level
            every criterion reaches (``None``: not even brons).
        gemeente, gemeente_code, inwoners, terugbelnorm, config_version: from :class:`ReportSettings`
            (``config_version`` 0: the package default configuration).
        made_at: when the report was made (UTC ISO; shown in Europe/Amsterdam, to the minute).
        server_seq: the last server event counted (``None`` on a laptop); ``wijkteam-server report
            --as-of SEQ`` makes the same figures again.
        figures_hash: SHA-256 of the figures (:func:`figures_hash`): everything but ``made_at``,
            ``herkomst`` and the hash itself.
        herkomst: meldingen in the database per origin (``live``, ``demo``, ``import``);
            ``herkomst_note`` the warning every page carries when the data is demo or imported only.
        data_quality: :class:`DataQuality` of the period.
        comparisons: the totals of the previous period and of the same period a year earlier.
    """

    period_from: str
    period_to: str
    period_label: str
    as_of: str
    backlog_at: str
    totaal: Indicators
    groups: dict[str, list[Group]] = {}
    months: list[Month] = []
    criteria: list[CriterionResult] = []
    certificate_level: str | None = None
    gemeente: str = ""
    gemeente_code: str = ""
    inwoners: int | None = None
    terugbelnorm: int = 2
    config_version: int | None = None
    made_at: str = ""
    server_seq: int | None = None
    figures_hash: str = ""
    herkomst: dict[str, int] = {}
    herkomst_note: str | None = None
    data_quality: DataQuality | None = None
    comparisons: list[Comparison] = []


_DIM_INDEX = {"wijk": 3, "categorie": 4, "kanaal": 5, "vier_b": 6, "type": 7}
_BACKLOG_DIM_INDEX = {"wijk": 5, "categorie": 6, "kanaal": 7, "vier_b": 8, "type": 9}
_CELL_DIM_INDEX = {"wijk": 4, "categorie": 5, "kanaal": 6, "vier_b": 7, "type": 8}


def _key_getter(dim: str, index: Mapping[str, int]):
    if dim == "hoofdcategorie":
        i = index["categorie"]
        return lambda r: r[i].split("/", 1)[0] if r[i] else None
    i = index[dim]
    return lambda r: r[i]


def group_label(dim: str, key: str | None) -> str:
    """The Dutch label of a group value: enum labels, categorie names from the taxonomy."""
    if key is None:
        return "(niet ingevuld)"
    try:
        if dim == "wijk":
            from shared.wijken import load_wijken

            w = load_wijken().wijk(key)
            return w.naam if w else key
        if dim == "kanaal":
            return Kanaal(key).label
        if dim == "vier_b":
            return VierB(key).label
        if dim == "type":
            return MeldingType(key).label
        if dim in ("categorie", "hoofdcategorie"):
            from shared.taxonomy import load_taxonomy

            tax = load_taxonomy()
            if dim == "categorie":
                return tax.get(key).label
            for c in tax.categories:
                if c.hoofd == key:
                    return c.hoofd_naam
    except (ValueError, KeyError, OSError, ImportError):
        pass
    return key


def check_group_by(dims: Sequence[str]) -> tuple[str, ...]:
    """The grouping dimensions, checked.

    Raises:
        ValidationError: field ``group_by``; names the dimensions allowed.
    """
    out = []
    for d in dims:
        d = d.strip()
        if not d:
            continue
        if d not in GROUP_BY:
            raise ValidationError("group_by", f"Onbekende groepering '{d}'; kies uit {', '.join(GROUP_BY)}.")
        if d not in out:
            out.append(d)
    return tuple(out)


def backlog_moment(period: Period, as_of: datetime) -> datetime:
    """The moment ``T`` of the backlog: the end of the period, or ``as_of`` when that is earlier."""
    return min(period.end_instant(), as_of)


def barometer(
    rows: Iterable[Sequence[Any]],
    backlog_rows: Iterable[BacklogRow],
    period: Period,
    *,
    as_of: datetime,
    group_by: Sequence[str] = (),
    criteria: Any = None,
    codes: RowCodes | None = None,
    settings: ReportSettings | None = None,
) -> BarometerReport:
    """Compute the barometer report.

    Args:
        rows: :class:`BarometerRow` values, or plain tuples in its field order (8 fields: one
            melding each), of the meldingen that count; rows registered outside ``period`` are ignored.
        backlog_rows: :class:`BacklogRow` values of the meldingen that may be open at the backlog
            moment (others are ignored by :func:`open_at`).
        period: the reporting period (Europe/Amsterdam dates).
        as_of: when the report is made (aware UTC instant); bounds the backlog moment.
        group_by: dimensions of ``GROUP_BY`` to break the figures down by.
        criteria: a ``shared.certificering.Criteria`` (default: the configured one).
        codes: set when ``rows`` carry coded days and grouping values (:class:`RowCodes`); such rows
            must all lie in ``period`` (the report layer's SQL selects them so).
        settings: the municipality's name, inhabitants, terugbelnorm (:class:`ReportSettings`;
            default the package defaults).

    Raises:
        ValidationError: an unknown grouping dimension.
    """
    dims = check_group_by(group_by)
    lo, hi = period.start.isoformat(), period.end.isoformat()
    rows = rows if isinstance(rows, list) else list(rows)
    days = itemgetter(0)
    if codes is None and rows and not (lo <= min(map(days, rows)) and max(map(days, rows)) <= hi):
        rows = [r for r in rows if lo <= r[0] <= hi]
    day_of = codes.day if codes else str
    value_of = codes.value if codes else (lambda dim, v: v)
    # Merge identical (key, lead, flags) combinations with C-level counting: a million rows become a
    # few thousand keys per dimension, then each key is added once.
    weights = None
    if set(map(len, rows)) - {8}:
        w = [r[8] if len(r) > 8 else 1 for r in rows]
        weights = w if any(x != 1 for x in w) else None

    def tally(getter) -> Counter:
        if weights is None:
            return Counter(map(getter, rows))
        c: Counter = Counter()
        for k, n in zip(map(getter, rows), weights):
            c[k] += n
        return c

    total = Accumulator()
    months: dict[str, Accumulator] = {m: Accumulator() for m in period.months()}
    month_of: dict[Any, str] = {}
    for (day, lead, flags), n in tally(itemgetter(0, 1, 2)).items():
        m = month_of.get(day)
        if m is None:
            m = month_of[day] = day_of(day)[:7]
        months[m].put(lead, flags, n)
    for acc in months.values():
        total.cells.update(acc.cells)
    groups: dict[str, dict[str | None, Accumulator]] = {d: {} for d in dims}
    for d in dims:
        accs = groups[d]
        source = "categorie" if d == "hoofdcategorie" else d
        for (k, lead, flags), n in tally(itemgetter(_DIM_INDEX[source], 1, 2)).items():
            k = value_of(source, k)
            if d == "hoofdcategorie" and k:
                k = k.split("/", 1)[0]
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = Accumulator()
            acc.cells[lead, flags] += n

    return _finish(period, as_of, dims, total, months, groups, backlog_rows, criteria, settings=settings)


def barometer_from_cells(
    month_cells: Iterable[tuple[str, int | None, int, int]],
    group_cells: Mapping[str, Iterable[tuple[str | None, int | None, int, int]]],
    backlog_rows: Iterable[BacklogRow],
    period: Period,
    *,
    as_of: datetime,
    group_by: Sequence[str] = (),
    criteria: Any = None,
    backlog_cells: Iterable[Sequence[Any]] = (),
    settings: ReportSettings | None = None,
) -> BarometerReport:
    """:func:`barometer` from counts made elsewhere (the server's summary table, by SQL ``GROUP BY``):
    the same report as :func:`barometer` over the rows those counts were made of.

    Args:
        month_cells: ``(month "YYYY-MM", lead_days, flags, n)``: ``n`` meldingen received in the period
            in that month with that lead time (``None``: not closed) and :class:`BarometerRow` flags.
        group_cells: per grouping dimension, ``(value, lead_days, flags, n)`` over the same meldingen
            (``None``: not filled). ``hoofdcategorie`` is derived from the ``categorie`` cells.
        backlog_rows, period, as_of, group_by, criteria: as for :func:`barometer`.
        backlog_cells: ``(overdue, age class, over 3× norm, n, wijk, categorie, kanaal, vier_b, type)``:
            ``n`` meldingen surely open at the backlog moment ``T`` (:func:`surely_open_at`), overdue
            (deadline before ``T``) or not, of that age class (:func:`age_class`) and older than three
            times their norm or not; they must not also be in ``backlog_rows``. ``n`` may be negative
            (``--as-of`` takes out the meldingen that changed since).
        settings: as for :func:`barometer`.

    Raises:
        ValidationError: an unknown grouping dimension.
        KeyError: a month outside the period, or a dimension of ``group_by`` without cells.
    """
    dims = check_group_by(group_by)
    total = Accumulator()
    months: dict[str, Accumulator] = {m: Accumulator() for m in period.months()}
    for m, lead, flags, n in month_cells:
        months[m].put(lead, flags, n)
    for acc in months.values():
        total.cells.update(acc.cells)
    groups: dict[str, dict[str | None, Accumulator]] = {d: {} for d in dims}
    for d in dims:
        accs = groups[d]
        for k, lead, flags, n in group_cells["categorie" if d == "hoofdcategorie" else d]:
            k = k or None
            if d == "hoofdcategorie" and k:
                k = k.split("/", 1)[0]
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = Accumulator()
            acc.cells[lead, flags] += n
    return _finish(period, as_of, dims, total, months, groups, backlog_rows, criteria, backlog_cells, settings)


def _finish(
    period: Period,
    as_of: datetime,
    dims: Sequence[str],
    total: Accumulator,
    months: dict[str, Accumulator],
    groups: dict[str, dict[str | None, Accumulator]],
    backlog_rows: Iterable[BacklogRow],
    criteria: Any,
    backlog_cells: Iterable[Sequence[Any]] = (),
    settings: ReportSettings | None = None,
) -> BarometerReport:
    """Add the backlog to the counted cells and make the report (shared by both entry points)."""
    settings = settings or ReportSettings()
    lo, hi = period.start.isoformat(), period.end.isoformat()
    t_instant = backlog_moment(period, as_of)
    t = iso(t_instant) or ""
    to_day = age_day(t)
    bgetters = [(groups[d], _key_getter(d, _BACKLOG_DIM_INDEX)) for d in dims]
    for b in backlog_rows:
        if not open_at(b, t):
            continue
        overdue = b.deadline is not None and b.deadline < t
        age = backlog_age(b.registered_at, to_day)
        cls, over = age_class(age), over_three_times_norm(age, b.servicenorm)
        total.open_one(overdue, cls, over)
        for accs, get in bgetters:
            k = get(b)
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = Accumulator()
            acc.open_one(overdue, cls, over)
    cgetters = [(groups[d], _key_getter(d, _CELL_DIM_INDEX)) for d in dims]
    for cell in backlog_cells:
        overdue, cls, over, n = bool(cell[0]), cell[1], bool(cell[2]), cell[3]
        total.open_one(overdue, cls, over, n)
        for accs, get in cgetters:
            k = get(cell) or None
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = Accumulator()
            acc.open_one(overdue, cls, over, n)

    norm, inwoners = settings.terugbelnorm, settings.inwoners
    totaal = total.result(with_backlog=True, terugbelnorm=norm, inwoners=inwoners)
    report = BarometerReport(
        period_from=lo,
        period_to=hi,
        period_label=period.label,
        as_of=iso(as_of) or "",
        backlog_at=t,
        totaal=totaal,
        groups={
            d: sorted(
                (
                    Group(k, group_label(d, k), a.result(with_backlog=True, terugbelnorm=norm))
                    for k, a in groups[d].items()
                    # A group whose meldingen all moved away (``--as-of``) is not shown.
                    if a.received or a.backlog or any(a.cells.values())
                ),
                key=lambda g: (g.key is None, g.label.lower()),
            )
            for d in dims
        },
        months=[
            Month(m, a.result(with_backlog=False, terugbelnorm=norm, inwoners=inwoners)) for m, a in months.items()
        ],
        gemeente=settings.gemeente,
        gemeente_code=settings.gemeente_code,
        inwoners=settings.inwoners,
        terugbelnorm=settings.terugbelnorm,
        config_version=settings.config_version,
        data_quality=DataQuality(
            late_after_days=settings.late_after_days,
            conflicts=totaal.conflicts,
            without_location=totaal.without_location,
            without_categorie=totaal.without_categorie,
        ),
    )
    report.criteria, report.certificate_level = evaluate(criteria or load_criteria(), report.totaal)
    return report


def compute_from_projection(
    projection_rows: Iterable[Mapping[str, Any]],
    period: Period,
    *,
    as_of: datetime,
    group_by: Sequence[str] = (),
    criteria: Any = None,
    settings: ReportSettings | None = None,
    compare: bool = True,
) -> BarometerReport:
    """:func:`barometer` over projection rows (mappings of ``COLUMNS``), via the reference conversions,
    with the comparisons of page one (``compare``) and :func:`figures_hash` set (``made_at`` =
    ``as_of``).

    Slow but plain: the report layer's SQL path must give the same report (tests compare them).
    ``settings`` default: those of the municipality configuration (:func:`report_settings`), as there.
    """
    settings = settings or report_settings()
    rows, backlog = [], []
    herkomst: dict[str, int] = {}
    for p in projection_rows:
        if "bron" in p and not p.get("deleted"):
            key = p.get("bron") or "live"
            herkomst[key] = herkomst.get(key, 0) + 1
        if (r := barometer_row(p)) is not None:
            rows.append(r)
        if (b := backlog_row(p)) is not None:
            backlog.append(b)

    def make(p: Period, dims: Sequence[str]) -> BarometerReport:
        return barometer(rows, backlog, p, as_of=as_of, group_by=dims, criteria=criteria, settings=settings)

    report = make(period, group_by)
    if compare:
        report.comparisons = [
            comparison(kind, label, p, make(p, ()).totaal) for kind, label, p in comparison_periods(period)
        ]
    report.made_at = report.as_of
    report.herkomst = herkomst
    report.herkomst_note = origin_note(herkomst)
    return seal(report)


def origin_note(herkomst: Mapping[str, int]) -> str | None:
    """The warning every page of a report carries when its data holds demo meldingen, or only
    imported ones (``herkomst``: meldingen per origin ``live``/``demo``/``import``, from the
    projection's ``bron``); ``None`` for live data."""
    if herkomst.get("demo"):
        return "DEMOGEGEVENS — dit rapport telt verzonnen voorbeeldmeldingen, geen echte meldingen."
    if herkomst.get("import") and not herkomst.get("live"):
        return "ALLEEN GEÏMPORTEERDE GEGEVENS — er zijn nog geen meldingen in Wijkteam zelf geregistreerd."
    return None


def comparison(kind: str, label: str, period: Period, totaal: Indicators) -> Comparison:
    """A :class:`Comparison` of ``period``'s totals."""
    return Comparison(kind, label, period.label, period.start.isoformat(), period.end.isoformat(), totaal)


#: Fields of :class:`BarometerReport` left out of :func:`figures_hash`: when it was made, what the
#: database holds beyond the counted data, and the hash itself.
UNHASHED = ("made_at", "herkomst", "herkomst_note", "figures_hash")


def figures_hash(report: BarometerReport) -> str:
    """SHA-256 (hex) of the report's figures: its JSON with sorted keys, without :data:`UNHASHED`.
    Two reports with the same hash show the same figures for the same period, data moment
    (``server_seq``/``as_of``), configuration and groupings."""
    import hashlib

    data = msgspec.to_builtins(report)
    for key in UNHASHED:
        data.pop(key, None)
    return hashlib.sha256(msgspec.json.encode(data, order="sorted")).hexdigest()


def seal(report: BarometerReport) -> BarometerReport:
    """Set ``report.figures_hash`` (call after the last figure is filled in); returns the report."""
    report.figures_hash = figures_hash(report)
    return report
