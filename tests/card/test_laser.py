"""The laser ID read: its APDUs, both response forms, errors and retries."""

import logging

import pytest

from trayagent.card.errors import (
    ApduError,
    CardError,
    CardReadTimeoutError,
    CardRemovedError,
    OptionalAppletMissingError,
    TransientCardError,
)
from trayagent.card.laser import LaserId, decode_laser_id, read_laser_id

from .applets import LASER_COMMAND, SELECT_LASER, long_laser, short_laser
from .fakes import ATR_3B67, FakeClock, FakeConnection, Script

CODE_HEX = b"JT1234567890".hex().upper()
SHORT_HEX = short_laser().hex().upper()
LONG_HEX = long_laser().hex().upper()
EXPECTED_JSON = {
    "code": "JT1-2345678-90",
    "raw": "JT1234567890",
    "form": "short",
    "header": None,
    "warnings": [],
}


def _short_script() -> Script:
    return Script(
        [
            (SELECT_LASER, "610A"),
            (LASER_COMMAND, "6110"),
            ("00C0000010", SHORT_HEX + "9000"),
        ]
    )


# The sequence


@pytest.mark.parametrize(
    ("exchanges", "form"),
    [
        (
            [
                (SELECT_LASER, "610A"),
                (LASER_COMMAND, "6110"),
                ("00C0000010", SHORT_HEX + "9000"),
            ],
            "short",
        ),
        (
            [
                (SELECT_LASER, "610A"),
                (LASER_COMMAND, "6117"),
                ("00C0000017", LONG_HEX + "9000"),
            ],
            "long",
        ),
        (
            [
                (SELECT_LASER, "9000"),
                (LASER_COMMAND, "6110"),
                ("00C0000010", SHORT_HEX + "9000"),
            ],
            "short",
        ),
        (
            [(SELECT_LASER, "9000"), (LASER_COMMAND, SHORT_HEX + "9000")],
            "short",
        ),
        (
            [(SELECT_LASER, "9000"), (LASER_COMMAND, LONG_HEX + "9000")],
            "long",
        ),
        (
            [
                (SELECT_LASER, "610A"),
                (LASER_COMMAND, "6C10"),
                ("8000000010", SHORT_HEX + "9000"),
            ],
            "short",
        ),
        (
            [
                (SELECT_LASER, "610A"),
                (LASER_COMMAND, "6C17"),
                ("8000000017", "6117"),
                ("00C0000017", LONG_HEX + "9000"),
            ],
            "long",
        ),
    ],
    ids=["t0-short", "t0-long", "select-9000", "t1-short", "t1-long", "6c", "6c-61"],
)
def test_laser_response_forms(exchanges: list[tuple[str, str]], form: str) -> None:
    script = Script(exchanges)
    result = read_laser_id(FakeConnection(script))
    assert result.code == "JT1-2345678-90"
    assert result.raw == "JT1234567890"
    assert result.form == form
    assert result.warnings == ()
    assert (result.header is not None) is (form == "long")
    assert script.remaining == 0


def test_laser_in_own_transaction() -> None:
    conn = FakeConnection(_short_script())
    read_laser_id(conn)
    assert conn.events == [
        "begin",
        SELECT_LASER,
        LASER_COMMAND,
        "00C0000010",
        "end",
    ]


def test_laser_atr_3b67_uses_p2_01() -> None:
    script = Script(
        [
            (SELECT_LASER, "610A"),
            (LASER_COMMAND, "6117"),
            ("00C0000117", LONG_HEX + "9000"),
        ]
    )
    result = read_laser_id(FakeConnection(script, atr=ATR_3B67))
    assert result.code == "JT1-2345678-90"
    assert script.remaining == 0


def test_laser_to_json() -> None:
    result = read_laser_id(FakeConnection(_short_script()))
    assert result.to_json() == EXPECTED_JSON


# Decoding


