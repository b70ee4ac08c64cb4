"""The Finnish business ID (Y-tunnus): parsing, check digit and VAT form.

Accepted inputs (surrounding whitespace is ignored):
- the ordinary form ``NNNNNNN-C``: seven digits, a hyphen, a check digit (``2925630-9``);
- an older six-digit serial, left-padded to seven (``174592-8`` -> ``0174592-8``);
- the VAT form ``FI`` + the eight digits (``FI29256309``, ``fi29256309``).

Every form normalises to ``NNNNNNN-C``. The check digit: weights 7, 9, 10, 5, 8, 4, 2 left to
right; r = sum mod 11; r = 0 -> 0; r = 1 -> no such ID is ever issued; otherwise 11 - r.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2)
_SERIAL_DIGITS: Final = 7
EXAMPLE: Final = "2925630-9"

_ORDINARY_FORM: Final = re.compile(r"(?P<serial>[0-9]{6,7})-(?P<check>[0-9])", re.ASCII)
_VAT_FORM: Final = re.compile(r"FI(?P<serial>[0-9]{7})(?P<check>[0-9])", re.ASCII | re.IGNORECASE)
# Word processors turn "-" into look-alike dashes; name the culprit instead of "bad format".
_LOOKALIKE_HYPHENS: Final = "\u2010\u2011\u2012\u2013\u2014\u2212"


class InvalidBusinessId(ValueError):
    """The text is not a valid Finnish business ID; the message says why and never repeats secrets."""


def check_digit(serial: str) -> int | None:
    """The check digit of a seven-digit serial, or None when its remainder is 1 (never issued)."""
    remainder = sum(int(digit) * weight for digit, weight in zip(serial, _WEIGHTS, strict=True)) % 11
    if remainder == 1:
        return None
    return 0 if remainder == 0 else 11 - remainder


def _split(text: str) -> tuple[str, str]:
    """The padded seven-digit serial and the written check digit, or InvalidBusinessId on bad format."""
    match = _ORDINARY_FORM.fullmatch(text) or _VAT_FORM.fullmatch(text)
    if match is not None:
        return match["serial"].zfill(_SERIAL_DIGITS), match["check"]
    if any(dash in text for dash in _LOOKALIKE_HYPHENS):
        retyped = text.translate(str.maketrans(_LOOKALIKE_HYPHENS, "-" * len(_LOOKALIKE_HYPHENS)))
        raise InvalidBusinessId(
            f"{text!r} contains a dash that is not a plain hyphen (often pasted from a word processor); "
            f"type it as {retyped}"
        )
    raise InvalidBusinessId(
        f"{text!r} is not a business ID: expected 7 digits, a hyphen and a check digit, like {EXAMPLE} "
        f"(or the VAT form FI{EXAMPLE.replace('-', '')})"
    )


def normalise(text: str) -> str:
    """``NNNNNNN-C`` for any accepted form of a valid business ID; InvalidBusinessId otherwise."""
    serial, written = _split(text.strip())
    expected = check_digit(serial)
    if expected is None:
        raise InvalidBusinessId(
            f"{text.strip()!r}: no business ID has these digits: remainder 1 is never issued "
            "(check the digits for a typo)"
        )
    if int(written) != expected:
        raise InvalidBusinessId(
            f"{text.strip()!r}: check digit should be {expected}, not {written} (check the digits for a typo)"
        )
    return f"{serial}-{written}"


class BusinessId(str):
    """A valid business ID in its normalised form ``NNNNNNN-C``; immutable like any str.

    ``BusinessId(text)`` accepts every form the module docstring lists and raises InvalidBusinessId
    otherwise. Usable directly as a pydantic field type (validated from str, serialised as str).
    """

    __slots__ = ()

    def __new__(cls, text: object) -> BusinessId:
        if not isinstance(text, str):
            raise InvalidBusinessId(
                f"expected the business ID as text like {EXAMPLE}, got {type(text).__name__}"
            )
        return super().__new__(cls, normalise(text))

    @property
    def vat_number(self) -> str:
        """The Finnish VAT number: ``FI`` + the eight digits (``FI29256309``)."""
        return "FI" + self.replace("-", "")

    def __repr__(self) -> str:
        return f"BusinessId({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Strict str in: a number in YAML (2925630) is a mistake to report, not to coerce.
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(strict=True),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )
