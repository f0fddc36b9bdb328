"""One read of one card insertion, and the events it publishes.

Runs on a ``card-read-N`` thread that the card source (the PC/SC monitor or
the simulated reader) starts for the read. The job opens the connection it
is given, runs the card layer's reading sequence, and publishes
``ReadStarted``, ``CardRead``, ``PhotoRead``, then ``LaserRead`` and
``NhsoRead`` when those reads are on, or ``CardReadFailed``, and last
``ReadFinished``.

A ``read-deadline-N`` timer thread enforces the read's time limit from
outside, because a PC/SC call can block with no limit of its own. pcsc-lite
keeps ``SCardConnect`` and ``SCardBeginTransaction`` waiting for as long as
another program holds a transaction on the card, and ``SCardCancel`` does
not wake them. When the limit passes, the timer publishes the
``READ_TIMEOUT`` failure and ``ReadFinished`` itself and abandons the read
thread, whose later events are dropped.
"""

import concurrent.futures
import itertools
import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from .card.connection import CardConnection
from .card.errors import CardError, TransientCardError
from .card.laser import read_laser_id
from .card.model import PersonalData, Photo
from .card.nhso import read_nhso
from .card.reader import read_card
from .card.session import RetryBudget
from .events import (
    CardRead,
    CardReadFailed,
    LaserRead,
    MonitorEvent,
    NhsoRead,
    PhotoRead,
    ReadFinished,
    ReadStarted,
)

logger = logging.getLogger(__name__)

TIMEOUT_CODE = "READ_TIMEOUT"  # the error code of a read past its time limit

# Numbers every read in the process, so the server can tell a late event of
# one read from the next read of the same card.
_READ_NUMBERS = itertools.count(1)


@dataclass(frozen=True)
class ReadOptions:
    """The parts a read fetches and its time limit.

    :param timeout: the time limit in seconds of each step: the connection,
        personal data and photo together, then each optional read alone.
    """

    auto_read: bool = True
    include_photo: bool = True
    timeout: float = 10.0
    read_laser_id: bool = False
    read_nhso: bool = False


@dataclass(frozen=True)
class ReadOutcome:
    """The end of a read: ``code`` is ``None`` on success.

    ``remembered`` marks the stored result of an earlier read of the same
    insertion, given without sending the card anything.
    """

    reader: str
    code: str | None = None
    remembered: bool = False


class ReadFuture(concurrent.futures.Future[ReadOutcome]):
    """The future of a read, with the read's number.

    :param read: the number that the read's ``ReadStarted`` and
        ``ReadFinished`` carry, or 0 when no read started.
    """

    def __init__(self, read: int = 0) -> None:
        super().__init__()
        self.read = read


def finished_read(outcome: ReadOutcome) -> ReadFuture:
    """Return a finished future with the ``outcome`` of a read that never started."""
    future = ReadFuture()
    future.set_result(outcome)
    return future


class OpenableConnection(CardConnection, Protocol):
    """A card connection that the read job opens first and closes last."""

    def open(self) -> None:
        """Connect to the card; raises ``CardError`` subclasses."""
        ...

    def close(self) -> None:
        """Disconnect, leaving the card powered; never raises."""
        ...


