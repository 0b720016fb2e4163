"""``fold(events) -> Melding``: the current state of a melding from its event log.

Rules (docs/design.md, "Records are event logs"):

* Events are applied in the total order ``(hlc, device_id, event_id)``; duplicates (same event_id)
  count once. The result is therefore the same for any order in which the same events arrive.
* History, notes and terugkoppelingen are a union: every event adds; nothing conflicts.
* Plain fields (and the status) are last-writer-wins per field.
* A write of a field whose ``prev`` is not the event that set the field's current value did not see
  that value: the two writes are concurrent. The later one in the order wins (on every replica
  alike) and a :class:`~shared.model.Conflict` keeps the losing value. A later write that did see the
  winner (its ``prev`` is the winner) settles the conflict for that field.
* ``deleted`` is a tombstone: later edits are still applied (nothing is lost) but flagged, and only
  an explicit ``restored`` makes the melding live again.
* Events that do not decode are skipped here; the server quarantines them before they are stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import Any

import msgspec
import msgspec.structs

from shared.avg import (
    REMOVED_TEXT,
    Erasure,
    PersonalValues,
    removed_adres,
    removed_punt,
    scrub_melder,
    scrub_payload,
)
from shared.enums import EventType, Status
from shared.errors import InvalidEvent
from shared.events import (
    AssignedPayload,
    CallbackLoggedPayload,
    CreatedPayload,
    Event,
    FieldsChangedPayload,
    MelderAddedPayload,
    NoteAddedPayload,
    ReasonPayload,
    StatusChangedPayload,
    decode_payload,
)
from shared.hlc import stamp_datetime
from shared.model import Conflict, ExtraMelder, HistoryEntry, Melder, Melding, Note, Terugkoppeling
from shared.status import CLOSED

_FIELD_LABELS = {
    "type": "type",
    "kanaal": "kanaal",
    "melder": "melder",
    "adres": "adres",
    "punt": "locatiepunt",
    "locatie_omschrijving": "locatieomschrijving",
    "wijk": "wijk",
    "categorie": "categorie",
    "servicenorm": "servicenorm",
    "deadline": "streefdatum",
    "vier_b": "vier B",
    "omschrijving": "omschrijving",
    "prioriteit": "prioriteit",
    "duplicaat_van": "duplicaat van",
    "status": "status",
    "ontvangen_op": "datum ontvangen",
    "behandelaar": "behandelaar",
    "aan_team": "behandelaar",
}


def ordered(events: Iterable[Event]) -> list[Event]:
    """The events without duplicate ids, in fold order ``(hlc, device_id, event_id)``."""
    unique = {e.event_id: e for e in events}
    return sorted(unique.values(), key=_ORDER_KEY)


#: ``Event.order_key`` as a C-level key function (fold is on the hot path of every sync pull).
_ORDER_KEY = attrgetter("hlc", "device_id", "event_id")


def fold(events: Iterable[Event], *, history: bool = True) -> Melding | None:
    """Fold one melding's events into its current state.

    Args:
        events: events of a single melding, in any order, duplicates allowed.
        history: build ``Melding.history`` (one entry per event, for detail views). Projections
            (``shared.projection.projection_row``) read no history, and skipping it makes a sync
            pull's fold about a third cheaper (docs/benchmarks.md, "Sync"); every other field is
            the same either way.

    Returns:
        The state, or ``None`` when no valid ``created`` event is among them (its creation has not
        arrived yet).
    """
    evs = ordered(events)
    decoded: list[tuple[Event, msgspec.Struct]] = []
    for e in evs:
        try:
            decoded.append((e, decode_payload(e)))
        except InvalidEvent:
            continue
    for ce, cp in decoded:  # noqa: B007 -- the loop finds the created event; both are used below
        if ce.type == EventType.CREATED:
            break
    else:
        return None
    assert isinstance(cp, CreatedPayload)
    m = Melding(
        melding_id=ce.melding_id,
        reference=cp.reference,
        registered_at=cp.registered_at,
        registered_by=ce.user,
        device_id=ce.device_id,
        bron=cp.bron,
    )
    setters: dict[str, str] = {}
    for e, p in decoded:
        _apply(m, e, p, setters, is_first_created=e is ce, history=history)
    m.field_setters = setters
    m.event_count = len(decoded)
    if m.anonymised or m.purged:
        _scrub_personal_data(m)
    return m


def _apply(
    m: Melding, e: Event, p: Any, setters: dict[str, str], *, is_first_created: bool, history: bool
) -> None:
    m.updated_hlc = max(m.updated_hlc, e.hlc)
    # A field edit's history text names old and new values (categorie, streefdatum): read them first.
    before = _before(m, p) if history and isinstance(p, FieldsChangedPayload) else None
    if isinstance(p, CreatedPayload):
        if is_first_created:
            _set_fields(m, e, p.fields.items(), setters, check_prev=False)
            setters.setdefault("status", e.event_id)
    elif isinstance(p, FieldsChangedPayload):
        _set_fields(m, e, p.fields.items(), setters, check_prev=True)
    elif isinstance(p, StatusChangedPayload):
        at = stamp_datetime(e.hlc)
        _set_fields(m, e, {"status": p.naar}, setters, check_prev=True)
        if p.naar in CLOSED and m.first_closed_at is None:
            m.first_closed_at = at
        m.closed_at = at if p.naar in CLOSED else None
        if p.naar == Status.HEROPEND:
            m.reopen_count += 1
        m.status_changes.append((at, p.naar))
        if p.voor_melder is None:
            # Before the internal note and the resident's text were separated, the one note was
            # published (and the dialog said it was told to the resident): it stays public.
            if p.notitie:
                m.notes.append(Note(e.event_id, at, e.user, e.device_id, p.notitie, openbaar=True))
        else:
            if p.notitie:
                m.notes.append(Note(e.event_id, at, e.user, e.device_id, p.notitie, openbaar=False))
            if p.voor_melder:
                m.notes.append(Note(e.event_id, at, e.user, e.device_id, p.voor_melder, openbaar=True))
    elif isinstance(p, NoteAddedPayload):
        m.notes.append(Note(e.event_id, stamp_datetime(e.hlc), e.user, e.device_id, p.tekst, p.openbaar))
    elif isinstance(p, CallbackLoggedPayload):
        m.terugkoppelingen.append(
            Terugkoppeling(e.event_id, p.at, e.user, e.device_id, p.kanaal, p.tekst, p.bereikt, p.melder)
        )
    elif isinstance(p, MelderAddedPayload):
        m.melders.append(ExtraMelder(e.event_id, p.at, e.user, e.device_id, p.kanaal, p.melder, p.omschrijving))
    elif isinstance(p, AssignedPayload):
        _set_fields(m, e, {"behandelaar": p.behandelaar, "aan_team": p.aan_team}, setters, check_prev=True)
    elif isinstance(p, ReasonPayload):
        if e.type == EventType.DELETED:
            m.deleted = True
            setters["_deleted"] = e.event_id
        elif e.type == EventType.RESTORED:
            m.deleted = False
            setters.pop("_deleted", None)
        elif e.type == EventType.PURGED:
            m.purged = True
            m.purged_at = m.purged_at or stamp_datetime(e.hlc)
            m.anonymised = True
            m.anonymised_at = m.anonymised_at or m.purged_at
        else:
            m.anonymised = True
            m.anonymised_at = m.anonymised_at or stamp_datetime(e.hlc)
            m.melder = scrub_melder(m.melder)
    if history:  # the entry's texts and details cost more than the state change; projections skip them
        m.history.append(
            HistoryEntry(
                e.event_id, stamp_datetime(e.hlc), e.hlc, e.device_id, e.user, e.type,
                _summary(m, e, p, is_first_created, before), msgspec.to_builtins(p),
            )
        )  # fmt: skip


def _before(m: Melding, p: FieldsChangedPayload) -> dict[str, Any]:
    """The values a field edit is about to replace, for its history text (categorie and streefdatum)."""
    changed = p.fields.items()
    return {f: getattr(m, f) for f in ("categorie", "deadline") if f in changed}


def _category_text(code: str | None) -> str:
    if not code:
        return "(geen)"
    from shared.taxonomy import load_taxonomy

    try:
        taxonomy = load_taxonomy()
        return taxonomy.get(code).label if code in taxonomy else code
    except Exception:  # noqa: BLE001 - a history line never fails on a broken taxonomy
        return code


def _date_text(value: Any) -> str:
    if value is None:
        return "(geen)"
    from shared.deadlines import local_date

    return local_date(value).strftime("%d-%m-%Y")


def _summary(m: Melding, e: Event, p: Any, is_first_created: bool, before: dict[str, Any] | None = None) -> str:
    """The Dutch one-line text of an event in the history.

    A change of categorie names the old and the new one, and the old and the new streefdatum
    (issue 14: a changed categorie brings a changed norm, and the history must show both)."""
    if isinstance(p, CreatedPayload):
        return f"Geregistreerd als {m.reference}" if is_first_created else "Dubbele registratie genegeerd"
    if isinstance(p, FieldsChangedPayload):
        changed = p.fields.items()
        before = before or {}
        parts = [_FIELD_LABELS.get(f, f) for f in changed if f not in ("categorie", "servicenorm", "deadline")]
        text = "Gewijzigd: " + ", ".join(parts) if parts else ""
        details = []
        if "categorie" in changed:
            details.append(f"categorie {_category_text(before.get('categorie'))} → {_category_text(changed['categorie'])}")
        if "deadline" in changed:
            details.append(f"streefdatum {_date_text(before.get('deadline'))} → {_date_text(changed['deadline'])}")
        elif "categorie" in changed:
            details.append(f"streefdatum blijft {_date_text(m.deadline)}")  # the new norm gives the same day
        elif "servicenorm" in changed:
            details.append("servicenorm")
        if details:
            text = (text + "; " if text else "Gewijzigd: ") + "; ".join(details)
        return text
    if isinstance(p, MelderAddedPayload):
        return f"Tweede melder toegevoegd (via {p.kanaal.label})" if len(m.melders) == 1 else (
            f"Melder {len(m.melders) + 1} toegevoegd (via {p.kanaal.label})"
        )
    if isinstance(p, AssignedPayload):
        if p.behandelaar:
            return f"Toegewezen aan {p.behandelaar}"
        return "Toegewezen aan het team" if p.aan_team else "Niet meer toegewezen"
    if isinstance(p, StatusChangedPayload):
        return f"Status {p.van.label} → {p.naar.label}"
    if isinstance(p, NoteAddedPayload):
        return "Notitie" + (" (voor melder)" if p.openbaar else "")
    if isinstance(p, CallbackLoggedPayload):
        who = ""
        if p.melder is not None:
            number = next((i for i, x in enumerate(m.melders, start=2) if x.event_id == p.melder), None)
            who = f" aan melder {number}" if number else " aan een latere melder"
        return f"Terugkoppeling{who} via {p.kanaal.label}" + ("" if p.bereikt else " (niet bereikt)")
    if isinstance(p, ReasonPayload):
        if e.type == EventType.DELETED:
            return "Verwijderd"
        if e.type == EventType.RESTORED:
            return "Teruggezet"
        if e.type == EventType.PURGED:
            return "Verwijderd na de bewaartermijn (alleen statistiek bewaard)"
        return "Gegevens melder geanonimiseerd"
    return ""


def _set_fields(
    m: Melding, e: Event, changes: dict[str, Any], setters: dict[str, str], *, check_prev: bool
) -> None:
    if m.deleted and check_prev:
        # Kept (nothing typed is lost) but flagged: someone edited a copy that was already deleted.
        m.conflicts.append(Conflict("_deleted", winner_event=setters.get("_deleted", ""), loser_event=e.event_id))
    for field, value in changes.items():
        current = setters.get(field)
        if check_prev and current is not None and e.prev != current:
            m.conflicts.append(
                Conflict(field, winner_event=e.event_id, loser_event=current, loser_value=_builtin(getattr(m, field)))
            )
        elif check_prev and current is not None:
            # This write saw the current value: any earlier conflict on the field is settled.
            m.conflicts = [c for c in m.conflicts if c.field != field]
        setattr(m, field, value)
        setters[field] = e.event_id


def _builtin(value: Any) -> Any:
    return msgspec.to_builtins(value)


def _scrub_personal_data(m: Melding) -> None:
    """After ``reporter_anonymised`` (or ``purged``) no value of ``melder`` stays visible in the state.

    Anonymisation is final (AVG): a ``melder`` written after it in fold order, e.g. by a laptop
    that had not yet received it, is scrubbed as well, so every replica shows no personal data. The
    stores also rewrite the stored events (``shared.avg.scrub_event``); this keeps the state right for
    events folded before that (a page being applied). A ``purged`` melding loses its texts too.
    """
    purged = m.purged
    erasure = Erasure.PURGED if purged else Erasure.ANONYMISED
    m.melder = scrub_melder(m.melder)
    # Every later melder too: anonymisation covers everyone who reported this melding.
    m.melders = [
        msgspec.structs.replace(
            x, melder=scrub_melder(x.melder), omschrijving=REMOVED_TEXT if purged and x.omschrijving else x.omschrijving
        )
        for x in m.melders
    ]
    for i, h in enumerate(m.history):
        if isinstance(h.details, dict):
            details = scrub_payload(h.type, h.details, erasure, PersonalValues())
            if details != h.details:
                m.history[i] = msgspec.structs.replace(h, details=details)
    m.conflicts = [
        msgspec.structs.replace(c, loser_value=_scrubbed_value(c.field, c.loser_value, erasure))
        if c.field in ("melder", "omschrijving", "locatie_omschrijving", "adres", "punt")
        else c
        for c in m.conflicts
    ]
    if purged:
        m.omschrijving = REMOVED_TEXT if m.omschrijving else ""
        m.locatie_omschrijving = REMOVED_TEXT if m.locatie_omschrijving else ""
        m.adres = removed_adres(m.adres)
        m.punt = removed_punt(m.punt)
        m.notes = [msgspec.structs.replace(n, tekst=REMOVED_TEXT) for n in m.notes]
        m.terugkoppelingen = [
            msgspec.structs.replace(t, tekst=REMOVED_TEXT if t.tekst else "") for t in m.terugkoppelingen
        ]


def _scrubbed_value(field: str, value: Any, erasure: Erasure) -> Any:
    if field == "melder":
        return msgspec.to_builtins(scrub_melder(msgspec.convert(value, Melder))) if isinstance(value, dict) else value
    if erasure != Erasure.PURGED:
        return value
    scrubbed = scrub_payload(EventType.FIELDS_CHANGED, {"fields": {field: value}}, erasure, PersonalValues())
    return scrubbed["fields"][field]


def conflict_notes(m: Melding) -> dict[str, str]:
    """Per history event (event_id), the Dutch note that explains a conflict it lost, so a detail view
    can show the overwritten value next to that history line (docs/design.md: "the losing value stays
    visible in the history").

    A write that lost to a concurrent write of the same field gets "overschreven door een
    gelijktijdige wijziging; was: …" with its value; an edit made to a copy that was already deleted
    gets "gemaakt op een al verwijderde melding".
    """
    notes: dict[str, list[str]] = {}
    for c in m.conflicts:
        if c.field == "_deleted":
            notes.setdefault(c.loser_event, []).append("gemaakt op een al verwijderde melding")
            continue
        if c.field == "aan_team":
            continue  # told with the behandelaar it belongs to
        label = _FIELD_LABELS.get(c.field, c.field)
        notes.setdefault(c.loser_event, []).append(
            f"{label} overschreven door een gelijktijdige wijziging; was: {_value_text(c.loser_value)}"
        )
    return {event_id: "; ".join(texts) for event_id, texts in notes.items()}


def _value_text(value: Any, limit: int = 120) -> str:
    """A stored field value as short Dutch text: ``(leeg)``, the text itself, or a struct's parts."""
    if value is None or value == "":
        return "(leeg)"
    if isinstance(value, dict):
        text = " ".join(str(v) for v in value.values() if v not in (None, "", False))
    else:
        text = str(value)
    return f"«{text[: limit - 1]}…»" if len(text) > limit else f"«{text}»"


class LostEdit(msgspec.Struct, frozen=True):
    """A change made on this laptop that lost a concurrent-edit conflict (issue 14: the user is told
    which melding and which value won). ``field`` is the label (``omschrijving``, ``status``);
    ``won`` and ``lost`` the values as short Dutch text; ``by`` who made the winning change."""

    melding_id: str
    reference: str
    field: str
    won: str
    lost: str
    by: str
    loser_event: str


def lost_edits(m: Melding, device_id: str, winners: set[str] | None = None) -> list[LostEdit]:
    """The changes of ``device_id`` in ``m`` (folded *with* history) that a concurrent change of
    another device overwrote; with ``winners``, only those lost to one of these events (the ones a
    sync just brought, so each loss is told once)."""
    by_id = {h.event_id: h for h in m.history}
    out: list[LostEdit] = []
    for c in m.conflicts:
        if c.field in ("_deleted", "aan_team"):
            continue
        loser, winner = by_id.get(c.loser_event), by_id.get(c.winner_event)
        if loser is None or winner is None or loser.device_id != device_id or winner.device_id == device_id:
            continue
        if winners is not None and c.winner_event not in winners:
            continue
        current = getattr(m, c.field, None)
        out.append(
            LostEdit(
                m.melding_id, m.reference, _FIELD_LABELS.get(c.field, c.field),
                _value_text(getattr(current, "label", current)), _value_text(_label_of(c.field, c.loser_value)),
                winner.user, c.loser_event,
            )
        )  # fmt: skip
    return out


def _label_of(field: str, value: Any) -> Any:
    """A stored enum value (``"in_behandeling"``) as its Dutch label, for a notice."""
    if field == "status" and isinstance(value, str):
        try:
            return Status(value).label
        except ValueError:
            return value
    return value
