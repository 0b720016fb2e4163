"""Personal data under the AVG (issue 16): what an erasure does to a melding's stored events, and
when the municipality's retention periods make one due.

docs/design.md, "Personal data": the melder's name, phone number and e-mail address are the only personal
data. Two events erase them, and both reach every replica by sync:

* ``reporter_anonymised`` (*melder geanonimiseerd*): the details of the melder and of every further
  melder (``melder_added``) go, and so does every occurrence of them in the melding's texts (a description "mw. Jansen, 06-12345678 belde" keeps
  "mw. [geanonimiseerd], [geanonimiseerd] belde").
* ``purged`` (*verwijderd na bewaartermijn*): the melding is removed, except an anonymous statistical
  record: every text becomes ``[verwijderd]``, the address keeps only that there was one, the point is
  rounded to two decimals (about 1 km), the melder goes as above. Wijk, categorie, kanaal, type,
  vier B, prioriteit, times, norm, deadline, status history and call-back times stay, so past barometer
  figures (and ``report --as-of``) do not change.

The event log stays append-only *in meaning*: the erasure is itself an event, and each replica then
rewrites the stored payloads of that melding's events in place with :func:`scrub_event`, the one rule
the server (``sync_server.store``) and the laptop (``wijkteam_store.local``) apply alike. A rewritten
event keeps its id, type, stamps and field names (so fold, conflicts and figures are the same); only
erased values change. :func:`scrub_event` is idempotent.

The values to erase from texts are those a replica holds in the melding's melder fields
(:func:`personal_values`): every value ever written, not only the current one. Matching in free text
(:func:`scrub_text`): the e-mail address (case-insensitive), any phone number that ``phonenumbers``
finds in the text and that normalises to an erased number (whatever way it was written), the full
name, and each word of the name of three letters or more that is not a tussenvoegsel or title, as a
whole word (case-insensitive). Erring on the side of erasing too much is intended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

import msgspec
import msgspec.structs
import phonenumbers

from shared.enums import EventType, Role, Status
from shared.events import Event
from shared.hlc import stamp_datetime
from shared.model import Adres, Melder, Punt
from shared.projection import parse_iso

#: What replaces an erased personal value inside a text.
ANONYMISED_TEXT = "[geanonimiseerd]"
#: What replaces every text of a melding removed after its retention period.
REMOVED_TEXT = "[verwijderd]"
#: Decimals a removed melding's point keeps (0.01 degree latitude is about 1.1 km).
REMOVED_POINT_DECIMALS = 2

#: Roles whose tokens may delete (tombstone) or restore a melding. A deleted melding leaves the
#: barometer, so a wijkuitvoerder cannot make meldingen over the norm disappear from the figures; the
#: server refuses such events from other roles (``shared.protocol.RefusalCode.NOT_ALLOWED``).
DELETE_ROLES = frozenset({Role.ADMIN})
#: Roles whose tokens may anonymise a melder (a resident may ask the wijkuitvoerder directly; it does
#: not change any figure).
ANONYMISE_ROLES = frozenset({Role.WIJKUITVOERDER, Role.ADMIN})
#: Event types only the server makes (``wijkteam-server avg retention``); pushed ones are refused.
SERVER_ONLY_EVENTS = frozenset({EventType.PURGED})


class Erasure(StrEnum):
    """How far a melding is erased: its melder only, or the whole melding but its statistics."""

    ANONYMISED = "anonymised"
    PURGED = "purged"


#: The events that erase, and what they erase.
ERASING_EVENTS: dict[str, Erasure] = {
    EventType.REPORTER_ANONYMISED: Erasure.ANONYMISED,
    EventType.PURGED: Erasure.PURGED,
}


def may_push(role: Role | str, event_type: str) -> bool:
    """Whether a token of ``role`` may make an event of ``event_type`` (the server's check on a push;
    the app hides what its role may not do).

    Rules (docs/privacy.md, "Wie mag wat"): ``deleted``/``restored`` only :data:`DELETE_ROLES`;
    ``reporter_anonymised`` only :data:`ANONYMISE_ROLES`; ``purged`` never (server only); anything
    else every role that may push at all.
    """
    if event_type in SERVER_ONLY_EVENTS:
        return False
    if event_type in (EventType.DELETED, EventType.RESTORED):
        return role in DELETE_ROLES
    if event_type == EventType.REPORTER_ANONYMISED:
        return role in ANONYMISE_ROLES
    return True


def erasure_of(events: Iterable[Event]) -> Erasure | None:
    """The strongest erasure among ``events`` (``PURGED`` over ``ANONYMISED``), or None."""
    found: Erasure | None = None
    for e in events:
        kind = ERASING_EVENTS.get(e.type)
        if kind == Erasure.PURGED:
            return kind
        if kind is not None:
            found = kind
    return found


@dataclass(frozen=True)
class PersonalValues:
    """The personal values a replica holds for one melding (every melder value ever written).

    Attributes:
        names: names as written (stripped, inner whitespace collapsed).
        phones: phone numbers in E.164 as stored.
        emails: e-mail addresses, lower-case.
    """

    names: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.names or self.phones or self.emails)

    def __or__(self, other: PersonalValues) -> PersonalValues:
        return PersonalValues(self.names | other.names, self.phones | other.phones, self.emails | other.emails)

    def strings(self) -> list[str]:
        """Every value as text a stored row may contain verbatim (names, E.164 numbers with and without
        the ``+``, the national form, e-mail addresses), longest first; for raw-text scrubbing."""
        out: set[str] = set(self.names) | set(self.emails)
        for p in self.phones:
            out.add(p)
            out.add(p.lstrip("+"))
            if p.startswith("+31"):
                out.add("0" + p[3:])
        return sorted((s for s in out if len(s) >= 3), key=len, reverse=True)


def _melder_values(m: Any) -> PersonalValues:
    if not isinstance(m, Mapping):
        return PersonalValues()
    naam = m.get("naam")
    tel = m.get("telefoon")
    email = m.get("email")
    naam = " ".join(naam.split()) if isinstance(naam, str) else ""
    return PersonalValues(
        frozenset({naam}) if naam else frozenset(),
        frozenset({tel}) if isinstance(tel, str) and tel else frozenset(),
        frozenset({email.lower()}) if isinstance(email, str) and email else frozenset(),
    )


def personal_values(events: Iterable[Event]) -> PersonalValues:
    """Every melder value in the payloads of ``events`` (``created``, ``fields_changed`` and the further
    melders of ``melder_added``). A postal address is erased with its melder but not searched for in
    texts: a street name there is mostly the location of the problem."""
    out = PersonalValues()
    for e in events:
        if not isinstance(e.payload, Mapping):
            continue
        fields = e.payload.get("fields")
        if isinstance(fields, Mapping) and "melder" in fields:
            out = out | _melder_values(fields["melder"])
        if e.type == EventType.MELDER_ADDED:
            out = out | _melder_values(e.payload.get("melder"))
    return out


# -- texts ------------------------------------------------------------------------------------------

#: Words in a Dutch name that are no name of their own (tussenvoegsels, titles), never erased alone.
_NOT_A_NAME = frozenset(
    "van de der den het ter ten te in op aan bij uit voor la le du da di del della des dos el "
    "mevrouw meneer mw mevr dhr heer familie fam mr dr ir ing drs prof".split()
)
#: A word of a name: letters, with an apostrophe inside (``D'Artagnan``); a hyphen separates words.
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"']+")


@lru_cache(maxsize=256)
def _name_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    parts: set[str] = set()
    for name in names:
        parts.add(re.escape(name).replace(r"\ ", r"\s+"))
        for w in _WORD.findall(name):
            if len(w) >= 3 and w.lower() not in _NOT_A_NAME:
                parts.add(re.escape(w))
    if not parts:
        return None
    alternatives = "|".join(sorted(parts, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE | re.UNICODE)


@lru_cache(maxsize=256)
def _phone_forms(phones: frozenset[str]) -> re.Pattern[str]:
    forms = {f for p in phones for f in (p, p.lstrip("+"), "0" + p[3:] if p.startswith("+31") else p)}
    return re.compile("|".join(rf"(?<!\d){re.escape(f)}(?!\d)" for f in sorted(forms, key=len, reverse=True)))


def scrub_text(text: str, values: PersonalValues, placeholder: str = ANONYMISED_TEXT) -> str:
    """``text`` with every occurrence of ``values`` replaced by ``placeholder`` (rules: module docstring).

    Phone numbers are found by ``phonenumbers.PhoneNumberMatcher`` (region NL), so ``06-12345678``,
    ``06 1234 5678`` and ``+31 (0)6 12345678`` all match a stored ``+31612345678``.
    """
    if not text or not values:
        return text
    if values.emails:
        text = _EMAIL.sub(lambda m: placeholder if m.group(0).lower() in values.emails else m.group(0), text)
    if values.phones:
        spans = []
        for match in phonenumbers.PhoneNumberMatcher(text, "NL", leniency=phonenumbers.Leniency.POSSIBLE):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if e164 in values.phones:
                spans.append((match.start, match.end))
        for start, end in reversed(spans):
            text = text[:start] + placeholder + text[end:]
        # Digits written without any separator the matcher accepts: the plain national/E.164 forms.
        text = _phone_forms(values.phones).sub(placeholder, text)
    pattern = _name_pattern(values.names)
    if pattern is not None:
        text = pattern.sub(placeholder, text)
    return text


def scrub_raw(text: str, values: PersonalValues, placeholder: str = ANONYMISED_TEXT) -> str:
    """Raw stored text (a quarantined push, an audit detail) with ``values`` removed: :func:`scrub_text`
    plus every value verbatim as :meth:`PersonalValues.strings` gives it (e.g. inside JSON)."""
    text = scrub_text(text, values, placeholder)
    for s in values.strings():
        text = re.sub(re.escape(s), placeholder, text, flags=re.IGNORECASE)
    return text


# -- the melder and a melding's fields -----------------------------------------------------------------


def scrub_melder(melder: Melder | None) -> Melder | None:
    """The melder with name, phone, e-mail and postal address erased; keeps ``anoniem`` and whether
    contact details were left (``Melder.has_contact``, which the barometer counts). ``None`` stays ``None``; a melder
    without any detail is returned as it is."""
    if melder is None or not (melder.has_details or melder.gewist):
        return melder
    return Melder(anoniem=melder.anoniem, gewist=True, met_contact=melder.has_contact)


def _scrub_melder_builtins(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    try:
        melder = msgspec.convert(value, Melder)
    except (msgspec.ValidationError, TypeError, ValueError):
        # Unreadable as a melder (an event that never folded): keep nothing of it.
        return msgspec.to_builtins(Melder(gewist=True))
    return msgspec.to_builtins(scrub_melder(melder))


def removed_adres(adres: Adres | None) -> Adres | None:
    """A removed melding's address: only that there was one (``straat`` ``[verwijderd]``), so the
    barometer's "locatie vastgelegd" stays the same. ``None`` stays ``None``."""
    if adres is None:
        return None
    return Adres(straat=REMOVED_TEXT) if (adres.straat or adres.postcode) else Adres()


