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
from shared.protocol import LATE_ARRIVAL_DAYS
from shared.validation import MAX_INSTANT, MIN_INSTANT

NVT = "n.v.t."

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
F_SPOED = 512  # prioriteit spoed
F_CONFLICT = 1024  # at least one concurrent edit was decided by the fold (conflict_count > 0)
F_COMPLETE = F_LOCATION | F_CATEGORIE | F_VIER_B | F_KANAAL

#: The call-back lead time (working days from registration to the first terugkoppeling) rides in the
#: flags' high bits as ``min(days, CALLBACK_CAP) + 1`` (0: no call-back), so the report can judge it
#: against the terugbelnorm in force when it is made, not when the row was written.
CALLBACK_SHIFT = 11
CALLBACK_CAP = 30
_CALLBACK_MASK = 0x3F << CALLBACK_SHIFT


def callback_code(flags: int) -> int:
    """The call-back part of ``flags``: 0 without a call-back, else ``min(days, CALLBACK_CAP) + 1``."""
    return (flags & _CALLBACK_MASK) >> CALLBACK_SHIFT


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
    spoed: bool = False,
    conflict: bool = False,
    callback_days: int | None = None,
) -> int:
    """The ``flags`` bit mask of a :class:`BarometerRow` (``within_norm`` ``None``: not decided;
    ``callback_days``: working days to the first terugkoppeling, ``None``: none)."""
    return (
        (F_REOPENED if reopened else 0)
        | (F_CONTACT if has_contact else 0)
        | (F_CALLBACK if terugkoppeling else 0)
        | (F_LOCATION if has_location else 0)
        | (F_CATEGORIE if has_categorie else 0)
        | (F_VIER_B if has_vier_b else 0)
        | (F_KANAAL if has_kanaal else 0)
        | (0 if within_norm is None else F_HAS_NORM | (F_WITHIN if within_norm else 0))
        | (F_SPOED if spoed else 0)
        | (F_CONFLICT if conflict else 0)
        | (0 if callback_days is None else (min(max(callback_days, 0), CALLBACK_CAP) + 1) << CALLBACK_SHIFT)
    )


class BarometerRow(NamedTuple):
    """What the received-cohort figures need of one melding (or of ``n`` identical ones).

    Field order is part of the contract: the report layer passes plain tuples in this order (8 fields,
    ``n`` left out, is one melding per tuple).

    Attributes:
        registered_date: Europe/Amsterdam registration date, ``YYYY-MM-DD``.
        lead_days: working days from registration to the first closure; ``None`` = never closed.
        flags: bit mask of ``F_*`` (see :func:`make_flags`): reopened, contact details, terugkoppeling,
            the four completeness fields, whether the first closure was within the norm, spoed,
            a concurrent-edit conflict, and the call-back lead time (:func:`callback_code`).
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
        servicenorm: the melding's norm in working days (``None``: none), for the backlog's
            "more than 3× the norm".
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
    servicenorm: int | None = None


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
            spoed=p.get("prioriteit") == "spoed",
            conflict=(p.get("conflict_count") or 0) > 0,
            callback_days=lead_days(p["registered_date"], p.get("first_callback_at")),
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
        servicenorm=p.get("servicenorm"),
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


#: Age classes of the backlog, in working days at the backlog moment: ``(label, lowest, highest)``
#: (``None``: no upper bound). Roughly a week, a month, a quarter, and older.
BACKLOG_AGES: tuple[tuple[str, int, int | None], ...] = (
    ("0–5 werkdagen", 0, 5),
    ("6–20 werkdagen", 6, 20),
    ("21–60 werkdagen", 21, 60),
    ("Meer dan 60 werkdagen", 61, None),
)


def age_class(age: int) -> int:
    """The index in :data:`BACKLOG_AGES` of an age in working days."""
    for i, (_, _low, high) in enumerate(BACKLOG_AGES):
        if high is None or age <= high:
            return i
    return len(BACKLOG_AGES) - 1


def age_day(t: str) -> date:
    """The Europe/Amsterdam date the backlog's age is counted to: the last day before the moment
    ``t`` (UTC ISO): the period's last day at the end of a period, today in a running one."""
    return (parse_iso(t) - timedelta(microseconds=1)).astimezone(AMS).date()


