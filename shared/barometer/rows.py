"""The compact rows the barometer counts: one :class:`BarometerRow` / :class:`BacklogRow` per melding,
converted from a projection row (``shared.projection.COLUMNS``), with its flag bits, the backlog's age
classes and the narrow summary row the server keeps next to its projection.

:func:`barometer_row` and :func:`backlog_row` are the reference conversions: the report layer's SQL
(``wijkteam_reports.sql``) must give the same rows. Rules: the package docstring and docs/barometer.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from shared.deadlines import AMS, working_days_between
from shared.projection import decode_timeline, encode_timeline, parse_iso
from shared.projection import needs_timeline as _needs_timeline

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
