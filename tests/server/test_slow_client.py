"""A client that stops reading is dropped without delaying the others.

A real aiohttp server on 127.0.0.1 serves the agent's application; one
client completes the WebSocket handshake over a raw socket and then never
reads, another reads normally.
"""

import asyncio
import base64
import json
import os
import socket

import aiohttp
from aiohttp import web

from trayagent.server.app import ServerConfig, create_app
from trayagent.server.hub import Hub

MESSAGES = 400  # more than SEND_QUEUE_LIMIT, so the stalled queue overflows
PAYLOAD = "x" * 100_000  # large, so the stalled socket's buffers fill quickly


class NoCards:
    def request_read(self, reader):
        raise AssertionError("no reads in this test")

    def readers_with_card(self):
        return []


def open_stalled_client(port: int) -> socket.socket:
    """Do a WebSocket handshake on a raw socket that then never reads."""
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    stalled.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = stalled.recv(1024)
    if not answer.startswith(b"HTTP/1.1 101"):
        stalled.close()
        raise AssertionError(f"handshake failed: {answer[:40]!r}")
    return stalled


async def scenario():
    hub = Hub()
    runner = web.AppRunner(create_app(hub, NoCards(), ServerConfig(port=0)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    stalled = await asyncio.to_thread(open_stalled_client, port)
    async with aiohttp.ClientSession() as session:
        reader = await session.ws_connect(f"ws://127.0.0.1:{port}/ws")
        await reader.receive()  # hello
        while len(hub.clients) < 2:
            await asyncio.sleep(0.01)

        async def read_all() -> int:
            received = 0
            while received < MESSAGES:
                frame = await asyncio.wait_for(reader.receive(), 10)
                assert frame.type == aiohttp.WSMsgType.TEXT, (frame, received)
                assert json.loads(frame.data)["n"] == received
                received += 1
            return received

        reading = asyncio.create_task(read_all())
        for number in range(MESSAGES):
            hub.broadcast({"type": "service", "time": "t", "n": number, "pad": PAYLOAD})
            # A reader that keeps up drains its queue between broadcasts;
            # the stalled one cannot, and its queue fills.
            await asyncio.sleep(0.002)
        received = await reading
        slow_dropped = (
            any(client.dropped for client in hub.clients) or len(hub.clients) < 2
        )
        await reader.close()
    stalled.close()
    await runner.cleanup()
    return received, slow_dropped


def test_stalled_client_is_dropped_and_others_get_everything():
    received, slow_dropped = asyncio.run(scenario())
    assert received == MESSAGES
    assert slow_dropped