@dataclass
class ReadJob:
    """A read of one insertion.

    Every event goes out through :meth:`_emit`, which drops it once the job
    has ended, so a read abandoned at its time limit publishes nothing more.

    :param connection: the card's connection, not yet opened. It must stop
        talking to the card once ``cancelled`` is set.
    :param publish: receives the events; called on the job's thread and on
        its deadline timer.
    :param cancelled: set when the read is abandoned or the source stops.
    """

    reader: str
    insertion: int
    connection: OpenableConnection
    options: ReadOptions
    publish: Callable[[MonitorEvent], None]
    cancelled: threading.Event = field(default_factory=threading.Event)
    read: int = field(default_factory=lambda: next(_READ_NUMBERS), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _ended: bool = field(default=False, init=False)
    _timer: threading.Timer | None = field(default=None, init=False)
    # Called with the timeout's outcome on the deadline timer thread;
    # start_read_thread sets it to end the read's future.
    on_timeout: Callable[[ReadOutcome], None] = field(
        default=lambda outcome: None, init=False
    )

    def run(self) -> ReadOutcome | None:
        """Read the card and publish what happens; never raises ``CardError``.

        :return: how the read ended, or ``None`` when the deadline timer
            ended it first and already reported the timeout.
        """
        self._emit(
            ReadStarted(
                self.reader, self.insertion, self.options.include_photo, self.read
            )
        )
        started = time.monotonic()
        try:
            self._arm_deadline(
                CardReadFailed(self.reader, self.insertion, TIMEOUT_CODE)
            )
            self._open_connection()
            result = read_card(
                self.connection,
                include_photo=self.options.include_photo,
                on_personal=lambda personal: self._on_personal(personal, started),
                timeout=self.options.timeout,
            )
        except CardError as error:
            logger.warning(
                "Reading the card in %s failed: %s (%s)",
                self.reader,
                error.code,
                type(error).__name__,
            )
            logger.debug("Read failure detail: %s", error)
            outcome = ReadOutcome(self.reader, error.code)
        except Exception:
            logger.exception("Reading the card in %s failed unexpectedly", self.reader)
            outcome = ReadOutcome(self.reader, "READ_FAILED")
        else:
            outcome = ReadOutcome(self.reader)
            if self.options.include_photo:
                self._publish_photo(result.photo, started)
            self._read_optional()
        finally:
            self.connection.close()

        if outcome.code is not None:
            self._emit(CardReadFailed(self.reader, self.insertion, outcome.code))
        return outcome if self._finish() else None

    def _open_connection(self) -> None:
        """Open the connection, retrying transient failures like a read part.

        Another program's exclusive connection (a sharing violation) or its
        reset of the card makes the first connect fail for a moment, so the
        connect gets the retries and window of :class:`RetryBudget`. Each
        retry goes through ``reconnect``, which first waits briefly for the
        reader's state to change.
        """
        retries = RetryBudget("card", time.monotonic)
        try:
            self.connection.open()
            return
        except TransientCardError as error:
            retries.spend("connect", error)
        while True:
            try:
                self.connection.reconnect()
                return
            except TransientCardError as error:
                retries.spend("connect", error)

    def _read_optional(self) -> None:
        """Read the laser code and the NHSO data when they are switched on.

        Each runs after the personal data and the photo were delivered, in
        a transaction of its own, so a failure only yields its own message
        with null data and a reason, and never touches what was already
        sent. An unexpected exception gives the reason ``READ_FAILED``. Each
        gets a time limit of its own, like the card read.
        """
        optional = (
            (self.options.read_laser_id, read_laser_id, LaserRead, "laser ID"),
            (self.options.read_nhso, read_nhso, NhsoRead, "NHSO data"),
        )
        for wanted, read, event_type, name in optional:
            if not wanted:
                continue
            self._arm_deadline(
                event_type(self.reader, self.insertion, None, 0.0, TIMEOUT_CODE)
            )
            started = time.monotonic()
            try:
                data = read(self.connection, timeout=self.options.timeout)
            except CardError as error:
                logger.info(
                    "Reading the %s from %s failed: %s", name, self.reader, error.code
                )
                logger.debug("Optional read failure detail: %s", error)
                self._emit(
                    event_type(self.reader, self.insertion, None, 0.0, error.code)
                )
                continue
            except Exception:
                # The card layer puts no personal data in exception messages,
                # so the traceback may go to the log.
                logger.exception(
                    "Reading the %s from %s failed unexpectedly", name, self.reader
                )
                self._emit(
                    event_type(self.reader, self.insertion, None, 0.0, "READ_FAILED")
                )
                continue
            seconds = time.monotonic() - started
            logger.info("Read the %s from %s in %.2f s", name, self.reader, seconds)
            self._emit(event_type(self.reader, self.insertion, data, seconds))

    def _on_personal(self, personal: PersonalData, started: float) -> None:
        seconds = time.monotonic() - started
        logger.info("Card read from %s in %.2f s", self.reader, seconds)
        self._emit(CardRead(self.reader, self.insertion, personal, seconds))

    def _publish_photo(self, photo: Photo | None, started: float) -> None:
        seconds = time.monotonic() - started
        error_code = None if photo is not None and photo.jpeg else "PHOTO_INVALID"
        self._emit(PhotoRead(self.reader, self.insertion, photo, seconds, error_code))
        logger.info("Photo read from %s in %.2f s", self.reader, seconds)

    # The deadline

    def _emit(self, event: MonitorEvent) -> None:
        """Publish ``event`` unless the job has ended."""
        with self._lock:
            if not self._ended:
                self.publish(event)

    def _arm_deadline(self, failure: MonitorEvent) -> None:
        """Start the time limit of the next step; ``failure`` reports its expiry."""
        timer = threading.Timer(self.options.timeout, self._expire, (failure,))
        timer.name = f"read-deadline-{self.insertion}"
        # A daemon, so a timer that is still waiting never delays the exit.
        timer.daemon = True
        with self._lock:
            if self._ended:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = timer
        timer.start()

    def _expire(self, failure: MonitorEvent) -> None:
        """End the job with ``failure`` when the step it was armed for still runs."""
        with self._lock:
            if self._ended or self._timer is not threading.current_thread():
                return
            self._ended = True
            self.cancelled.set()
            logger.warning(
                "Reading the card in %s timed out after %.1f s; abandoning the read",
                self.reader,
                self.options.timeout,
            )
            self.publish(failure)
            self.publish(ReadFinished(self.reader, self.insertion, self.read))
        self.on_timeout(ReadOutcome(self.reader, TIMEOUT_CODE))

    def _finish(self) -> bool:
        """Publish ``ReadFinished`` and return ``True``, unless the deadline did."""
        with self._lock:
            if self._ended:
                return False
            self._ended = True
            if self._timer is not None:
                self._timer.cancel()
            self.publish(ReadFinished(self.reader, self.insertion, self.read))
            return True

    def cancel(self) -> None:
        """Make the connection stop at its next exchange with the card."""
        self.cancelled.set()


def start_read_thread(
    job: ReadJob,
    future: "concurrent.futures.Future[ReadOutcome]",
    jobs: MutableMapping[threading.Thread, ReadJob],
    lock: AbstractContextManager[object],
) -> None:
    """Run ``job`` on a ``card-read-N`` thread that ends ``future`` with its outcome.

    The future ends with ``READ_TIMEOUT`` as soon as the job's time limit
    passes, even while the thread is still blocked in a PC/SC call. The
    thread is added to ``jobs`` (call with ``lock`` held) and removes itself
    when it ends, so the card source can cancel and join every read on stop.
    """

    def end(outcome: ReadOutcome) -> None:
        if not future.done():
            future.set_result(outcome)

    def run() -> None:
        try:
            outcome = job.run()
            if outcome is not None:
                end(outcome)
        except BaseException as error:  # the future must always end
            if not future.done():
                future.set_exception(error)
            raise
        finally:
            with lock:
                jobs.pop(threading.current_thread(), None)

    job.on_timeout = end
    # A daemon, because the thread may stay blocked in a PC/SC call that no
    # other thread can interrupt (see the module docstring). Its read is
    # abandoned at the deadline, and the process must still exit on stop.
    thread = threading.Thread(
        target=run, name=f"card-read-{job.insertion}", daemon=True
    )
    jobs[thread] = job
    thread.start()
