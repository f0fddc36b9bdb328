"""``trayagent origins`` against the settings file and a running agent.

Each command runs as ``python -m trayagent`` in a subprocess with private
folders. The running agent is a real one started with ``--simulate``, so
no PC/SC service is needed.
"""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.support import agent_environment, free_port

START_TIMEOUT = 15.0
LOOPBACK_TEXT = (
    "Pages on this PC (http://localhost:*, http://127.0.0.1:* and "
    "http://[::1]:*, on any port) are always allowed."
)


def origins(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trayagent", "origins", *args],
        env=agent_environment(home),
        capture_output=True,
        text=True,
        timeout=30,
    )


def write_settings(home: Path, settings: dict) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "settings.json").write_text(json.dumps(settings))


def saved_settings(home: Path) -> dict:
    return json.loads((home / "config" / "settings.json").read_text())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Private folders whose settings name a port where no agent listens."""
    write_settings(tmp_path, {"port": free_port()})
    return tmp_path


@pytest.fixture
def agent_home(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A headless simulated agent on a free port; its folders and port."""
    port = free_port()
    settings = {"port": port, "blocked_origins": ["https://evil.example"]}
    write_settings(tmp_path, settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "trayagent", "--headless", "--simulate"],
        env=agent_environment(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"trayagent exited with {process.returncode}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "trayagent did not listen"
                time.sleep(0.05)
        yield tmp_path, port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def status_code(port: int, origin: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/status", headers={"Origin": origin}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


@pytest.mark.parametrize("action", ["allow", "block", "remove"])
@pytest.mark.parametrize(
    "origin", ["http://localhost:18150", "http://127.0.0.1", "http://[::1]:3000"]
)
def test_loopback_origin_rejected(home, action, origin):
    result = origins(home, action, origin)
    assert result.returncode == 2
    assert "is a page on this PC and needs no entry" in result.stderr
    assert LOOPBACK_TEXT in result.stderr
    assert "would protect nothing" in result.stderr
    assert result.stdout == ""
    assert "allowed_origins" not in saved_settings(home)


def test_wildcard_rejected(home):
    result = origins(home, "allow", "https://*.clinic.example")
    assert result.returncode == 2
    assert "wildcards are not supported" in result.stderr
    assert "matched exactly; list each site" in result.stderr
    assert "allowed_origins" not in saved_settings(home)


def test_port_out_of_range_named(home):
    result = origins(home, "allow", "https://clinic.example:99999")
    assert result.returncode == 2
    assert "port 99999 is out of range 1-65535" in result.stderr
    assert "not an http or https origin" not in result.stderr


def test_remove_of_unlisted_origin_fails(home):
    result = origins(home, "remove", "https://nothere.example")
    assert result.returncode == 1
    assert "https://nothere.example is not on the allowed or the blocked list" in (
        result.stderr
    )
    assert "nothing changed" in result.stderr
    assert "Removed" not in result.stdout


def test_allow_twice_says_already_allowed(home):
    first = origins(home, "allow", "https://clinic.example")
    second = origins(home, "allow", "https://clinic.example/")
    assert first.returncode == 0
    assert second.returncode == 0
    assert second.stdout == (
        "https://clinic.example is already allowed; nothing changed.\n"
    )
    assert saved_settings(home)["allowed_origins"] == ["https://clinic.example"]


def test_remove_of_listed_origin(home):
    origins(home, "block", "https://evil.example")
    result = origins(home, "remove", "https://evil.example")
    assert result.returncode == 0
    assert result.stdout.startswith("Removed https://evil.example in ")
    assert saved_settings(home)["blocked_origins"] == []


def test_running_agent_keeps_loopback_allowed(agent_home):
    home, port = agent_home
    result = origins(home, "block", "http://localhost:18150")
    listed = origins(home, "list")
    assert result.returncode == 2
    assert "the running agent applied it" not in result.stdout
    assert "Blocked: https://evil.example\n" in listed.stdout
    assert status_code(port, "http://localhost:18150") == 200


def test_running_agent_remove_unlisted_fails(agent_home):
    home, _ = agent_home
    unlisted = origins(home, "remove", "https://nothere.example")
    listed = origins(home, "remove", "https://evil.example")
    assert unlisted.returncode == 1
    assert "is not on the allowed or the blocked list" in unlisted.stderr
    assert listed.returncode == 0
    assert listed.stdout == (
        "Removed https://evil.example; the running agent applied it.\n"
    )
