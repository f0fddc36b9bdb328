"""Addresses from the ``#`` separated address field."""

import pytest

from trayagent.card import layout
from trayagent.card.address import parse_address

from .cards import text_field

NONE = {
    "house_no": None,
    "moo": None,
    "trok": None,
    "soi": None,
    "road": None,
    "extra": [],
    "subdistrict": None,
    "district": None,
    "province": None,
}

ADDRESSES = {
    "rural with moo": (
        "12/3#หมู่ที่ 4####ตำบลบ้านทดสอบ#อำเภอเมืองทดสอบ#จังหวัดทดสอบ",
        {
            "house_no": "12/3",
            "moo": "หมู่ที่ 4",
            "subdistrict": "ตำบลบ้านทดสอบ",
            "district": "อำเภอเมืองทดสอบ",
            "province": "จังหวัดทดสอบ",
        },
    ),
    "bangkok": (
        "99/1#####แขวงทดลอง#เขตทดลอง#กรุงเทพมหานคร",
        {
            "house_no": "99/1",
            "subdistrict": "แขวงทดลอง",
            "district": "เขตทดลอง",
            "province": "กรุงเทพมหานคร",
        },
    ),
    "bangkok soi and road": (
        "45#ซอยทดลอง 7#ถนนทดลอง###แขวงทดลอง#เขตทดลอง#กรุงเทพมหานคร",
        {
            "house_no": "45",
            "soi": "ซอยทดลอง 7",
            "road": "ถนนทดลอง",
            "subdistrict": "แขวงทดลอง",
            "district": "เขตทดลอง",
            "province": "กรุงเทพมหานคร",
        },
    ),
    "trok": (
        "8#ตรอกทดลอง####แขวงทดลอง#เขตทดลอง#กรุงเทพมหานคร",
        {
            "house_no": "8",
            "trok": "ตรอกทดลอง",
            "subdistrict": "แขวงทดลอง",
            "district": "เขตทดลอง",
            "province": "กรุงเทพมหานคร",
        },
    ),
    "road before soi": (
        "8#ถนนทดลอง#ซอย 3###ตำบลทดลอง#อำเภอทดลอง#จังหวัดทดลอง",
        {
            "house_no": "8",
            "soi": "ซอย 3",
            "road": "ถนนทดลอง",
            "subdistrict": "ตำบลทดลอง",
            "district": "อำเภอทดลอง",
            "province": "จังหวัดทดลอง",
        },
    ),
    "moo and soi": (
        "7/1#หมู่ที่ 2##ซอยทดลอง##ตำบลทดลอง#อำเภอทดลอง#จังหวัดทดลอง",
        {
            "house_no": "7/1",
            "moo": "หมู่ที่ 2",
            "soi": "ซอยทดลอง",
            "subdistrict": "ตำบลทดลอง",
            "district": "อำเภอทดลอง",
            "province": "จังหวัดทดลอง",
        },
    ),
    "unlabelled village": (
        "5#หมู่ที่ 9#บ้านหนองทดลอง###ตำบลทดลอง#อำเภอทดลอง#จังหวัดทดลอง",
        {
            "house_no": "5",
            "moo": "หมู่ที่ 9",
            "extra": ["บ้านหนองทดลอง"],
            "subdistrict": "ตำบลทดลอง",
            "district": "อำเภอทดลอง",
            "province": "จังหวัดทดลอง",
        },
    ),
    "village name starting like moo": (
        "5#หมู่บ้านทดลอง#ตำบลทดลอง#อำเภอทดลอง#จังหวัดทดลอง",
        {
            "house_no": "5",
            "extra": ["หมู่บ้านทดลอง"],
            "subdistrict": "ตำบลทดลอง",
            "district": "อำเภอทดลอง",
            "province": "จังหวัดทดลอง",
        },
    ),
    "bangkok without province": (
        "99/1#ซอยทดลอง 3####แขวงทดลอง#เขตทดลอง",
        {
            "house_no": "99/1",
            "soi": "ซอยทดลอง 3",
            "subdistrict": "แขวงทดลอง",
            "district": "เขตทดลอง",
        },
    ),
    "bangkok village without province": (
        "99/1#อาคารทดลอง#แขวงทดลอง#เขตทดลอง",
        {
            "house_no": "99/1",
            "extra": ["อาคารทดลอง"],
            "subdistrict": "แขวงทดลอง",
            "district": "เขตทดลอง",
        },
    ),
    "two soi slots": (
        "5#ซอยหนึ่ง#ซอยสอง#ตำบลทดลอง#อำเภอทดลอง#จังหวัดทดลอง",
        {
            "house_no": "5",
            "soi": "ซอยหนึ่ง",
            "extra": ["ซอยสอง"],
            "subdistrict": "ตำบลทดลอง",
            "district": "อำเภอทดลอง",
            "province": "จังหวัดทดลอง",
        },
    ),
}


