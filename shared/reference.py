"""The spoken reference a caller is told, e.g. ``DLF-K7-0142``.

Form: ``<prefix>-<device code>-<counter>``.

* prefix: the municipality's, from configuration (``DLF`` for Dalfsen).
* device code: 2 Crockford base32 characters issued by the server together with the laptop's
  token; the server refuses to issue a code twice (1,024 codes; a third character is allowed
  if a municipality ever needs more).
* counter: the laptop's own counter of meldingen, in Crockford base32, at least 4 characters
  (32⁴ = 1,048,576 meldingen per laptop before a fifth character appears).

Why two references can never clash: the device code is unique per laptop (the server hands each out
once and its table has a UNIQUE constraint), and the counter is unique per laptop (it only goes up,
and is stored in the same transaction as the melding it numbers). Two meldingen from one laptop
differ in the counter; from two laptops, in the device code. No randomness is involved, so there is
no birthday paradox (6 random base32 characters would clash with 5 % chance after ~10,000 meldingen).

Crockford base32 leaves out I, L, O and U, so the reference reads unambiguously over the phone;
:func:`normalise_reference` maps what a caller may say or type (o → 0, i/l → 1, lower case, spaces)
back to the canonical form.
"""

from __future__ import annotations

import re

from shared.errors import ValidationError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
COUNTER_WIDTH = 4
DEVICE_CODE_WIDTH = 2


def encode(n: int, width: int) -> str:
    """``n`` ≥ 0 in Crockford base32, left-padded with ``0`` to at least ``width`` characters."""
    if n < 0:
        raise ValueError("negative")
    out = ""
    while n:
        n, r = divmod(n, 32)
        out = ALPHABET[r] + out
    return out.rjust(width, "0")


def decode(text: str) -> int:
    """Inverse of :func:`encode` (upper-case canonical input).

    Raises:
        ValueError: a character outside the alphabet.
    """
    n = 0
    for ch in text:
        n = n * 32 + _DECODE[ch]
    return n


def device_code(n: int) -> str:
    """The n-th device code (0-based): ``0`` → ``"00"``, ``231`` → ``"77"``."""
    return encode(n, DEVICE_CODE_WIDTH)


def make_reference(prefix: str, device: str, counter: int) -> str:
    """Build the reference for a laptop's ``counter``-th melding (counter ≥ 1)."""
    if counter < 1:
        raise ValueError("counter starts at 1")
    return f"{prefix}-{device}-{encode(counter, COUNTER_WIDTH)}"


_REF = re.compile(r"^([A-Z]{2,5})-?([0-9A-Z]{2,3})-?([0-9A-Z]{4,6})$")


def normalise_reference(raw: str) -> str:
    """Canonical form of a reference as a caller spells it: ``"dlf k7 o142"`` → ``"DLF-K7-0142"``.

    Without hyphens the device code is taken as 2 characters.

    Raises:
        ValidationError: not of the form prefix, device code, counter.
    """
    text = re.sub(r"[\s.]+", "", (raw or "").upper())
    parts = text.split("-")
    if len(parts) == 3:
        prefix, dev, ctr = parts
    else:
        m = _REF.match(text)
        if not m:
            raise ValidationError("referentie", "Een referentie ziet eruit als DLF-K7-0142.")
        prefix, dev, ctr = m.groups()
    dev, ctr = dev.translate(_LOOKALIKES), ctr.translate(_LOOKALIKES)
    if not (prefix.isalpha() and 2 <= len(prefix) <= 5) or not dev or not ctr or any(
        c not in _DECODE for c in dev + ctr
    ):
        raise ValidationError("referentie", "Een referentie ziet eruit als DLF-K7-0142.")
    return f"{prefix}-{dev}-{ctr}"
