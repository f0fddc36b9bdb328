"""Command builders, status words and response chaining."""

import pytest

from trayagent.card.apdu import (
    build_apdu,
    get_response_apdu,
    get_response_p2,
    read_binary_apdu,
    select_apdu,
    select_applet,
    transmit_chained,
    with_le,
)
from trayagent.card.errors import ApduError
from trayagent.card.layout import PERSONAL_AID
from trayagent.card.sw import SW, describe_sw

from .fakes import FakeConnection, Script, compact


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        (select_apdu(PERSONAL_AID), "00A4040008A000000054480001"),
        (read_binary_apdu(0x0004, 13), "80B0000402000D"),
        (read_binary_apdu(0x1579, 160), "80B015790200A0"),
        (read_binary_apdu(0x017B, 255), "80B0017B0200FF"),
        (get_response_apdu(0x0D), "00C000000D"),
        (get_response_apdu(0x0D, p2=0x01), "00C000010D"),
        (get_response_apdu(0x00), "00C0000000"),
        (build_apdu(0x00, 0xB0, 0x00, 0x00, le=256), "00B0000000"),
        (build_apdu(0x00, 0x84, 0x00, 0x00), "00840000"),
    ],
)
def test_builders_encode(apdu: bytes, expected: str) -> None:
    assert apdu.hex().upper() == expected


@pytest.mark.parametrize(("offset", "length"), [(0x8000, 1), (-1, 1), (0, 0), (0, 256)])
def test_read_binary_rejects_range(offset: int, length: int) -> None:
    with pytest.raises(ValueError):
        read_binary_apdu(offset, length)


def test_build_apdu_rejects_long_data() -> None:
    with pytest.raises(ValueError):
        build_apdu(0x00, 0xA4, 0x04, 0x00, bytes(256))


@pytest.mark.parametrize(
    ("atr", "p2"),
    [
        ("3B6700002920006F789000", 0x01),
        ("3B67", 0x01),
        ("3B7818000073C84013009000", 0x00),
        ("3B68", 0x00),
        ("3B", 0x00),
        ("", 0x00),
    ],
)
def test_get_response_p2_from_atr(atr: str, p2: int) -> None:
    assert get_response_p2(bytes.fromhex(atr)) == p2


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00C0000064", "00C000000D"),
        ("00840000", "008400000D"),
        ("00A4040002AABB", "00A4040002AABB0D"),
        ("80B000040200FF", "80B000040200FF0D"),
        ("80B000040200FF64", "80B000040200FF0D"),
    ],
)
def test_with_le_sets_le(apdu: str, expected: str) -> None:
    assert with_le(bytes.fromhex(apdu), 0x0D).hex().upper() == expected


@pytest.mark.parametrize("apdu", ["00C000", "00A4040003AABB", "00A4040001AABBCCDD"])
def test_with_le_rejects_malformed(apdu: str) -> None:
    with pytest.raises(ValueError):
        with_le(bytes.fromhex(apdu), 0x0D)


def test_sw_keeps_unknown_values() -> None:
    assert SW(0x6283) == 0x6283


def test_sw_shows_unknown_in_hex() -> None:
    assert describe_sw(0x6283) == "SW=0x6283"


def test_sw_shows_known_name() -> None:
    assert describe_sw(0x6A82) == "SW=0x6A82 (FILE_NOT_FOUND)"


def test_sw_splits_bytes() -> None:
    status = SW(0x610D)
    assert status.sw1 == 0x61
    assert status.sw2 == 0x0D


def test_apdu_error_names_field_and_sw() -> None:
    assert str(ApduError(0x6B00, "citizen_id")) == (
        "citizen_id failed: SW=0x6B00 (WRONG_P1_P2)"
    )


def _chain(script: list[tuple[str, str]], apdu: str, p2: int = 0x00) -> tuple:
    conn = FakeConnection(Script(script))
    data = transmit_chained(
        conn, bytes.fromhex(apdu), what="citizen_id", get_response_p2=p2
    )
    return data, conn.sent


