"""The JSON of the card model matches the protocol's JSON Schema."""

from typing import Any

import jsonschema
import pytest
import referencing

from trayagent import schemas
from trayagent.card import layout
from trayagent.card.personal import decode_personal_data
from trayagent.card.photo import decode_photo

from .cards import TEST_PERSON, build_jpeg, text_field

_COMMON = schemas.load_schema("common")
_REGISTRY = referencing.Registry().with_resources(
    (uri, referencing.Resource.from_contents(schema))
    for uri, schema in schemas.load_all().items()
)


def _validate(instance: dict[str, Any], definition: str) -> None:
    schema = {"$ref": f"{_COMMON['$id']}#/$defs/{definition}"}
    jsonschema.Draft202012Validator(schema, registry=_REGISTRY).validate(instance)


def _raw_fields(**overrides: bytes) -> dict[str, bytes]:
    raw = {
        field.name: text_field(getattr(TEST_PERSON, field.name), field)
        for field in layout.TEXT_FIELDS
    }
    raw.update(overrides)
    return raw


CARDS = {
    "complete": {},
    "lifetime": {"expiry_date": b"99999999"},
    "year only birth date": {"birth_date": b"25200000"},
    "broken": {
        "citizen_id": b"1234567890122",
        "name_en": b"Mr.#Test",
        "birth_date": b"2520AB15",
        "gender": b"9",
        "issuer": b"\xa1\xfc",
        "address": b"12/3#\xe0\xab",
        "card_number": b"1234",
    },
    "blank": {field.name: b" " * field.length for field in layout.TEXT_FIELDS},
}


@pytest.mark.parametrize("overrides", CARDS.values(), ids=CARDS.keys())
def test_personal_json_matches_schema(overrides: dict[str, bytes]) -> None:
    personal = decode_personal_data(_raw_fields(**overrides))
    _validate(personal.to_json(), "card")


def test_broken_card_warning_codes() -> None:
    personal = decode_personal_data(_raw_fields(**CARDS["broken"]))
    assert [(warning.field, warning.code) for warning in personal.warnings] == [
        ("citizen_id", "CITIZEN_ID_CHECKSUM"),
        ("name_en", "NAME_INCOMPLETE"),
        ("birth_date", "DATE_INVALID"),
        ("gender", "GENDER_UNKNOWN"),
        ("issuer", "TEXT_UNDECODABLE"),
        ("address", "ADDRESS_INCOMPLETE"),
        ("card_number", "CARD_NUMBER_INVALID"),
    ]


@pytest.mark.parametrize(
    "area",
    [
        build_jpeg(4312).ljust(layout.PHOTO.length, b"\x00"),
        build_jpeg(layout.PHOTO.length + 10)[: layout.PHOTO.length],
    ],
    ids=["complete", "incomplete"],
)
def test_photo_json_matches_schema(area: bytes) -> None:
    _validate(decode_photo(area).to_json(), "photo")
