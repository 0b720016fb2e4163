"""The barometer: the figures a department head reports for the public-space quality certificate.

Pure functions over compact rows built from the projection table ``meldingen``
(``shared.projection.COLUMNS``); no database access here. The report layer
(``wijkteam_reports.sql``) reads the rows with SQL; :func:`barometer_row` and
:func:`backlog_row` are the reference conversions of one projection row and define the meaning of
every field. The rules, each documented in docs/barometer.md:

* **Period**: Europe/Amsterdam calendar dates (month, quarter, year or from–to, both inclusive). A
  melding counts in the period of its ``registered_date`` (2025-03-31T23:30Z is 1 April local, so April).
* **Cohort**: every figure except the backlog is about the meldingen *received* in the period, however
  late they were closed ("closed" means: closed at least once by the time the report is made). A
  complaint received 3 Mar, closed 5 Mar, reopened 20 Mar and closed 2 Apr counts once, in March.
* **Within the norm** is decided at the FIRST closure: ``first_closed_at <= deadline`` (the deadline
  stored when the melding was categorised). Reopenings do not change it; they are counted apart.
  Closed meldingen without a servicenorm are left out of this percentage.
* **Lead time**: working days from the registration date to the first closure
  (``shared.deadlines.working_days_between``); median (middle value, mean of the two middle values for
  an even count) and p90 (nearest rank: the smallest value at least 90 % of lead times are ≤ to).
* **Backlog** is a stock at the moment ``T`` = the end of the period (00:00 local after its last day),
  or the moment of the report when that is earlier: registered before ``T`` and not closed at ``T``.
  Overdue: its deadline lies before ``T``. See :func:`open_at` for how this is read from current state.
* **Terugkoppeling**: of the closed meldingen whose reporter left contact details (``has_contact``),
  the share with at least one call-back logged.
* **Reopened**: of the closed meldingen, the share reopened at least once (``reopen_count > 0``).
* **Completeness**: of the received meldingen, the share with a location (address, point or
  description), a categorie, a vier B and a kanaal; also each of the four on its own.
* Deleted meldingen are left out, and so is a melding marked as a duplicate of another
  (``duplicaat_van`` set): the original counts, the duplicate does not.
* A ratio over an empty set is ``None`` (shown as "n.v.t."), never NaN, 0 % or 100 %.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

import msgspec

from shared.deadlines import AMS, working_days_between
from shared.enums import Kanaal, MeldingType, VierB
from shared.errors import ValidationError
from shared.projection import decode_timeline, encode_timeline, iso, parse_iso
from shared.projection import needs_timeline as _needs_timeline
from shared.validation import MAX_INSTANT, MIN_INSTANT

NVT = "n.v.t."

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

# -- period ------------------------------------------------------------------------------------------------


class Period(msgspec.Struct, frozen=True):
    """A reporting period: Europe/Amsterdam calendar dates ``start``..``end``, both inclusive.

    ``label`` is how reports name it (``2026-Q3``, ``2026-03``, ``2026``, ``2026-01-05 t/m 2026-02-01``).
    """

    start: date
    end: date
    label: str

    def end_instant(self) -> datetime:
        """The end of the period as a UTC instant: 00:00 Europe/Amsterdam on the day after ``end``."""
        return local_midnight(self.end + timedelta(days=1))

    def start_instant(self) -> datetime:
        """00:00 Europe/Amsterdam on ``start``, as a UTC instant."""
        return local_midnight(self.start)

    def months(self) -> list[str]:
        """The months (``YYYY-MM``) the period touches, in order."""
        out = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def local_midnight(day: date) -> datetime:
    """00:00 Europe/Amsterdam on ``day`` as a UTC instant (DST-aware)."""
    return datetime.combine(day, time(0), tzinfo=AMS).astimezone(UTC)


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/|t/m)\s*(\d{4}-\d{2}-\d{2})$")


def _month_end(y: int, m: int) -> date:
    return (date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)) - timedelta(days=1)


def parse_period(text: str) -> Period:
    """A period from text: ``2026-03`` (month), ``2026-Q3`` (quarter), ``2026`` (year) or
    ``2026-01-05..2026-02-01`` (from–to, inclusive; ``/`` or ``t/m`` also separate).

    Raises:
        ValidationError: field ``periode``; Dutch message naming the accepted forms.
    """
    t = (text or "").strip()
    if m := _MONTH.match(t):
        y, mo = _year(m[1]), int(m[2])
        if 1 <= mo <= 12:
            return Period(date(y, mo, 1), _month_end(y, mo), f"{y:04d}-{mo:02d}")
    elif m := _QUARTER.match(t):
        y, q = _year(m[1]), int(m[2])
        return Period(date(y, 3 * q - 2, 1), _month_end(y, 3 * q), f"{y:04d}-Q{q}")
    elif m := _YEAR.match(t):
        y = _year(m[1])
        return Period(date(y, 1, 1), date(y, 12, 31), f"{y:04d}")
    elif m := _RANGE.match(t):
        return period_between(m[1], m[2])
    raise ValidationError(
        "periode",
        f"Onbekende periode '{text}': gebruik bijvoorbeeld 2026-03 (maand), 2026-Q3 (kwartaal), "
        "2026 (jaar) of 2026-01-05..2026-02-01 (van–tot en met).",
    )


def period_between(start: str | date, end: str | date) -> Period:
    """A from–to period (Europe/Amsterdam dates, both inclusive).

    Raises:
        ValidationError: a date is not ``YYYY-MM-DD`` (field ``from``/``to``) or ``end`` is before ``start``.
    """
    days = []
    for name, value in (("from", start), ("to", end)):
        if isinstance(value, date):
            days.append(value)
            continue
        try:
            days.append(date.fromisoformat(str(value).strip()))
        except ValueError:
            raise ValidationError(name, f"Ongeldige datum '{value}': gebruik JJJJ-MM-DD.") from None
    a, b = days
    _year(a.year, "from")
    _year(b.year, "to")
    if b < a:
        raise ValidationError("to", f"De einddatum {b.isoformat()} ligt vóór de begindatum {a.isoformat()}.")
    return Period(a, b, f"{a.isoformat()} t/m {b.isoformat()}")


def _year(value: str | int, field: str = "periode") -> int:
    """A report year within ``shared.validation``'s instant bounds (a year such as 9999 would overflow
    the date arithmetic of the report: the day after its end does not exist).

    Raises:
        ValidationError: outside MIN_INSTANT.year … MAX_INSTANT.year.
    """
    y = int(value)
    if not MIN_INSTANT.year <= y <= MAX_INSTANT.year:
        raise ValidationError(field, f"Een periode ligt tussen {MIN_INSTANT.year} en {MAX_INSTANT.year}; {y} valt erbuiten.")
    return y


# -- rows --------------------------------------------------------------------------------------------------


# Bits of BarometerRow.flags. The report layer's SQL builds the same mask from these constants.
F_REOPENED = 1  # reopened at least once
F_CONTACT = 2  # the reporter left a phone number or e-mail address
F_CALLBACK = 4  # at least one terugkoppeling logged
F_LOCATION = 8  # an address, point or location description
F_CATEGORIE = 16
F_VIER_B = 32
F_KANAAL = 64
F_HAS_NORM = 128  # closed and a deadline is known: within-norm is decided
F_WITHIN = 256  # first closure at or before the deadline
F_COMPLETE = F_LOCATION | F_CATEGORIE | F_VIER_B | F_KANAAL


def make_flags(
    *,
    within_norm: bool | None,
    reopened: bool,
    has_contact: bool,
    terugkoppeling: bool,
    has_location: bool,
    has_categorie: bool,
    has_vier_b: bool,
    has_kanaal: bool,
) -> int:
    """The ``flags`` bit mask of a :class:`BarometerRow` (``within_norm`` ``None``: not decided)."""
    return (
        (F_REOPENED if reopened else 0)
        | (F_CONTACT if has_contact else 0)
        | (F_CALLBACK if terugkoppeling else 0)
        | (F_LOCATION if has_location else 0)
        | (F_CATEGORIE if has_categorie else 0)
        | (F_VIER_B if has_vier_b else 0)
        | (F_KANAAL if has_kanaal else 0)
        | (0 if within_norm is None else F_HAS_NORM | (F_WITHIN if within_norm else 0))
    )


class BarometerRow(NamedTuple):
    """What the received-cohort figures need of one melding (or of ``n`` identical ones).

    Field order is part of the contract: the report layer passes plain tuples in this order (8 fields,
    ``n`` left out, is one melding per tuple).

    Attributes:
        registered_date: Europe/Amsterdam registration date, ``YYYY-MM-DD``.
        lead_days: working days from registration to the first closure; ``None`` = never closed.
        flags: bit mask of ``F_*`` (see :func:`make_flags`): reopened, contact details, terugkoppeling,
            the four completeness fields, and whether the first closure was within the norm.
        wijk, categorie, kanaal, vier_b, type: the grouping values (``None`` when not filled).
        n: how many meldingen this row stands for.
    """

    registered_date: str
    lead_days: int | None
    flags: int
    wijk: str | None = None
    categorie: str | None = None
    kanaal: str | None = None
    vier_b: str | None = None
    type: str | None = None
    n: int = 1


class BacklogRow(NamedTuple):
    """What the backlog needs of one melding that may be open at the moment ``T``.

    Instants are UTC ISO text as ``shared.projection.iso`` writes them (``2025-03-05T10:00:00.000000Z``:
    they compare as text, which keeps a backlog over a million rows cheap).

    Attributes:
        registered_at, first_closed_at, closed_at, deadline: UTC instants (``closed_at`` is ``None``
            while the melding is open now).
        timeline: the status changes ``(at, closed after it)`` in order, from the projection's ``status_timeline`` column;
            only needed when the melding changed status after its first closure, else ``None``.
        wijk, categorie, kanaal, vier_b, type: the grouping values.
    """

    registered_at: str
    first_closed_at: str | None
    closed_at: str | None
    deadline: str | None
    timeline: tuple[tuple[str, bool], ...] | None = None
    wijk: str | None = None
    categorie: str | None = None
    kanaal: str | None = None
    vier_b: str | None = None
    type: str | None = None


class RowCodes(NamedTuple):
    """How the report layer may code a row's day and grouping values as integers, which are far
    cheaper to fetch and count than text: the day as ``YYYYMMDD``; a grouping value as an index into
    ``vocab[dim]``, or as the text itself when it is not in the vocabulary (``None`` stays ``None``)."""

    vocab: Mapping[str, Sequence[str]]

    def day(self, coded: int | str) -> str:
        """``20250305`` → ``"2025-03-05"`` (text passes through)."""
        if isinstance(coded, str):
            return coded
        return f"{coded // 10000:04d}-{coded // 100 % 100:02d}-{coded % 100:02d}"

    def value(self, dim: str, coded: int | str | None) -> str | None:
        """The grouping value of ``dim`` behind ``coded``."""
        if isinstance(coded, int):
            return self.vocab[dim][coded]
        return coded or None


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


def counts(p: Mapping[str, Any]) -> bool:
    """Whether a projection row counts at all: not deleted and not a duplicate of another melding."""
    return not p.get("deleted") and not p.get("duplicaat_van")


def _filled(value: Any) -> bool:
    return value is not None and value != ""


def has_location(p: Mapping[str, Any]) -> bool:
    """A location was registered: an address (street or postcode), a point, or a description."""
    return any(_filled(p.get(k)) for k in ("straat", "postcode", "lat", "locatie_omschrijving"))


@lru_cache(maxsize=65536)
def _local_day_of_utc_hour(hour: str) -> date:
    # Amsterdam's UTC offset is a whole number of hours, so the UTC hour fixes the local date.
    return datetime.fromisoformat(hour + ":00:00+00:00").astimezone(AMS).date()


@lru_cache(maxsize=262144)
def _lead(registered_date: str, closed_day: date) -> int:
    noon = time(12, tzinfo=AMS)
    return working_days_between(
        datetime.combine(date.fromisoformat(registered_date), noon), datetime.combine(closed_day, noon)
    )


def lead_days(registered_date: str, first_closed_at: str | None) -> int | None:
    """Working days from the registration date to the first closure (``None`` when never closed).

    ``first_closed_at`` is UTC ISO text (``shared.projection.iso``); only its hour is read, which fixes
    its Europe/Amsterdam date. Cached: a report calls this for up to a million rows.
    """
    if not first_closed_at:
        return None
    return _lead(registered_date, _local_day_of_utc_hour(first_closed_at[:13]))


def within_norm(first_closed_at: str | None, deadline: str | None) -> bool | None:
    """First closure at or before the deadline; ``None`` when not closed or without a norm."""
    if not first_closed_at or not deadline:
        return None
    return parse_iso(first_closed_at) <= parse_iso(deadline)


def barometer_row(p: Mapping[str, Any]) -> BarometerRow | None:
    """The :class:`BarometerRow` of one projection row (a mapping of ``COLUMNS``), or ``None`` when
    the melding does not count (:func:`counts`). The reference for the report layer's SQL."""
    if not counts(p):
        return None
    return BarometerRow(
        registered_date=p["registered_date"],
        lead_days=lead_days(p["registered_date"], p.get("first_closed_at")),
        flags=make_flags(
            within_norm=within_norm(p.get("first_closed_at"), p.get("deadline")),
            reopened=(p.get("reopen_count") or 0) > 0,
            has_contact=bool(p.get("has_contact")),
            terugkoppeling=(p.get("callback_count") or 0) > 0,
            has_location=has_location(p),
            has_categorie=_filled(p.get("categorie")),
            has_vier_b=_filled(p.get("vier_b")),
            has_kanaal=_filled(p.get("kanaal")),
        ),
        wijk=p.get("wijk") or None,
        categorie=p.get("categorie") or None,
        kanaal=p.get("kanaal") or None,
        vier_b=p.get("vier_b") or None,
        type=p.get("type") or None,
    )


