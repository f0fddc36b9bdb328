"""The PC/SC monitor's logic, driven through a scripted fake of our adapter.

The fake replaces ``trayagent.pcsc.scard`` (our thin layer over pyscard)
and never pyscard itself. Each wait returns the next scripted result, and once
the script is used up the wait blocks until ``SCardCancel``, as a real
infinite wait does. The reading itself is covered end to end with pcscd.
"""

import threading
from collections import deque
from collections.abc import Iterator

import pytest
from smartcard import scard
from test_simulator import Recorder

from trayagent import events
from trayagent.pcsc import monitor as monitor_module
from trayagent.pcsc import scard as pcsc
from trayagent.pcsc.monitor import Monitor
from trayagent.pcsc.scard import PcscError, ReaderEvent
from trayagent.reading import ReadOptions
from trayagent.server.hub import Hub
from trayagent.status import ServiceState

READER = "Reader A"
ATR = bytes.fromhex("3B 78 18 00 00 73 C8 40 13 00 90 00")
PRESENT = scard.SCARD_STATE_PRESENT | scard.SCARD_STATE_CHANGED
EMPTY = scard.SCARD_STATE_EMPTY | scard.SCARD_STATE_CHANGED
MUTE = PRESENT | scard.SCARD_STATE_MUTE
UNAVAILABLE = scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_CHANGED


def counted(state: int, counter: int) -> int:
    """Return ``state`` with the reader's event counter in its upper 16 bits."""
    return state | (counter << 16)


class FakePcsc:
    """Our PC/SC adapter with scripted contexts, reader lists and waits.

    :param contexts: per ``establish_context`` call, a context number or a
        PcscError to raise; once empty, contexts count up from 100.
    :param waits: per wait, ``(readers, answer)``: the reader list returned
        before the wait, then a list of ReaderEvent or a PcscError.
    """

    PNP_NOTIFICATION = pcsc.PNP_NOTIFICATION
    is_present = staticmethod(pcsc.is_present)
    is_mute = staticmethod(pcsc.is_mute)
    is_gone = staticmethod(pcsc.is_gone)

    def __init__(self, contexts=(), waits=()) -> None:
        self.contexts = deque(contexts)
        self.waits = deque(waits)
        self.readers: list[str] = []
        self.wait_states: list[list[tuple[str, int]]] = []
        self.cancelled = threading.Event()
        self.used_up = threading.Event()
        self._next_context = 100

    def establish_context(self) -> int:
        if self.contexts:
            context = self.contexts.popleft()
            if isinstance(context, Exception):
                raise context
            return context
        self._next_context += 1
        return self._next_context

    def release_context(self, context: int) -> None:
        pass

    def cancel(self, context: int) -> None:
        self.cancelled.set()

    def list_readers(self, context: int) -> list[str]:
        if self.waits:
            readers, _answer = self.waits[0]
            if isinstance(readers, Exception):
                self.waits.popleft()
                raise readers
            self.readers = list(readers)
        return list(self.readers)

    def get_status_change(self, context, timeout_ms, states):
        self.wait_states.append(list(states))
        if not self.waits:
            self.used_up.set()
            self.cancelled.wait()
            raise PcscError("SCardGetStatusChange", scard.SCARD_E_CANCELLED)
        _readers, answer = self.waits.popleft()
        if isinstance(answer, Exception):
            raise answer
        return answer


