"""The NHSO read: its APDUs, decoding, errors and retries."""

import logging

import pytest

from trayagent.card import nhso
from trayagent.card.errors import (
    ApduError,
    CardError,
    CardReadTimeoutError,
    CardRemovedError,
    OptionalAppletMissingError,
    TransientCardError,
)
from trayagent.card.nhso import (
    NHSO_AID,
    NhsoData,
    decode_nhso_data,
    parse_hospital_changes,
    read_nhso,
)

from .applets import SELECT_NHSO, TEST_NHSO, FakeAppletCard, build_nhso_image
from .fakes import ATR_3B67, FakeClock, FakeConnection, Script

# field, READ BINARY, GET RESPONSE (T=0, P2 00)
NHSO_EXCHANGES = [
    ("main_right", "80B0000402003C", "00C000003C"),
    ("sub_right", "80B00040020064", "00C0000064"),
    ("main_hospital", "80B000A4020050", "00C0000050"),
    ("sub_hospital", "80B000F4020050", "00C0000050"),
    ("paid_type", "80B00144020001", "00C0000001"),
    ("issue_date", "80B00145020008", "00C0000008"),
    ("expiry_date", "80B0014D020008", "00C0000008"),
    ("update_date", "80B00155020008", "00C0000008"),
    ("hospital_changes", "80B0015D020001", "00C0000001"),
]
NHSO_APDUS = [SELECT_NHSO] + [apdu for _, rb, gr in NHSO_EXCHANGES for apdu in (rb, gr)]

EXPECTED_JSON = {
    "main_right": "UCS",
    "sub_right": "ผู้มีสิทธิทดสอบ",
    "main_hospital": "โรงพยาบาลทดสอบ",
    "sub_hospital": "สถานีอนามัยทดลอง",
    "paid_type": "1",
    "issue_date": {
        "raw": "25650801",
        "date": "2022-08-01",
        "precision": "day",
        "lifetime": False,
    },
    "expiry_date": {
        "raw": "25690930",
        "date": "2026-09-30",
        "precision": "day",
        "lifetime": False,
    },
    "update_date": {
        "raw": "25660102",
        "date": "2023-01-02",
        "precision": "day",
        "lifetime": False,
    },
    "hospital_changes": 2,
    "warnings": [],
}


def _card(image: bytes | None = None, **options: object) -> FakeAppletCard:
    files = {NHSO_AID: image if image is not None else build_nhso_image()}
    return FakeAppletCard(files, **options)


def _connection(image: bytes | None = None, **options: object) -> FakeConnection:
    card_options = {
        key: options.pop(key) for key in ("t1", "get_response_p2") if key in options
    }
    return FakeConnection(_card(image, **card_options), **options)


def _padded(overrides: dict[str, bytes]) -> dict[str, bytes]:
    """Return the raw fields of TEST_NHSO with ``overrides``, padded with spaces."""
    values = {**TEST_NHSO, **overrides}
    return {
        entry.name: values[entry.name].ljust(entry.length, b" ")
        for entry in nhso.FIELDS
    }


# The sequence


def test_read_sends_exact_sequence() -> None:
    conn = _connection()
    read_nhso(conn)
    assert conn.sent == NHSO_APDUS


def test_read_in_own_transaction() -> None:
    conn = _connection()
    read_nhso(conn)
    assert conn.events == ["begin", *NHSO_APDUS, "end"]


def test_fields_cover_layout() -> None:
    ends = [entry.end for entry in nhso.FIELDS]
    offsets = [entry.offset for entry in nhso.FIELDS]
    assert offsets[1:] == ends[:-1]
    assert nhso.HOSPITAL_CHANGES.end == 0x015E


def test_read_decodes_json() -> None:
    assert read_nhso(_connection()).to_json() == EXPECTED_JSON


def test_atr_3b67_uses_p2_01() -> None:
    conn = _connection(atr=ATR_3B67, get_response_p2=0x01)
    result = read_nhso(conn)
    get_responses = [apdu for apdu in conn.sent if apdu.startswith("00C0")]
    assert len(get_responses) == len(NHSO_EXCHANGES)
    assert all(apdu.startswith("00C00001") for apdu in get_responses)
    assert result.main_right == "UCS"


