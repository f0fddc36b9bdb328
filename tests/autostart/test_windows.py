"""Windows start at login: the Run value and the Task Manager switch.

``winreg`` exists only on Windows, so these tests run the logic against an
in-memory registry and check exactly what would be written.
"""

import pytest

from trayagent import autostart
from trayagent.autostart import windows
from trayagent.autostart.status import AutostartError
from trayagent.autostart.windows import (
    APPROVED_KEY,
    REG_BINARY,
    REG_EXPAND_SZ,
    REG_SZ,
    RUN_KEY,
    RegistryValue,
)

INSTALLED = [r"C:\Users\Nurse\AppData\Local\Programs\trayagent\trayagent.exe"]
INSTALLED_VALUE = r'"C:\Users\Nurse\AppData\Local\Programs\trayagent\trayagent.exe"'
OLD_COPY_VALUE = r'"D:\old\trayagent.exe"'


class MemoryRegistry:
    """HKEY_CURRENT_USER in a dict; keys and value names ignore case, as in Windows."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], RegistryValue] = {}
        self.fail_with: OSError | None = None

    def read_value(self, key: str, name: str) -> RegistryValue | None:
        self._maybe_fail()
        return self.values.get((key.casefold(), name.casefold()))

    def write_string(self, key: str, name: str, data: str) -> None:
        self._maybe_fail()
        self.values[(key.casefold(), name.casefold())] = RegistryValue(data, REG_SZ)

    def delete_value(self, key: str, name: str) -> None:
        self._maybe_fail()
        self.values.pop((key.casefold(), name.casefold()), None)

    def put(self, key: str, name: str, data: object, kind: int) -> None:
        self.values[(key.casefold(), name.casefold())] = RegistryValue(data, kind)

    def get(self, key: str, name: str = "trayagent") -> RegistryValue | None:
        return self.values.get((key.casefold(), name.casefold()))

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry()


def approved(hex_bytes: str) -> bytes:
    return bytes.fromhex(hex_bytes)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (INSTALLED, INSTALLED_VALUE),
        (
            [r"C:\Program Files\trayagent\trayagent.exe"],
            r'"C:\Program Files\trayagent\trayagent.exe"',
        ),
        (
            [r"C:\Python311\pythonw.exe", "-m", "trayagent"],
            r'"C:\Python311\pythonw.exe" -m trayagent',
        ),
        (
            [r"C:\t\trayagent.exe", "--port", "18000"],
            r'"C:\t\trayagent.exe" --port 18000',
        ),
        ([r"C:\t\trayagent.exe", "a b"], r'"C:\t\trayagent.exe" "a b"'),
    ],
)
def test_run_value_quotes_program(command, expected):
    assert windows.run_value_data(command) == expected


def test_location_names_run_value():
    assert (
        windows.location()
        == r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run\trayagent"
    )


def test_status_without_value_is_not_enabled(registry):
    status = windows.get_status(registry, INSTALLED)
    assert status.enabled is False
    assert status.detail == "not enabled"
    assert status.location == windows.location()


def test_enable_writes_quoted_program(registry):
    status = windows.enable(registry, INSTALLED)
    assert registry.get(RUN_KEY) == RegistryValue(INSTALLED_VALUE, REG_SZ)
    assert status.enabled is True
    assert status.detail == "enabled"


def test_enable_replaces_value_of_old_copy(registry):
    registry.put(RUN_KEY, "trayagent", OLD_COPY_VALUE, REG_SZ)
    windows.enable(registry, INSTALLED)
    assert registry.get(RUN_KEY).data == INSTALLED_VALUE


def test_value_of_other_copy_is_reported(registry):
    registry.put(RUN_KEY, "trayagent", OLD_COPY_VALUE, REG_SZ)
    status = windows.get_status(registry, INSTALLED)
    assert status.enabled is True
    assert status.detail == f"enabled, starting another copy: {OLD_COPY_VALUE}"


def test_value_differing_in_case_is_this_copy(registry):
    registry.put(RUN_KEY, "TrayAgent", INSTALLED_VALUE.upper(), REG_EXPAND_SZ)
    status = windows.get_status(registry, INSTALLED)
    assert status.detail == "enabled"


def test_value_that_is_not_string_is_not_enabled(registry):
    registry.put(RUN_KEY, "trayagent", b"\x00\x01", REG_BINARY)
    status = windows.get_status(registry, INSTALLED)
    assert status.enabled is False
    assert status.detail == "not enabled (the value is not a string)"


@pytest.mark.parametrize(
    ("switch", "enabled"),
    [
        ("02 00 00 00 00 00 00 00 00 00 00 00", True),
        ("06 00 00 00 00 00 00 00 00 00 00 00", True),
        ("03 00 00 00 9a 3c 41 e5 0b 2f da 01", False),
        ("07 00 00 00 9a 3c 41 e5 0b 2f da 01", False),
        ("", True),
    ],
)
def test_task_manager_switch_first_byte(registry, switch, enabled):
    registry.put(RUN_KEY, "trayagent", INSTALLED_VALUE, REG_SZ)
    registry.put(APPROVED_KEY, "trayagent", approved(switch), REG_BINARY)
    status = windows.get_status(registry, INSTALLED)
    assert status.enabled is enabled


def test_disabled_in_task_manager_is_reported(registry):
    registry.put(RUN_KEY, "trayagent", INSTALLED_VALUE, REG_SZ)
    registry.put(APPROVED_KEY, "trayagent", approved("03 00 00 00"), REG_BINARY)
    status = windows.get_status(registry, INSTALLED)
    assert status.detail == "disabled in Task Manager"
    assert "Task Manager" in status.advice
    assert "Startup apps" in status.advice


def test_enable_leaves_task_manager_choice_alone(registry):
    registry.put(RUN_KEY, "trayagent", OLD_COPY_VALUE, REG_SZ)
    registry.put(APPROVED_KEY, "trayagent", approved("03 00 00 00"), REG_BINARY)
    status = windows.enable(registry, INSTALLED)
    assert status.enabled is False
    assert status.detail == "disabled in Task Manager"
    assert registry.get(RUN_KEY).data == OLD_COPY_VALUE
    assert registry.get(APPROVED_KEY).data == approved("03 00 00 00")


def test_enable_writes_missing_value_despite_old_switch(registry):
    registry.put(APPROVED_KEY, "trayagent", approved("03 00 00 00"), REG_BINARY)
    status = windows.enable(registry, INSTALLED)
    assert registry.get(RUN_KEY).data == INSTALLED_VALUE
    assert status.detail == "disabled in Task Manager"


def test_disable_deletes_value_and_keeps_switch(registry):
    registry.put(RUN_KEY, "trayagent", INSTALLED_VALUE, REG_SZ)
    registry.put(APPROVED_KEY, "trayagent", approved("02 00 00 00"), REG_BINARY)
    status = windows.disable(registry, INSTALLED)
    assert registry.get(RUN_KEY) is None
    assert registry.get(APPROVED_KEY) is not None
    assert status.enabled is False


def test_disable_without_value_succeeds(registry):
    status = windows.disable(registry, INSTALLED)
    assert status.detail == "not enabled"


def test_other_run_values_are_untouched(registry):
    registry.put(RUN_KEY, "OneDrive", r'"C:\OneDrive.exe" /background', REG_SZ)
    windows.enable(registry, INSTALLED)
    windows.disable(registry, INSTALLED)
    assert registry.get(RUN_KEY, "OneDrive").data == r'"C:\OneDrive.exe" /background'


def test_write_failure_names_value(registry):
    registry.fail_with = PermissionError(13, "Access is denied")
    with pytest.raises(AutostartError) as raised:
        windows.enable(registry, INSTALLED)
    assert windows.location() in str(raised.value)
    assert "Access is denied" in str(raised.value)


def test_command_line_reports_task_manager(registry, monkeypatch, capsys):
    registry.put(RUN_KEY, "trayagent", INSTALLED_VALUE, REG_SZ)
    registry.put(APPROVED_KEY, "trayagent", approved("03 00 00 00"), REG_BINARY)
    monkeypatch.setattr(windows, "CurrentUserRegistry", lambda: registry)
    monkeypatch.setattr(windows, "launch_command", lambda: INSTALLED)
    monkeypatch.setattr(autostart, "_backend", lambda: windows)
    exit_status = autostart.main("enable")
    output = capsys.readouterr()
    assert exit_status == 1
    assert "disabled in Task Manager" in output.err
    assert "choose Enable" in output.err
    assert output.out == ""


def test_command_line_reports_registry_error(registry, monkeypatch, capsys):
    registry.fail_with = PermissionError(13, "Access is denied")
    monkeypatch.setattr(windows, "CurrentUserRegistry", lambda: registry)
    monkeypatch.setattr(windows, "launch_command", lambda: INSTALLED)
    monkeypatch.setattr(autostart, "_backend", lambda: windows)
    exit_status = autostart.main("status")
    output = capsys.readouterr()
    assert exit_status == 1
    assert output.err.startswith("trayagent autostart status: cannot read HKCU\\")


def test_console_twin_enables_and_recognises_windowed_program(tmp_path):
    from trayagent.autostart.command import launch_command

    folder = tmp_path / "trayagent"
    gui = str(folder / "trayagent.exe")
    console = str(folder / "trayagent-cli.exe")
    registry = MemoryRegistry()
    command = launch_command(frozen=True, executable=console, platform="win32")
    windows.enable(registry, command)
    written = registry.get(RUN_KEY)
    status = windows.get_status(registry, command)
    assert written is not None
    assert written.data == f'"{gui}"'
    assert status.enabled
    assert status.detail == "enabled"
