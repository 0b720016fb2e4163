"""KCC look-up: what a contact-centre agent typed, classified into one search key (issue 5).

A resident calling "what happened to my report?" gives whatever they have: the reference, their
postcode and house number, the street, the phone number they called from, their name, or a few
words about the problem. :func:`classify` turns the one search box's text into a :class:`KccQuery`
with the key normalised by the same rules the intake uses (``shared.validation``,
``shared.reference``), so ``06-12345678``, ``0612345678`` and ``+31 6 1234 5678`` all become
``+31612345678``, the E.164 form stored in the projection.

:func:`resident_view` is the one rule for what a resident may be told about a melding (open or
gesloten, the Dutch status text, the expected date, the service promise and the last public note);
the server's public status endpoint, its KCC routes and the TUI's KCC screen all use it.

Pure: no database, no network; works on projection rows (``shared.projection.COLUMNS``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any

import msgspec

from shared.deadlines import local_date
from shared.enums import Status
from shared.errors import ValidationError
from shared.projection import parse_iso
from shared.reference import normalise_reference
from shared.status import promise_applies
from shared.taxonomy import Taxonomy, load_taxonomy
from shared.validation import (
    MAX_SHORT_TEXT_LENGTH,
    clean_line,
    normalise_email,
    normalise_phone,
    normalise_postcode,
    parse_huisnummer,
)


class QueryKind(StrEnum):
    """Which key a KCC query was recognised as."""

    REFERENCE = "referentie"
    POSTCODE = "postcode"  # postcode, with or without huisnummer
    STREET = "straat"  # street name, with or without huisnummer
    PHONE = "telefoon"
    EMAIL = "email"
    NAME = "naam"
    TEXT = "tekst"  # free text: words from the description or location

    @property
    def label(self) -> str:
        """Dutch text shown next to the results ("Gezocht op …")."""
        return {
            "referentie": "referentie",
            "postcode": "postcode en huisnummer",
            "straat": "straat",
            "telefoon": "telefoonnummer",
            "email": "e-mailadres",
            "naam": "naam melder",
            "tekst": "vrije tekst",
        }[self.value]


class KccQuery(msgspec.Struct, frozen=True, omit_defaults=True):
    """A classified KCC query.

    Attributes:
        kind: the key recognised.
        text: the cleaned text as typed.
        reference: canonical reference (``DLF-K7-0142``) for ``REFERENCE``.
        postcode: compact postcode (``7721AB``) for ``POSTCODE``.
        straat: street name as typed (matched case-blind; a prefix without number) for ``STREET``.
        huisnummer, huisletter, huisnummertoevoeging: BAG parts when a number was given
            (``POSTCODE``/``STREET``); without a letter every letter of that number matches.
        telefoon: E.164 (``+31612345678``) for ``PHONE``.
        email: the address as stored (``shared.validation.normalise_email``) for ``EMAIL``.
        words: lower-case words for ``NAME`` and ``TEXT``; for ``NAME`` an initial (``P.``) is a
            one-letter word, matched as the start of a name (``P. de Vries`` finds Piet de Vries).
    """

    kind: QueryKind
    text: str
    reference: str | None = None
    postcode: str | None = None
    straat: str | None = None
    huisnummer: int | None = None
    huisletter: str | None = None
    huisnummertoevoeging: str | None = None
    telefoon: str | None = None
    email: str | None = None
    words: tuple[str, ...] = ()

    def describe(self) -> str:
        """``"Gezocht op postcode en huisnummer: 7721 EJ 12"``: what the agent sees above the results."""
        return f"Gezocht op {self.kind.label}: {self.text}"


# Postcode first, then optionally a house number: "7721AB 12", "7721 ab, 12a", "7721AB12-2".
_POSTCODE_FIRST = re.compile(r"^([1-9][0-9]{3})\s*([A-Za-z]{2})(?![A-Za-z])[\s,]*(.*)$")
# House number first, then the postcode: "12a 7721AB", "12, 7721 AB".
_NUMBER_FIRST = re.compile(r"^([0-9]{1,5}\s*[A-Za-z0-9\-/ ]{0,6}?)[\s,]+([1-9][0-9]{3}\s*[A-Za-z]{2})$")
# A street name, then a number: "Kerkstraat 12", "Burg. van Bruggenstraat 3 a", "Kerkstraat 12, Dalfsen".
_STREET_NUMBER = re.compile(r"^(?P<straat>[^\d,]*[^\d\s,])\s+(?P<nr>[0-9]{1,5}[^,]*?)\s*(?:,.*)?$")
_PHONE_CHARS = re.compile(r"^\+?[0-9\s\-().]{9,20}$")
# Dutch street-name endings (BAG openbare ruimte): a single word ending so is taken as a street.
_STREET_SUFFIXES = (
    "straat", "str.", "weg", "laan", "plein", "dijk", "steeg", "pad", "hof", "kade", "singel", "gracht",
    "markt", "dreef", "erf", "park", "veld", "wal", "plantsoen", "hoek", "brink", "horst", "boulevard",
    "allee", "baan", "gang", "kamp", "wijk", "straatje", "pleintje",
)  # fmt: skip
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.\-]*(?:['’.\-][^\W\d_]*)*\.?$")
_WORD = re.compile(r"[^\W_]+")
# Without separators the device code is 2 characters, as in ``normalise_reference``.
_COMPACT_REF = re.compile(r"^([A-Z]{2,5})([0-9A-Z]{2})([0-9A-Z]{4,6})$")

EMPTY_MESSAGE = "Typ een referentie, postcode en huisnummer, straat, telefoonnummer, naam of een paar woorden."


def _looks_like_reference(text: str, prefixes: frozenset[str]) -> str | None:
    """The canonical reference when ``text`` is one, else None.

    ``normalise_reference`` alone is lenient (it drops spaces), so ``Kerkstraat 12`` or
    ``Jan-de-Vries`` would pass. Here the typed pieces must have the shape of a reference: three
    pieces (prefix of 2–5 letters, device code of 2–3, counter of 4–6 characters) or one compact
    piece, and a digit in the device code or counter as typed (counters are zero-padded), unless
    the prefix is one the caller knows.
    """
    pieces = [p for p in re.split(r"[\s\-.]+", text.upper()) if p]
    if len(pieces) == 3:
        prefix, dev, ctr = pieces
        if not (prefix.isalpha() and 2 <= len(prefix) <= 5 and 2 <= len(dev) <= 3 and 4 <= len(ctr) <= 6):
            return None
    elif len(pieces) == 1:
        m = _COMPACT_REF.match(pieces[0])
        if not m:
            return None
        prefix, dev, ctr = m.groups()
    else:
        return None
    if prefix not in prefixes and not any(c.isdigit() for c in dev + ctr):
        return None
    try:
        return normalise_reference(f"{prefix}-{dev}-{ctr}")
    except ValidationError:
        return None


def _phone(text: str) -> str | None:
    if not _PHONE_CHARS.match(text) or sum(c.isdigit() for c in text) < 9:
        return None
    try:
        return normalise_phone(text)
    except ValidationError:
        return None


def _email(text: str) -> str | None:
    if "@" not in text or " " in text:
        return None
    try:
        return normalise_email(text)
    except ValidationError:
        return None


def _huisnummer(text: str) -> tuple[int, str | None, str | None] | None:
    try:
        return parse_huisnummer(text)
    except ValidationError:
        return None


def _postcode_query(text: str) -> KccQuery | None:
    m = _POSTCODE_FIRST.match(text)
    if m:
        pc_raw, rest = m.group(1) + m.group(2), m.group(3).strip()
    else:
        m = _NUMBER_FIRST.match(text)
        if not m:
            return None
        rest, pc_raw = m.group(1).strip(), m.group(2)
    try:
        postcode = normalise_postcode(pc_raw)
    except ValidationError:
        return None
    if not rest:
        return KccQuery(QueryKind.POSTCODE, text, postcode=postcode)
    nr = _huisnummer(rest)
    if nr is None:
        return None
    return KccQuery(
        QueryKind.POSTCODE, text, postcode=postcode, huisnummer=nr[0], huisletter=nr[1], huisnummertoevoeging=nr[2]
    )


def _street_query(text: str) -> KccQuery | None:
    m = _STREET_NUMBER.match(text)
    if m:
        nr = _huisnummer(m.group("nr"))
        if nr is not None:
            return KccQuery(
                QueryKind.STREET,
                text,
                straat=m.group("straat").strip(),
                huisnummer=nr[0],
                huisletter=nr[1],
                huisnummertoevoeging=nr[2],
            )
    first = text.split(",")[0].strip()
    last_word = first.split()[-1].lower() if first.split() else ""
    if last_word.endswith(_STREET_SUFFIXES) and not any(c.isdigit() for c in first):
        return KccQuery(QueryKind.STREET, text, straat=first)
    return None


def words_of(text: str) -> tuple[str, ...]:
    """The lower-case words (letters and digits) of ``text``, as free-text search uses them."""
    return tuple(w.lower() for w in _WORD.findall(text))


def classify(raw: str, *, prefixes: frozenset[str] | set[str] = frozenset()) -> KccQuery:
    """Recognise which key the agent typed and normalise it.

    Tried in this order, the first that fits wins: reference (``dlf k7 o142`` → ``DLF-K7-0142``),
    phone (any Dutch spelling → E.164), an e-mail address, postcode with optional huisnummer (either
    order: ``7721 KN 10``, ``10 7721KN``), street
    with huisnummer or a street name (a word ending in ``straat``, ``weg``, ``laan``, …), a name
    (one to five words of letters, as ``Jansen`` or ``P. de Vries``), else free text.

    Args:
        raw: what was typed.
        prefixes: reference prefixes in use (``{"DLF"}``), so that even an all-letter reference is
            recognised.

    Raises:
        ValidationError: empty, or longer than 200 characters (field ``zoekterm``).
    """
    text = clean_line(raw, "zoekterm", max_length=MAX_SHORT_TEXT_LENGTH)
    text = re.sub(r"\s+", " ", text)
    if not text:
        raise ValidationError("zoekterm", EMPTY_MESSAGE)
    ref = _looks_like_reference(text, frozenset(p.upper() for p in prefixes))
    if ref:
        return KccQuery(QueryKind.REFERENCE, text, reference=ref)
    phone = _phone(text)
    if phone:
        return KccQuery(QueryKind.PHONE, text, telefoon=phone)
    email = _email(text)
    if email:
        return KccQuery(QueryKind.EMAIL, text, email=email)
    pc = _postcode_query(text)
    if pc:
        return pc
    street = _street_query(text)
    if street:
        return street
    words = words_of(text)
    if not words:
        raise ValidationError("zoekterm", EMPTY_MESSAGE)
    parts = text.split()
    if len(parts) <= 5 and all(_NAME_WORD.match(p) for p in parts) and any(len(p) > 1 for p in parts):
        return KccQuery(QueryKind.NAME, text, words=words)
    return KccQuery(QueryKind.TEXT, text, words=words)


#: The keys a resident says that identify them or their address exactly: a list search takes these
#: as the KCC does (issue 14: "one place for that rule"), everything else as words.
EXACT_KINDS = frozenset({QueryKind.PHONE, QueryKind.EMAIL, QueryKind.POSTCODE})

_PHONE_PART = re.compile(r"^\+?[0-9][0-9\s\-().]*$")


def exact_key(text: str | None, *, prefixes: frozenset[str] | set[str] = frozenset()) -> KccQuery | None:
    """The phone number, e-mail address or postcode (+ huisnummer) in ``text`` as :func:`classify`
    normalises them (``06-12345678``, ``06 12345678``, ``+31 6 1234 5678`` → ``+31612345678``;
    ``7721 KN 10`` → postcode ``7721KN``, huisnummer 10), or None for anything else (a name, words,
    a reference, text still being typed). Never raises."""
    try:
        q = classify(text or "", prefixes=prefixes)
    except ValidationError:
        return None
    return q if q.kind in EXACT_KINDS else None


def phone_digits(text: str | None) -> str | None:
    """The digits of a phone number still being typed (``"06-1234"`` → ``"061234"``, ``"+31 6 12"``
    → ``"31612"``), for a prefix search over stored numbers in both their national and their E.164
    form; None when ``text`` is not (the start of) a phone number or has fewer than 4 digits."""
    raw = (text or "").strip()
    if not _PHONE_PART.match(raw) or not any(c in raw for c in " -().+"):
        return None
    digits = "".join(c for c in raw if c.isdigit())
    return digits if len(digits) >= 4 else None


# --- what the resident may be told -------------------------------------------------------------


class ResidentView(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a resident may be told about a melding: no personal data, no house number.

    Attributes:
        reference: ``DLF-K7-0142``.
        open: True while the municipality is working on it (``shared.status.is_open``).
        status: the status value (``in_behandeling``); ``status_text``: Dutch text for the resident.
        categorie: code ``groen/boom``; ``categorie_naam``: ``Groen › Boom (…)`` (None when not yet
            categorised).
        registered_date: Europe/Amsterdam date of registration.
        expected_date: Europe/Amsterdam date of the servicenorm deadline (None without categorie).
        closed_date: Europe/Amsterdam date it was closed (None while open).
        belofte: the category's service promise.
        public_note: the last note meant for the resident (a status reason or public note).
        straat, woonplaats: where, without house number.
        message: one paragraph in Dutch the agent can read out or the status page shows.
    """

    reference: str
    open: bool
    status: str
    status_text: str
    registered_date: date
    categorie: str | None = None
    categorie_naam: str | None = None
    expected_date: date | None = None
    closed_date: date | None = None
    belofte: str | None = None
    public_note: str | None = None
    straat: str | None = None
    woonplaats: str | None = None
    message: str = ""


