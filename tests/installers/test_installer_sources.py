"""Installer sources that cannot run here: checked for syntax and for agreement.

Inno Setup and the macOS tools do not exist on Linux. These tests check
that the scripts parse and that they stop with a clear message where they
cannot run. They also check that the Windows installer writes the very Run
value the agent writes, so an installed agent reports start at login as
"enabled". The last tests cover the build itself: a missing PyInstaller
and missing icons.
"""

import importlib.util
import re
import shutil
import subprocess

import pytest

from trayagent import __version__
from trayagent.autostart import windows

from .conftest import BUILD_TIMEOUT, REPOSITORY, require_pyinstaller, run_pyinstaller

INSTALLERS = REPOSITORY / "installers"
ISS = INSTALLERS / "windows" / "trayagent.iss"
INSTALLED_PROGRAM = r"{app}\trayagent.exe"


def iss_text() -> str:
    """Return the Inno Setup script with its ``{#Name}`` defines expanded.

    ``AppVersion`` comes from the command line (``iscc /DAppVersion=...``).
    """
    text = ISS.read_text(encoding="utf-8")
    defines = {"AppVersion": __version__}
    defines |= dict(re.findall(r'^\s*#define (\w+) "([^"]*)"$', text, re.MULTILINE))
    return re.sub(r"\{#(\w+)\}", lambda match: defines[match.group(1)], text)


def iss_section(name: str) -> list[str]:
    """Return the non-comment lines of one section of the script."""
    lines = []
    inside = False
    for line in iss_text().splitlines():
        if line.startswith("["):
            inside = line == f"[{name}]"
            continue
        if inside and line.strip() and not line.lstrip().startswith(";"):
            lines.append(line)
    return lines


def iss_entry(line: str) -> dict[str, str]:
    """Split ``Name: "value"; Other: value`` into a dict, undoing doubled quotes."""
    pattern = r'(\w+):\s*("(?:[^"]|"")*"|[^;]*)'
    entry = {}
    for key, value in re.findall(pattern, line):
        value = value.strip()
        if value.startswith('"'):
            value = value[1:-1].replace('""', '"')
        entry[key] = value
    return entry


def iss_setup() -> dict[str, str]:
    return dict(line.split("=", 1) for line in iss_section("Setup"))


def test_installer_writes_agent_run_value():
    (entry,) = [iss_entry(line) for line in iss_section("Registry")]
    assert entry["Root"] == "HKCU"
    assert entry["Subkey"] == windows.RUN_KEY
    assert entry["ValueName"] == windows.VALUE_NAME
    assert entry["ValueType"] == "string"
    assert entry["ValueData"] == windows.run_value_data([INSTALLED_PROGRAM])


def test_run_value_is_optional_task():
    (entry,) = [iss_entry(line) for line in iss_section("Registry")]
    assert entry["Tasks"] == "startatlogin"


def test_uninstaller_deletes_agent_values():
    code = "\n".join(iss_section("Code"))
    assert f"RegDeleteValue(HKCU, '{windows.RUN_KEY}', '{windows.VALUE_NAME}')" in code
    assert (
        f"RegDeleteValue(HKCU, '{windows.APPROVED_KEY}', '{windows.VALUE_NAME}')"
        in code
    )


def test_installer_is_per_user():
    setup = iss_setup()
    assert setup["PrivilegesRequired"] == "lowest"
    assert setup["DefaultDirName"] == r"{localappdata}\Programs\trayagent"


def test_installer_id_is_fixed():
    assert iss_setup()["AppId"] == "{{EE338941-D880-44AA-9A26-6B7AA56D303F}"


def test_start_menu_entry_starts_agent():
    (entry,) = [iss_entry(line) for line in iss_section("Icons")]
    assert entry["Name"] == r"{autoprograms}\trayagent"
    assert entry["Filename"] == INSTALLED_PROGRAM


@pytest.mark.parametrize(
    ("shell", "script"),
    [
        ("bash", "linux/build-tarball.sh"),
        ("sh", "linux/install.sh"),
        ("bash", "macos/build-dmg.sh"),
    ],
)
def test_shell_script_syntax(shell, script):
    result = subprocess.run(
        [shell, "-n", str(INSTALLERS / script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(
    shutil.which("hdiutil") is not None, reason="runs where macOS tools are missing"
)
def test_dmg_script_refuses_outside_macos():
    result = subprocess.run(
        [str(INSTALLERS / "macos" / "build-dmg.sh")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("build-dmg.sh: needs macOS")


def hide_pyinstaller(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "PyInstaller" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_missing_pyinstaller_skips_on_laptop(monkeypatch):
    hide_pyinstaller(monkeypatch)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as raised:
        require_pyinstaller()
    assert "pip install pyinstaller" in str(raised.value)


def test_missing_pyinstaller_fails_under_ci(monkeypatch):
    hide_pyinstaller(monkeypatch)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as raised:
        require_pyinstaller()
    assert "under CI" in str(raised.value)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_spec_without_icons_stops_build(tmp_path):
    require_pyinstaller()
    copy = tmp_path / "repository"
    (copy / "installers").mkdir(parents=True)
    (copy / "trayagent").mkdir()
    (copy / "icons").mkdir()
    shutil.copy(INSTALLERS / "trayagent.spec", copy / "installers")
    shutil.copy(REPOSITORY / "trayagent" / "__init__.py", copy / "trayagent")
    build = tmp_path / "build"
    build.mkdir()
    result = run_pyinstaller(copy / "installers" / "trayagent.spec", build)
    log = (build / "build.log").read_text(errors="replace")
    assert result.returncode != 0
    assert "trayagent.spec: missing icon files:" in log
    assert "python tools/make_icons.py" in log
