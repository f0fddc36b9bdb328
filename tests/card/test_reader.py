"""The personal applet reading sequence, its retries and its limits."""

import logging

import pytest

from trayagent.card import layout
from trayagent.card.errors import (
    ApduError,
    CardError,
    CardReadTimeoutError,
    CardRemovedError,
    NotThaiIdCardError,
    TransientCardError,
)
from trayagent.card.model import PersonalData
from trayagent.card.reader import CardReadResult, read_card, select_personal_applet

from .cards import TEST_PERSON, build_image, build_jpeg, text_field
from .fakes import (
    ATR_3B67,
    ATR_T0,
    FakeClock,
    FakeConnection,
    FakeThaiCard,
    Script,
)

SELECT = "00A4040008A000000054480001"

# field, READ BINARY, GET RESPONSE (T=0, P2 00)
TEXT_EXCHANGES = [
    ("citizen_id", "80B0000402000D", "00C000000D"),
    ("name_th", "80B00011020064", "00C0000064"),
    ("name_en", "80B00075020064", "00C0000064"),
    ("birth_date", "80B000D9020008", "00C0000008"),
    ("gender", "80B000E1020001", "00C0000001"),
    ("issuer", "80B000F6020064", "00C0000064"),
    ("issue_date", "80B00167020008", "00C0000008"),
    ("expiry_date", "80B0016F020008", "00C0000008"),
    ("address", "80B015790200A0", "00C00000A0"),
    ("card_number", "80B0161902000E", "00C000000E"),
]

# Twenty pieces of 255 bytes, then the last 18 bytes of the photo area.
PHOTO_EXCHANGES = [
    *[(f"80B0{0x017B + 255 * i:04X}0200FF", "00C00000FF") for i in range(20)],
    ("80B01567020012", "00C0000012"),
]

TEXT_APDUS = [SELECT] + [apdu for _, rb, gr in TEXT_EXCHANGES for apdu in (rb, gr)]
PHOTO_APDUS = [SELECT] + [apdu for rb, gr in PHOTO_EXCHANGES for apdu in (rb, gr)]

PHOTO = build_jpeg(4312)


def _connection(
    image: bytes | None = None, *, atr: bytes = ATR_T0, **options: object
) -> FakeConnection:
    card_options = {
        key: options.pop(key)
        for key in ("t1", "get_response_p2", "offered_length")
        if key in options
    }
    card = FakeThaiCard(image or build_image(TEST_PERSON, PHOTO), **card_options)
    return FakeConnection(card, atr=atr, **options)


def _read(conn: FakeConnection, **options: object) -> CardReadResult:
    options.setdefault("include_photo", True)
    return read_card(conn, **options)


# The sequence


def test_read_sends_exact_sequence() -> None:
    conn = _connection()
    _read(conn)
    assert conn.sent == TEXT_APDUS + PHOTO_APDUS


@pytest.mark.parametrize(("field", "read_binary", "get_response"), TEXT_EXCHANGES)
def test_read_text_field_apdus(field: str, read_binary: str, get_response: str) -> None:
    conn = _connection()
    _read(conn, include_photo=False)
    position = conn.sent.index(read_binary)
    assert conn.sent[position + 1] == get_response
    assert conn.sent.count(read_binary) == 1


@pytest.mark.parametrize(("read_binary", "get_response"), PHOTO_EXCHANGES)
def test_read_photo_piece_apdus(read_binary: str, get_response: str) -> None:
    conn = _connection()
    _read(conn)
    position = conn.sent.index(read_binary)
    assert conn.sent[position + 1] == get_response
    assert conn.sent.count(read_binary) == 1


def test_photo_pieces_cover_area() -> None:
    lengths = [int(rb[-2:], 16) for rb, _ in PHOTO_EXCHANGES]
    assert sum(lengths) == layout.PHOTO.length
    assert layout.PHOTO.end == layout.ADDRESS.offset


def test_read_parts_in_own_transactions() -> None:
    conn = _connection()
    _read(conn)
    assert conn.events == (["begin", *TEXT_APDUS, "end", "begin", *PHOTO_APDUS, "end"])


def test_read_without_photo() -> None:
    conn = _connection()
    result = _read(conn, include_photo=False)
    assert result.photo is None
    assert conn.sent == TEXT_APDUS


def test_on_personal_before_photo() -> None:
    conn = _connection()
    calls: list[tuple[PersonalData, int]] = []
    _read(conn, on_personal=lambda personal: calls.append((personal, len(conn.sent))))
    assert len(calls) == 1
    assert calls[0][1] == len(TEXT_APDUS)
    assert calls[0][0].citizen_id == TEST_PERSON.citizen_id