@pytest.mark.parametrize(("text", "parts"), ADDRESSES.values(), ids=ADDRESSES.keys())
def test_address_parts(text: str, parts: dict) -> None:
    address, warnings = parse_address(text)
    result = address.to_json()
    for key, value in (NONE | parts).items():
        assert result[key] == value, key
    assert warnings == []


def test_address_keeps_raw() -> None:
    text = ADDRESSES["rural with moo"][0]
    address, _ = parse_address(text)
    assert address.raw == text


def test_address_full_single_spaces() -> None:
    address, _ = parse_address(ADDRESSES["moo and soi"][0])
    assert address.full == ("7/1 หมู่ที่ 2 ซอยทดลอง ตำบลทดลอง อำเภอทดลอง จังหวัดทดลอง")


LONG_ADDRESS = (
    "199/99#หมู่ที่ 12#บ้านหนองน้ำใสทดลองยาว#ซอยทดลองยาวมาก 15#ถนนทดลองสายยาว"
    "#ตำบลทดลองยาวมาก#อำเภอทดลองยาวมากที่สุด#จังหวัดทดลองยาว"
)


def test_long_address_needs_160_bytes() -> None:
    length = len(LONG_ADDRESS.encode("tis_620"))
    assert 100 < length <= layout.ADDRESS.length


def test_long_address_parts() -> None:
    address, warnings = parse_address(LONG_ADDRESS)
    assert address.moo == "หมู่ที่ 12"
    assert address.extra == ("บ้านหนองน้ำใสทดลองยาว",)
    assert address.soi == "ซอยทดลองยาวมาก 15"
    assert address.road == "ถนนทดลองสายยาว"
    assert address.subdistrict == "ตำบลทดลองยาวมาก"
    assert address.district == "อำเภอทดลองยาวมากที่สุด"
    assert address.province == "จังหวัดทดลองยาว"
    assert warnings == []


def test_long_address_cut_at_100_bytes() -> None:
    cut = text_field(LONG_ADDRESS, layout.ADDRESS)[:100].decode("tis_620")
    address, warnings = parse_address(cut)
    assert address.province is None
    assert [warning.code for warning in warnings] == ["ADDRESS_INCOMPLETE"]


INCOMPLETE_ADDRESSES = {
    "house number only": ("7", {"house_no": "7"}),
    "empty": ("", {}),
    "separators only": ("#######", {}),
    "bangkok without district": (
        "99/1#แขวงทดลอง#กรุงเทพมหานคร",
        {"house_no": "99/1", "subdistrict": "แขวงทดลอง", "province": "กรุงเทพมหานคร"},
    ),
    "no province": (
        "12#ตำบลทดลอง#อำเภอทดลอง",
        {"house_no": "12", "subdistrict": "ตำบลทดลอง", "district": "อำเภอทดลอง"},
    ),
    "cut after moo": (
        "12#หมู่ที่ 4#ตำบลทดลอง#อำเภอทด",
        {
            "house_no": "12",
            "moo": "หมู่ที่ 4",
            "subdistrict": "ตำบลทดลอง",
            "district": "อำเภอทด",
        },
    ),
    "village before missing province": (
        "5#บ้านทดลอง#ตำบลทดลอง#อำเภอทดลอง",
        {
            "house_no": "5",
            "extra": ["บ้านทดลอง"],
            "subdistrict": "ตำบลทดลอง",
            "district": "อำเภอทดลอง",
        },
    ),
}


@pytest.mark.parametrize(
    ("text", "parts"),
    INCOMPLETE_ADDRESSES.values(),
    ids=INCOMPLETE_ADDRESSES.keys(),
)
def test_address_incomplete_warns(text: str, parts: dict) -> None:
    address, warnings = parse_address(text)
    result = address.to_json()
    for key, value in (NONE | parts).items():
        assert result[key] == value, key
    assert [warning.code for warning in warnings] == ["ADDRESS_INCOMPLETE"]
    assert warnings[0].field == "address"
