"""What a user can do to a melding, as functions that check the rules and return the events to store.

This is the one place that turns an intent ("register this call", "close with this note") into
events: the TUI, the server (Open311 intake) and the demo generator all call these, so the rules
(transition table, required notes, the norm fixed at categorisation, references) hold everywhere.

Each function needs a :class:`DeviceClock`: the device's identity, its event counter and its
hybrid logical clock. The caller persists ``DeviceClock.seq`` and ``DeviceClock.hlc.last`` in the
same transaction as the returned events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import msgspec

from shared.deadlines import AMS, HolidayPolicy, deadline, local_date, utcnow
from shared.enums import EventType, Kanaal, Status
from shared.errors import InvalidEvent, ValidationError
from shared.events import (
    AssignedPayload,
    Bron,
    CallbackLoggedPayload,
    CreatedPayload,
    Event,
    FieldsChangedPayload,
    MelderAddedPayload,
    MeldingFields,
    NoteAddedPayload,
    ReasonPayload,
    StatusChangedPayload,
    to_payload,
    validate_event,
)
from shared.hlc import HLC
from shared.ids import new_id
from shared.model import Adres, Melder, Melding
from shared.reference import make_reference
from shared.status import check_transition
from shared.taxonomy import Taxonomy, load_taxonomy
from shared.validation import MAX_NAME_LENGTH, MAX_SHORT_TEXT_LENGTH, clean_line, clean_text

#: Device code the sync server uses for meldingen it registers itself (e.g. through Open311).
SERVER_DEVICE = "00"


@dataclass
class DeviceClock:
    """A device's identity and counters.

    Attributes:
        device_id: the device code issued with the token (2 Crockford base32 characters).
        user: who is working (shown in the history).
        seq: the last ``device_seq`` used (0 for a new device).
        hlc: the device's hybrid logical clock.
    """

    device_id: str
    user: str
    seq: int = 0
    hlc: HLC = field(default_factory=HLC)

    def _event(self, melding_id: str, type_: EventType, payload: msgspec.Struct, prev: str | None = None) -> Event:
        event = Event(
            event_id=new_id(),
            melding_id=melding_id,
            device_id=self.device_id,
            device_seq=self.seq + 1,
            hlc=self.hlc.now(),
            type=type_.value,
            payload=to_payload(payload),
            user=self.user,
            prev=prev,
        )
        # Struct constructors do not check types: a wrong value would make an event that every
        # replica skips (and the server quarantines), silently losing what the user typed.
        try:
            validate_event(event)
        except InvalidEvent as exc:
            raise ValidationError("velden", f"Ongeldige gegevens: {exc.reason}") from None
        self.seq += 1
        return event


def _check_received(ontvangen_op: date | None, now: datetime) -> None:
    """A letter cannot have been received after it was registered (a date typed by hand)."""
    if ontvangen_op is not None and ontvangen_op > local_date(now):
        raise ValidationError("ontvangen_op", "De datum van ontvangst ligt in de toekomst.")


def norm_start(registered_at: datetime, ontvangen_op: date | None) -> datetime:
    """The instant the servicenorm counts from: the registration, or for a letter the day it was
    received when that is earlier (a letter typed in on Monday that came on Friday counts from
    Friday). ``ontvangen_op`` is a Europe/Amsterdam date; noon of that day stands for it."""
    if ontvangen_op is None:
        return registered_at
    received = datetime.combine(ontvangen_op, time(12, 0), tzinfo=AMS)
    return min(registered_at, received)


def _with_norm(
    fields: MeldingFields,
    registered_at: datetime,
    taxonomy: Taxonomy,
    policy: HolidayPolicy | None,
    state: Melding | None = None,
    ontvangen_op: date | None = None,
) -> MeldingFields:
    """Fix the servicenorm and deadline in force when a categorie or prioriteit is (re)set, or when a
    letter's date of receipt changes (the deadline counts from it: :func:`norm_start`).

    The norm is the categorie's norm for the melding's prioriteit (``Categorie.norm``: spoed has its
    own), taken from the configuration in force now; a melding whose categorie, prioriteit and date
    of receipt are not touched keeps the norm it was given, whatever the configuration says later.
    """
    code = fields.categorie
    prio = fields.prioriteit
    if fields.ontvangen_op is not msgspec.UNSET:
        ontvangen_op = fields.ontvangen_op
    registered_at = norm_start(registered_at, ontvangen_op)
    if code is msgspec.UNSET and prio is msgspec.UNSET:
        return fields
    unchanged = code in (msgspec.UNSET, state.categorie) and prio in (msgspec.UNSET, state.prioriteit) if state else False
    if unchanged and fields.ontvangen_op is msgspec.UNSET:
        return fields  # a form sent back whole: nothing the norm hangs on changed, so it stays
    if code is msgspec.UNSET:
        code = state.categorie if state is not None else None
        if code is None:
            return fields  # a prioriteit without categorie: no norm to fix
    if prio is msgspec.UNSET:
        prio = state.prioriteit if state is not None else None
    if code is None:
        return msgspec.structs.replace(fields, servicenorm=None, deadline=None)
    norm = taxonomy.get(code).norm(prio)
    return msgspec.structs.replace(fields, servicenorm=norm, deadline=deadline(registered_at, norm, policy))


def clean_fields(fields: MeldingFields, taxonomy: Taxonomy | None = None, *, keep: str | None = None) -> MeldingFields:
    """Clean the text fields by the text rules of ``shared.validation`` and check the categorie exists
    and may be chosen.

    The description is a *text* (:func:`~shared.validation.clean_text`); the location description,
    the melder's name, the street and the place are *lines* (:func:`~shared.validation.clean_line`).
    So every caller (TUI, Open311, import) stores the same cleaned text.

    Args:
        keep: a categorie the melding already carries: it may stay even when it is retired
            (``vervallen``), so editing other fields of an old melding never fails on it.

    Raises:
        ValidationError: a text too long, or an unknown or retired categorie.
    """
    taxonomy = taxonomy or load_taxonomy()
    changes: dict[str, Any] = {}
    if fields.omschrijving is not msgspec.UNSET:
        changes["omschrijving"] = clean_text(fields.omschrijving, "omschrijving")
    if fields.locatie_omschrijving is not msgspec.UNSET:
        changes["locatie_omschrijving"] = clean_line(
            fields.locatie_omschrijving, "locatie_omschrijving", max_length=MAX_SHORT_TEXT_LENGTH
        )
    if isinstance(fields.melder, Melder) and fields.melder.naam:
        naam = clean_line(fields.melder.naam, "naam", max_length=MAX_NAME_LENGTH)
        changes["melder"] = msgspec.structs.replace(fields.melder, naam=naam)
    if isinstance(fields.adres, Adres):
        straat = clean_line(fields.adres.straat, "straat", max_length=MAX_SHORT_TEXT_LENGTH)
        woonplaats = clean_line(fields.adres.woonplaats, "woonplaats", max_length=MAX_SHORT_TEXT_LENGTH)
        if (straat, woonplaats) != (fields.adres.straat, fields.adres.woonplaats):
            changes["adres"] = msgspec.structs.replace(fields.adres, straat=straat, woonplaats=woonplaats)
    if fields.categorie not in (msgspec.UNSET, None):
        if fields.categorie == keep:
            taxonomy.get(fields.categorie)
        else:
            taxonomy.kiesbaar(fields.categorie)
    return msgspec.structs.replace(fields, **changes) if changes else fields


def register(
    dev: DeviceClock,
    *,
    prefix: str,
    counter: int,
    fields: MeldingFields,
    registered_at: datetime | None = None,
    taxonomy: Taxonomy | None = None,
    policy: HolidayPolicy | None = None,
    bron: Bron = "",
) -> Event:
    """Register a new melding: the ``created`` event.

    Args:
        prefix: the municipality's reference prefix (``"DLF"``).
        counter: this device's next melding counter (≥ 1), persisted by the caller with the event.
        fields: the intake form's values; ``categorie`` (with ``prioriteit``) fixes ``servicenorm``
            and ``deadline`` from the configuration in force.
        registered_at: aware instant (any zone; stored in UTC); default now.
        taxonomy / policy: default those of the active configuration (``shared.gemeente``).
        bron: ``""`` for a melding a person registers; ``"demo"`` / ``"import"`` for sample and
            imported data (``shared.events.Bron``).

    Raises:
        ValidationError: a description is missing, a text too long, the categorie unknown or retired,
            ``registered_at`` naive, or a field value of the wrong type (the event would be invalid).
    """
    taxonomy = taxonomy or load_taxonomy()
    registered_at = registered_at or utcnow()
    if registered_at.tzinfo is None:
        raise ValidationError("tijdstip", "Tijdstip zonder tijdzone.")
    registered_at = registered_at.astimezone(UTC)  # instants are stored in UTC, whatever zone came in
    fields = clean_fields(fields, taxonomy)
    if fields.omschrijving in (msgspec.UNSET, ""):
        raise ValidationError("omschrijving", "Beschrijf kort waar het om gaat.")
    if fields.ontvangen_op not in (msgspec.UNSET, None):
        _check_received(fields.ontvangen_op, registered_at)
    fields = _with_norm(fields, registered_at, taxonomy, policy)
    payload = CreatedPayload(
        reference=make_reference(prefix, dev.device_id, counter), registered_at=registered_at, fields=fields, bron=bron
    )
    return dev._event(new_id(), EventType.CREATED, payload)


def edit(
    dev: DeviceClock,
    state: Melding,
    changes: dict[str, Any],
    *,
    taxonomy: Taxonomy | None = None,
    policy: HolidayPolicy | None = None,
) -> list[Event]:
    """Events for editing plain fields of ``state`` (only fields whose value really changes).

    Fields are grouped by the event that set their current value, one ``fields_changed`` event per
    group with that event as ``prev``, so concurrent edits are detected per field.

    Raises:
        ValidationError: as :func:`clean_fields`; an unknown field name or a value of the wrong type
            (field ``velden``).
    """
    taxonomy = taxonomy or load_taxonomy()
    try:
        fields = msgspec.convert(changes, MeldingFields)
    except msgspec.ValidationError as exc:
        raise ValidationError("velden", f"Ongeldige wijziging: {exc}") from None
    fields = clean_fields(fields, taxonomy, keep=state.categorie)
    if fields.ontvangen_op is not msgspec.UNSET:
        _check_received(fields.ontvangen_op, utcnow())
        if fields.categorie is msgspec.UNSET and state.categorie:
            fields = msgspec.structs.replace(fields, categorie=state.categorie)  # the deadline moves with it
    fields = _with_norm(fields, state.registered_at, taxonomy, policy, state, state.ontvangen_op)
    really = {
        name: value
        for name, value in fields.items().items()
        if msgspec.to_builtins(getattr(state, name)) != msgspec.to_builtins(value)
    }
    groups: dict[str | None, dict[str, Any]] = {}
    for name, value in really.items():
        groups.setdefault(state.field_setters.get(name), {})[name] = value
    return [
        dev._event(
            state.melding_id,
            EventType.FIELDS_CHANGED,
            FieldsChangedPayload(fields=MeldingFields(**group)),
            prev=setter,
        )
        for setter, group in groups.items()
    ]


def change_status(
    dev: DeviceClock, state: Melding, naar: Status, notitie: str = "", *, voor_melder: str = ""
) -> Event:
    """A ``status_changed`` event, checked against the transition table (``shared.status``).

    Args:
        notitie: internal note, for colleagues only (never published).
        voor_melder: the text for the resident: shown on the public status page, in Open311
            ``status_notes`` and to the KCC as what the resident may be told.

    Raises:
        TransitionError: move not allowed, or a required note missing (either text counts).
        ValidationError: a text is too long.
    """
    notitie = clean_text(notitie, "notitie")
    voor_melder = clean_text(voor_melder, "voor_melder")
    check_transition(state.status, naar, notitie or voor_melder)
    payload = StatusChangedPayload(van=state.status, naar=naar, notitie=notitie, voor_melder=voor_melder)
    return dev._event(state.melding_id, EventType.STATUS_CHANGED, payload, prev=state.field_setters.get("status"))


def add_note(dev: DeviceClock, state: Melding, tekst: str, *, openbaar: bool = False) -> Event:
    """A ``note_added`` event. Raises ValidationError for an empty or too long text."""
    tekst = clean_text(tekst, "notitie", required=True)
    return dev._event(state.melding_id, EventType.NOTE_ADDED, NoteAddedPayload(tekst=tekst, openbaar=openbaar))


#: How far a time entered by hand may lie ahead of the laptop's clock (seconds): a minute typed
#: as "now" while the clock turns over is not a lie about the future.
FUTURE_TOLERANCE_S = 120


def check_not_future(at: datetime, now: datetime | None = None, field: str = "tijdstip") -> datetime:
    """A time entered by hand (a call-back, a letter's receipt) as aware UTC, refused when it lies
    in the future (issue 14: "a call-back or other time entered by hand cannot lie in the future").

    Args:
        at: the instant (aware, any zone).
        now: the clock's now (aware UTC; default :func:`shared.deadlines.utcnow`).
        field: the form field named in the error.

    Raises:
        ValidationError: ``at`` is naive, or more than :data:`FUTURE_TOLERANCE_S` seconds after ``now``.
    """
    if at.tzinfo is None:
        raise ValidationError(field, "Tijdstip zonder tijdzone.")
    now = now or utcnow()
    if (at - now).total_seconds() > FUTURE_TOLERANCE_S:
        raise ValidationError(field, "Dit tijdstip ligt in de toekomst; vul in wanneer het gebeurde.")
    return at.astimezone(UTC)


def log_callback(
    dev: DeviceClock,
    state: Melding,
    *,
    kanaal: Kanaal,
    tekst: str = "",
    at: datetime | None = None,
    bereikt: bool = True,
    melder: str | None = None,
    now: datetime | None = None,
) -> Event:
    """A ``callback_logged`` event: the terugkoppeling to a resident (``at`` aware; default now).

    Args:
        melder: who was called back: the ``event_id`` of an :class:`~shared.model.ExtraMelder` of
            ``state``, or None for the first melder.
        now: the clock's now, for the rule that ``at`` may not lie in the future.

    Raises:
        ValidationError: text too long, ``at`` naive or in the future (:func:`check_not_future`),
            or ``melder`` not one of the melding's melders.
    """
    at = check_not_future(at or now or utcnow(), now)
    if melder is not None and melder not in {x.event_id for x in state.melders}:
        raise ValidationError("melder", "Deze melder hoort niet bij de melding.")
    payload = CallbackLoggedPayload(
        kanaal=kanaal, at=at, tekst=clean_text(tekst, "tekst"), bereikt=bereikt, melder=melder
    )
    return dev._event(state.melding_id, EventType.CALLBACK_LOGGED, payload)


def add_melder(
    dev: DeviceClock,
    state: Melding,
    *,
    kanaal: Kanaal,
    melder: Melder | None,
    at: datetime | None = None,
    omschrijving: str = "",
    now: datetime | None = None,
) -> Event:
    """A ``melder_added`` event: another resident reported ``state``'s problem (issue 14).

    They are called back and counted like the first melder; nothing of theirs becomes a melding of
    its own.

    Raises:
        ValidationError: a text too long, ``at`` in the future, or the melding is deleted.
    """
    if state.deleted:
        raise ValidationError("melding", f"{state.reference} is verwijderd; registreer een nieuwe melding.")
    at = check_not_future(at or now or utcnow(), now)
    if melder is not None and melder.naam:
        melder = msgspec.structs.replace(melder, naam=clean_line(melder.naam, "naam", max_length=MAX_NAME_LENGTH))
    if melder is not None and not melder.anoniem and not (melder.naam or melder.telefoon or melder.email or melder.postadres):
        melder = None  # nothing given: no melder details, as for an anonymous caller who said nothing
    payload = MelderAddedPayload(
        kanaal=kanaal, at=at, melder=melder, omschrijving=clean_text(omschrijving, "omschrijving")
    )
    return dev._event(state.melding_id, EventType.MELDER_ADDED, payload)


def assign(dev: DeviceClock, state: Melding, behandelaar: str | None, *, aan_team: bool = False) -> Event:
    """An ``assigned`` event: ``behandelaar`` (a server user name) handles ``state`` from now on;
    None with ``aan_team``: the wijk's team; None without: niet toegewezen. ``dev.user`` is who
    assigned it (the history shows who assigned whom).

    Raises:
        ValidationError: the name is not a valid one-line name, or nothing would change.
    """
    name = clean_line(behandelaar, "behandelaar", max_length=MAX_NAME_LENGTH) if behandelaar else None
    aan_team = bool(aan_team and not name)
    if (name, aan_team) == (state.behandelaar, state.aan_team):
        raise ValidationError("behandelaar", f"{state.reference} is al toegewezen aan {state.assignment_text()}.")
    payload = AssignedPayload(behandelaar=name, aan_team=aan_team)
    return dev._event(state.melding_id, EventType.ASSIGNED, payload, prev=state.field_setters.get("behandelaar"))


def delete(dev: DeviceClock, state: Melding, reden: str = "") -> Event:
    """A ``deleted`` tombstone; only :func:`restore` revives the melding.

    Raises:
        ValidationError: ``reden`` longer than ``MAX_TEXT_LENGTH``.
    """
    return dev._event(state.melding_id, EventType.DELETED, ReasonPayload(reden=clean_text(reden, "reden")))


def restore(dev: DeviceClock, state: Melding, reden: str = "") -> Event:
    """A ``restored`` event undoing a deletion.

    Raises:
        ValidationError: ``reden`` longer than ``MAX_TEXT_LENGTH``.
    """
    return dev._event(state.melding_id, EventType.RESTORED, ReasonPayload(reden=clean_text(reden, "reden")))


def anonymise_reporter(dev: DeviceClock, state: Melding, reden: str = "") -> Event:
    """A ``reporter_anonymised`` event: the melder's contact details are no longer shown anywhere.

    Final: ``shared.fold`` scrubs every ``melder`` value of the melding, also ones written later, and
    each store rewrites the stored events of the melding (``shared.avg.scrub_event``). ``reden`` is
    kept (scrubbed of the melder's own details): do not write personal data in it.

    Raises:
        ValidationError: ``reden`` longer than ``MAX_TEXT_LENGTH``.
    """
    return dev._event(
        state.melding_id, EventType.REPORTER_ANONYMISED, ReasonPayload(reden=clean_text(reden, "reden"))
    )


def purge(dev: DeviceClock, state: Melding, reden: str = "") -> Event:
    """A ``purged`` event: the melding is removed after its retention period, except an anonymous
    statistical record (``shared.avg``). Only the server makes it (``wijkteam-server avg retention``).

    Raises:
        ValidationError: ``reden`` longer than ``MAX_TEXT_LENGTH``.
    """
    return dev._event(state.melding_id, EventType.PURGED, ReasonPayload(reden=clean_text(reden, "reden")))
