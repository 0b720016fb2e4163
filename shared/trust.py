"""Trust in the record: which pushed events the server refuses for their time, and what a refusal
means to the wijkuitvoerder (docs/design.md, "Sync protocol": "Authority and time", "Refusals are never
silent"; issue 11 §1–2).

One place for these rules: the sync server judges pushed events with :func:`judge_arrival` and
:func:`judge_history`; the laptop takes its registration time from :func:`registration_time` and
explains refusals with :data:`REFUSAL_HELP`; the admin's release restamps with :func:`restamp`.
Events the server makes itself (device ``shared.commands.SERVER_DEVICE``: Open311, import, demo) are
not judged: they carry the server's own clock, and an import may carry historic registration times.

Times: stamps are ``shared.hlc`` ints; ``*_ms`` are milliseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from shared.deadlines import HolidayPolicy, deadline
from shared.enums import EventType
from shared.events import CreatedPayload, Event, to_payload
from shared.hlc import pack, physical_ms, stamp_datetime
from shared.protocol import (
    ISSUE_GRACE_MS,
    MAX_FUTURE_SKEW_MS,
    MAX_REGISTERED_BEHIND_MS,
    RefusalCode,
)


@dataclass(frozen=True)
class Refusal:
    """Why an event is refused: a :class:`~shared.protocol.RefusalCode` and a Dutch reason."""

    code: RefusalCode
    reason: str


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _registered_ms(event: Event) -> int | None:
    """``registered_at`` of a ``created`` event in ms, or None (other types, or unreadable)."""
    if event.type != EventType.CREATED:
        return None
    try:
        payload = msgspec.convert(event.payload, CreatedPayload)
    except msgspec.ValidationError:
        return None
    return int(payload.registered_at.timestamp() * 1000)


def judge_arrival(event: Event, *, server_ms: int) -> Refusal | None:
    """The checks that need only the server's clock: the stamp, and a ``created``'s
    ``registered_at``, must not lie more than ``MAX_FUTURE_SKEW_MS`` ahead of ``server_ms``; a
    ``registered_at`` must not lie more than ``MAX_REGISTERED_BEHIND_MS`` before the event's stamp.

    Returns:
        None when the event may be stored, else the :class:`Refusal`.
    """
    ahead = physical_ms(event.hlc) - server_ms
    limit_h = MAX_FUTURE_SKEW_MS // 3_600_000
    if ahead > MAX_FUTURE_SKEW_MS:
        return Refusal(
            RefusalCode.FUTURE_STAMP,
            f"tijdstempel ligt {ahead / 3_600_000:.0f} uur voor op de serverklok (grens {limit_h} uur): "
            "zet de klok van de laptop goed",
        )
    registered = _registered_ms(event)
    if registered is not None:
        if registered - server_ms > MAX_FUTURE_SKEW_MS:
            return Refusal(
                RefusalCode.FUTURE_STAMP,
                f"registratietijd {_when(registered)} ligt meer dan {limit_h} uur na de serverklok: "
                "zet de klok van de laptop goed",
            )
        if physical_ms(event.hlc) - registered > MAX_REGISTERED_BEHIND_MS:
            return Refusal(
                RefusalCode.REGISTERED_AT,
                f"registratietijd {_when(registered)} ligt ver voor het tijdstempel van het event "
                f"({_when(physical_ms(event.hlc))}): de klok van de laptop stond terug",
            )
    return None


def judge_history(
    event: Event, *, created_hlc: int | None, device_last_hlc: int, issued_ms: int | None
) -> Refusal | None:
    """The checks against what the server already holds (docs/design.md, "Authority and time").

    Args:
        event: a pushed event (not a ``created`` for a melding the server has: that is
            ``duplicate_created``, decided by the caller).
        created_hlc: the stamp of the melding's ``created`` the server holds (or that is earlier in
            the same push), None when it has none.
        device_last_hlc: the latest stamp of that device's pushed events the server holds (0: none).
        issued_ms: when the device code was issued (ms), None when unknown.

    Returns:
        None when the event may be stored, else the :class:`Refusal`.
    """
    stamp = physical_ms(event.hlc)
    if issued_ms is not None:
        floor = issued_ms - ISSUE_GRACE_MS
        for what, ms in (("tijdstempel", stamp), ("registratietijd", _registered_ms(event))):
            if ms is not None and ms < floor:
                return Refusal(
                    RefusalCode.BEFORE_ISSUE,
                    f"{what} {_when(ms)} ligt voor de uitgifte van de apparaatcode ({_when(issued_ms)}): "
                    "de klok van de laptop stond terug",
                )
    if event.hlc <= device_last_hlc:
        return Refusal(
            RefusalCode.BEFORE_DEVICE,
            f"tijdstempel {_when(stamp)} ligt voor het laatste event van dit apparaat op de server "
            f"({_when(physical_ms(device_last_hlc))}): een laptop schrijft niet terug in de tijd",
        )
    if created_hlc is not None and event.hlc < created_hlc:
        return Refusal(
            RefusalCode.BEFORE_CREATED,
            f"tijdstempel {_when(stamp)} ligt voor de registratie van de melding ({_when(physical_ms(created_hlc))})",
        )
    return None


def registration_time(wall: datetime, hlc_last: int) -> datetime:
    """The registration time a laptop gives a new melding: its wall clock, unless that lies more than
    ``MAX_REGISTERED_BEHIND_MS`` behind the laptop's clock stamp (which never goes back past what it
    saw from the server): then the stamp's time. A clock reset to 2001 cannot date work in 2001.

    Args:
        wall: the laptop's wall clock (aware).
        hlc_last: the laptop's persisted HLC (``shared.hlc`` stamp; 0 for a laptop that never synced).
    """
    floor = physical_ms(hlc_last)
    if hlc_last and wall.timestamp() * 1000 < floor - MAX_REGISTERED_BEHIND_MS:
        return stamp_datetime(pack(floor))
    return wall


def clock_behind_ms(wall_ms: int, hlc_last: int) -> int:
    """How far the wall clock lies behind the laptop's clock stamp (ms; 0 when not behind)."""
    return max(0, physical_ms(hlc_last) - wall_ms) if hlc_last else 0


