"""The vpcd slot against a stand-in for the vpcd driver on loopback."""

import socket
import threading
import time

import pytest

from trayagent.simcard import SimulatedCard, VpcdError, VpcdSlot
from trayagent.simcard.people import JAIDEE
from trayagent.simcard.profiles import ATR_T0, MUTE_ATR_PAYLOAD

SELECT = bytes.fromhex("00A4040008A000000054480001")
READ_CID = bytes.fromhex("80B0000402000D")
ACCEPT_TIMEOUT = 5.0


class FakeVpcd:
    """The server side of the vpcd protocol, driven by the test.

    Like vpcd 3.3 it leaves Nagle's algorithm on and writes the length and
    the payload of each message with separate ``send`` calls.
    """

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.client: socket.socket | None = None

    def accept(self) -> None:
        self.server.settimeout(ACCEPT_TIMEOUT)
        self.client, _ = self.server.accept()
        self.client.settimeout(ACCEPT_TIMEOUT)

    def send(self, payload: bytes) -> None:
        self.client.send(len(payload).to_bytes(2, "big"))
        self.client.send(payload)

    def receive(self) -> bytes | None:
        header = self._receive_exactly(2)
        if header is None:
            return None
        return self._receive_exactly(int.from_bytes(header, "big"))

    def exchange(self, payload: bytes) -> bytes | None:
        self.send(payload)
        return self.receive()

    def _receive_exactly(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            chunk = self.client.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.server.close()


@pytest.fixture
def vpcd():
    fake = FakeVpcd()
    yield fake
    fake.close()


@pytest.fixture
def slot(vpcd):
    closed = threading.Event()
    slot = VpcdSlot(vpcd.port, on_close=closed.set)
    slot.closed_event = closed
    yield slot
    slot.remove()


def insert(slot: VpcdSlot, vpcd: FakeVpcd, card: SimulatedCard) -> None:
    slot.insert(card)
    vpcd.accept()


def test_atr_request_answered(slot, vpcd):
    insert(slot, vpcd, SimulatedCard(JAIDEE))
    assert vpcd.exchange(b"\x04") == ATR_T0


def test_apdu_answered(slot, vpcd):
    insert(slot, vpcd, SimulatedCard(JAIDEE))
    assert vpcd.exchange(SELECT) == bytes.fromhex("610A")


def test_power_on_resets_card(slot, vpcd):
    card = SimulatedCard(JAIDEE)
    insert(slot, vpcd, card)
    vpcd.exchange(SELECT)
    vpcd.send(b"\x01")
    assert vpcd.exchange(READ_CID) == bytes.fromhex("6986")


def test_mute_card_sends_long_atr(slot, vpcd):
    insert(slot, vpcd, SimulatedCard(JAIDEE, "mute"))
    assert vpcd.exchange(b"\x04") == MUTE_ATR_PAYLOAD


def test_remove_closes_connection(slot, vpcd):
    insert(slot, vpcd, SimulatedCard(JAIDEE))
    slot.remove()
    assert vpcd.receive() is None
    assert not slot.is_inserted
    assert not slot.closed_event.is_set()


def test_vpcd_closing_ends_thread(slot, vpcd):
    insert(slot, vpcd, SimulatedCard(JAIDEE))
    vpcd.client.close()
    assert slot.wait_closed(5.0)
    assert slot.closed_event.is_set()


def test_remove_after_fault_closes(slot, vpcd):
    card = SimulatedCard(JAIDEE)
    card.remove_after(1)
    insert(slot, vpcd, card)
    assert vpcd.exchange(SELECT) == bytes.fromhex("610A")
    assert vpcd.receive() is None
    assert slot.wait_closed(5.0)


def test_remove_on_offset_closes_unanswered(slot, vpcd):
    card = SimulatedCard(JAIDEE)
    card.remove_on_offset(0x0004)
    insert(slot, vpcd, card)
    vpcd.exchange(SELECT)
    assert vpcd.exchange(READ_CID) is None
    assert slot.wait_closed(5.0)


def test_reinsert_after_removal(slot, vpcd):
    insert(slot, vpcd, SimulatedCard(JAIDEE))
    slot.remove()
    vpcd.client.close()
    insert(slot, vpcd, SimulatedCard(JAIDEE))
    assert vpcd.exchange(b"\x04") == ATR_T0


def test_insert_twice_rejected(slot, vpcd):
    insert(slot, vpcd, SimulatedCard(JAIDEE))
    with pytest.raises(VpcdError, match="already contains a card"):
        slot.insert(SimulatedCard(JAIDEE))


def test_insert_without_listener_fails():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    slot = VpcdSlot(port)
    with pytest.raises(VpcdError, match=f"nothing listens on 127.0.0.1:{port}"):
        slot.insert(SimulatedCard(JAIDEE))
    assert not slot.is_inserted


def test_apdus_avoid_delayed_ack(slot, vpcd):
    """Twenty APDUs take far less than the 40 ms each that delayed ACKs cost."""
    insert(slot, vpcd, SimulatedCard(JAIDEE))
    started = time.monotonic()
    for _ in range(20):
        vpcd.exchange(SELECT)
    assert time.monotonic() - started < 0.4


def test_real_profile_delays_answer(slot, vpcd):
    insert(slot, vpcd, SimulatedCard(JAIDEE, "real"))
    started = time.monotonic()
    vpcd.exchange(SELECT)
    assert time.monotonic() - started >= 0.015
