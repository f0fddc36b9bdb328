"""A card connection over PC/SC, implementing ``CardConnection``.

Used on a card-read thread only; the connection owns a PC/SC context of its
own. It connects in shared mode and always leaves the card powered
(``SCARD_LEAVE_CARD``): pyscard's default disposition powers the card off,
which resets it for every other program using it.
"""

import contextlib
import logging
import threading
from collections.abc import Iterator

from smartcard import scard

from ..card.errors import (
    CardError,
    CardRemovedError,
    CardUnresponsiveError,
    TransientCardError,
)
from . import scard as pcsc
from .scard import PcscError

logger = logging.getLogger(__name__)

_TRANSIENT = frozenset(
    {
        scard.SCARD_W_RESET_CARD,
        scard.SCARD_E_NOT_TRANSACTED,
        scard.SCARD_E_COMM_DATA_LOST,
        scard.SCARD_W_UNPOWERED_CARD,
        scard.SCARD_E_SHARING_VIOLATION,
    }
)
_REMOVED = frozenset({scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD})
_UNRESPONSIVE = frozenset({scard.SCARD_W_UNRESPONSIVE_CARD})

# Milliseconds a reconnect first waits for the reader to report a removal.
# A card pulled out mid-read makes the next exchange fail before the service
# reports the removal: at once with a USB reader, after up to 400 ms with
# pcsc-lite's polled drivers. Waiting for that change, rather than retrying
# at once, turns the failure into CARD_REMOVED instead of a spent retry.
REMOVAL_WAIT_MS = 500


class ServiceLostError(CardError):
    """The PC/SC service stopped while the card was being read."""

    code = "SERVICE_UNAVAILABLE"


class ReadCancelledError(CardError):
    """The read was abandoned at its time limit, or the agent is stopping."""


class PcscCardConnection:
    """The card of one insertion in one reader.

    :param reader: the PC/SC reader name.
    :param counter: the reader's event counter when the card was inserted.
        Every failure and every reconnect checks it again, so that a card
        swapped for another is never taken for the first one.
    :param cancelled: set when the read is abandoned at its time limit or
        the agent shuts down; the next exchange then raises instead of
        talking to the card.
    """

    def __init__(self, reader: str, counter: int, cancelled: threading.Event) -> None:
        self.reader = reader
        self._counter = counter
        self._cancelled = cancelled
        self._context: int | None = None
        self._card: int | None = None
        self._protocol = 0
        self._atr = b""

    @property
    def atr(self) -> bytes:
        """The ATR the card gave when the connection was made."""
        return self._atr

    def open(self) -> None:
        """Establish a context and connect to the card in shared mode.

        :raises CardRemovedError, CardUnresponsiveError, TransientCardError,
            ServiceLostError, CardError: as the failure requires.
        """
        try:
            self._context = pcsc.establish_context()
        except PcscError as error:
            raise self._convert(error) from error
        self._connect()

    def close(self) -> None:
        """Disconnect, leaving the card powered, and release the context."""
        if self._card is not None:
            result = scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            if result != scard.SCARD_S_SUCCESS:
                logger.debug("SCardDisconnect: %s", pcsc.describe(result))
            self._card = None
        if self._context is not None:
            pcsc.release_context(self._context)
            self._context = None

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU; see ``CardConnection.transmit``."""
        if self._cancelled.is_set():
            raise ReadCancelledError("The read was cancelled")
        result, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if result != scard.SCARD_S_SUCCESS:
            raise self._convert(PcscError("SCardTransmit", result))
        if len(response) < 2:
            raise TransientCardError("SCardTransmit returned no status word")
        data = bytes(response[:-2])
        sw = (response[-2] << 8) | response[-1]
        return data, sw

    def reconnect(self) -> None:
        """Reconnect in shared mode after a reset, leaving the card powered.

        :raises CardRemovedError: the reader reports the card removed or
            replaced, now or within ``REMOVAL_WAIT_MS``.
        """
        self._wait_for_removal()
        if self._card is None:
            self._connect()
            return
        result, protocol = scard.SCardReconnect(
            self._card, scard.SCARD_SHARE_SHARED, pcsc.PROTOCOLS, scard.SCARD_LEAVE_CARD
        )
        if result != scard.SCARD_S_SUCCESS:
            error = self._convert(PcscError("SCardReconnect", result))
            if isinstance(error, TransientCardError):
                # The handle itself is unusable; start over with a new one.
                self._drop_handle()
                self._connect()
                return
            raise error
        self._protocol = protocol
        self._require_same_insertion()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold a PC/SC transaction so no other program's APDUs interleave."""
        result = scard.SCardBeginTransaction(self._card)
        if result != scard.SCARD_S_SUCCESS:
            raise self._convert(PcscError("SCardBeginTransaction", result))
        try:
            yield
        finally:
            if self._card is not None:
                result = scard.SCardEndTransaction(self._card, scard.SCARD_LEAVE_CARD)
                if result != scard.SCARD_S_SUCCESS:
                    logger.debug("SCardEndTransaction: %s", pcsc.describe(result))

    def _connect(self) -> None:
        result, card, protocol = scard.SCardConnect(
            self._context, self.reader, scard.SCARD_SHARE_SHARED, pcsc.PROTOCOLS
        )
        if result != scard.SCARD_S_SUCCESS:
            raise self._convert(PcscError("SCardConnect", result))
        self._card = card
        self._protocol = protocol
        result, _reader, _state, _protocol, atr = scard.SCardStatus(card)
        if result != scard.SCARD_S_SUCCESS:
            raise self._convert(PcscError("SCardStatus", result))
        self._atr = bytes(atr)
        self._require_same_insertion()

    def _drop_handle(self) -> None:
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None

    def _wait_for_removal(self) -> None:
        """Block until the reader's state changes, or ``REMOVAL_WAIT_MS`` passes."""
        try:
            event = pcsc.read_state(self._context, self.reader)
            if pcsc.is_present(event) and event.counter == self._counter:
                pcsc.get_status_change(
                    self._context, REMOVAL_WAIT_MS, [(self.reader, event.state)]
                )
        except PcscError as error:
            if error.result != scard.SCARD_E_TIMEOUT:
                raise self._convert(error) from error
        self._require_same_insertion()

    def _require_same_insertion(self) -> None:
        if not self._same_insertion():
            raise CardRemovedError("The card was removed or replaced during the read")

    def _same_insertion(self) -> bool:
        try:
            event = pcsc.read_state(self._context, self.reader)
        except PcscError:
            return False
        return pcsc.is_present(event) and event.counter == self._counter

    def _convert(self, error: PcscError) -> CardError:
        """Map a PC/SC failure to the card error the reading sequence expects."""
        result = error.result
        if result in pcsc.SERVICE_LOST:
            converted: CardError = ServiceLostError(str(error))
        elif result in _REMOVED:
            # pcsc-lite also reports a removed card after another program's
            # reset; the card is still there then, and a retry succeeds.
            if self._context is not None and self._same_insertion():
                converted = TransientCardError(str(error))
            else:
                converted = CardRemovedError(str(error))
        elif result in _UNRESPONSIVE:
            converted = CardUnresponsiveError(str(error))
        elif result in _TRANSIENT:
            converted = TransientCardError(str(error))
        else:
            converted = CardError(str(error))
        converted.__cause__ = error
        return converted
