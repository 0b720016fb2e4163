"""Sync protocol messages, ``/api/v1/sync/…`` (DESIGN.md, "Sync protocol").

Bodies are JSON or MessagePack (``Content-Type: application/msgpack``), both made by msgspec from
these Structs. ``protocol`` is checked on every request: a client older than
``MIN_CLIENT_PROTOCOL`` or newer than ``PROTOCOL_VERSION`` gets a 4xx with a ``detail`` that says
which side must be updated.
"""

from __future__ import annotations

import msgspec

from shared.events import Event

PROTOCOL_VERSION = 1
MIN_CLIENT_PROTOCOL = 1
#: Most events one push may carry; larger batches are refused with 413 and a detail.
MAX_PUSH_EVENTS = 5000
#: Largest pull page a client may ask for.
MAX_PULL_LIMIT = 5000
#: Events stamped further ahead of the server's clock than this are quarantined (ms).
MAX_FUTURE_SKEW_MS = 24 * 3600 * 1000
#: Clock skew (ms) from which a laptop shows a warning to its user.
WARN_SKEW_MS = 5 * 60 * 1000


class PushRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Events a device has not yet seen acknowledged. ``device_hlc``: the device's clock now."""

    protocol: int
    device_id: str
    events: list[Event]
    device_hlc: int = 0


class Quarantined(msgspec.Struct):
    """An event the server refused to apply, and why (it is kept in the quarantine table)."""

    event_id: str
    reason: str


class PushResponse(msgspec.Struct):
    """Acknowledgement, sent only after the durable commit.

    ``server_time_ms``: the server's wall clock (ms since the epoch) when it answered; the laptop
    compares it with its own clock to show the clock skew (``server_hlc`` may run ahead of the wall
    clock after it merged stamps from a fast laptop, so it is no measure of skew).

    ``stored``: events new to the server; ``duplicates``: already there (a retried push);
    ``quarantined``: refused, with reasons. Every event of the request is in exactly one of these
    and may be marked as acknowledged by the device.

    ``log_id``: the identity of the server's event log (0 from a server that has none). It changes
    only when the server is restored from a backup: the laptop then re-sends its own events and pulls
    from the start (``wijkteam_tui.sync_client``; docs/server.md, "Backups"). Older clients ignore it.
    """

    protocol: int
    server_hlc: int
    stored: int
    duplicates: int
    quarantined: list[Quarantined] = []
    server_time_ms: int = 0
    log_id: int = 0


class PulledEvent(msgspec.Struct):
    """An event as the server holds it, with its position in the server's log."""

    server_seq: int
    event: Event


class PullResponse(msgspec.Struct):
    """One page of the server's log after ``after``; ask again from ``next_after`` while ``has_more``.

    ``server_time_ms`` and ``log_id`` as in :class:`PushResponse`.
    """

    protocol: int
    server_hlc: int
    events: list[PulledEvent]
    next_after: int
    has_more: bool
    server_time_ms: int = 0
    log_id: int = 0


class ErrorBody(msgspec.Struct):
    """The body of every 4xx/5xx from the server: ``detail`` is meant for people."""

    status_code: int
    detail: str