def removed_punt(punt: Punt | None) -> Punt | None:
    """A removed melding's point, rounded to :data:`REMOVED_POINT_DECIMALS` decimals (about 1 km)."""
    if punt is None:
        return None
    return Punt(round(punt.lat, REMOVED_POINT_DECIMALS), round(punt.lon, REMOVED_POINT_DECIMALS))


def _removed(text: Any) -> Any:
    return REMOVED_TEXT if isinstance(text, str) and text else text


def _scrub_fields(fields: Any, erasure: Erasure, values: PersonalValues) -> Any:
    if not isinstance(fields, Mapping):
        return fields
    out = dict(fields)
    if "melder" in out:
        out["melder"] = _scrub_melder_builtins(out["melder"])
    for key in ("omschrijving", "locatie_omschrijving"):
        if isinstance(out.get(key), str):
            out[key] = _removed(out[key]) if erasure == Erasure.PURGED else scrub_text(out[key], values)
    if erasure == Erasure.PURGED:
        if isinstance(out.get("adres"), Mapping):
            a = out["adres"]
            out["adres"] = {"straat": REMOVED_TEXT} if (a.get("straat") or a.get("postcode")) else {}
        if isinstance(out.get("punt"), Mapping):
            try:
                out["punt"] = msgspec.to_builtins(removed_punt(msgspec.convert(out["punt"], Punt)))
            except (msgspec.ValidationError, TypeError, ValueError):
                out["punt"] = None
    return out