def test_p2_00_fails_on_3b67_card() -> None:
    conn = _connection(get_response_p2=0x01)
    with pytest.raises(ApduError) as raised:
        read_nhso(conn)
    assert raised.value.sw == 0x6B00
    assert raised.value.what == "main_right"


def test_t1_sends_no_get_response() -> None:
    conn = _connection(t1=True)
    result = read_nhso(conn)
    assert not any(apdu.startswith("00C0") for apdu in conn.sent)
    assert len(conn.sent) == 1 + len(NHSO_EXCHANGES)
    assert result.to_json() == EXPECTED_JSON


class _WrongLeOnce:
    """A card that returns 6C3C for the first READ BINARY of main_right."""

    def __init__(self, card: FakeAppletCard) -> None:
        self._card = card
        self._answered = False

    def __call__(self, apdu: bytes) -> bytes:
        if apdu == bytes.fromhex("80B0000402003C") and not self._answered:
            self._answered = True
            return b"\x6c\x3c"
        if apdu == bytes.fromhex("80B0000402003C3C"):
            return self._card(apdu[:-1])
        return self._card(apdu)


def test_6c_repeats_command_with_le() -> None:
    conn = FakeConnection(_WrongLeOnce(_card()))
    result = read_nhso(conn)
    assert conn.sent[1:4] == ["80B0000402003C", "80B0000402003C3C", "00C000003C"]
    assert result.main_right == "UCS"


# Decoding


def test_nul_padding_cut() -> None:
    result = read_nhso(_connection(build_nhso_image(padding=b"\x00")))
    assert result.to_json() == EXPECTED_JSON


def test_empty_text_fields() -> None:
    empty = {"sub_right": b"", "sub_hospital": b"", "paid_type": b""}
    result = decode_nhso_data(_padded(empty))
    assert result.sub_right == ""
    assert result.sub_hospital == ""
    assert result.paid_type == ""
    assert result.warnings == ()


def test_erased_file_is_empty() -> None:
    raw = {entry.name: b"\xff" * entry.length for entry in nhso.FIELDS}
    result = decode_nhso_data(raw)
    assert result.main_right == ""
    assert result.main_hospital == ""
    assert result.paid_type == ""
    assert result.issue_date.raw == ""
    assert result.hospital_changes is None
    assert [(w.field, w.code) for w in result.warnings] == [
        ("issue_date", "DATE_INVALID"),
        ("expiry_date", "DATE_INVALID"),
        ("update_date", "DATE_INVALID"),
        ("hospital_changes", "HOSPITAL_CHANGES_INVALID"),
    ]


def test_undecodable_bytes_warn() -> None:
    result = decode_nhso_data(_padded({"main_hospital": b"\xa1\xdb\xa2"}))
    assert result.main_hospital == "ก\ufffdข"
    assert [(w.field, w.code) for w in result.warnings] == [
        ("main_hospital", "TEXT_UNDECODABLE")
    ]


def test_partly_erased_field_undecodable() -> None:
    result = decode_nhso_data(_padded({"main_right": b"UC\xff"}))
    assert result.main_right == "UC\ufffd"
    assert result.warnings[0].code == "TEXT_UNDECODABLE"


@pytest.mark.parametrize(
    ("field", "raw", "date", "precision"),
    [
        ("issue_date", b"25650801", "2022-08-01", "day"),
        ("issue_date", b"25650800", "2022-08", "month"),
        ("issue_date", b"25650000", "2022", "year"),
        ("expiry_date", b"25690900", "2026-09", "month"),
        ("update_date", b"25660000", "2023", "year"),
        ("update_date", b"25660215", "2023-02-15", "day"),
    ],
)
def test_reduced_precision_dates(
    field: str, raw: bytes, date: str, precision: str
) -> None:
    result = decode_nhso_data(_padded({field: raw}))
    value = getattr(result, field)
    assert value.date == date
    assert value.precision == precision
    assert value.raw == raw.decode("ascii")
    assert result.warnings == ()


def test_lifetime_expiry() -> None:
    result = decode_nhso_data(_padded({"expiry_date": b"99999999"}))
    assert result.expiry_date.lifetime
    assert result.expiry_date.date is None
    assert result.warnings == ()


