"""Logging set-up and the citizen-ID mask."""

import logging

import pytest

from trayagent.logs import mask_citizen_id, setup_logging


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_mask_citizen_id():
    assert mask_citizen_id("1101700203450") == "1***********0"


def test_log_file_masks_citizen_ids(tmp_path, restore_root_logger):
    path = setup_logging("INFO", tmp_path, to_stderr=False)
    logging.getLogger("trayagent.test").info("value %s here", "1101700203450")
    logging.getLogger("trayagent.test").info("a 14-digit number 12345678901234 stays")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "1101700203450" not in text
    assert "1***********0" in text
    assert "12345678901234" in text


def test_log_lines_name_the_thread(tmp_path, restore_root_logger):
    path = setup_logging("DEBUG", tmp_path, to_stderr=False)
    logging.getLogger("trayagent.test").debug("step")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "[MainThread] trayagent.test: step" in text
    assert "Debug logging is on" in text
