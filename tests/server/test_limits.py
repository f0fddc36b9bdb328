"""Limits of the server: message sizes, stalled clients, held connections.

Each test serves the agent's application on a real aiohttp server on
127.0.0.1 and connects real aiohttp WebSocket clients with the ``Origin``
header a browser page would send. The origin policy is interactive, as
with a tray, so unknown sites are held rather than rejected. Log lines are
read from pytest's ``caplog``.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web
from test_slow_client import NoCards, open_stalled_client

from trayagent.server import websocket
from trayagent.server.access import MAX_PENDING_ORIGINS, OriginPolicy
from trayagent.server.app import ServerConfig, create_app
from trayagent.server.clients import SEND_TIMEOUT
from trayagent.server.hub import Hub

CLINIC = "https://clinic.example"
UNKNOWN = "https://unknown.example"
RECEIVE_TIMEOUT = 10.0


class Agent:
    """The application on a real server, and what the tests reach into."""

    def __init__(self, app: web.Application, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"ws://127.0.0.1:{port}/ws"
        self.session = aiohttp.ClientSession()

    @property
    def hub(self) -> Hub:
        return self.app[websocket.HUB]

    async def connect(
        self, origin: str | None = None
    ) -> aiohttp.ClientWebSocketResponse:
        headers = {"Origin": origin} if origin else None
        return await self.session.ws_connect(self.url, headers=headers)

    async def handshake_status(self, origin: str | None = None) -> int:
        """Return 101 when a handshake succeeds, else its HTTP status."""
        try:
            socket = await self.connect(origin)
        except aiohttp.WSServerHandshakeError as error:
            return error.status
        await socket.close()
        return 101


@asynccontextmanager
async def serving(
    on_pending: Callable[[str], None] | None = None, policy: OriginPolicy | None = None
) -> AsyncIterator[Agent]:
    policy = policy or OriginPolicy([CLINIC], interactive=True)
    if on_pending is not None:
        policy._on_pending = on_pending
    app = create_app(Hub(), NoCards(), ServerConfig(port=0), policy)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    agent = Agent(app, port)
    try:
        yield agent
    finally:
        await agent.session.close()
        await runner.cleanup()


async def receive_json(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    frame = await asyncio.wait_for(socket.receive(), RECEIVE_TIMEOUT)
    assert frame.type == aiohttp.WSMsgType.TEXT, frame
    return json.loads(frame.data)


async def receive_close_code(socket: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read until the server closes the connection; return the close code."""
    while True:
        frame = await asyncio.wait_for(socket.receive(), RECEIVE_TIMEOUT)
        if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return socket.close_code


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(RECEIVE_TIMEOUT + SEND_TIMEOUT):
        while not condition():
            await asyncio.sleep(0.05)


def test_oversized_message_is_logged(caplog):
    async def scenario():
        async with serving() as agent:
            socket = await agent.connect(CLINIC)
            await receive_json(socket)  # hello
            await socket.send_str("x" * 70_000)
            error = await receive_json(socket)
            await socket.send_str(json.dumps({"type": "ping", "id": 1}))
            pong = await receive_json(socket)
            await socket.close()
            return error, pong

    caplog.set_level(logging.WARNING, "trayagent")
    error, pong = asyncio.run(scenario())
    assert error["code"] == "MESSAGE_TOO_LARGE"
    assert pong["type"] == "pong"
    assert "sent a 70000-byte message; the limit is 65536 bytes" in caplog.text
    assert "x" * 100 not in caplog.text


def test_repeated_oversized_messages_log_once(caplog):
    async def scenario():
        async with serving() as agent:
            socket = await agent.connect(CLINIC)
            await receive_json(socket)  # hello
            for _ in range(3):
                await socket.send_str("x" * 70_000)
                await receive_json(socket)
            await socket.close()

    caplog.set_level(logging.WARNING, "trayagent")
    asyncio.run(scenario())
    assert caplog.text.count("the limit is 65536 bytes") == 1


