"""The doctor against the real stack: pcscd, vpcd, simulated cards, the agent.

Each state is set up for real and the doctor runs in this process, or in a
subprocess where the environment of the PC/SC library must differ. Every
report is checked in both forms for its verdicts and for the absence of the
fictional person's details.
"""

import json
import os
import socket
import subprocess
import sys
import threading

import pytest
from e2e.conftest import assert_no_personal_data
from e2e.support import free_port

from pcsc_stack import wait_for_card, wait_for_reader_state
from trayagent import __version__, autostart, paths
from trayagent.doctor import DoctorReport, main, run_checks
from trayagent.simcard import PEOPLE, SimulatedCard

pytestmark = pytest.mark.pcsc

READER0 = "Test Reader 00 00"
READER1 = "Test Reader 00 01"
JAIDEE = PEOPLE["jaidee"]
SELECT = "00A4040008A000000054480001"

# Seconds a doctor subprocess may take; it probes a port for up to 1 s.
SUBPROCESS_TIMEOUT = 30


def check(report: DoctorReport, name: str):
    """Return the report's check called ``name``."""
    matches = [check for check in report.checks if check.name == name]
    assert len(matches) == 1, [check.name for check in report.checks]
    return matches[0]


def verdict(report: DoctorReport, name: str) -> str:
    return check(report, name).verdict


def assert_clean(report: DoctorReport) -> None:
    """Fail if either form of the report shows a fictional person's details."""
    assert_no_personal_data(report.to_text())
    assert_no_personal_data(json.dumps(report.to_json(), ensure_ascii=False))


