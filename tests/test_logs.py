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


def flushed_text(path):
    """Flush every root handler and return the log file's text."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_mask_citizen_id():
    assert mask_citizen_id("1101700203450") == "1***********0"


def test_log_file_masks_citizen_ids(tmp_path, restore_root_logger):
    path = setup_logging("INFO", tmp_path, to_stderr=False)
    logging.getLogger("trayagent.test").info("value %s here", "1101700203450")
    logging.getLogger("trayagent.test").info("a 14-digit number 12345678901234 stays")
    text = flushed_text(path)
    assert "1101700203450" not in text
    assert "1***********0" in text
    assert "12345678901234" in text


def test_log_lines_name_the_thread(tmp_path, restore_root_logger):
    path = setup_logging("DEBUG", tmp_path, to_stderr=False)
    logging.getLogger("trayagent.test").debug("step")
    text = flushed_text(path)
    assert "[MainThread] trayagent.test: step" in text
    assert "Debug logging is on" in text


def test_log_file_masks_citizen_id_in_exception(tmp_path, restore_root_logger):
    path = setup_logging("INFO", tmp_path, to_stderr=False)
    try:
        raise ValueError("bad value 1101700203450")
    except ValueError:
        logging.getLogger("trayagent.test").exception("Handling failed")
    text = flushed_text(path)
    assert "1101700203450" not in text
    assert "ValueError: bad value 1***********0" in text
    assert "Traceback" in text


def test_log_file_masks_citizen_id_in_stack(tmp_path, restore_root_logger):
    path = setup_logging("INFO", tmp_path, to_stderr=False)

    def frame_1101700203450():
        logging.getLogger("trayagent.test").info("here", stack_info=True)

    frame_1101700203450()
    text = flushed_text(path)
    assert "1101700203450" not in text
    assert "frame_1***********0" in text