@pytest.mark.parametrize("field", ["issue_date", "update_date"])
def test_lifetime_only_for_expiry(field: str) -> None:
    result = decode_nhso_data(_padded({field: b"99999999"}))
    value = getattr(result, field)
    assert not value.lifetime
    assert value.date is None
    assert [(w.field, w.code) for w in result.warnings] == [(field, "DATE_INVALID")]


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("issue_date", b"25651301"),
        ("issue_date", b"2565AB01"),
        ("expiry_date", b"00000000"),
        ("expiry_date", b""),
        ("update_date", b"25660230"),
    ],
)
def test_invalid_date_keeps_raw(field: str, raw: bytes) -> None:
    result = decode_nhso_data(_padded({field: raw}))
    value = getattr(result, field)
    assert value.date is None
    assert value.raw == raw.decode("ascii")
    assert [(w.field, w.code) for w in result.warnings] == [(field, "DATE_INVALID")]


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        ("00", 0),
        ("01", 1),
        ("04", 4),
        ("1F", 31),
        ("30", 0),
        ("31", 1),
        ("34", 4),
        ("39", 9),
    ],
)
def test_hospital_changes_both_encodings(raw: str, count: int) -> None:
    value, warnings = parse_hospital_changes(bytes.fromhex(raw))
    assert value == count
    assert warnings == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "The number of hospital changes is missing"),
        ("FF", "The number of hospital changes is missing"),
        ("0102", "The number of hospital changes is missing"),
        (
            "20",
            "The number of hospital changes is neither a binary count below 32 "
            "nor an ASCII digit",
        ),
        (
            "41",
            "The number of hospital changes is neither a binary count below 32 "
            "nor an ASCII digit",
        ),
        (
            "3A",
            "The number of hospital changes is neither a binary count below 32 "
            "nor an ASCII digit",
        ),
    ],
)
def test_hospital_changes_invalid(raw: str, message: str) -> None:
    value, warnings = parse_hospital_changes(bytes.fromhex(raw))
    assert value is None
    assert [(w.field, w.code) for w in warnings] == [
        ("hospital_changes", "HOSPITAL_CHANGES_INVALID")
    ]
    assert warnings[0].message == message


@pytest.mark.parametrize(("raw", "count"), [(b"3", 3), (b"\x03", 3)])
def test_read_hospital_changes(raw: bytes, count: int) -> None:
    image = build_nhso_image({"hospital_changes": raw})
    assert read_nhso(_connection(image)).hospital_changes == count


def test_decode_requires_every_field() -> None:
    raw = _padded({})
    del raw["update_date"]
    with pytest.raises(KeyError):
        decode_nhso_data(raw)


def test_repr_hides_fields() -> None:
    result = read_nhso(_connection(build_nhso_image({"paid_type": b"7"})))
    text = repr(result)
    assert text == "NhsoData()"


def test_nhso_data_is_frozen() -> None:
    result = read_nhso(_connection())
    with pytest.raises(AttributeError):
        result.main_right = "other"  # type: ignore[misc]
    assert isinstance(result, NhsoData)


# A missing applet and other failures


@pytest.mark.parametrize("sw", ["6A82", "6D00", "6E00", "6999", "6F00"])
def test_missing_applet_raises(sw: str) -> None:
    conn = FakeConnection(Script([(SELECT_NHSO, sw)]))
    with pytest.raises(OptionalAppletMissingError) as raised:
        read_nhso(conn)
    assert raised.value.code == "APPLET_NOT_FOUND"
    assert raised.value.sw == int(sw, 16)
    assert raised.value.applet == "NHSO"
    assert str(raised.value).startswith("The card has no NHSO applet: SW=0x")
    assert conn.sent == [SELECT_NHSO]
    assert "reconnect" not in conn.events


def test_missing_applet_on_fake_card() -> None:
    conn = FakeConnection(FakeAppletCard({}))
    with pytest.raises(OptionalAppletMissingError):
        read_nhso(conn)
    assert conn.sent == [SELECT_NHSO]


def test_other_sw_names_field() -> None:
    # APDU 4 is the READ BINARY of sub_right.
    conn = _connection(status_words={4: 0x6A86})
    with pytest.raises(ApduError) as raised:
        read_nhso(conn)
    assert not isinstance(raised.value, OptionalAppletMissingError)
    assert raised.value.what == "sub_right"
    assert raised.value.sw == 0x6A86
    assert "reconnect" not in conn.events


