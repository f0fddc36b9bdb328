"""Icon state choice and tooltip words."""

import dataclasses

import pytest

from trayagent.status import ReaderState, ReaderStatus, ServiceState
from trayagent.tray.state import (
    TOOLTIP_MAX_CHARS,
    IconState,
    choose_icon_state,
    tooltip_text,
)

from .support import READER_A, READER_B, make_status

EMPTY = ReaderState.EMPTY
PRESENT = ReaderState.PRESENT
READING = ReaderState.READING
READ = ReaderState.READ
ERROR = ReaderState.ERROR
MUTE = ReaderState.MUTE


@pytest.mark.parametrize(
    ("reader_state", "expected"),
    [
        (EMPTY, IconState.READY),
        (PRESENT, IconState.CARD_PRESENT),
        (READ, IconState.CARD_PRESENT),
        (READING, IconState.READING),
        (ERROR, IconState.ERROR),
        (MUTE, IconState.ERROR),
    ],
)
def test_icon_state_one_reader(reader_state, expected):
    status = make_status((READER_A, reader_state))
    assert choose_icon_state(status) is expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (EMPTY, PRESENT, IconState.CARD_PRESENT),
        (READ, EMPTY, IconState.CARD_PRESENT),
        (PRESENT, ERROR, IconState.ERROR),
        (MUTE, READ, IconState.ERROR),
        (ERROR, READING, IconState.READING),
        (READING, EMPTY, IconState.READING),
        (EMPTY, EMPTY, IconState.READY),
    ],
)
def test_icon_state_two_readers(first, second, expected):
    status = make_status((READER_A, first), (READER_B, second))
    assert choose_icon_state(status) is expected


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (ServiceState.UNAVAILABLE, IconState.SERVICE_UNAVAILABLE),
        (ServiceState.NO_ACCESS, IconState.SERVICE_UNAVAILABLE),
        (ServiceState.STARTING, IconState.NO_READER),
    ],
)
def test_icon_state_service(service, expected):
    # Readers left over in the snapshot do not matter while the service is down.
    status = make_status((READER_A, PRESENT), service=service)
    assert choose_icon_state(status) is expected


def test_icon_state_no_reader():
    assert choose_icon_state(make_status()) is IconState.NO_READER


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (make_status((READER_A, PRESENT)), "Test Reader 00 00: card present"),
        (make_status((READER_A, EMPTY)), "Test Reader 00 00: no card"),
        (make_status((READER_A, READING)), "Test Reader 00 00: reading card"),
        (make_status((READER_A, READ)), "Test Reader 00 00: card read"),
        (make_status((READER_A, MUTE)), "Test Reader 00 00: card not responding"),
        (make_status(), "No card reader"),
        (
            make_status(service=ServiceState.UNAVAILABLE),
            "PC/SC service not running",
        ),
        (
            make_status(service=ServiceState.NO_ACCESS),
            "PC/SC service denied access",
        ),
        (
            make_status(service=ServiceState.STARTING),
            "Connecting to the PC/SC service",
        ),
        (
            make_status((READER_A, EMPTY), (READER_B, PRESENT)),
            "Test Reader 00 00: no card\nTest Reader 00 01: card present",
        ),
        (
            make_status((READER_A, EMPTY), simulated=True),
            "Test Reader 00 00: no card\nSimulated reader",
        ),
    ],
)
def test_tooltip_text(status, expected):
    assert tooltip_text(status) == expected


def test_tooltip_error_code():
    reader = ReaderStatus(READER_A, ERROR, error_code="NOT_THAI_ID_CARD")
    status = dataclasses.replace(make_status(), readers=(reader,))
    assert tooltip_text(status) == (
        "Test Reader 00 00: card read failed (NOT_THAI_ID_CARD)"
    )


def test_tooltip_cut_to_windows_limit():
    readers = [
        (f"Reader with a long product name {index}", EMPTY) for index in range(8)
    ]
    text = tooltip_text(make_status(*readers))
    assert len(text) == TOOLTIP_MAX_CHARS
    assert text.endswith("\u2026")
