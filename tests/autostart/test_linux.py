"""Linux start at login: the XDG autostart desktop file, in a temporary HOME.

Every test runs with HOME and XDG_CONFIG_HOME in its own temporary folder
(the ``isolated_profile`` fixture), so the files are real and private.
"""

import os
import stat
import sys
from pathlib import Path

import pytest

from trayagent import autostart
from trayagent.autostart import linux
from trayagent.autostart.status import AutostartError

from .exec_parser import parse_exec

PROGRAM = ["/home/nurse/.local/lib/trayagent/trayagent"]
OTHER_PROGRAM = ["/opt/old/trayagent/trayagent"]


@pytest.fixture
def autostart_dir(isolated_profile: Path) -> Path:
    return isolated_profile / ".config" / "autostart"


@pytest.fixture
def system_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "etc-xdg"
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{tmp_path / 'missing'}:{folder}")
    (folder / "autostart").mkdir(parents=True)
    return folder / "autostart"


def entry_of(path: Path) -> dict[str, str]:
    entry = linux.read_desktop_entry(path.read_text(encoding="utf-8"))
    assert entry is not None
    return entry


@pytest.mark.parametrize(
    ("argument", "written"),
    [
        ("/opt/trayagent/trayagent", "/opt/trayagent/trayagent"),
        ("--port=18000", "--port=18000"),
        ("/home/Dr Somchai/trayagent", '"/home/Dr Somchai/trayagent"'),
        ("/home/o'brien/trayagent", '"/home/o\'brien/trayagent"'),
        ("/srv/$HOME/trayagent", '"/srv/\\\\$HOME/trayagent"'),
        ('/srv/say "hi"/trayagent', '"/srv/say \\\\"hi\\\\"/trayagent"'),
        ("/srv/back\\slash", '"/srv/back\\\\\\\\slash"'),
        ("/srv/`cmd`", '"/srv/\\\\`cmd\\\\`"'),
        ("/srv/100%/trayagent", "/srv/100%%/trayagent"),
        ("/srv/a;b&c|d", '"/srv/a;b&c|d"'),
        ("/srv/tab\there", '"/srv/tab\\there"'),
        ("", '""'),
    ],
)
def test_exec_quoting_table(argument, written):
    assert linux.exec_value([argument]) == written


@pytest.mark.parametrize(
    "command",
    [
        PROGRAM,
        ["/usr/bin/python3", "-m", "trayagent"],
        ["/home/Dr Somchai/venv/bin/trayagent-tray"],
        ['/srv/\\odd $dir/`x`/"q"/100%/trayagent', "--port", "18000"],
        ["/home/สมชาย/trayagent/trayagent"],
    ],
)
def test_exec_value_splits_back_to_command(command):
    assert parse_exec(linux.exec_value(command)) == command


def test_desktop_entry_keys():
    entry = linux.read_desktop_entry(linux.build_desktop_entry(PROGRAM, "trayagent"))
    assert entry is not None
    assert entry["Type"] == "Application"
    assert entry["Name"] == "trayagent"
    assert entry["Exec"] == PROGRAM[0]
    assert entry["Icon"] == "trayagent"
    assert entry["Terminal"] == "false"
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    assert "Hidden" not in entry


def test_desktop_entry_starts_with_group():
    text = linux.build_desktop_entry(PROGRAM, "trayagent")
    assert text.splitlines()[0] == "[Desktop Entry]"
    assert text.endswith("\n")


def test_hidden_entry_sets_hidden():
    entry = linux.read_desktop_entry(
        linux.build_desktop_entry(PROGRAM, "trayagent", hidden=True)
    )
    assert entry is not None
    assert entry["Hidden"] == "true"


def test_reader_ignores_other_groups_and_comments():
    text = (
        "# comment\n[Desktop Action quit]\nExec=/bin/false\n"
        "[Desktop Entry]\nName = trayagent\nExec=/bin/true\n"
    )
    assert linux.read_desktop_entry(text) == {"Name": "trayagent", "Exec": "/bin/true"}


def test_reader_without_entry_group_returns_none():
    assert linux.read_desktop_entry("[Other]\nExec=/bin/true\n") is None


def test_autostart_dir_follows_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert (
        linux.desktop_file_path()
        == tmp_path / "cfg" / "autostart" / "trayagent.desktop"
    )