def needs_timeline(p: Mapping[str, Any]) -> bool:
    """Whether the melding changed status after its first closure (then only its status timeline,
    the projection's ``status_timeline`` column, tells when it was open); the rule is
    ``shared.projection.needs_timeline``."""
    return _needs_timeline(p.get("first_closed_at"), p.get("closed_at"), p.get("reopen_count"))


def backlog_row(p: Mapping[str, Any]) -> BacklogRow | None:
    """The :class:`BacklogRow` of one projection row, or ``None`` when it does not count."""
    if not counts(p):
        return None
    return BacklogRow(
        registered_at=p["registered_at"],
        first_closed_at=p.get("first_closed_at") or None,
        closed_at=p.get("closed_at") or None,
        deadline=p.get("deadline") or None,
        timeline=decode_timeline(p.get("status_timeline")) if needs_timeline(p) else None,
        wijk=p.get("wijk") or None,
        categorie=p.get("categorie") or None,
        kanaal=p.get("kanaal") or None,
        vier_b=p.get("vier_b") or None,
        type=p.get("type") or None,
    )


def surely_open_at(registered_at: str, first_closed_at: str | None, t: str) -> bool:
    """The first test of :func:`open_at`: registered before ``t`` and not closed before ``t`` (never
    closed, or first closed at or after ``t``) — open at ``t`` whatever happened later. The report
    layer counts these with SQL (``registered_at < t AND (first_closed_at IS NULL OR first_closed_at
    >= t)``) and reads only the others as :class:`BacklogRow` values."""
    return registered_at < t and (first_closed_at is None or first_closed_at >= t)


