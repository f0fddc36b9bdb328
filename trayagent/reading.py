"""One read of one card insertion, and the events it publishes.

Runs on a ``card-read-N`` thread that the card source (the PC/SC monitor or
the simulated reader) starts for the read. The job opens the connection it
is given, runs the card layer's reading sequence, and publishes
``ReadStarted``, ``CardRead``, ``PhotoRead``, then ``LaserRead`` and
``NhsoRead`` when those reads are on, or ``CardReadFailed``, and last
``ReadFinished``.
"""

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from .card.connection import CardConnection
from .card.errors import CardError
from .card.laser import read_laser_id
from .card.model import PersonalData, Photo
from .card.nhso import read_nhso
from .card.reader import read_card
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


@dataclass(frozen=True)
class ReadOptions:
    """What a read fetches and how long it may take."""

    auto_read: bool = True
    include_photo: bool = True
    timeout: float = 10.0
    read_laser_id: bool = False
    read_nhso: bool = False


@dataclass(frozen=True)
class ReadOutcome:
    """How a read ended: ``code`` is ``None`` on success."""

    reader: str
    code: str | None = None


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

    :param connection: the card's connection, not yet opened.
    :param publish: receives the events; called on the job's thread.
    """

    reader: str
    insertion: int
    connection: OpenableConnection
    options: ReadOptions
    publish: Callable[[MonitorEvent], None]

    def run(self) -> ReadOutcome:
        """Read the card and publish what happens; never raises ``CardError``."""
        self.publish(
            ReadStarted(self.reader, self.insertion, self.options.include_photo)
        )
        started = time.monotonic()
        try:
            self.connection.open()
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
            self.publish(CardReadFailed(self.reader, self.insertion, outcome.code))
        self.publish(ReadFinished(self.reader, self.insertion))
        return outcome

    def _read_optional(self) -> None:
        """Read the laser code and the NHSO data when they are switched on.

        Each runs after the personal data and the photo were delivered, in
        a transaction of its own, so a failure only yields its own message
        with null data and a reason, and never touches what was already
        sent. An unexpected exception gives the reason ``READ_FAILED``.
        """
        optional = (
            (self.options.read_laser_id, read_laser_id, LaserRead, "laser ID"),
            (self.options.read_nhso, read_nhso, NhsoRead, "NHSO data"),
        )
        for wanted, read, event_type, name in optional:
            if not wanted:
                continue
            started = time.monotonic()
            try:
                data = read(self.connection, timeout=self.options.timeout)
            except CardError as error:
                logger.info(
                    "Reading the %s from %s failed: %s", name, self.reader, error.code
                )
                logger.debug("Optional read failure detail: %s", error)
                self.publish(
                    event_type(self.reader, self.insertion, None, 0.0, error.code)
                )
                continue
            except Exception:
                # The card layer puts no personal data in exception messages,
                # so the traceback may go to the log.
                logger.exception(
                    "Reading the %s from %s failed unexpectedly", name, self.reader
                )
                self.publish(
                    event_type(self.reader, self.insertion, None, 0.0, "READ_FAILED")
                )
                continue
            seconds = time.monotonic() - started
            logger.info("Read the %s from %s in %.2f s", name, self.reader, seconds)
            self.publish(event_type(self.reader, self.insertion, data, seconds))

    def _on_personal(self, personal: PersonalData, started: float) -> None:
        seconds = time.monotonic() - started
        logger.info("Card read from %s in %.2f s", self.reader, seconds)
        self.publish(CardRead(self.reader, self.insertion, personal, seconds))

    def _publish_photo(self, photo: Photo | None, started: float) -> None:
        seconds = time.monotonic() - started
        error_code = None if photo is not None and photo.jpeg else "PHOTO_INVALID"
        self.publish(PhotoRead(self.reader, self.insertion, photo, seconds, error_code))
        logger.info("Photo read from %s in %.2f s", self.reader, seconds)


def start_read_thread(
    job: ReadJob,
    future: "concurrent.futures.Future[ReadOutcome]",
    threads: set[threading.Thread],
    lock: AbstractContextManager[object],
) -> None:
    """Run ``job`` on a ``card-read-N`` thread that ends ``future`` with its outcome.

    The thread is added to ``threads`` (call with ``lock`` held) and removes
    itself when it ends, so the card source can join every read on stop.
    """

    def run() -> None:
        try:
            future.set_result(job.run())
        except BaseException as error:  # the future must always end
            future.set_exception(error)
            raise
        finally:
            with lock:
                threads.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=f"card-read-{job.insertion}")
    threads.add(thread)
    thread.start()