def test_autostart_dir_defaults_to_dot_config(isolated_profile, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert linux.autostart_dir() == isolated_profile / ".config" / "autostart"


def test_relative_xdg_config_home_is_ignored(isolated_profile, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/cfg")
    assert linux.autostart_dir() == isolated_profile / ".config" / "autostart"


def test_system_dirs_default_to_etc_xdg(monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_DIRS", raising=False)
    assert linux.system_autostart_dirs() == [Path("/etc/xdg/autostart")]


def test_status_without_file_is_not_enabled(autostart_dir):
    status = linux.get_status(PROGRAM)
    assert status.enabled is False
    assert status.detail == "not enabled"
    assert status.location == str(autostart_dir / "trayagent.desktop")


def test_enable_writes_desktop_file(autostart_dir):
    status = linux.enable(PROGRAM)
    path = autostart_dir / "trayagent.desktop"
    assert entry_of(path)["Exec"] == PROGRAM[0]
    assert status.enabled is True
    assert status.detail == "enabled"
    assert status.location == str(path)


def test_desktop_file_mode_is_644(autostart_dir):
    linux.enable(PROGRAM)
    mode = stat.S_IMODE(os.stat(autostart_dir / "trayagent.desktop").st_mode)
    assert mode == 0o644


def test_enable_leaves_no_temporary_file(autostart_dir):
    linux.enable(PROGRAM)
    assert [path.name for path in autostart_dir.iterdir()] == ["trayagent.desktop"]


def test_other_copy_is_reported(autostart_dir):
    linux.enable(OTHER_PROGRAM)
    status = linux.get_status(PROGRAM)
    assert status.enabled is True
    assert status.detail == f"enabled, starting another copy: {OTHER_PROGRAM[0]}"


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("Hidden=true", "disabled (Hidden=true)"),
        (
            "X-GNOME-Autostart-enabled=false",
            "disabled in the desktop's startup settings "
            "(X-GNOME-Autostart-enabled=false)",
        ),
    ],
)
def test_switched_off_file_is_disabled(autostart_dir, line, detail):
    autostart_dir.mkdir(parents=True)
    text = linux.build_desktop_entry(PROGRAM, "trayagent")
    text = text.replace("X-GNOME-Autostart-enabled=true\n", "") + line + "\n"
    (autostart_dir / "trayagent.desktop").write_text(text)
    status = linux.get_status(PROGRAM)
    assert status.enabled is False
    assert status.detail == detail


def test_enable_switches_disabled_file_back_on(autostart_dir):
    autostart_dir.mkdir(parents=True)
    text = linux.build_desktop_entry(PROGRAM, "trayagent", hidden=True)
    (autostart_dir / "trayagent.desktop").write_text(text)
    status = linux.enable(PROGRAM)
    assert status.enabled is True
    assert "Hidden" not in entry_of(autostart_dir / "trayagent.desktop")


def test_file_without_entry_group_is_not_enabled(autostart_dir):
    autostart_dir.mkdir(parents=True)
    (autostart_dir / "trayagent.desktop").write_text("garbage\n")
    status = linux.get_status(PROGRAM)
    assert status.enabled is False
    assert status.detail == "not enabled (the file has no [Desktop Entry] group)"


def test_disable_removes_user_file(autostart_dir):
    linux.enable(PROGRAM)
    status = linux.disable(PROGRAM)
    assert not (autostart_dir / "trayagent.desktop").exists()
    assert status.enabled is False


def test_disable_without_file_succeeds(autostart_dir):
    status = linux.disable(PROGRAM)
    assert status.detail == "not enabled"


def test_system_file_counts_as_enabled(autostart_dir, system_dir):
    (system_dir / "trayagent.desktop").write_text(
        linux.build_desktop_entry(PROGRAM, "trayagent")
    )
    status = linux.get_status(PROGRAM)
    assert status.enabled is True
    assert status.location == str(system_dir / "trayagent.desktop")


def test_disable_hides_system_file(autostart_dir, system_dir):
    system_file = system_dir / "trayagent.desktop"
    system_file.write_text(linux.build_desktop_entry(PROGRAM, "trayagent"))
    status = linux.disable(PROGRAM)
    assert entry_of(autostart_dir / "trayagent.desktop")["Hidden"] == "true"
    assert system_file.exists()
    assert status.enabled is False
    assert status.detail == "disabled (Hidden=true)"


def test_user_file_overrides_system_file(autostart_dir, system_dir):
    (system_dir / "trayagent.desktop").write_text(
        linux.build_desktop_entry(OTHER_PROGRAM, "trayagent")
    )
    status = linux.enable(PROGRAM)
    assert status.detail == "enabled"
    assert status.location == str(autostart_dir / "trayagent.desktop")


def test_unwritable_folder_raises_with_path(autostart_dir):
    autostart_dir.parent.mkdir(parents=True, exist_ok=True)
    autostart_dir.write_text("not a folder")
    with pytest.raises(AutostartError) as raised:
        linux.enable(PROGRAM)
    assert str(autostart_dir) in str(raised.value)


def test_bundled_icon_is_used_when_frozen(tmp_path, monkeypatch):
    icon = tmp_path / "icons" / "card-present-64@2x.png"
    icon.parent.mkdir()
    icon.write_bytes(b"\x89PNG")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert linux.default_icon() == str(icon)


def test_icon_name_is_used_from_pip_install():
    assert linux.default_icon() == "trayagent"


# The command line, through the facade, on this Linux machine.


def test_command_line_status(autostart_dir, capsys):
    exit_status = autostart.main("status")
    output = capsys.readouterr()
    assert exit_status == 0
    assert (
        output.out
        == f"Start at login: not enabled ({autostart_dir / 'trayagent.desktop'})\n"
    )


def test_command_line_enable_and_disable(autostart_dir, capsys):
    assert autostart.main("enable") == 0
    assert autostart.get_status().enabled is True
    assert capsys.readouterr().out.startswith("Start at login: enabled (")
    assert autostart.main("disable") == 0
    assert autostart.get_status().enabled is False
    assert not (autostart_dir / "trayagent.desktop").exists()


def test_command_line_enable_failure(autostart_dir, capsys):
    autostart_dir.parent.mkdir(parents=True, exist_ok=True)
    autostart_dir.write_text("not a folder")
    exit_status = autostart.main("enable")
    output = capsys.readouterr()
    assert exit_status == 1
    assert output.err.startswith(
        f"trayagent autostart enable: cannot write {autostart_dir}"
    )
    assert "Check the permissions" in output.err
    assert output.out == ""


def test_command_line_unknown_action(capsys):
    exit_status = autostart.main("restart")
    output = capsys.readouterr()
    assert exit_status == 1
    assert "use enable, disable or status" in output.err
