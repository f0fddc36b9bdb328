"""APDU behaviour of the simulated card, without pcscd."""

import pytest

from trayagent.simcard.applet import FCI, SECOND_APPLET_AID, SimulatedCard
from trayagent.simcard.image import encode_person, field_bytes
from trayagent.simcard.people import JAIDEE, MANKHONG

SELECT = "00A4040008A000000054480001"
SELECT_SECOND = "00A4040008A000000054480083"
SELECT_UNKNOWN = "00A4040008A000000054480099"
READ_CID = "80B0000402000D"
GET_CID = "00C000000D"
GET_CID_P2_01 = "00C000010D"
CID_HEX = JAIDEE.citizen_id.encode("ascii").hex().upper()


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
        ("fast", [SELECT], "610A"),
        ("fast", [SELECT, "00C000000A"], FCI.hex().upper() + "9000"),
        ("fast", [SELECT + "00"], "610A"),
        ("fast", [SELECT_UNKNOWN], "6A82"),
        ("fast", [READ_CID], "6986"),
        ("fast", [SELECT_UNKNOWN, READ_CID], "6986"),
        ("fast", [SELECT, READ_CID], "610D"),
        ("fast", [SELECT, READ_CID, GET_CID], CID_HEX + "9000"),
        ("fast", [SELECT, READ_CID, "00C0000005"], "6C0D"),
        ("fast", [SELECT, READ_CID, "00C0000005", GET_CID], CID_HEX + "9000"),
        ("fast", [SELECT, READ_CID, "00C00000FF"], "6C0D"),
        ("fast", [SELECT, READ_CID, GET_CID_P2_01], "6B00"),
        ("fast", ["00C000000D"], "6985"),
        ("fast", [SELECT, READ_CID, GET_CID, GET_CID], "6985"),
        ("fast", [SELECT, READ_CID, "00CA000000", GET_CID], "6985"),
        ("fast", [SELECT, "80B0170002000D"], "6B00"),
        ("fast", [SELECT, "80B0000402FFFF"], "6700"),
        ("fast", [SELECT, "80B00004020000"], "6700"),
        ("fast", [SELECT, "80B00004010D"], "6700"),
        ("fast", [SELECT, "00B0000402000D"], "6E00"),
        ("fast", ["00A4000002 3F00".replace(" ", "")], "6A86"),
        ("fast", ["00A4040008A0000000"], "6700"),
        ("fast", ["00CA000000"], "6D00"),
        ("fast", ["80B0"], "6700"),
        ("fast", [SELECT_SECOND, READ_CID, GET_CID], "FF" * 13 + "9000"),
        ("atr-3b67", [SELECT, READ_CID, GET_CID], "6B00"),
        ("atr-3b67", [SELECT, READ_CID, GET_CID_P2_01], CID_HEX + "9000"),
        ("atr-3b67", [SELECT, "00C000010A"], FCI.hex().upper() + "9000"),
        ("t1", [SELECT], FCI.hex().upper() + "9000"),
        ("t1", [SELECT, READ_CID], CID_HEX + "9000"),
        ("t1", [SELECT, READ_CID, GET_CID], "6985"),
        ("non-thai", [SELECT], "6A82"),
        ("non-thai", [SELECT_SECOND], "6A82"),
        ("non-thai", [SELECT, READ_CID], "6986"),
        ("real", [SELECT, READ_CID, GET_CID], CID_HEX + "9000"),
    ],
)
def test_apdu_table(profile, commands, last_response):
    card = SimulatedCard(JAIDEE, profile)
    assert run(card, *commands)[-1] == last_response


def test_unknown_aid_deselects():
    card = SimulatedCard(JAIDEE)
    run(card, SELECT, SELECT_UNKNOWN)
    assert card.selected_aid is None


def test_read_full_photo_area():
    card = SimulatedCard(MANKHONG)
    run(card, SELECT)
    photo = b""
    for offset in range(0x017B, 0x017B + 5118, 255):
        length = min(255, 0x017B + 5118 - offset)
        command = f"80B0{offset:04X}0200{length:02X}"
        status, data = run(card, command, f"00C00000{length:02X}")
        assert status == f"61{length:02X}"
        photo += bytes.fromhex(data)[:-2]
    assert photo == field_bytes(encode_person(MANKHONG), "photo")
    assert photo.startswith(MANKHONG.photo)