def test_atr_3b67_uses_p2_01() -> None:
    conn = _connection(atr=ATR_3B67, get_response_p2=0x01)
    result = _read(conn)
    get_responses = [apdu for apdu in conn.sent if apdu.startswith("00C0")]
    assert len(get_responses) == 31
    assert all(apdu.startswith("00C00001") for apdu in get_responses)
    assert result.personal.citizen_id_valid


def test_p2_00_fails_on_3b67_card() -> None:
    conn = _connection(atr=ATR_T0, get_response_p2=0x01)
    with pytest.raises(ApduError) as raised:
        _read(conn)
    assert raised.value.sw == 0x6B00
    assert raised.value.what == "citizen_id"


@pytest.mark.parametrize("atr", ["3B", "", "3B7818"])
def test_short_atr_uses_p2_00(atr: str) -> None:
    conn = _connection(atr=bytes.fromhex(atr))
    _read(conn)
    get_responses = [apdu for apdu in conn.sent if apdu.startswith("00C0")]
    assert all(apdu.startswith("00C00000") for apdu in get_responses)


def test_t1_sends_no_get_response() -> None:
    conn = _connection(t1=True)
    result = _read(conn)
    assert not any(apdu.startswith("00C0") for apdu in conn.sent)
    assert len(conn.sent) == 2 + len(TEXT_EXCHANGES) + len(PHOTO_EXCHANGES)
    assert result.photo is not None
    assert result.photo.jpeg == PHOTO


def test_get_response_uses_offered_length() -> None:
    # The card offers 200 bytes whatever was requested, so each photo read
    # moves on by 200 and the last one is cut to the end of the photo area.
    conn = _connection(offered_length=200)
    result = _read(conn)
    photo_apdus = conn.sent[len(TEXT_APDUS) + 1 :]
    reads = photo_apdus[0::2]
    assert reads[1] == f"80B0{0x017B + 200:04X}0200FF"
    assert reads[-1] == f"80B0{0x017B + 5000:04X}020076"
    assert set(photo_apdus[1::2]) == {"00C00000C8"}
    assert result.photo is not None
    assert result.photo.jpeg == PHOTO
    assert result.personal.name_th.full == "นายทดสอบ ใจดี"


def test_rejected_select_not_thai() -> None:
    conn = FakeConnection(Script([(SELECT, "6A82")]))
    with pytest.raises(NotThaiIdCardError) as raised:
        _read(conn)
    assert conn.sent == [SELECT]
    assert "SW=0x6A82" in str(raised.value)


@pytest.mark.parametrize("sw", ["6A82", "6D00", "6E00", "6999"])
def test_select_personal_applet_rejects(sw: str) -> None:
    conn = FakeConnection(Script([(SELECT, sw)]))
    with pytest.raises(NotThaiIdCardError):
        select_personal_applet(conn)


def test_select_9000_accepted() -> None:
    conn = FakeConnection(Script([(SELECT, "9000")]))
    select_personal_applet(conn)
    assert conn.sent == [SELECT]


def test_other_sw_names_field() -> None:
    conn = _connection(status_words={4: 0x6A86})
    with pytest.raises(ApduError) as raised:
        _read(conn)
    assert raised.value.what == "name_th"
    assert raised.value.sw == 0x6A86
    assert "name_th" in str(raised.value)
    assert "SW=0x6A86" in str(raised.value)
    assert "reconnect" not in conn.events


# Decoding of a whole card


