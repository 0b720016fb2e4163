"""Hybrid logical clock (shared.hlc): monotonic under a wrong wall clock, across restarts, on recv."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.hlc import COUNTER_BITS, HLC, pack, physical_ms, stamp_datetime, wall_ms
from shared.ids import new_id

T0_DT = datetime(2026, 4, 24, 8, 15, 30, 250_000, tzinfo=UTC)
T0 = int(T0_DT.timestamp() * 1000)  # ms since the epoch


class FakeClock:
    """A wall clock the test sets by hand (ms since the epoch)."""

    def __init__(self, ms: int = T0) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_stamp_packs_wall_ms_and_counter():
    s = pack(T0, 5)
    assert physical_ms(s) == T0
    assert s & ((1 << COUNTER_BITS) - 1) == 5
    assert stamp_datetime(s) == T0_DT
    # Stamps order by wall time first, then counter.
    assert pack(T0, 65535) < pack(T0 + 1, 0)


def test_now_follows_the_wall_clock_when_it_moves_forward():
    clock = FakeClock()
    hlc = HLC(clock=clock)
    assert hlc.now() == pack(T0)
    clock.ms += 250
    assert hlc.now() == pack(T0 + 250)


def test_counter_breaks_ties_within_one_millisecond():
    hlc = HLC(clock=FakeClock())
    stamps = [hlc.now() for _ in range(5)]
    assert stamps == [pack(T0, i) for i in range(5)]


def test_monotonic_when_the_wall_clock_goes_back():
    clock = FakeClock()
    hlc = HLC(clock=clock)
    first = hlc.now()
    clock.ms -= 3_600_000  # someone sets the laptop an hour back
    second = hlc.now()
    assert second > first
    assert physical_ms(second) == T0  # it keeps the highest wall time seen, with a higher counter
    clock.ms = T0 + 10
    assert hlc.now() == pack(T0 + 10)


def test_never_goes_backwards_across_restarts_when_last_is_persisted():
    clock = FakeClock()
    hlc = HLC(clock=clock)
    issued = [hlc.now() for _ in range(3)]
    persisted = hlc.last
    # "Restart" with the clock set back a day: a fresh HLC from the persisted stamp.
    clock.ms -= 86_400_000
    restarted = HLC(last=persisted, clock=clock)
    assert restarted.now() > max(issued)


def test_recv_of_a_remote_stamp_ahead_moves_the_clock_past_it():
    clock = FakeClock()
    hlc = HLC(clock=clock)
    local = hlc.now()
    remote = pack(T0 + 60_000, 7)  # the server is a minute ahead
    merged = hlc.recv(remote)
    assert merged > remote > local
    assert hlc.now() > merged
    # A remote stamp behind us changes nothing about monotonicity.
    behind = pack(T0 - 60_000)
    assert hlc.recv(behind) > merged


def test_skew_is_reported_in_milliseconds():
    hlc = HLC(clock=FakeClock())
    assert hlc.skew_ms(pack(T0 + 5_000, 3)) == 5_000
    assert hlc.skew_ms(pack(T0 - 200)) == -200


def test_default_clock_is_the_real_wall_clock():
    before = wall_ms()
    stamp = HLC().now()
    after = wall_ms()
    assert before <= physical_ms(stamp) <= after


ops = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(min_value=-10_000_000, max_value=10_000_000)),
        st.tuples(st.just("now"), st.just(0)),
        st.tuples(st.just("recv"), st.integers(min_value=-10_000_000, max_value=10_000_000)),
        st.tuples(st.just("restart"), st.just(0)),
    ),
    max_size=60,
)


@given(ops)
@settings(max_examples=100, deadline=None)
def test_every_stamp_is_greater_than_every_earlier_one(script):
    clock = FakeClock()
    hlc = HLC(clock=clock)
    seen = 0
    for op, arg in script:
        if op == "tick":
            clock.ms = max(0, clock.ms + arg)
        elif op == "restart":
            hlc = HLC(last=hlc.last, clock=clock)
        elif op == "now":
            s = hlc.now()
            assert s > seen
            seen = s
        else:
            remote = pack(max(0, T0 + arg), 3)
            s = hlc.recv(remote)
            assert s > seen and s > remote
            seen = s


def test_ids_are_uuid7_in_creation_order():
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # uuid6 bumps the millisecond rather than going back within one
    for text in ids[:10]:
        u = uuid.UUID(text)
        assert u.version == 7 and str(u) == text and len(text) == 36
    # The first 48 bits are the Unix time in ms: close to now.
    ms = uuid.UUID(ids[0]).int >> 80
    assert abs(ms - wall_ms()) < 86_400_000
