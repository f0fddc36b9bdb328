"""A simulated reader with simulated Thai ID cards, used instead of PC/SC.

``trayagent --simulate`` runs the agent with :class:`SimulatedReader` as its
card source, so web developers can work without a reader, pcscd or a card.
The reader has the same interface and event semantics as the PC/SC monitor
(:class:`trayagent.pcsc.monitor.Monitor`). Its reads go through the real
card layer, because :class:`trayagent.reading.ReadJob` sends APDUs over an
in-process connection to a :class:`trayagent.simcard.SimulatedCard`. So the
agent serves exactly what a read of that card through a real reader gives.

:meth:`SimulatedReader.insert` and :meth:`SimulatedReader.remove` run on the
caller's thread (the server's, for the REST routes). Each read runs on a
``card-read-N`` thread of its own. Only the agent's simulate mode imports
this module, because it imports the simulated card package and, through it,
Pillow.
"""

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from .card.errors import CardError, CardRemovedError, NotThaiIdCardError
from .events import (
    CardInserted,
    CardMute,
    CardRemoved,
    MonitorEvent,
    ReaderAdded,
    ServiceChanged,
)
from .reading import (
    ReadFuture,
    ReadJob,
    ReadOptions,
    ReadOutcome,
    finished_read,
    start_read_thread,
)
from .simcard import PEOPLE, PROFILES, SimulatedCard
from .status import ServiceState

logger = logging.getLogger(__name__)

SIMULATED_READER = "trayagent Simulated Reader"

DEFAULT_CARD = "jaidee"

# Card timing: "real" spends about 15 ms per APDU and 90 µs per response
# byte, an estimate of a real card in a USB reader (about 1.5 s per read).
DEFAULT_PROFILE = "real"

# The status word a "read-error" card gives to READ BINARY. 6F00 means "no
# precise diagnosis", which a retry cannot help, so the read ends with
# READ_FAILED.
READ_ERROR_SW = 0x6F00
READ_BINARY_PREFIX = bytes.fromhex("80 B0")

# Insertion numbers are unique in the process, like the PC/SC monitor's, so
# data read from one insertion is never taken for another one's.
_insertions = itertools.count(1)
_insertions_lock = threading.Lock()


@dataclass(frozen=True)
class CardSpec:
    """One card that can be inserted into the simulated reader.

    :param key: the name used by :meth:`SimulatedReader.insert` and the REST API.
    :param description: what the card shows a developer, with no personal data.
    :param person: the key of the fictional card holder in ``PEOPLE``.
    :param profile: the simulated card's profile name in ``PROFILES``.
    :param read_error: every read's first READ BINARY returns
        :data:`READ_ERROR_SW`.
    """

    key: str
    description: str
    person: str = DEFAULT_CARD
    profile: str = "fast"
    read_error: bool = False

    @property
    def mute(self) -> bool:
        """Whether the card gives no ATR."""
        return PROFILES[self.profile].mute


_PERSON_DESCRIPTIONS = {
    "jaidee": "Bangkok address (แขวง, เขต), no middle name",
    "rakdee": "a middle name, and a rural address with หมู่ที่, ตำบล and อำเภอ",
    "sukjai": "birth date known by year only",
    "mankhong": "lifetime card, a long address and a 5110-byte photo",
}

TEST_CARDS: dict[str, CardSpec] = {
    card.key: card
    for card in (
        *(
            CardSpec(
                key,
                "Fictional card holder: " + _PERSON_DESCRIPTIONS.get(key, key),
                person=key,
            )
            for key in PEOPLE
        ),
        CardSpec(
            "non-thai",
            "A card without the Thai ID applet: gives NOT_THAI_ID_CARD",
            profile="non-thai",
        ),
        CardSpec(
            "read-error",
            "A Thai ID card whose READ BINARY fails with 6F00: gives READ_FAILED",
            read_error=True,
        ),
        CardSpec(
            "mute",
            "A card that gives no ATR, as when inserted the wrong way round: "
            "gives CARD_UNRESPONSIVE",
            profile="mute",
        ),
    )
}
"""Every card of the simulated reader by key: each person in ``PEOPLE``,
then the faulty cards."""


class ReadCancelledError(CardError):
    """The read was abandoned at its time limit, or the agent is stopping."""


