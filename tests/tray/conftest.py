"""Fixtures for the tray tests."""

import pytest

from .support import RecordingController


@pytest.fixture
def controller() -> RecordingController:
    return RecordingController()