def backlog_age(registered_at: str, to_day: date) -> int:
    """Age in working days on ``to_day`` of a melding registered at ``registered_at`` (UTC ISO):
    working days after its registration date up to and including ``to_day``
    (``shared.deadlines.working_days_between``)."""
    return _lead(_local_day_of_utc_hour(registered_at[:13]).isoformat(), to_day)


def over_three_times_norm(age: int, servicenorm: int | None) -> bool:
    """Whether an open melding is older than three times its servicenorm (working days)."""
    return servicenorm is not None and servicenorm > 0 and age > 3 * servicenorm


# -- indicators --------------------------------------------------------------------------------------------


class Indicators(msgspec.Struct, kw_only=True):
    """The barometer figures of one group. Counts are meldingen; ``pct_*`` are percentages rounded to
    one decimal, ``None`` when their denominator is 0 ("n.v.t."); lead times in working days;
    ``received_per_1000`` per 1,000 inhabitants, two decimals (totals and months only).

    Backlog fields are ``None`` where no backlog was computed (the monthly trend). Each field's
    definition, rule and source: :data:`INDICATORS` and docs/barometer.md.
    """

    received: int = 0
    received_per_1000: float | None = None
    closed: int = 0
    closed_with_norm: int = 0
    within_norm: int = 0
    pct_within_norm: float | None = None
    closed_with_norm_regulier: int = 0
    within_norm_regulier: int = 0
    pct_within_norm_regulier: float | None = None
    closed_with_norm_spoed: int = 0
    within_norm_spoed: int = 0
    pct_within_norm_spoed: float | None = None
    lead_median: float | None = None
    lead_p90: int | None = None
    backlog: int | None = None
    backlog_overdue: int | None = None
    pct_overdue: float | None = None
    backlog_over_3x_norm: int | None = None
    backlog_age_0_5: int | None = None
    backlog_age_6_20: int | None = None
    backlog_age_21_60: int | None = None
    backlog_age_over_60: int | None = None
    contact_closed: int = 0
    terugkoppeling: int = 0
    pct_terugkoppeling: float | None = None
    contact_received: int = 0
    callback_in_norm: int = 0
    pct_callback_in_norm: float | None = None
    reopened: int = 0
    pct_reopened: float | None = None
    complete: int = 0
    pct_complete: float | None = None
    pct_location: float | None = None
    pct_categorie: float | None = None
    pct_vier_b: float | None = None
    pct_kanaal: float | None = None
    without_location: int = 0
    without_categorie: int = 0
    conflicts: int = 0


#: The backlog age fields of :class:`Indicators`, in :data:`BACKLOG_AGES` order.
AGE_FIELDS: tuple[str, ...] = ("backlog_age_0_5", "backlog_age_6_20", "backlog_age_21_60", "backlog_age_over_60")


class IndicatorInfo(NamedTuple):
    """How renderers show one indicator, and what the glossary says about it.

    Attributes:
        field: the :class:`Indicators` field.
        label: Dutch column header.
        kind: ``count``, ``pct`` (percent), ``days`` (working days) or ``rate`` (per 1,000 inhabitants).
        block: the table block it is shown in (:data:`BLOCKS`): wide tables are split into these.
        definitie, regel, bron: the glossary — what it is, how it is computed (one or two sentences),
            and where the data comes from.
        better: ``"up"`` when a higher value is better, ``"down"`` when lower is, ``""`` neutral.
    """

    field: str
    label: str
    kind: str
    block: str
    definitie: str
    regel: str
    bron: str
    better: str = ""


#: Table blocks ``(key, Dutch title, in the monthly trend)``: every rendering splits the indicator
#: table into these so that no table is wider than an A4 page.
BLOCKS: tuple[tuple[str, str, bool], ...] = (
    ("instroom", "Instroom en afhandeling binnen de norm", True),
    ("doorloop", "Doorlooptijd en heropend", True),
    ("terugkoppeling", "Terugkoppeling aan de melder", True),
    ("werkvoorraad", "Werkvoorraad aan het einde van de periode", False),
    ("leeftijd", "Werkvoorraad naar leeftijd", False),
    ("registratie", "Registratie", True),
)

