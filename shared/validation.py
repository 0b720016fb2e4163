"""Validation and normalisation of what a user types, one rule each.

Every function returns the normalised value or raises :class:`shared.errors.ValidationError`
with a Dutch message; forms, the server and the importers all call these, so a rule lives here only.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import ValidationError

#: Longest free text (description, note) in Unicode code points. One limit, the same everywhere.
MAX_TEXT_LENGTH = 4000
#: Longest short text (a name, a street, a location description) in code points.
MAX_SHORT_TEXT_LENGTH = 200

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


def _is_control(ch: str) -> bool:
    return ch not in "\n\t" and unicodedata.category(ch) == "Cc"


def clean_text(raw: str, field: str, *, max_length: int = MAX_TEXT_LENGTH, required: bool = False) -> str:
    """Strip control characters and surrounding white space from free text and check its length.

    C0 and C1 control characters (NUL, ESC, …) are removed, except newline and tab; ``\\r\\n``
    becomes ``\\n``. Length is counted in Unicode code points after cleaning.

    Raises:
        ValidationError: longer than ``max_length`` code points (the limit is named), or empty while
            ``required``.
    """
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if not _is_control(ch)).strip()
    if required and not text:
        raise ValidationError(field, "Dit veld is verplicht.")
    if len(text) > max_length:
        raise ValidationError(field, f"Maximaal {max_length} tekens; nu zijn het er {len(text)}.")
    return text
