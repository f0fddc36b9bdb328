"""Write and remove the start-at-login files of macOS and Linux.

Called on the thread that changes start at login. Errors become
:class:`AutostartError` with the path and what to do.
"""

import os
import tempfile
from pathlib import Path

from .status import AutostartError


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file and a rename.

    The login session reads the file at any time, so it must see either the
    old content or the new one, never half of it.

    :raises AutostartError: the folder cannot be created or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=path.name + ".", suffix=".tmp"
        )
    except OSError as error:
        raise AutostartError(_cannot("write", path, error)) from error
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise AutostartError(_cannot("write", path, error)) from error


def remove_file(path: Path) -> None:
    """Delete ``path``; a missing file is not an error.

    :raises AutostartError: the file exists but cannot be deleted.
    """
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise AutostartError(_cannot("remove", path, error)) from error


def read_file(path: Path) -> bytes | None:
    """Return the content of ``path``, or ``None`` when it does not exist.

    :raises AutostartError: the file exists but cannot be read.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise AutostartError(_cannot("read", path, error)) from error


def _cannot(verb: str, path: Path, error: OSError) -> str:
    reason = error.strerror or str(error)
    return f"cannot {verb} {path}: {reason}. Check the permissions of {path.parent}."
