"""Finnish business IDs (Y-tunnus) as every sandbox service validates them, written from the public rule."""

from __future__ import annotations


def business_id_check_digit(digits: str) -> int | None:
    """The Y-tunnus check digit of seven digits, or None when no valid ID has them."""
    remainder = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    if remainder == 1:
        return None
    return 0 if remainder == 0 else 11 - remainder


def normalise_business_id(value: str) -> str | None:
    """``NNNNNNN-C`` for a valid business ID given as ``NNNNNNN-C`` or ``FINNNNNNNC``; else None."""
    text = value.strip().upper()
    if text.startswith("FI") and len(text) == 10 and text[2:].isdigit():
        text = f"{text[2:9]}-{text[9]}"
    digits, dash, check = text.partition("-")
    if not (dash and len(digits) == 7 and digits.isdigit() and len(check) == 1 and check.isdigit()):
        return None
    return text if business_id_check_digit(digits) == int(check) else None


def valid_business_id(value: str) -> str:
    """A pydantic validator body: the normalised ID, or ValueError naming the expected form."""
    normalised = normalise_business_id(value)
    if normalised is None:
        raise ValueError(f"{value!r} is not a valid Finnish business ID (NNNNNNN-C with a valid check digit)")
    return normalised
