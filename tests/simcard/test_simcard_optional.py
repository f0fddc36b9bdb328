"""The simulated card's laser ID and NHSO applets and their profiles, without pcscd."""

import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace

import pytest

from trayagent.card.errors import OptionalAppletMissingError
from trayagent.card.laser import read_laser_id
from trayagent.card.nhso import read_nhso
from trayagent.card.reader import read_card
from trayagent.simcard.applet import (
    LASER_APPLET_AID,
    NHSO_APPLET_AID,
    SECOND_APPLET_AID,
    SimulatedCard,
)
from trayagent.simcard.image import (
    LASER_LONG_HEADER,
    NHSO_FIELDS,
    NHSO_FIELDS_BY_NAME,
    build_nhso_file,
    encode_nhso,
    laser_response,
)
from trayagent.simcard.people import JAIDEE, MANKHONG, PEOPLE, RAKDEE, SUKJAI
from trayagent.simcard.profiles import PROFILES

SELECT_PERSONAL = "00A4040008A000000054480001"
SELECT_NHSO = "00A4040008A000000054480083"
SELECT_LASER = "00A4040008A000000084060002"
LASER_COMMAND = "8000000007"
READ_MAIN_RIGHT = "80B0000402003C"
GET_MAIN_RIGHT = "00C000003C"
JAIDEE_LASER = b"JT1234567890".hex().upper()
SHORT_LASER = JAIDEE_LASER + "00" * 4
LONG_LASER = LASER_LONG_HEADER.hex().upper() + JAIDEE_LASER + "00" * 4
UCS = "UCS".encode("tis-620").hex().upper() + "20" * 57
LASER_PATTERN = re.compile(r"[A-Z]{2}\d{10}")


class SimulatedConnection:
    """A ``CardConnection`` that hands each APDU to a simulated card directly."""

    def __init__(self, card: SimulatedCard) -> None:
        self.card = card

    @property
    def atr(self) -> bytes:
        return self.card.atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        response = self.card.process(apdu).response
        assert response is not None
        return response[:-2], int.from_bytes(response[-2:], "big")

    def reconnect(self) -> None:
        self.card.reset()

    def transaction(self) -> AbstractContextManager[None]:
        return nullcontext()


def run(card: SimulatedCard, *commands: str) -> list[str]:
    """Send hex command APDUs; return the responses as hex."""
    responses = []
    for command in commands:
        exchange = card.process(bytes.fromhex(command))
        assert exchange.response is not None
        responses.append(exchange.response.hex().upper())
    return responses


@pytest.mark.parametrize(
    ("profile", "commands", "last_response"),
    [
        ("fast", [SELECT_LASER], "610A"),
        ("fast", [SELECT_LASER, LASER_COMMAND], "6110"),
        ("fast", [SELECT_LASER, LASER_COMMAND, "00C0000010"], SHORT_LASER + "9000"),
        ("fast", [SELECT_LASER, "8000000017"], "6110"),
        ("fast", [SELECT_LASER, "8000000000"], "6110"),
        ("fast", [SELECT_LASER, LASER_COMMAND, "00C0000007"], "6C10"),
        ("fast", [SELECT_LASER, LASER_COMMAND, "00C0000017"], "6C10"),
        ("fast", [SELECT_LASER, LASER_COMMAND, "00C0000107"], "6B00"),
        ("fast", [SELECT_LASER, "8000000107"], "6B00"),
        ("fast", [SELECT_LASER, "80000000"], "6700"),
        ("fast", [SELECT_LASER, "800000000100"], "6700"),
        ("fast", [SELECT_LASER, READ_MAIN_RIGHT], "6986"),
        ("fast", [SELECT_PERSONAL, LASER_COMMAND], "6D00"),
        ("fast", [SELECT_NHSO, LASER_COMMAND], "6D00"),
        ("fast", [LASER_COMMAND], "6D00"),
        ("laser-long", [SELECT_LASER, LASER_COMMAND], "6117"),
        (
            "laser-long",
            [SELECT_LASER, LASER_COMMAND, "00C0000017"],
            LONG_LASER + "9000",
        ),
        ("laser-long", [SELECT_LASER, LASER_COMMAND, "00C0000010"], "6C17"),
        ("t1", [SELECT_LASER, LASER_COMMAND], SHORT_LASER + "9000"),
        (
            "atr-3b67",
            [SELECT_LASER, LASER_COMMAND, "00C0000110"],
            SHORT_LASER + "9000",
        ),
        ("atr-3b67", [SELECT_LASER, LASER_COMMAND, "00C0000010"], "6B00"),
        ("no-optional-applets", [SELECT_LASER], "6A82"),
        ("no-optional-applets", [SELECT_NHSO], "6A82"),
        ("no-optional-applets", [SELECT_PERSONAL], "610A"),
        ("no-optional-applets", [SELECT_LASER, LASER_COMMAND], "6D00"),
        ("non-thai", [SELECT_LASER], "6A82"),
        ("non-thai", [SELECT_NHSO], "6A82"),
        ("non-thai", [SELECT_LASER, LASER_COMMAND], "6D00"),
    ],
)
def test_laser_apdu_table(profile, commands, last_response):
    card = SimulatedCard(JAIDEE, profile)
    assert run(card, *commands)[-1] == last_response