class SimulatedConnection:
    """An in-process connection to one insertion's simulated card.

    Implements :class:`trayagent.reading.OpenableConnection`. Each APDU goes
    to :meth:`SimulatedCard.process` and then waits for the card profile's
    response delay, which a removal cuts short.

    :param removed: set when the card of this insertion leaves the reader.
    :param stopping: set when the read is abandoned or the agent stops.
    """

    def __init__(
        self,
        card: SimulatedCard,
        removed: threading.Event,
        stopping: threading.Event,
        lock: threading.Lock,
    ) -> None:
        self._card = card
        self._removed = removed
        self._stopping = stopping
        self._lock = lock

    @property
    def atr(self) -> bytes:
        """The simulated card's ATR."""
        return self._card.atr

    def open(self) -> None:
        """Connect; raises :class:`CardRemovedError` once the card has left."""
        self._check()

    def close(self) -> None:
        """Disconnect; there is nothing to release."""

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU to the card; see ``CardConnection.transmit``."""
        self._check()
        exchange = self._card.process(apdu)
        response = exchange.response
        if response is None or len(response) < 2:
            raise CardRemovedError("The simulated card left during an APDU")
        delay = self._card.profile.response_delay(len(response))
        if delay > 0 and self._removed.wait(delay):
            raise CardRemovedError("The simulated card was removed during an APDU")
        return response[:-2], int.from_bytes(response[-2:], "big")

    def reconnect(self) -> None:
        """Connect again; raises :class:`CardRemovedError` once the card has left."""
        self._check()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the card for the block, as a PC/SC transaction does."""
        with self._lock:
            yield

    def _check(self) -> None:
        if self._stopping.is_set():
            raise ReadCancelledError("The read was cancelled")
        if self._removed.is_set():
            raise CardRemovedError("The simulated card was removed")


@dataclass
class _Insertion:
    """The card in the reader; changed under the reader's lock."""

    number: int
    test_card: CardSpec
    card: SimulatedCard
    removed: threading.Event
    transaction_lock: threading.Lock
    job: ReadFuture | None = None
    # The code of a read that showed the card is not a Thai ID card.
    rejection: str | None = None


