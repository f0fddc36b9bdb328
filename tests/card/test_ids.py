"""Citizen ID checksum, card number and gender."""

import pytest

from trayagent.card import layout
from trayagent.card.ids import (
    citizen_id_check_digit,
    is_valid_citizen_id,
    parse_card_number,
)
from trayagent.card.personal import decode_personal_data, parse_gender

from .cards import TEST_PERSON, text_field


@pytest.mark.parametrize(
    "citizen_id", ["1234567890121", "3100600123450", "1101700230708", "0000000000001"]
)
def test_citizen_id_valid(citizen_id: str) -> None:
    assert is_valid_citizen_id(citizen_id)


@pytest.mark.parametrize(
    "citizen_id",
    [
        "1234567890120",
        "1234567890122",
        "1101700230705",
        "123456789012",
        "12345678901210",
        "123456789012A",
        "๑๒๓๔๕๖๗๘๙๐๑๒๑",
        "",
    ],
)
def test_citizen_id_invalid(citizen_id: str) -> None:
    assert not is_valid_citizen_id(citizen_id)


@pytest.mark.parametrize(
    ("first_twelve", "digit"),
    [
        # 1 * 13 = 13, 13 % 11 = 2, 11 - 2 = 9.
        ("100000000000", 9),
        # 6 * 2 = 12, 12 % 11 = 1, 11 - 1 = 10, which wraps to 0.
        ("000000000006", 0),
        # 0 % 11 = 0, 11 - 0 = 11, which wraps to 1.
        ("000000000000", 1),
    ],
)
def test_check_digit_wraps(first_twelve: str, digit: int) -> None:
    assert citizen_id_check_digit(first_twelve) == digit


def test_check_digit_rejects_short() -> None:
    with pytest.raises(ValueError):
        citizen_id_check_digit("12345")


def test_card_number_formats() -> None:
    number, warnings = parse_card_number("12345678901234")
    assert number.raw == "12345678901234"
    assert number.formatted == "1234-56-78901234"
    assert warnings == []


@pytest.mark.parametrize("raw", ["1234567890123", "1234567890123X", "", "1234-56-7890"])
def test_card_number_invalid(raw: str) -> None:
    number, warnings = parse_card_number(raw)
    assert number.raw == raw
    assert number.formatted is None
    assert [warning.code for warning in warnings] == ["CARD_NUMBER_INVALID"]


@pytest.mark.parametrize(("raw", "value"), [("1", "male"), ("2", "female")])
def test_gender_known(raw: str, value: str) -> None:
    gender, warnings = parse_gender(raw)
    assert gender.raw == raw
    assert gender.value == value
    assert warnings == []


@pytest.mark.parametrize("raw", ["0", "3", "9", "", "M", "\ufffd"])
def test_gender_unknown(raw: str) -> None:
    gender, warnings = parse_gender(raw)
    assert gender.raw == raw
    assert gender.value is None
    assert [warning.code for warning in warnings] == ["GENDER_UNKNOWN"]


@pytest.mark.parametrize(("byte", "raw"), [(b"\x20", " "), (b"\x00", "\x00")])
def test_gender_padding_byte_kept(byte: bytes, raw: str) -> None:
    raw_fields = {
        field.name: text_field(getattr(TEST_PERSON, field.name), field)
        for field in layout.TEXT_FIELDS
    }
    raw_fields["gender"] = byte
    personal = decode_personal_data(raw_fields)
    assert personal.gender.raw == raw
    assert personal.gender.value is None
    assert "GENDER_UNKNOWN" in [warning.code for warning in personal.warnings]
