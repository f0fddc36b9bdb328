"""The interface through which card code talks to a card.

The PC/SC adapter in :mod:`trayagent.pcsc` implements it with pyscard; unit
tests implement it with a scripted fake. Methods run on the reading thread.
"""

from contextlib import AbstractContextManager
from typing import Protocol


class CardConnection(Protocol):
    """A connection to one card in one reader."""

    @property
    def atr(self) -> bytes:
        """The card's answer to reset."""
        ...

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send a command APDU and return the response data and the status word.

        :raises CardRemovedError: the card left the reader.
        :raises TransientCardError: the exchange failed in a way worth retrying.
        :raises CardError: any other failure to exchange the APDU.
        """
        ...

    def reconnect(self) -> None:
        """Connect again in shared mode, leaving the card powered.

        :raises CardRemovedError: the card left the reader.
        :raises CardError: the reconnect failed.
        """
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Hold an exclusive PC/SC transaction for the ``with`` block."""
        ...
