"""A simulated agent and small web servers for the browser tests.

:func:`start_agent` runs ``python -m trayagent --headless --simulate`` as a
subprocess when the command line has ``--simulate``, and otherwise serves
the same application in this process: the agent's ``create_app`` with a
:class:`SimulatedReader` and the simulator routes, on the agent's own
server thread. Either way the test talks to it over HTTP and WebSocket
only. :class:`StaticSite` serves a folder from 127.0.0.1, as a clinic's web
server would.
"""

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from e2e.support import AgentProcess, free_port

from trayagent.reading import ReadOptions
from trayagent.server.access import OriginPolicy
from trayagent.server.app import create_app
from trayagent.server.context import ServerConfig
from trayagent.server.hub import Hub
from trayagent.server.simulator_routes import add_simulator_routes
from trayagent.server.thread import ServerThread
from trayagent.simulator import SimulatedReader

REPOSITORY = Path(__file__).resolve().parents[2]
CLIENT_JS = REPOSITORY / "trayagent" / "server" / "static" / "client.js"
EXAMPLES = REPOSITORY / "docs" / "examples"
HTTP_TIMEOUT = 10.0


class RunningAgent(Protocol):
    port: int

    def stop(self) -> Any: ...


def simulate_option_available() -> bool:
    """Return whether ``trayagent`` accepts ``--simulate`` yet."""
    result = subprocess.run(
        [sys.executable, "-m", "trayagent", "--help"],
        capture_output=True,
        text=True,
        timeout=HTTP_TIMEOUT,
        check=False,
    )
    return "--simulate" in result.stdout


class InProcessAgent:
    """The agent's application with the simulated reader, on a server thread."""

    def __init__(self, port: int, allowed_origins: list[str]) -> None:
        self.port = port
        self.hub = Hub()
        self.policy = OriginPolicy(allowed_origins)
        self.server = ServerThread(self._make_app, port)
        self.simulator = SimulatedReader(
            lambda event: self.server.call_soon(self.hub.handle, event),
            ReadOptions,
        )

    def _make_app(self) -> web.Application:
        config = ServerConfig(port=self.port, simulated=True)
        app = create_app(self.hub, self.simulator, config, self.policy)
        add_simulator_routes(app, self.simulator)
        return app

    def start(self) -> "InProcessAgent":
        self.server.start()
        self.simulator.start()
        return self

    def stop(self) -> None:
        self.simulator.stop()
        self.server.stop()


def start_agent(home: Path, allowed_origins: list[str]) -> RunningAgent:
    """Start a simulated agent that allows ``allowed_origins``."""
    if not simulate_option_available():
        return InProcessAgent(free_port(), allowed_origins).start()
    agent = AgentProcess(home, "--simulate")
    agent.config_dir.mkdir(parents=True, exist_ok=True)
    settings = {"allowed_origins": allowed_origins}
    (agent.config_dir / "settings.json").write_text(json.dumps(settings))
    return agent.start()


def post(url: str, body: dict | None = None) -> int:
    """POST JSON as a program on this PC would (no Origin); return the status."""
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        return response.status


class StaticSite:
    """Serve files on 127.0.0.1, as the clinic's own web server.

    :param files: URL path to file.
    """

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.port = free_port()
        self.server = ServerThread(self._make_app, self.port)

    def _make_app(self) -> web.Application:
        app = web.Application()
        for path, file in self.files.items():
            app.router.add_get(path, _file_handler(file))
        return app

    def start(self) -> "StaticSite":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()


def _file_handler(file: Path) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        content_type = "text/javascript" if file.suffix == ".js" else "text/html"
        return web.Response(
            body=file.read_bytes(), content_type=content_type, charset="utf-8"
        )

    return handle