def open_at(row: BacklogRow, t: str) -> bool:
    """Whether the melding was registered before ``t`` and open at ``t`` (UTC ISO text, ``iso()``).

    Read from current state: never closed before ``t`` → open; closed now, last closed before ``t`` →
    closed (nothing changed since). Otherwise the melding changed status after its first closure and
    the ``timeline`` decides. Without a timeline it counts as closed at ``t`` (closed once before
    ``t``; the moment of a later reopening is unknown) — the one approximation, see docs/barometer.md.
    """
    if surely_open_at(row.registered_at, row.first_closed_at, t):
        return True
    if row.registered_at >= t:
        return False
    if row.closed_at is not None and row.closed_at < t:
        return False
    if row.timeline:
        closed = False
        for at, is_closed in row.timeline:
            if at >= t:
                break
            closed = is_closed
        return not closed
    return False


# -- indicators --------------------------------------------------------------------------------------------


class Indicators(msgspec.Struct, kw_only=True):
    """The barometer figures of one group. Counts are meldingen; ``pct_*`` are percentages rounded to
    one decimal, ``None`` when their denominator is 0 ("n.v.t."); lead times in working days.

    Backlog fields are ``None`` where no backlog was computed (the monthly trend).
    """

    received: int = 0
    closed: int = 0
    closed_with_norm: int = 0
    within_norm: int = 0
    pct_within_norm: float | None = None
    lead_median: float | None = None
    lead_p90: int | None = None
    backlog: int | None = None
    backlog_overdue: int | None = None
    pct_overdue: float | None = None
    contact_closed: int = 0
    terugkoppeling: int = 0
    pct_terugkoppeling: float | None = None
    reopened: int = 0
    pct_reopened: float | None = None
    complete: int = 0
    pct_complete: float | None = None
    pct_location: float | None = None
    pct_categorie: float | None = None
    pct_vier_b: float | None = None
    pct_kanaal: float | None = None