class SimulatedReader:
    """One simulated reader, :data:`SIMULATED_READER`, with room for one card.

    The same card source interface as :class:`trayagent.pcsc.monitor.Monitor`.

    :param publish: receives every :data:`~trayagent.events.MonitorEvent`;
        called on the threads that call :meth:`start`, :meth:`insert` and
        :meth:`remove`, and on the card-read threads.
    :param options: returns the current read options; called at each
        insertion and read request.
    :param profile: the timing of the people's cards, a profile name of
        ``trayagent.simcard.PROFILES``: ``"real"`` (about 1.5 s per read) or
        ``"fast"`` (no delay).
    """

    def __init__(
        self,
        publish: Callable[[MonitorEvent], None],
        options: Callable[[], ReadOptions],
        *,
        profile: str = DEFAULT_PROFILE,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"Unknown card profile {profile!r}")
        self._publish = publish
        self._options = options
        self._timing = PROFILES[profile]
        # Reentrant, because events are published under the lock to keep
        # their order, and a synchronous publisher may call back in.
        self._lock = threading.RLock()
        self._started = False
        self._insertion: _Insertion | None = None
        self._stopping = threading.Event()
        self._read_jobs: dict[threading.Thread, ReadJob] = {}

    def start(self) -> None:
        """Announce the service and the reader, as the monitor does when it starts."""
        with self._lock:
            if self._started:
                return
            self._started = True
            logger.info("Simulated reader attached: %s", SIMULATED_READER)
            self._publish(ServiceChanged(ServiceState.AVAILABLE, None))
            self._publish(ReaderAdded(SIMULATED_READER))

    def stop(self, timeout: float = 1.0) -> None:
        """Stop reads at their next APDU and join every read thread."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            jobs = dict(self._read_jobs)
        for job in jobs.values():
            job.cancel()
        threads = list(jobs)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            logger.warning("Simulated reads did not stop within %.1f s", timeout)
        logger.info("Simulated reader stopped")

    @property
    def inserted(self) -> str | None:
        """The key of the card in the reader, or ``None``."""
        with self._lock:
            insertion = self._insertion
            return insertion.test_card.key if insertion is not None else None

    def available_cards(self) -> list[dict[str, str]]:
        """Return ``{"key", "description"}`` for each card that can be inserted."""
        return [
            {"key": card.key, "description": card.description}
            for card in TEST_CARDS.values()
        ]

    def insert(self, card: str = DEFAULT_CARD) -> None:
        """Insert the test card ``card``, removing the card already in first.

        Publishes ``CardInserted`` (``CardMute`` for the mute card) and, when
        auto-read is on, starts a read.

        :raises ValueError: ``card`` is not a key of :data:`TEST_CARDS`.
        """
        test_card = TEST_CARDS.get(card)
        if test_card is None:
            known = ", ".join(TEST_CARDS)
            raise ValueError(f"Unknown test card {card!r}; known: {known}")
        simulated = self._build_card(test_card)
        with self._lock:
            self._remove_locked()
            number = _next_insertion()
            insertion = _Insertion(
                number, test_card, simulated, threading.Event(), threading.Lock()
            )
            self._insertion = insertion
            if test_card.mute:
                logger.warning("Simulated card %s gives no ATR", card)
                self._publish(CardMute(SIMULATED_READER, number))
                return
            logger.info("Simulated card inserted: %s", card)
            self._publish(CardInserted(SIMULATED_READER, number, simulated.atr))
            if self._options().auto_read:
                self._start_read(insertion)

    def remove(self) -> None:
        """Remove the card, if any; a read in progress ends with CARD_REMOVED."""
        with self._lock:
            self._remove_locked()

    def request_read(self, reader: str) -> ReadFuture:
        """Read the card in ``reader`` now, or join the read already running.

        Safe to call from any thread. The future ends with a
        :class:`ReadOutcome`; its ``code`` is ``NO_CARD``, ``UNKNOWN_READER``
        or ``CARD_UNRESPONSIVE`` when no read could start, and the
        remembered ``NOT_THAI_ID_CARD`` when an earlier read of this
        insertion found that the card is not a Thai ID card.
        """
        with self._lock:
            if not self._started or reader != SIMULATED_READER:
                return finished_read(ReadOutcome(reader, "UNKNOWN_READER"))
            insertion = self._insertion
            if insertion is None:
                return finished_read(ReadOutcome(reader, "NO_CARD"))
            if insertion.test_card.mute:
                return finished_read(ReadOutcome(reader, "CARD_UNRESPONSIVE"))
            if insertion.rejection is not None:
                outcome = ReadOutcome(reader, insertion.rejection, remembered=True)
                return finished_read(outcome)
            return self._start_read(insertion)

    def readers_with_card(self) -> list[str]:
        """Return the readers that contain a card with an ATR."""
        with self._lock:
            insertion = self._insertion
            if insertion is None or insertion.test_card.mute:
                return []
            return [SIMULATED_READER]

    # Cards

    def _build_card(self, test_card: CardSpec) -> SimulatedCard:
        profile = PROFILES[test_card.profile]
        if not profile.mute:
            profile = replace(
                profile,
                apdu_delay=self._timing.apdu_delay,
                byte_delay=self._timing.byte_delay,
            )
        return SimulatedCard(PEOPLE[test_card.person], profile)

    def _remove_locked(self) -> None:
        insertion, self._insertion = self._insertion, None
        if insertion is None:
            return
        insertion.removed.set()
        logger.info("Simulated card removed: %s", insertion.test_card.key)
        self._publish(CardRemoved(SIMULATED_READER, insertion.number))

    # Reads

    def _start_read(self, insertion: _Insertion) -> ReadFuture:
        """Start a read of the insertion unless one runs; call under the lock."""
        if insertion.job is not None and not insertion.job.done():
            return insertion.job
        if insertion.test_card.read_error:
            insertion.card.answer_once(READ_ERROR_SW, prefix=READ_BINARY_PREFIX)
        cancelled = threading.Event()
        if self._stopping.is_set():
            cancelled.set()
        connection = SimulatedConnection(
            insertion.card,
            insertion.removed,
            cancelled,
            insertion.transaction_lock,
        )
        job = ReadJob(
            SIMULATED_READER,
            insertion.number,
            connection,
            self._options(),
            self._publish,
            cancelled,
        )
        future = ReadFuture(job.read)
        insertion.job = future
        # Added before the thread starts, so the callback never runs here
        # under the lock.
        future.add_done_callback(lambda done: _remember_rejection(insertion, done))
        start_read_thread(job, future, self._read_jobs, self._lock)
        return future


def _next_insertion() -> int:
    with _insertions_lock:
        return next(_insertions)



def _remember_rejection(insertion: _Insertion, future: ReadFuture) -> None:
    """Store a NOT_THAI_ID_CARD outcome on the insertion; runs on the read thread."""
    if future.exception() is not None:
        return
    if future.result().code == NotThaiIdCardError.code:
        insertion.rejection = NotThaiIdCardError.code
