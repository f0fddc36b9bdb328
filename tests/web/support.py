"""Agents and small web servers for the browser tests.

:func:`start_agent` runs ``python -m trayagent --headless --simulate`` as a
subprocess, and :func:`start_pcsc_agent` runs it without ``--simulate``, so
that it reads the cards of the session's pcscd. The tests talk to either
over HTTP and WebSocket only. :class:`StaticSite` serves files from
127.0.0.1, as a clinic's web server would.
"""

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from e2e.support import AgentProcess, free_port

from trayagent.server.thread import ServerThread
from trayagent.simcard import PEOPLE

REPOSITORY = Path(__file__).resolve().parents[2]
CLIENT_JS = REPOSITORY / "trayagent" / "server" / "static" / "client.js"
EXAMPLES = REPOSITORY / "docs" / "examples"
HTTP_TIMEOUT = 10.0


ARTIFACTS = (
    Path(os.environ.get("TRAYAGENT_ARTIFACTS") or REPOSITORY / "test-artifacts") / "web"
)
"""Screenshots the browser tests keep; git ignores ``test-artifacts``."""


def simulate_option_available() -> bool:
    """Return whether ``trayagent --help`` lists ``--simulate``."""
    result = subprocess.run(
        [sys.executable, "-m", "trayagent", "--help"],
        capture_output=True,
        text=True,
        timeout=HTTP_TIMEOUT,
        check=False,
    )
    return "--simulate" in result.stdout


def start_agent(home: Path, allowed_origins: list[str]) -> AgentProcess:
    """Start a simulated agent that allows ``allowed_origins``.

    :raises AssertionError: when ``trayagent --help`` lacks ``--simulate``,
        which means the installed command line is not this checkout's.
    """
    assert simulate_option_available(), (
        "'python -m trayagent --help' does not list --simulate; "
        "reinstall this checkout with ./dev setup test"
    )
    return _start(AgentProcess(home, "--simulate"), allowed_origins)


def start_pcsc_agent(home: Path, allowed_origins: list[str]) -> AgentProcess:
    """Start an agent that reads pcscd's readers and allows ``allowed_origins``."""
    return _start(AgentProcess(home), allowed_origins)


def _start(agent: AgentProcess, allowed_origins: list[str]) -> AgentProcess:
    agent.config_dir.mkdir(parents=True, exist_ok=True)
    settings = {"allowed_origins": allowed_origins}
    (agent.config_dir / "settings.json").write_text(json.dumps(settings))
    return agent.start()


def keep_screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ``ARTIFACTS/name`` and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def field(page: Any, name: str) -> str:
    """Return the text of the test page's field ``name``."""
    return page.text_content(f'[data-field="{name}"]')


def assert_test_page_shows_jaidee(page: Any, reader: str, timeout_ms: int) -> None:
    """Wait for the test page to show the photo, then check the test card "jaidee".

    The expected values are the fictional person's, as the agent decodes them.
    """
    page.wait_for_selector('#photo[src^="data:image/jpeg"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => document.querySelector('#photo').naturalWidth > 0", timeout=timeout_ms
    )
    assert page.get_attribute("#state", "data-state") == "card-in"
    assert field(page, "citizen_id") == PEOPLE["jaidee"].citizen_id
    assert field(page, "name_th") == "นายทดสอบ ใจดี"
    assert field(page, "name_en") == "Mr. Test Jaidee"
    assert field(page, "birth_date") == "1987-01-15"
    assert field(page, "reader") == reader
    assert "กรุงเทพมหานคร" in field(page, "address")


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
