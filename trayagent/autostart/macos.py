"""Start at login on macOS: a LaunchAgent plist in ``~/Library/LaunchAgents``.

launchd loads every plist in that folder when the user logs in. The agent
writes its own plist (label ``th.trayagent.agent``) rather than registering
with ``SMAppService``, because ``SMAppService`` works only from inside a
signed ``.app`` bundle and needs PyObjC to call it, while the plist works
the same for the ``.app``, a pip install and a development checkout.

Writing the file takes effect at the next login. ``launchctl bootstrap
gui/$UID PLIST`` would load it into the running session at once, but the
agent is already running then, so it does not. Called on the thread that
changes start at login.
"""

import logging
import plistlib
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from .command import launch_command
from .files import read_file, remove_file, write_atomically
from .status import AutostartStatus

logger = logging.getLogger(__name__)

LABEL = "th.trayagent.agent"

# The agent writes its own log file, so launchd's copies of stdout and
# stderr would only duplicate it.
DISCARDED_OUTPUT = "/dev/null"


def plist_path(home: Path | None = None) -> Path:
    """Return the path of the LaunchAgent plist in the user's home folder."""
    return (home or Path.home()) / "Library" / "LaunchAgents" / f"{LABEL}.plist"


def build_plist(command: list[str]) -> dict[str, Any]:
    """Return the LaunchAgent definition that starts ``command`` at login.

    ``KeepAlive`` with ``SuccessfulExit`` false makes launchd start the agent
    again only after it exits with a non-zero status, such as a crash; Quit
    from the menu exits with 0 and stays quit. ``ProcessType`` Interactive
    gives it the priority of an app the user started, and
    ``LimitLoadToSessionType`` Aqua loads it only in a graphical login, not
    in an SSH session.
    """
    return {
        "Label": LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
        "StandardOutPath": DISCARDED_OUTPUT,
        "StandardErrorPath": DISCARDED_OUTPUT,
    }


def plist_bytes(command: list[str]) -> bytes:
    """Return the plist file content (XML) for ``command``."""
    return plistlib.dumps(build_plist(command), fmt=plistlib.FMT_XML, sort_keys=True)


def get_status(
    home: Path | None = None, command: list[str] | None = None
) -> AutostartStatus:
    """Read the plist and tell whether launchd will start the agent at login.

    NOTE: macOS 13 and later also let the user switch the agent off under
    System Settings > General > Login Items. That switch is stored by
    launchd, not in the plist, so this status does not see it.

    :raises AutostartError: the plist exists but cannot be read.
    """
    path = plist_path(home)
    content = read_file(path)
    if content is None:
        return AutostartStatus(False, "not enabled", str(path))
    try:
        definition = plistlib.loads(content)
    except (plistlib.InvalidFileException, ExpatError, ValueError):
        return AutostartStatus(
            False, "not enabled (the file is not a valid plist)", str(path)
        )
    if not isinstance(definition, dict):
        return AutostartStatus(
            False, "not enabled (the file is not a valid plist)", str(path)
        )
    return _status_of(definition, command or launch_command(), path)


def enable(
    home: Path | None = None, command: list[str] | None = None
) -> AutostartStatus:
    """Write the plist for this installation.

    :raises AutostartError: the plist cannot be written.
    """
    path = plist_path(home)
    command = command or launch_command()
    write_atomically(path, plist_bytes(command))
    logger.info("Start at login enabled: wrote %s", path)
    return get_status(home, command)


def disable(
    home: Path | None = None, command: list[str] | None = None
) -> AutostartStatus:
    """Delete the plist.

    An agent that launchd already started keeps running. launchd forgets the
    job at logout, so the agent is not started at the next login.

    :raises AutostartError: the plist exists but cannot be deleted.
    """
    path = plist_path(home)
    remove_file(path)
    logger.info("Start at login disabled: removed %s", path)
    return get_status(home, command)


def _status_of(
    definition: dict[str, Any], command: list[str], path: Path
) -> AutostartStatus:
    if definition.get("Disabled") is True:
        return AutostartStatus(False, "disabled (the plist sets Disabled)", str(path))
    if definition.get("RunAtLoad") is not True:
        return AutostartStatus(False, "not enabled (RunAtLoad is off)", str(path))
    arguments = definition.get("ProgramArguments")
    if arguments == command:
        return AutostartStatus(True, "enabled", str(path))
    shown = (
        " ".join(map(str, arguments))
        if isinstance(arguments, list)
        else repr(arguments)
    )
    return AutostartStatus(True, f"enabled, starting another copy: {shown}", str(path))
