"""A read job whose optional read raises an exception that is no CardError."""

import logging

from card.applets import LASER_COMMAND, FakeAppletCard, build_nhso_image, short_laser
from card.cards import TEST_PERSON, build_image, build_jpeg
from card.fakes import FakeConnection

from trayagent import events
from trayagent.card.layout import PERSONAL_AID
from trayagent.card.nhso import NHSO_AID
from trayagent.reading import ReadJob, ReadOptions

READER = "Reader A"


class BrokenLaserCard(FakeAppletCard):
    """A card whose laser command makes the responder raise, as a bug would."""

    def __call__(self, apdu: bytes) -> bytes:
        if apdu.hex().upper() == LASER_COMMAND:
            raise ValueError("decoder bug")
        return super().__call__(apdu)


class OpenableConnection(FakeConnection):
    def open(self) -> None:
        self.events.append("open")

    def close(self) -> None:
        self.events.append("close")


def run_job(caplog) -> tuple[list, OpenableConnection]:
    files = {
        PERSONAL_AID: build_image(TEST_PERSON, build_jpeg(1200)),
        NHSO_AID: build_nhso_image(),
    }
    connection = OpenableConnection(BrokenLaserCard(files, laser=short_laser()))
    published: list = []
    options = ReadOptions(read_laser_id=True, read_nhso=True)
    job = ReadJob(READER, 1, connection, options, published.append)
    with caplog.at_level(logging.DEBUG, logger="trayagent"):
        outcome = job.run()
    assert outcome.code is None
    return published, connection


def test_laser_bug_publishes_null_laser(caplog):
    published, _connection = run_job(caplog)
    laser = [event for event in published if isinstance(event, events.LaserRead)]
    assert len(laser) == 1
    assert laser[0].laser is None
    assert laser[0].error_code == "READ_FAILED"


def test_laser_bug_still_reads_nhso(caplog):
    published, _connection = run_job(caplog)
    nhso = [event for event in published if isinstance(event, events.NhsoRead)]
    assert len(nhso) == 1
    assert nhso[0].nhso is not None
    assert nhso[0].error_code is None


def test_laser_bug_finishes_the_read(caplog):
    published, connection = run_job(caplog)
    assert [type(event).__name__ for event in published] == [
        "ReadStarted",
        "CardRead",
        "PhotoRead",
        "LaserRead",
        "NhsoRead",
        "ReadFinished",
    ]
    assert connection.events[-1] == "close"


def test_laser_bug_logged_with_traceback(caplog):
    run_job(caplog)
    failures = [
        record
        for record in caplog.records
        if "laser ID" in record.getMessage() and "unexpectedly" in record.getMessage()
    ]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None
    assert TEST_PERSON.citizen_id not in caplog.text
