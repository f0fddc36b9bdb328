"""Notifications raised by a change of status."""

import dataclasses

from trayagent.status import ReaderState, ReaderStatus, ServiceState
from trayagent.tray.notifications import Notification, status_notifications

from .support import READER_A, READER_B, make_status

ONE_READER = make_status((READER_A, ReaderState.EMPTY))
TWO_READERS = make_status((READER_A, ReaderState.EMPTY), (READER_B, ReaderState.EMPTY))
SERVICE_DOWN = make_status(service=ServiceState.UNAVAILABLE)


def test_first_status_silent():
    assert status_notifications(None, TWO_READERS) == []


def test_readers_found_at_start_silent():
    starting = make_status(service=ServiceState.STARTING)
    assert status_notifications(starting, TWO_READERS) == []


def test_reader_added():
    assert status_notifications(ONE_READER, TWO_READERS) == [
        Notification("Card reader connected", READER_B)
    ]


def test_reader_removed():
    assert status_notifications(TWO_READERS, ONE_READER) == [
        Notification("Card reader disconnected", READER_B)
    ]


def test_reader_replaced():
    other = make_status((READER_B, ReaderState.EMPTY))
    assert status_notifications(ONE_READER, other) == [
        Notification("Card reader connected", READER_B),
        Notification("Card reader disconnected", READER_A),
    ]


def test_service_lost_one_notification():
    notifications = status_notifications(TWO_READERS, SERVICE_DOWN)
    assert [n.title for n in notifications] == ["PC/SC service stopped"]


def test_service_refusing_access_counts_as_lost():
    no_access = make_status(service=ServiceState.NO_ACCESS)
    notifications = status_notifications(ONE_READER, no_access)
    assert [n.title for n in notifications] == ["PC/SC service stopped"]


def test_service_back_one_notification():
    notifications = status_notifications(SERVICE_DOWN, TWO_READERS)
    assert [n.title for n in notifications] == ["PC/SC service running"]


def test_service_still_down_silent():
    assert status_notifications(SERVICE_DOWN, SERVICE_DOWN) == []


def test_card_changes_silent():
    states = [
        ReaderState.PRESENT,
        ReaderState.READING,
        ReaderState.READ,
        ReaderState.ERROR,
        ReaderState.MUTE,
        ReaderState.EMPTY,
    ]
    previous = ONE_READER
    for state in states:
        current = make_status((READER_A, state))
        assert status_notifications(previous, current) == [], state
        previous = current


def test_settings_changes_silent():
    changed = dataclasses.replace(ONE_READER, auto_read=False, include_photo=False)
    assert status_notifications(ONE_READER, changed) == []


def test_notifications_carry_no_error_details():
    failed = dataclasses.replace(
        ONE_READER,
        readers=(ReaderStatus(READER_A, ReaderState.ERROR, error_code="READ_FAILED"),),
    )
    assert status_notifications(ONE_READER, failed) == []

