"""WebSocket clients that stamp each message with ``time.monotonic()``.

Runs on the benchmark's event loop. Each client has one task that receives
frames and stamps them as soon as aiohttp returns them, before the JSON is
parsed, so the stamp is as close to the socket as this process allows.
Messages are queued per reader, so one task can wait on each reader.
"""

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import aiohttp

MESSAGE_TIMEOUT = 15.0


@dataclass(frozen=True)
class Received:
    """A message and the monotonic time it was received."""

    time: float
    message: dict[str, Any]

    @property
    def type(self) -> str:
        """The message type."""
        return self.message["type"]


class Client:
    """One connection to the agent's ``/ws``."""

    def __init__(self, session: aiohttp.ClientSession, socket: Any) -> None:
        self._session = session
        self._socket = socket
        self._queues: defaultdict[str | None, asyncio.Queue[Received]] = defaultdict(
            asyncio.Queue
        )
        self.history: list[Received] = []
        """Every message received, in order, taken or not."""
        self._task = asyncio.create_task(self._receive_all())

    @classmethod
    async def connect(cls, url: str) -> "Client":
        """Connect and wait for ``hello``."""
        session = aiohttp.ClientSession()
        try:
            socket = await session.ws_connect(url, max_msg_size=4 * 1024 * 1024)
        except BaseException:
            await session.close()
            raise
        client = cls(session, socket)
        await client.expect("hello")
        return client

    async def expect(
        self, kind: str, reader: str | None = None, timeout: float = MESSAGE_TIMEOUT
    ) -> Received:
        """Return the next message of ``kind`` about ``reader``, skipping others.

        ``reader`` ``None`` waits for a message about no reader, such as
        ``hello``.

        :raises RuntimeError: a ``card.error`` came first.
        :raises TimeoutError: none came within ``timeout`` seconds.
        """
        queue = self._queues[reader]
        deadline = time.monotonic() + timeout
        while True:
            remaining = max(deadline - time.monotonic(), 0.001)
            received = await asyncio.wait_for(queue.get(), remaining)
            if received.type == kind:
                return received
            if received.type == "card.error":
                code = received.message.get("code")
                raise RuntimeError(f"card.error {code} before {kind}")

    async def close(self) -> None:
        """Close the connection and its session."""
        await self._socket.close()
        await self._session.close()
        await self._task

    async def _receive_all(self) -> None:
        while True:
            frame = await self._socket.receive()
            stamp = time.monotonic()
            if frame.type != aiohttp.WSMsgType.TEXT:
                return
            received = Received(stamp, json.loads(frame.data))
            self.history.append(received)
            self._queues[received.message.get("reader")].put_nowait(received)


async def connect_many(url: str, count: int) -> list[Client]:
    """Connect ``count`` clients one after another."""
    return [await Client.connect(url) for _ in range(count)]
