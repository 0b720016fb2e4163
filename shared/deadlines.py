"""Working days, registration dates and servicenorm deadlines.

Rules (docs/design.md, "servicenorm"): a norm of N working days counts from the first working day after
the registration date and ends at 23:59:59 Europe/Amsterdam on the N-th working day. Saturdays,
Sundays and Dutch public holidays (the ``holidays`` package, Netherlands) are not working days.
Whether Good Friday and Liberation Day (5 May) are days off is local policy, :class:`HolidayPolicy`,
part of the municipality configuration (``shared.gemeente``): functions without an explicit
``policy`` use the policy of the active configuration.

Instants are timezone-aware ``datetime`` in UTC; calendar days are ``date`` in Europe/Amsterdam.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import msgspec
import msgspec.toml
from dateutil.easter import easter

AMS = ZoneInfo("Europe/Amsterdam")


class HolidayPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which optional days a municipality treats as days off.

    Defaults (documented in docs/policy.md as local policy): Good Friday is a working day; 5 May
    (Bevrijdingsdag) is a day off every year, as in the municipal collective agreement, not only in
    the lustrum years the national calendar marks.
    """

    goede_vrijdag_vrij: bool = False
    bevrijdingsdag_vrij: bool = True


def load_policy(path: str | Path) -> HolidayPolicy:
    """A :class:`HolidayPolicy` from a TOML file holding ``goede_vrijdag_vrij = true|false`` and/or
    ``bevrijdingsdag_vrij = true|false`` (the ``[feestdagen]`` table of the configuration on its own).

    Raises:
        ValueError: the file cannot be read, is not TOML, or holds unknown keys or non-booleans.
    """
    try:
        return msgspec.toml.decode(Path(path).read_bytes(), type=HolidayPolicy)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"holiday policy {path}: {exc}") from None


#: The package default policy: Good Friday a working day, 5 May a day off (docs/policy.md).
DEFAULT_POLICY = HolidayPolicy()

# The policy of the active municipality configuration; ``shared.gemeente.activate`` sets it. A
# one-element list, read on every call without a ``policy`` argument (no import on the hot path).
_active: list[HolidayPolicy] = [DEFAULT_POLICY]


def set_active_policy(policy: HolidayPolicy) -> None:
    """Make ``policy`` the one used when a function gets no ``policy`` (called by ``shared.gemeente``)."""
    _active[0] = policy


def active_policy() -> HolidayPolicy:
    """The policy of the active municipality configuration."""
    return _active[0]


def good_friday(year: int) -> date:
    """Good Friday (Goede Vrijdag) of ``year``: two days before Western Easter Sunday (dateutil)."""
    return easter(year) - timedelta(days=2)


@lru_cache(maxsize=256)
def _days_off(year: int, policy: HolidayPolicy) -> frozenset[date]:
    # Good Friday and 5 May are recognised by date, never by holiday name: ``holidays`` translates
    # names according to the process locale (LANG=nl_NL gives "Goede vrijdag"), so a name check
    # would silently change the policy on a Dutch laptop.
    nl = holidays.Netherlands(years=year, categories=("public", "optional"), language="en_US")
    optional = {good_friday(year), date(year, 5, 5)}
    off = {day for day in nl if day not in optional}
    if policy.bevrijdingsdag_vrij:
        off.add(date(year, 5, 5))
    if policy.goede_vrijdag_vrij:
        off.add(good_friday(year))
    return frozenset(off)


def is_working_day(day: date, policy: HolidayPolicy | None = None) -> bool:
    """True for Monday–Friday that is not a day off under ``policy`` (default: the active one).

    ``day`` is a Europe/Amsterdam calendar date. Days off: the Dutch public holidays of the
    ``holidays`` package (Netherlands) plus what ``policy`` adds (Good Friday, 5 May).
    """
    return day.weekday() < 5 and day not in _days_off(day.year, policy or _active[0])


def to_local(instant: datetime) -> datetime:
    """An aware instant as Europe/Amsterdam wall time.

    Raises:
        ValueError: ``instant`` is naive (instants must carry their zone).
    """
    if instant.tzinfo is None:
        raise ValueError("naive datetime: instants must be timezone-aware (UTC)")
    return instant.astimezone(AMS)


