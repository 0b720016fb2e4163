"""Working days and servicenorm deadlines (shared.deadlines): issue 2's examples, DST, policy."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.deadlines import (
    AMS,
    DEFAULT_POLICY,
    HolidayPolicy,
    add_working_days,
    deadline,
    is_working_day,
    load_policy,
    local_date,
    to_local,
    utcnow,
    working_days_between,
)

BEVRIJDINGSDAG_WERKDAG = HolidayPolicy(bevrijdingsdag_vrij=False)
GOEDE_VRIJDAG_VRIJ = HolidayPolicy(goede_vrijdag_vrij=True)


def local(y, mo, d, h=10, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=AMS)


def test_issue_example_kings_day_is_skipped():
    # Fri 24 Apr 2026, 5 working days: 28, 29, 30 Apr, 1 May, 4 May (Mon 27 Apr is King's Day).
    due = deadline(local(2026, 4, 24), 5)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert to_local(due) == datetime(2026, 5, 4, 23, 59, 59, tzinfo=AMS)


def test_issue_example_liberation_day_is_policy():
    registered = local(2025, 5, 1)  # Thursday
    assert to_local(deadline(registered, 2)) == datetime(2025, 5, 6, 23, 59, 59, tzinfo=AMS)
    assert to_local(deadline(registered, 2, BEVRIJDINGSDAG_WERKDAG)) == datetime(2025, 5, 5, 23, 59, 59, tzinfo=AMS)


def test_default_policy_is_the_documented_one():
    for policy in (HolidayPolicy(), DEFAULT_POLICY):
        assert policy.bevrijdingsdag_vrij is True
        assert policy.goede_vrijdag_vrij is False


def test_policy_file(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("goede_vrijdag_vrij = true\nbevrijdingsdag_vrij = false\n", encoding="utf-8")
    assert load_policy(str(path)) == HolidayPolicy(goede_vrijdag_vrij=True, bevrijdingsdag_vrij=False)
    path.write_text("goede_vrijdag_vrij = true\n", encoding="utf-8")
    assert load_policy(str(path)) == HolidayPolicy(goede_vrijdag_vrij=True, bevrijdingsdag_vrij=True)
    for broken in ("goede_vrijdag = true\n", 'goede_vrijdag_vrij = "ja"\n', "goede_vrijdag_vrij = \n"):
        path.write_text(broken, encoding="utf-8")
        with pytest.raises(ValueError, match="policy"):
            load_policy(str(path))
    with pytest.raises(ValueError, match="policy"):
        load_policy(str(tmp_path / "missing.toml"))


def test_the_active_configuration_s_policy_is_the_default():
    import msgspec

    from shared.gemeente import activate, package_default

    good_friday_2026 = date(2026, 4, 3)
    assert is_working_day(good_friday_2026)
    activate(msgspec.structs.replace(package_default(), feestdagen=GOEDE_VRIJDAG_VRIJ))
    assert not is_working_day(good_friday_2026)
    assert to_local(deadline(local(2026, 4, 2), 1)) == datetime(2026, 4, 7, 23, 59, 59, tzinfo=AMS)
    activate(None)
    assert is_working_day(good_friday_2026)


def test_a_norm_of_zero_ends_the_registration_day():
    # Spoed norms may be 0: the same day, even a Sunday (issue 13).
    assert to_local(deadline(local(2026, 4, 26, 22, 30), 0)) == datetime(2026, 4, 26, 23, 59, 59, tzinfo=AMS)
    with pytest.raises(ValueError):
        deadline(local(2026, 4, 26), -1)


def test_issue_example_registration_date_is_the_amsterdam_date():
    registered = datetime(2025, 10, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 Nov in Amsterdam
    assert local_date(registered) == date(2025, 11, 1)
    # Counting starts after Saturday 1 Nov, not after Friday 31 Oct.
    assert to_local(deadline(registered, 1)).date() == date(2025, 11, 3)


def test_liberation_day_is_off_every_year_by_default_not_only_in_lustrum_years():
    assert not is_working_day(date(2026, 5, 5))  # a Tuesday; not a national holiday in 2026
    assert is_working_day(date(2026, 5, 5), BEVRIJDINGSDAG_WERKDAG)
    # In a lustrum year the national calendar has it, but the policy still decides.
    assert not is_working_day(date(2025, 5, 5))
    assert is_working_day(date(2025, 5, 5), BEVRIJDINGSDAG_WERKDAG)


def test_good_friday_policy():
    # Thu 2 Apr 2026 + 1: Good Friday 3 Apr is a working day by default; if not, Easter Monday
    # 6 Apr is skipped too and the deadline is Tue 7 Apr.
    assert is_working_day(date(2026, 4, 3))
    assert not is_working_day(date(2026, 4, 3), GOEDE_VRIJDAG_VRIJ)
    assert to_local(deadline(local(2026, 4, 2), 1)).date() == date(2026, 4, 3)
    assert to_local(deadline(local(2026, 4, 2), 1, GOEDE_VRIJDAG_VRIJ)).date() == date(2026, 4, 7)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # Nieuwjaarsdag
        date(2026, 4, 6),  # Tweede paasdag
        date(2026, 4, 27),  # Koningsdag
        date(2026, 5, 14),  # Hemelvaartsdag
        date(2026, 5, 25),  # Tweede pinksterdag
        date(2026, 12, 25),
        date(2026, 12, 26),  # Saturday anyway
        date(2026, 4, 25),  # Saturday
        date(2026, 4, 26),  # Sunday
    ],
)
def test_weekends_and_public_holidays_are_not_working_days(day):
    assert not is_working_day(day)
    assert not is_working_day(day, GOEDE_VRIJDAG_VRIJ)


def test_number_of_working_days_in_2026():
    # 261 weekdays in 2026; off on weekdays: 1 Jan, 6 Apr, 27 Apr, 5 May, 14 May, 25 May, 25 Dec.
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    assert sum(is_working_day(d) for d in days) == 261 - 7
    assert sum(is_working_day(d, GOEDE_VRIJDAG_VRIJ) for d in days) == 261 - 8
    assert sum(is_working_day(d, BEVRIJDINGSDAG_WERKDAG) for d in days) == 261 - 6


def test_policy_does_not_depend_on_the_process_locale():
    # The holidays package translates holiday names after LANGUAGE/LANG; a Dutch laptop must count
    # the same days as the server.
    code = (
        "from datetime import date; from shared.deadlines import is_working_day as w;"
        "print(w(date(2026, 4, 3)), w(date(2026, 5, 5)))"
    )
    for lang in ("nl", "en_US", "fy"):
        env = {**os.environ, "LANGUAGE": lang, "LC_ALL": "C.UTF-8"}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["True", "False"], (lang, out.stdout, out.stderr)


def test_deadline_is_the_last_second_of_the_day_across_dst():
    # Spring forward (29 Mar 2026): the deadline day is in summer time, UTC+2.
    due = deadline(local(2026, 3, 27), 1)
    assert due == datetime(2026, 3, 30, 21, 59, 59, tzinfo=UTC)
    # Fall back (26 Oct 2025): the deadline day is in winter time, UTC+1.
    due = deadline(local(2025, 10, 24), 1)
    assert due == datetime(2025, 10, 27, 22, 59, 59, tzinfo=UTC)
    # Registered in the night of the switch itself (00:30 local on Sunday): counts from Monday.
    assert deadline(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), 1) == datetime(2026, 3, 30, 21, 59, 59, tzinfo=UTC)
    assert deadline(datetime(2025, 10, 25, 22, 30, tzinfo=UTC), 1) == datetime(2025, 10, 27, 22, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 3, 28, 22, 59, tzinfo=UTC), date(2026, 3, 28)),  # 23:59 CET
        (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), date(2026, 3, 29)),  # 00:00 CET
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), date(2026, 3, 29)),  # 03:30 CEST
        (datetime(2025, 10, 25, 21, 59, tzinfo=UTC), date(2025, 10, 25)),  # 23:59 CEST
        (datetime(2025, 10, 25, 22, 0, tzinfo=UTC), date(2025, 10, 26)),  # 00:00 CEST
        (datetime(2025, 10, 26, 1, 30, tzinfo=UTC), date(2025, 10, 26)),  # 02:30 CET, second time
        (datetime(2025, 10, 26, 22, 59, tzinfo=UTC), date(2025, 10, 26)),  # 23:59 CET
        (datetime(2025, 10, 26, 23, 0, tzinfo=UTC), date(2025, 10, 27)),
    ],
)
def test_local_date_around_dst_switches(utc, expected):
    assert local_date(utc) == expected


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        local_date(datetime(2026, 4, 24, 10, 0))
    with pytest.raises(ValueError):
        deadline(datetime(2026, 4, 24, 10, 0), 5)


def test_add_working_days_needs_at_least_one_day():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 4, 24), 0)
    # The start day never counts, even when it is a working day.
    assert add_working_days(date(2026, 4, 28), 1) == date(2026, 4, 29)
    # A registration on a Saturday counts from Monday.
    assert add_working_days(date(2026, 4, 25), 1) == date(2026, 4, 28)


def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.utcoffset() == timedelta(0)


def _slow_working_days_between(start: datetime, end: datetime, policy: HolidayPolicy) -> int:
    a, b = local_date(start), local_date(end)
    n = 0
    d = a + timedelta(days=1)
    while d <= b:
        n += is_working_day(d, policy)
        d += timedelta(days=1)
    return n


instants = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))
policies = st.builds(HolidayPolicy, goede_vrijdag_vrij=st.booleans(), bevrijdingsdag_vrij=st.booleans())


@given(start=instants, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)), policy=policies)
@settings(max_examples=150, deadline=None)
def test_working_days_between_matches_a_day_by_day_count(start, span, policy):
    end = start + span
    assert working_days_between(start, end, policy) == _slow_working_days_between(start, end, policy)
    assert working_days_between(end, start, policy) == 0


@given(start=instants, norm=st.integers(min_value=1, max_value=60), policy=policies)
@settings(max_examples=100, deadline=None)
def test_deadline_is_met_exactly_up_to_its_last_second(start, norm, policy):
    due = deadline(start, norm, policy)
    assert to_local(due).time() == time(23, 59, 59)
    assert is_working_day(to_local(due).date(), policy)
    assert working_days_between(start, due, policy) == norm
    # One second later is the next calendar day: late only once that is a working day again.
    next_second = due + timedelta(seconds=1)
    late = working_days_between(start, next_second, policy) > norm
    assert late == is_working_day(local_date(next_second), policy)
    next_working_day = datetime.combine(add_working_days(to_local(due).date(), 1, policy), time(8), tzinfo=AMS)
    assert working_days_between(start, next_working_day, policy) == norm + 1