@pytest.mark.parametrize(
    ("response", "raw", "code", "form"),
    [
        (CODE_HEX + "00000000", "JT1234567890", "JT1-2345678-90", "short"),
        (CODE_HEX + "20202020", "JT1234567890", "JT1-2345678-90", "short"),
        (CODE_HEX + "00200000", "JT1234567890", "JT1-2345678-90", "short"),
        (CODE_HEX, "JT1234567890", "JT1-2345678-90", "short"),
        (
            "AABBCCDDEEFF11" + CODE_HEX + "00000000",
            "JT1234567890",
            "JT1-2345678-90",
            "long",
        ),
        (
            "0100000000000C" + CODE_HEX + "0000000000",
            "JT1234567890",
            "JT1-2345678-90",
            "long",
        ),
    ],
    ids=["nul", "space", "mixed", "unpadded", "long-header", "long-longer"],
)
def test_decode_valid(response: str, raw: str, code: str, form: str) -> None:
    result = decode_laser_id(bytes.fromhex(response))
    assert result.raw == raw
    assert result.code == code
    assert result.form == form
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("response", "raw"),
    [
        (b"AB12345".ljust(16, b"\x00"), "AB12345"),
        (b"ab1234567890".ljust(16, b"\x00"), "ab1234567890"),
        (b"AB12345678901".ljust(16, b"\x00"), "AB12345678901"),
        (b"A11234567890".ljust(16, b"\x00"), "A11234567890"),
        (b"ABC234567890".ljust(16, b"\x00"), "ABC234567890"),
        (b"AB12 4567890".ljust(16, b"\x00"), "AB12 4567890"),
        ("AB๑234567890".encode("tis_620").ljust(16, b"\x00"), "AB๑234567890"),
        (b"AB12\x00\x0034567890\x00\x00", "AB12\x00\x0034567890"),
    ],
    ids=[
        "short",
        "lower",
        "long",
        "one-letter",
        "three-letters",
        "space",
        "thai",
        "nul",
    ],
)
def test_decode_malformed_keeps_raw(response: bytes, raw: str) -> None:
    result = decode_laser_id(response)
    assert result.raw == raw
    assert result.code is None
    assert [(w.field, w.code) for w in result.warnings] == [
        ("laser_id", "LASER_ID_INVALID")
    ]
    assert raw not in result.warnings[0].message


@pytest.mark.parametrize("response", ["", "00" * 16, "20" * 16, "00" * 23])
def test_decode_empty_warns(response: str) -> None:
    result = decode_laser_id(bytes.fromhex(response))
    assert result.raw == ""
    assert result.code is None
    assert result.warnings[0].message == "The laser ID is empty"


def test_decode_undecodable_byte() -> None:
    result = decode_laser_id(b"AB\xff4567890".ljust(16, b"\x00"))
    assert result.raw == "AB\ufffd4567890"
    assert result.code is None
    assert result.warnings[0].code == "LASER_ID_INVALID"


def test_decode_malformed_to_json() -> None:
    result = decode_laser_id(b"XY12".ljust(16, b"\x00"))
    assert result.to_json() == {
        "code": None,
        "raw": "XY12",
        "form": "short",
        "header": None,
        "warnings": [
            {
                "field": "laser_id",
                "code": "LASER_ID_INVALID",
                "message": "The laser ID is not two capital letters and ten digits",
            }
        ],
    }


# Deciding the form by content

LONG_HEADER = bytes.fromhex("01 00 00 00 00 00 0C")


