"""Validation and normalisation of what enters, one rule each.

Every function returns the normalised value or raises :class:`shared.errors.ValidationError`
with a Dutch message; forms, the server (push, Open311) and the importers all call these, so a rule
lives here only. Text fields follow the two text rules below (a *line* or a *text*, each with a
length constant); events arriving by sync are checked against the same rules through the
``Annotated`` metadata of their Structs (:func:`check_struct`).
"""

from __future__ import annotations

import enum
import re
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import msgspec
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import ValidationError

# --- lengths: one set of constants for the TUI, the server, Open311 and imports -------------------
# Counted in Unicode code points after cleaning. A value longer than its limit is refused, never cut.

#: Longest free text (description, note, text for the resident, reason).
MAX_TEXT_LENGTH = 4000
#: Longest short text (a street, a place, a location description, a search term).
MAX_SHORT_TEXT_LENGTH = 200
#: Longest person's or user's name (melder naam, the ``user`` of an event, a token's name).
MAX_NAME_LENGTH = 200
#: Longest e-mail address (RFC 5321: a forward path holds at most 256 octets including ``<>``).
MAX_EMAIL_LENGTH = 254
#: Longest phone number as stored (E.164: ``+`` and at most 15 digits).
MAX_PHONE_LENGTH = 16
#: Longest event or melding id (a UUIDv7 is 36 characters; ids are never free text).
MAX_ID_LENGTH = 64
#: Longest device code (issued codes are 2 characters; ``shared.reference``).
MAX_DEVICE_ID_LENGTH = 8
#: Longest reference (``DLF-K7-0142``).
MAX_REFERENCE_LENGTH = 32
#: Longest code of a configured value (categorie ``groen/boom``, wijk code, event type).
MAX_CODE_LENGTH = 64
#: SQLite's INTEGER is a signed 64-bit number: a larger integer cannot be stored (it would fail the
#: whole write), so every integer that enters is checked against this.
MAX_INT64 = 2**63 - 1
#: Instants outside these bounds are refused (a year-9999 stamp breaks date arithmetic; nothing the
#: municipality registers lies before 1900).
MIN_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2999, 12, 31, tzinfo=UTC)

# Source: PostNL / BAG: four digits, the first not 0, two letters; SA, SD and SS are never issued.
_POSTCODE = re.compile(r"^([1-9][0-9]{3})([A-Z]{2})$")
_NOT_ISSUED = frozenset({"SA", "SD", "SS"})


def normalise_postcode(raw: str) -> str:
    """Normalise a Dutch postcode to its stored form ``"7721AB"``.

    Accepts any case and spaces (``"7721 ab"``, ``" 7721 AB "``).

    Raises:
        ValidationError: not four digits (first not 0) and two letters, or letters SA/SD/SS.
    """
    compact = re.sub(r"\s+", "", raw or "").upper()
    m = _POSTCODE.match(compact)
    if not m:
        raise ValidationError("postcode", "Een postcode is 4 cijfers (niet beginnend met 0) en 2 letters, zoals 7721 AB.")
    if m.group(2) in _NOT_ISSUED:
        raise ValidationError("postcode", f"Postcodes met de letters {m.group(2)} worden niet uitgegeven.")
    return compact


def format_postcode(postcode: str) -> str:
    """Show a stored postcode with one space: ``"7721AB"`` → ``"7721 AB"``."""
    return f"{postcode[:4]} {postcode[4:]}" if len(postcode) == 6 else postcode


# BAG: huisnummer 1–99999, huisletter one letter, huisnummertoevoeging up to 4 alphanumerics.
# All leading digits belong to the number (checked against 99999 below): "100000" must be refused,
# not read as 10000 with toevoeging "0".
_HUISNUMMER = re.compile(
    r"^(?P<nr>[0-9]+)"
    r"(?:\s*(?P<letter>[A-Za-z])(?![A-Za-z0-9]))?"
    r"(?:[\s\-/]*(?P<toev>[A-Za-z0-9]{1,4}))?$"
)


