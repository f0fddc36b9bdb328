"""The ``trayagent origins`` command and the single-instance check."""

import json
import os
import subprocess
import sys

import pytest

from .support import free_port, handshake_status, run

pytestmark = pytest.mark.pcsc


def trayagent(*args: str, config_dir, log_dir) -> subprocess.CompletedProcess:
    environment = dict(os.environ)
    environment["TRAYAGENT_CONFIG_DIR"] = str(config_dir)
    environment["TRAYAGENT_LOG_DIR"] = str(log_dir)
    environment.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "trayagent", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_origins_without_agent_edits_settings(tmp_path):
    config, logs = tmp_path / "config", tmp_path / "logs"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"port": free_port()}))
    allowed = trayagent(
        "origins",
        "allow",
        "HTTPS://Clinic.Example:443/",
        config_dir=config,
        log_dir=logs,
    )
    invalid = trayagent("origins", "allow", "ftp://x", config_dir=config, log_dir=logs)
    listed = trayagent("origins", "list", config_dir=config, log_dir=logs)
    saved = json.loads((config / "settings.json").read_text())
    assert allowed.returncode == 0, allowed.stderr
    assert "applies when trayagent starts" in allowed.stdout
    assert saved["allowed_origins"] == ["https://clinic.example"]
    assert invalid.returncode == 2
    assert "not an http or https origin" in invalid.stderr
    assert "Allowed: https://clinic.example" in listed.stdout


def test_origins_with_running_agent_applies_at_once(start_agent):
    agent = start_agent()
    before = run(handshake_status(agent.ws_url, Origin="https://clinic.example"))
    result = trayagent(
        "origins",
        "allow",
        "https://clinic.example",
        config_dir=agent.config_dir,
        log_dir=agent.log_dir,
    )
    after = run(handshake_status(agent.ws_url, Origin="https://clinic.example"))
    assert before == 403
    assert result.returncode == 0, result.stderr
    assert "the running agent applied it" in result.stdout
    assert after == 101


def test_second_agent_exits_and_names_the_first(start_agent):
    agent = start_agent()
    second = trayagent(
        "--headless",
        "--port",
        str(agent.port),
        config_dir=agent.config_dir,
        log_dir=agent.log_dir,
    )
    assert second.returncode == 0
    assert "trayagent is already running" in second.stderr
    assert f"port {agent.port}" in second.stderr


def test_port_taken_by_other_program(tmp_path):
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = trayagent(
            "--headless",
            "--port",
            str(port),
            config_dir=tmp_path / "config",
            log_dir=tmp_path / "logs",
        )
    assert result.returncode == 3
    assert f"Port {port} is used by another program" in result.stderr
    assert "--port" in result.stderr
    log = (tmp_path / "logs" / "trayagent.log").read_text()
    assert f"Port {port} is used by another program" in log
    assert "Traceback" not in log
