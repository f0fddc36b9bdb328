"""The PC/SC monitor thread and the card-read threads it starts.

The ``pcsc-monitor`` thread owns one PC/SC context and blocks in
``SCardGetStatusChange`` with an infinite timeout over every reader plus the
``\\\\?PnP?\\Notification`` pseudo-reader, so cards and readers are seen
without polling. Where the service has no such pseudo-reader (macOS), the
wait ends every ``PNP_FALLBACK_TIMEOUT_MS`` to list the readers again.

Each read runs on a ``card-read-N`` thread of its own with its own context,
so a slow card in one reader never delays the events of another. Events
reach the event loop through the ``publish`` callable, which must be safe
to call from any thread.
"""

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from smartcard import scard

from ..card.errors import NotThaiIdCardError
from ..events import (
    CardInserted,
    CardMute,
    CardRemoved,
    MonitorEvent,
    MonitorFailed,
    ReaderAdded,
    ReaderRemoved,
    ServiceChanged,
)
from ..reading import (
    ReadFuture,
    ReadJob,
    ReadOptions,
    ReadOutcome,
    finished_read,
    start_read_thread,
)
from ..status import ServiceState
from . import scard as pcsc
from .connection import PcscCardConnection
from .scard import PcscError, ReaderEvent

logger = logging.getLogger(__name__)

# Waits between attempts to reach a missing PC/SC service, in seconds.
SERVICE_RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)

# Where the service has no PnP pseudo-reader (macOS), the wait ends after
# this many milliseconds only to list the readers again.
PNP_FALLBACK_TIMEOUT_MS = 2000

# Seconds between two SCardCancel calls while the monitor is stopping.
STOP_CANCEL_INTERVAL = 0.05


@dataclass
class _Slot:
    """The monitor's record of one reader.

    The monitor thread alone writes ``state``. Every other field changes
    under the monitor's lock, because ``request_read`` and the read threads
    read or write it.
    """

    state: int = scard.SCARD_STATE_UNAWARE
    insertion: int | None = None
    counter: int = 0
    mute: bool = False  # the card gave no ATR
    job: ReadFuture | None = None
    # The error code of a read that found the card is not a Thai ID card.
    # Later read requests get this code, and no command goes to the card.
    rejection: str | None = None