@pytest.mark.parametrize(
    ("person", "commands", "last_response"),
    [
        (RAKDEE, [SELECT_NHSO], "610A"),
        (RAKDEE, [SELECT_NHSO, READ_MAIN_RIGHT], "613C"),
        (RAKDEE, [SELECT_NHSO, READ_MAIN_RIGHT, GET_MAIN_RIGHT], UCS + "9000"),
        (RAKDEE, [SELECT_NHSO, "80B0015D020001", "00C0000001"], "019000"),
        (SUKJAI, [SELECT_NHSO, "80B0015D020001", "00C0000001"], "329000"),
        (RAKDEE, [SELECT_NHSO, READ_MAIN_RIGHT, "00C0000010"], "6C3C"),
        (RAKDEE, [SELECT_NHSO, "80B001F0020020"], "6B00"),
        (JAIDEE, [SELECT_NHSO, READ_MAIN_RIGHT, GET_MAIN_RIGHT], "FF" * 60 + "9000"),
    ],
)
def test_nhso_apdu_table(person, commands, last_response):
    card = SimulatedCard(person)
    assert run(card, *commands)[-1] == last_response


def test_nhso_aid_is_second_applet():
    assert NHSO_APPLET_AID == SECOND_APPLET_AID
    assert NHSO_APPLET_AID == bytes.fromhex("A000000054480083")
    assert LASER_APPLET_AID == bytes.fromhex("A000000084060002")


def test_switch_to_laser_deselects_file():
    card = SimulatedCard(RAKDEE)
    card.switch_applet_at(2, LASER_APPLET_AID)
    run(card, SELECT_PERSONAL)
    assert run(card, "80B0000402000D") == ["6986"]


def test_nhso_image_override():
    image = build_nhso_file({"main_right": b"XYZ", "hospital_changes": b"\xff"})
    card = SimulatedCard(RAKDEE, nhso_image=image)
    result = read_nhso(SimulatedConnection(card))
    assert result.main_right == "XYZ"
    assert result.hospital_changes is None


def test_broken_laser_code():
    person = replace(JAIDEE, laser_id="JT12")
    result = read_laser_id(SimulatedConnection(SimulatedCard(person)))
    assert result.raw == "JT12"
    assert result.code is None
    assert result.warnings[0].code == "LASER_ID_INVALID"


# Reading through the agent's card layer


@pytest.mark.parametrize("profile", ["fast", "laser-long", "t1", "atr-3b67", "real"])
def test_agent_reads_laser(profile):
    card = SimulatedCard(RAKDEE, profile)
    result = read_laser_id(SimulatedConnection(card))
    assert result.code == "ME0-1234567-89"
    assert result.form == ("long" if profile == "laser-long" else "short")


def test_agent_reads_nhso_json():
    result = read_nhso(SimulatedConnection(SimulatedCard(RAKDEE)))
    assert result.to_json() == {
        "main_right": "UCS",
        "sub_right": "ผู้มีสิทธิทั่วไป",
        "main_hospital": "โรงพยาบาลสันทรายทดสอบ",
        "sub_hospital": "โรงพยาบาลส่งเสริมสุขภาพตำบลหนองหารทดสอบ",
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
            "raw": "25660115",
            "date": "2023-01-15",
            "precision": "day",
            "lifetime": False,
        },
        "hospital_changes": 1,
        "warnings": [],
    }


def test_agent_reads_reduced_precision_nhso():
    result = read_nhso(SimulatedConnection(SimulatedCard(SUKJAI, "t1")))
    assert result.issue_date.precision == "month"
    assert result.update_date.date == "2021"
    assert result.sub_right == ""
    assert result.hospital_changes == 2


def test_agent_reads_lifetime_nhso():
    result = read_nhso(SimulatedConnection(SimulatedCard(MANKHONG, "atr-3b67")))
    assert result.expiry_date.lifetime
    assert result.sub_hospital == ""
    assert result.hospital_changes == 0


