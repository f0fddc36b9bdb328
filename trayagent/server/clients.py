"""One connected WebSocket client and its bounded send queue.

Runs on the ``ws-server`` thread. Broadcasts put encoded text on each
client's queue and return at once; a writer task per client drains it. A
client that stops reading fills its queue or stalls its writer, and is then
dropped, so it never delays the others.
"""

import asyncio
import logging
from typing import Any

from aiohttp import WSCloseCode, web

logger = logging.getLogger(__name__)

# Messages queued for one client before it counts as too slow and is dropped.
SEND_QUEUE_LIMIT = 256

# Seconds one send may take before the client counts as too slow.
SEND_TIMEOUT = 5.0


class Client:
    """A WebSocket connection that receives broadcasts.

    :param name: a label for log lines, such as the peer address and origin.
    :param include_photo: whether this connection wants ``card.photo``.
    """

    def __init__(
        self, socket: web.WebSocketResponse, name: str, include_photo: bool = True
    ) -> None:
        self.socket = socket
        self.name = name
        self.include_photo = include_photo
        self._queue: asyncio.Queue[str] = asyncio.Queue(SEND_QUEUE_LIMIT)
        self._writer: asyncio.Task[None] | None = None
        self.dropped = False

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer {self.name}")

    def deliver(self, body: dict[str, Any], text: str) -> None:
        """Queue a broadcast message, given as its body and its encoded text.

        A client speaking another protocol overrides this to translate
        ``body``; this one sends ``text`` as it is, so a broadcast is
        encoded once for all native clients.
        """
        self.send(text)

    def send(self, text: str) -> None:
        """Queue a message; drop the client if its queue is full."""
        if self.dropped:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            logger.warning(
                "Dropping WebSocket client %s: %d messages unread",
                self.name,
                SEND_QUEUE_LIMIT,
            )
            self._drop()

    async def close(self, code: int = WSCloseCode.GOING_AWAY, reason: str = "") -> None:
        """Stop the writer and close the socket."""
        if self._writer is not None:
            self._writer.cancel()
        await self.socket.close(code=code, message=reason.encode())

    async def _write(self) -> None:
        while True:
            text = await self._queue.get()
            try:
                await asyncio.wait_for(self.socket.send_str(text), SEND_TIMEOUT)
            except TimeoutError:
                logger.warning(
                    "Dropping WebSocket client %s: a send took over %.0f s",
                    self.name,
                    SEND_TIMEOUT,
                )
                self._drop()
                return
            except (ConnectionError, RuntimeError) as error:
                logger.debug("WebSocket client %s gone: %s", self.name, error)
                return

    def _drop(self) -> None:
        self.dropped = True
        asyncio.get_running_loop().create_task(
            self.socket.close(
                code=WSCloseCode.TRY_AGAIN_LATER, message=b"client too slow"
            )
        )