def test_read_decodes_personal_json() -> None:
    result = _read(_connection())
    assert result.personal.to_json() == {
        "citizen_id": "1234567890121",
        "citizen_id_valid": True,
        "name_th": {
            "prefix": "นาย",
            "first": "ทดสอบ",
            "middle": "",
            "last": "ใจดี",
            "full": "นายทดสอบ ใจดี",
        },
        "name_en": {
            "prefix": "Mr.",
            "first": "Test",
            "middle": "",
            "last": "Jaidee",
            "full": "Mr. Test Jaidee",
        },
        "birth_date": {
            "raw": "25200515",
            "date": "1977-05-15",
            "precision": "day",
            "lifetime": False,
        },
        "gender": {"raw": "1", "value": "male"},
        "issuer": "ที่ว่าการอำเภอเมืองทดสอบ/ทดสอบ",
        "issue_date": {
            "raw": "25640101",
            "date": "2021-01-01",
            "precision": "day",
            "lifetime": False,
        },
        "expiry_date": {
            "raw": "25720514",
            "date": "2029-05-14",
            "precision": "day",
            "lifetime": False,
        },
        "address": {
            "house_no": "12/3",
            "moo": "หมู่ที่ 4",
            "trok": None,
            "soi": None,
            "road": None,
            "extra": [],
            "subdistrict": "ตำบลบ้านทดสอบ",
            "district": "อำเภอเมืองทดสอบ",
            "province": "จังหวัดทดสอบ",
            "full": "12/3 หมู่ที่ 4 ตำบลบ้านทดสอบ อำเภอเมืองทดสอบ จังหวัดทดสอบ",
            "raw": "12/3#หมู่ที่ 4####ตำบลบ้านทดสอบ#อำเภอเมืองทดสอบ#จังหวัดทดสอบ",
        },
        "card_number": {"raw": "12345678901234", "formatted": "1234-56-78901234"},
        "warnings": [],
    }


def test_read_returns_photo() -> None:
    result = _read(_connection())
    assert result.photo is not None
    assert result.photo.to_json()["size"] == 4312
    assert result.photo.complete


def test_read_long_photo() -> None:
    jpeg = build_jpeg(5110)
    result = _read(_connection(build_image(TEST_PERSON, jpeg)))
    assert result.photo is not None
    assert result.photo.jpeg == jpeg
    assert result.photo.complete


def test_photo_spaces_at_piece_edges_kept() -> None:
    jpeg = bytearray(build_jpeg(4312))
    for edge in range(255, 4300, 255):
        jpeg[edge - 2 : edge + 2] = b"\x20\x20\x20\x20"
    result = _read(_connection(build_image(TEST_PERSON, bytes(jpeg))))
    assert result.photo is not None
    assert result.photo.jpeg == bytes(jpeg)


def test_photo_without_end_marker() -> None:
    area = build_jpeg(layout.PHOTO.length + 50)[: layout.PHOTO.length]
    result = _read(_connection(build_image(TEST_PERSON, area)))
    assert result.photo is not None
    assert not result.photo.complete
    assert result.photo.jpeg == area
    assert result.personal.citizen_id_valid


def test_photo_not_jpeg_keeps_personal() -> None:
    image = build_image(TEST_PERSON, b"\x89PNG\r\n\x1a\n" + bytes(300))
    personal: list[PersonalData] = []
    result = _read(_connection(image), on_personal=personal.append)
    assert result.photo is not None
    assert result.photo.data_url is None
    assert [warning.code for warning in result.photo.warnings] == ["PHOTO_INVALID"]
    assert result.personal.citizen_id == TEST_PERSON.citizen_id
    assert len(personal) == 1


def test_read_long_address() -> None:
    address = (
        "199/99#หมู่ที่ 12#บ้านหนองน้ำใสทดลองยาว#ซอยทดลองยาวมาก 15#ถนนทดลองสายยาว"
        "#ตำบลทดลองยาวมาก#อำเภอทดลองยาวมากที่สุด#จังหวัดทดลองยาว"
    )
    overrides = {"address": text_field(address, layout.ADDRESS)}
    result = _read(_connection(build_image(TEST_PERSON, PHOTO, overrides=overrides)))
    assert len(address.encode("tis_620")) > 100
    assert result.personal.address.province == "จังหวัดทดลองยาว"
    assert result.personal.warnings == ()


def test_read_lifetime_card() -> None:
    overrides = {"expiry_date": b"99999999"}
    result = _read(_connection(build_image(TEST_PERSON, PHOTO, overrides=overrides)))
    assert result.personal.expiry_date.lifetime
    assert result.personal.expiry_date.date is None


def test_undecodable_bytes_warn() -> None:
    overrides = {"issuer": b"\xa1\xdb\xa2".ljust(100, b" ")}
    result = _read(_connection(build_image(TEST_PERSON, PHOTO, overrides=overrides)))
    assert result.personal.issuer == "ก\ufffdข"
    assert [(w.field, w.code) for w in result.personal.warnings] == [
        ("issuer", "TEXT_UNDECODABLE")
    ]


def test_personal_repr_hides_fields() -> None:
    result = _read(_connection())
    text = repr(result)
    for value in (
        TEST_PERSON.citizen_id,
        "ทดสอบ",
        "Jaidee",
        "25200515",
        "1977",
        "หมู่ที่",
        TEST_PERSON.card_number,
        "male",
    ):
        assert value not in text


