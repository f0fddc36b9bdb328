"""Layout of the personal applet's file image."""

import pytest

from trayagent.simcard.image import (
    FIELDS,
    FIELDS_BY_NAME,
    FILE_SIZE,
    build_file,
    encode_person,
    field_bytes,
)
from trayagent.simcard.people import JAIDEE, MANKHONG

LAYOUT = [
    ("citizen_id", 0x0004, 13),
    ("name_th", 0x0011, 100),
    ("name_en", 0x0075, 100),
    ("birth_date", 0x00D9, 8),
    ("gender", 0x00E1, 1),
    ("issuer", 0x00F6, 100),
    ("issue_date", 0x0167, 8),
    ("expiry_date", 0x016F, 8),
    ("photo", 0x017B, 5118),
    ("address", 0x1579, 160),
    ("card_number", 0x1619, 14),
]


@pytest.mark.parametrize(("name", "offset", "length"), LAYOUT)
def test_field_layout(name, offset, length):
    assert FIELDS_BY_NAME[name].offset == offset
    assert FIELDS_BY_NAME[name].length == length


def test_fields_do_not_overlap():
    ordered = sorted(FIELDS, key=lambda entry: entry.offset)
    for before, after in zip(ordered[:-1], ordered[1:], strict=True):
        assert before.end <= after.offset


def test_file_covers_last_field():
    assert FILE_SIZE >= max(entry.end for entry in FIELDS)
    assert len(encode_person(JAIDEE)) == FILE_SIZE


def test_citizen_id_bytes():
    image = encode_person(JAIDEE)
    assert image[0x0004:0x0011] == JAIDEE.citizen_id.encode("ascii")


def test_text_padded_with_spaces():
    value = field_bytes(encode_person(JAIDEE), "name_th")
    encoded = JAIDEE.name_th.encode("tis-620")
    assert value.startswith(encoded)
    assert value[len(encoded) :] == b" " * (100 - len(encoded))


def test_thai_text_round_trip():
    value = field_bytes(encode_person(JAIDEE), "address")
    assert value.decode("tis-620").rstrip(" ") == JAIDEE.address


def test_photo_padded_with_zeros():
    value = field_bytes(encode_person(JAIDEE), "photo")
    photo = JAIDEE.photo
    assert value[: len(photo)] == photo
    assert value[len(photo) :] == bytes(5118 - len(photo))


def test_large_photo_extends_past_5100_bytes():
    value = field_bytes(encode_person(MANKHONG), "photo")
    photo = MANKHONG.photo
    assert len(photo) > 5100
    assert value[5100 : len(photo)] == photo[5100:]


def test_long_address_cut_by_100_byte_read():
    value = field_bytes(encode_person(MANKHONG), "address")
    assert value[100:].strip(b" ")


def test_gaps_filled_with_zeros():
    image = encode_person(JAIDEE)
    assert image[0x0000:0x0004] == bytes(4)
    assert image[0x00E2:0x00F6] == bytes(0x00F6 - 0x00E2)


def test_override_uses_raw_bytes():
    image = encode_person(JAIDEE, birth_date=b"2530XX15", gender=b"\xff")
    assert field_bytes(image, "birth_date") == b"2530XX15"
    assert field_bytes(image, "gender") == b"\xff"
    assert field_bytes(image, "citizen_id") == JAIDEE.citizen_id.encode("ascii")


def test_override_short_value_padded():
    image = encode_person(JAIDEE, citizen_id=b"123")
    assert field_bytes(image, "citizen_id") == b"123" + b" " * 10


def test_override_too_long_rejected():
    with pytest.raises(ValueError, match="citizen_id is too long: 14 bytes"):
        encode_person(JAIDEE, citizen_id=b"1" * 14)


def test_override_unknown_field_rejected():
    with pytest.raises(ValueError, match="Unknown field names: nickname"):
        encode_person(JAIDEE, nickname=b"x")


def test_build_file_pads_missing_fields():
    image = build_file({"citizen_id": b"1101700203450"})
    assert field_bytes(image, "name_en") == b" " * 100
    assert field_bytes(image, "photo") == bytes(5118)
