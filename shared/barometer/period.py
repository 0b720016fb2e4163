"""The barometer's period: Europe/Amsterdam calendar dates (month, quarter, year or from–to, both
inclusive), parsed from what a user types, and the comparison periods (the previous one, a year earlier).

See the package docstring (``shared.barometer``) and docs/barometer.md, "Period".
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import msgspec

from shared.deadlines import AMS
from shared.errors import ValidationError
from shared.validation import MAX_INSTANT, MIN_INSTANT


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


def comparison_periods(period: Period) -> list[tuple[str, str, Period]]:
    """The periods page one compares ``period`` with: ``(kind, Dutch label, period)`` for the previous
    period of the same kind and the same period a year earlier."""
    return [
        ("vorige_periode", "Vorige periode", shift_period(period, -1)),
        ("vorig_jaar", "Zelfde periode vorig jaar", year_earlier(period)),
    ]


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