# Citizen ID checksum


class _FirstReadCorrupted:
    """A card whose first citizen ID response has one digit wrong."""

    def __init__(self, card: FakeThaiCard) -> None:
        self._card = card
        self._corrupted = False

    def __call__(self, apdu: bytes) -> bytes:
        response = self._card(apdu)
        if apdu == bytes.fromhex("00C000000D") and not self._corrupted:
            self._corrupted = True
            return b"9" + response[1:]
        return response


def test_bad_checksum_read_again() -> None:
    card = FakeThaiCard(build_image(TEST_PERSON, PHOTO))
    conn = FakeConnection(_FirstReadCorrupted(card))
    result = _read(conn, include_photo=False)
    assert conn.sent.count("80B0000402000D") == 2
    assert result.personal.citizen_id == TEST_PERSON.citizen_id
    assert result.personal.citizen_id_valid
    assert result.personal.warnings == ()


def test_bad_checksum_twice_warns() -> None:
    overrides = {"citizen_id": b"1234567890122"}
    conn = _connection(build_image(TEST_PERSON, PHOTO, overrides=overrides))
    result = _read(conn, include_photo=False)
    assert conn.sent.count("80B0000402000D") == 2
    assert conn.sent.count("00C000000D") == 2
    assert result.personal.citizen_id == "1234567890122"
    assert not result.personal.citizen_id_valid
    assert [w.code for w in result.personal.warnings] == ["CITIZEN_ID_CHECKSUM"]


# Retries


@pytest.mark.parametrize("sw", [0x6986, 0x6985, 0x6A82, 0x6D00, 0x6E00, 0x6881])
def test_deselected_sw_retries(sw: int) -> None:
    # APDU 4 is the READ BINARY of name_th.
    conn = _connection(status_words={4: sw})
    result = _read(conn)
    assert conn.events[: 4 + 1] == ["begin", SELECT, *TEXT_APDUS[1:3], "80B00011020064"]
    assert conn.events[5:9] == ["end", "reconnect", "begin", SELECT]
    assert conn.sent.count("80B0000402000D") == 1
    assert conn.sent.count("80B00011020064") == 2
    assert result.personal.name_th.full == "นายทดสอบ ใจดี"


def test_deselected_get_response_retries() -> None:
    # APDU 5 is the GET RESPONSE of name_th.
    conn = _connection(status_words={5: 0x6985})
    result = _read(conn, include_photo=False)
    assert conn.events.count("reconnect") == 1
    assert conn.sent[5:8] == [SELECT, "80B00011020064", "00C0000064"]
    assert result.personal.name_th.first == "ทดสอบ"


def test_repeated_deselect_exhausts_retries() -> None:
    card = FakeThaiCard(build_image(TEST_PERSON, PHOTO))

    def deselect_on_name_en(apdu: bytes) -> bytes:
        if apdu == bytes.fromhex("80B00075020064") and card.selected:
            card.deselect()
        return card(apdu)

    conn = FakeConnection(deselect_on_name_en)
    with pytest.raises(CardError) as raised:
        _read(conn)
    # The card deselects on every READ BINARY of name_en, so retries run out.
    assert conn.events.count("reconnect") == 3
    # The final error names the field and the status word in hex.
    assert "at name_en after 4 attempts" in str(raised.value)
    assert "SW=0x6" in str(raised.value)


def test_transient_error_retries_photo_piece() -> None:
    # APDU 29 is the READ BINARY of the fourth photo piece.
    conn = _connection(faults={29: TransientCardError("transaction failed")})
    result = _read(conn)
    piece = f"80B0{0x017B + 3 * 255:04X}0200FF"
    assert conn.sent[28] == piece
    assert conn.sent[29:31] == [SELECT, piece]
    assert conn.sent.count(f"80B0{0x017B:04X}0200FF") == 1
    assert result.photo is not None
    assert result.photo.jpeg == PHOTO


def test_retry_logs_warning(caplog: pytest.LogCaptureFixture) -> None:
    conn = _connection(faults={2: TransientCardError("transaction failed")})
    with caplog.at_level(logging.WARNING, logger="trayagent.card"):
        _read(conn, include_photo=False)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "citizen_id" in warnings[0].getMessage()
    assert "TransientCardError" in warnings[0].getMessage()