#: Per event type: the payload keys holding free text.
_TEXT_KEYS: dict[str, tuple[str, ...]] = {
    EventType.MELDER_ADDED: ("omschrijving",),
    EventType.STATUS_CHANGED: ("notitie", "voor_melder"),
    EventType.NOTE_ADDED: ("tekst",),
    EventType.CALLBACK_LOGGED: ("tekst",),
    EventType.DELETED: ("reden",),
    EventType.RESTORED: ("reden",),
    EventType.REPORTER_ANONYMISED: ("reden",),
    EventType.PURGED: ("reden",),
}


def scrub_payload(event_type: str, payload: Mapping[str, Any], erasure: Erasure, values: PersonalValues) -> dict[str, Any]:
    """An event payload (builtins) with the personal data erased for ``erasure`` (module docstring).

    The payload keeps its keys, so it decodes to the same type and folds to the same structure. The
    reason of an erasing event is scrubbed of ``values`` but never removed (it says why).
    """
    out = dict(payload)
    if "fields" in out:
        out["fields"] = _scrub_fields(out["fields"], erasure, values)
    if event_type == EventType.MELDER_ADDED and out.get("melder") is not None:
        out["melder"] = _scrub_melder_builtins(out["melder"])
    for key in _TEXT_KEYS.get(event_type, ()):
        text = out.get(key)
        if not isinstance(text, str):
            continue  # voor_melder None (schema 1) stays None
        if erasure == Erasure.PURGED and event_type not in ERASING_EVENTS:
            out[key] = _removed(text)
        else:
            out[key] = scrub_text(text, values)
    return out


