"""Validation and normalisation of typed input (shared.validation): issue 2's examples and more."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.validation import (
    MAX_SHORT_TEXT_LENGTH,
    MAX_TEXT_LENGTH,
    clean_text,
    format_phone,
    format_postcode,
    normalise_email,
    normalise_phone,
    normalise_postcode,
    parse_huisnummer,
)

# --- postcode ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["7721 ab", "7721ab", " 7721 AB ", "7721AB", "7721\tAb"])
def test_postcode_is_stored_compact_and_shown_with_a_space(raw):
    stored = normalise_postcode(raw)
    assert stored == "7721AB"
    assert format_postcode(stored) == "7721 AB"


@pytest.mark.parametrize("raw", ["0721 AB", "0000AA"])
def test_postcode_starting_with_zero_is_refused(raw):
    with pytest.raises(ValidationError) as exc:
        normalise_postcode(raw)
    assert exc.value.field == "postcode"
    assert "niet beginnend met 0" in exc.value.message


@pytest.mark.parametrize("letters", ["SA", "SD", "SS", "sa", "sd", "ss"])
def test_postcode_letter_pairs_never_issued_are_refused(letters):
    with pytest.raises(ValidationError) as exc:
        normalise_postcode(f"7721 {letters}")
    assert exc.value.field == "postcode"
    assert letters.upper() in exc.value.message
    assert "niet uitgegeven" in exc.value.message


@pytest.mark.parametrize("letters", ["SB", "AS", "DS", "SC"])
def test_postcode_neighbours_of_refused_pairs_are_fine(letters):
    assert normalise_postcode(f"8000{letters}") == f"8000{letters}"


@pytest.mark.parametrize("raw", ["", "7721", "7721A", "7721ABC", "77210AB", "AB 7721", "7721 Ä B", "772 AB"])
def test_postcode_of_wrong_shape_is_refused_with_a_dutch_message(raw):
    with pytest.raises(ValidationError) as exc:
        normalise_postcode(raw)
    assert exc.value.field == "postcode"
    assert "postcode" in exc.value.message.lower()


def test_validation_error_is_a_value_error():
    with pytest.raises(ValueError):
        normalise_postcode("nope")


# --- house number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("12a", (12, "A", None)),
        ("12 A", (12, "A", None)),
        ("12 hs", (12, None, "HS")),
        ("12-3", (12, None, "3")),
        ("12a-2", (12, "A", "2")),
        ("44-bis", (44, None, "BIS")),
        ("12", (12, None, None)),
        (" 7 ", (7, None, None)),
        ("12-A", (12, "A", None)),
        ("12/3", (12, None, "3")),
        ("99999", (99999, None, None)),
        ("1 a 2", (1, "A", "2")),
    ],
)
def test_huisnummer_splits_into_bag_parts(raw, parts):
    assert parse_huisnummer(raw) == parts


@pytest.mark.parametrize(
    "raw", ["", "a", "hs 12", "12 hs 3", "12abcde", "12-toevoeging", "0", "100000", "123456a", "-12", "12#"]
)
def test_huisnummer_junk_is_refused(raw):
    with pytest.raises(ValidationError) as exc:
        parse_huisnummer(raw)
    assert exc.value.field == "huisnummer"
    assert "huisnummer" in exc.value.message.lower()


# --- phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["06-12345678", "+31 6 1234 5678", "0031612345678", "06 1234 5678", "(06) 12345678", "+31 (0)6 12345678"]
)
def test_mobile_numbers_normalise_to_e164(raw):
    assert normalise_phone(raw) == "+31612345678"


def test_landline_normalises_to_e164_and_is_shown_nationally():
    e164 = normalise_phone("0529-456789")
    assert e164 == "+31529456789"
    assert format_phone(e164).replace(" ", "").replace("-", "") == "0529456789"


def test_phone_one_digit_short_is_refused_as_too_short():
    with pytest.raises(ValidationError) as exc:
        normalise_phone("06-1234567")
    assert exc.value.field == "telefoon"
    assert exc.value.message == "Dit telefoonnummer is te kort."


@pytest.mark.parametrize("raw", ["", "abc", "06-123456789", "+31 6 1234 56789 0"])
def test_phone_junk_is_refused(raw):
    with pytest.raises(ValidationError) as exc:
        normalise_phone(raw)
    assert exc.value.field == "telefoon"


def test_foreign_number_is_kept_international():
    e164 = normalise_phone("+32 470 12 34 56")
    assert e164 == "+32470123456"
    assert format_phone(e164).startswith("+32")


# --- e-mail -----------------------------------------------------------------------------------


def test_email_is_normalised_without_dns():
    # A made-up domain: a DNS look-up would refuse it (and needs the network); syntax alone passes.
    assert normalise_email("  Jan.Jansen@Voorbeeld-Gemeente.NL ") == "Jan.Jansen@voorbeeld-gemeente.nl"


@pytest.mark.parametrize(
    "raw", ["", "jan", "jan@", "@voorbeeld.nl", "jan@@voorbeeld.nl", "jan@voorbeeld", "j an@voorbeeld.nl"]
)
def test_email_bad_syntax_is_refused(raw):
    with pytest.raises(ValidationError) as exc:
        normalise_email(raw)
    assert exc.value.field == "email"
    assert "e-mailadres" in exc.value.message


# --- free text --------------------------------------------------------------------------------


def test_control_characters_are_removed_except_newline_and_tab():
    raw = "a\x00b\x1bc\x07d\x7fe\x85f\x9bg\th\ni\r\nj\rk"
    assert clean_text(raw, "omschrijving") == "abcdefg\th\ni\nj\nk"


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
@settings(max_examples=60, deadline=None)
def test_cleaned_text_has_no_control_characters_and_is_stable(raw):
    cleaned = clean_text(raw, "omschrijving")
    assert not any(ord(c) < 0x20 and c not in "\n\t" for c in cleaned)
    assert not any(0x7F <= ord(c) <= 0x9F for c in cleaned)
    assert "\r" not in cleaned
    assert clean_text(cleaned, "omschrijving") == cleaned


def test_length_is_counted_in_code_points_and_the_limit_is_named():
    emoji = "🌳" * MAX_TEXT_LENGTH  # 4 bytes each in UTF-8, 2 UTF-16 units: still one code point
    assert clean_text(emoji, "omschrijving") == emoji
    with pytest.raises(ValidationError) as exc:
        clean_text(emoji + "🌳", "omschrijving")
    assert exc.value.field == "omschrijving"
    assert str(MAX_TEXT_LENGTH) in exc.value.message
    assert str(MAX_TEXT_LENGTH + 1) in exc.value.message


def test_combining_characters_count_as_their_own_code_points():
    # "é" typed as e + COMBINING ACUTE ACCENT is two code points; the rule counts code points.
    decomposed = "e\u0301" * (MAX_SHORT_TEXT_LENGTH // 2)
    assert clean_text(decomposed, "naam", max_length=MAX_SHORT_TEXT_LENGTH) == decomposed
    with pytest.raises(ValidationError) as exc:
        clean_text(decomposed + "e\u0301", "naam", max_length=MAX_SHORT_TEXT_LENGTH)
    assert str(MAX_SHORT_TEXT_LENGTH) in exc.value.message


def test_control_characters_do_not_count_towards_the_length():
    assert clean_text("x" * 10 + "\x00" * 5, "naam", max_length=10) == "x" * 10


def test_required_text_may_not_be_empty_after_cleaning():
    with pytest.raises(ValidationError) as exc:
        clean_text(" \x00\x1b \n", "notitie", required=True)
    assert exc.value.field == "notitie"
    assert "verplicht" in exc.value.message
    assert clean_text("", "notitie") == ""
