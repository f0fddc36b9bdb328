"""The laser ID and NHSO applets through the real stack: pcscd, vpcd and pyscard."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from pcsc_stack import scard, wait_for_card
from trayagent.card.errors import OptionalAppletMissingError
from trayagent.card.laser import read_laser_id
from trayagent.card.nhso import read_nhso
from trayagent.card.reader import read_card
from trayagent.simcard import SimulatedCard
from trayagent.simcard.people import RAKDEE

if TYPE_CHECKING:
    from trayagent.pcsc.connection import PcscCardConnection

pytestmark = pytest.mark.pcsc

READER_0 = "Test Reader 00 00"
SELECT_PERSONAL = "00A4040008A000000054480001"
SELECT_NHSO = "00A4040008A000000054480083"
SELECT_LASER = "00A4040008A000000084060002"


def transmit(handle: int, protocol: int, command: str) -> str:
    """Send a hex command APDU with pyscard and return the response as hex."""
    pci = (
        scard.SCARD_PCI_T1
        if protocol == scard.SCARD_PROTOCOL_T1
        else scard.SCARD_PCI_T0
    )
    result, response = scard.SCardTransmit(handle, pci, list(bytes.fromhex(command)))
    assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
    return bytes(response).hex().upper()


@contextmanager
def agent_connection(reader_name: str) -> Iterator["PcscCardConnection"]:
    """Open the agent's own PC/SC connection to the card in ``reader_name``.

    The agent's PC/SC modules import pyscard, so they are imported here, after
    the ``slot0`` fixture has checked that pyscard is installed.
    """
    from trayagent.pcsc import scard as pcsc
    from trayagent.pcsc.connection import PcscCardConnection

    context = pcsc.establish_context()
    try:
        counter = pcsc.read_state(context, reader_name).counter
    finally:
        pcsc.release_context(context)
    conn = PcscCardConnection(reader_name, counter, threading.Event())
    conn.open()
    try:
        yield conn
    finally:
        conn.close()


def test_select_both_applets(slot0):
    slot0.insert(SimulatedCard(RAKDEE))
    wait_for_card(READER_0)
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert result == scard.SCARD_S_SUCCESS
    result, handle, protocol = scard.SCardConnect(
        context,
        READER_0,
        scard.SCARD_SHARE_SHARED,
        scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
    )
    assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
    try:
        nhso_select = transmit(handle, protocol, SELECT_NHSO)
        main_right = [
            transmit(handle, protocol, "80B0000402003C"),
            transmit(handle, protocol, "00C000003C"),
        ]
        laser_select = transmit(handle, protocol, SELECT_LASER)
        laser = [
            transmit(handle, protocol, "8000000007"),
            transmit(handle, protocol, "00C0000010"),
        ]
    finally:
        scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    assert nhso_select == "610A"
    assert main_right == ["613C", b"UCS".ljust(60, b" ").hex().upper() + "9000"]
    assert laser_select == "610A"
    assert laser == ["6110", b"ME0123456789".ljust(16, b"\x00").hex().upper() + "9000"]


@pytest.mark.parametrize(
    ("profile", "form"), [("fast", "short"), ("laser-long", "long")]
)
def test_agent_reads_optional_applets(slot0, profile, form):
    card = SimulatedCard(RAKDEE, profile)
    slot0.insert(card)
    wait_for_card(READER_0)
    with agent_connection(READER_0) as conn:
        laser = read_laser_id(conn)
        nhso = read_nhso(conn)
        personal = read_card(conn, include_photo=False).personal
    assert laser.code == "ME0-1234567-89"
    assert laser.form == form
    assert nhso.main_right == "UCS"
    assert nhso.main_hospital == "โรงพยาบาลสันทรายทดสอบ"
    assert nhso.expiry_date.date == "2026-09-30"
    assert nhso.hospital_changes == 1
    assert personal.citizen_id == RAKDEE.citizen_id
    selects = [apdu for apdu in card.apdu_log if apdu.startswith("00A404")]
    assert selects == [SELECT_LASER, SELECT_NHSO, SELECT_PERSONAL]


def test_agent_older_card(slot0):
    card = SimulatedCard(RAKDEE, "no-optional-applets")
    slot0.insert(card)
    wait_for_card(READER_0)
    with agent_connection(READER_0) as conn:
        with pytest.raises(OptionalAppletMissingError):
            read_laser_id(conn)
        with pytest.raises(OptionalAppletMissingError):
            read_nhso(conn)
        personal = read_card(conn, include_photo=False).personal
    assert personal.citizen_id == RAKDEE.citizen_id
    assert card.apdu_log[:3] == [SELECT_LASER, SELECT_NHSO, SELECT_PERSONAL]
