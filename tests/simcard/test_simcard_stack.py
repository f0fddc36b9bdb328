"""The simulated card through the real stack: pcscd, vpcd and pyscard."""

import pytest

from pcsc_stack import scard, wait_for_card, wait_for_empty
from trayagent.simcard import SimulatedCard
from trayagent.simcard.image import FIELDS_BY_NAME, encode_person, field_bytes
from trayagent.simcard.people import JAIDEE, MANKHONG, RAKDEE

pytestmark = pytest.mark.pcsc

READER_0 = "Test Reader 00 00"
READER_1 = "Test Reader 00 01"
SELECT = "00A4040008A000000054480001"
CHUNK = 255


class Reader:
    """A pyscard connection to one test reader, speaking hex."""

    def __init__(self, reader_name: str, protocols: int | None = None) -> None:
        if protocols is None:
            protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        result, self.context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        assert result == scard.SCARD_S_SUCCESS
        result, self.handle, self.protocol = scard.SCardConnect(
            self.context, reader_name, scard.SCARD_SHARE_SHARED, protocols
        )
        assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)

    def transmit(self, command: str) -> bytes:
        pci = scard.SCARD_PCI_T0
        if self.protocol == scard.SCARD_PROTOCOL_T1:
            pci = scard.SCARD_PCI_T1
        result, response = scard.SCardTransmit(
            self.handle, pci, list(bytes.fromhex(command))
        )
        assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
        return bytes(response)

    def read(self, offset: int, length: int, p2: int = 0) -> bytes:
        """READ BINARY then GET RESPONSE; return the data without the SW."""
        status = self.transmit(f"80B0{offset:04X}0200{length:02X}")
        assert status == bytes([0x61, length])
        response = self.transmit(f"00C000{p2:02X}{length:02X}")
        assert response[-2:] == b"\x90\x00"
        return response[:-2]

    def close(self) -> None:
        scard.SCardDisconnect(self.handle, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(self.context)


def insert_and_connect(slot, card, reader_name, **options) -> Reader:
    slot.insert(card)
    wait_for_card(reader_name)
    return Reader(reader_name, **options)


def test_read_citizen_id(slot0):
    reader = insert_and_connect(slot0, SimulatedCard(JAIDEE), READER_0)
    try:
        assert reader.transmit(SELECT) == bytes.fromhex("610A")
        assert reader.transmit("00C000000A")[-2:] == b"\x90\x00"
        assert reader.read(0x0004, 13) == JAIDEE.citizen_id.encode("ascii")
    finally:
        reader.close()


def test_atr_reported(slot0):
    slot0.insert(SimulatedCard(JAIDEE))
    state = wait_for_card(READER_0)
    assert state.atr == SimulatedCard(JAIDEE).atr


def test_read_full_photo_area(slot0):
    reader = insert_and_connect(slot0, SimulatedCard(MANKHONG), READER_0)
    area = FIELDS_BY_NAME["photo"]
    try:
        reader.transmit(SELECT)
        photo = b""
        for offset in range(area.offset, area.end, CHUNK):
            photo += reader.read(offset, min(CHUNK, area.end - offset))
    finally:
        reader.close()
    assert photo == field_bytes(encode_person(MANKHONG), "photo")
    assert photo.startswith(MANKHONG.photo)


def test_apdu_log_through_pcscd(slot0):
    card = SimulatedCard(JAIDEE)
    reader = insert_and_connect(slot0, card, READER_0)
    try:
        reader.transmit(SELECT)
        reader.read(0x0004, 13)
    finally:
        reader.close()
    assert card.apdu_log == [SELECT, "80B0000402000D", "00C000000D"]


def test_atr_3b67_needs_p2_01(slot0):
    card = SimulatedCard(JAIDEE, "atr-3b67")
    reader = insert_and_connect(slot0, card, READER_0)
    try:
        reader.transmit(SELECT)
        assert reader.transmit("80B0000402000D") == bytes.fromhex("610D")
        assert reader.transmit("00C000000D") == bytes.fromhex("6B00")
        assert reader.transmit("00C000010D")[:-2] == JAIDEE.citizen_id.encode()
    finally:
        reader.close()


def test_t1_profile(slot0):
    reader = insert_and_connect(slot0, SimulatedCard(JAIDEE, "t1"), READER_0)
    try:
        assert reader.protocol == scard.SCARD_PROTOCOL_T1
        reader.transmit(SELECT)
        response = reader.transmit("80B0000402000D")
    finally:
        reader.close()
    assert response == JAIDEE.citizen_id.encode("ascii") + b"\x90\x00"


def test_non_thai_rejects_select(slot0):
    reader = insert_and_connect(slot0, SimulatedCard(JAIDEE, "non-thai"), READER_0)
    try:
        assert reader.transmit(SELECT) == bytes.fromhex("6A82")
    finally:
        reader.close()


def test_mute_card_has_no_atr(slot0):
    slot0.insert(SimulatedCard(JAIDEE, "mute"))
    state = wait_for_card(READER_0)
    assert state.has(scard.SCARD_STATE_MUTE)
    assert state.atr == b""


def test_mute_card_connect_fails(slot0):
    slot0.insert(SimulatedCard(JAIDEE, "mute"))
    wait_for_card(READER_0)
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    try:
        result, _, _ = scard.SCardConnect(
            context,
            READER_0,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
    finally:
        scard.SCardReleaseContext(context)
    # pcsc-lite 1.9.9 returns SCARD_W_UNPOWERED_CARD when power-up fails and
    # keeps SCARD_W_UNRESPONSIVE_CARD for a failed PPS exchange.
    assert result in (scard.SCARD_W_UNPOWERED_CARD, scard.SCARD_W_UNRESPONSIVE_CARD)


def test_removal_seen(slot0):
    slot0.insert(SimulatedCard(JAIDEE))
    wait_for_card(READER_0)
    slot0.remove()
    state = wait_for_empty(READER_0)
    assert not state.has(scard.SCARD_STATE_PRESENT)


def test_removal_fault_seen(slot0):
    card = SimulatedCard(JAIDEE)
    card.remove_after(1)
    reader = insert_and_connect(slot0, card, READER_0)
    try:
        assert reader.transmit(SELECT) == bytes.fromhex("610A")
    finally:
        reader.close()
    wait_for_empty(READER_0)
    assert not slot0.is_inserted


def test_removal_during_apdu_gives_no_status(slot0):
    """vpcd 3.3 returns an empty response, with success, for the unanswered APDU."""
    card = SimulatedCard(JAIDEE)
    card.remove_on_offset(0x0004)
    reader = insert_and_connect(slot0, card, READER_0)
    try:
        reader.transmit(SELECT)
        result, response = scard.SCardTransmit(
            reader.handle, scard.SCARD_PCI_T0, list(bytes.fromhex("80B0000402000D"))
        )
    finally:
        reader.close()
    assert result != scard.SCARD_S_SUCCESS or len(response) < 2
    wait_for_empty(READER_0)


def test_both_slots(slot0, slot1):
    first = insert_and_connect(slot0, SimulatedCard(JAIDEE), READER_0)
    second = insert_and_connect(slot1, SimulatedCard(RAKDEE), READER_1)
    try:
        first.transmit(SELECT)
        second.transmit(SELECT)
        first_id = first.read(0x0004, 13)
        second_id = second.read(0x0004, 13)
    finally:
        first.close()
        second.close()
    assert first_id == JAIDEE.citizen_id.encode("ascii")
    assert second_id == RAKDEE.citizen_id.encode("ascii")


def test_pcscd_restart(pcsc_stack, slot0):
    slot0.insert(SimulatedCard(JAIDEE))
    wait_for_card(READER_0)
    pcsc_stack.stop()
    assert slot0.wait_closed(5.0)
    pcsc_stack.start()
    reader = insert_and_connect(slot0, SimulatedCard(RAKDEE), READER_0)
    try:
        reader.transmit(SELECT)
        assert reader.read(0x0004, 13) == RAKDEE.citizen_id.encode("ascii")
    finally:
        reader.close()