class RecordingStop(threading.Event):
    """The monitor's stop flag, noting every backoff wait instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def lost(result: int = scard.SCARD_E_NO_SERVICE) -> PcscError:
    return PcscError("SCardListReaders", result)


@pytest.fixture
def run_monitor(monkeypatch) -> Iterator:
    """Run a monitor over a FakePcsc until its script is used up."""
    monitors: list[Monitor] = []

    def run(fake: FakePcsc, recorder: Recorder, auto_read: bool = False) -> Monitor:
        monkeypatch.setattr(monitor_module, "pcsc", fake)
        monitor = Monitor(recorder.publish, lambda: ReadOptions(auto_read=auto_read))
        monitor._stopping = RecordingStop()
        monitors.append(monitor)
        monitor.start()
        assert fake.used_up.wait(10), f"script not used up: {recorder.kinds()}"
        return monitor

    yield run
    for monitor in monitors:
        monitor.stop()


def test_counter_change_is_removal_and_insertion(run_monitor):
    recorder = Recorder()
    fake = FakePcsc(
        waits=[
            ([READER], [ReaderEvent(READER, counted(PRESENT, 1), ATR)]),
            ([READER], [ReaderEvent(READER, counted(PRESENT, 3), ATR)]),
        ]
    )
    run_monitor(fake, recorder)

    kinds = recorder.kinds()
    assert kinds == [
        "ReaderAdded",
        "ServiceChanged",
        "CardInserted",
        "CardRemoved",
        "CardInserted",
    ]
    inserted = [e for e in recorder.events if isinstance(e, events.CardInserted)]
    removed = recorder.wait_for(events.CardRemoved)
    assert removed.insertion == inserted[0].insertion
    assert inserted[1].insertion != inserted[0].insertion


def test_returned_state_is_fed_back(run_monitor):
    recorder = Recorder()
    state = counted(PRESENT, 1)
    fake = FakePcsc(waits=[([READER], [ReaderEvent(READER, state, ATR)])])
    run_monitor(fake, recorder)

    first, second = fake.wait_states
    assert (READER, scard.SCARD_STATE_UNAWARE) in first
    assert (READER, state) in second


def test_mute_card_at_start_is_skipped(run_monitor):
    recorder = Recorder()
    fake = FakePcsc(
        waits=[
            ([READER], [ReaderEvent(READER, counted(MUTE, 1), b"")]),
            ([READER], [ReaderEvent(READER, counted(EMPTY, 2), b"")]),
            ([READER], [ReaderEvent(READER, counted(MUTE, 3), b"")]),
        ]
    )
    monitor = run_monitor(fake, recorder)

    mute = [e for e in recorder.events if isinstance(e, events.CardMute)]
    assert len(mute) == 1  # only the card inserted after the start
    assert monitor.readers_with_card() == []


def test_no_access_is_its_own_state(run_monitor):
    recorder = Recorder()
    fake = FakePcsc(
        contexts=[PcscError("SCardEstablishContext", scard.SCARD_E_NO_ACCESS)],
        waits=[([READER], [])],
    )
    run_monitor(fake, recorder)

    first = recorder.wait_for(events.ServiceChanged)
    assert first.state is ServiceState.NO_ACCESS
    assert first.code == "SERVICE_NO_ACCESS"
    available = recorder.wait_for(events.ServiceChanged, state=ServiceState.AVAILABLE)
    assert available.code is None


def test_no_readers_gives_service_without_readers(run_monitor):
    recorder = Recorder()
    fake = FakePcsc(waits=[([], [])])
    run_monitor(fake, recorder)

    assert recorder.kinds() == ["ServiceChanged"]
    hub = Hub()
    for event in recorder.events:
        hub.handle(event)
    assert hub.service_state == "no_readers"


def test_unexpected_error_becomes_event(run_monitor):
    recorder = Recorder()
    fake = FakePcsc(
        waits=[
            ([READER], RuntimeError("broken")),
            ([READER], [ReaderEvent(READER, counted(PRESENT, 1), ATR)]),
        ]
    )
    run_monitor(fake, recorder)

    failed = recorder.wait_for(events.MonitorFailed)
    assert failed.error_type == "RuntimeError"
    # The monitor went on: a new context saw the card.
    recorder.wait_for(events.CardInserted, reader=READER)


def test_unavailable_reader_ends_insertion(run_monitor):
    recorder = Recorder()
    unavailable = counted(UNAVAILABLE, 2)
    fake = FakePcsc(
        waits=[
            ([READER], [ReaderEvent(READER, counted(PRESENT, 1), ATR)]),
            ([READER], [ReaderEvent(READER, unavailable, b"")]),
        ]
    )
    monitor = run_monitor(fake, recorder)

    inserted = recorder.wait_for(events.CardInserted)
    removed = recorder.wait_for(events.CardRemoved)
    assert removed.insertion == inserted.insertion
    assert (READER, unavailable) in fake.wait_states[-1]
    assert monitor.readers_with_card() == []


def test_backoff_restarts_after_recovery(run_monitor):
    recorder = Recorder()
    no_service = PcscError("SCardEstablishContext", scard.SCARD_E_NO_SERVICE)
    fake = FakePcsc(
        contexts=[no_service, no_service, no_service, 1, no_service],
        waits=[([READER], lost()), ([READER], [])],
    )
    monitor = run_monitor(fake, recorder)

    delays = monitor_module.SERVICE_RETRY_DELAYS
    first_outage = list(delays[:3])
    second_outage = [delays[0], delays[1]]
    assert monitor._stopping.waits == first_outage + second_outage


def test_service_loss_sends_state_before_removals(run_monitor):
    recorder = Recorder()
    fake = FakePcsc(
        waits=[
            ([READER], [ReaderEvent(READER, counted(PRESENT, 1), ATR)]),
            ([READER], lost(scard.SCARD_E_SERVICE_STOPPED)),
        ]
    )
    run_monitor(fake, recorder)

    kinds = recorder.kinds()
    # The hub turns this order into one service message; see its tests.
    lost_at = kinds.index("ServiceChanged", kinds.index("CardInserted"))
    assert kinds[lost_at : lost_at + 3] == [
        "ServiceChanged",
        "CardRemoved",
        "ReaderRemoved",
    ]
