"""The recent-activity model, fed with events built directly."""

import datetime

import pytest

from trayagent.activity import (
    FAILURE_PHRASES,
    ActivityEntry,
    ActivityLog,
    failure_phrase,
    format_entry,
)
from trayagent.errors import ERROR_MESSAGES
from trayagent.events import (
    CardInserted,
    CardMute,
    CardRead,
    CardReadFailed,
    CardRemoved,
    PhotoRead,
    ReaderAdded,
    ReaderRemoved,
    ReadFinished,
    ReadStarted,
    ServiceChanged,
)
from trayagent.status import ServiceState

READER = "Test Reader 00 00"
NOON = datetime.datetime(2026, 12, 3, 14, 5, 9)

# The codes a card read can end with, as the reading sequence and the
# monitor produce them.
READ_FAILURE_CODES = (
    "NOT_THAI_ID_CARD",
    "CARD_UNRESPONSIVE",
    "CARD_REMOVED",
    "READ_FAILED",
    "READ_TIMEOUT",
    "SERVICE_UNAVAILABLE",
    "SERVICE_NO_ACCESS",
    "INTERNAL_ERROR",
)


class Untouchable:
    """Stands for card data: any attribute access fails the test."""

    def __getattribute__(self, name: str) -> object:
        raise AssertionError(f"card data was touched: .{name}")


def make_log(limit: int = 10) -> ActivityLog:
    return ActivityLog(limit=limit, clock=lambda: NOON)


def texts(log: ActivityLog) -> list[str]:
    return [entry.text for entry in log.entries()]


@pytest.mark.parametrize(
    ("event", "text"),
    [
        (ReaderAdded(READER), "Reader attached: Test Reader 00 00"),
        (ReaderRemoved(READER), "Reader detached: Test Reader 00 00"),
        (CardInserted(READER, 1, b"\x3b\x78"), "Card inserted (Test Reader 00 00)"),
        (CardMute(READER, 1), "Card does not answer (Test Reader 00 00)"),
        (CardRemoved(READER, 1), "Card removed (Test Reader 00 00)"),
        (
            CardRead(READER, 1, Untouchable(), 1.42),
            "Card read in 1.4 s (Test Reader 00 00)",
        ),
        (PhotoRead(READER, 1, Untouchable(), 1.94), "Photo read in 1.9 s"),
        (
            PhotoRead(READER, 1, None, 1.5, "PHOTO_INVALID"),
            "Photo read failed: not a valid JPEG image",
        ),
        (CardReadFailed(READER, 1, "CARD_REMOVED"), "Read failed: card removed"),
    ],
)
def test_event_line(event, text):
    entry = make_log().record(event)
    assert entry == ActivityEntry(NOON, text)


@pytest.mark.parametrize("event", [ReadStarted(READER, 1), ReadFinished(READER, 1)])
def test_read_steps_get_no_line(event):
    log = make_log()
    assert log.record(event) is None
    assert log.entries() == ()


@pytest.mark.parametrize("code", READ_FAILURE_CODES)
def test_read_failure_codes_have_phrase(code):
    assert code in FAILURE_PHRASES


@pytest.mark.parametrize("code", sorted(FAILURE_PHRASES))
def test_failure_phrase_codes_exist(code):
    assert code in ERROR_MESSAGES


def test_unknown_failure_code_shown_as_is():
    assert failure_phrase("SOMETHING_NEW") == "SOMETHING_NEW"


def test_first_service_available_gets_no_line():
    log = make_log()
    assert log.record(ServiceChanged(ServiceState.AVAILABLE)) is None


def test_service_stopped_and_back():
    log = make_log()
    log.record(ServiceChanged(ServiceState.AVAILABLE))
    log.record(ServiceChanged(ServiceState.UNAVAILABLE, "SERVICE_UNAVAILABLE"))
    log.record(ServiceChanged(ServiceState.AVAILABLE))
    assert texts(log) == ["Smart card service back", "Smart card service stopped"]


def test_service_missing_at_start():
    log = make_log()
    log.record(ServiceChanged(ServiceState.UNAVAILABLE, "SERVICE_UNAVAILABLE"))
    assert texts(log) == ["Smart card service not running"]


def test_service_refusing_access():
    log = make_log()
    log.record(ServiceChanged(ServiceState.NO_ACCESS, "SERVICE_NO_ACCESS"))
    assert texts(log) == ["Smart card service refused access"]


def test_repeated_service_state_gets_one_line():
    log = make_log()
    log.record(ServiceChanged(ServiceState.AVAILABLE))
    log.record(ServiceChanged(ServiceState.UNAVAILABLE))
    assert log.record(ServiceChanged(ServiceState.UNAVAILABLE)) is None
    assert texts(log) == ["Smart card service stopped"]


def test_note_records_text_and_time():
    entry = make_log().note("Site allowed: https://clinic.example")
    assert entry.text == "Site allowed: https://clinic.example"
    assert entry.time == NOON


def test_entries_newest_first():
    log = make_log()
    log.record(ReaderAdded(READER))
    log.record(CardInserted(READER, 1, b"\x3b"))
    log.record(CardRemoved(READER, 1))
    assert texts(log) == [
        "Card removed (Test Reader 00 00)",
        "Card inserted (Test Reader 00 00)",
        "Reader attached: Test Reader 00 00",
    ]


def test_limit_keeps_newest():
    log = make_log(limit=10)
    for number in range(12):
        log.note(f"line {number}")
    assert len(log.entries()) == 10
    assert log.entries()[0].text == "line 11"
    assert log.entries()[-1].text == "line 2"


def test_clock_read_per_entry():
    times = iter([NOON, NOON + datetime.timedelta(minutes=3)])
    log = ActivityLog(clock=lambda: next(times))
    log.note("first")
    log.note("second")
    assert [entry.time.minute for entry in log.entries()] == [8, 5]


def test_limit_below_one_rejected():
    with pytest.raises(ValueError, match="limit 0"):
        ActivityLog(limit=0)


def test_format_entry_local_time():
    entry = ActivityEntry(NOON, "Card read in 1.4 s (Test Reader 00 00)")
    assert format_entry(entry) == "14:05  Card read in 1.4 s (Test Reader 00 00)"


def test_format_entry_pads_hours():
    entry = ActivityEntry(datetime.datetime(2026, 1, 2, 7, 3), "Card removed")
    assert format_entry(entry) == "07:03  Card removed"


def test_optional_reads_get_lines():
    from trayagent.events import LaserRead, NhsoRead

    log = ActivityLog()
    log.record(LaserRead("Reader A", 1, None, 0.04))
    log.record(NhsoRead("Reader A", 1, None, 0.0, "APPLET_NOT_FOUND"))
    texts = [entry.text for entry in log.entries()]
    assert texts == [
        "NHSO data not read: the card has no such data",
        "Laser ID read in 0.0 s",
    ]
