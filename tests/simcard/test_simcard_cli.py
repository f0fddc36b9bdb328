"""``python -m trayagent.simcard`` keeps a card in a vpcd slot."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pcsc_stack import scard, wait_for_card, wait_for_empty
from trayagent.simcard.people import RAKDEE

REPO = Path(__file__).resolve().parents[2]
READER_1 = "Test Reader 00 01"
SELECT = "00A4040008A000000054480001"
EXIT_TIMEOUT = 10.0


def start_cli(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "trayagent.simcard", *arguments],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Close standard input and return (exit status, standard error)."""
    _, stderr = process.communicate(timeout=EXIT_TIMEOUT)
    return process.returncode, stderr


def read_citizen_id(reader_name: str) -> bytes:
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    result, handle, _ = scard.SCardConnect(
        context, reader_name, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0
    )
    assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
    try:
        for command in (SELECT, "80B0000402000D"):
            scard.SCardTransmit(
                handle, scard.SCARD_PCI_T0, list(bytes.fromhex(command))
            )
        result, response = scard.SCardTransmit(
            handle, scard.SCARD_PCI_T0, list(bytes.fromhex("00C000000D"))
        )
    finally:
        scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    return bytes(response[:-2])


def test_insert_fails_without_listener():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    process = start_cli("--port", str(port))
    status, stderr = finish(process)
    assert status == 2
    assert f"nothing listens on 127.0.0.1:{port}" in stderr


def test_unknown_person_rejected():
    process = start_cli("--person", "nobody")
    status, stderr = finish(process)
    assert status == 2
    assert "invalid choice: 'nobody'" in stderr


@pytest.mark.pcsc
def test_card_served_until_stdin_closes(pcsc_stack, tmp_path):
    log_path = tmp_path / "apdu.log"
    process = start_cli(
        "--port",
        "37121",
        "--person",
        "rakdee",
        "--profile",
        "real",
        "--apdu-log",
        str(log_path),
    )
    try:
        wait_for_card(READER_1)
        citizen_id = read_citizen_id(READER_1)
    finally:
        status, stderr = finish(process)
    assert citizen_id == RAKDEE.citizen_id.encode("ascii")
    assert status == 0, stderr
    assert log_path.read_text().splitlines() == [
        SELECT,
        "80B0000402000D",
        "00C000000D",
    ]
    wait_for_empty(READER_1)


@pytest.mark.pcsc
def test_exits_when_pcscd_stops(pcsc_stack):
    process = start_cli("--port", "37121")
    try:
        wait_for_card(READER_1)
        pcsc_stack.stop()
    finally:
        status, stderr = finish(process)
        pcsc_stack.start()
    assert status == 1
    assert "vpcd closed the connection on port 37121" in stderr