def run_doctor(**environment: str) -> subprocess.CompletedProcess:
    """Run ``trayagent doctor --json`` in a subprocess with extra variables."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import trayagent.doctor as d; raise SystemExit(d.main(True))",
        ],
        env=dict(os.environ, **environment),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )


def insert(slot, card: SimulatedCard, reader: str = READER0) -> None:
    slot.insert(card)
    wait_for_card(reader)


def test_pcscd_not_running(pcsc_stack):
    pcsc_stack.stop()
    report = run_checks()
    service = check(report, "PC/SC service")
    assert service.verdict == "problem"
    assert service.summary.startswith("pcscd is installed but not running")
    assert "systemctl enable --now pcscd.socket" in service.fix
    assert service.details["result"] == "SCARD_E_NO_SERVICE"
    assert verdict(report, "Readers") == "info"
    assert verdict(report, "Card") == "info"
    assert report.healthy is False
    assert_clean(report)


def test_pcscd_not_running_exit_status(pcsc_stack, capsys):
    pcsc_stack.stop()
    assert main(as_json=True) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["healthy"] is False
    assert document["checks"][0]["verdict"] == "problem"


def test_no_card(pcsc_stack):
    report = run_checks()
    assert verdict(report, "PC/SC service") == "ok"
    readers = check(report, "Readers")
    assert readers.verdict == "ok"
    assert readers.summary == f"2 readers: {READER0} (empty), {READER1} (empty)."
    card = check(report, "Card")
    assert card.verdict == "info"
    assert card.summary.startswith("no card that answers is in a reader")
    assert_clean(report)


def test_thai_card_gets_only_select(slot0):
    card = SimulatedCard(JAIDEE)
    insert(slot0, card)
    report = run_checks()
    result = check(report, f"Card in {READER0}")
    assert result.verdict == "ok"
    assert result.summary.startswith("Thai national ID card")
    assert card.atr.hex(" ").upper() in result.summary
    assert result.details["sw"] == "610A"
    assert result.details["select_ms"] is not None
    assert check(report, "Readers").summary.startswith(
        f"2 readers: {READER0} (card present)"
    )
    assert card.apdu_log != []
    assert set(card.apdu_log) == {SELECT}
    assert_clean(report)


def test_thai_card_text_output(slot0, capsys):
    card = SimulatedCard(JAIDEE, "real")
    insert(slot0, card)
    main(as_json=False)
    text = capsys.readouterr().out
    assert f"OK      Card in {READER0}: Thai national ID card" in text
    assert set(card.apdu_log) == {SELECT}
    assert_no_personal_data(text)


def test_non_thai_card(slot0):
    card = SimulatedCard(JAIDEE, "non-thai")
    insert(slot0, card)
    report = run_checks()
    result = check(report, f"Card in {READER0}")
    assert result.verdict == "problem"
    assert result.summary.startswith("not a Thai national ID card")
    assert "SW=0x6A82 (FILE_NOT_FOUND)" in result.summary
    assert "Insert a Thai national ID card" in result.fix
    assert set(card.apdu_log) == {SELECT}
    assert report.healthy is False
    assert_clean(report)


def test_mute_card_warned_and_not_sent_anything(slot1):
    card = SimulatedCard(JAIDEE, "mute")
    slot1.insert(card)
    wait_for_reader_state(
        READER1, lambda state: "MUTE" in state.describe().split("|"), 5.0, "a mute card"
    )
    report = run_checks()
    readers = check(report, "Readers")
    assert readers.verdict == "warning"
    assert f"{READER1} (mute card)" in readers.summary
    assert "chip first" in readers.fix
    assert verdict(report, "Card") == "info"
    assert card.apdu_log == []
    assert_clean(report)


def test_agent_running(start_agent, monkeypatch):
    agent = start_agent()
    monkeypatch.setenv("TRAYAGENT_CONFIG_DIR", str(agent.config_dir))
    monkeypatch.setenv("TRAYAGENT_LOG_DIR", str(agent.log_dir))
    report = run_checks()
    running = check(report, "Agent")
    assert running.verdict == "ok"
    assert running.summary == (
        f"trayagent {__version__} is running on port {agent.port} "
        "(the settings say 17432)."
    )
    assert running.details["lock_pid"] == agent.process.pid
    assert verdict(report, "Port") == "ok"
    assert check(report, "Web address").summary.startswith(
        f"web apps must connect to ws://127.0.0.1:{agent.port}/ws"
    )
    assert_clean(report)


def test_agent_running_with_thai_card(start_agent, slot0, monkeypatch):
    agent = start_agent()
    monkeypatch.setenv("TRAYAGENT_CONFIG_DIR", str(agent.config_dir))
    card = SimulatedCard(JAIDEE)
    insert(slot0, card)
    report = run_checks()
    assert verdict(report, "Agent") == "ok"
    assert verdict(report, f"Card in {READER0}") == "ok"
    assert_clean(report)


def test_healthy_pc_exits_with_zero(start_agent, slot0):
    # A Thai card in a reader, the agent running, start at login on: the
    # state the doctor calls healthy, through the real command line.
    agent = start_agent()
    autostart.enable()
    insert(slot0, SimulatedCard(JAIDEE))
    completed = subprocess.run(
        [sys.executable, "-m", "trayagent", "doctor"],
        env=dict(
            os.environ,
            TRAYAGENT_CONFIG_DIR=str(agent.config_dir),
            TRAYAGENT_LOG_DIR=str(agent.log_dir),
        ),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[-1] == "Result: no problems found."
    assert not any(line.startswith(("PROBLEM", "WARNING")) for line in lines)
    assert f"OK      Card in {READER0}: Thai national ID card" in completed.stdout
    assert lines[0].startswith("OK      PC/SC service:")
    assert completed.stderr == ""
    assert_no_personal_data(completed.stdout)


def test_port_taken_by_other_program(pcsc_stack):
    port = free_port()
    paths.settings_path().write_text(json.dumps({"port": port}), encoding="utf-8")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        report = run_checks()
    assert verdict(report, "Agent") == "problem"
    taken = check(report, "Port")
    assert taken.verdict == "problem"
    assert taken.summary.startswith(f"port {port} is taken by ")
    assert f"(process {os.getpid()})" in taken.summary
    assert str(paths.settings_path()) in taken.fix
    assert check(report, "Web address").summary.startswith(
        f"web apps must connect to ws://127.0.0.1:{port}/ws"
    )
    assert_clean(report)


def test_library_looking_elsewhere(pcsc_stack, tmp_path):
    # PCSCLITE_CSOCK_NAME makes the client library look for another socket,
    # as a second pcsc-lite built with another ipcdir does.
    completed = run_doctor(PCSCLITE_CSOCK_NAME=str(tmp_path / "nowhere.comm"))
    assert completed.returncode == 1, completed.stderr
    service = json.loads(completed.stdout)["checks"][0]
    assert service["verdict"] == "problem"
    assert service["summary"].startswith("pcscd is running, but trayagent cannot")
    assert "PCSCLITE_CSOCK_NAME is set to" in service["fix"]
    assert_no_personal_data(completed.stdout)


class ClosingSocket:
    """A Unix socket that closes every connection at once, as pcscd does when
    polkit refuses a client the action access_pcsc."""

    def __init__(self, path) -> None:
        self.path = path
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen()
        self._thread = threading.Thread(target=self._serve, name="closing-socket")

    def __enter__(self) -> "ClosingSocket":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join()

    def _serve(self) -> None:
        while True:
            try:
                connection, _address = self._server.accept()
            except OSError:
                return
            connection.close()


def test_connection_closed_before_accepting(pcsc_stack, tmp_path):
    # The client library meets a daemon that hangs up before answering
    # CMD_VERSION, as pcscd does when polkit refuses the client. The doctor
    # blames polkit only when pcscd asks it about this user, and names the
    # variable that redirected the library either way.
    with ClosingSocket(tmp_path / "closing.comm") as closing:
        completed = run_doctor(PCSCLITE_CSOCK_NAME=str(closing.path))
    assert completed.returncode == 1, completed.stderr
    service = json.loads(completed.stdout)["checks"][0]
    assert service["verdict"] == "problem"
    # libpcsclite 1.9.9 and later report SECURITY_VIOLATION, older ones
    # COMM_ERROR; either reports NO_SERVICE when the socket closes before
    # the library has sent its first message, which depends on scheduling.
    assert service["details"]["result"] in {
        "SCARD_W_SECURITY_VIOLATION",
        "SCARD_F_COMM_ERROR",
        "SCARD_E_NO_SERVICE",
    }
    assert service["details"]["effective_uid"] == os.geteuid()
    polkit_checked = service["details"]["polkit_checked"]
    assert ("polkit" in service["summary"]) is polkit_checked
    assert "PCSCLITE_CSOCK_NAME is set to" in service["fix"]


def test_pcscd_facts_of_running_daemon(pcsc_stack):
    report = run_checks()
    details = check(report, "PC/SC service").details
    arguments = details["pcscd_arguments"]
    assert arguments is not None
    assert str(pcsc_stack.config_dir) in arguments
    assert details["pcscd_process"] is True
