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
from collections.abc import Iterable

from shared.errors import ValidationError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
COUNTER_WIDTH = 4
DEVICE_CODE_WIDTH = 2


def encode(n: int, width: int) -> str:
    """``n`` ≥ 0 in Crockford base32, left-padded with ``0`` to at least ``width`` characters.

    Example: ``encode(142, 4)`` → ``"004E"``.

    Raises:
        ValueError: ``n`` is negative.
    """
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
        if ch not in _DECODE:
            raise ValueError(f"{ch!r} is not a Crockford base32 character")
        n = n * 32 + _DECODE[ch]
    return n


def device_code(n: int) -> str:
    """The n-th device code (0-based): ``0`` → ``"00"``, ``231`` → ``"77"``, ``1024`` → ``"100"``.

    Raises:
        ValueError: ``n`` is negative.
    """
    return encode(n, DEVICE_CODE_WIDTH)


#: Most characters after the prefix (device code + counter, hyphens not counted): what a caller can
#: be asked to write down (issue 2).
MAX_REFERENCE_CHARS = 8
_PREFIX = re.compile(r"^[A-Z]{2,5}$")


def is_prefix(text: str) -> bool:
    """Whether ``text`` is a valid municipality prefix: 2–5 upper-case letters A–Z (``DLF``)."""
    return bool(_PREFIX.match(text or ""))


def make_reference(prefix: str, device: str, counter: int) -> str:
    """Build the reference for a laptop's ``counter``-th melding: ``("DLF", "K7", 142)`` → ``"DLF-K7-004E"``.

    Args:
        prefix: the municipality's prefix, 2–5 upper-case letters (configuration).
        device: the device code issued with the laptop's token (2–3 Crockford base32 characters).
        counter: the laptop's own melding counter, ≥ 1.

    Raises:
        ValueError: counter < 1, a malformed prefix or device code, or more than
            ``MAX_REFERENCE_CHARS`` characters after the prefix.
    """
    if counter < 1:
        raise ValueError("counter starts at 1")
    if not _PREFIX.match(prefix):
        raise ValueError(f"reference prefix {prefix!r} must be 2–5 upper-case letters")
    if not 2 <= len(device) <= 3 or any(c not in _DECODE for c in device):
        raise ValueError(f"device code {device!r} must be 2–3 Crockford base32 characters")
    ctr = encode(counter, COUNTER_WIDTH)
    if len(device) + len(ctr) > MAX_REFERENCE_CHARS:
        raise ValueError(f"counter {counter} does not fit in a reference with device code {device!r}")
    return f"{prefix}-{device}-{ctr}"


_REF = re.compile(r"^([A-Z]{2,5})-?([0-9A-Z]{2,3})-?([0-9A-Z]{4,6})$")


def normalise_reference(raw: str, prefix: str | None = None) -> str:
    """Canonical form of a reference as a caller spells it: ``"dlf k7 o142"`` → ``"DLF-K7-0142"``.

    Case, spaces, dots and dash look-alikes are ignored; in the device code and counter ``O`` reads
    as ``0`` and ``I``/``L`` as ``1`` (Crockford's decoding rule). Without hyphens the split is
    ambiguous once a device code has 3 characters or a counter 5: pass the municipality's
    ``prefix`` to split it off first (the device code is then read as 2 characters, the usual
    length); without it the longest letter prefix wins.

    Raises:
        ValidationError: not of the form prefix (2–5 letters), device code (2–3), counter (4–6).
    """
    # Hyphen look-alikes (en/em dash, minus sign) arrive when a reference is pasted from an e-mail.
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", (raw or "").upper()).strip()
    groups = re.split(r"[\s.]+", text)
    # "dlf oo 1ooo": spaces are the caller's separators when they give exactly three groups; joined,
    # the spoken O of the device code would be read as part of the prefix.
    text = "-".join(groups) if "-" not in text and len(groups) == 3 else "".join(groups)
    if prefix and "-" not in text and text.startswith(prefix.upper()) and len(text) > len(prefix):
        text = f"{prefix.upper()}-{text[len(prefix) :]}"
    parts = text.split("-")
    if len(parts) == 2 and prefix and parts[0] == prefix.upper():
        m = re.match(r"^([0-9A-Z]{2,3}?)([0-9A-Z]{4,6})$", parts[1])
        if m:
            parts = [parts[0], *m.groups()]
    if len(parts) == 3:
        prefix, dev, ctr = parts
    else:
        m = _REF.match(text)
        if not m:
            raise ValidationError("referentie", "Een referentie ziet eruit als DLF-K7-0142.")
        prefix, dev, ctr = m.groups()
    dev, ctr = dev.translate(_LOOKALIKES), ctr.translate(_LOOKALIKES)
    if (
        not _PREFIX.match(prefix)
        or not 2 <= len(dev) <= 3
        or not COUNTER_WIDTH <= len(ctr) <= 6
        or any(c not in _DECODE for c in dev + ctr)
    ):
        raise ValidationError("referentie", "Een referentie ziet eruit als DLF-K7-0142.")
    return f"{prefix}-{dev}-{ctr}"


def counter_of(reference: str) -> int:
    """The device counter inside a canonical reference: ``"DLF-K7-0142"`` → ``decode("0142")``.

    Raises:
        ValueError: not of the form prefix-device-counter, or a character outside the alphabet.
    """
    parts = reference.split("-")
    if len(parts) != 3 or not parts[2]:
        raise ValueError(f"not a reference: {reference!r}")
    return decode(parts[2])


def highest_counter(references: Iterable[str | None]) -> int:
    """The highest device counter among ``references`` (0 for none); malformed ones are skipped
    (they are the server's to flag as clashes, not a number to count)."""
    best = 0
    for ref in references:
        try:
            best = max(best, counter_of(ref or ""))
        except ValueError:
            continue
    return best
