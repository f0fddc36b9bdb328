"""Where the agent keeps its settings and logs.

The folders come from platformdirs. ``TRAYAGENT_CONFIG_DIR`` and
``TRAYAGENT_LOG_DIR`` override them, which the tests use to keep every run
away from the real profile.
"""

import os
from pathlib import Path

import platformdirs

APP_NAME = "trayagent"
SETTINGS_FILE_NAME = "settings.json"
LOG_FILE_NAME = "trayagent.log"


def config_dir() -> Path:
    """Return the folder that holds the settings file."""
    override = os.environ.get("TRAYAGENT_CONFIG_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """Return the folder that holds the log files."""
    override = os.environ.get("TRAYAGENT_LOG_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def settings_path() -> Path:
    """Return the path of the settings file."""
    return config_dir() / SETTINGS_FILE_NAME


def log_path() -> Path:
    """Return the path of the current log file."""
    return log_dir() / LOG_FILE_NAME
