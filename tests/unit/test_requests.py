"""Request numbers: format, forgiving parsing, and the check character's guarantees."""

from __future__ import annotations

import random

import pytest

from chatserver.core.requests import (
    ALPHABET,
    DATA_BITS,
    InvalidRequestNumber,
    format_request_number,
    parse_request_number,
    request_number_from_bits,
)

SAMPLES = [0, 1, (1 << DATA_BITS) - 1, *random.Random(7).sample(range(1 << DATA_BITS), 40)]


def test_at_least_forty_random_bits() -> None:
    """The spec asks for at least 40 unguessable bits."""
    assert DATA_BITS >= 40


@pytest.mark.parametrize("bits", SAMPLES)
def test_round_trip(bits: int) -> None:
    """A generated number parses back to itself, shown or canonical."""
    number = request_number_from_bits(bits)
    assert len(number) == 10 and set(number) <= set(ALPHABET)
    shown = format_request_number(number)
    assert shown == f"{number[:5]}-{number[5:]}"
    assert parse_request_number(shown) == number
    assert parse_request_number(number) == number


@pytest.mark.parametrize("bits", SAMPLES[:12])
def test_every_single_substitution_is_caught(bits: int) -> None:
    """Changing any one character to any other gives an invalid number."""
    number = request_number_from_bits(bits)
    for i, original in enumerate(number):
        for ch in ALPHABET:
            if ch != original:
                typo = number[:i] + ch + number[i + 1 :]
                with pytest.raises(InvalidRequestNumber):
                    parse_request_number(typo)


@pytest.mark.parametrize("bits", SAMPLES[:12])
def test_every_adjacent_swap_is_caught(bits: int) -> None:
    """Swapping two different neighbouring characters gives an invalid number."""
    number = request_number_from_bits(bits)
    for i in range(len(number) - 1):
        if number[i] != number[i + 1]:
            swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
            with pytest.raises(InvalidRequestNumber):
                parse_request_number(swapped)


def test_parsing_is_forgiving_like_crockford() -> None:
    """Case, hyphens, spaces, O for 0 and I/L for 1 are all accepted."""
    number = request_number_from_bits(0b1_00001_00000_00001_00001 << 20)
    assert "0" in number and "1" in number
    sloppy = format_request_number(number).lower().replace("0", "o").replace("1", "l")
    assert parse_request_number(f" {sloppy[:3]} {sloppy[3:]} ") == number
    assert parse_request_number(number.replace("1", "I")) == number


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "10 characters"),
        ("ABCDE-FGHJ", "10 characters"),
        ("ABCDE-FGHJKL", "10 characters"),
        ("ABCDE-FGHJU", "without U"),
        ("ABCDE-FGH!K", "without U"),
    ],
)
def test_malformed_numbers_say_what_is_wrong(text: str, fragment: str) -> None:
    """Wrong length or characters give invalid_request_number with a readable message."""
    with pytest.raises(InvalidRequestNumber) as info:
        parse_request_number(text)
    assert info.value.code == "invalid_request_number"
    assert fragment in info.value.message


def test_bits_out_of_range() -> None:
    """Only DATA_BITS bits fit."""
    with pytest.raises(ValueError):
        request_number_from_bits(1 << DATA_BITS)
    with pytest.raises(ValueError):
        request_number_from_bits(-1)
