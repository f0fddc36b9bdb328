"""Reading one applet's file in transactions, with bounded retries.

Runs on the thread that reads the card; nothing here is shared between
threads. :class:`AppletSession` is applet-neutral: the personal sequence in
:mod:`trayagent.card.reader` uses one, and other Thai ID applets that answer
the same READ BINARY can use their own.

A part of a read (the text fields, the photo) is a callable that resumes
where it stopped. When it raises :class:`TransientCardError`, the session
leaves the transaction, reconnects, opens a new transaction, SELECTs the
applet again and calls the part once more, within :data:`MAX_RETRIES` and
:data:`RETRY_WINDOW`, with no sleep between attempts.
"""

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from trayagent.card.apdu import get_response_p2, read_binary_apdu, transmit_chained
from trayagent.card.connection import CardConnection
from trayagent.card.errors import (
    ApduError,
    CardError,
    CardReadTimeoutError,
    NotThaiIdCardError,
    TransientCardError,
)
from trayagent.card.sw import describe_sw

logger = logging.getLogger(__name__)

# Retries per part, and the time in seconds after a part's first transient
# failure during which a retry may still start.
MAX_RETRIES = 3
RETRY_WINDOW = 3.0

# Status words returned by READ BINARY or GET RESPONSE after a successful
# SELECT that show another program's SELECT replaced our applet in between.
DESELECTED_SWS = frozenset((0x6986, 0x6985, 0x6A82, 0x6D00, 0x6E00, 0x6881))

Clock = Callable[[], float]
Selector = Callable[[CardConnection], None]


class TimedConnection:
    """A :class:`CardConnection` that raises once a time limit has passed.

    The limit is checked before each APDU and reconnect, so a slow card makes
    the read fail between two commands, never in the middle of one.
    """

    def __init__(self, conn: CardConnection, clock: Clock, timeout: float) -> None:
        self._conn = conn
        self._clock = clock
        self._timeout = timeout
        self._started = clock()

    @property
    def atr(self) -> bytes:
        """The card's answer to reset."""
        return self._conn.atr

    def elapsed(self) -> float:
        """Return the seconds since the connection was wrapped."""
        return self._clock() - self._started

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send an APDU unless the time limit has passed.

        :raises CardReadTimeoutError: the time limit has passed.
        """
        self._check_deadline()
        return self._conn.transmit(apdu)

    def reconnect(self) -> None:
        """Reconnect unless the time limit has passed.

        :raises CardReadTimeoutError: the time limit has passed.
        """
        self._check_deadline()
        self._conn.reconnect()

    def transaction(self) -> AbstractContextManager[None]:
        """Hold an exclusive PC/SC transaction for the ``with`` block."""
        return self._conn.transaction()

    def _check_deadline(self) -> None:
        elapsed = self.elapsed()
        if elapsed > self._timeout:
            raise CardReadTimeoutError(
                f"Card read timed out: {elapsed:.1f} s exceeds {self._timeout:.1f} s"
            )


class AppletSession:
    """Reads parts of one applet's file, each in a transaction of its own.

    Windows resets a card when a transaction sees no operation for more than
    five seconds (Microsoft's SCardBeginTransaction documentation), so no
    transaction stays open while the caller runs other code between parts.
    Each transaction starts with a SELECT, because another program may select
    a different applet between two transactions, and the NHSO applet answers
    the same READ BINARY with its own data.

    :param select: sends the SELECT; its errors pass through unchanged on the
        first SELECT, so a card that is not a Thai ID card is reported as
        such. Once the applet has been selected, a rejected SELECT counts as
        transient.
    """

    def __init__(self, conn: CardConnection, select: Selector, clock: Clock) -> None:
        self._conn = conn
        self._select = select
        self._clock = clock
        self._get_response_p2 = get_response_p2(conn.atr)
        self._selected_once = False
        self._step = "SELECT"

    def run(self, part: str, work: Callable[[], None]) -> None:
        """Run ``work`` in a transaction after a SELECT, retrying transient errors.

        ``work`` must resume where an earlier call stopped.

        :param part: a name for log lines and errors, for example ``"text fields"``.
        :raises CardError: a retry limit was reached; its cause is the last
            transient error.
        """
        retries = RetryBudget(part, self._clock)
        reconnect = False
        while True:
            try:
                if reconnect:
                    self._conn.reconnect()
                with self._conn.transaction():
                    self._select_applet()
                    work()
                return
            except TransientCardError as error:
                retries.spend(self._step, error)
                reconnect = True

    def read_binary(self, what: str, offset: int, length: int) -> bytes:
        """READ BINARY ``length`` bytes at ``offset`` and return at most that many.

        A card that returns fewer bytes than requested is not an error here,
        so the caller decides. A status word that shows the applet was deselected
        raises :class:`TransientCardError`.

        :param what: the field, used in log lines and errors.
        :raises ApduError: the card rejected the read.
        """
        self._step = what
        try:
            data = transmit_chained(
                self._conn,
                read_binary_apdu(offset, length),
                what=what,
                get_response_p2=self._get_response_p2,
            )
        except ApduError as error:
            if error.sw in DESELECTED_SWS:
                raise TransientCardError(
                    f"{what}: {describe_sw(error.sw)} shows the applet was deselected"
                ) from error
            raise
        logger.debug("READ BINARY %s: %d bytes, SW=9000", what, len(data))
        return data[:length]

    def _select_applet(self) -> None:
        self._step = "SELECT"
        try:
            self._select(self._conn)
        except (ApduError, NotThaiIdCardError) as error:
            if not self._selected_once:
                raise
            raise TransientCardError(
                f"SELECT rejected after the applet was selected: {type(error).__name__}"
            ) from error
        self._selected_once = True


class RetryBudget:
    """Counts the retries of one part and raises when they run out.

    :param part: a name for log lines and errors, for example ``"text fields"``.
    """

    def __init__(self, part: str, clock: Clock) -> None:
        self._part = part
        self._clock = clock
        self._retries = 0
        self._first_failure: float | None = None

    def spend(self, step: str, error: TransientCardError) -> None:
        """Count and log one retry, or raise CardError when none is left."""
        now = self._clock()
        if self._first_failure is None:
            self._first_failure = now
        if self._retries >= MAX_RETRIES or now - self._first_failure > RETRY_WINDOW:
            sw = _status_word(error)
            reason = type(error).__name__ if sw is None else describe_sw(sw)
            raise CardError(
                f"Reading the {self._part} failed at {step} after "
                f"{self._retries + 1} attempts: {reason}"
            ) from error
        self._retries += 1
        logger.warning(
            "Retrying the %s (retry %d of %d) after %s at %s: %s",
            self._part,
            self._retries,
            MAX_RETRIES,
            type(error).__name__,
            step,
            error,
        )


def _status_word(error: BaseException) -> int | None:
    """Return the status word behind a transient error, if a card returned one."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ApduError):
            return cause.sw
        cause = cause.__cause__
    return None
