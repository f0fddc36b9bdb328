"""Buddhist Era dates."""

import pytest

from trayagent.card.dates import parse_date

VALID_DATES = [
    ("25200515", "1977-05-15", "day"),
    ("25200500", "1977-05", "month"),
    ("25200000", "1977", "year"),
    ("25200015", "1977", "year"),
    ("25430229", "2000-02-29", "day"),
    ("25640101", "2021-01-01", "day"),
]


@pytest.mark.parametrize(("raw", "iso", "precision"), VALID_DATES)
def test_date_converts(raw: str, iso: str, precision: str) -> None:
    date, warnings = parse_date(raw, "birth_date")
    assert date.raw == raw
    assert date.date == iso
    assert date.precision == precision
    assert not date.lifetime
    assert warnings == []


INVALID_DATES = [
    ("00000000", "DATE_INVALID"),
    ("", "DATE_INVALID"),
    ("25201301", "DATE_INVALID"),
    ("25200230", "DATE_INVALID"),
    ("25420229", "DATE_INVALID"),
    ("25200532", "DATE_INVALID"),
    ("00000515", "DATE_INVALID"),
    ("2520O515", "DATE_INVALID"),
    ("2520-5-1", "DATE_INVALID"),
    ("2520051", "DATE_INVALID"),
    ("๒๕๒๐๐๕๑๕", "DATE_INVALID"),
    ("99999999", "DATE_INVALID"),
]


@pytest.mark.parametrize(("raw", "code"), INVALID_DATES)
def test_date_invalid_is_null(raw: str, code: str) -> None:
    date, warnings = parse_date(raw, "birth_date")
    assert date.raw == raw
    assert date.date is None
    assert date.precision is None
    assert [warning.code for warning in warnings] == [code]
    assert warnings[0].field == "birth_date"


def test_lifetime_expiry() -> None:
    date, warnings = parse_date("99999999", "expiry_date", allow_lifetime=True)
    assert date.to_json() == {
        "raw": "99999999",
        "date": None,
        "precision": None,
        "lifetime": True,
    }
    assert warnings == []


def test_expiry_date_not_lifetime() -> None:
    date, _ = parse_date("25720514", "expiry_date", allow_lifetime=True)
    assert date.to_json() == {
        "raw": "25720514",
        "date": "2029-05-14",
        "precision": "day",
        "lifetime": False,
    }


def test_empty_date_message() -> None:
    _, warnings = parse_date("00000000", "birth_date")
    assert warnings[0].message == "The birth date is empty"


def test_date_warning_names_field() -> None:
    _, warnings = parse_date("25201301", "issue_date")
    assert warnings[0].message == "The issue date is not a valid date"
