"""The agent, port, settings, logs, web site and start-at-login checks."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from trayagent import autostart, paths
from trayagent.autostart import AutostartError, AutostartStatus
from trayagent.doctor import agent_checks, system
from trayagent.doctor.agent_checks import (
    AgentFacts,
    agent_check,
    autostart_check,
    inspect_settings,
    is_agent_command,
    logs_check,
    port_check,
    settings_check,
    web_sites_check,
)
from trayagent.doctor.browser_checks import browser_checks
from trayagent.doctor.report import failed_check
from trayagent.instance import LockInfo, PortTaken, RunningAgent
from trayagent.settings import Settings


def facts(found=None, lock=None, port=17432, settings=None) -> AgentFacts:
    view = inspect_settings(paths.settings_path())
    if settings is not None:
        view = view.__class__(view.path, True, settings)
    return AgentFacts(view, lock, port, found)


def write_settings(text: str) -> None:
    paths.settings_path().parent.mkdir(parents=True, exist_ok=True)
    paths.settings_path().write_text(text, encoding="utf-8")


# Agent and port


def test_running_agent_is_ok():
    check = agent_check(
        facts(RunningAgent("0.1.0", 17432), LockInfo(os.getpid(), 17432))
    )
    assert check.verdict == "ok"
    assert check.summary == "trayagent 0.1.0 is running on port 17432."


def test_running_agent_on_other_port_named():
    check = agent_check(facts(RunningAgent("0.1.0", 18000), LockInfo(1, 18000), 18000))
    assert "(the settings say 17432)" in check.summary


def test_simulated_agent_is_warning():
    found = RunningAgent("0.1.0", 17432, simulated=True)
    check = agent_check(facts(found, LockInfo(os.getpid(), 17432)))
    assert check.verdict == "warning"
    assert check.summary == (
        "trayagent 0.1.0 is running on port 17432 in simulate mode, so web pages "
        "get fictional test cards and no real card reader is served."
    )
    assert "without --simulate" in check.fix
    assert check.details["simulated"] is True


def test_no_agent_is_problem():
    check = agent_check(facts())
    assert check.verdict == "problem"
    assert "not running" in check.summary
    assert "Start menu" in check.fix


def test_stale_lock_is_not_running():
    # A crashed agent leaves its text in the lock file; no process has this id.
    check = agent_check(facts(lock=LockInfo(2**22 + 12345, 17432)))
    assert "trayagent is not running" in check.summary


def test_live_lock_owner_not_responding(tmp_path):
    program = tmp_path / "trayagent"
    program.write_text("import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    sleeper = subprocess.Popen(
        [sys.executable, str(program)], stdout=subprocess.PIPE, text=True
    )
    try:
        # Popen returns while the kernel may still be setting up the new
        # program, and /proc/PID/cmdline reads empty until it is done.
        assert sleeper.stdout.readline() == "ready\n"
        check = agent_check(facts(lock=LockInfo(sleeper.pid, 17432)))
    finally:
        sleeper.kill()
        sleeper.wait()
        sleeper.stdout.close()
    assert check.verdict == "problem"
    assert f"(process {sleeper.pid}) runs but does not respond" in check.summary


def test_unknown_lock_owner_may_hang(monkeypatch):
    # Where the platform cannot tell whether the process runs.
    monkeypatch.setattr(agent_checks, "process_alive", lambda pid: None)
    check = agent_check(facts(lock=LockInfo(4711, 17432)))
    assert check.verdict == "problem"
    assert check.summary == (
        "nothing responds on port 17432, but the lock file names process 4711, "
        "which may be a trayagent that hangs."
    )
    assert "end process 4711 (in Task Manager on Windows" in check.fix
    assert "If no process 4711 exists, trayagent is not running." in check.fix


@pytest.mark.parametrize(
    ("alive", "summary_part"),
    [
        (True, "(process 4711) runs but does not respond"),
        (False, "trayagent is not running"),
        (None, "which may be a trayagent that hangs"),
    ],
)
def test_windows_lock_owner_check(monkeypatch, alive, summary_part):
    asked = []

    def windows_process_alive(pid):
        asked.append(pid)
        return alive

    monkeypatch.setattr(system.sys, "platform", "win32")
    monkeypatch.setattr(system, "_windows_process_alive", windows_process_alive)
    monkeypatch.setattr(agent_checks, "process_arguments", lambda pid: None)
    check = agent_check(facts(lock=LockInfo(4711, 17432)))
    assert asked == [4711]
    assert summary_part in check.summary


@pytest.mark.skipif(sys.platform == "win32", reason="ctypes.WinDLL exists there")
def test_windows_probe_without_kernel32_is_unknown():
    assert system._windows_process_alive(4711) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_reused_lock_pid_is_not_running():
    # This test process runs, but its command line does not start trayagent.
    check = agent_check(facts(lock=LockInfo(os.getpid(), 17432)))
    assert "trayagent is not running" in check.summary


def test_free_port_is_ok():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    check = port_check(facts(port=port))
    assert check.verdict == "ok"
    assert check.summary == f"port {port} is free, so trayagent can listen on it."


def test_taken_port_names_owner_and_new_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        check = port_check(facts(PortTaken(port, "no HTTP response"), port=port))
    assert check.verdict == "problem"
    assert f"(process {os.getpid()})" in check.summary
    assert re.search(r'set "port" to \d+ in ', check.fix)
    assert re.search(r"ws://127\.0\.0\.1:\d+/ws", check.fix)
    assert str(paths.settings_path()) in check.fix


def test_port_used_by_agent_is_ok():
    check = port_check(facts(RunningAgent("0.1.0", 17432)))
    assert check.verdict == "ok"


# Settings


def test_missing_settings_file_uses_defaults():
    check = settings_check(inspect_settings(paths.settings_path()))
    assert check.verdict == "info"
    assert check.summary.startswith("no settings file yet")


def test_settings_file_values_shown():
    write_settings(json.dumps({"port": 18000, "auto_read": False}))
    check = settings_check(inspect_settings(paths.settings_path()))
    assert check.verdict == "info"
    assert "port 18000, auto-read off, photo on" in check.summary


def test_invalid_json_reported_not_moved():
    write_settings("{not json")
    check = settings_check(inspect_settings(paths.settings_path()))
    assert check.verdict == "warning"
    assert "not a valid JSON object" in check.summary
    assert paths.settings_path().read_text(encoding="utf-8") == "{not json"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (
            {"port": True},
            "'port' is true, but it must be a whole number from 1 to 65535, so "
            "the default 17432 applies",
        ),
        ({"port": 70000}, "'port' is 70000, but it must be a whole number"),
        (
            {"auto_read": 1},
            "'auto_read' is 1, but it must be true or false, so the default true",
        ),
        (
            {"read_timeout": 1000},
            "'read_timeout' is 1000, but it must be a number of seconds from 1 to "
            "60, so the default 10.0 applies",
        ),
        ({"read_timeout": "10"}, "'read_timeout' is the string \"10\", but"),
        (
            {"allowed_origins": ["ftp://x.example"]},
            "'ftp://x.example' in 'allowed_origins' is ignored: it is not an http",
        ),
        (
            {"allowed_origins": ["https://*.x.example"]},
            "'https://*.x.example' in 'allowed_origins' is ignored: wildcards",
        ),
        (
            {"blocked_origins": ["http://localhost:18150"]},
            "'http://localhost:18150' in 'blocked_origins' is ignored: pages on this",
        ),
        ({"blocked_origins": "https://x.example"}, "'blocked_origins' is a string"),
    ],
)
def test_invalid_setting_value_named(settings, named):
    write_settings(json.dumps(settings))
    view = inspect_settings(paths.settings_path())
    check = settings_check(view)
    assert check.verdict == "warning"
    assert named in check.summary


def test_settings_with_byte_order_mark_are_valid():
    paths.settings_path().parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"port": 18000, "allowed_origins": ["https://clinic.example"]})
    paths.settings_path().write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    view = inspect_settings(paths.settings_path())
    check = settings_check(view)
    assert view.problems == ()
    assert view.settings.allowed_origins == ("https://clinic.example",)
    assert check.verdict == "info"
    assert "port 18000" in check.summary


def test_valid_settings_have_no_problems():
    write_settings(
        json.dumps(
            {
                "port": 18000,
                "auto_read": True,
                "read_timeout": 5,
                "allowed_origins": ["https://clinic.example/"],
                "unknown_key": 1,
            }
        )
    )
    assert inspect_settings(paths.settings_path()).problems == ()


# Logs, web sites, start at login


def test_logs_location_reported():
    check = logs_check(paths.log_dir())
    assert check.verdict == "info"
    assert str(paths.log_dir()) in check.summary


def test_log_folder_under_file_is_problem(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    check = logs_check(blocker / "logs")
    assert check.verdict == "problem"
    assert check.summary == (
        f"the log folder {blocker / 'logs'} cannot be written (Not a directory), "
        "and trayagent does not start without it."
    )
    assert check.fix.startswith(f"{blocker} is a file, not a folder: move or rename")
    assert "TRAYAGENT_LOG_DIR" in check.fix


def test_no_allowed_sites_explains_how():
    check = web_sites_check(Settings())
    assert "no web site is allowed yet" in check.summary
    assert "trayagent origins allow" in check.summary


def test_windows_commands_name_console_program(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    settings = Settings(blocked_origins=("https://evil.example",))
    summary = web_sites_check(settings).summary
    assert "run: trayagent-cli.exe origins allow https://SITE." in summary
    assert "(run trayagent-cli.exe origins remove https://SITE" in summary
    fix = failed_check("Readers", "KeyError").fix
    assert "trayagent-cli.exe doctor prints them to the error output" in fix


def test_allowed_and_blocked_sites_listed():
    settings = Settings(
        allowed_origins=("https://clinic.example",),
        blocked_origins=("https://evil.example",),
    )
    check = web_sites_check(settings)
    assert "allowed: https://clinic.example." in check.summary
    assert "Blocked: https://evil.example" in check.summary
    assert check.details == {
        "allowed": ["https://clinic.example"],
        "blocked": ["https://evil.example"],
    }


def test_autostart_disabled_is_warning():
    check = autostart_check()
    assert check.verdict == "warning"
    assert "trayagent autostart enable" in check.fix


def test_autostart_enabled_is_ok():
    autostart.enable()
    assert autostart_check().verdict == "ok"


def test_autostart_error_is_warning(monkeypatch):
    def fail():
        raise AutostartError("Cannot read /x: permission denied; fix the folder")

    monkeypatch.setattr(agent_checks, "get_status", fail)
    check = autostart_check()
    assert check.verdict == "warning"
    assert check.fix == "Cannot read /x: permission denied; fix the folder"


def test_autostart_advice_used_as_fix(monkeypatch):
    status = AutostartStatus(
        False, "disabled in Task Manager", "HKCU\\Run", "Switch it on."
    )
    monkeypatch.setattr(agent_checks, "get_status", lambda: status)
    assert autostart_check().fix == "Switch it on."


# Browser


def test_browser_address_uses_port():
    checks = browser_checks(18000)
    assert checks[0].summary.startswith(
        "web apps must connect to ws://127.0.0.1:18000/ws"
    )


def test_browser_hints_name_policies():
    chrome = browser_checks(17432, ("https://clinic.example",))[1]
    assert "LocalNetworkAccessAllowedForUrls" in chrome.summary
    assert "LoopbackNetworkAllowedForUrls" in chrome.summary
    assert chrome.details["policy_urls"] == ["https://clinic.example"]


def test_browser_hints_are_info():
    assert {check.verdict for check in browser_checks(17432)} == {"info"}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["/opt/trayagent/trayagent"], True),
        (["C:\\Program Files\\trayagent\\trayagent.exe"], True),
        (["/usr/bin/python3", "/home/a/.venv/bin/trayagent", "--headless"], True),
        (["/home/a/.venv/bin/trayagent-tray"], True),
        (["python3", "-m", "trayagent", "--headless"], True),
        (["/home/trayagent/.venv/bin/python", "-m", "pytest"], False),
        (["python3", "-m"], False),
        (["bash"], False),
    ],
)
def test_agent_command_recognised(arguments, expected):
    assert is_agent_command(arguments) is expected