def scrub_event(event: Event, erasure: Erasure, values: PersonalValues) -> Event:
    """``event`` with its payload scrubbed (:func:`scrub_payload`); the same object when nothing changes.

    Id, melding, device, counter, stamp, type, user, ``prev`` and schema stay: a replica that holds
    the event under its id holds the same event, with the erased values gone.
    """
    payload = scrub_payload(event.type, event.payload, erasure, values)
    if payload == event.payload:
        return event
    return msgspec.structs.replace(event, payload=payload)


def blank_event(event: Event) -> Event:
    """``event`` with every text and melder value removed (:data:`Erasure.PURGED`'s rule): what the
    server keeps of an event of an erased melding it cannot store as sent (a quarantine entry), so
    that not even a value it no longer knows can stay behind."""
    return scrub_event(event, Erasure.PURGED, PersonalValues())


# -- retention --------------------------------------------------------------------------------------


class RetentionPolicy(Protocol):
    """The retention part of the municipality configuration (``shared.gemeente``): how many days after
    closure the melder is anonymised, and per closed status how many years after closure a melding
    is removed."""

    anonimiseren_na_dagen: int
    verwijderen_na_jaren: Mapping[Status, int]


@dataclass(frozen=True)
class RetentionAction:
    """One erasure a retention rule makes due.

    Attributes:
        melding_id / reference: the melding.
        event_type: ``reporter_anonymised`` or ``purged``.
        rule: the rule in Dutch, e.g. ``"verwijderen: afgehandeld, 5 jaar na sluiting"``.
        closed_at: the closure (UTC ISO text) the period counts from.
    """

    melding_id: str
    reference: str
    event_type: EventType
    rule: str
    closed_at: str


