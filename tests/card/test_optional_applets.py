"""The laser ID and NHSO reads beside the personal read on one card."""

import subprocess
import sys

import pytest

from trayagent.card.errors import NotThaiIdCardError, OptionalAppletMissingError
from trayagent.card.laser import read_laser_id
from trayagent.card.layout import PERSONAL_AID
from trayagent.card.nhso import NHSO_AID, read_nhso
from trayagent.card.reader import read_card

from .applets import (
    SELECT_LASER,
    SELECT_NHSO,
    SELECT_PERSONAL,
    FakeAppletCard,
    build_nhso_image,
    short_laser,
)
from .cards import TEST_PERSON, build_image, build_jpeg
from .fakes import FakeConnection

PROGRAM = """
import sys
import trayagent.card.laser
import trayagent.card.nhso
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("smartcard", "aiohttp", "pystray", "PIL")
)
print(",".join(loaded))
"""


def _full_card(**options: object) -> FakeAppletCard:
    files = {
        PERSONAL_AID: build_image(TEST_PERSON, build_jpeg(4312)),
        NHSO_AID: build_nhso_image(),
    }
    return FakeAppletCard(files, laser=short_laser(), **options)


def _reads(conn: FakeConnection) -> list[list[str]]:
    """Split the connection's events into one list per transaction."""
    groups: list[list[str]] = []
    for event in conn.events:
        if event == "begin":
            groups.append([])
        elif event != "end":
            groups[-1].append(event)
    return groups


def test_modules_import_no_io_libraries() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout.strip() == ""


def test_personal_read_reselects_after_optional_reads() -> None:
    conn = FakeConnection(_full_card())
    first = read_card(conn, include_photo=False)
    read_laser_id(conn)
    read_nhso(conn)
    second = read_card(conn, include_photo=True)
    transactions = _reads(conn)
    assert [apdus[0] for apdus in transactions] == [
        SELECT_PERSONAL,
        SELECT_LASER,
        SELECT_NHSO,
        SELECT_PERSONAL,
        SELECT_PERSONAL,
    ]
    assert second.personal == first.personal
    assert second.personal.citizen_id == TEST_PERSON.citizen_id


def test_each_select_only_at_start() -> None:
    conn = FakeConnection(_full_card())
    read_laser_id(conn)
    read_nhso(conn)
    read_card(conn, include_photo=False)
    for apdus in _reads(conn):
        selects = [apdu for apdu in apdus if apdu.startswith("00A404")]
        assert selects == [apdus[0]]


def test_optional_reads_leave_personal_untouched() -> None:
    conn = FakeConnection(_full_card())
    before = read_card(conn, include_photo=False).personal
    laser = read_laser_id(conn)
    nhso = read_nhso(conn)
    after = read_card(conn, include_photo=False).personal
    assert after == before
    assert laser.code == "JT1-2345678-90"
    assert nhso.main_right == "UCS"


def test_older_card_keeps_personal_read() -> None:
    files = {PERSONAL_AID: build_image(TEST_PERSON, build_jpeg(4312))}
    conn = FakeConnection(FakeAppletCard(files))
    with pytest.raises(OptionalAppletMissingError):
        read_laser_id(conn)
    with pytest.raises(OptionalAppletMissingError):
        read_nhso(conn)
    result = read_card(conn, include_photo=False)
    assert result.personal.citizen_id == TEST_PERSON.citizen_id
    assert conn.sent[:3] == [SELECT_LASER, SELECT_NHSO, SELECT_PERSONAL]


def test_non_thai_card_rejects_everything() -> None:
    conn = FakeConnection(FakeAppletCard({}))
    with pytest.raises(OptionalAppletMissingError):
        read_laser_id(conn)
    with pytest.raises(OptionalAppletMissingError):
        read_nhso(conn)
    with pytest.raises(NotThaiIdCardError):
        read_card(conn, include_photo=False)
    assert conn.sent == [SELECT_LASER, SELECT_NHSO, SELECT_PERSONAL]
