"""The fictional people of the simulated card are valid card data."""

import io
import re

import pytest
from PIL import Image

from trayagent.simcard import photo
from trayagent.simcard.people import (
    LARGE_PHOTO_LENGTH,
    PEOPLE,
    citizen_id_check_digit,
)

PHOTO_AREA = 5118
DATE_PATTERN = re.compile(r"\d{8}")


def tis620_length(text: str) -> int:
    return len(text.encode("tis-620"))


@pytest.mark.parametrize("person", PEOPLE.values(), ids=PEOPLE.keys())
def test_citizen_id_checksum(person):
    assert re.fullmatch(r"\d{13}", person.citizen_id)
    assert citizen_id_check_digit(person.citizen_id[:12]) == int(person.citizen_id[12])


@pytest.mark.parametrize(
    ("first_twelve", "check_digit"),
    [("110170020345", 0), ("350990012764", 1), ("123456789012", 1)],
)
def test_check_digit_examples(first_twelve, check_digit):
    assert citizen_id_check_digit(first_twelve) == check_digit


def test_citizen_ids_unique():
    ids = [person.citizen_id for person in PEOPLE.values()]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("person", PEOPLE.values(), ids=PEOPLE.keys())
def test_fields_fit_card(person):
    assert person.name_th.count("#") == 3
    assert person.name_en.count("#") == 3
    assert person.name_en.isascii()
    assert tis620_length(person.name_th) <= 100
    assert tis620_length(person.issuer) <= 100
    assert tis620_length(person.address) <= 160
    assert person.address.count("#") == 7
    assert person.gender in ("1", "2")
    assert re.fullmatch(r"\d{14}", person.card_number)
    for date in (person.birth_date, person.issue_date, person.expiry_date):
        assert DATE_PATTERN.fullmatch(date)


def test_one_person_with_middle_name():
    middle_names = [p.name_th.split("#")[2] for p in PEOPLE.values()]
    assert sum(1 for name in middle_names if name) == 1


def test_year_only_birth_date():
    assert "25200000" in {person.birth_date for person in PEOPLE.values()}


def test_lifetime_expiry():
    assert "99999999" in {person.expiry_date for person in PEOPLE.values()}


def test_bangkok_address():
    slots = PEOPLE["jaidee"].address.split("#")
    assert slots[5].startswith("แขวง")
    assert slots[6].startswith("เขต")
    assert slots[7] == "กรุงเทพมหานคร"


def test_rural_address():
    slots = PEOPLE["rakdee"].address.split("#")
    assert slots[1].startswith("หมู่ที่ ")
    assert slots[5].startswith("ตำบล")
    assert slots[6].startswith("อำเภอ")
    assert slots[7].startswith("จังหวัด")


def test_long_address_exceeds_100_bytes():
    length = tis620_length(PEOPLE["mankhong"].address)
    assert 140 <= length <= 160


@pytest.mark.parametrize("person", PEOPLE.values(), ids=PEOPLE.keys())
def test_photo_is_jpeg(person):
    data = person.photo
    assert data.startswith(b"\xff\xd8")
    assert data.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "JPEG"


@pytest.mark.parametrize(
    "person",
    [p for p in PEOPLE.values() if p.photo_length is None],
    ids=lambda person: person.key,
)
def test_photo_size_typical(person):
    assert 3000 <= len(person.photo) <= 5000


def test_large_photo_needs_full_area():
    sizes = [len(person.photo) for person in PEOPLE.values()]
    assert LARGE_PHOTO_LENGTH in sizes
    assert 5100 < LARGE_PHOTO_LENGTH <= PHOTO_AREA


def test_photo_deterministic():
    first = photo._render_photo.__wrapped__(7, None)
    second = photo._render_photo.__wrapped__(7, None)
    assert first == second


def test_photo_padding_rejects_small_length():
    with pytest.raises(ValueError, match="does not fit"):
        photo.render_photo(1, 100)


def test_repr_hides_personal_fields():
    person = PEOPLE["jaidee"]
    text = repr(person)
    assert person.citizen_id not in text
    assert "ทดสอบ" not in text
    assert text == "Person(key='jaidee')"