def years_later(instant: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` later (29 February becomes 28 February)."""
    try:
        return instant.replace(year=instant.year + years)
    except ValueError:
        return instant.replace(year=instant.year + years, day=28)


def closure_of(row: Mapping[str, Any]) -> datetime | None:
    """When a retention period starts for a projection row (UTC): its (last) closure; for a deleted
    melding that is not closed, its last change (``updated_hlc``). None while it is open."""
    if row.get("closed_at") and not row.get("is_open"):
        return parse_iso(row["closed_at"])
    if row.get("deleted") and row.get("updated_hlc"):
        return stamp_datetime(int(row["updated_hlc"]))
    return None


def removal_years(row: Mapping[str, Any], policy: RetentionPolicy) -> tuple[int, str] | None:
    """The removal period in years for a projection row and the status it follows, or None (kept).

    A closed melding follows its status's rule. A deleted melding that is not closed follows the rule
    for ``geannuleerd`` (a deletion withdraws it), else the shortest rule configured.
    """
    rules = {Status(k): int(v) for k, v in policy.verwijderen_na_jaren.items()}
    status = row.get("status")
    if row.get("closed_at") and not row.get("is_open") and status in rules:
        return rules[Status(status)], str(status)
    if row.get("deleted") and rules:
        if Status.GEANNULEERD in rules:
            return rules[Status.GEANNULEERD], "verwijderd"
        return min(rules.values()), "verwijderd"
    return None


def retention_due(rows: Iterable[Mapping[str, Any]], policy: RetentionPolicy, now: datetime) -> list[RetentionAction]:
    """The erasures the retention policy makes due at ``now`` (aware) for projection rows.

    Each row needs ``melding_id``, ``reference``, ``status``, ``is_open``, ``closed_at``, ``deleted``,
    ``updated_hlc``, ``melder_naam``, ``melder_telefoon``, ``melder_email`` and ``purged`` (1 when a
    ``purged`` event is held). A removal due makes an anonymisation of the same melding unneeded (a
    removal erases the melder too). Rows already erased are not due again, so running this daily is
    idempotent. Periods count from :func:`closure_of`: ``anonimiseren_na_dagen`` days, and
    :func:`removal_years` years.
    """
    now = now.astimezone(UTC)
    out: list[RetentionAction] = []
    for row in rows:
        closed = closure_of(row)
        if closed is None or row.get("purged"):
            continue
        ref, mid, closed_text = row.get("reference") or "", row["melding_id"], row.get("closed_at") or closed.isoformat()
        removal = removal_years(row, policy)
        if removal is not None and years_later(closed, removal[0]) <= now:
            years, status = removal
            out.append(
                RetentionAction(mid, ref, EventType.PURGED, f"verwijderen: {status}, {years} jaar na sluiting", closed_text)
            )
            continue
        has_details = any(row.get(k) for k in ("melder_naam", "melder_telefoon", "melder_email"))
        days = int(policy.anonimiseren_na_dagen)
        if has_details and closed + timedelta(days=days) <= now:
            out.append(
                RetentionAction(
                    mid, ref, EventType.REPORTER_ANONYMISED, f"melder anonimiseren: {days} dagen na sluiting", closed_text
                )
            )
    return out


# -- a resident's request: finding a person ---------------------------------------------------------


def person(*, telefoon: str | None = None, email: str | None = None, naam: str | None = None) -> PersonalValues:
    """The values a resident gives to be found by (``avg inzage``/``avg wissen``), normalised as the
    intake stores them: a phone number in any writing becomes E.164 (``shared.validation.normalise_phone``),
    an e-mail address lower-case, a name stripped with inner whitespace collapsed.

    Raises:
        ValidationError: a phone number or e-mail address that is not one, or nothing given.
    """
    from shared.errors import ValidationError
    from shared.validation import clean_line, normalise_email, normalise_phone

    phones = frozenset({normalise_phone(telefoon)}) if telefoon else frozenset()
    emails = frozenset({normalise_email(email).lower()}) if email else frozenset()
    name = " ".join(clean_line(naam, "naam").split()) if naam else ""
    if not (phones or emails or name):
        raise ValidationError("persoon", "Geef een telefoonnummer, e-mailadres of naam op.")
    return PersonalValues(frozenset({name}) if name else frozenset(), phones, emails)


def _same_name(a: str, b: str) -> bool:
    """Whether two written names are the same person's as far as text can tell: equal ignoring case
    and spacing, or one is the other with words left out (``A. de Vries`` and ``Anna de Vries``
    share the surname words; initials and titles do not count)."""
    fa, fb = " ".join(a.casefold().split()), " ".join(b.casefold().split())
    if not fa or not fb:
        return False
    if fa == fb:
        return True
    wa = {w for w in _WORD.findall(fa) if len(w) >= 3 and w not in _NOT_A_NAME}
    wb = {w for w in _WORD.findall(fb) if len(w) >= 3 and w not in _NOT_A_NAME}
    return bool(wa) and bool(wb) and (wa <= wb or wb <= wa)


def melder_matches(melder: Any, wanted: PersonalValues) -> bool:
    """Whether a stored melder (builtins, as in an event payload) is the person ``wanted`` describes:
    the same phone number or e-mail address, or (only when searched by name) the same name
    (:func:`_same_name`)."""
    held = _melder_values(melder)
    if held.phones & wanted.phones or held.emails & wanted.emails:
        return True
    return any(_same_name(a, b) for a in held.names for b in wanted.names)


def mentions(text: str, wanted: PersonalValues) -> bool:
    """Whether ``text`` contains the phone number (in any writing), the e-mail address or the full
    name of ``wanted``. Looser than :func:`scrub_text` about nothing: single name words do not count
    here (a surname alone finds too many strangers)."""
    if not text:
        return False
    exact = PersonalValues(frozenset(), wanted.phones, wanted.emails)
    if exact and scrub_text(text, exact) != text:
        return True
    folded = " ".join(text.casefold().split())
    return any(" ".join(n.casefold().split()) in folded for n in wanted.names)


def event_texts(e: Event) -> list[str]:
    """The free texts of an event's payload (description, location description, notes, call-back and
    status texts, reasons, a further melder's words)."""
    out: list[str] = []
    p = e.payload if isinstance(e.payload, Mapping) else {}
    fields = p.get("fields")
    if isinstance(fields, Mapping):
        out += [v for k in ("omschrijving", "locatie_omschrijving") if isinstance(v := fields.get(k), str) and v]
    out += [v for k in _TEXT_KEYS.get(e.type, ()) if isinstance(v := p.get(k), str) and v]
    return out


def event_melders(e: Event) -> list[Any]:
    """The melder values (builtins) an event's payload sets: the melder of ``created``/``fields_changed``
    and the further melder of ``melder_added``."""
    p = e.payload if isinstance(e.payload, Mapping) else {}
    out = []
    fields = p.get("fields")
    if isinstance(fields, Mapping) and isinstance(fields.get("melder"), Mapping):
        out.append(fields["melder"])
    if e.type == EventType.MELDER_ADDED and isinstance(p.get("melder"), Mapping):
        out.append(p["melder"])
    return out


def search_needles(wanted: PersonalValues) -> list[tuple[str, bool]]:
    """Substrings that any stored text holding ``wanted`` must contain, for a cheap first pass over
    raw JSON before :func:`melder_matches`/:func:`mentions` decide: ``(needle, digits_only)``. A phone
    number's last seven digits are looked for in the text with separators (space, ``-``, ``.``, ``(``,
    ``)``, ``/``) removed (``digits_only``); an e-mail address and each name word as they are
    (case-insensitive)."""
    out: list[tuple[str, bool]] = [(p[-7:], True) for p in wanted.phones]
    out += [(m, False) for m in wanted.emails]
    for n in wanted.names:
        words = [w for w in _WORD.findall(n) if len(w) >= 3 and w.lower() not in _NOT_A_NAME]
        out += [(w, False) for w in words] or [(n, False)]
    return out
