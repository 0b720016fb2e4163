"""``shared.projection.iso`` (isoformat-based, for speed) gives exactly the text the original
``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` gave, for any aware instant in any zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from shared.projection import iso, parse_iso

ZONES = [
    UTC,
    ZoneInfo("Europe/Amsterdam"),
    timezone(timedelta(hours=-5, minutes=-30)),
    timezone(timedelta(hours=14)),
]


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from(ZONES),
    )
)
def test_iso_is_the_strftime_text(instant):
    text = iso(instant)
    assert text == instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if instant.astimezone(UTC).year >= 1000:  # strftime does not zero-pad earlier years
        assert parse_iso(text) == instant.astimezone(UTC)


def test_iso_examples():
    assert (
        iso(datetime(2026, 4, 24, 10, 15, tzinfo=ZoneInfo("Europe/Amsterdam")))
        == "2026-04-24T08:15:00.000000Z"
    )
    assert (
        iso(datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=UTC))
        == "2026-01-01T00:00:00.000005Z"
    )
    assert iso(None) is None
