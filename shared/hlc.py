"""Hybrid logical clock (Kulkarni et al., 2014): wall-clock milliseconds plus a counter.

A stamp is one ``int``: ``(physical_ms << 16) | counter``. Ints sort, fit SQLite's INTEGER and JSON,
and compare without parsing. The total order of events is ``(hlc, device_id, event_id)``.

The clock never goes backwards: not when the wall clock is set back, and not across restarts, as
long as the caller persists :attr:`HLC.last` (the local store does so in the same transaction as the
events it stamps) and hands it back to the constructor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

COUNTER_BITS = 16
_COUNTER_MASK = (1 << COUNTER_BITS) - 1


def pack(physical_ms: int, counter: int = 0) -> int:
    """Make a stamp from wall-clock milliseconds since the Unix epoch and a counter (0–65535)."""
    return (physical_ms << COUNTER_BITS) | counter


def physical_ms(stamp: int) -> int:
    """The wall-clock part of a stamp, in milliseconds since the Unix epoch (UTC)."""
    return stamp >> COUNTER_BITS


def stamp_datetime(stamp: int) -> datetime:
    """The wall-clock part of a stamp as an aware UTC datetime."""
    return datetime.fromtimestamp(physical_ms(stamp) / 1000, tz=UTC)


def wall_ms() -> int:
    """The machine's wall clock in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


class HLC:
    """A hybrid logical clock for one device.

    Args:
        last: the last stamp this device issued or received (persisted), 0 for a new device.
        clock: returns wall-clock ms; injectable so tests can simulate days or a wrong clock.
    """

    def __init__(self, last: int = 0, clock: Callable[[], int] = wall_ms) -> None:
        self.last = last
        self._clock = clock

    def now(self) -> int:
        """A new stamp, strictly greater than every stamp issued or received before."""
        wall = pack(self._clock())
        self.last = wall if wall > self.last else self.last + 1
        return self.last

    def recv(self, remote: int) -> int:
        """Merge a stamp seen from elsewhere (an event or the server's clock) and return a new one
        greater than both it and every earlier stamp of this clock."""
        wall = pack(self._clock())
        self.last = max(wall, self.last + 1, remote + 1)
        return self.last

    def skew_ms(self, remote: int) -> int:
        """How far ``remote``'s wall part is ahead of this machine's clock, in ms (negative: behind)."""
        return physical_ms(remote) - self._clock()