_SRC_CLOSED = "projectie: first_closed_at (eerste keer gesloten), deadline (vastgelegd bij het categoriseren)"

#: The indicators in the order every rendering shows them, with their glossary.
INDICATORS: tuple[IndicatorInfo, ...] = (
    IndicatorInfo(
        "received", "Ontvangen", "count", "instroom",
        "Meldingen die in de periode zijn geregistreerd.",
        "Telt op de registratiedatum in Nederlandse tijd; verwijderde meldingen en duplicaten van een "
        "andere melding tellen niet.",
        "projectie: registered_date, deleted, duplicaat_van",
    ),
    IndicatorInfo(
        "received_per_1000", "Per 1.000 inwoners", "rate", "instroom",
        "Ontvangen meldingen per 1.000 inwoners.",
        "Ontvangen × 1.000 gedeeld door het inwonertal, over de hele periode (niet omgerekend naar een "
        "jaar); n.v.t. zonder inwonertal en per groep.",
        "gemeenteconfiguratie: inwoners",
    ),
    IndicatorInfo(
        "closed", "Afgehandeld", "count", "instroom",
        "Van de ontvangen meldingen: de meldingen die minstens één keer gesloten zijn.",
        "Gesloten = status afgehandeld, geannuleerd of doorgezet, tot het moment van de gegevens; een "
        "later heropende melding blijft meetellen.",
        "projectie: first_closed_at",
    ),
    IndicatorInfo(
        "pct_within_norm", "Binnen servicenorm (%)", "pct", "instroom",
        "Van de afgehandelde meldingen met een servicenorm: het deel dat bij de eerste sluiting binnen "
        "de norm was.",
        "Binnen de norm = eerste sluiting uiterlijk op de deadline (23:59:59 op de laatste werkdag). "
        "Heropenen verandert het oordeel niet; meldingen zonder categorie (geen norm) tellen niet mee.",
        _SRC_CLOSED, "up",
    ),
    IndicatorInfo(
        "pct_within_norm_regulier", "Regulier binnen norm (%)", "pct", "instroom",
        "Als 'Binnen servicenorm', voor de meldingen zonder prioriteit spoed.",
        "Zelfde regel, alleen meldingen met prioriteit laag, normaal of hoog.",
        _SRC_CLOSED + ", prioriteit", "up",
    ),
    IndicatorInfo(
        "pct_within_norm_spoed", "Spoed binnen norm (%)", "pct", "instroom",
        "Als 'Binnen servicenorm', voor de meldingen met prioriteit spoed.",
        "Zelfde regel, tegen de deadline die de spoedmelding bij het categoriseren kreeg (de spoednorm "
        "uit de gemeenteconfiguratie).",
        _SRC_CLOSED + ", prioriteit", "up",
    ),
    IndicatorInfo(
        "lead_median", "Doorlooptijd mediaan (werkdagen)", "days", "doorloop",
        "De middelste doorlooptijd van de afgehandelde meldingen.",
        "Doorlooptijd = werkdagen na de registratiedatum tot en met de dag van de eerste sluiting "
        "(zelfde dag = 0); bij een even aantal het gemiddelde van de twee middelste.",
        "projectie: registered_date, first_closed_at; werkdagen volgens de feestdagenregeling",
        "down",
    ),
    IndicatorInfo(
        "lead_p90", "Doorlooptijd p90 (werkdagen)", "days", "doorloop",
        "De doorlooptijd waarbinnen 90 % van de afgehandelde meldingen gesloten is.",
        "Nearest rank: van klein naar groot de waarde op plaats 0,9 × n, naar boven afgerond.",
        "projectie: registered_date, first_closed_at", "down",
    ),
    IndicatorInfo(
        "pct_reopened", "Heropend (%)", "pct", "doorloop",
        "Van de afgehandelde meldingen: het deel dat minstens één keer is heropend.",
        "Een heropende melding telt één keer, in de periode van ontvangst.",
        "projectie: reopen_count", "down",
    ),
    IndicatorInfo(
        "pct_terugkoppeling", "Teruggekoppeld (%)", "pct", "terugkoppeling",
        "Van de afgehandelde meldingen waarvan de melder contactgegevens achterliet: het deel met "
        "minstens één vastgelegde terugkoppeling.",
        "Contactgegevens = telefoonnummer of e-mailadres, niet anoniem; open meldingen tellen niet mee.",
        "projectie: has_contact, callback_count", "up",
    ),
    IndicatorInfo(
        "pct_callback_in_norm", "Teruggebeld binnen terugbelnorm (%)", "pct", "terugkoppeling",
        "Van de ontvangen meldingen met contactgegevens: het deel met een eerste terugkoppeling binnen "
        "de terugbelnorm.",
        "Binnen de norm = eerste terugkoppeling uiterlijk het aantal werkdagen van de terugbelnorm na de "
        "registratiedatum; zonder terugkoppeling telt een melding als niet binnen de norm.",
        "projectie: first_callback_at, has_contact; gemeenteconfiguratie: terugbelnorm", "up",
    ),
    IndicatorInfo(
        "backlog", "Openstaand", "count", "werkvoorraad",
        "Meldingen die op het moment T openstonden: geregistreerd vóór T en toen niet gesloten.",
        "T = 00:00 na de laatste dag van de periode, of het moment van de gegevens als dat eerder is; "
        "heropende meldingen volgen hun statusgeschiedenis.",
        "projectie: registered_at, first_closed_at, closed_at, status_timeline", "down",
    ),
    IndicatorInfo(
        "backlog_overdue", "Waarvan over de norm", "count", "werkvoorraad",
        "Van de openstaande meldingen: die waarvan de deadline vóór T lag.",
        "Deadline zoals vastgelegd bij het categoriseren; zonder deadline nooit over de norm.",
        "projectie: deadline", "down",
    ),
    IndicatorInfo(
        "pct_overdue", "Over de norm (%)", "pct", "werkvoorraad",
        "Het deel van de werkvoorraad dat over de norm is.",
        "Waarvan over de norm gedeeld door openstaand.",
        "projectie: deadline", "down",
    ),
    IndicatorInfo(
        "backlog_over_3x_norm", "Ouder dan 3× de norm", "count", "werkvoorraad",
        "Openstaande meldingen die op T meer dan drie keer hun servicenorm oud waren.",
        "Leeftijd (werkdagen na de registratiedatum tot en met de laatste dag vóór T) groter dan "
        "3 × de servicenorm.",
        "projectie: registered_at, servicenorm", "down",
    ),
    *(
        IndicatorInfo(
            field, label, "count", "leeftijd",
            f"Openstaande meldingen met een leeftijd van {label} op T.",
            "Leeftijd = werkdagen na de registratiedatum tot en met de laatste dag vóór T.",
            "projectie: registered_at",
        )
        for field, (label, _, _) in zip(AGE_FIELDS, BACKLOG_AGES)
    ),
    IndicatorInfo(
        "pct_complete", "Volledig geregistreerd (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met locatie, categorie, vier B én kanaal.",
        "Locatie = adres (straat of postcode), kaartpunt of locatieomschrijving.",
        "projectie: straat, postcode, lat, locatie_omschrijving, categorie, vier_b, kanaal", "up",
    ),
    IndicatorInfo(
        "pct_location", "Met locatie (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met een locatie.",
        "Adres (straat of postcode), kaartpunt of locatieomschrijving.",
        "projectie: straat, postcode, lat, locatie_omschrijving", "up",
    ),
    IndicatorInfo(
        "pct_categorie", "Met categorie (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met een categorie.", "Categorie ingevuld.",
        "projectie: categorie", "up",
    ),
    IndicatorInfo(
        "pct_vier_b", "Met vier B (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met een vier B.", "Vier B ingevuld.", "projectie: vier_b", "up",
    ),
    IndicatorInfo(
        "pct_kanaal", "Met kanaal (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met een kanaal.", "Kanaal ingevuld.", "projectie: kanaal", "up",
    ),
)