class IndicatorInfo(NamedTuple):
    """How renderers show one indicator: field name, Dutch label, kind (``count``, ``pct``, ``days``)."""

    field: str
    label: str
    kind: str


#: The indicators in the order every rendering shows them.
INDICATORS: tuple[IndicatorInfo, ...] = (
    IndicatorInfo("received", "Ontvangen", "count"),
    IndicatorInfo("closed", "Afgehandeld", "count"),
    IndicatorInfo("pct_within_norm", "Binnen servicenorm (%)", "pct"),
    IndicatorInfo("lead_median", "Doorlooptijd mediaan (werkdagen)", "days"),
    IndicatorInfo("lead_p90", "Doorlooptijd p90 (werkdagen)", "days"),
    IndicatorInfo("backlog", "Openstaand einde periode", "count"),
    IndicatorInfo("backlog_overdue", "Waarvan over de norm", "count"),
    IndicatorInfo("pct_terugkoppeling", "Teruggekoppeld (%)", "pct"),
    IndicatorInfo("pct_reopened", "Heropend (%)", "pct"),
    IndicatorInfo("pct_complete", "Volledig geregistreerd (%)", "pct"),
    IndicatorInfo("pct_location", "Met locatie (%)", "pct"),
    IndicatorInfo("pct_categorie", "Met categorie (%)", "pct"),
    IndicatorInfo("pct_vier_b", "Met vier B (%)", "pct"),
    IndicatorInfo("pct_kanaal", "Met kanaal (%)", "pct"),
)