_STATUS_TEXT = {
    Status.GEMELD: "Uw melding is ontvangen en wordt binnenkort bekeken.",
    Status.IN_BEHANDELING: "Uw melding is in behandeling.",
    Status.INGEPLAND: "Het werk voor uw melding is ingepland.",
    Status.AFGEHANDELD: "Uw melding is afgehandeld.",
    Status.DOORGEZET: "Uw melding is doorgezet naar de partij die erover gaat.",
    Status.GEANNULEERD: "Uw melding is gesloten zonder verdere actie.",
    Status.HEROPEND: "Uw melding is opnieuw in behandeling genomen.",
}

_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


def dutch_date(day: date) -> str:
    """``date(2026, 5, 4)`` → ``"4 mei 2026"``, as said to a resident."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def status_text(status: Status | str) -> str:
    """The Dutch sentence for a status, as told to the resident."""
    return _STATUS_TEXT[Status(status)]


def _local(text: str | None) -> date | None:
    instant = parse_iso(text)
    return local_date(instant) if instant else None


def resident_view(row: Mapping[str, Any], taxonomy: Taxonomy | None = None) -> ResidentView:
    """What the resident may be told, from a projection row (``shared.projection.COLUMNS``).

    Reads only non-personal columns: no ``melder_*``, no ``omschrijving`` (free text may name
    people), no house number or postcode.
    """
    taxonomy = taxonomy or load_taxonomy()
    status = Status(row["status"])
    is_open = bool(row["is_open"])
    code = row.get("categorie")
    cat = taxonomy.get(code) if code and code in taxonomy else None
    ours = promise_applies(status)
    expected = _local(row.get("deadline")) if ours else None
    closed = None if is_open else _local(row.get("closed_at"))
    note = row.get("public_note") or None
    parts = [status_text(status)]
    if is_open and expected:
        parts.append(f"Wij verwachten het uiterlijk {dutch_date(expected)} af te ronden.")
    if closed:
        parts.append(f"Gesloten op {dutch_date(closed)}.")
    if note:
        parts.append(f"Toelichting: {note}")
    if is_open and cat:
        parts.append(cat.belofte)
    return ResidentView(
        reference=row["reference"],
        open=is_open,
        status=status.value,
        status_text=status.label,
        registered_date=date.fromisoformat(row["registered_date"]),
        categorie=code,
        categorie_naam=cat.label if cat else None,
        expected_date=expected,
        closed_date=closed,
        belofte=cat.belofte if cat and ours else None,
        public_note=note,
        straat=row.get("straat") or None,
        woonplaats=row.get("woonplaats") or None,
        message=" ".join(parts),
    )

# --- what the KCC sees: the answers of /api/v1/kcc (the server builds them, the app decodes them) ---


class KccHit(msgspec.Struct, frozen=True):
    """One search result: what the agent needs to recognise the melding and answer the caller.

    ``registered_at`` and ``deadline`` are UTC ISO text (``…Z``); ``expected_date`` is the
    Europe/Amsterdam date of the deadline; ``adres`` the address on one line (with number: the KCC
    may see it); ``resident`` what the caller may be told.
    """

    melding_id: str
    reference: str
    registered_at: str
    registered_date: str
    status: str
    status_label: str
    open: bool
    categorie: str | None
    categorie_naam: str | None
    adres: str
    wijk: str | None
    wijk_naam: str | None
    deadline: str | None
    public_note: str | None
    resident: ResidentView


class KccResults(msgspec.Struct, frozen=True):
    """The answer to one search: how the query was read, the hits (newest first), and whether more
    than the server returns matched (``truncated``; ``sync_server.search.MAX_RESULTS``)."""

    kind: str
    searched: str
    results: list[KccHit]
    truncated: bool = False


class HistoryLine(msgspec.Struct, frozen=True):
    """One line of a melding's history, without payload details (which may hold personal data)."""

    at: str
    user: str
    type: str
    summary: str


class MelderView(msgspec.Struct, frozen=True):
    """The reporter as the KCC may see it (personal data: every read is audited)."""

    naam: str
    telefoon: str | None
    email: str | None
    anoniem: bool


class KccDetail(msgspec.Struct, frozen=True):
    """A melding in full for the KCC: the hit, description, location, reporter, notes, call-backs
    and the full history in fold order. ``geanonimiseerd_op``: when the melder's details were erased
    (UTC ISO; issue 16), ``verwijderd_op`` when the melding was removed after its retention period
    (only an anonymous record is left); None when not."""

    hit: KccHit
    type: str
    kanaal: str
    omschrijving: str
    locatie: str
    melder: MelderView | None
    notes: list[dict[str, Any]]
    terugkoppelingen: list[dict[str, Any]]
    history: list[HistoryLine]
    geanonimiseerd_op: str | None = None
    verwijderd_op: str | None = None