def parse_huisnummer(raw: str) -> tuple[int, str | None, str | None]:
    """Split a typed house number into the BAG parts (huisnummer, huisletter, huisnummertoevoeging).

    ``"12a"`` → ``(12, "A", None)``; ``"12 A"`` → ``(12, "A", None)``; ``"12 hs"`` → ``(12, None, "HS")``;
    ``"12-3"`` → ``(12, None, "3")``; ``"12a-2"`` → ``(12, "A", "2")``. Letter and addition are
    upper-cased. A single letter directly after the number is the huisletter; anything longer or
    after a separator is the toevoeging (source: BAG catalogus, nummeraanduiding).

    Raises:
        ValidationError: no number 1–99999 first, or an addition longer than 4 characters.
    """
    text = (raw or "").strip()
    m = _HUISNUMMER.match(text)
    if not m:
        raise ValidationError(
            "huisnummer", "Een huisnummer is een getal, eventueel met letter en toevoeging, zoals 12, 12a of 12-2."
        )
    nr = int(m.group("nr"))
    if not 1 <= nr <= 99999:
        raise ValidationError("huisnummer", "Een huisnummer ligt tussen 1 en 99999.")
    letter = m.group("letter")
    toev = m.group("toev")
    # "12-A": a lone letter after a separator is still the huisletter, as residents write it.
    if letter is None and toev is not None and len(toev) == 1 and toev.isalpha():
        letter, toev = toev, None
    return nr, (letter.upper() if letter else None), (toev.upper() if toev else None)


def normalise_phone(raw: str) -> str:
    """Normalise a phone number to E.164 (``"+31612345678"``), Dutch numbers by default.

    Uses ``phonenumbers`` with region NL: ``"06-12345678"``, ``"+31 6 1234 5678"``,
    ``"0031612345678"`` → ``"+31612345678"``; ``"0529-456789"`` → ``"+31529456789"``.

    Raises:
        ValidationError: not a possible and valid number (e.g. ``"06-1234567"``, one digit short).
    """
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, "NL")
    except phonenumbers.NumberParseException:
        raise ValidationError("telefoon", "Dit is geen telefoonnummer; typ bijvoorbeeld 06-12345678.") from None
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        nsn = phonenumbers.national_significant_number(number)
        # Dutch geographic and mobile numbers have 9 digits after the leading 0; phonenumbers calls a
        # shorter one "possible" because of 0800/0900 service numbers, so say plainly that it is short.
        too_short = number.country_code == 31 and len(nsn) < 9 and not nsn.startswith(("800", "900"))
        if too_short or reason == phonenumbers.ValidationResult.TOO_SHORT:
            raise ValidationError("telefoon", "Dit telefoonnummer is te kort.")
        if reason == phonenumbers.ValidationResult.TOO_LONG:
            raise ValidationError("telefoon", "Dit telefoonnummer is te lang.")
        raise ValidationError("telefoon", "Dit telefoonnummer bestaat niet; controleer de cijfers.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Show a stored E.164 number the Dutch way (``"+31612345678"`` → ``"06 12345678"``)."""
    try:
        number = phonenumbers.parse(e164, "NL")
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 31:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_email(raw: str) -> str:
    """Check an e-mail address's syntax (no DNS look-up) and return its normalised form.

    Raises:
        ValidationError: the syntax is wrong; the message says what is wrong in Dutch.
    """
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError("email", "Dit is geen geldig e-mailadres, zoals naam@voorbeeld.nl.") from None


# --- text rules --------------------------------------------------------------------------------
#
# Two kinds of text field, one rule each (docs/validation.md):
#
# * a *line* (names, streets, places, codes, ids, search terms): no control character at all.
#   Typed or pasted input is cleaned: every run of tabs, newlines, CRs and Unicode line/paragraph
#   separators becomes one space; every other control character is removed.
# * a *text* (description, note, text for the resident, reason): newline and tab are kept; CR LF and a
#   lone CR become a newline, the Unicode line/paragraph separators too; every other control
#   character is removed.
#
# "Control character": Unicode category Cc (C0, DEL and C1: NUL, ESC, CSI, …: a terminal acts on
# them), the bidirectional embedding/override/isolate marks U+202A–U+202E and U+2066–U+2069 (they
# reorder what is shown, e.g. a reference read backwards) and lone surrogates (not storable as
# UTF-8). Everything else, including emoji and combining accents, is kept.
#
# Input a person types or a form posts (TUI, Open311, import) is *cleaned*: the characters are
# removed. An event that arrives by sync is *checked*: a control character makes it invalid
# (``shared.events.validate_event``; the server refuses it with the reason), because an event is
# the device's signed statement and changing it on the way would make replicas differ.

_BIDI = "\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
_LINE_BREAKS = "\t\n\r\u2028\u2029"
#: Characters a line may not hold.
_LINE_BAD = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}{_SURROGATES}]")
#: Characters a text may not hold (newline and tab are its own).
_TEXT_BAD = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}{_SURROGATES}]")
_LINE_BREAK_RUN = re.compile(f"[{_LINE_BREAKS}]+")
_TEXT_NEWLINE = re.compile("\r\n|[\r\u2028\u2029]")