def test_retries_bounded() -> None:
    faults = {
        step: TransientCardError("transaction failed") for step in range(2, 40, 2)
    }
    conn = _connection(faults=faults)
    with pytest.raises(CardError) as raised:
        _read(conn)
    assert type(raised.value) is CardError
    assert isinstance(raised.value.__cause__, TransientCardError)
    assert conn.events.count("reconnect") == 3
    assert conn.sent == [SELECT, "80B0000402000D"] * 4


def test_retries_bounded_in_time() -> None:
    clock = FakeClock()
    faults = {
        step: TransientCardError("transaction failed") for step in range(2, 40, 2)
    }
    conn = _connection(faults=faults, clock=clock, seconds_per_apdu=1.0)
    with pytest.raises(CardError):
        _read(conn, clock=clock)
    # Failures at 2, 4 and 6 s: the third is 4 s after the first, past 3 s.
    assert conn.events.count("reconnect") == 2


def test_reselect_rejected_retries() -> None:
    script = Script(
        [
            (SELECT, "610A"),
            ("80B0000402000D", "6986"),
            (SELECT, "6A82"),
            (SELECT, "610A"),
            ("80B0000402000D", "6986"),
            (SELECT, "6A82"),
        ]
    )
    conn = FakeConnection(script)
    with pytest.raises(CardError) as raised:
        _read(conn)
    assert not isinstance(raised.value, NotThaiIdCardError)
    assert conn.events.count("reconnect") == 3
    assert script.remaining == 0


def test_transient_reconnect_counts_as_retry() -> None:
    conn = _connection(
        faults={2: TransientCardError("reset")},
        reconnect_errors=[TransientCardError("sharing violation")],
    )
    result = _read(conn, include_photo=False)
    assert conn.events.count("reconnect") == 2
    assert result.personal.citizen_id_valid


# Removal and timeout


@pytest.mark.parametrize("step", [1, 2, 3, 12, 21])
def test_removed_during_text(step: int) -> None:
    conn = _connection(faults={step: CardRemovedError("card removed")})
    personal: list[PersonalData] = []
    with pytest.raises(CardRemovedError):
        _read(conn, on_personal=personal.append)
    assert personal == []
    assert len(conn.sent) == step
    assert "reconnect" not in conn.events


def test_removed_during_photo() -> None:
    conn = _connection(faults={40: CardRemovedError("card removed")})
    personal: list[PersonalData] = []
    with pytest.raises(CardRemovedError):
        _read(conn, on_personal=personal.append)
    assert len(personal) == 1
    assert len(conn.sent) == 40


def test_removed_on_reconnect() -> None:
    conn = _connection(
        faults={2: TransientCardError("reset")},
        reconnect_errors=[CardRemovedError("card removed")],
    )
    with pytest.raises(CardRemovedError):
        _read(conn)
    assert conn.sent == [SELECT, "80B0000402000D"]


def test_timeout_between_apdus() -> None:
    clock = FakeClock()
    conn = _connection(clock=clock, seconds_per_apdu=0.25)
    with pytest.raises(CardReadTimeoutError):
        _read(conn, clock=clock)
    # 40 APDUs take exactly 10 s; the 41st starts at 10 s, the 42nd after.
    assert len(conn.sent) == 41


def test_timeout_is_configurable() -> None:
    clock = FakeClock()
    conn = _connection(clock=clock, seconds_per_apdu=0.25)
    result = _read(conn, clock=clock, timeout=20.0)
    assert result.photo is not None


def test_timeout_before_personal() -> None:
    clock = FakeClock()
    conn = _connection(clock=clock, seconds_per_apdu=1.0)
    personal: list[PersonalData] = []
    with pytest.raises(CardReadTimeoutError):
        _read(conn, clock=clock, timeout=5.0, on_personal=personal.append)
    assert personal == []


# Logging


def test_debug_log_has_no_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    conn = _connection(faults={30: TransientCardError("transaction failed")})
    with caplog.at_level(logging.DEBUG, logger="trayagent"):
        result = _read(conn)
    assert "READ BINARY citizen_id: 13 bytes, SW=9000" in caplog.text
    assert result.photo is not None
    photo_url = result.photo.data_url or ""
    forbidden = [
        TEST_PERSON.citizen_id,
        TEST_PERSON.citizen_id[:6],
        "ทดสอบ",
        "ใจดี",
        "Test",
        "Jaidee",
        TEST_PERSON.birth_date,
        "1977",
        TEST_PERSON.issuer,
        "หมู่ที่",
        "12/3",
        TEST_PERSON.card_number,
        "1234-56",
        photo_url[23:63],
        "313233",
        "E0B8",
    ]
    for value in forbidden:
        assert value not in caplog.text, value
