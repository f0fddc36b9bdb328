"""Insert a simulated card into a slot of the vsmartcard ``vpcd`` reader driver.

The card is in the reader while a TCP connection to the slot's port is
open. Every message, in both directions, is a 2-byte big-endian length and
a payload. A 1-byte payload from vpcd is a control code (power off, power
on, reset, or a request for the ATR, which the card sends). Any longer
payload is a command APDU, and the card returns the response APDU.

Each inserted card is served on its own thread, named ``vpcd-slot-PORT``.
:meth:`VpcdSlot.insert` and :meth:`VpcdSlot.remove` run on the caller's
thread.
"""

import logging
import socket
import threading
import time
from collections.abc import Callable

from trayagent.simcard.applet import SimulatedCard

logger = logging.getLogger(__name__)

CONTROL_POWER_OFF = 0x00
CONTROL_POWER_ON = 0x01
CONTROL_RESET = 0x02
CONTROL_ATR = 0x04

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the TCP connection to the slot's port."""
JOIN_TIMEOUT = 5.0
"""Seconds :meth:`VpcdSlot.remove` waits for the serving thread to end."""

_LENGTH_BYTES = 2


class VpcdError(Exception):
    """The card could not be inserted into or served on a vpcd slot."""


class VpcdSlot:
    """One slot of a vpcd reader, which contains at most one simulated card.

    :param port: the slot's TCP port (the reader's CHANNELID, plus 1 for
        its second slot).
    :param on_close: called on the serving thread when the connection ends
        for any reason other than :meth:`remove`: vpcd closed it (pcscd
        stopped) or a fault made the card leave.
    """

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.port = port
        self.host = host
        self.card: SimulatedCard | None = None
        self._on_close = on_close
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._socket_lock = threading.Lock()
        self._removing = False

    def __repr__(self) -> str:
        return f"VpcdSlot({self.port}, host={self.host!r})"

    @property
    def is_inserted(self) -> bool:
        """Whether a card's connection to vpcd is open."""
        return self._thread is not None and self._thread.is_alive()

    def insert(self, card: SimulatedCard) -> None:
        """Connect ``card`` to the slot and start serving it.

        pcscd notices the card at its next presence poll, within about
        400 ms; wait for the reader state to see it.

        :raises VpcdError: the slot already contains a card, or nothing
            listens on the port (pcscd with the vpcd driver is not running).
        """
        if self.is_inserted:
            raise VpcdError(
                f"Slot on port {self.port} already contains a card; remove it first"
            )
        self.remove()
        sock = self._connect()
        self.card = card
        self._removing = False
        self._socket = sock
        self._thread = threading.Thread(
            target=self._serve, args=(sock, card), name=f"vpcd-slot-{self.port}"
        )
        self._thread.start()
        logger.info("Card inserted on vpcd port %d (%r)", self.port, card)

    def remove(self) -> None:
        """Close the card's connection and wait for its thread to end.

        Does nothing when no card is inserted.

        :raises VpcdError: the serving thread did not end in time.
        """
        thread = self._thread
        if thread is None:
            return
        self._removing = True
        self._close_socket(shutdown=True)
        thread.join(JOIN_TIMEOUT)
        if thread.is_alive():
            raise VpcdError(f"Thread serving vpcd port {self.port} did not stop")
        self._thread = None
        logger.info("Card removed from vpcd port %d", self.port)

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the card's connection ends; return whether it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), CONNECT_TIMEOUT)
        except ConnectionRefusedError as error:
            raise VpcdError(
                f"Cannot insert the card: nothing listens on {self.host}:"
                f"{self.port}. Start pcscd with a vpcd reader on that port."
            ) from error
        except OSError as error:
            raise VpcdError(
                f"Cannot insert the card on {self.host}:{self.port}: {error}"
            ) from error
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _serve(self, sock: socket.socket, card: SimulatedCard) -> None:
        try:
            self._serve_messages(sock, card)
        except OSError as error:
            if not self._removing:
                logger.warning(
                    "Connection to vpcd port %d failed: %s", self.port, error
                )
        finally:
            self._close_socket(shutdown=False)
        if not self._removing and self._on_close is not None:
            self._on_close()

    def _serve_messages(self, sock: socket.socket, card: SimulatedCard) -> None:
        while True:
            message = _receive(sock)
            if message is None:
                if not self._removing:
                    logger.info("vpcd closed the connection on port %d", self.port)
                return
            if len(message) == 1:
                self._handle_control(sock, card, message[0])
                continue
            exchange = card.process(message)
            if exchange.response is None:
                logger.info("Card left vpcd port %d during an APDU", self.port)
                return
            delay = card.profile.response_delay(len(exchange.response))
            if delay > 0:
                time.sleep(delay)
            _send(sock, exchange.response)
            if exchange.remove:
                logger.info("Card left vpcd port %d after an APDU", self.port)
                return

    def _handle_control(
        self, sock: socket.socket, card: SimulatedCard, code: int
    ) -> None:
        if code == CONTROL_ATR:
            _send(sock, card.profile.atr_payload)
        elif code in (CONTROL_POWER_OFF, CONTROL_POWER_ON, CONTROL_RESET):
            logger.debug("vpcd port %d: control code %02X", self.port, code)
            card.reset()
        else:
            logger.warning(
                "vpcd port %d: ignoring unknown control code %02X", self.port, code
            )

    def _close_socket(self, *, shutdown: bool) -> None:
        with self._socket_lock:
            sock = self._socket
            if sock is None:
                return
            if shutdown:
                # Wakes the serving thread's recv; the thread then closes.
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            sock.close()
            self._socket = None


def _receive(sock: socket.socket) -> bytes | None:
    """Return the next payload from vpcd, or ``None`` once it closes."""
    header = _receive_exactly(sock, _LENGTH_BYTES)
    if header is None:
        return None
    payload = _receive_exactly(sock, int.from_bytes(header, "big"))
    return payload


def _receive_exactly(sock: socket.socket, count: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < count:
        _arm_quick_ack(sock)
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _arm_quick_ack(sock: socket.socket) -> None:
    """Ask Linux to acknowledge the next segment at once.

    vpcd 3.3 writes the length and the payload with two ``send`` calls, so
    with delayed ACKs each APDU waits about 40 ms. The kernel clears
    TCP_QUICKACK by itself, hence the call before every ``recv``.
    """
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(_LENGTH_BYTES, "big") + payload)