class TextKind(enum.Enum):
    """The two kinds of text field: a ``LINE`` holds no line break, a ``TEXT`` may."""

    LINE = "regel"
    TEXT = "tekst"


@dataclass(frozen=True)
class TextRule:
    """The rule of one text field: its kind and its longest length (code points).

    Used as ``Annotated[str, RULE]`` metadata on the Structs that enter by sync (``shared.events``,
    ``shared.model``); :func:`check_struct` reads it. msgspec ignores it when decoding, so stored
    events from before a rule still fold.
    """

    kind: TextKind
    max_length: int


@dataclass(frozen=True)
class IntRange:
    """The bounds of an integer field (both inclusive); ``Annotated[int, IntRange(1, 99999)]``."""

    lo: int
    hi: int


@dataclass(frozen=True)
class InstantRange:
    """The bounds of an instant field (``MIN_INSTANT`` … ``MAX_INSTANT`` by default)."""

    lo: datetime = MIN_INSTANT
    hi: datetime = MAX_INSTANT


#: Free text: a description, a note, the text for the resident, a reason.
FREE_TEXT = TextRule(TextKind.TEXT, MAX_TEXT_LENGTH)
#: A short one-line text: a street, a place, a location description.
SHORT_LINE = TextRule(TextKind.LINE, MAX_SHORT_TEXT_LENGTH)
#: A person's or user's name.
NAME = TextRule(TextKind.LINE, MAX_NAME_LENGTH)
#: An id (event, melding).
ID = TextRule(TextKind.LINE, MAX_ID_LENGTH)
#: A device code.
DEVICE = TextRule(TextKind.LINE, MAX_DEVICE_ID_LENGTH)
#: A reference such as ``DLF-K7-0142``.
REFERENCE = TextRule(TextKind.LINE, MAX_REFERENCE_LENGTH)
#: A configured code (categorie, wijk, event type).
CODE = TextRule(TextKind.LINE, MAX_CODE_LENGTH)
#: A stored e-mail address / phone number (already normalised where they were typed).
EMAIL = TextRule(TextKind.LINE, MAX_EMAIL_LENGTH)
PHONE = TextRule(TextKind.LINE, MAX_PHONE_LENGTH)
#: BAG parts as stored: postcode ``7721AB``, one huisletter, a toevoeging of at most 4.
POSTCODE = TextRule(TextKind.LINE, 6)
HUISLETTER = TextRule(TextKind.LINE, 1)
TOEVOEGING = TextRule(TextKind.LINE, 4)
#: Any integer SQLite can store.
INT64 = IntRange(-MAX_INT64 - 1, MAX_INT64)
#: A counter or clock stamp: positive and storable.
POSITIVE_INT64 = IntRange(1, MAX_INT64)
#: A real instant.
INSTANT = InstantRange()


def _bad_char_message(ch: str) -> str:
    return f"bevat een stuurteken (U+{ord(ch):04X}), dat wordt niet opgeslagen"


def _clean(raw: str | None, field: str, kind: TextKind, max_length: int, required: bool) -> str:
    text = raw or ""
    if kind is TextKind.LINE:
        text = _LINE_BAD.sub("", _LINE_BREAK_RUN.sub(" ", text))
    else:
        text = _TEXT_BAD.sub("", _TEXT_NEWLINE.sub("\n", text))
    text = text.strip()
    if required and not text:
        raise ValidationError(field, "Dit veld is verplicht.")
    if len(text) > max_length:
        raise ValidationError(field, f"Maximaal {max_length} tekens; nu zijn het er {len(text)}.")
    return text


def clean_text(raw: str | None, field: str, *, max_length: int = MAX_TEXT_LENGTH, required: bool = False) -> str:
    """Clean typed or posted free text (a *text*: may hold line breaks) and check its length.

    Control characters are removed except newline and tab; CR LF, a lone CR and the Unicode
    line/paragraph separators become a newline; surrounding white space goes. Length is counted in
    Unicode code points after cleaning.

    Raises:
        ValidationError: longer than ``max_length`` code points (the limit is named), or empty while
            ``required``.
    """
    return _clean(raw, field, TextKind.TEXT, max_length, required)