def test_broken_image_served():
    image = encode_person(JAIDEE, citizen_id=b"12345")
    card = SimulatedCard(JAIDEE, image=image)
    response = run(card, SELECT, READ_CID, GET_CID)[-1]
    assert response == b"12345".hex().upper() + "20" * 8 + "9000"


def test_reset_clears_selection():
    card = SimulatedCard(JAIDEE)
    run(card, SELECT)
    card.reset()
    assert run(card, READ_CID) == ["6986"]


def test_unknown_profile_rejected():
    with pytest.raises(KeyError, match="Unknown card profile 'slow'"):
        SimulatedCard(JAIDEE, "slow")


def test_apdu_log_records_commands():
    card = SimulatedCard(JAIDEE)
    run(card, SELECT, READ_CID, GET_CID)
    assert card.apdu_log == [SELECT, READ_CID, GET_CID]


def test_apdu_log_has_no_response_data():
    card = SimulatedCard(JAIDEE)
    run(card, SELECT, READ_CID, GET_CID)
    assert all(CID_HEX not in line for line in card.apdu_log)


def test_on_command_callback():
    seen = []
    card = SimulatedCard(JAIDEE, on_command=seen.append)
    run(card, SELECT, READ_CID)
    assert seen == [SELECT, READ_CID]


def test_remove_after_count():
    card = SimulatedCard(JAIDEE)
    card.remove_after(2)
    first = card.process(bytes.fromhex(SELECT))
    second = card.process(bytes.fromhex("00C000000A"))
    assert not first.remove
    assert second.remove
    assert second.response == FCI + b"\x90\x00"


def test_remove_on_offset():
    card = SimulatedCard(MANKHONG)
    card.remove_on_offset(0x017B + 300)
    run(card, SELECT)
    assert run(card, "80B0017B0200FF", "00C00000FF")[0] == "61FF"
    pulled = card.process(bytes.fromhex("80B0027A0200FF"))
    assert pulled.response is None


def test_remove_on_offset_fires_once():
    card = SimulatedCard(JAIDEE)
    card.remove_on_offset(0x0004)
    run(card, SELECT)
    assert card.process(bytes.fromhex(READ_CID)).response is None
    assert run(card, READ_CID) == ["610D"]


def test_switch_applet_at_index():
    card = SimulatedCard(JAIDEE)
    card.switch_applet_at(3)
    run(card, SELECT, "00C000000A")
    assert run(card, READ_CID, GET_CID) == ["610D", "FF" * 13 + "9000"]
    assert card.selected_aid == SECOND_APPLET_AID


def test_switch_applet_drops_pending_response():
    card = SimulatedCard(JAIDEE)
    card.switch_applet_at(3)
    run(card, SELECT, READ_CID)
    assert run(card, GET_CID) == ["6985"]


def test_switch_to_no_applet():
    card = SimulatedCard(JAIDEE)
    card.switch_applet_at(2, None)
    run(card, SELECT)
    assert run(card, READ_CID) == ["6986"]


def test_answer_once_at_index():
    card = SimulatedCard(JAIDEE)
    card.answer_once(0x6F00, at=2)
    assert run(card, SELECT, READ_CID, READ_CID) == ["610A", "6F00", "610D"]


def test_answer_once_by_prefix():
    card = SimulatedCard(JAIDEE)
    card.answer_once(0x6A82, prefix=bytes.fromhex("00C0"))
    responses = run(card, SELECT, "00C000000A", READ_CID, GET_CID)
    assert responses == ["610A", "6A82", "610D", CID_HEX + "9000"]


def test_answer_once_drops_pending_response():
    card = SimulatedCard(JAIDEE)
    card.answer_once(0x6F00, at=3)
    run(card, SELECT, READ_CID)
    assert run(card, GET_CID, GET_CID) == ["6F00", "6985"]


def test_repr_hides_person():
    text = repr(SimulatedCard(JAIDEE, "real"))
    assert text == "SimulatedCard(Person(key='jaidee'), profile='real')"
