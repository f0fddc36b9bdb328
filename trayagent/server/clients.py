"""One connected WebSocket client and its bounded send queue.

Runs on the ``ws-server`` thread. Broadcasts put encoded text on each
client's queue and return at once; a writer task per client drains it. A
client that stops reading fills its queue or stalls its writer, and is then
dropped, so it never delays the others.
"""

import asyncio
import logging
import time
import traceback
from typing import Any

from aiohttp import WSCloseCode, web

from . import messages

logger = logging.getLogger(__name__)

# Messages queued for one client before it counts as too slow and is dropped.
SEND_QUEUE_LIMIT = 256

# Seconds one send may take before the client counts as too slow.
SEND_TIMEOUT = 5.0

# Messages a client may send: a burst of MESSAGE_BURST, refilled at
# MESSAGE_RATE per second. Further messages get one RATE_LIMITED error per
# second and are dropped; after MAX_DROPPED_MESSAGES the client gets a last
# RATE_LIMITED error and is closed with CLOSE_RATE_LIMITED.
MESSAGE_RATE = 20.0
MESSAGE_BURST = 40
MAX_DROPPED_MESSAGES = 200

# The close code for a client closed for flooding. It lies in the range
# 4000-4999 that RFC 6455 leaves to applications, apart from 1008 (policy
# violation), which closes a blocked site, so a page can tell the two apart
# and reconnect after this one. 4029 echoes HTTP 429 Too Many Requests.
CLOSE_RATE_LIMITED = 4029

# Seconds the replies queued for a flooding client get to be sent before
# its close frame.
FLUSH_TIMEOUT = 2.0

# Seconds a dropped client gets to answer the close frame before its
# connection is cut.
CLOSE_TIMEOUT = 2.0

# Close tasks that nobody awaits, kept referenced until they end.
_closing: set[asyncio.Task[None]] = set()


class Client:
    """A WebSocket connection that receives broadcasts.

    :param name: a label for log lines, such as the peer address and origin.
    :param include_photo: whether this connection wants ``card.photo``.
    """

    def __init__(
        self,
        socket: web.WebSocketResponse,
        name: str,
        include_photo: bool = True,
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.socket = socket
        self.transport = transport
        self.name = name
        self.include_photo = include_photo
        self.origin: str | None = None
        self._queue: asyncio.Queue[str] = asyncio.Queue(SEND_QUEUE_LIMIT)
        self._writer: asyncio.Task[None] | None = None
        self.dropped = False
        self._tokens = float(MESSAGE_BURST)
        self._refilled = time.monotonic()
        self._dropped_messages = 0
        self._last_rate_error = 0.0

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer {self.name}")

    def take_message_token(self) -> bool:
        """Count one incoming message; return whether it may be handled.

        A client over its rate gets a ``RATE_LIMITED`` error at most once a
        second, and is closed when it keeps flooding.
        """
        now = time.monotonic()
        self._tokens = min(
            MESSAGE_BURST, self._tokens + (now - self._refilled) * MESSAGE_RATE
        )
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self._dropped_messages += 1
        if self._dropped_messages == 1:
            logger.warning(
                "WebSocket client %s sends more than %.0f messages a second",
                self.name,
                MESSAGE_RATE,
            )
        if self._dropped_messages >= MAX_DROPPED_MESSAGES:
            if not self.dropped:
                logger.warning(
                    "Closing WebSocket client %s: it keeps flooding", self.name
                )
                self._send_rate_error()
            self._close_later(CLOSE_RATE_LIMITED, "rate limit exceeded", flush=True)
        elif now - self._last_rate_error >= 1.0:
            self._last_rate_error = now
            self._send_rate_error()
        return False

    def _send_rate_error(self) -> None:
        # deliver(), so that a client of an old format gets its own error.
        body = messages.error("error", "RATE_LIMITED")
        self.deliver(body, messages.encode(body))

    def deliver(self, body: dict[str, Any], text: str) -> None:
        """Queue a message of the agent's, given as its body and its encoded text.

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
            except Exception as error:  # noqa: BLE001 - logged, the client dropped
                self._log_send_failure(error)
                self._close_later(WSCloseCode.INTERNAL_ERROR, "internal error")
                return
            finally:
                self._queue.task_done()

    def _log_send_failure(self, error: Exception) -> None:
        """Log a send that failed unexpectedly, without the message's content.

        The exception's text can quote the message, such as the character
        that ``UnicodeEncodeError`` could not encode, so only its type and
        the stack are logged.
        """
        stack = "".join(traceback.format_tb(error.__traceback__))
        logger.error(
            "Dropping WebSocket client %s: sending a message failed with %s\n%s",
            self.name,
            type(error).__name__,
            stack.rstrip(),
        )

    def _drop(self) -> None:
        self._close_later(WSCloseCode.TRY_AGAIN_LATER, "client too slow")

    def _close_later(self, code: int, reason: str, *, flush: bool = False) -> None:
        """Close the client in a task of its own; a client is closed only once.

        :param flush: send the messages queued already before the close
            frame, for up to ``FLUSH_TIMEOUT`` seconds.
        """
        if self.dropped:
            return
        self.dropped = True
        task = asyncio.get_running_loop().create_task(
            self._close_or_abort(code, reason, flush)
        )
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    async def _flush(self) -> None:
        """Wait until the writer has sent the queue, ended, or timed out."""
        if self._writer is None or self._writer.done():
            return
        drained = asyncio.ensure_future(self._queue.join())
        await asyncio.wait(
            {drained, self._writer},
            timeout=FLUSH_TIMEOUT,
            return_when=asyncio.FIRST_COMPLETED,
        )
        drained.cancel()

    async def _close_or_abort(self, code: int, reason: str, flush: bool) -> None:
        """Close politely, but cut a client that does not read the close frame."""
        if flush:
            await self._flush()
        if self._writer is not None:
            self._writer.cancel()
        closing = asyncio.ensure_future(
            self.socket.close(code=code, message=reason.encode())
        )
        # Not asyncio.wait_for: aiohttp shields the flush of the close frame,
        # so cancelling the close waits as long as the client does not read.
        await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT)
        # A transport closed with unread data waits to flush it, and the
        # handler, still counted as a connection, waits with it. Aborting
        # drops the data and ends both; it does nothing to a flushed one.
        if self.transport is not None:
            self.transport.abort()
        await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT)
        if not closing.done():
            closing.cancel()
        elif not closing.cancelled() and closing.exception() is not None:
            logger.debug(
                "Closing WebSocket client %s failed: %s", self.name, closing.exception()
            )
