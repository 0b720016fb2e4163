"""Sync protocol messages, ``/api/v1/sync/…`` (docs/design.md, "Sync protocol").

Bodies are JSON or MessagePack (``Content-Type: application/msgpack``), both made by msgspec from
these Structs. ``protocol`` is checked on every request: a client older than
``MIN_CLIENT_PROTOCOL`` or newer than ``PROTOCOL_VERSION`` gets a 4xx with a ``detail`` that says
which side must be updated.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from shared.events import Event
from shared.projection import WireRow

PROTOCOL_VERSION = 1
MIN_CLIENT_PROTOCOL = 1
#: Most events one push may carry; larger batches are refused with 413 and a detail.
MAX_PUSH_EVENTS = 5000
#: Largest pull page a client may ask for.
MAX_PULL_LIMIT = 5000
#: Largest push body (bytes) the server reads; a laptop splits a batch whose encoding is larger.
#: Typical events are well under 1 KB (MAX_PUSH_EVENTS of them: a few MB); the largest valid event
#: (texts at their ``shared.validation`` limits, 4-byte characters) is under 40 KB, so any batch of
#: at least 400 events fits.
MAX_PUSH_BYTES = 16 * 1024 * 1024
#: A pull page stops after about this many bytes of events, whatever ``limit`` asked (at least one
#: event per page), so a page of large events cannot exhaust the server's or the laptop's memory.
MAX_PULL_BYTES = 8 * 1024 * 1024
#: Events stamped further ahead of the server's clock than this are quarantined (ms).
MAX_FUTURE_SKEW_MS = 24 * 3600 * 1000
#: Clock skew (ms) from which a laptop shows a warning to its user.
WARN_SKEW_MS = 5 * 60 * 1000
#: How far an event may be stamped before its device code was issued (ms): a new laptop whose clock
#: is a little behind may work before its first sync. Anything earlier is refused (``before_issue``).
ISSUE_GRACE_MS = 24 * 3600 * 1000
#: How far a ``created`` event's ``registered_at`` may lie before its own stamp (ms). The stamp may run
#: ahead of the wall clock by up to ``MAX_FUTURE_SKEW_MS`` after merging a fast laptop's clock;
#: anything further back means a clock reset (``registered_at`` refused) or, on the laptop, that the
#: registration takes the clock's time instead of the wall clock (``shared.trust.registration_time``).
MAX_REGISTERED_BEHIND_MS = MAX_FUTURE_SKEW_MS + 3600 * 1000
#: Default for "late" events in the data-quality figures: stamped this many days or more before
#: they reached the server (``ServerStore.late_events``).
LATE_ARRIVAL_DAYS = 7


class RefusalCode(StrEnum):
    """Why the server refused (quarantined) an event: a machine code next to the Dutch ``reason``.

    The laptop keeps a refused event as *geweigerd* with both; ``shared.trust.REFUSAL_HELP`` gives the
    Dutch explanation and what to do per code. Codes in :data:`RELEASABLE` can be released by the
    admin (``wijkteam-server quarantine release``): the event is restamped with the server's clock.
    """

    INVALID = "invalid"  #: does not decode, or ``shared.events.validate_event`` refuses it
    FOREIGN_DEVICE = "foreign_device"  #: ``device_id`` is not the pushing token's device code
    FUTURE_STAMP = "future_stamp"  #: stamped more than ``MAX_FUTURE_SKEW_MS`` ahead of the server
    BEFORE_CREATED = "before_created"  #: stamped before its melding's ``created``
    BEFORE_DEVICE = "before_device"  #: stamped before that device's latest event the server holds
    BEFORE_ISSUE = "before_issue"  #: stamped before the device code was issued (less ``ISSUE_GRACE_MS``)
    REGISTERED_AT = "registered_at"  #: a ``created`` whose ``registered_at`` does not fit its stamp
    DUPLICATE_CREATED = "duplicate_created"  #: a second ``created`` for a melding the server has
    CONFLICTING = "conflicting"  #: a known ``event_id`` pushed again with other content
    CREATED_REFUSED = "created_refused"  #: its melding's ``created`` is itself in the quarantine
    NOT_ALLOWED = "not_allowed"  #: the token's role may not make this event (``shared.avg.may_push``)


#: Refusals about time only: the event is genuine, its stamp is not. Release restamps it.
RELEASABLE = frozenset(
    {
        RefusalCode.FUTURE_STAMP,
        RefusalCode.BEFORE_CREATED,
        RefusalCode.BEFORE_DEVICE,
        RefusalCode.BEFORE_ISSUE,
        RefusalCode.REGISTERED_AT,
        RefusalCode.CREATED_REFUSED,
    }
)


class PushRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Events a device has not yet seen acknowledged. ``device_hlc``: the device's clock now.

    ``device_seq``: the device's own event counter now (the server tells the admin at ``user revoke``
    how many of the device's events it has not seen). ``server_counter``: the highest reference
    counter of the server's own meldingen (device ``00``) this laptop holds; sent after the server's
    log id changed (a restore), so the server's counter continues past numbers only laptops still
    hold. Both 0 when not sent.

    ``pull_cursor`` and ``log_id``: how far this laptop has pulled, in which server log (0: nothing).
    The server defers events of a melding erased after that point (:attr:`PushResponse.deferred`).
    """

    protocol: int
    device_id: str
    events: list[Event]
    device_hlc: int = 0
    device_seq: int = 0
    server_counter: int = 0
    pull_cursor: int = 0
    log_id: int = 0


