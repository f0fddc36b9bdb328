"""Buddhist Era dates (``YYYYMMDD``) from the card, as ISO 8601 dates.

Runs on whichever thread reads the card. The Gregorian year is the Buddhist
Era year minus 543. Cards write ``00`` for an unknown month or day, which
gives a date of lower precision rather than an invented day.
"""

import datetime

from trayagent.card.model import CardDate, FieldWarning, Precision

BUDDHIST_ERA_OFFSET = 543
# The expiry date of a card that never expires.
LIFETIME_EXPIRY = "99999999"

_FIELD_WORDS = {
    "birth_date": "birth date",
    "issue_date": "issue date",
    "expiry_date": "expiry date",
}


def parse_date(
    text: str, field: str, *, allow_lifetime: bool = False
) -> tuple[CardDate, list[FieldWarning]]:
    """Convert a decoded ``YYYYMMDD`` field into a :class:`CardDate`.

    Month ``00`` gives the year alone and day ``00`` the year and month. An
    empty or all-zero field, one that is not eight digits, and one that names
    no real date give ``DATE_INVALID`` and keep the raw text beside a
    ``None`` date.

    :param field: the field name used in warnings, for example ``"birth_date"``.
    :param allow_lifetime: accept ``99999999`` as a lifetime expiry.
    """
    if allow_lifetime and text == LIFETIME_EXPIRY:
        return CardDate(text, None, None, lifetime=True), []
    word = _FIELD_WORDS.get(field, field)
    if not text.strip("0 "):
        warning = FieldWarning(field, "DATE_INVALID", f"The {word} is empty")
        return CardDate(text, None, None), [warning]
    iso = _to_iso(text)
    if iso is None:
        warning = FieldWarning(field, "DATE_INVALID", f"The {word} is not a valid date")
        return CardDate(text, None, None), [warning]
    return CardDate(text, *iso), []


def _to_iso(text: str) -> tuple[str, Precision] | None:
    """Return the ISO date and its precision, or ``None`` for no valid date."""
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    year = int(text[:4]) - BUDDHIST_ERA_OFFSET
    month = int(text[4:6])
    day = int(text[6:])
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        return None
    if month == 0:
        return f"{year:04d}", "year"
    if month > 12:
        return None
    if day == 0:
        return f"{year:04d}-{month:02d}", "month"
    try:
        return datetime.date(year, month, day).isoformat(), "day"
    except ValueError:
        return None
