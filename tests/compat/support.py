"""An in-process agent fed by the simulated reader, with its compatibility apps.

:func:`running_agent` serves the agent's own app and the requested
compatibility apps on free loopback ports, on the test's event loop, with one
hub and one :class:`SimulatedReader`. :class:`OldClient` is a WebSocket
client that expects an old format.
"""

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from trayagent.reading import ReadOptions
from trayagent.server.access import OriginPolicy
from trayagent.server.app import create_app
from trayagent.server.compat import base
from trayagent.server.context import ServerConfig
from trayagent.server.hub import Hub
from trayagent.server.simulator_routes import add_simulator_routes
from trayagent.simulator import SimulatedReader

RECORDED = Path(__file__).with_name("recorded")
MESSAGE_TIMEOUT = 10.0


def run(coroutine: Any) -> Any:
    """Run an async test body on a fresh event loop in a thread of its own.

    A thread keeps it apart from any loop already running on the test's
    thread, such as the one Playwright's sync API runs.
    """
    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as error:  # noqa: BLE001 - re-raised below
            failure.append(error)

    thread = threading.Thread(target=target, name="test-loop")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def recorded(name: str) -> Any:
    """Return a recorded example message from ``recorded/``."""
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Agent:
    """The in-process agent and where its apps listen."""

    hub: Hub
    simulator: SimulatedReader
    policy: OriginPolicy
    ports: dict[str, int] = field(default_factory=dict)
    apps: dict[str, web.Application] = field(default_factory=dict)

    def url(self, app: str, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[app]}{path}"

    async def insert(self, card: str = "jaidee") -> None:
        await asyncio.to_thread(self.simulator.insert, card)

    async def remove(self) -> None:
        await asyncio.to_thread(self.simulator.remove)

    async def read_finished(self, timeout: float = MESSAGE_TIMEOUT) -> None:
        """Wait until no reader is being read."""
        deadline = asyncio.get_running_loop().time() + timeout
        while any(record.reading for record in self.hub.readers.values()):
            assert asyncio.get_running_loop().time() < deadline, "read still running"
            await asyncio.sleep(0.01)


CreateApp = Callable[..., web.Application]


@contextlib.asynccontextmanager
async def running_agent(
    compat: dict[str, CreateApp],
    *,
    options: ReadOptions | None = None,
    allowed: tuple[str, ...] = (),
    blocked: tuple[str, ...] = (),
    interactive: bool = False,
) -> AsyncIterator[Agent]:
    """Serve the agent and the ``compat`` apps (name to ``create_app``)."""
    loop = asyncio.get_running_loop()
    hub = Hub()
    read_options = options or ReadOptions()
    simulator = SimulatedReader(
        lambda event: loop.call_soon_threadsafe(hub.handle, event),
        lambda: read_options,
        profile="fast",
    )
    policy = OriginPolicy(allowed, blocked, interactive=interactive)
    agent = Agent(hub, simulator, policy)
    runners = []
    try:
        for name, factory in {"agent": None, **compat}.items():
            port = free_port()
            config = ServerConfig(port=port, simulated=True)
            if factory is None:
                app = create_app(hub, simulator, config, policy)
                add_simulator_routes(app, simulator)
            else:
                app = factory(hub, simulator, config, policy)
                if base.COMPAT in app:
                    base.set_settings(app, client_settings(read_options))
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)
            agent.ports[name], agent.apps[name] = port, app
        simulator.start()
        await asyncio.sleep(0)
        yield agent
    finally:
        simulator.stop()
        for runner in reversed(runners):
            await runner.cleanup()


def client_settings(options: ReadOptions) -> dict[str, bool]:
    """Return the client-visible settings that match read options."""
    return {
        "auto_read": options.auto_read,
        "include_photo": options.include_photo,
        "read_laser_id": options.read_laser_id,
        "read_nhso": options.read_nhso,
    }


class OldClient:
    """A WebSocket client that expects messages of an old format."""

    def __init__(self, session: aiohttp.ClientSession, socket: Any) -> None:
        self.session = session
        self.socket = socket
        self.messages: list[dict[str, Any]] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str, **headers: str) -> AsyncIterator["OldClient"]:
        async with aiohttp.ClientSession() as session:
            socket = await session.ws_connect(url, headers=headers or None)
            client = cls(session, socket)
            try:
                yield client
            finally:
                await socket.close()

    async def send(self, body: Any) -> None:
        await self.socket.send_str(json.dumps(body))

    async def receive(self, timeout: float = MESSAGE_TIMEOUT) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.socket.receive(), timeout)
        assert frame.type == aiohttp.WSMsgType.TEXT, f"unexpected frame {frame!r}"
        message = json.loads(frame.data)
        self.messages.append(message)
        return message

    async def expect(
        self, key: str, value: str, timeout: float = MESSAGE_TIMEOUT
    ) -> dict[str, Any]:
        """Read until a message whose ``key`` is ``value`` arrives."""
        seen = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                message = await self.receive(max(remaining, 0.001))
            except TimeoutError:
                raise AssertionError(f"no {key}={value} in {seen}") from None
            if message.get(key) == value:
                return message
            seen.append(message.get(key))

    async def nothing_within(self, seconds: float) -> None:
        """Assert that no message arrives within ``seconds``."""
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {message}")


def shape(value: Any) -> Any:
    """Return the structure of a JSON value: keys and value types, not values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__