class Quarantined(msgspec.Struct):
    """An event the server refused to apply, and why (it is kept in the quarantine table).

    ``code``: a :class:`RefusalCode` value ("" from a server older than the codes). The laptop does
    not count a refused event as sent: it keeps it as *geweigerd* until the admin decides.
    """

    event_id: str
    reason: str
    code: str = ""


class PushResponse(msgspec.Struct):
    """Acknowledgement, sent only after the durable commit.

    ``server_time_ms``: the server's wall clock (ms since the epoch) when it answered; the laptop
    compares it with its own clock to show the clock skew (``server_hlc`` may run ahead of the wall
    clock after it merged stamps from a fast laptop, so it is no measure of skew).

    ``stored``: events new to the server; ``duplicates``: already there (a retried push);
    ``quarantined``: refused, with reasons and codes. Every event of the request is in exactly one
    of these. Stored and duplicate events are acknowledged; quarantined ones are not: the laptop
    keeps them as refused and asks for the admin's verdict (:class:`VerdictRequest`).

    ``log_id``: the identity of the server's event log (0 from a server that has none). It changes
    only when the server is restored from a backup: the laptop then re-sends its own events and pulls
    from the start (``wijkteam_tui.sync_client``; docs/server.md, "Backups"). Older clients ignore it.

    ``deferred``: events of a melding whose personal data the server erased after the request's
    ``pull_cursor`` (issue 16): the laptop may still hold the erased values in them, and the server no
    longer knows those values to remove them. They are neither stored nor refused: the laptop keeps
    them unsent, pulls (which erases the values from its copies too, ``shared.avg``) and sends them
    again in the same round. Never part of ``stored``, ``duplicates`` or ``quarantined``.
    """

    protocol: int
    server_hlc: int
    stored: int
    duplicates: int
    quarantined: list[Quarantined] = []
    server_time_ms: int = 0
    log_id: int = 0
    deferred: list[str] = []


class PulledEvent(msgspec.Struct):
    """An event as the server holds it, with its position in the server's log."""

    server_seq: int
    event: Event


class PullResponse(msgspec.Struct):
    """One page of the server's log after ``after``; ask again from ``next_after`` while ``has_more``.

    ``server_time_ms`` and ``log_id`` as in :class:`PushResponse`.

    ``rows`` (only when the pull asked for them with ``rows=<its shared.projection.PROJECTION_KEY>``
    and that is the server's too; ``projection`` then says which): the server's projection rows of the
    page's meldingen that have no event after ``next_after`` — exactly what a laptop holding the log up
    to ``next_after`` computes for them, so it may take them instead of folding (unless it holds
    unsent events of that melding). Older readers ignore both (docs/sync.md, "Projection rows").
    """

    protocol: int
    server_hlc: int
    events: list[PulledEvent]
    next_after: int
    has_more: bool
    server_time_ms: int = 0
    log_id: int = 0
    rows: list[WireRow] = []
    projection: int = 0


class VerdictRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/sync/verdicts``: what became of events this device holds as refused."""

    protocol: int
    device_id: str
    event_ids: list[str]


class VerdictState(StrEnum):
    """The admin's decision on a quarantined event."""

    WAITING = "waiting"  #: still in the quarantine
    RELEASED = "released"  #: applied (restamped where the refusal was about time); it comes with the pull
    REJECTED = "rejected"  #: refused for good; it never enters the record
    UNKNOWN = "unknown"  #: the server has no such quarantined event of this device


class Verdict(msgspec.Struct):
    """One event's verdict. ``note``: the admin's words (may be empty); ``hlc``: the stamp the
    released event carries now (0 unless released)."""

    event_id: str
    state: str
    note: str = ""
    hlc: int = 0


class VerdictResponse(msgspec.Struct):
    """Answer to :class:`VerdictRequest`: one :class:`Verdict` per asked id, in the asked order."""

    protocol: int
    verdicts: list[Verdict]


class ErrorBody(msgspec.Struct):
    """The body of every 4xx/5xx from the server (``sync_server.errors``): ``detail`` is meant for people.

    ``field``: the field at fault, with a 400 for a refused value and a 409 for a status change the
    melding's status does not allow; ``reason``: with a 503 for storage, ``alleen-lezen``, ``vol`` or
    ``schrijffout``. Both are absent otherwise. A route may add fields of its own (the KCC's 409 for a
    reference on several meldingen lists them).
    """

    status_code: int
    detail: str
    field: str | msgspec.UnsetType = msgspec.UNSET
    reason: str | msgspec.UnsetType = msgspec.UNSET


class SnapshotInfo(msgspec.Struct, frozen=True):
    """The server's current laptop snapshot (``GET /api/v1/sync/snapshot/info``; docs/sync.md, "Snapshot").

    The file (``GET /api/v1/sync/snapshot``) is a laptop database holding every event of log
    ``log_id`` up to ``server_seq``, with their projection and search rows, in laptop schema
    ``store_schema``; ``length`` bytes with SHA-256 ``sha256`` (hex). ``built_at``: UTC ISO time.
    ``log_seq``: the server's latest ``server_seq`` when it answered (the tail a laptop pulls after
    installing the snapshot is ``log_seq - server_seq`` events, or more by then).
    """

    server_seq: int
    log_id: int
    store_schema: int
    sha256: str
    length: int
    built_at: str
    log_seq: int = 0
