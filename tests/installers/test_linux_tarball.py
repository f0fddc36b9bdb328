"""The Linux tarball: built from the frozen bundle, unpacked and installed per user."""

import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from autostart.exec_parser import parse_exec

from trayagent import __version__
from trayagent.autostart.linux import read_desktop_entry

from .conftest import BUILD_TIMEOUT, REPOSITORY

BUILD_SCRIPT = REPOSITORY / "installers" / "linux" / "build-tarball.sh"

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + 120)


@pytest.fixture(scope="module")
def tarball(frozen_bundle, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("tarball")
    result = subprocess.run(
        [str(BUILD_SCRIPT), str(frozen_bundle.folder.parent), str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.fixture
def unpacked(tarball, tmp_path) -> Path:
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "unpacked", filter="tar")
    (folder,) = (tmp_path / "unpacked").iterdir()
    return folder


@pytest.fixture
def user_home(tmp_path, monkeypatch) -> Path:
    # A space and a dollar sign test the quoting of the menu entry's Exec.
    home = tmp_path / "home of $nurse"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    return home


def install(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(folder / "install.sh"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )


def test_tarball_name_has_version_and_machine(tarball):
    assert tarball.name == f"trayagent-{__version__}-linux-{os.uname().machine}.tar.gz"


def test_tarball_contents(tarball):
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    top = f"trayagent-{__version__}-linux-{os.uname().machine}"
    for name in (
        "trayagent/trayagent",
        "trayagent.desktop",
        "trayagent.png",
        "install.sh",
    ):
        assert f"{top}/{name}" in names


def test_tarball_files_belong_to_root(tarball):
    with tarfile.open(tarball) as archive:
        owners = {(member.uid, member.gid) for member in archive.getmembers()}
    assert owners == {(0, 0)}


def test_tarball_menu_entry(unpacked):
    entry = read_desktop_entry((unpacked / "trayagent.desktop").read_text())
    assert entry is not None
    assert entry["Type"] == "Application"
    assert entry["Icon"] == "trayagent"
    assert entry["Terminal"] == "false"


def test_tarball_icon_is_program_icon(unpacked):
    icon = (unpacked / "trayagent.png").read_bytes()
    assert icon == (REPOSITORY / "icons" / "card-present-64@2x.png").read_bytes()


def test_missing_bundle_is_reported(tmp_path):
    result = subprocess.run(
        [str(BUILD_SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "not found. Build it first: pyinstaller" in result.stderr


def test_install_puts_program_menu_entry_and_icon(unpacked, user_home):
    result = install(unpacked)
    assert result.returncode == 0, result.stderr
    program = user_home / ".local" / "lib" / "trayagent" / "trayagent"
    assert program.is_file()
    assert (user_home / ".local" / "bin" / "trayagent").resolve() == program
    assert (
        user_home / ".local/share/icons/hicolor/128x128/apps/trayagent.png"
    ).is_file()
    entry = read_desktop_entry(
        (user_home / ".local/share/applications/trayagent.desktop").read_text()
    )
    assert entry is not None
    assert parse_exec(entry["Exec"]) == [str(program)]


def test_installed_program_runs(unpacked, user_home):
    assert install(unpacked).returncode == 0
    result = subprocess.run(
        [str(user_home / ".local" / "bin" / "trayagent"), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout.strip() == f"trayagent {__version__}"


def test_upgrade_replaces_program_and_keeps_settings(unpacked, user_home):
    assert install(unpacked).returncode == 0
    settings = user_home / ".config" / "trayagent" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"port": 18000}\n')
    stale = user_home / ".local" / "lib" / "trayagent" / "_internal" / "stale.py"
    stale.write_text("")
    assert install(unpacked).returncode == 0
    assert not stale.exists()
    assert settings.read_text() == '{"port": 18000}\n'


def test_uninstall_removes_program_and_keeps_settings(unpacked, user_home):
    assert install(unpacked).returncode == 0
    settings = user_home / ".config" / "trayagent" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text("{}\n")
    autostart_file = user_home / ".config" / "autostart" / "trayagent.desktop"
    autostart_file.parent.mkdir(parents=True)
    autostart_file.write_text("[Desktop Entry]\n")
    result = install(unpacked, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not (user_home / ".local" / "lib" / "trayagent").exists()
    assert not (user_home / ".local" / "bin" / "trayagent").is_symlink()
    assert not (user_home / ".local/share/applications/trayagent.desktop").exists()
    assert not autostart_file.exists()
    assert settings.exists()
    assert "Settings stay in" in result.stdout