@pytest.mark.parametrize(
    ("response", "form", "raw", "code"),
    [
        (b"JT1234567890", "short", "JT1234567890", "JT1-2345678-90"),
        (
            b"JT1234567890".ljust(0x17, b"\x00"),
            "short",
            "JT1234567890",
            "JT1-2345678-90",
        ),
        (LONG_HEADER + b"JT1234567890", "long", "JT1234567890", "JT1-2345678-90"),
        (LONG_HEADER + b"JT123456789", "long", "JT123456789", None),
        (LONG_HEADER + b"jt1234567890", "long", "jt1234567890", None),
        (
            b"\x00" * 6 + b"\x0c" + b"JT1234567890",
            "long",
            "JT1234567890",
            "JT1-2345678-90",
        ),
        (b"JT12345".ljust(0x17, b"\x00"), "short", "JT12345", None),
        (LONG_HEADER + b"\x00" * 16, "long", "", None),
    ],
    ids=[
        "short-unpadded",
        "short-padded-to-0x17",
        "long-unpadded-19",
        "long-11-digits",
        "long-lower-case",
        "long-zero-version",
        "short-malformed-0x17",
        "long-empty-code",
    ],
)
def test_form_from_content(response: bytes, form: str, raw: str, code: str) -> None:
    result = decode_laser_id(response)
    assert result.form == form
    assert result.raw == raw
    assert result.code == code


@pytest.mark.parametrize(
    "response",
    [LONG_HEADER + b"JT1234567890", LONG_HEADER + b"JT1234567890" + b"\x00" * 4],
    ids=["unpadded", "padded"],
)
def test_long_form_keeps_header(response: bytes) -> None:
    result = decode_laser_id(response)
    assert result.header == LONG_HEADER
    assert result.to_json()["header"] == "01 00 00 00 00 00 0C"


def test_short_form_has_no_header() -> None:
    result = decode_laser_id(short_laser())
    assert result.header is None
    assert result.to_json()["header"] is None


def test_laser_repr_hides_code() -> None:
    text = repr(decode_laser_id(short_laser()))
    assert "JT1" not in text
    assert "1234567890" not in text
    assert "form='short'" in text


def test_laser_id_is_frozen() -> None:
    result = LaserId("JT1234567890", "JT1-2345678-90", "short")
    with pytest.raises(AttributeError):
        result.raw = "other"  # type: ignore[misc]


# A missing applet and other failures


@pytest.mark.parametrize("sw", ["6A82", "6D00", "6E00", "6999", "6F00"])
def test_missing_applet_raises(sw: str) -> None:
    conn = FakeConnection(Script([(SELECT_LASER, sw)]))
    with pytest.raises(OptionalAppletMissingError) as raised:
        read_laser_id(conn)
    assert raised.value.code == "APPLET_NOT_FOUND"
    assert raised.value.sw == int(sw, 16)
    assert raised.value.applet == "laser ID"
    assert f"SW=0x{sw}" in str(raised.value)
    assert conn.sent == [SELECT_LASER]
    assert "reconnect" not in conn.events


def test_missing_applet_is_card_error() -> None:
    assert issubclass(OptionalAppletMissingError, CardError)
    assert not issubclass(OptionalAppletMissingError, ApduError)


def test_command_rejected_raises_apdu_error() -> None:
    script = Script([(SELECT_LASER, "610A"), (LASER_COMMAND, "6A86")])
    conn = FakeConnection(script)
    with pytest.raises(ApduError) as raised:
        read_laser_id(conn)
    assert not isinstance(raised.value, OptionalAppletMissingError)
    assert raised.value.sw == 0x6A86
    assert raised.value.what == "laser ID command"
    assert "reconnect" not in conn.events


@pytest.mark.parametrize("step", [1, 2, 3])
def test_removed_mid_read(step: int) -> None:
    conn = FakeConnection(
        _short_script(), faults={step: CardRemovedError("card removed")}
    )
    with pytest.raises(CardRemovedError):
        read_laser_id(conn)
    assert len(conn.sent) == step
    assert "reconnect" not in conn.events


def test_removed_on_reconnect() -> None:
    conn = FakeConnection(
        Script([(SELECT_LASER, "610A")]),
        faults={2: TransientCardError("reset")},
        reconnect_errors=[CardRemovedError("card removed")],
    )
    with pytest.raises(CardRemovedError):
        read_laser_id(conn)
    assert conn.sent == [SELECT_LASER, LASER_COMMAND]


# Retries


