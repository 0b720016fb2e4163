"""Events: the immutable facts a melding's state is folded from (docs/design.md, "Records are event logs").

Wire and storage shape: :class:`Event`, whose ``payload`` is a plain mapping so that the envelope can
be stored, synced and ordered without knowing every event type. :func:`decode_payload` turns it into
the typed payload Struct for its ``type`` and is the single check of an event's validity
(:func:`validate_event`).

Field edits carry ``prev``: the id of the event that set the edited fields' value the user saw (the
``field_setters`` of the state they edited). Two edits of a field with the same ``prev`` are
concurrent; ``shared.fold`` decides them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
import msgspec.structs

from shared.enums import EventType, Kanaal, MeldingType, Prioriteit, Status, VierB
from shared.errors import InvalidEvent, ValidationError
from shared.model import Adres, Melder, Punt
from shared.validation import (
    CODE,
    DEVICE,
    FREE_TEXT,
    ID,
    INSTANT,
    NAME,
    POSITIVE_INT64,
    REFERENCE,
    SHORT_LINE,
    IntRange,
    check_struct,
)

#: Event schema. 2: ``status_changed`` separates the internal ``notitie`` from ``voor_melder``
#: (a schema-1 server refuses such events with a 409 that says to update it). 3: the AVG (issue 16):
#: event type ``purged``, and a melder whose details were erased (``Melder.gewist``/``met_contact``).
SCHEMA_VERSION = 3

#: An instant that must carry its zone (naive datetimes are refused at decode) and lie in
#: ``shared.validation.INSTANT``'s bounds (checked by :func:`validate_event`).
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True), INSTANT]
#: A servicenorm in working days: nothing the municipality promises takes more than a year or two.
SERVICENORM = IntRange(0, 1000)
#: Event schema versions a payload may name.
SCHEMA_RANGE = IntRange(1, 1000)

# Every text, integer and instant field of an event and its payloads carries its rule from
# ``shared.validation`` as ``Annotated`` metadata; ``validate_event`` checks them (a test checks that
# no field lacks one). msgspec ignores the metadata, so events stored before a rule still fold.


class Event(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One event of one melding.

    Attributes:
        event_id: UUIDv7 made by the device; unique everywhere, the idempotency key of sync.
        melding_id: UUIDv7 of the melding.
        device_id: the device code of the laptop (or ``"SRV"`` for events made by the server).
        device_seq: that device's own event counter, 1, 2, 3, …
        hlc: hybrid logical clock stamp (``shared.hlc``).
        type: one of :class:`shared.enums.EventType`.
        payload: the type's payload as builtins (see ``PAYLOAD_TYPES``).
        user: who did it (login name on the laptop or the token's name).
        prev: for ``fields_changed`` and ``status_changed``: the event that set the value the user saw.
        schema: payload schema version.
    """

    event_id: Annotated[str, ID]
    melding_id: Annotated[str, ID]
    device_id: Annotated[str, DEVICE]
    device_seq: Annotated[int, POSITIVE_INT64]
    hlc: Annotated[int, POSITIVE_INT64]
    type: Annotated[str, CODE]
    payload: dict[str, Any]
    user: Annotated[str, NAME] = ""
    prev: Annotated[str, ID] | None = None
    schema: Annotated[int, SCHEMA_RANGE] = SCHEMA_VERSION

    @property
    def order_key(self) -> tuple[int, str, str]:
        """The total order of events: (hlc, device_id, event_id)."""
        return (self.hlc, self.device_id, self.event_id)


