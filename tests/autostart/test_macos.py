"""macOS start at login: the LaunchAgent plist, written into a temporary HOME.

launchctl is never called: writing the plist is what takes effect at the
next login.
"""

import os
import plistlib
import stat
from pathlib import Path

import pytest

from trayagent.autostart import macos
from trayagent.autostart.status import AutostartError

APP = ["/Applications/trayagent.app/Contents/MacOS/trayagent"]
OTHER_APP = ["/Users/nurse/Downloads/trayagent.app/Contents/MacOS/trayagent"]


@pytest.fixture
def plist_file(isolated_profile: Path) -> Path:
    return isolated_profile / "Library" / "LaunchAgents" / "th.trayagent.agent.plist"


def test_plist_label_and_program():
    definition = macos.build_plist(APP)
    assert definition["Label"] == "th.trayagent.agent"
    assert definition["ProgramArguments"] == APP


def test_plist_runs_at_load():
    assert macos.build_plist(APP)["RunAtLoad"] is True


def test_plist_restarts_only_after_failure():
    assert macos.build_plist(APP)["KeepAlive"] == {"SuccessfulExit": False}


def test_plist_is_interactive_gui_agent():
    definition = macos.build_plist(APP)
    assert definition["ProcessType"] == "Interactive"
    assert definition["LimitLoadToSessionType"] == "Aqua"


def test_plist_discards_output():
    definition = macos.build_plist(APP)
    assert definition["StandardOutPath"] == "/dev/null"
    assert definition["StandardErrorPath"] == "/dev/null"


def test_plist_has_no_other_keys():
    assert sorted(macos.build_plist(APP)) == [
        "KeepAlive",
        "Label",
        "LimitLoadToSessionType",
        "ProcessType",
        "ProgramArguments",
        "RunAtLoad",
        "StandardErrorPath",
        "StandardOutPath",
    ]


def test_plist_file_is_xml_round_trip():
    content = macos.plist_bytes(APP)
    assert content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert plistlib.loads(content) == macos.build_plist(APP)


def test_plist_path_is_in_home(plist_file):
    assert macos.plist_path() == plist_file


def test_status_without_file_is_not_enabled(plist_file):
    status = macos.get_status(command=APP)
    assert status.enabled is False
    assert status.detail == "not enabled"
    assert status.location == str(plist_file)


def test_enable_writes_plist(plist_file):
    status = macos.enable(command=APP)
    assert plistlib.loads(plist_file.read_bytes()) == macos.build_plist(APP)
    assert status.enabled is True
    assert status.detail == "enabled"


def test_enable_leaves_no_temporary_file(plist_file):
    macos.enable(command=APP)
    assert [path.name for path in plist_file.parent.iterdir()] == [plist_file.name]


def test_plist_file_is_readable_by_launchd(plist_file):
    macos.enable(command=APP)
    assert stat.S_IMODE(os.stat(plist_file).st_mode) == 0o644


def test_enable_replaces_other_copy(plist_file):
    macos.enable(command=OTHER_APP)
    macos.enable(command=APP)
    assert plistlib.loads(plist_file.read_bytes())["ProgramArguments"] == APP


def test_other_copy_is_reported(plist_file):
    macos.enable(command=OTHER_APP)
    status = macos.get_status(command=APP)
    assert status.enabled is True
    assert status.detail == f"enabled, starting another copy: {OTHER_APP[0]}"


def test_disable_removes_plist(plist_file):
    macos.enable(command=APP)
    status = macos.disable(command=APP)
    assert not plist_file.exists()
    assert status.enabled is False


def test_disable_without_plist_succeeds(plist_file):
    status = macos.disable(command=APP)
    assert status.detail == "not enabled"


def test_disabled_key_counts_as_disabled(plist_file):
    definition = macos.build_plist(APP) | {"Disabled": True}
    plist_file.parent.mkdir(parents=True)
    plist_file.write_bytes(plistlib.dumps(definition))
    status = macos.get_status(command=APP)
    assert status.enabled is False
    assert status.detail == "disabled (the plist sets Disabled)"


def test_run_at_load_off_is_not_enabled(plist_file):
    definition = macos.build_plist(APP) | {"RunAtLoad": False}
    plist_file.parent.mkdir(parents=True)
    plist_file.write_bytes(plistlib.dumps(definition))
    status = macos.get_status(command=APP)
    assert status.enabled is False


def test_invalid_plist_is_not_enabled(plist_file):
    plist_file.parent.mkdir(parents=True)
    plist_file.write_bytes(b"<plist><dict><key>Label</key>")
    status = macos.get_status(command=APP)
    assert status.enabled is False
    assert status.detail == "not enabled (the file is not a valid plist)"


def test_binary_plist_is_read(plist_file):
    plist_file.parent.mkdir(parents=True)
    plist_file.write_bytes(
        plistlib.dumps(macos.build_plist(APP), fmt=plistlib.FMT_BINARY)
    )
    assert macos.get_status(command=APP).enabled is True


def test_unwritable_folder_raises_with_path(isolated_profile):
    (isolated_profile / "Library").mkdir()
    (isolated_profile / "Library" / "LaunchAgents").write_text("not a folder")
    with pytest.raises(AutostartError) as raised:
        macos.enable(command=APP)
    assert "LaunchAgents" in str(raised.value)
    assert str(raised.value).startswith("cannot write ")
