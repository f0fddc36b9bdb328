"""The result type and the error shared by every start-at-login backend.

Plain values, used on whichever thread calls the facade: the main thread
for the command line and the tray menu.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class AutostartStatus:
    """Whether the agent starts at login, as the operating system has it.

    :param enabled: the agent will start at the user's next login.
    :param detail: the state in plain words, e.g. "enabled", "not enabled",
        "disabled in Task Manager".
    :param location: where the entry lives: a registry value path, a
        LaunchAgent plist path or a desktop file path.
    :param advice: what the user must do to enable it, when the agent
        cannot do it itself; empty otherwise.
    """

    enabled: bool
    detail: str
    location: str
    advice: str = ""


class AutostartError(Exception):
    """The start-at-login entry could not be read, written or removed.

    The message names what failed, the path or registry value, and the fix.
    """