def test_message_over_frame_limit_closes_1009():
    async def scenario():
        async with serving() as agent:
            socket = await agent.connect(CLINIC)
            await receive_json(socket)  # hello
            await socket.send_str("x" * (websocket.MAX_FRAME_SIZE + 1))
            code = await receive_close_code(socket)
            again = await agent.handshake_status(CLINIC)
            return code, again

    code, again = asyncio.run(scenario())
    assert code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert again == 101


def test_deeply_nested_json_is_invalid():
    async def scenario():
        async with serving() as agent:
            socket = await agent.connect(CLINIC)
            await receive_json(socket)  # hello
            await socket.send_str("[" * 60_000)
            error = await receive_json(socket)
            await socket.send_str("[" * 30_000 + "]" * 30_000)
            closed_error = await receive_json(socket)
            await socket.send_str(json.dumps({"type": "ping", "id": 2}))
            pong = await receive_json(socket)
            await socket.close()
            return error, closed_error, pong

    error, closed_error, pong = asyncio.run(scenario())
    assert error["code"] == "INVALID_JSON"
    assert closed_error["code"] == "INVALID_JSON"
    assert pong == {**pong, "type": "pong", "id": 2}


def test_stalled_send_times_out_and_drops(caplog):
    """A send that blocks for SEND_TIMEOUT drops the client, queue not full."""
    payload = "x" * 1_000_000

    async def scenario():
        async with serving() as agent:
            stalled = await asyncio.to_thread(open_stalled_client, agent.port)
            reader = await agent.connect(CLINIC)
            await receive_json(reader)  # hello
            await wait_until(lambda: len(agent.hub.clients) == 2)
            # 20 messages of 1 MB fill the socket buffers but not the
            # 256-message queue, so only the send timeout can drop it.
            for number in range(20):
                agent.hub.broadcast({"type": "service", "n": number, "pad": payload})
            received = [await receive_json(reader) for _ in range(20)]
            # The stalled peer keeps its socket open; the agent must still
            # end the connection, or it would count against the limit.
            await wait_until(lambda: len(agent.hub.clients) == 1)
            await reader.close()
            stalled.close()
            return received

    caplog.set_level(logging.WARNING, "trayagent")
    received = asyncio.run(scenario())
    assert [message["n"] for message in received] == list(range(20))
    assert "a send took over 5 s" in caplog.text
    assert "messages unread" not in caplog.text


def test_held_connections_capped_per_site(caplog):
    async def scenario():
        async with serving() as agent:
            held = [await agent.connect(UNKNOWN) for _ in range(4)]
            states = [(await receive_json(socket))["state"] for socket in held]
            fifth = await agent.handshake_status(UNKNOWN)
            other_site = await agent.connect("https://other.example")
            other_state = (await receive_json(other_site))["state"]
            for socket in [*held, other_site]:
                await socket.close()
            return states, fifth, other_state

    caplog.set_level(logging.WARNING, "trayagent")
    states, fifth, other_state = asyncio.run(scenario())
    assert states == ["pending"] * websocket.MAX_HELD_PER_ORIGIN
    assert fifth == 503
    assert other_state == "pending"
    assert "4 connections of this site already wait for approval" in caplog.text


def test_unknown_sites_leave_room_for_allowed(caplog):
    async def scenario():
        async with serving() as agent:
            held = []
            for number in range(websocket.MAX_HELD_CONNECTIONS):
                socket = await agent.connect(f"https://site{number // 4}.example")
                held.append(socket)
                await receive_json(socket)  # access pending
            another_unknown = await agent.handshake_status("https://site9.example")
            admitted = []
            for _ in range(websocket.MAX_CONNECTIONS):
                socket = await agent.connect(CLINIC)
                admitted.append(socket)
                await receive_json(socket)  # hello
            over_limit = await agent.handshake_status(CLINIC)
            for socket in [*held, *admitted]:
                await socket.close()
            return another_unknown, len(admitted), over_limit

    caplog.set_level(logging.WARNING, "trayagent")
    another_unknown, admitted, over_limit = asyncio.run(scenario())
    assert another_unknown == 503
    assert admitted == websocket.MAX_CONNECTIONS
    assert over_limit == 503
    assert "8 connections already wait for approval" in caplog.text
    assert "32 connections already open" in caplog.text