def test_agent_reads_erased_nhso():
    result = read_nhso(SimulatedConnection(SimulatedCard(JAIDEE)))
    assert result.main_right == ""
    assert result.hospital_changes is None
    assert "TEXT_UNDECODABLE" not in [warning.code for warning in result.warnings]


@pytest.mark.parametrize("profile", ["no-optional-applets", "non-thai"])
@pytest.mark.parametrize("read", [read_laser_id, read_nhso])
def test_agent_missing_applet(profile, read):
    card = SimulatedCard(RAKDEE, profile)
    with pytest.raises(OptionalAppletMissingError):
        read(SimulatedConnection(card))
    assert len(card.apdu_log) == 1


def test_personal_read_sends_nothing_to_optional_applets():
    card = SimulatedCard(RAKDEE)
    read_card(SimulatedConnection(card), include_photo=True)
    assert SELECT_LASER not in card.apdu_log
    assert SELECT_NHSO not in card.apdu_log
    assert not any(apdu.startswith("80000000") for apdu in card.apdu_log)
    assert card.apdu_log.count(SELECT_PERSONAL) == 2


def test_apdu_log_shows_optional_reads():
    card = SimulatedCard(RAKDEE)
    conn = SimulatedConnection(card)
    read_card(conn, include_photo=False)
    read_laser_id(conn)
    read_nhso(conn)
    read_card(conn, include_photo=False)
    selects = [apdu for apdu in card.apdu_log if apdu.startswith("00A404")]
    assert selects == [SELECT_PERSONAL, SELECT_LASER, SELECT_NHSO, SELECT_PERSONAL]
    assert card.apdu_log[card.apdu_log.index(SELECT_LASER) + 1] == LASER_COMMAND


def test_no_optional_applets_keeps_personal():
    card = SimulatedCard(RAKDEE, "no-optional-applets")
    result = read_card(SimulatedConnection(card), include_photo=False)
    assert result.personal.citizen_id == RAKDEE.citizen_id


# Profiles


def test_optional_profiles():
    assert not PROFILES["no-optional-applets"].has_laser_applet
    assert not PROFILES["no-optional-applets"].has_nhso_applet
    assert PROFILES["laser-long"].laser_form == "long"
    assert PROFILES["fast"].laser_form == "short"
    assert PROFILES["fast"].has_laser_applet
    assert PROFILES["fast"].has_nhso_applet
    assert PROFILES["no-optional-applets"].atr == PROFILES["fast"].atr


# Images and people


def test_laser_response_forms():
    assert laser_response("JT1234567890") == bytes.fromhex(SHORT_LASER)
    assert laser_response("JT1234567890", "long") == bytes.fromhex(LONG_LASER)
    assert len(LASER_LONG_HEADER) == 7


@pytest.mark.parametrize("form", ["short", "long"])
def test_laser_response_too_long(form):
    with pytest.raises(ValueError, match="does not fit"):
        laser_response("X" * 17, form)


def test_encode_nhso_offsets():
    image = encode_nhso(RAKDEE.nhso)
    main_right = NHSO_FIELDS_BY_NAME["main_right"]
    changes = NHSO_FIELDS_BY_NAME["hospital_changes"]
    assert image[main_right.offset : main_right.end] == b"UCS".ljust(60, b" ")
    assert image[changes.offset : changes.end] == b"\x01"
    assert image[:4] == bytes(4)
    assert changes.end == 0x015E


def test_encode_nhso_rejects_unknown_field():
    with pytest.raises(ValueError, match="Unknown field name: photo"):
        encode_nhso(RAKDEE.nhso, photo=b"")


@pytest.mark.parametrize("person", PEOPLE.values(), ids=PEOPLE.keys())
def test_laser_ids_valid(person):
    assert LASER_PATTERN.fullmatch(person.laser_id)


def test_laser_ids_unique():
    codes = [person.laser_id for person in PEOPLE.values()]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("person", [RAKDEE, SUKJAI, MANKHONG], ids=lambda p: p.key)
def test_nhso_fields_fit(person):
    for entry in NHSO_FIELDS:
        value = getattr(person.nhso, entry.name)
        raw = value if isinstance(value, bytes) else value.encode("tis-620")
        assert len(raw) <= entry.length, entry.name
    assert len(person.nhso.hospital_changes) == 1


def test_change_count_encodings_covered():
    stored = [p.nhso.hospital_changes for p in PEOPLE.values() if p.nhso is not None]
    assert any(byte[0] < 0x20 for byte in stored)
    assert any(byte.isdigit() for byte in stored)


def test_person_repr_hides_optional_data():
    text = repr(RAKDEE)
    assert RAKDEE.laser_id not in text
    assert "UCS" not in text
    assert "NhsoRecord" not in text
