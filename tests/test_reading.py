"""The read job: connect retries and the time limit, on the simulated card."""

import threading

from test_simulator import Recorder

from trayagent import events
from trayagent.card.errors import TransientCardError
from trayagent.reading import ReadFuture, ReadJob, ReadOptions, start_read_thread
from trayagent.simcard import PEOPLE, SimulatedCard
from trayagent.simulator import SimulatedConnection

WAIT_SECONDS = 10.0


def simulated_card() -> SimulatedCard:
    return SimulatedCard(PEOPLE["jaidee"])


class FlakyConnection(SimulatedConnection):
    """A simulated connection whose first connects fail as a sharing violation does."""

    def __init__(self, failures: int) -> None:
        self.cancelled = threading.Event()
        card = simulated_card()
        super().__init__(card, threading.Event(), self.cancelled, threading.Lock())
        self.failures = failures
        self.connects = 0

    def open(self) -> None:
        self._connect()

    def reconnect(self) -> None:
        self._connect()

    def _connect(self) -> None:
        self.connects += 1
        if self.failures:
            self.failures -= 1
            raise TransientCardError("SCardConnect failed: sharing violation")
        super().open()


class BlockedConnection(SimulatedConnection):
    """A simulated connection whose connect blocks until released."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.card = simulated_card()
        super().__init__(self.card, threading.Event(), self.cancelled, threading.Lock())
        self.release = threading.Event()

    def open(self) -> None:
        self.release.wait(WAIT_SECONDS)
        super().open()


def run_job(connection, timeout: float = 10.0):
    """Start a read over ``connection``; return the recorder, future and thread."""
    recorder = Recorder()
    options = ReadOptions(timeout=timeout)
    job = ReadJob(
        "Reader A", 1, connection, options, recorder.publish, connection.cancelled
    )
    future = ReadFuture(job.read)
    jobs: dict[threading.Thread, ReadJob] = {}
    start_read_thread(job, future, jobs, threading.Lock())
    return recorder, future, next(iter(jobs), None)


def test_transient_connect_is_retried():
    connection = FlakyConnection(failures=2)
    recorder, future, _thread = run_job(connection)

    outcome = future.result(WAIT_SECONDS)
    assert outcome.code is None
    assert connection.connects == 3
    recorder.wait_for(events.CardRead)
    recorder.wait_for(events.ReadFinished)


def test_connect_retries_run_out():
    connection = FlakyConnection(failures=10)
    recorder, future, _thread = run_job(connection)

    outcome = future.result(WAIT_SECONDS)
    assert outcome.code == "READ_FAILED"
    assert connection.connects == 4  # the first try and three retries
    recorder.wait_for(events.CardReadFailed, code="READ_FAILED")


def test_blocked_read_ends_at_time_limit():
    connection = BlockedConnection()
    recorder, future, thread = run_job(connection, timeout=0.2)

    outcome = future.result(WAIT_SECONDS)
    assert outcome.code == "READ_TIMEOUT"
    assert thread.daemon
    assert thread.is_alive()  # still blocked in its connect
    connection.release.set()
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    # Released, the abandoned read sent nothing and published nothing more.
    assert connection.card.apdu_log == []
    assert recorder.kinds() == ["ReadStarted", "CardReadFailed", "ReadFinished"]