def test_transient_error_retries() -> None:
    script = Script(
        [
            (SELECT_LASER, "610A"),
            (SELECT_LASER, "610A"),
            (LASER_COMMAND, "6110"),
            ("00C0000010", SHORT_HEX + "9000"),
        ]
    )
    conn = FakeConnection(script, faults={2: TransientCardError("transaction failed")})
    result = read_laser_id(conn)
    assert conn.events == [
        "begin",
        SELECT_LASER,
        LASER_COMMAND,
        "end",
        "reconnect",
        "begin",
        SELECT_LASER,
        LASER_COMMAND,
        "00C0000010",
        "end",
    ]
    assert result.code == "JT1-2345678-90"


@pytest.mark.parametrize("sw", [0x6986, 0x6985, 0x6A82, 0x6D00, 0x6E00, 0x6881])
def test_deselected_sw_retries(sw: int) -> None:
    script = Script(
        [
            (SELECT_LASER, "610A"),
            (SELECT_LASER, "610A"),
            (LASER_COMMAND, "6110"),
            ("00C0000010", SHORT_HEX + "9000"),
        ]
    )
    conn = FakeConnection(script, status_words={2: sw})
    result = read_laser_id(conn)
    assert conn.events.count("reconnect") == 1
    assert result.code == "JT1-2345678-90"


def test_reselect_rejected_is_transient() -> None:
    script = Script(
        [
            (SELECT_LASER, "610A"),
            (SELECT_LASER, "6A82"),
            (SELECT_LASER, "610A"),
            (LASER_COMMAND, "6110"),
            ("00C0000010", SHORT_HEX + "9000"),
        ]
    )
    conn = FakeConnection(script, faults={2: TransientCardError("reset")})
    result = read_laser_id(conn)
    assert conn.events.count("reconnect") == 2
    assert result.code == "JT1-2345678-90"


def test_retry_log_names_command(caplog: pytest.LogCaptureFixture) -> None:
    script = Script(
        [
            (SELECT_LASER, "610A"),
            (SELECT_LASER, "610A"),
            (LASER_COMMAND, "6110"),
            ("00C0000010", SHORT_HEX + "9000"),
        ]
    )
    conn = FakeConnection(script, faults={2: TransientCardError("transaction failed")})
    with caplog.at_level(logging.WARNING, logger="trayagent.card"):
        read_laser_id(conn)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "laser ID command" in warnings[0].getMessage()
    assert "at SELECT" not in warnings[0].getMessage()


def test_retries_bounded() -> None:
    faults = {step: TransientCardError("transaction failed") for step in (2, 4, 6, 8)}
    script = Script([(SELECT_LASER, "610A")] * 4)
    conn = FakeConnection(script, faults=faults)
    with pytest.raises(CardError) as raised:
        read_laser_id(conn)
    assert type(raised.value) is CardError
    assert isinstance(raised.value.__cause__, TransientCardError)
    assert conn.events.count("reconnect") == 3
    assert conn.sent == [SELECT_LASER, LASER_COMMAND] * 4


def test_timeout_between_apdus() -> None:
    clock = FakeClock()
    conn = FakeConnection(_short_script(), clock=clock, seconds_per_apdu=6.0)
    with pytest.raises(CardReadTimeoutError):
        read_laser_id(conn, clock=clock)
    # APDU 2 starts at 6 s; APDU 3 would start at 12 s, past 10 s.
    assert len(conn.sent) == 2


def test_timeout_is_configurable() -> None:
    clock = FakeClock()
    conn = FakeConnection(_short_script(), clock=clock, seconds_per_apdu=6.0)
    result = read_laser_id(conn, clock=clock, timeout=20.0)
    assert result.code == "JT1-2345678-90"


# Logging


def test_debug_log_has_no_laser_id(caplog: pytest.LogCaptureFixture) -> None:
    conn = FakeConnection(_short_script())
    with caplog.at_level(logging.DEBUG, logger="trayagent"):
        read_laser_id(conn)
    assert "laser ID command: 16 bytes, SW=9000" in caplog.text
    for value in ("JT1", "1234567890", "2345678", CODE_HEX, CODE_HEX.lower()):
        assert value not in caplog.text, value
