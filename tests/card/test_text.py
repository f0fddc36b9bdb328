"""TIS-620 decoding and padding."""

import pytest

from trayagent.card.text import decode_tis620, strip_padding


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("A1", "ก"),
        ("FB", "๛"),
        ("DA", "\u0e3a"),
        ("DF", "฿"),
        ("CBC1D9E8B7D5E8", "หมู่ที่"),
        ("31323334", "1234"),
    ],
)
def test_decode_valid_bytes(raw: str, text: str) -> None:
    decoded = decode_tis620(bytes.fromhex(raw))
    assert decoded.text == text
    assert not decoded.undecodable


@pytest.mark.parametrize(
    "byte", [0x80, 0x9F, 0xA0, 0xDB, 0xDC, 0xDD, 0xDE, 0xFC, 0xFD, 0xFE, 0xFF]
)
def test_decode_unassigned_byte(byte: int) -> None:
    decoded = decode_tis620(bytes((0xA1, byte, 0xA2)))
    assert decoded.text == "ก\ufffdข"
    assert decoded.undecodable


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("A1202020", "A1"),
        ("A1000000", "A1"),
        ("A1200020 00", "A1"),
        ("A12020A2", "A12020A2"),
        ("A10000A2", "A10000A2"),
        ("2020A1", "2020A1"),
        ("20200000", ""),
        ("", ""),
    ],
)
def test_strip_padding_cuts_trailing_only(raw: str, kept: str) -> None:
    assert strip_padding(bytes.fromhex(raw)) == bytes.fromhex(kept)


def test_decode_keeps_interior_spaces() -> None:
    assert decode_tis620(b"12/3  4   ").text == "12/3  4"


def test_decode_empty_field() -> None:
    decoded = decode_tis620(b" " * 100)
    assert decoded.text == ""
    assert not decoded.undecodable