def local_date(instant: datetime) -> date:
    """The Europe/Amsterdam calendar date of an instant: 2025-10-31T23:30Z → 2025-11-01.

    Raises:
        ValueError: ``instant`` is naive.
    """
    return to_local(instant).date()


def add_working_days(start: date, n: int, policy: HolidayPolicy | None = None) -> date:
    """The n-th working day after ``start`` (``start`` itself never counts; n ≥ 1).

    Raises:
        ValueError: n < 1.
    """
    if n < 1:
        raise ValueError("n must be at least 1 working day")
    policy = policy or _active[0]
    day = start
    left = n
    while left:
        day += timedelta(days=1)
        if is_working_day(day, policy):
            left -= 1
    return day


def deadline(registered_at: datetime, servicenorm: int, policy: HolidayPolicy | None = None) -> datetime:
    """The servicenorm deadline as a UTC instant: 23:59:59 Europe/Amsterdam on the n-th working day
    after the registration date; for a norm of 0 ("the same day", a spoed norm) 23:59:59 on the
    registration date itself.

    Args:
        registered_at: aware instant of registration (any zone; its Amsterdam date counts).
        servicenorm: working days, ≥ 0 (the categorie's norm for the melding's prioriteit, fixed
            at categorisation).
        policy: the holiday policy (default: the active configuration's).

    Example: registered Fri 24 Apr 2026, 5 working days → Mon 4 May 2026 23:59:59 local
    (King's Day, Mon 27 Apr, is skipped). Source: docs/design.md "servicenorm"; docs/policy.md.

    Raises:
        ValueError: ``registered_at`` is naive, or ``servicenorm`` < 0.
    """
    if servicenorm < 0:
        raise ValueError("servicenorm must be at least 0 working days")
    start = local_date(registered_at)
    day = add_working_days(start, servicenorm, policy) if servicenorm else start
    return datetime.combine(day, time(23, 59, 59), tzinfo=AMS).astimezone(UTC)


def _weekdays_upto(day: date) -> int:
    """Mondays–Fridays from an arbitrary epoch up to and including ``day`` (closed form)."""
    n = day.toordinal()  # ordinal 1 (0001-01-01) is a Monday
    weeks, rest = divmod(n, 7)
    return weeks * 5 + min(rest, 5)


@lru_cache(maxsize=64)
def _weekday_days_off(first_year: int, last_year: int, policy: HolidayPolicy) -> tuple[int, ...]:
    days = []
    for year in range(first_year, last_year + 1):
        days.extend(d.toordinal() for d in _days_off(year, policy) if d.weekday() < 5)
    return tuple(sorted(days))


def working_days_between(start: datetime, end: datetime, policy: HolidayPolicy | None = None) -> int:
    """Lead time in working days: working days after ``start``'s local date up to and including
    ``end``'s local date. Closed on the day of registration → 0; closed the next working day → 1.
    A deadline is met exactly when ``working_days_between(registered, closed) <= servicenorm``.

    Constant time per call apart from a cached table of days off (reports call this a million times).
    Returns 0 when ``end`` is not after ``start``'s date.

    Raises:
        ValueError: ``start`` or ``end`` is naive.
    """
    a, b = local_date(start), local_date(end)
    if b <= a:
        return 0
    off = _weekday_days_off(a.year, b.year, policy or _active[0])
    holidays_in = bisect_right(off, b.toordinal()) - bisect_right(off, a.toordinal())
    return _weekdays_upto(b) - _weekdays_upto(a) - holidays_in


def utcnow() -> datetime:
    """The current instant, aware, in UTC (one place, so tests and devices agree on the form)."""
    return datetime.now(UTC)


def parse_dutch_date(raw: str, field: str = "datum") -> date:
    """A date as a Dutch user types it: ``04-05-2026``, ``4-5-2026``, ``4/5/2026`` or ``04-05-26``
    (day first, a two-digit year is 20xx).

    Raises:
        ValidationError: not such a date (``field`` names the form field).
    """
    from shared.errors import ValidationError

    m = re.fullmatch(r"\s*(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{2}|\d{4})\s*", raw or "")
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        try:
            return date(year + 2000 if year < 100 else year, month, day)
        except ValueError:
            pass
    raise ValidationError(field, "Typ de datum als dd-mm-jjjj, bijv. 20-04-2026.")
