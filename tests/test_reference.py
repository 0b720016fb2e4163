"""Spoken references (shared.reference): format, alphabet, spoken variants, uniqueness by construction."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.reference import (
    ALPHABET,
    MAX_REFERENCE_CHARS,
    decode,
    device_code,
    encode,
    make_reference,
    normalise_reference,
)


def test_alphabet_is_crockford_base32_without_look_alikes():
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)
    assert set(ALPHABET) == set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_reference_format():
    ref = make_reference("DLF", "K7", 1)
    assert ref == "DLF-K7-0001"
    assert make_reference("DLF", "K7", 32) == "DLF-K7-0010"
    assert re.fullmatch(r"DLF-K7-[0-9A-HJKMNP-TV-Z]{4}", make_reference("DLF", "K7", 1154))
    assert make_reference("DLF", "K7", 1154) == "DLF-K7-0142"  # 1·32² + 4·32 + 2


def test_at_most_eight_characters_after_the_prefix():
    largest = make_reference("DLF", "K7", 32**6 - 1)
    assert largest == "DLF-K7-ZZZZZZ"
    assert len(largest.removeprefix("DLF-").replace("-", "")) == MAX_REFERENCE_CHARS == 8
    with pytest.raises(ValueError):
        make_reference("DLF", "K7", 32**6)
    with pytest.raises(ValueError):
        make_reference("DLF", "K7X", 32**5)  # 3-character device code leaves 5 for the counter
    assert make_reference("DLF", "K7X", 32**5 - 1) == "DLF-K7X-ZZZZZ"


@pytest.mark.parametrize(
    ("prefix", "device", "counter"),
    [("DLF", "K7", 0), ("dlf", "K7", 1), ("D", "K7", 1), ("DLF", "KI", 1), ("DLF", "K", 1)],
)
def test_bad_reference_parts_are_refused(prefix, device, counter):
    with pytest.raises(ValueError):
        make_reference(prefix, device, counter)


def test_device_codes():
    assert device_code(0) == "00"
    assert device_code(231) == "77"
    assert device_code(1023) == "ZZ"
    assert device_code(1024) == "100"  # a third character once 1,024 laptops are not enough
    assert len({device_code(n) for n in range(1024)}) == 1024


@given(st.integers(min_value=0, max_value=32**8))
@settings(max_examples=200, deadline=None)
def test_encode_decode_round_trip(n):
    text = encode(n, 4)
    assert len(text) >= 4
    assert set(text) <= set(ALPHABET)
    assert decode(text) == n


def test_decode_refuses_characters_outside_the_alphabet():
    for bad in ("I", "L", "O", "U", "-", "a"):
        with pytest.raises(ValueError):
            decode("0" + bad)
    with pytest.raises(ValueError):
        encode(-1, 4)


@pytest.mark.parametrize(
    "spoken",
    [
        "dlf k7 o142",
        "DLF-K7-0142",
        "dlf-k7-0142",
        "DLF K7 0142",
        "DLFK70142",
        " d l f - k 7 - 0 1 4 2 ",
        "dlf.k7.o142",
        "DLF–K7–O142",  # en dashes, pasted from an e-mail
        "DLF-K7-Ol42",  # O for zero, l for one
        "DLF-K7-0I42",
        "DLF-K70142",
    ],
)
def test_spoken_and_typed_variants_normalise(spoken):
    assert normalise_reference(spoken) == "DLF-K7-0142"


def test_normalise_with_the_known_prefix_resolves_a_long_counter_typed_without_hyphens():
    assert normalise_reference("dlfkm10000", prefix="DLF") == "DLF-KM-10000"
    assert normalise_reference("DLF-KM10000", prefix="DLF") == "DLF-KM-10000"
    assert normalise_reference("dlf k7 o142", prefix="DLF") == "DLF-K7-0142"


@pytest.mark.parametrize(
    "junk", ["", "DLF", "DLF-K7", "12345678", "DLF-K7-01", "DLF-K7-0U42", "D-K7-0142", "DLF-K-0142"]
)
def test_junk_is_not_a_reference(junk):
    with pytest.raises(ValidationError) as exc:
        normalise_reference(junk)
    assert exc.value.field == "referentie"
    assert "DLF-K7-0142" in exc.value.message


@given(device=st.integers(min_value=0, max_value=32**3 - 1), counter=st.integers(min_value=1, max_value=32**5 - 1))
@settings(max_examples=200, deadline=None)
def test_made_references_survive_normalisation(device, counter):
    code = device_code(device)
    ref = make_reference("DLF", code, counter)
    assert normalise_reference(ref) == ref
    assert normalise_reference(ref.lower().replace("-", " ").replace("0", "o")) == ref
    if len(code) == 2:
        # Typed without any separator: the known prefix and the usual 2-character code split it.
        assert normalise_reference(ref.lower().replace("-", ""), prefix="DLF") == ref


def test_many_devices_times_many_counters_never_clash():
    # The construction: each laptop has its own device code (issued once by the server) and its own
    # counter (only goes up). Every (device, counter) pair gives a different reference.
    refs = {make_reference("DLF", device_code(d), c) for d in range(300) for c in range(1, 301)}
    assert len(refs) == 300 * 300


@given(
    pairs=st.lists(
        st.tuples(st.integers(min_value=0, max_value=32**3 - 1), st.integers(min_value=1, max_value=32**5 - 1)),
        min_size=2,
        max_size=200,
        unique=True,
    )
)
@settings(max_examples=100, deadline=None)
def test_distinct_device_and_counter_pairs_give_distinct_references(pairs):
    refs = [make_reference("DLF", device_code(d), c) for d, c in pairs]
    assert len(set(refs)) == len(pairs)
    # And the pair can be read back from the reference: the map is injective.
    for (d, c), ref in zip(pairs, refs, strict=True):
        _, dev, ctr = ref.split("-")
        assert (decode(dev), decode(ctr)) == (d, c)
