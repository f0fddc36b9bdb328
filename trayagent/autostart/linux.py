"""Start at login on Linux and other XDG desktops: an autostart desktop file.

Following the XDG Autostart Specification 0.5, the desktop starts every
``*.desktop`` file in ``$XDG_CONFIG_HOME/autostart`` (default
``~/.config/autostart``) and in ``autostart/`` under each folder of
``$XDG_CONFIG_DIRS`` (default ``/etc/xdg``). A user file hides a system file
of the same name, and a file with ``Hidden=true`` starts nothing. GNOME's
startup settings switch an entry off with ``X-GNOME-Autostart-enabled=false``.

The ``Exec`` value is quoted as the Desktop Entry Specification 1.5
requires. Called on the thread that changes start at login.
"""

import logging
import os
import sys
from pathlib import Path

from .command import launch_command
from .files import read_file, remove_file, write_atomically
from .status import AutostartStatus

logger = logging.getLogger(__name__)

DESKTOP_FILE_NAME = "trayagent.desktop"
ICON_NAME = "trayagent"
# The program icon inside a PyInstaller bundle: the card-present picture
# (a card with a chip), 128 px.
BUNDLED_ICON = Path("icons") / "card-present-64@2x.png"
ENTRY_GROUP = "Desktop Entry"

# Characters that force an Exec argument into double quotes, and the ones
# that must be escaped with a backslash inside them (Desktop Entry
# Specification, "The Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_ESCAPED_IN_QUOTES = set('"`$\\')
# Escapes of the "string" value type, applied after the quoting.
_STRING_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def autostart_dir() -> Path:
    """Return the user's autostart folder, ``$XDG_CONFIG_HOME/autostart``.

    A relative ``XDG_CONFIG_HOME`` is ignored, as the XDG Base Directory
    Specification requires.
    """
    configured = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(configured) if os.path.isabs(configured) else Path.home() / ".config"
    return base / "autostart"


def system_autostart_dirs() -> list[Path]:
    """Return the autostart folders under ``$XDG_CONFIG_DIRS``, most important first."""
    configured = os.environ.get("XDG_CONFIG_DIRS", "") or "/etc/xdg"
    return [
        Path(part) / "autostart"
        for part in configured.split(":")
        if os.path.isabs(part)
    ]


def desktop_file_path() -> Path:
    """Return the path of the user's ``trayagent.desktop`` autostart file."""
    return autostart_dir() / DESKTOP_FILE_NAME


def quote_exec_argument(argument: str) -> str:
    """Quote one argument of an ``Exec`` command line, before string escaping."""
    argument = argument.replace("%", "%%")
    if argument and not _RESERVED.intersection(argument):
        return argument
    escaped = "".join(
        "\\" + char if char in _ESCAPED_IN_QUOTES else char for char in argument
    )
    return f'"{escaped}"'


def exec_value(command: list[str]) -> str:
    """Return the ``Exec`` value for ``command`` as it is written in the file.

    Each argument is quoted, then the whole value gets the backslash escapes
    of a string value, so a literal backslash inside quotes ends up as four
    backslashes, as the specification's example shows.
    """
    quoted = " ".join(quote_exec_argument(argument) for argument in command)
    return escape_string(quoted)


def escape_string(value: str) -> str:
    """Escape backslashes and control characters of a string value."""
    return "".join(_STRING_ESCAPES.get(char, char) for char in value)


def default_icon() -> str:
    """Return the ``Icon`` value: the bundled file when frozen, else the theme name."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        icon = Path(bundle) / BUNDLED_ICON
        if icon.is_file():
            return str(icon)
    return ICON_NAME


def build_desktop_entry(command: list[str], icon: str, hidden: bool = False) -> str:
    """Return the text of the autostart desktop file for ``command``.

    :param hidden: write ``Hidden=true``, which hides a system-wide entry of
        the same name.
    """
    lines = [
        f"[{ENTRY_GROUP}]",
        "Type=Application",
        "Version=1.5",
        "Name=trayagent",
        "Comment=Reads Thai national ID cards for the clinic's web apps",
        f"Exec={exec_value(command)}",
        f"Icon={escape_string(icon)}",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
    ]
    if hidden:
        lines.append("Hidden=true")
    return "\n".join(lines) + "\n"


def read_desktop_entry(text: str) -> dict[str, str] | None:
    """Return the keys of the ``[Desktop Entry]`` group, or ``None`` when it has none.

    Values are returned as written, without unescaping.
    """
    entries: dict[str, str] = {}
    group: str | None = None
    found = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            found = found or group == ENTRY_GROUP
            continue
        if group == ENTRY_GROUP and "=" in line:
            key, value = line.split("=", 1)
            entries.setdefault(key.strip(), value.strip())
    return entries if found else None


def get_status(command: list[str] | None = None) -> AutostartStatus:
    """Find the autostart file the desktop would use and read its state.

    :raises AutostartError: a file exists but cannot be read.
    """
    command = command or launch_command()
    for path in [desktop_file_path()] + _system_files():
        content = read_file(path)
        if content is not None:
            return _status_of(content.decode("utf-8", errors="replace"), command, path)
    return AutostartStatus(False, "not enabled", str(desktop_file_path()))


def enable(command: list[str] | None = None) -> AutostartStatus:
    """Write the user's autostart file for this installation.

    :raises AutostartError: the file cannot be written.
    """
    command = command or launch_command()
    path = desktop_file_path()
    text = build_desktop_entry(command, default_icon())
    write_atomically(path, text.encode("utf-8"))
    logger.info("Start at login enabled: wrote %s", path)
    return get_status(command)


def disable(command: list[str] | None = None) -> AutostartStatus:
    """Remove the user's autostart file, or hide a system-wide one.

    When a system folder also has ``trayagent.desktop`` (an installation
    for every user), the user's file is written with ``Hidden=true``,
    because deleting it would let the system file start the agent.

    :raises AutostartError: the file cannot be removed or written.
    """
    command = command or launch_command()
    path = desktop_file_path()
    if _system_files():
        text = build_desktop_entry(command, default_icon(), hidden=True)
        write_atomically(path, text.encode("utf-8"))
        logger.info("Start at login disabled: wrote Hidden=true to %s", path)
    else:
        remove_file(path)
        logger.info("Start at login disabled: removed %s", path)
    return get_status(command)


def _system_files() -> list[Path]:
    return [
        folder / DESKTOP_FILE_NAME
        for folder in system_autostart_dirs()
        if (folder / DESKTOP_FILE_NAME).is_file()
    ]


def _status_of(text: str, command: list[str], path: Path) -> AutostartStatus:
    entry = read_desktop_entry(text)
    if entry is None:
        return AutostartStatus(
            False, "not enabled (the file has no [Desktop Entry] group)", str(path)
        )
    if _is_true(entry.get("Hidden", "false")):
        return AutostartStatus(False, "disabled (Hidden=true)", str(path))
    if not _is_true(entry.get("X-GNOME-Autostart-enabled", "true")):
        return AutostartStatus(
            False,
            "disabled in the desktop's startup settings "
            "(X-GNOME-Autostart-enabled=false)",
            str(path),
        )
    stored = entry.get("Exec", "")
    if stored == exec_value(command):
        return AutostartStatus(True, "enabled", str(path))
    return AutostartStatus(True, f"enabled, starting another copy: {stored}", str(path))


def _is_true(value: str) -> bool:
    # The specification allows only "true" and "false"; older files use 1 and 0.
    return value.strip().lower() in ("true", "1")
