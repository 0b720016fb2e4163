"""shared.search.classify: every KCC key, in the spellings callers use."""

from __future__ import annotations

import pytest

from shared.errors import ValidationError
from shared.search import QueryKind, classify


@pytest.mark.parametrize("typed", ["DLF-K7-0142", "dlf k7 o142", "dlfk70142", "DLF.K7.0142", " dlf-k7-0142 "])
def test_reference_any_spelling(typed: str) -> None:
    q = classify(typed)
    assert q.kind == QueryKind.REFERENCE
    assert q.reference == "DLF-K7-0142"


def test_all_letter_reference_needs_known_prefix() -> None:
    assert classify("dlf-ab-cdef").kind != QueryKind.REFERENCE
    assert classify("dlf-ab-cdef", prefixes={"DLF"}).reference == "DLF-AB-CDEF"


@pytest.mark.parametrize("typed", ["Kerkstraat 12", "Jan-de-Vries", "Jan de Vries", "P. de Vries"])
def test_not_a_reference(typed: str) -> None:
    assert classify(typed).kind != QueryKind.REFERENCE


@pytest.mark.parametrize(
    "typed", ["06-12345678", "0612345678", "+31 6 1234 5678", "+31612345678", "0031 6 12345678", "06 1234 5678"]
)
def test_mobile_any_spelling(typed: str) -> None:
    q = classify(typed)
    assert q.kind == QueryKind.PHONE
    assert q.telefoon == "+31612345678"


def test_landline() -> None:
    assert classify("0529-456789").telefoon == "+31529456789"


@pytest.mark.parametrize(
    ("typed", "nr", "letter", "toev"),
    [
        ("7721EJ 12", 12, None, None),
        ("7721 ej 12", 12, None, None),
        ("7721ej12a", 12, "A", None),
        ("7721 EJ, 12-2", 12, None, "2"),
        ("12 A, 7721 EJ", 12, "A", None),
        ("12 7721EJ", 12, None, None),
    ],
)
def test_postcode_huisnummer(typed: str, nr: int, letter: str | None, toev: str | None) -> None:
    q = classify(typed)
    assert q.kind == QueryKind.POSTCODE
    assert q.postcode == "7721EJ"
    assert (q.huisnummer, q.huisletter, q.huisnummertoevoeging) == (nr, letter, toev)


def test_postcode_alone() -> None:
    q = classify("7721 ej")
    assert (q.kind, q.postcode, q.huisnummer) == (QueryKind.POSTCODE, "7721EJ", None)


def test_postcode_never_issued_is_not_a_postcode() -> None:
    assert classify("7721 SS 12").kind != QueryKind.POSTCODE


@pytest.mark.parametrize(
    ("typed", "straat", "nr", "letter"),
    [
        ("Kerkstraat 12", "Kerkstraat", 12, None),
        ("kerkstraat 12a", "kerkstraat", 12, "A"),
        ("Kerkstraat 12 A, Dalfsen", "Kerkstraat", 12, "A"),
        ("Burg. van Bruggenstraat 3", "Burg. van Bruggenstraat", 3, None),
        ("Kerkstraat", "Kerkstraat", None, None),
        ("Van Hoornestraat", "Van Hoornestraat", None, None),
    ],
)
def test_street(typed: str, straat: str, nr: int | None, letter: str | None) -> None:
    q = classify(typed)
    assert q.kind == QueryKind.STREET
    assert (q.straat, q.huisnummer, q.huisletter) == (straat, nr, letter)


@pytest.mark.parametrize("typed", ["Jansen", "P. de Vries", "O'Brien", "Smit-Jansen"])
def test_name(typed: str) -> None:
    q = classify(typed)
    assert q.kind == QueryKind.NAME
    assert q.words == tuple(w.lower() for w in q.words) and q.words


def test_free_text() -> None:
    q = classify("boom omgewaaid na storm, ligt op het fietspad!")
    assert q.kind == QueryKind.TEXT
    assert "omgewaaid" in q.words and "fietspad" in q.words


@pytest.mark.parametrize("typed", ["", "   ", "\x00\x1b", "!!!"])
def test_empty_is_a_dutch_error(typed: str) -> None:
    with pytest.raises(ValidationError) as exc:
        classify(typed)
    assert exc.value.field == "zoekterm"
    assert "referentie" in exc.value.message


def test_too_long() -> None:
    with pytest.raises(ValidationError):
        classify("a" * 201)


def test_describe_is_dutch() -> None:
    assert classify("06-12345678").describe() == "Gezocht op telefoonnummer: 06-12345678"