class Monitor:
    """Watch every PC/SC reader and read Thai ID cards as they arrive.

    :param publish: receives every :data:`~trayagent.events.MonitorEvent`;
        called on the monitor and card-read threads.
    :param options: returns the current read options; called on the
        monitor thread at each insertion and on the calling thread of
        :meth:`request_read`.
    """

    def __init__(
        self,
        publish: Callable[[MonitorEvent], None],
        options: Callable[[], ReadOptions],
    ) -> None:
        self._publish = publish
        self._options = options
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        self._insertions = itertools.count(1)
        self._stopping = threading.Event()
        self._context: int | None = None
        self._service: tuple[ServiceState, str | None] | None = None
        self._read_jobs: dict[threading.Thread, ReadJob] = {}
        self._retry_delays = _service_retry_delays()
        self._thread = threading.Thread(target=self._run, name="pcsc-monitor")

    def start(self) -> None:
        """Start the monitor thread."""
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Wake the blocked wait with ``SCardCancel`` and join every thread.

        Reads in progress stop at their next APDU. A read blocked in a PC/SC
        call is abandoned after ``timeout``.
        """
        self._stopping.set()
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            # SCardCancel only wakes a wait that is already blocked. The
            # monitor may be between two waits, about to block again, so
            # cancel until the thread has seen the stop flag and left.
            with self._lock:
                if self._context is not None:
                    pcsc.cancel(self._context)
            self._thread.join(STOP_CANCEL_INTERVAL)
        with self._lock:
            jobs = list(self._read_jobs.items())
        for _thread, job in jobs:
            job.cancel()
        for thread, _job in jobs:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            logger.warning("The PC/SC monitor did not stop within %.1f s", timeout)
        stuck = sum(thread.is_alive() for thread, _job in jobs)
        if stuck:
            # Their threads are daemons blocked in a PC/SC call, so the
            # process still exits.
            logger.warning("Abandoning %d card reads blocked in PC/SC", stuck)

    def request_read(self, reader: str) -> ReadFuture:
        """Read the card in ``reader`` now, or join the read already running.

        Safe to call from any thread. The future ends with a
        :class:`ReadOutcome`; its ``code`` is ``NO_CARD``, ``UNKNOWN_READER``
        or ``CARD_UNRESPONSIVE`` when no read could start, and the
        remembered ``NOT_THAI_ID_CARD`` when an earlier read of this
        insertion found that the card is not a Thai ID card.
        """
        with self._lock:
            slot = self._slots.get(reader)
            if slot is None:
                return finished_read(ReadOutcome(reader, "UNKNOWN_READER"))
            if slot.insertion is None:
                return finished_read(ReadOutcome(reader, "NO_CARD"))
            if slot.mute:
                return finished_read(ReadOutcome(reader, "CARD_UNRESPONSIVE"))
            if slot.rejection is not None:
                outcome = ReadOutcome(reader, slot.rejection, remembered=True)
                return finished_read(outcome)
            return self._start_read(reader, slot)

    def readers_with_card(self) -> list[str]:
        """Return the readers that hold a card that answers, in list order."""
        with self._lock:
            return [
                name
                for name, slot in self._slots.items()
                if slot.insertion is not None and not slot.mute
            ]

    # The monitor thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._watch()
            except PcscError as error:
                self._on_service_error(error)
            except Exception as error:
                logger.exception("The PC/SC monitor hit an unexpected error; going on")
                self._drop_context()
                self._publish(MonitorFailed(type(error).__name__))
            if not self._stopping.is_set() and self._context is None:
                self._stopping.wait(next(self._retry_delays))
        self._drop_context()
        logger.info("PC/SC monitor stopped")

    def _watch(self) -> None:
        """Establish a context and wait for changes until it fails or we stop."""
        context = pcsc.establish_context()
        with self._lock:
            self._context = context
        if self._stopping.is_set():
            return
        pnp_state = scard.SCARD_STATE_UNAWARE
        pnp_supported = True
        first_list = True
        while not self._stopping.is_set():
            readers = pcsc.list_readers(context)
            self._sync_readers(readers)
            if first_list:
                # The service listed readers on the new context, so the outage is
                # over and the next one starts again at the shortest delay.
                # The readers are announced first, so clients that see the
                # service available never see a passing "no readers" state.
                first_list = False
                self._retry_delays = _service_retry_delays()
                self._set_service(ServiceState.AVAILABLE, None)
            states = [(name, self._slots[name].state) for name in readers]
            if pnp_supported:
                states.append((pcsc.PNP_NOTIFICATION, pnp_state))
                timeout = scard.INFINITE
            else:
                timeout = PNP_FALLBACK_TIMEOUT_MS
            try:
                events = pcsc.get_status_change(context, timeout, states)
            except PcscError as error:
                if error.result == scard.SCARD_E_CANCELLED:
                    return
                if error.result == scard.SCARD_E_TIMEOUT:
                    continue
                if error.result == scard.SCARD_E_UNKNOWN_READER:
                    continue  # a reader left between the list and the wait
                raise
            for event in events:
                if event.reader == pcsc.PNP_NOTIFICATION:
                    if event.state & scard.SCARD_STATE_UNKNOWN:
                        logger.info(
                            "This PC/SC service has no reader notifications; "
                            "listing readers every %d ms instead",
                            PNP_FALLBACK_TIMEOUT_MS,
                        )
                        pnp_supported = False
                    pnp_state = event.state
                else:
                    self._on_reader_event(event)

    def _sync_readers(self, readers: list[str]) -> None:
        added = [name for name in readers if name not in self._slots]
        removed = [name for name in self._slots if name not in readers]
        for name in removed:
            self._forget_reader(name)
        for name in added:
            with self._lock:
                self._slots[name] = _Slot()
            logger.info("Reader attached: %s", name)
            self._publish(ReaderAdded(name))

    def _forget_reader(self, name: str) -> None:
        with self._lock:
            slot = self._slots.pop(name)
        if slot.insertion is not None:
            self._publish(CardRemoved(name, slot.insertion))
        logger.info("Reader detached: %s", name)
        self._publish(ReaderRemoved(name))

    def _on_reader_event(self, event: ReaderEvent) -> None:
        with self._lock:
            slot = self._slots.get(event.reader)
        if slot is None:
            return  # not listed, so it is not in the next wait either
        if pcsc.is_gone(event):
            # Feed the state back all the same, or the next wait returns at
            # once with the same change and the loop spins. A card in a reader
            # that became unavailable cannot be read any more.
            if slot.insertion is not None:
                self._end_insertion(event.reader, slot)
            slot.state = event.state
            return
        first_look = slot.state == scard.SCARD_STATE_UNAWARE
        # The counter changes on every insertion and removal, so a card swapped
        # for another between two waits, even one with the same ATR, ends the
        # old insertion here although the reader never looked empty.
        ended = slot.insertion is not None and (
            not pcsc.is_present(event) or event.counter != slot.counter
        )
        if ended:
            self._end_insertion(event.reader, slot)
        if pcsc.is_present(event) and (ended or slot.insertion is None):
            self._begin_insertion(event, slot, first_look)
        slot.state = event.state

    def _end_insertion(self, reader: str, slot: _Slot) -> None:
        insertion = slot.insertion
        assert insertion is not None
        with self._lock:
            slot.insertion = None
            slot.job = None
            slot.mute = False
            slot.rejection = None
        logger.info("Card removed from %s", reader)
        self._publish(CardRemoved(reader, insertion))

    def _begin_insertion(
        self, event: ReaderEvent, slot: _Slot, first_look: bool
    ) -> None:
        insertion = next(self._insertions)
        mute = pcsc.is_mute(event)
        with self._lock:
            slot.insertion = insertion
            slot.counter = event.counter
            slot.mute = mute
        if mute:
            if first_look:
                # A slot that is already occupied by a mute card when the agent
                # starts is almost always a SAM slot; it is not a patient's card.
                logger.info(
                    "Ignoring %s: it holds a card with no ATR (a SAM slot?)",
                    event.reader,
                )
                return
            logger.warning("Card in %s does not answer (no ATR)", event.reader)
            self._publish(CardMute(event.reader, insertion))
            return
        logger.info(
            "Card inserted in %s, ATR %s", event.reader, event.atr.hex(" ").upper()
        )
        self._publish(CardInserted(event.reader, insertion, event.atr))
        if self._options().auto_read:
            with self._lock:
                self._start_read(event.reader, slot)

    def _on_service_error(self, error: PcscError) -> None:
        self._drop_context()
        # The new service state goes out before the readers are forgotten,
        # so clients never see the reader list empty while the service still
        # counts as available, which reads as a passing "no readers" state.
        if error.result == scard.SCARD_E_NO_ACCESS:
            self._set_service(ServiceState.NO_ACCESS, "SERVICE_NO_ACCESS", error)
        else:
            self._set_service(ServiceState.UNAVAILABLE, "SERVICE_UNAVAILABLE", error)
        with self._lock:
            names = list(self._slots)
        for name in names:
            self._forget_reader(name)

    def _set_service(
        self, state: ServiceState, code: str | None, error: PcscError | None = None
    ) -> None:
        if self._service == (state, code):
            return
        self._service = (state, code)
        if state is ServiceState.AVAILABLE:
            logger.info("PC/SC service available")
        else:
            logger.warning(
                "PC/SC service %s: %s; retrying with backoff", state.value, error
            )
        self._publish(ServiceChanged(state, code))

    def _drop_context(self) -> None:
        with self._lock:
            context, self._context = self._context, None
        if context is not None:
            pcsc.release_context(context)

    # Card reads

    def _start_read(self, reader: str, slot: _Slot) -> ReadFuture:
        """Start a read of the slot's insertion unless one runs; call under the lock."""
        if slot.job is not None and not slot.job.done():
            return slot.job
        insertion = slot.insertion
        assert insertion is not None
        cancelled = threading.Event()
        if self._stopping.is_set():
            cancelled.set()
        connection = PcscCardConnection(reader, slot.counter, cancelled)
        job = ReadJob(
            reader, insertion, connection, self._options(), self._publish, cancelled
        )
        future = ReadFuture(job.read)
        slot.job = future
        # Added before the thread starts, so the callback never runs here
        # under the lock.
        future.add_done_callback(
            lambda done: self._remember_rejection(reader, insertion, done)
        )
        start_read_thread(job, future, self._read_jobs, self._lock)
        return future

    def _remember_rejection(
        self, reader: str, insertion: int, future: ReadFuture
    ) -> None:
        """Store a NOT_THAI_ID_CARD outcome for the insertion.

        Runs on the thread that ends the future: the read thread, or the
        deadline timer, whose ``READ_TIMEOUT`` is never stored.
        """
        if future.exception() is not None:
            return
        outcome = future.result()
        if outcome.code != NotThaiIdCardError.code:
            return
        with self._lock:
            slot = self._slots.get(reader)
            if slot is not None and slot.insertion == insertion:
                slot.rejection = outcome.code


def _service_retry_delays() -> Iterator[float]:
    """Return the waits of one outage: SERVICE_RETRY_DELAYS, then its last forever."""
    return itertools.chain(
        SERVICE_RETRY_DELAYS, itertools.repeat(SERVICE_RETRY_DELAYS[-1])
    )