@pytest.mark.parametrize("step", [1, 2, 3, 8, 19])
def test_removed_mid_read(step: int) -> None:
    conn = _connection(faults={step: CardRemovedError("card removed")})
    with pytest.raises(CardRemovedError):
        read_nhso(conn)
    assert len(conn.sent) == step
    assert "reconnect" not in conn.events


# Retries


def test_transient_error_resumes_at_field() -> None:
    # APDU 8 is the READ BINARY of sub_hospital.
    conn = _connection(faults={8: TransientCardError("transaction failed")})
    result = read_nhso(conn)
    assert conn.events[9:13] == ["end", "reconnect", "begin", SELECT_NHSO]
    assert conn.sent[9] == "80B000F4020050"
    assert conn.sent.count("80B0000402003C") == 1
    assert conn.sent.count("80B000F4020050") == 2
    assert result.to_json() == EXPECTED_JSON


@pytest.mark.parametrize("sw", [0x6986, 0x6985, 0x6A82, 0x6D00, 0x6E00, 0x6881])
def test_deselected_sw_retries(sw: int) -> None:
    # APDU 5 is the GET RESPONSE of sub_right.
    conn = _connection(status_words={5: sw})
    result = read_nhso(conn)
    assert conn.events.count("reconnect") == 1
    assert conn.sent[5:8] == [SELECT_NHSO, "80B00040020064", "00C0000064"]
    assert result.sub_right == "ผู้มีสิทธิทดสอบ"


def test_retry_log_names_field(caplog: pytest.LogCaptureFixture) -> None:
    conn = _connection(faults={4: TransientCardError("transaction failed")})
    with caplog.at_level(logging.WARNING, logger="trayagent.card"):
        read_nhso(conn)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "NHSO fields" in warnings[0].getMessage()
    assert "sub_right" in warnings[0].getMessage()


def test_retries_bounded() -> None:
    faults = {
        step: TransientCardError("transaction failed") for step in range(2, 40, 2)
    }
    conn = _connection(faults=faults)
    with pytest.raises(CardError) as raised:
        read_nhso(conn)
    assert type(raised.value) is CardError
    assert isinstance(raised.value.__cause__, TransientCardError)
    assert conn.events.count("reconnect") == 3
    assert conn.sent == [SELECT_NHSO, "80B0000402003C"] * 4


def test_retries_bounded_in_time() -> None:
    clock = FakeClock()
    faults = {
        step: TransientCardError("transaction failed") for step in range(2, 40, 2)
    }
    conn = _connection(faults=faults, clock=clock, seconds_per_apdu=1.0)
    with pytest.raises(CardError):
        read_nhso(conn, clock=clock)
    # Failures at 2, 4 and 6 s: the third is 4 s after the first, past 3 s.
    assert conn.events.count("reconnect") == 2


def test_timeout_between_apdus() -> None:
    clock = FakeClock()
    conn = _connection(clock=clock, seconds_per_apdu=1.0)
    with pytest.raises(CardReadTimeoutError):
        read_nhso(conn, clock=clock)
    # 10 APDUs take exactly 10 s; the 11th starts at 10 s, the 12th after.
    assert len(conn.sent) == 11


def test_timeout_is_configurable() -> None:
    clock = FakeClock()
    conn = _connection(clock=clock, seconds_per_apdu=1.0)
    result = read_nhso(conn, clock=clock, timeout=30.0)
    assert result.main_right == "UCS"


# Logging


def test_debug_log_has_no_nhso_data(caplog: pytest.LogCaptureFixture) -> None:
    conn = _connection(faults={6: TransientCardError("transaction failed")})
    with caplog.at_level(logging.DEBUG, logger="trayagent"):
        read_nhso(conn)
    assert "READ BINARY main_right: 60 bytes, SW=9000" in caplog.text
    forbidden = [
        "UCS",
        "ผู้มีสิทธิ",
        "โรงพยาบาล",
        "สถานีอนามัย",
        "25650801",
        "2022-08",
        "25690930",
        "25660102",
        "555253",
        "E0B8",
    ]
    for value in forbidden:
        assert value not in caplog.text, value
