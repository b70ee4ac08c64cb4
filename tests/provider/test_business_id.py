"""The Finnish business ID: check digit, accepted forms, and messages that say what is wrong."""

from __future__ import annotations

import pickle

import pytest
from pydantic import TypeAdapter, ValidationError

from provider.business_id import BusinessId, InvalidBusinessId, check_digit

VALID = ["2925630-9", "1572860-0", "2077474-0", "0174592-8"]
# 0292563: 0*7 + 2*9 + 9*10 + 2*5 + 5*8 + 6*4 + 3*2 = 188 = 17*11 + 1, so no check digit exists.
REMAINDER_ONE_SERIALS = ["0292563", "0000006"]


@pytest.mark.parametrize("text", VALID)
def test_valid_examples_are_kept_as_written(text: str) -> None:
    business_id = BusinessId(text)
    assert business_id == text
    assert business_id.vat_number == "FI" + text.replace("-", "")


@pytest.mark.parametrize("text", VALID)
def test_exactly_one_check_digit_fits_each_valid_serial(text: str) -> None:
    serial, digit = text.split("-")
    fitting = [candidate for candidate in "0123456789" if _is_valid(f"{serial}-{candidate}")]
    assert fitting == [digit]
    assert check_digit(serial) == int(digit)


def test_a_six_digit_serial_is_left_padded() -> None:
    assert BusinessId("174592-8") == "0174592-8"


@pytest.mark.parametrize("text", ["FI29256309", "fi29256309", " 2925630-9 ", "\t2925630-9\n"])
def test_vat_form_and_surrounding_whitespace_normalise(text: str) -> None:
    business_id = BusinessId(text)
    assert business_id == "2925630-9"
    assert business_id.vat_number == "FI29256309"


def test_wrong_check_digit_names_the_right_one() -> None:
    with pytest.raises(InvalidBusinessId, match="check digit should be 9, not 8"):
        BusinessId("2925630-8")


def test_wrong_check_digit_in_vat_form() -> None:
    with pytest.raises(InvalidBusinessId, match="check digit should be 0, not 1"):
        BusinessId("FI15728601")


@pytest.mark.parametrize("serial", REMAINDER_ONE_SERIALS)
@pytest.mark.parametrize("digit", "0123456789")
def test_remainder_one_is_never_issued(serial: str, digit: str) -> None:
    assert check_digit(serial) is None
    with pytest.raises(
        InvalidBusinessId, match="no business ID has these digits: remainder 1 is never issued"
    ):
        BusinessId(f"{serial}-{digit}")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2925630",
        "29256309",
        "2925630-",
        "2925630-99",
        "12345-6",
        "29256301-9",
        "2925630 9",
        "FI2925630",
        "SE29256309",
        "abcdefg-h",
        "２９２５６３０-９",  # full-width digits are digits to str.isdigit, not to a business ID
    ],
)
def test_bad_format_says_what_is_expected(text: str) -> None:
    with pytest.raises(
        InvalidBusinessId, match="expected 7 digits, a hyphen and a check digit, like 2925630-9"
    ):
        BusinessId(text)


def test_a_lookalike_dash_is_named_with_the_retyped_id() -> None:
    with pytest.raises(InvalidBusinessId, match=r"not a plain hyphen.*type it as 2925630-9"):
        BusinessId("2925630\u20139")


@pytest.mark.parametrize("value", [2925630, None, ["2925630-9"]])
def test_non_text_is_refused(value: object) -> None:
    with pytest.raises(InvalidBusinessId, match="expected the business ID as text"):
        BusinessId(value)


def test_is_a_str_usable_as_a_mapping_key() -> None:
    keys: dict[str, str] = {BusinessId("FI29256309"): "acme"}
    assert keys["2925630-9"] == "acme"
    assert repr(BusinessId("2925630-9")) == "BusinessId('2925630-9')"


def test_survives_pickling() -> None:
    restored = pickle.loads(pickle.dumps(BusinessId("174592-8")))  # noqa: S301 -- our own bytes
    assert type(restored) is BusinessId
    assert restored == "0174592-8"


def test_pydantic_validates_normalises_and_serialises_as_text() -> None:
    adapter = TypeAdapter(BusinessId)
    business_id = adapter.validate_python("FI15728600")
    assert type(business_id) is BusinessId
    assert business_id == "1572860-0"
    assert adapter.dump_json(business_id) == b'"1572860-0"'


@pytest.mark.parametrize("value", ["1572860-1", 1572860])
def test_pydantic_refuses_invalid_ids_and_numbers(value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(BusinessId).validate_python(value)


def _is_valid(text: str) -> bool:
    try:
        BusinessId(text)
    except InvalidBusinessId:
        return False
    return True
