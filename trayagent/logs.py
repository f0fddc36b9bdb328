"""Logging set-up: a daily rotating file, and stderr when run from a terminal.

:func:`setup_logging` configures the agent, and :func:`log_to_stderr` a
one-shot command such as ``trayagent doctor``. Either is called once on the
main thread before any other thread starts. Every line names its thread
(``MainThread`` for the tray, ``pcsc-monitor``, ``ws-server``,
``card-read-N``) because the agent's work is spread across them.
"""

import errno
import logging
import logging.handlers
import os
import re
import sys
import tempfile
from pathlib import Path

from .paths import LOG_FILE_NAME

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)-7s [%(threadName)s] %(name)s: %(message)s"

# Days of old log files kept beside the current one.
LOG_BACKUP_DAYS = 14

# Thirteen digits in a row look like a citizen ID. No code path logs one;
# this filter is a second line of defence that masks any that slips through.
_CITIZEN_ID_PATTERN = re.compile(r"(?<!\d)\d{13}(?!\d)")

# Formats exceptions for PersonalDataFilter exactly as the handlers would.
_EXCEPTION_FORMATTER = logging.Formatter()


class PersonalDataFilter(logging.Filter):
    """Mask anything shaped like a citizen ID in the text a record logs.

    That is the final message, the exception text with its traceback, and
    the stack text. The filter formats the exception itself and stores it in
    ``exc_text``, which ``logging.Formatter`` then uses as it is.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _CITIZEN_ID_PATTERN.sub(_mask_match, message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _CITIZEN_ID_PATTERN.sub(_mask_match, record.exc_text)
        if record.stack_info:
            record.stack_info = _CITIZEN_ID_PATTERN.sub(_mask_match, record.stack_info)
        return True


def log_to_stderr(level: str) -> logging.Handler:
    """Send records of ``level`` and above to stderr, for one-shot commands.

    Unlike :func:`setup_logging` it writes no file, so a command run beside
    the agent never touches the agent's log. Returns the handler it added
    to the root logger.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level.upper())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(PersonalDataFilter())
    logging.getLogger().addHandler(handler)
    return handler


def mask_citizen_id(citizen_id: str) -> str:
    """Return a citizen ID with every digit but the first and last hidden."""
    if len(citizen_id) < 3:
        return "*" * len(citizen_id)
    return citizen_id[0] + "*" * (len(citizen_id) - 2) + citizen_id[-1]


def setup_logging(level: str, directory: Path, to_stderr: bool | None = None) -> Path:
    """Send log records to ``directory/trayagent.log`` and, if wanted, stderr.

    :param level: a level name such as ``"INFO"`` or ``"DEBUG"``.
    :param to_stderr: ``None`` logs to stderr only when it is a terminal.
    :returns: the path of the current log file.
    :raises OSError: the log folder cannot be created.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "trayagent.log"
    formatter = logging.Formatter(LOG_FORMAT)
    personal_data_filter = PersonalDataFilter()

    file_handler = logging.handlers.TimedRotatingFileHandler(
        path, when="midnight", backupCount=LOG_BACKUP_DAYS, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [file_handler]
    if to_stderr is None:
        to_stderr = sys.stderr is not None and sys.stderr.isatty()
    if to_stderr and sys.stderr is not None:
        handlers.append(logging.StreamHandler(sys.stderr))

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(personal_data_filter)
        root.addHandler(handler)
    root.setLevel(level.upper())

    # aiohttp's access log records paths and query strings; the server logs
    # requests in its own format instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if root.level <= logging.DEBUG:
        logger.warning(
            "Debug logging is on: APDU commands and status words are logged "
            "(never card data); switch it off when done"
        )
    return path


def find_log_dir_error(directory: Path) -> OSError | None:
    """Test whether the agent could create and write its log file in ``directory``.

    Changes nothing that lasts: an existing log file is opened for appending
    and closed unwritten, and an existing folder without one gets a
    temporary file that is deleted at once. A missing folder is judged by
    its nearest existing parent. Returns the error the agent would hit, or
    ``None``.
    """
    parent = _nearest_existing(directory)
    if parent is None:
        missing = "No such file or directory"
        return FileNotFoundError(errno.ENOENT, missing, str(directory))
    if not parent.is_dir():
        return NotADirectoryError(errno.ENOTDIR, "Not a directory", str(parent))
    if parent != directory:
        if not os.access(parent, os.W_OK | os.X_OK):
            return PermissionError(errno.EACCES, "Permission denied", str(parent))
        return None
    try:
        log_file = directory / LOG_FILE_NAME
        if log_file.exists():
            with open(log_file, "ab"):
                pass
        else:
            with tempfile.TemporaryFile(dir=directory):
                pass
    except OSError as error:
        return error
    return None


def log_dir_fix(directory: Path, error: OSError) -> str:
    """Say what to do so that the agent can write its logs in ``directory``."""
    variable = "TRAYAGENT_LOG_DIR"
    if os.environ.get(variable):
        elsewhere = f"or set {variable} (which now names this folder) to a folder"
    else:
        elsewhere = f"or set the environment variable {variable} to a folder"
    elsewhere += " this user can write, then start trayagent again."
    parent = _nearest_existing(directory)
    if error.errno in (errno.ENOTDIR, errno.EEXIST) and parent is not None:
        if not parent.is_dir():
            return f"{parent} is a file, not a folder: move or rename it, {elsewhere}"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Give this user write access to {parent or directory}, {elsewhere}"
    return (
        f"Check that {directory} is a folder on a disk with free space that "
        f"this user can write, {elsewhere}"
    )


def _nearest_existing(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return candidate
    return None


def _mask_match(match: re.Match[str]) -> str:
    return mask_citizen_id(match.group(0))