def clean_line(
    raw: str | None, field: str, *, max_length: int = MAX_SHORT_TEXT_LENGTH, required: bool = False
) -> str:
    """Clean a typed or posted one-line value (a name, a street, a search term) and check its length.

    Every run of tabs and line breaks becomes one space (a pasted name keeps its words apart); every
    other control character is removed; surrounding white space goes.

    Raises:
        ValidationError: longer than ``max_length`` code points, or empty while ``required``.
    """
    return _clean(raw, field, TextKind.LINE, max_length, required)


def clean(raw: str | None, field: str, rule: TextRule, *, required: bool = False) -> str:
    """:func:`clean_line` or :func:`clean_text`, as ``rule`` says, with its length."""
    return _clean(raw, field, rule.kind, rule.max_length, required)


def check_text(value: str, field: str, rule: TextRule) -> None:
    """Check a value that must already be clean (it arrived by sync): nothing is changed.

    Raises:
        ValidationError: a control character the kind does not allow (named by code point), or
            longer than the rule's length.
    """
    bad = (_LINE_BAD if rule.kind is TextKind.LINE else _TEXT_BAD).search(value)
    if bad:
        raise ValidationError(field, _bad_char_message(bad.group()))
    if len(value) > rule.max_length:
        raise ValidationError(field, f"maximaal {rule.max_length} tekens; nu zijn het er {len(value)}")


def check_int(value: int, field: str, rule: IntRange) -> None:
    """Raises ValidationError when ``value`` lies outside ``rule`` (e.g. ≥ 2^63, not storable)."""
    if not rule.lo <= value <= rule.hi:
        raise ValidationError(field, f"{value} ligt buiten {rule.lo}…{rule.hi}")


def check_instant(value: datetime, field: str, rule: InstantRange) -> None:
    """Raises ValidationError when ``value`` lies outside ``rule``."""
    if not rule.lo <= value <= rule.hi:
        raise ValidationError(field, f"{value.isoformat()} ligt buiten {rule.lo.year}…{rule.hi.year}")


_Rule = TextRule | IntRange | InstantRange


@cache
def field_rules(kind: type) -> tuple[tuple[str, _Rule | None], ...]:
    """Per field of the msgspec Struct ``kind``: the rule in its ``Annotated`` metadata, or None."""
    hints = typing.get_type_hints(kind, include_extras=True)
    return tuple((name, _rule_in(hints.get(name))) for name in kind.__struct_fields__)


def _rule_in(hint: Any) -> _Rule | None:
    if typing.get_origin(hint) is typing.Annotated:
        for meta in hint.__metadata__:
            if isinstance(meta, TextRule | IntRange | InstantRange):
                return meta
        return _rule_in(typing.get_args(hint)[0])
    for arg in typing.get_args(hint):
        found = _rule_in(arg)
        if found is not None:
            return found
    return None


def check_struct(obj: msgspec.Struct, path: str = "") -> None:
    """Check every ruled field of ``obj`` and of the Structs (and lists of Structs) it holds.

    Text fields carry a :class:`TextRule`, integers an :class:`IntRange`, instants an
    :class:`InstantRange` (``Annotated`` metadata; see ``shared.events``).

    Raises:
        ValidationError: ``field`` is the dotted path (``fields.melder.naam``), the message says why.
    """
    for name, rule in field_rules(type(obj)):
        value = getattr(obj, name)
        where = f"{path}{name}"
        if isinstance(value, msgspec.Struct):
            check_struct(value, where + ".")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, msgspec.Struct):
                    check_struct(item, f"{where}[{i}].")
        elif rule is None:
            continue
        elif isinstance(rule, TextRule) and isinstance(value, str):
            check_text(value, where, rule)
        elif isinstance(rule, IntRange) and isinstance(value, int) and not isinstance(value, bool):
            check_int(value, where, rule)
        elif isinstance(rule, InstantRange) and isinstance(value, datetime):
            check_instant(value, where, rule)


# --- showing stored text --------------------------------------------------------------------------

_SHOW_BAD = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]")


def strip_for_display(text: str) -> str:
    """``text`` without any control character (line breaks too), for one line on a screen.

    Stored text from before these rules (or from an old server) may hold ESC sequences that would
    clear a terminal or set its title; the TUI passes every line it draws through this
    (``wijkteam_tui.app``). Removing keeps the cell width (control characters take none).
    """
    return _SHOW_BAD.sub("", text) if _SHOW_BAD.search(text) else text


def for_terminal(text: str) -> str:
    """``text`` safe to print on a terminal by a CLI: each control character except newline and tab
    is written visibly as ``\\x1b`` / ``\\u202e`` (the admin sees that it was there)."""

    def show(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _TEXT_BAD.sub(show, text)
