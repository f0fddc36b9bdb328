"""The citizen ID checksum and the card number printed under the photo.

Runs on whichever thread reads the card.
"""

from trayagent.card.model import CardNumber, FieldWarning

CITIZEN_ID_DIGITS = 13
CARD_NUMBER_DIGITS = 14


def citizen_id_check_digit(first_twelve: str) -> int:
    """Compute the check digit that follows the first 12 digits of a citizen ID.

    Digit ``i`` (from 0) is weighted ``13 - i``; the check digit is
    ``(11 - sum % 11) % 10``.

    :raises ValueError: ``first_twelve`` is not 12 ASCII digits.
    """
    if len(first_twelve) != 12 or not _is_digits(first_twelve):
        raise ValueError("a citizen ID check digit needs exactly 12 digits")
    total = sum(int(digit) * (13 - i) for i, digit in enumerate(first_twelve))
    return (11 - total % 11) % 10


def is_valid_citizen_id(citizen_id: str) -> bool:
    """Tell whether ``citizen_id`` is 13 digits whose last one checks the others."""
    if len(citizen_id) != CITIZEN_ID_DIGITS or not _is_digits(citizen_id):
        return False
    return citizen_id_check_digit(citizen_id[:12]) == int(citizen_id[12])


def parse_card_number(text: str) -> tuple[CardNumber, list[FieldWarning]]:
    """Format the 14-digit card number as ``XXXX-XX-XXXXXXXX``.

    Any other value keeps its raw text, gets ``None`` as its formatted form
    and a ``CARD_NUMBER_INVALID`` warning.
    """
    if len(text) != CARD_NUMBER_DIGITS or not _is_digits(text):
        warning = FieldWarning(
            "card_number", "CARD_NUMBER_INVALID", "The card number is not 14 digits"
        )
        return CardNumber(text, None), [warning]
    return CardNumber(text, f"{text[:4]}-{text[4:6]}-{text[6:]}"), []


def _is_digits(text: str) -> bool:
    # str.isdigit() alone also accepts Thai and other non-ASCII digits.
    return text.isascii() and text.isdigit()
