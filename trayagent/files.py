"""Writing small files so that readers never see half of one.

Safe on any thread; each call uses a temporary file of its own.
"""

import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in UTF-8, replacing the file in one step.

    The text goes to a temporary file in the same folder, which is flushed
    to disk and then renamed over ``path``, so a crash or a full disk leaves
    either the old file or the new one, never half of one.

    :raises OSError: the folder cannot be created or written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=path.name + ".", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