def restamp(event: Event, new_hlc: int, *, policy: HolidayPolicy | None = None) -> Event:
    """The event as the admin's release applies it: stamped ``new_hlc`` (the server's clock).

    A ``created`` whose ``registered_at`` lies ahead of the new stamp or more than
    ``MAX_REGISTERED_BEHIND_MS`` before it is registered at the new stamp's time instead, and its
    deadline is recomputed from its frozen servicenorm (``policy``). The original stamp and time stay
    in the history: the release adds a note saying them (``sync_server.store``).
    """
    changed = msgspec.structs.replace(event, hlc=new_hlc)
    registered = _registered_ms(event)
    new_ms = physical_ms(new_hlc)
    if registered is None or 0 <= new_ms - registered <= MAX_REGISTERED_BEHIND_MS:
        return changed
    payload = msgspec.convert(event.payload, CreatedPayload)
    at = stamp_datetime(pack(new_ms))
    fields = payload.fields
    if isinstance(fields.servicenorm, int):
        fields = msgspec.structs.replace(fields, deadline=deadline(at, fields.servicenorm, policy))
    payload = msgspec.structs.replace(payload, registered_at=at, fields=fields)
    return msgspec.structs.replace(changed, payload=to_payload(payload))


#: Per refusal code: what happened (Dutch) and what the wijkuitvoerder can do.
REFUSAL_HELP: dict[str, tuple[str, str]] = {
    RefusalCode.INVALID: (
        "Het event is onleesbaar of onvolledig.",
        "Vraag de beheerder het te bekijken; voer de wijziging zo nodig opnieuw in.",
    ),
    RefusalCode.FOREIGN_DEVICE: (
        "Het event hoort bij een ander apparaat dan dit token.",
        "Controleer de apparaatcode en het token in de instellingen.",
    ),
    RefusalCode.FUTURE_STAMP: (
        "De klok van deze laptop liep voor: het tijdstip ligt in de toekomst.",
        "Zet de klok goed. De beheerder kan het event vrijgeven met de tijd van de server.",
    ),
    RefusalCode.BEFORE_CREATED: (
        "Het tijdstip ligt voor de registratie van de melding.",
        "Zet de klok goed. De beheerder kan het event vrijgeven met de tijd van de server.",
    ),
    RefusalCode.BEFORE_DEVICE: (
        "Het tijdstip ligt voor eerder werk van deze laptop dat de server al heeft.",
        "Zet de klok goed. De beheerder kan het event vrijgeven met de tijd van de server.",
    ),
    RefusalCode.BEFORE_ISSUE: (
        "Het tijdstip ligt voor de uitgifte van de apparaatcode: de klok stond terug.",
        "Zet de klok goed. De beheerder kan het event vrijgeven met de tijd van de server.",
    ),
    RefusalCode.REGISTERED_AT: (
        "De registratietijd past niet bij het tijdstip van het event: de klok stond terug.",
        "Zet de klok goed. De beheerder kan de melding vrijgeven met de tijd van de server.",
    ),
    RefusalCode.DUPLICATE_CREATED: (
        "Deze melding bestond al op de server; een tweede registratie wordt nooit overgenomen.",
        "Vraag de beheerder om uitleg; registreer een nieuw contact als nieuwe melding.",
    ),
    RefusalCode.CONFLICTING: (
        "De server heeft dit event al, met een andere inhoud.",
        "Vraag de beheerder het te bekijken; voer de wijziging zo nodig opnieuw in.",
    ),
    RefusalCode.CREATED_REFUSED: (
        "De registratie van deze melding is zelf geweigerd.",
        "Wacht op het besluit van de beheerder over de registratie.",
    ),
    RefusalCode.NOT_ALLOWED: (
        "Uw rol mag dit niet (verwijderen en terugzetten mag alleen een beheerder).",
        "Vraag de beheerder het te doen; de melding blijft zoals hij was.",
    ),
}


def refusal_help(code: str) -> tuple[str, str]:
    """``(what happened, what to do)`` in Dutch for a refusal code (unknown codes get a general text)."""
    return REFUSAL_HELP.get(
        code, ("De server heeft het event geweigerd.", "Vraag de beheerder het te bekijken (wijkteam-server quarantine).")
    )
