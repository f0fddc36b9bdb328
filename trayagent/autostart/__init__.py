"""Start the agent when the user logs in: one facade over one module per OS.

``windows`` writes the per-user ``Run`` registry value, ``macos`` a
LaunchAgent plist and ``linux`` an XDG autostart desktop file. Each call
picks the module by ``sys.platform``. The state is read from the operating
system each time, never from a saved flag, so a change made in Task
Manager or by deleting the file shows at once.

Called on the main thread, from the ``trayagent autostart`` command or the
tray menu. Every function raises :class:`AutostartError` when the entry
cannot be read or written.
"""

import logging
import sys
from types import ModuleType

from .status import AutostartError, AutostartStatus

logger = logging.getLogger(__name__)

ACTIONS = ("enable", "disable", "status")

__all__ = [
    "ACTIONS",
    "AutostartError",
    "AutostartStatus",
    "disable",
    "enable",
    "get_status",
    "main",
]


def get_status() -> AutostartStatus:
    """Return whether the agent starts at login, read from the operating system."""
    return _backend().get_status()


def enable() -> AutostartStatus:
    """Make this installation start at login; return the state afterwards.

    The returned status may still be disabled: on Windows the user may have
    switched trayagent off in Task Manager, and its ``advice`` then explains
    how to switch it back on.
    """
    return _backend().enable()


def disable() -> AutostartStatus:
    """Stop the agent from starting at login; return the state afterwards."""
    return _backend().disable()


def main(action: str) -> int:
    """Run ``trayagent autostart enable|disable|status``; return the exit status.

    Prints one line: the state on stdout with status 0, or what failed and
    what to do on stderr with status 1.
    """
    if action not in ACTIONS:
        print(
            f"trayagent autostart: unknown action {action!r}; "
            "use enable, disable or status",
            file=sys.stderr,
        )
        return 1
    try:
        status = {"enable": enable, "disable": disable, "status": get_status}[action]()
    except AutostartError as error:
        print(f"trayagent autostart {action}: {error}", file=sys.stderr)
        return 1
    if action == "enable" and not status.enabled:
        print(
            f"trayagent autostart enable: failed: {describe(status)}", file=sys.stderr
        )
        return 1
    if action == "disable" and status.enabled:
        print(
            f"trayagent autostart disable: failed, still {describe(status)}. "
            "Remove that entry by hand.",
            file=sys.stderr,
        )
        return 1
    print(f"Start at login: {describe(status)}")
    return 0


def describe(status: AutostartStatus) -> str:
    """Return the status as one phrase: the detail, the location, and any advice."""
    text = f"{status.detail} ({status.location})"
    if status.advice:
        text += f". {status.advice}"
    return text


def _backend() -> ModuleType:
    if sys.platform == "win32":
        from . import windows

        return windows
    if sys.platform == "darwin":
        from . import macos

        return macos
    from . import linux

    return linux