CHAINING_CASES = {
    "get response with offered length": (
        [("80B0000402000D", "610A"), ("00C000000A", "31323334353637383930 9000")],
        0x00,
        "31323334353637383930",
    ),
    "get response p2 01": (
        [("80B0000402000D", "610D"), ("00C000010D", "31323334353637383930313231 9000")],
        0x01,
        "31323334353637383930313231",
    ),
    "t1 data with 9000": (
        [("80B0000402000D", "31323334353637383930313231 9000")],
        0x00,
        "31323334353637383930313231",
    ),
    "6cxx repeats get response": (
        [
            ("80B0000402000D", "610D"),
            ("00C000000D", "6C0C"),
            ("00C000000C", "313233343536373839303132 9000"),
        ],
        0x00,
        "313233343536373839303132",
    ),
    "6cxx repeats read binary": (
        [
            ("80B0000402000D", "6C0D"),
            ("80B0000402000D0D", "31323334353637383930313231 9000"),
        ],
        0x00,
        "31323334353637383930313231",
    ),
    "61xx after get response": (
        [
            ("80B0000402000D", "6108"),
            ("00C0000008", "3132333435363738 6105"),
            ("00C0000005", "3930313231 9000"),
        ],
        0x00,
        "31323334353637383930313231",
    ),
    "6100 offers 256 bytes": (
        [("80B0000402000D", "6100"), ("00C0000000", "31 9000")],
        0x00,
        "31",
    ),
}


@pytest.mark.parametrize(
    ("script", "p2", "expected"), CHAINING_CASES.values(), ids=CHAINING_CASES.keys()
)
def test_chaining_sends_and_returns(
    script: list[tuple[str, str]], p2: int, expected: str
) -> None:
    data, sent = _chain(script, "80B0000402000D", p2)
    assert data.hex().upper() == expected
    assert sent == [compact(command) for command, _ in script]


def test_chaining_repeats_6cxx_once() -> None:
    script = [
        ("80B0000402000D", "610D"),
        ("00C000000D", "6C0C"),
        ("00C000000C", "6C0B"),
    ]
    with pytest.raises(ApduError) as raised:
        _chain(script, "80B0000402000D")
    assert raised.value.sw == 0x6C0B


@pytest.mark.parametrize("sw", ["6B00", "6700", "6F00", "6283"])
def test_chaining_other_sw_raises(sw: str) -> None:
    with pytest.raises(ApduError) as raised:
        _chain([("80B0000402000D", sw)], "80B0000402000D")
    assert raised.value.sw == int(sw, 16)
    assert raised.value.what == "citizen_id"
    assert f"SW=0x{sw}" in str(raised.value)


def test_chaining_failed_get_response_raises() -> None:
    script = [("80B0000402000D", "610D"), ("00C000000D", "6B00")]
    with pytest.raises(ApduError) as raised:
        _chain(script, "80B0000402000D")
    assert raised.value.sw == 0x6B00


def test_chaining_stops_endless_61xx() -> None:
    script = [("80B0000402000D", "6101")] + [("00C0000001", "00 6101")] * 63
    with pytest.raises(ApduError):
        _chain(script, "80B0000402000D")


@pytest.mark.parametrize("sw", ["9000", "610A"])
def test_select_accepts(sw: str) -> None:
    conn = FakeConnection(Script([("00A4040008A000000054480001", sw)]))
    select_applet(conn, PERSONAL_AID, what="SELECT")
    assert conn.sent == ["00A4040008A000000054480001"]


@pytest.mark.parametrize("sw", ["6A82", "6D00", "6E00", "6999"])
def test_select_rejects(sw: str) -> None:
    conn = FakeConnection(Script([("00A4040008A000000054480001", sw)]))
    with pytest.raises(ApduError) as raised:
        select_applet(conn, PERSONAL_AID, what="SELECT")
    assert raised.value.sw == int(sw, 16)