def test_connection_limit_warning_is_rate_limited(caplog):
    async def scenario():
        async with serving() as agent:
            admitted = [await agent.connect() for _ in range(websocket.MAX_CONNECTIONS)]
            statuses = [await agent.handshake_status() for _ in range(3)]
            for socket in admitted:
                await socket.close()
            return statuses

    caplog.set_level(logging.WARNING, "trayagent")
    statuses = asyncio.run(scenario())
    assert statuses == [503, 503, 503]
    assert caplog.text.count("connections already open") == 1


def test_site_allowed_during_handshake_is_admitted():
    # The policy's pending callback runs in the access middleware, before
    # the handshake is written, as a staff decision arriving then would.
    policy = OriginPolicy([CLINIC], interactive=True)

    async def scenario():
        async with serving(on_pending=policy.allow, policy=policy) as agent:
            socket = await agent.connect(UNKNOWN)
            first = await receive_json(socket)
            held = dict(agent.app[websocket.HELD])
            await socket.close()
            return first, held

    first, held = asyncio.run(scenario())
    assert first["type"] == "hello"
    assert held == {}


def test_site_blocked_during_handshake_is_closed():
    policy = OriginPolicy([CLINIC], interactive=True)

    async def scenario():
        async with serving(on_pending=policy.block, policy=policy) as agent:
            socket = await agent.connect(UNKNOWN)
            code = await receive_close_code(socket)
            held = dict(agent.app[websocket.HELD])
            return code, held

    code, held = asyncio.run(scenario())
    assert code == aiohttp.WSCloseCode.POLICY_VIOLATION
    assert held == {}


def test_held_site_allowed_later_is_admitted():
    async def scenario():
        async with serving() as agent:
            socket = await agent.connect(UNKNOWN)
            pending = await receive_json(socket)
            agent.app[websocket.access.POLICY].allow(UNKNOWN)
            websocket.allow_origin(agent.app, UNKNOWN)
            allowed = await receive_json(socket)
            hello = await receive_json(socket)
            await socket.close()
            return pending, allowed, hello

    pending, allowed, hello = asyncio.run(scenario())
    assert pending["state"] == "pending"
    assert allowed["state"] == "allowed"
    assert hello["type"] == "hello"


def test_pending_sites_are_capped(caplog):
    async def scenario():
        async with serving() as agent:
            for number in range(MAX_PENDING_ORIGINS):
                socket = await agent.connect(f"https://site{number}.example")
                await receive_json(socket)  # access pending
                await socket.close()
            extra = await agent.handshake_status("https://one-more.example")
            pending = set(agent.app[websocket.access.POLICY].pending)
            allowed = await agent.handshake_status(CLINIC)
            return extra, pending, allowed

    caplog.set_level(logging.WARNING, "trayagent")
    extra, pending, allowed = asyncio.run(scenario())
    assert extra == 403
    assert len(pending) == MAX_PENDING_ORIGINS
    assert "https://one-more.example" not in pending
    assert allowed == 101
    assert "20 sites already wait for approval" in caplog.text


async def post_origins(agent: Agent, data: bytes, content_type: str) -> int:
    url = f"http://127.0.0.1:{agent.port}/api/origins"
    headers = {"Content-Type": content_type}
    async with agent.session.post(url, data=data, headers=headers) as response:
        return response.status


def test_origin_change_needs_json_content_type(caplog):
    body = json.dumps({"origin": UNKNOWN, "action": "allow"}).encode()

    async def scenario():
        async with serving() as agent:
            statuses = {
                content_type: await post_origins(agent, body, content_type)
                for content_type in (
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x",
                    "application/json",
                    "application/json; charset=utf-8",
                )
            }
            return statuses

    caplog.set_level(logging.WARNING, "trayagent")
    statuses = asyncio.run(scenario())
    assert statuses["text/plain"] == 415
    assert statuses["application/x-www-form-urlencoded"] == 415
    assert statuses["multipart/form-data; boundary=x"] == 415
    assert statuses["application/json"] == 200
    assert statuses["application/json; charset=utf-8"] == 200
    assert "Content-Type 'text/plain' is not application/json" in caplog.text