class MeldingFields(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The plain (last-writer-wins) fields of a melding; UNSET means "not changed".

    ``categorie``, ``servicenorm`` and ``deadline`` are set together: the norm in force is stored when
    a melding is categorised, so a later norm change does not rewrite history.
    """

    type: MeldingType | msgspec.UnsetType = msgspec.UNSET
    kanaal: Kanaal | msgspec.UnsetType = msgspec.UNSET
    melder: Melder | None | msgspec.UnsetType = msgspec.UNSET
    adres: Adres | None | msgspec.UnsetType = msgspec.UNSET
    punt: Punt | None | msgspec.UnsetType = msgspec.UNSET
    locatie_omschrijving: Annotated[str, SHORT_LINE] | msgspec.UnsetType = msgspec.UNSET
    wijk: Annotated[str, CODE] | None | msgspec.UnsetType = msgspec.UNSET
    categorie: Annotated[str, CODE] | None | msgspec.UnsetType = msgspec.UNSET
    servicenorm: Annotated[int, SERVICENORM] | None | msgspec.UnsetType = msgspec.UNSET
    deadline: AwareDatetime | None | msgspec.UnsetType = msgspec.UNSET
    vier_b: VierB | None | msgspec.UnsetType = msgspec.UNSET
    omschrijving: Annotated[str, FREE_TEXT] | msgspec.UnsetType = msgspec.UNSET
    prioriteit: Prioriteit | msgspec.UnsetType = msgspec.UNSET
    duplicaat_van: Annotated[str, REFERENCE] | None | msgspec.UnsetType = msgspec.UNSET
    #: The Europe/Amsterdam date a letter (kanaal brief) was received; the servicenorm counts from
    #: then, not from when it was typed in (issue 14). None for every other contact.
    ontvangen_op: date | None | msgspec.UnsetType = msgspec.UNSET

    def items(self) -> dict[str, Any]:
        """The fields that are set, as ``{name: value}`` (typed values, not builtins)."""
        unset = msgspec.UNSET
        return {
            f: v
            for f, v in zip(self.__struct_fields__, msgspec.structs.astuple(self), strict=True)
            if v is not unset
        }


FIELD_NAMES: tuple[str, ...] = MeldingFields.__struct_fields__


#: Where a melding came from (``CreatedPayload.bron``): ``""`` registered by a person (laptop,
#: Open311), ``"demo"`` made by ``wijkteam-server demo``, ``"import"`` by ``wijkteam-server import``.
Bron = Literal["", "demo", "import"]


class CreatedPayload(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``created``: the reference told to the caller, when it was registered, the initial fields,
    and ``bron`` (:data:`Bron`; omitted when ``""``), so sample and imported data stay recognisable."""

    reference: Annotated[str, REFERENCE]
    registered_at: AwareDatetime
    fields: MeldingFields
    bron: Bron = ""


class FieldsChangedPayload(msgspec.Struct, forbid_unknown_fields=True):
    """``fields_changed``: one or more fields that shared the same setter (``Event.prev``)."""

    fields: MeldingFields


class StatusChangedPayload(msgspec.Struct, forbid_unknown_fields=True):
    """``status_changed``: from → to, an internal note and the text for the resident.

    ``notitie`` is for colleagues only; ``voor_melder`` is what the resident may be told (public
    status, Open311 ``status_notes``, the KCC's "verteld aan melder"). One of the two is required for
    some targets (``shared.status.NOTE_REQUIRED``).

    ``voor_melder`` is ``None`` only in events made before the two were separated (event schema 1):
    their single note was shown to the resident, and :func:`shared.fold.fold` keeps that meaning
    (docs/kcc.md, "Internal note and text for the resident"). Events made now always carry a string,
    empty when nothing is told.
    """

    van: Status
    naar: Status
    notitie: Annotated[str, FREE_TEXT] = ""
    voor_melder: Annotated[str, FREE_TEXT] | None = None


class NoteAddedPayload(msgspec.Struct, forbid_unknown_fields=True):
    """``note_added``: free text; ``openbaar`` when it may be told to the resident."""

    tekst: Annotated[str, FREE_TEXT]
    openbaar: bool = False


class CallbackLoggedPayload(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``callback_logged``: the terugkoppeling to a resident (channel, when in UTC, what, reached).

    ``melder``: which melder was called back — the ``event_id`` of their ``melder_added`` event — or
    None for the first melder (every event made before second melders existed).
    """

    kanaal: Kanaal
    at: AwareDatetime
    tekst: Annotated[str, FREE_TEXT] = ""
    bereikt: bool = True
    melder: Annotated[str, ID] | None = None


class MelderAddedPayload(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``melder_added``: another resident reported a problem that is already registered (issue 14).

    They become a second melder on the original — called back and counted like the first — instead
    of a melding of their own. ``melder`` is None when they left no details; ``at`` (UTC) is when
    they reported; ``kanaal`` how; ``omschrijving`` what they said, if it adds anything.
    """

    kanaal: Kanaal
    at: AwareDatetime
    melder: Melder | None = None
    omschrijving: Annotated[str, FREE_TEXT] = ""


class AssignedPayload(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``assigned``: who handles the melding from now on (issue 14). The event's ``user`` is who
    assigned it, so the history shows who assigned whom.

    ``behandelaar``: a server user name (``/api/v1/me``); None with ``aan_team`` True: the wijk's team
    holds it, none of them in particular; None with ``aan_team`` False: niet toegewezen. Last writer
    wins, with ``Event.prev`` as for field edits (two concurrent reassignments are a conflict).
    """

    behandelaar: Annotated[str, NAME] | None = None
    aan_team: bool = False


class ReasonPayload(msgspec.Struct, forbid_unknown_fields=True):
    """``deleted``, ``restored``, ``reporter_anonymised`` and ``purged``: an optional reason."""

    reden: Annotated[str, FREE_TEXT] = ""


PAYLOAD_TYPES: dict[str, type[msgspec.Struct]] = {
    EventType.CREATED: CreatedPayload,
    EventType.FIELDS_CHANGED: FieldsChangedPayload,
    EventType.STATUS_CHANGED: StatusChangedPayload,
    EventType.NOTE_ADDED: NoteAddedPayload,
    EventType.CALLBACK_LOGGED: CallbackLoggedPayload,
    EventType.DELETED: ReasonPayload,
    EventType.RESTORED: ReasonPayload,
    EventType.REPORTER_ANONYMISED: ReasonPayload,
    EventType.MELDER_ADDED: MelderAddedPayload,
    EventType.ASSIGNED: AssignedPayload,
    EventType.PURGED: ReasonPayload,
}


def decode_payload(event: Event) -> msgspec.Struct:
    """The typed payload of ``event``.

    Raises:
        InvalidEvent: unknown type or schema, or a payload that does not fit its type (the reason
            says which field).
    """
    if event.schema > SCHEMA_VERSION:
        raise InvalidEvent(f"schema {event.schema} is newer than this software ({SCHEMA_VERSION})")
    kind = PAYLOAD_TYPES.get(event.type)
    if kind is None:
        raise InvalidEvent(f"unknown event type {event.type!r}")
    try:
        return msgspec.convert(event.payload, kind)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(f"{event.type}: {exc}") from None


def validate_event(event: Event) -> None:
    """Check an event's envelope and payload against the rules of ``shared.validation``; the sync
    server refuses (quarantines) what fails, and a device never stores it.

    Raises:
        InvalidEvent: empty ids, ``device_seq`` or ``hlc`` not in 1…2^63−1, an invalid payload, or a
            text, integer or instant that breaks its rule (a control character, too long, out of
            range); the reason names the field (``payload.fields.melder.naam``).
    """
    if not event.event_id or not event.melding_id or not event.device_id:
        raise InvalidEvent("event_id, melding_id and device_id are required")
    if event.device_seq < 1 or event.hlc <= 0:
        raise InvalidEvent("device_seq and hlc must be positive")
    try:
        check_struct(event)
    except ValidationError as exc:
        raise InvalidEvent(f"{exc.field}: {exc.message}") from None
    payload = decode_payload(event)
    try:
        check_struct(payload, "payload.")
    except ValidationError as exc:
        raise InvalidEvent(f"{exc.field}: {exc.message}") from None


def to_payload(payload: msgspec.Struct) -> dict[str, Any]:
    """A payload Struct as the builtins an :class:`Event` carries (datetimes as RFC 3339 text)."""
    return msgspec.to_builtins(payload)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)
_list_decoder = msgspec.json.Decoder(list[Event])


def encode_event(event: Event) -> bytes:
    """An event as JSON bytes."""
    return _encoder.encode(event)


def decode_event(data: bytes | str) -> Event:
    """Inverse of :func:`encode_event`.

    Raises:
        msgspec.ValidationError / msgspec.DecodeError: not an event.
    """
    return _decoder.decode(data)
