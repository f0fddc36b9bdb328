"""The JSON of the card model matches the protocol's JSON Schema."""

from typing import Any

import jsonschema
import pytest
import referencing

from trayagent import schemas
from trayagent.card import layout
from trayagent.card.laser import decode_laser_id
from trayagent.card.nhso import FIELDS as NHSO_FIELDS
from trayagent.card.nhso import decode_nhso_data
from trayagent.card.personal import decode_personal_data
from trayagent.card.photo import decode_photo

from .applets import TEST_NHSO, long_laser, short_laser
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


def _validate_message(message: dict[str, Any]) -> None:
    schema = schemas.load_schema(message["type"])
    jsonschema.Draft202012Validator(schema, registry=_REGISTRY).validate(message)


def _optional_message(kind: str, name: str, data: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "time": "2026-01-02T03:04:05.678+07:00",
        "reader": "ACS ACR39U ICC Reader 00 00",
        name: data,
        "duration_ms": 40,
    }


LASER_RESPONSES = {
    "short": short_laser(),
    "long": long_laser(),
    "long unpadded": long_laser()[:19],
    "invalid": b"XY12".ljust(16, b"\x00"),
    "empty": b"\x00" * 16,
    "long invalid": long_laser("ab12")[:11],
}


@pytest.mark.parametrize("response", LASER_RESPONSES.values(), ids=LASER_RESPONSES)
def test_laser_message_matches_schema(response: bytes) -> None:
    laser = decode_laser_id(response).to_json()
    _validate(laser, "laser")
    _validate_message(_optional_message("card.laser", "laser", laser))


def test_laser_null_code_with_warning_matches_schema() -> None:
    laser = decode_laser_id(LASER_RESPONSES["invalid"]).to_json()
    assert laser["code"] is None
    assert laser["warnings"][0]["code"] == "LASER_ID_INVALID"
    _validate_message(_optional_message("card.laser", "laser", laser))


def test_laser_header_rejects_other_text() -> None:
    laser = decode_laser_id(long_laser()).to_json()
    laser["header"] = "010000"
    with pytest.raises(jsonschema.ValidationError):
        _validate(laser, "laser")


def _nhso_fields(**overrides: bytes) -> dict[str, bytes]:
    raw = {
        entry.name: TEST_NHSO[entry.name].ljust(entry.length, b" ")
        for entry in NHSO_FIELDS
    }
    raw.update(overrides)
    return raw


NHSO_CARDS = {
    "complete": {},
    "lifetime": {"expiry_date": b"99999999"},
    "unreadable changes": {"hospital_changes": b"\xff"},
    "broken dates": {"issue_date": b"2565AB01", "update_date": b"25660000"},
    "blank": {entry.name: b" " * entry.length for entry in NHSO_FIELDS},
}


@pytest.mark.parametrize("overrides", NHSO_CARDS.values(), ids=NHSO_CARDS)
def test_nhso_message_matches_schema(overrides: dict[str, bytes]) -> None:
    nhso = decode_nhso_data(_nhso_fields(**overrides)).to_json()
    _validate(nhso, "nhso")
    _validate_message(_optional_message("card.nhso", "nhso", nhso))


def test_nhso_null_changes_with_warning_matches_schema() -> None:
    nhso = decode_nhso_data(_nhso_fields(**NHSO_CARDS["unreadable changes"])).to_json()
    assert nhso["hospital_changes"] is None
    assert [warning["field"] for warning in nhso["warnings"]] == ["hospital_changes"]
    _validate_message(_optional_message("card.nhso", "nhso", nhso))


@pytest.mark.parametrize(
    ("kind", "name"), [("card.laser", "laser"), ("card.nhso", "nhso")]
)
def test_failed_optional_read_matches_schema(kind: str, name: str) -> None:
    message = _optional_message(kind, name, None)
    del message["duration_ms"]
    message["error"] = {"code": "APPLET_NOT_FOUND", "message": "No such applet."}
    _validate_message(message)
