"""Start at login on Windows: the per-user ``Run`` registry value.

Windows starts every program named under
``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`` when the user logs
in, unless the user switched it off in Task Manager (Startup apps). Task
Manager records that switch under ``...\\Explorer\\StartupApproved\\Run`` as a
REG_BINARY whose first byte is even when enabled and odd when disabled, and
leaves the ``Run`` value alone. This module reads that switch but never
writes it: the choice is the user's.

``winreg`` exists only on Windows, so the logic talks to a small
:class:`Registry` interface. :class:`CurrentUserRegistry` implements it with
``winreg``; tests use an in-memory one. Called on the thread that changes
start at login.
"""

import logging
import subprocess
from typing import NamedTuple, Protocol

from .command import launch_command
from .status import AutostartError, AutostartStatus

logger = logging.getLogger(__name__)

HIVE_NAME = "HKCU"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
VALUE_NAME = "trayagent"

# Registry value types, fixed by the Windows API (winnt.h).
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3

TASK_MANAGER_ADVICE = (
    "Open Task Manager, go to Startup apps (the Startup tab on Windows 10), "
    "select trayagent and choose Enable."
)


class RegistryValue(NamedTuple):
    """A value as the registry stores it: its data and its ``REG_*`` type."""

    data: object
    kind: int


class Registry(Protocol):
    """The few registry operations start at login needs, in ``HKEY_CURRENT_USER``.

    Every method raises ``OSError`` when the registry refuses the operation.
    """

    def read_value(self, key: str, name: str) -> RegistryValue | None:
        """Return the value ``name`` under ``key``, or ``None`` if either is missing."""
        ...

    def write_string(self, key: str, name: str, data: str) -> None:
        """Create ``key`` if needed and set ``name`` to ``data`` as REG_SZ."""
        ...

    def delete_value(self, key: str, name: str) -> None:
        """Delete the value ``name``; a missing key or value is not an error."""
        ...


class CurrentUserRegistry:
    """:class:`Registry` on ``HKEY_CURRENT_USER`` through ``winreg`` (Windows only)."""

    def read_value(self, key: str, name: str) -> RegistryValue | None:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                data, kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return RegistryValue(data, kind)

    def write_string(self, key: str, name: str, data: str) -> None:
        import winreg

        with winreg.CreateKeyEx(
            winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE
        ) as handle:
            winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, data)

    def delete_value(self, key: str, name: str) -> None:
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE
            ) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            pass


def run_value_data(command: list[str]) -> str:
    """Return the ``Run`` value for ``command``: the quoted program, then its arguments.

    The program is always quoted, because Windows splits an unquoted path
    with spaces (``C:\\Program Files\\...``) at the first space. The
    arguments follow the Microsoft C runtime rules that
    ``subprocess.list2cmdline`` implements.
    """
    program, *arguments = command
    quoted = f'"{program}"'
    if not arguments:
        return quoted
    return f"{quoted} {subprocess.list2cmdline(arguments)}"


def location() -> str:
    """Return the registry path of the ``Run`` value, as regedit shows it."""
    return f"{HIVE_NAME}\\{RUN_KEY}\\{VALUE_NAME}"


def get_status(
    registry: Registry | None = None, command: list[str] | None = None
) -> AutostartStatus:
    """Read the ``Run`` value and the Task Manager switch.

    :param command: the command of this installation, to tell whether the
        value starts this copy; defaults to :func:`launch_command`.
    :raises AutostartError: the registry cannot be read.
    """
    registry = registry or CurrentUserRegistry()
    expected = run_value_data(command or launch_command())
    run = _read(registry, RUN_KEY)
    if run is None:
        return AutostartStatus(False, "not enabled", location())
    if not isinstance(run.data, str) or run.kind not in (REG_SZ, REG_EXPAND_SZ):
        return AutostartStatus(
            False, "not enabled (the value is not a string)", location()
        )
    if _disabled_in_task_manager(registry):
        return AutostartStatus(
            False, "disabled in Task Manager", location(), advice=TASK_MANAGER_ADVICE
        )
    if _same_command(run.data, expected):
        return AutostartStatus(True, "enabled", location())
    return AutostartStatus(
        True, f"enabled, starting another copy: {run.data}", location()
    )


def enable(
    registry: Registry | None = None, command: list[str] | None = None
) -> AutostartStatus:
    """Write the ``Run`` value for this installation, unless Task Manager disabled it.

    When the user disabled trayagent in Task Manager, the existing value is
    left alone, and the ``advice`` of the returned status explains how to
    enable it there.
    A missing value is always written, even over a leftover disabled switch,
    because Task Manager lists only programs that have a ``Run`` value.

    :raises AutostartError: the registry cannot be read or written.
    """
    registry = registry or CurrentUserRegistry()
    command = command or launch_command()
    if _read(registry, RUN_KEY) is not None and _disabled_in_task_manager(registry):
        return get_status(registry, command)
    data = run_value_data(command)
    try:
        registry.write_string(RUN_KEY, VALUE_NAME, data)
    except OSError as error:
        raise AutostartError(_cannot("write", error)) from error
    logger.info("Start at login enabled: %s = %s", location(), data)
    return get_status(registry, command)


def disable(
    registry: Registry | None = None, command: list[str] | None = None
) -> AutostartStatus:
    """Delete the ``Run`` value; the Task Manager switch is left as the user set it.

    :raises AutostartError: the registry cannot be written.
    """
    registry = registry or CurrentUserRegistry()
    try:
        registry.delete_value(RUN_KEY, VALUE_NAME)
    except OSError as error:
        raise AutostartError(_cannot("delete", error)) from error
    logger.info("Start at login disabled: deleted %s", location())
    return get_status(registry, command)


def _read(registry: Registry, key: str) -> RegistryValue | None:
    try:
        return registry.read_value(key, VALUE_NAME)
    except OSError as error:
        raise AutostartError(
            f"cannot read {HIVE_NAME}\\{key}\\{VALUE_NAME}: {error}. "
            "Check that the registry is not locked by a policy of this PC."
        ) from error


def _disabled_in_task_manager(registry: Registry) -> bool:
    approved = _read(registry, APPROVED_KEY)
    if approved is None or not isinstance(approved.data, bytes) or not approved.data:
        return False
    return approved.data[0] % 2 == 1


def _same_command(stored: str, expected: str) -> bool:
    # Windows paths are case-insensitive.
    return stored.strip().casefold() == expected.casefold()


def _cannot(verb: str, error: OSError) -> str:
    return (
        f"cannot {verb} {location()}: {error}. "
        "Check that the registry is not locked by a policy of this PC."
    )
