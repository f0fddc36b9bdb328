"""Decoding of the personal applet's text fields into :class:`PersonalData`.

Runs on whichever thread reads the card. Every field is decoded even when
another one is broken, and each problem becomes a warning on the result.
"""

from collections.abc import Mapping
from typing import TypeVar

from trayagent.card import layout
from trayagent.card.address import parse_address
from trayagent.card.dates import parse_date
from trayagent.card.ids import is_valid_citizen_id, parse_card_number
from trayagent.card.model import FieldWarning, Gender, GenderValue, PersonalData
from trayagent.card.names import parse_name
from trayagent.card.text import decode_tis620

GENDER_CODES: dict[str, GenderValue] = {"1": "male", "2": "female"}

T = TypeVar("T")


def decode_personal_data(fields: Mapping[str, bytes]) -> PersonalData:
    """Decode the raw text fields, keyed by their :mod:`layout` names.

    Each field must be present and may still carry its padding.

    :raises KeyError: a text field of :data:`layout.TEXT_FIELDS` is missing.
    """
    warnings: list[FieldWarning] = []

    def text(field: layout.BinaryField) -> str:
        decoded = decode_tis620(fields[field.name])
        if decoded.undecodable:
            warnings.append(_undecodable_warning(field.name))
        return decoded.text

    def collect(result: tuple[T, list[FieldWarning]]) -> T:
        value, found = result
        warnings.extend(found)
        return value

    citizen_id = text(layout.CITIZEN_ID)
    citizen_id_valid = is_valid_citizen_id(citizen_id)
    if not citizen_id_valid:
        warnings.append(
            FieldWarning(
                layout.CITIZEN_ID.name,
                "CITIZEN_ID_CHECKSUM",
                "The citizen ID fails its checksum",
            )
        )
    return PersonalData(
        citizen_id=citizen_id,
        citizen_id_valid=citizen_id_valid,
        name_th=collect(parse_name(text(layout.NAME_TH), layout.NAME_TH.name, "th")),
        name_en=collect(parse_name(text(layout.NAME_EN), layout.NAME_EN.name, "en")),
        birth_date=collect(parse_date(text(layout.BIRTH_DATE), layout.BIRTH_DATE.name)),
        gender=collect(parse_gender(_gender_byte(fields[layout.GENDER.name]))),
        issuer=text(layout.ISSUER),
        issue_date=collect(parse_date(text(layout.ISSUE_DATE), layout.ISSUE_DATE.name)),
        expiry_date=collect(
            parse_date(
                text(layout.EXPIRY_DATE), layout.EXPIRY_DATE.name, allow_lifetime=True
            )
        ),
        address=collect(parse_address(text(layout.ADDRESS))),
        card_number=collect(parse_card_number(text(layout.CARD_NUMBER))),
        warnings=tuple(warnings),
    )


def parse_gender(text: str) -> tuple[Gender, list[FieldWarning]]:
    """Map the gender byte ``1`` to male and ``2`` to female.

    Any other value gives ``None`` beside the raw text and ``GENDER_UNKNOWN``.
    """
    value = GENDER_CODES.get(text)
    if value is None:
        warning = FieldWarning(
            layout.GENDER.name, "GENDER_UNKNOWN", "The gender code is not 1 or 2"
        )
        return Gender(text, None), [warning]
    return Gender(text, value), []


def _gender_byte(raw: bytes) -> str:
    """Decode the one-byte gender field without cutting padding.

    The padding bytes 0x20 and 0x00 are unknown gender codes here, so the
    byte is kept as it is rather than cut to an empty string.
    """
    return raw[:1].decode("tis_620", errors="replace")


def _undecodable_warning(field: str) -> FieldWarning:
    return FieldWarning(
        field,
        "TEXT_UNDECODABLE",
        "The field contains bytes that are not TIS-620 and were replaced with U+FFFD",
    )
