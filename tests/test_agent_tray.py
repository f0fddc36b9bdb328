"""The agent's side of the tray: the start-up snapshot and a tray that fails.

The agent runs in this process with the built-in simulated reader and a real
server. Only the tray is a recording stand-in. That way a test can make a
change at an exact point of the tray's creation, or make its loop fail.
"""

import signal
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from e2e.support import free_port, handshake_status, run

import trayagent.tray
from trayagent.app import EXIT_OK, Agent, RunOptions
from trayagent.settings import Settings
from trayagent.status import AgentStatus

WAIT_SECONDS = 10.0
UNKNOWN_SITE = "https://new.example"
# Agent.run() installs handlers for these; the fixture puts back pytest's.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RecordingTray:
    """A tray that records each status it is given and runs until stopped."""

    def __init__(self, status: AgentStatus, failure: Exception | None = None) -> None:
        self.statuses = [status]
        self.failure = failure
        self.running = threading.Event()
        self.stopped = threading.Event()

    def update(self, status: AgentStatus) -> None:
        self.statuses.append(status)

    def notify(self, title: str, text: str) -> None:
        pass

    def run(self) -> None:
        self.running.set()
        if self.failure is not None:
            raise self.failure
        self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


def wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def agent(tmp_path) -> Iterator[Agent]:
    settings = Settings(port=free_port())
    previous = {number: signal.getsignal(number) for number in SIGNALS}
    options = RunOptions(simulate=True)
    yield Agent(settings, settings, tmp_path / "settings.json", options)
    for number, handler in previous.items():
        signal.signal(number, handler)


def run_agent_until(agent: Agent, done: Callable[[], bool]) -> tuple[int, bool]:
    """Run the agent on this thread until ``done()``; return its status and done()."""
    finished = []

    def stop_when_done() -> None:
        finished.append(wait_until(done))
        agent.stop()

    watcher = threading.Thread(target=stop_when_done, name="test-watcher")
    watcher.start()
    status = agent.run()
    watcher.join()
    return status, finished[0]


def test_change_during_tray_creation_reaches_tray(agent, monkeypatch):
    trays: list[RecordingTray] = []

    def create_tray(controller, status):
        # A change reported while pystray is imported, applied on the loop
        # before the tray exists.
        controller.set_auto_read(False)
        applied = threading.Event()
        agent.server.call_soon(applied.set)
        applied.wait(WAIT_SECONDS)
        trays.append(RecordingTray(status))
        return trays[0]

    monkeypatch.setattr(trayagent.tray, "create_tray", create_tray)
    status, shown = run_agent_until(
        agent, lambda: bool(trays) and trays[0].statuses[-1].auto_read is False
    )
    assert status == EXIT_OK
    assert trays[0].statuses[0].auto_read is True
    assert shown


def test_failing_tray_loop_falls_back_to_headless(agent, monkeypatch, caplog):
    answers: list[int] = []

    def create_tray(controller, status):
        return RecordingTray(status, RuntimeError("tray loop failed"))

    def serves_headless() -> bool:
        if "running headless" not in caplog.text:
            return False
        # The fallback is queued on the loop; this marker runs after it.
        applied = threading.Event()
        agent.server.call_soon(applied.set)
        applied.wait(WAIT_SECONDS)
        url = f"ws://127.0.0.1:{agent.server.port}/ws"
        answers.append(run(handshake_status(url, Origin=UNKNOWN_SITE)))
        return True

    monkeypatch.setattr(trayagent.tray, "create_tray", create_tray)
    status, served = run_agent_until(agent, serves_headless)
    assert status == EXIT_OK
    assert served
    # Without a tray nobody can allow a site, so unknown sites are rejected.
    assert answers == [403]