#: The indicators of the monthly trend (no backlog: that is a stock at the end of the period).
MONTH_INDICATORS: tuple[IndicatorInfo, ...] = tuple(i for i in INDICATORS if not i.field.startswith("backlog"))


def pct(numerator: int, denominator: int) -> float | None:
    """``100 * numerator / denominator`` rounded to 1 decimal; ``None`` when the denominator is 0."""
    if denominator <= 0:
        return None
    return round(100.0 * numerator / denominator, 1)


def median_and_p90(hist: Mapping[int, int]) -> tuple[float | None, int | None]:
    """Median and p90 of values given as a histogram ``value → count``.

    Median: the middle value (mean of the two middle ones for an even count). p90: nearest rank, the
    value at rank ``ceil(0.9 * n)``. ``(None, None)`` for an empty histogram.
    """
    n = sum(hist.values())
    if n == 0:
        return None, None
    values = sorted(hist.items())

    def nth(rank: int) -> int:  # 1-based rank
        seen = 0
        for value, c in values:
            seen += c
            if seen >= rank:
                return value
        return values[-1][0]

    med = float(nth((n + 1) // 2)) if n % 2 else (nth(n // 2) + nth(n // 2 + 1)) / 2
    p90 = nth(-(-9 * n // 10))
    return med, p90


class _Acc:
    """Running counts for one group."""

    __slots__ = (
        "backlog",
        "categorie",
        "cells",
        "closed",
        "closed_with_norm",
        "complete",
        "contact_closed",
        "kanaal",
        "lead",
        "location",
        "overdue",
        "received",
        "reopened",
        "terugkoppeling",
        "vier_b",
        "within_norm",
    )  # fmt: skip

    def __init__(self) -> None:
        for s in self.__slots__:
            setattr(self, s, 0)
        self.lead: Counter[int] = Counter()
        self.cells: Counter[tuple[int | None, int]] = Counter()

    def add(self, lead: int | None, flags: int, n: int) -> None:
        """Add ``n`` meldingen with this lead time and these flags."""
        self.received += n
        if flags & F_LOCATION:
            self.location += n
        if flags & F_CATEGORIE:
            self.categorie += n
        if flags & F_VIER_B:
            self.vier_b += n
        if flags & F_KANAAL:
            self.kanaal += n
        if flags & F_COMPLETE == F_COMPLETE:
            self.complete += n
        if lead is not None:
            self.closed += n
            self.lead[lead] += n
            if flags & F_HAS_NORM:
                self.closed_with_norm += n
                if flags & F_WITHIN:
                    self.within_norm += n
            if flags & F_REOPENED:
                self.reopened += n
            if flags & F_CONTACT:
                self.contact_closed += n
                if flags & F_CALLBACK:
                    self.terugkoppeling += n

    def put(self, lead: int | None, flags: int, n: int) -> None:
        """Note ``n`` meldingen with this lead time and flags; counted once per combination in
        :meth:`result` (a million meldingen have only a few hundred combinations per group)."""
        self.cells[lead, flags] += n

    def result(self, *, with_backlog: bool) -> Indicators:
        for (lead, flags), n in self.cells.items():
            self.add(lead, flags, n)
        self.cells.clear()
        med, p90 = median_and_p90(self.lead)
        r = self.received
        return Indicators(
            received=r,
            closed=self.closed,
            closed_with_norm=self.closed_with_norm,
            within_norm=self.within_norm,
            pct_within_norm=pct(self.within_norm, self.closed_with_norm),
            lead_median=med,
            lead_p90=p90,
            backlog=self.backlog if with_backlog else None,
            backlog_overdue=self.overdue if with_backlog else None,
            pct_overdue=pct(self.overdue, self.backlog) if with_backlog else None,
            contact_closed=self.contact_closed,
            terugkoppeling=self.terugkoppeling,
            pct_terugkoppeling=pct(self.terugkoppeling, self.contact_closed),
            reopened=self.reopened,
            pct_reopened=pct(self.reopened, self.closed),
            complete=self.complete,
            pct_complete=pct(self.complete, r),
            pct_location=pct(self.location, r),
            pct_categorie=pct(self.categorie, r),
            pct_vier_b=pct(self.vier_b, r),
            pct_kanaal=pct(self.kanaal, r),
        )


class Group(msgspec.Struct):
    """The figures of one value of a grouping dimension (``key`` ``None``: not filled in)."""

    key: str | None
    label: str
    indicators: Indicators


class Month(msgspec.Struct):
    """The figures of the meldingen received in one month (``YYYY-MM``) of the period."""

    maand: str
    indicators: Indicators


class CriterionResult(msgspec.Struct):
    """One certificate criterion judged on the report's totals (see ``shared.certificering``).

    ``met`` maps each level (brons, zilver, goud) to whether the value reaches it; ``None`` for all
    levels when the value is n.v.t.; ``level`` is the highest level reached (``None``: none).
    """

    indicator: str
    label: str
    direction: str
    value: float | None
    thresholds: dict[str, float]
    met: dict[str, bool | None]
    level: str | None


class BarometerReport(msgspec.Struct):
    """A full barometer report.

    Attributes:
        period_from, period_to: the period's first and last Europe/Amsterdam date (ISO).
        period_label: e.g. ``2026-Q3``.
        as_of: when the report was computed (UTC ISO); closures known then count.
        backlog_at: the moment ``T`` of the backlog (UTC ISO).
        totaal: the figures of the whole period.
        groups: per grouping dimension (``GROUP_BY``) asked for, its groups sorted by label.
        months: the monthly trend.
        criteria: the certificate criteria judged on ``totaal``; ``certificate_level`` the level
            every criterion reaches (``None``: not even brons).
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


_DIM_INDEX = {"wijk": 3, "categorie": 4, "kanaal": 5, "vier_b": 6, "type": 7}
_BACKLOG_DIM_INDEX = {"wijk": 5, "categorie": 6, "kanaal": 7, "vier_b": 8, "type": 9}
_CELL_DIM_INDEX = {"wijk": 2, "categorie": 3, "kanaal": 4, "vier_b": 5, "type": 6}


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

    total = _Acc()
    months: dict[str, _Acc] = {m: _Acc() for m in period.months()}
    month_of: dict[Any, str] = {}
    for (day, lead, flags), n in tally(itemgetter(0, 1, 2)).items():
        m = month_of.get(day)
        if m is None:
            m = month_of[day] = day_of(day)[:7]
        months[m].put(lead, flags, n)
    for acc in months.values():
        total.cells.update(acc.cells)
    groups: dict[str, dict[str | None, _Acc]] = {d: {} for d in dims}
    for d in dims:
        accs = groups[d]
        source = "categorie" if d == "hoofdcategorie" else d
        for (k, lead, flags), n in tally(itemgetter(_DIM_INDEX[source], 1, 2)).items():
            k = value_of(source, k)
            if d == "hoofdcategorie" and k:
                k = k.split("/", 1)[0]
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = _Acc()
            acc.cells[lead, flags] += n

    return _finish(period, as_of, dims, total, months, groups, backlog_rows, criteria)


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
) -> BarometerReport:
    """:func:`barometer` from counts made elsewhere (the server's summary table, by SQL ``GROUP BY``):
    the same report as :func:`barometer` over the rows those counts were made of.

    Args:
        month_cells: ``(month "YYYY-MM", lead_days, flags, n)``: ``n`` meldingen received in the period
            in that month with that lead time (``None``: not closed) and :class:`BarometerRow` flags.
        group_cells: per grouping dimension, ``(value, lead_days, flags, n)`` over the same meldingen
            (``None``: not filled). ``hoofdcategorie`` is derived from the ``categorie`` cells.
        backlog_rows, period, as_of, group_by, criteria: as for :func:`barometer`.
        backlog_cells: ``(overdue, n, wijk, categorie, kanaal, vier_b, type)``: ``n`` meldingen
            surely open at the backlog moment ``T`` (:func:`surely_open_at`), overdue (deadline before
            ``T``) or not; they must not also be in ``backlog_rows``.

    Raises:
        ValidationError: an unknown grouping dimension.
        KeyError: a month outside the period, or a dimension of ``group_by`` without cells.
    """
    dims = check_group_by(group_by)
    total = _Acc()
    months: dict[str, _Acc] = {m: _Acc() for m in period.months()}
    for m, lead, flags, n in month_cells:
        months[m].put(lead, flags, n)
    for acc in months.values():
        total.cells.update(acc.cells)
    groups: dict[str, dict[str | None, _Acc]] = {d: {} for d in dims}
    for d in dims:
        accs = groups[d]
        for k, lead, flags, n in group_cells["categorie" if d == "hoofdcategorie" else d]:
            k = k or None
            if d == "hoofdcategorie" and k:
                k = k.split("/", 1)[0]
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = _Acc()
            acc.cells[lead, flags] += n
    return _finish(period, as_of, dims, total, months, groups, backlog_rows, criteria, backlog_cells)


def _finish(
    period: Period,
    as_of: datetime,
    dims: Sequence[str],
    total: _Acc,
    months: dict[str, _Acc],
    groups: dict[str, dict[str | None, _Acc]],
    backlog_rows: Iterable[BacklogRow],
    criteria: Any,
    backlog_cells: Iterable[Sequence[Any]] = (),
) -> BarometerReport:
    """Add the backlog to the counted cells and make the report (shared by both entry points)."""
    lo, hi = period.start.isoformat(), period.end.isoformat()
    t_instant = backlog_moment(period, as_of)
    t = iso(t_instant)
    bgetters = [(groups[d], _key_getter(d, _BACKLOG_DIM_INDEX)) for d in dims]
    for b in backlog_rows:
        if not open_at(b, t):
            continue
        overdue = b.deadline is not None and b.deadline < t
        total.backlog += 1
        total.overdue += overdue
        for accs, get in bgetters:
            k = get(b)
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = _Acc()
            acc.backlog += 1
            acc.overdue += overdue
    cgetters = [(groups[d], _key_getter(d, _CELL_DIM_INDEX)) for d in dims]
    for cell in backlog_cells:
        overdue, n = cell[0], cell[1]
        total.backlog += n
        total.overdue += n * overdue
        for accs, get in cgetters:
            k = get(cell) or None
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = _Acc()
            acc.backlog += n
            acc.overdue += n * overdue

    report = BarometerReport(
        period_from=lo,
        period_to=hi,
        period_label=period.label,
        as_of=iso(as_of) or "",
        backlog_at=t or "",
        totaal=total.result(with_backlog=True),
        groups={
            d: sorted(
                (Group(k, group_label(d, k), a.result(with_backlog=True)) for k, a in groups[d].items()),
                key=lambda g: (g.key is None, g.label.lower()),
            )
            for d in dims
        },
        months=[Month(m, a.result(with_backlog=False)) for m, a in months.items()],
    )
    from shared.certificering import evaluate, load_criteria

    report.criteria, report.certificate_level = evaluate(criteria or load_criteria(), report.totaal)
    return report


def compute_from_projection(
    projection_rows: Iterable[Mapping[str, Any]],
    period: Period,
    *,
    as_of: datetime,
    group_by: Sequence[str] = (),
    criteria: Any = None,
) -> BarometerReport:
    """:func:`barometer` over projection rows (mappings of ``COLUMNS``), via the reference conversions.

    Slow but plain: the report layer's SQL path must give the same report (tests compare them).
    """
    rows, backlog = [], []
    for p in projection_rows:
        if (r := barometer_row(p)) is not None:
            rows.append(r)
        if (b := backlog_row(p)) is not None:
            backlog.append(b)
    return barometer(rows, backlog, period, as_of=as_of, group_by=group_by, criteria=criteria)


def format_value(value: float | None, kind: str) -> str:
    """Dutch text of an indicator value: ``"n.v.t."`` for ``None``; ``"87,5"`` for one decimal."""
    if value is None:
        return NVT
    if kind == "count" or (isinstance(value, int) and not isinstance(value, bool)):
        return f"{value}"
    if float(value).is_integer() and kind == "days":
        return f"{int(value)}"
    return f"{value:.1f}".replace(".", ",")


def shift_period(period: Period, steps: int) -> Period:
    """The period ``steps`` months, quarters or years later (earlier when negative), of the same kind
    as ``period``'s label; a from–to period moves by its own length in days."""
    label = period.label
    if _YEAR.match(label):
        return parse_period(f"{period.start.year + steps:04d}")
    if m := _QUARTER.match(label):
        q = (int(m[1]) * 4 + int(m[2]) - 1) + steps
        return parse_period(f"{q // 4:04d}-Q{q % 4 + 1}")
    if _MONTH.match(label):
        mo = period.start.year * 12 + period.start.month - 1 + steps
        return parse_period(f"{mo // 12:04d}-{mo % 12 + 1:02d}")
    length = (period.end - period.start).days + 1
    delta = timedelta(days=length * steps)
    return period_between(period.start + delta, period.end + delta)


def current_quarter(today: date) -> Period:
    """The quarter that holds ``today`` (a Europe/Amsterdam date)."""
    return parse_period(f"{today.year:04d}-Q{(today.month - 1) // 3 + 1}")


# -- the report-specific summary row -----------------------------------------------------------------------

#: Columns of the narrow summary table the server keeps next to its projection (one row per melding
#: that counts, :func:`counts`), name → SQLite type. ``day`` is the registration date as the integer
#: ``YYYYMMDD``, ``month`` as ``YYYYMM``; ``lead`` and ``flags`` are :class:`BarometerRow`'s, computed
#: once when the projection row is written; the instants and ``timeline`` are :class:`BacklogRow`'s
#: (``timeline`` as JSON, ``shared.projection.encode_timeline``, only for meldingen that changed status after their
#: first closure).
SUMMARY_COLUMNS: dict[str, str] = {
    "melding_id": "TEXT",
    "day": "INTEGER",
    "month": "INTEGER",
    "lead": "INTEGER",
    "flags": "INTEGER",
    "wijk": "TEXT",
    "categorie": "TEXT",
    "kanaal": "TEXT",
    "vier_b": "TEXT",
    "type": "TEXT",
    "registered_at": "TEXT",
    "first_closed_at": "TEXT",
    "closed_at": "TEXT",
    "deadline": "TEXT",
    "timeline": "TEXT",
}

def summary_row(p: Mapping[str, Any]) -> tuple | None:
    """The summary-table row (values in ``SUMMARY_COLUMNS`` order) of one projection row, or ``None``
    when the melding does not count (:func:`counts`). Built from :func:`barometer_row` and
    :func:`backlog_row`, so the rules stay in those reference conversions."""
    r = barometer_row(p)
    b = backlog_row(p)
    if r is None or b is None:
        return None
    day = int(r.registered_date.replace("-", ""))
    return (
        p["melding_id"],
        day,
        day // 100,
        r.lead_days,
        r.flags,
        r.wijk,
        r.categorie,
        r.kanaal,
        r.vier_b,
        r.type,
        b.registered_at,
        b.first_closed_at,
        b.closed_at,
        b.deadline,
        encode_timeline(b.timeline),
    )
