"""Desktop helpers behind the tray menu: clipboard, file manager, browser.

The application's :class:`~trayagent.tray.controller.TrayController` calls
these from the tray's thread. Each logs a failure and returns; none raises.
Nothing here imports pystray or Pillow.
"""

import logging
import os
import shutil
import subprocess
import sys
import webbrowser
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

# The clipboard tools below read stdin and either exit at once (clip, pbcopy)
# or fork a process that serves the selection and let the parent exit
# (wl-copy, xclip, xsel), so a few seconds is a generous bound.
CLIPBOARD_TIMEOUT_SECONDS = 3.0
OPEN_FOLDER_TIMEOUT_SECONDS = 5.0

_LINUX_CLIPBOARD_COMMANDS = (
    ("WAYLAND_DISPLAY", ["wl-copy"]),
    ("DISPLAY", ["xclip", "-selection", "clipboard"]),
    ("DISPLAY", ["xsel", "--clipboard", "--input"]),
)


def find_clipboard_command(
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str] | None:
    """Find a command that copies its standard input to the clipboard.

    Windows has ``clip`` and macOS ``pbcopy``. Elsewhere the first of
    ``wl-copy`` (under Wayland), ``xclip`` and ``xsel`` (under X) that is
    installed is used. Returns ``None`` when there is none.
    """
    if platform == "win32":
        candidates = [["clip"]]
    elif platform == "darwin":
        candidates = [["pbcopy"]]
    else:
        candidates = [
            command
            for variable, command in _LINUX_CLIPBOARD_COMMANDS
            if environ.get(variable)
        ]
    for command in candidates:
        path = which(command[0])
        if path is not None:
            return [path, *command[1:]]
    return None


def copy_to_clipboard(text: str, command: list[str]) -> bool:
    """Copy ``text`` to the clipboard with ``command``; return whether it worked."""
    # clip.exe reads stdin in the console code page; an ASCII address such as
    # ws://127.0.0.1:PORT/ws is the same in all of them.
    try:
        subprocess.run(
            command,
            input=text.encode("utf-8"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=CLIPBOARD_TIMEOUT_SECONDS,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        logger.warning("Copying to the clipboard with %s failed: %s", command[0], error)
        return False
    return True


def open_folder(path: str) -> None:
    """Open ``path`` in the platform's file manager."""
    _open_with_desktop(path, "folder")


def open_file(path: str) -> None:
    """Open the file ``path`` in its default viewer."""
    _open_with_desktop(path, "file")


def _open_with_desktop(path: str, what: str) -> None:
    if not path:
        logger.warning("Cannot open the %s: no path is set", what)
        return
    try:
        if sys.platform == "win32":
            os.startfile(path)  # type: ignore[attr-defined]  # Windows only
            return
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        subprocess.run(
            [opener, path],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=OPEN_FOLDER_TIMEOUT_SECONDS,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        logger.warning("Opening the %s %s failed: %s", what, path, error)


def open_page(url: str) -> None:
    """Open ``url`` in the default browser."""
    if not url:
        logger.warning("Cannot open the test page: no address is set")
        return
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error as error:
        logger.warning("Opening %s in the browser failed: %s", url, error)
        return
    if not opened:
        logger.warning("No browser could open %s", url)