#: The indicators of the monthly trend (no backlog: that is a stock at the end of the period).
MONTH_INDICATORS: tuple[IndicatorInfo, ...] = tuple(
    i for i in INDICATORS if any(b == i.block and in_months for b, _, in_months in BLOCKS)
)

#: The headline figures page one compares with the previous period and a year earlier.
HEADLINE: tuple[str, ...] = (
    "received", "received_per_1000", "pct_within_norm", "pct_within_norm_spoed", "lead_median",
    "pct_terugkoppeling", "pct_callback_in_norm", "backlog", "pct_overdue", "pct_complete",
)

INFO: dict[str, IndicatorInfo] = {i.field: i for i in INDICATORS}


def pct(numerator: int, denominator: int) -> float | None:
    """``100 * numerator / denominator`` rounded to 1 decimal; ``None`` when the denominator is 0."""
    if denominator <= 0:
        return None
    return round(100.0 * numerator / denominator, 1)


def per_1000(count: int, inwoners: int | None) -> float | None:
    """``count`` per 1,000 inhabitants, two decimals; ``None`` without a (positive) inhabitant count."""
    if not inwoners or inwoners <= 0:
        return None
    return round(1000.0 * count / inwoners, 2)


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
        "ages",
        "backlog",
        "callback_in_norm",
        "categorie",
        "cells",
        "closed",
        "closed_with_norm",
        "complete",
        "conflicts",
        "contact_closed",
        "contact_received",
        "kanaal",
        "lead",
        "location",
        "norm_spoed",
        "over_3x",
        "overdue",
        "received",
        "reopened",
        "terugkoppeling",
        "vier_b",
        "within_norm",
        "within_spoed",
    )  # fmt: skip

    def __init__(self) -> None:
        for s in self.__slots__:
            setattr(self, s, 0)
        self.lead: Counter[int] = Counter()
        self.cells: Counter[tuple[int | None, int]] = Counter()
        self.ages = [0] * len(BACKLOG_AGES)

    def add(self, lead: int | None, flags: int, n: int, terugbelnorm: int) -> None:
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
        if flags & F_CONFLICT:
            self.conflicts += n
        if flags & F_CONTACT:
            self.contact_received += n
            code = callback_code(flags)
            if code and code - 1 <= terugbelnorm:
                self.callback_in_norm += n
        if lead is not None:
            self.closed += n
            self.lead[lead] += n
            if flags & F_HAS_NORM:
                self.closed_with_norm += n
                within = flags & F_WITHIN
                if within:
                    self.within_norm += n
                if flags & F_SPOED:
                    self.norm_spoed += n
                    if within:
                        self.within_spoed += n
            if flags & F_REOPENED:
                self.reopened += n
            if flags & F_CONTACT:
                self.contact_closed += n
                if flags & F_CALLBACK:
                    self.terugkoppeling += n

    def put(self, lead: int | None, flags: int, n: int) -> None:
        """Note ``n`` meldingen with this lead time and flags; counted once per combination in
        :meth:`result` (a million meldingen have only a few thousand combinations per group)."""
        self.cells[lead, flags] += n

    def open_one(self, overdue: bool, age: int, over_3x: bool, n: int = 1) -> None:
        """Add ``n`` meldingen open at the backlog moment, of this age class (``age``: index in
        :data:`BACKLOG_AGES`)."""
        self.backlog += n
        self.overdue += n * overdue
        self.over_3x += n * over_3x
        self.ages[age] += n

    def result(self, *, with_backlog: bool, terugbelnorm: int = 2, inwoners: int | None = None) -> Indicators:
        for (lead, flags), n in self.cells.items():
            if n:
                self.add(lead, flags, n, terugbelnorm)
        self.cells.clear()
        med, p90 = median_and_p90(+self.lead)
        r = self.received
        regular_norm = self.closed_with_norm - self.norm_spoed
        regular_within = self.within_norm - self.within_spoed
        backlog = {
            "backlog": self.backlog,
            "backlog_overdue": self.overdue,
            "pct_overdue": pct(self.overdue, self.backlog),
            "backlog_over_3x_norm": self.over_3x,
            **dict(zip(AGE_FIELDS, self.ages)),
        } if with_backlog else {}
        return Indicators(
            received=r,
            received_per_1000=per_1000(r, inwoners),
            closed=self.closed,
            closed_with_norm=self.closed_with_norm,
            within_norm=self.within_norm,
            pct_within_norm=pct(self.within_norm, self.closed_with_norm),
            closed_with_norm_regulier=regular_norm,
            within_norm_regulier=regular_within,
            pct_within_norm_regulier=pct(regular_within, regular_norm),
            closed_with_norm_spoed=self.norm_spoed,
            within_norm_spoed=self.within_spoed,
            pct_within_norm_spoed=pct(self.within_spoed, self.norm_spoed),
            lead_median=med,
            lead_p90=p90,
            contact_closed=self.contact_closed,
            terugkoppeling=self.terugkoppeling,
            pct_terugkoppeling=pct(self.terugkoppeling, self.contact_closed),
            contact_received=self.contact_received,
            callback_in_norm=self.callback_in_norm,
            pct_callback_in_norm=pct(self.callback_in_norm, self.contact_received),
            reopened=self.reopened,
            pct_reopened=pct(self.reopened, self.closed),
            complete=self.complete,
            pct_complete=pct(self.complete, r),
            pct_location=pct(self.location, r),
            pct_categorie=pct(self.categorie, r),
            pct_vier_b=pct(self.vier_b, r),
            pct_kanaal=pct(self.kanaal, r),
            without_location=r - self.location,
            without_categorie=r - self.categorie,
            conflicts=self.conflicts,
            **backlog,
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
    return _finish(period, as_of, dims, total, months, groups, backlog_rows, criteria, backlog_cells, settings)


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
                acc = accs[k] = _Acc()
            acc.open_one(overdue, cls, over)
    cgetters = [(groups[d], _key_getter(d, _CELL_DIM_INDEX)) for d in dims]
    for cell in backlog_cells:
        overdue, cls, over, n = bool(cell[0]), cell[1], bool(cell[2]), cell[3]
        total.open_one(overdue, cls, over, n)
        for accs, get in cgetters:
            k = get(cell) or None
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = _Acc()
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


def comparison_periods(period: Period) -> list[tuple[str, str, Period]]:
    """The periods page one compares ``period`` with: ``(kind, Dutch label, period)`` for the previous
    period of the same kind and the same period a year earlier."""
    return [
        ("vorige_periode", "Vorige periode", shift_period(period, -1)),
        ("vorig_jaar", "Zelfde periode vorig jaar", year_earlier(period)),
    ]


def comparison(kind: str, label: str, period: Period, totaal: Indicators) -> Comparison:
    """A :class:`Comparison` of ``period``'s totals."""
    return Comparison(kind, label, period.label, period.start.isoformat(), period.end.isoformat(), totaal)


def year_earlier(period: Period) -> Period:
    """The same period one year earlier (29 February becomes 28 February)."""
    label = period.label
    if _YEAR.match(label):
        return shift_period(period, -1)
    if _QUARTER.match(label):
        return shift_period(period, -4)
    if _MONTH.match(label):
        return shift_period(period, -12)

    def back(d: date) -> date:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:  # 29 February
            return d.replace(year=d.year - 1, day=28)

    return period_between(back(period.start), back(period.end))


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


def format_value(value: float | None, kind: str) -> str:
    """Dutch text of an indicator value: ``"n.v.t."`` for ``None``; ``"87,5"`` for one decimal."""
    if value is None:
        return NVT
    if kind == "count" or (isinstance(value, int) and not isinstance(value, bool)):
        return f"{value}"
    if float(value).is_integer() and kind == "days":
        return f"{int(value)}"
    if kind == "rate":
        return f"{value:.2f}".replace(".", ",")
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
    "servicenorm": "INTEGER",
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
        b.servicenorm,
    )
