"""Logging set-up and the citizen-ID mask."""

import logging
import os
import subprocess
import sys

import pytest

from trayagent.logs import (
    find_log_dir_error,
    log_dir_fix,
    mask_citizen_id,
    setup_logging,
)


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


def test_agent_names_fix_when_log_folder_unusable(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    environment = dict(os.environ)
    environment["TRAYAGENT_CONFIG_DIR"] = str(tmp_path / "config")
    environment["TRAYAGENT_LOG_DIR"] = str(blocker / "logs")
    environment.pop("DISPLAY", None)
    result = subprocess.run(
        [sys.executable, "-m", "trayagent", "--headless", "--simulate"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"cannot write logs to {blocker / 'logs'}: " in result.stderr
    assert f"{blocker} is a file, not a folder: move or rename it" in result.stderr
    assert "or set TRAYAGENT_LOG_DIR (which now names this folder)" in result.stderr


def test_usable_log_folder_has_no_error(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    assert find_log_dir_error(folder) is None
    assert find_log_dir_error(folder / "new" / "logs") is None
    assert list(folder.iterdir()) == []


def test_existing_log_file_left_unchanged(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "trayagent.log").write_text("old line\n")
    assert find_log_dir_error(folder) is None
    assert (folder / "trayagent.log").read_text() == "old line\n"
    assert [path.name for path in folder.iterdir()] == ["trayagent.log"]


def test_log_folder_under_file_is_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    error = find_log_dir_error(blocker / "logs")
    assert isinstance(error, NotADirectoryError)
    assert error.filename == str(blocker)


def test_log_folder_that_is_file_is_error(tmp_path):
    blocker = tmp_path / "logs"
    blocker.write_text("")
    error = find_log_dir_error(blocker)
    assert isinstance(error, NotADirectoryError)
    assert log_dir_fix(blocker, error).startswith(f"{blocker} is a file, not a folder")


def test_permission_fix_names_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("TRAYAGENT_LOG_DIR")
    error = PermissionError(13, "Permission denied", str(tmp_path))
    fix = log_dir_fix(tmp_path / "logs", error)
    assert fix.startswith(f"Give this user write access to {tmp_path}, ")
    assert "or set the environment variable TRAYAGENT_LOG_DIR to a folder" in fix
