"""Run the agent as a user would and talk to it over real sockets.

``AgentProcess`` starts ``python -m trayagent --headless --port N`` in a
subprocess with its own config and log folders. ``WsClient`` is a real
WebSocket client that validates every message it receives against the
shipped JSON Schemas.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import referencing

from trayagent import schemas

# Bounds for waiting on the agent; generous because CI machines are slow.
START_TIMEOUT = 15.0
MESSAGE_TIMEOUT = 10.0

_REGISTRY = referencing.Registry().with_resources(
    (uri, referencing.Resource.from_contents(schema))
    for uri, schema in schemas.load_all().items()
)
_VALIDATORS = {
    kind: jsonschema.Draft202012Validator(schemas.load_schema(kind), registry=_REGISTRY)
    for kind in schemas.MESSAGE_TYPES
}


def agent_command() -> list[str]:
    """Return the command a user types to start the agent: the installed script.

    The ``trayagent`` console script sits beside this Python in its
    environment; ``python -m trayagent`` is the fallback where the project
    was not installed as a package.
    """
    script = Path(sys.executable).with_name("trayagent")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "trayagent"]


def validate_message(message: dict[str, Any]) -> None:
    """Raise unless the message matches the schema of its type."""
    kind = message.get("type")
    assert kind in _VALIDATORS, f"unknown message type {kind!r}"
    _VALIDATORS[kind].validate(message)


def agent_environment(home: Path) -> dict[str, str]:
    """Return the environment of a trayagent process with its folders in ``home``."""
    environment = dict(os.environ)
    environment["TRAYAGENT_CONFIG_DIR"] = str(home / "config")
    environment["TRAYAGENT_LOG_DIR"] = str(home / "logs")
    environment.pop("DISPLAY", None)
    return environment


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AgentProcess:
    """The agent in a subprocess, isolated in ``home``.

    :param args: extra command-line arguments after ``--headless --port N``.
    :param display: an X display with a tray host; the agent then runs with
        its tray instead of ``--headless``.
    """

    def __init__(
        self,
        home: Path,
        *args: str,
        port: int | None = None,
        display: str | None = None,
    ) -> None:
        self.home = home
        self.display = display
        self.port = port or free_port()
        self.args = list(args)
        self.config_dir = home / "config"
        self.log_dir = home / "logs"
        self.process: subprocess.Popen[bytes] | None = None
        self.output_path = home / "agent-output.txt"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        environment["TRAYAGENT_CONFIG_DIR"] = str(self.config_dir)
        environment["TRAYAGENT_LOG_DIR"] = str(self.log_dir)
        environment.pop("DISPLAY", None)
        environment.pop("WAYLAND_DISPLAY", None)
        if self.display is not None:
            environment["DISPLAY"] = self.display
            environment["PYSTRAY_BACKEND"] = "xorg"
        return environment

    def start(self) -> "AgentProcess":
        """Start the agent and wait until ``/api/status`` answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        mode = [] if self.display else ["--headless"]
        command = [
            *agent_command(),
            *mode,
            "--port",
            str(self.port),
            *self.args,
        ]
        output = self.output_path.open("wb")
        self.process = subprocess.Popen(
            command, env=self.environment(), stdout=output, stderr=subprocess.STDOUT
        )
        output.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"agent exited with {self.process.returncode}: {self.output()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"agent did not listen within {START_TIMEOUT} s")

    def stop(self, timeout: float = 5.0) -> int:
        """Send SIGTERM and return the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"agent did not stop within {timeout} s") from None
        return self.process.returncode

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def log_text(self) -> str:
        """Return every log file the agent wrote, joined."""
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.log_dir.glob("*.log*"))
        )


class WsClient:
    """A WebSocket client that keeps and validates every message."""

    def __init__(self, session: aiohttp.ClientSession, socket: Any) -> None:
        self.session = session
        self.socket = socket
        self.messages: list[dict[str, Any]] = []
        self._unread: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, url: str, **headers: str) -> "WsClient":
        session = aiohttp.ClientSession()
        try:
            socket = await session.ws_connect(url, headers=headers or None)
        except BaseException:
            await session.close()
            raise
        return cls(session, socket)

    async def close(self) -> None:
        await self.socket.close()
        await self.session.close()

    async def __aenter__(self) -> "WsClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send_str(json.dumps(message))

    async def receive(self, timeout: float = MESSAGE_TIMEOUT) -> dict[str, Any]:
        """Return the next message, validated against its schema."""
        if self._unread:
            return self._unread.pop(0)
        frame = await asyncio.wait_for(self.socket.receive(), timeout)
        assert frame.type == aiohttp.WSMsgType.TEXT, f"unexpected frame {frame.type!r}"
        message = json.loads(frame.data)
        validate_message(message)
        self.messages.append(message)
        return message

    async def expect(
        self, kind: str, timeout: float = MESSAGE_TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """Read until a message of ``kind`` (with ``fields``) arrives; keep the rest."""
        skipped = []
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError
                message = await self.receive(remaining)
                if message["type"] == kind and all(
                    message.get(name) == value for name, value in fields.items()
                ):
                    return message
                skipped.append(message)
        except TimeoutError:
            seen = [m["type"] for m in skipped]
            raise AssertionError(
                f"no {kind} {fields} within {timeout} s; got {seen}"
            ) from None
        finally:
            self._unread = skipped + self._unread

    def types(self) -> list[str]:
        """Return the types of all messages received so far."""
        return [message["type"] for message in self.messages]


async def wait_for_read_end(client: WsClient, base_url: str, reader: str) -> None:
    """Wait until the card's read, optional reads included, has ended.

    ``POST /api/read`` joins the running read, or runs a new one when none
    runs, and returns after that read's last event. The ping that follows
    comes back after every message the agent queued to ``client`` before.
    """
    async with aiohttp.ClientSession() as session:
        url = f"{base_url}/api/read"
        async with session.post(url, json={"reader": reader}) as response:
            assert response.status == 200, await response.text()
    await client.send({"type": "ping", "id": "read-end"})
    await client.expect("pong", id="read-end")


async def handshake_status(url: str, **headers: str) -> int:
    """Return the HTTP status of a WebSocket handshake, 101 when it succeeded."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers):
                return 101
        except aiohttp.WSServerHandshakeError as error:
            return error.status


def run(coroutine: Any) -> Any:
    """Run an async test body on a fresh event loop."""
    return asyncio.run(coroutine)
