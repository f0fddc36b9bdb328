"""The origin policy as a real browser meets it: headless Chromium, two web sites.

Each test serves a small page from its own aiohttp server on 127.0.0.1.
Chromium's ``--host-resolver-rules`` maps ``clinic.example`` and
``evil.example`` to 127.0.0.1, so the two pages have distinct origins
without any traffic leaving this machine. Each page opens
``ws://127.0.0.1:AGENT_PORT/ws`` as a clinic web app does and writes what
it receives into its own DOM, where the test reads it.

Because both names resolve to 127.0.0.1, Chromium puts the pages in the
loopback address space and its Local Network Access checks do not apply.
The last two tests move the clinic page into the public address space with
``--ip-address-space-overrides``, as a clinic app on the internet would be.

Chromium is Debian's ``/usr/bin/chromium``, driven by Playwright's async API
(Playwright's own browser download is not used). Without either, the tests
skip on a developer machine and fail under ``CI=true``. Everything runs on
the test's thread, in one event loop per test.
"""

import json
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from trayagent.simcard import PEOPLE, SimulatedCard

from .support import run

try:
    from playwright.async_api import Browser, Page, async_playwright
except ImportError:
    async_playwright = None

JAIDEE = PEOPLE["jaidee"]
CHROMIUM = Path("/usr/bin/chromium")

# Flags for Chromium on a machine without network access: no background
# requests to outside hosts, and the two test sites resolved to loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP clinic.example 127.0.0.1, MAP evil.example 127.0.0.1",
]

# Milliseconds to wait for a page to show a connection state or a card. A
# card takes about 1.5 s from insertion to card.read, more on a slow machine.
PAGE_TIMEOUT_MS = 15_000

# What Chromium reports for a WebSocket whose handshake the agent rejected.
HANDSHAKE_403 = "Error during WebSocket handshake: Unexpected response code: 403"

# What Chromium reports for a WebSocket that Local Network Access blocked
# before it reached the agent.
LNA_BLOCKED = "net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS"

pytestmark = pytest.mark.pcsc

# The page a clinic web app would be, reduced to what the tests read: the
# connection state, the close code, the type of each message, and the
# citizen ID from card.read. AGENT_URL is replaced with the agent's address.
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Origin probe</title>
<style>
  body { font: 16px sans-serif; margin: 2em; }
  dt { font-weight: bold; }
</style>
</head>
<body>
<h1 id="origin"></h1>
<dl>
  <dt>Agent</dt><dd id="agent-url"></dd>
  <dt>State</dt><dd id="state">connecting</dd>
  <dt>Error event</dt><dd id="error">none</dd>
  <dt>Close code</dt><dd id="close-code"></dd>
  <dt>Citizen ID</dt><dd id="citizen-id"></dd>
  <dt>Messages</dt><dd><ol id="messages"></ol></dd>
</dl>
<script>
  const agentUrl = AGENT_URL;
  function show(id, text) { document.getElementById(id).textContent = text; }
  show("origin", location.origin);
  show("agent-url", agentUrl);
  const socket = new WebSocket(agentUrl);
  socket.onopen = () => show("state", "open");
  socket.onerror = () => show("error", "error");
  socket.onclose = (event) => {
    show("state", "closed");
    show("close-code", String(event.code));
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const item = document.createElement("li");
    item.textContent = message.type;
    document.getElementById("messages").appendChild(item);
    if (message.type === "card.read") show("citizen-id", message.card.citizen_id);
  };
</script>
</body>
</html>
"""

# The probe page's fields, by element id, that the tests compare.
PAGE_FIELDS = ("origin", "state", "error", "close-code", "citizen-id")


class Site:
    """A web site on a loopback port that serves the probe page at ``/``.

    The socket is bound when the object is made, so the site's origin is
    known before the agent starts with it on its allow-list.
    """

    def __init__(self, host: str) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.port = self.socket.getsockname()[1]
        self.origin = f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/"

    @asynccontextmanager
    async def serving(self, agent_url: str) -> AsyncIterator[None]:
        """Serve the page, pointed at ``agent_url``, until the block ends."""
        html = PAGE.replace("AGENT_URL", json.dumps(agent_url))

        async def page(request: web.Request) -> web.Response:
            return web.Response(text=html, content_type="text/html")

        app = web.Application()
        app.router.add_get("/", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, self.socket).start()
        try:
            yield
        finally:
            await runner.cleanup()

    def close(self) -> None:
        self.socket.close()


class PageRecord:
    """One open probe page, and what Chromium reports about its WebSocket.

    ``console`` collects the page's console messages, which give the reason
    a connection failed. ``socket_errors`` collects the errors that
    Playwright reports for the page's WebSockets.
    """

    def __init__(self, page: "Page") -> None:
        self.page = page
        self.console: list[str] = []
        self.socket_errors: list[str] = []
        page.on("console", lambda message: self.console.append(message.text))
        page.on("websocket", self._watch)

    def _watch(self, websocket: Any) -> None:
        websocket.on("socketerror", lambda error: self.socket_errors.append(error))

    async def fields(self) -> dict[str, Any]:
        """Return what the page shows: ``PAGE_FIELDS`` and the message types."""
        fields: dict[str, Any] = {}
        for name in PAGE_FIELDS:
            fields[name] = await self.page.text_content(f"#{name}") or ""
        items = self.page.locator("#messages li")
        fields["messages"] = await items.all_text_contents()
        return fields

    async def wait_for_text(self, element_id: str, text: str) -> None:
        await self.page.wait_for_function(
            "([id, text]) => document.getElementById(id).textContent === text",
            arg=[element_id, text],
            timeout=PAGE_TIMEOUT_MS,
        )

    async def wait_for_settled(self) -> None:
        """Wait until the page's WebSocket has opened or closed."""
        await self.page.wait_for_function(
            "document.getElementById('state').textContent !== 'connecting'",
            timeout=PAGE_TIMEOUT_MS,
        )

    async def wait_for_message(self, kind: str) -> None:
        await self.page.wait_for_function(
            "(kind) => [...document.querySelectorAll('#messages li')]"
            ".some((item) => item.textContent === kind)",
            arg=kind,
            timeout=PAGE_TIMEOUT_MS,
        )


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The Chromium executable. Skips the test, or fails it under CI=true, without it.

    Session-scoped so that it is checked before the session's pcscd starts.
    """
    if async_playwright is None:
        report_missing("Playwright is not installed (pip install playwright)")
    found = CHROMIUM if CHROMIUM.is_file() else shutil.which("chromium")
    if found is None:
        report_missing("Chromium is not installed (apt-get install chromium)")
    return Path(found)


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    """The allowed site ``clinic.example`` and the disallowed ``evil.example``."""
    clinic, evil = Site("clinic.example"), Site("evil.example")
    yield clinic, evil
    clinic.close()
    evil.close()


def report_missing(reason: str) -> None:
    """Skip with ``reason`` on a developer machine, or fail under ``CI=true``."""
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"browser test prerequisite missing under CI: {reason}", pytrace=False
        )
    pytest.skip(reason)


@asynccontextmanager
async def launch(chromium: Path, *extra_args: str) -> AsyncIterator["Browser"]:
    """Start headless Chromium with the test flags and close it at the end."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(
    browser: "Browser", site: Site, *, grant_local_network: bool = False
) -> PageRecord:
    """Open ``site`` in a browser context of its own.

    :param grant_local_network: grant the site Chromium's Local Network
        Access permission first, as a user's "Allow" or an administrator's
        policy would.
    """
    context = await browser.new_context()
    if grant_local_network:
        await context.grant_permissions(["local-network-access"], origin=site.origin)
    record = PageRecord(await context.new_page())
    await record.page.goto(site.url)
    return record


def public_address_space(site: Site) -> str:
    """Return the Chromium flag that treats ``site``'s server as an internet host."""
    return f"--ip-address-space-overrides=127.0.0.1:{site.port}=public"


def test_only_allowed_site_gets_card(chromium, sites, start_agent, slot0, tmp_path):
    clinic, evil = sites
    agent = start_agent(settings={"allowed_origins": [clinic.origin]})

    async def scenario():
        async with (
            clinic.serving(agent.ws_url),
            evil.serving(agent.ws_url),
            launch(chromium) as browser,
        ):
            allowed = await open_page(browser, clinic)
            rejected = await open_page(browser, evil)
            await allowed.wait_for_message("hello")
            await rejected.wait_for_settled()
            slot0.insert(SimulatedCard(JAIDEE))
            await allowed.wait_for_text("citizen-id", JAIDEE.citizen_id)
            # A page that connects while the card is in would get it in hello.
            await rejected.page.reload()
            await rejected.wait_for_settled()
            await allowed.page.screenshot(path=tmp_path / "clinic-page.png")
            await rejected.page.screenshot(path=tmp_path / "evil-page.png")
            return await allowed.fields(), await rejected.fields(), rejected

    allowed, rejected, rejected_record = run(scenario())
    assert allowed["origin"] == clinic.origin
    assert allowed["state"] == "open"
    assert allowed["citizen-id"] == JAIDEE.citizen_id
    assert allowed["messages"][0] == "hello"
    assert "card.inserted" in allowed["messages"]
    assert "card.read" in allowed["messages"]
    assert rejected["origin"] == evil.origin
    assert rejected["state"] == "closed"
    assert rejected["error"] == "error"
    assert rejected["close-code"] == "1006"  # closed without a handshake
    assert rejected["messages"] == []
    assert rejected["citizen-id"] == ""
    assert rejected_record.socket_errors == [HANDSHAKE_403, HANDSHAKE_403]
    assert sum(HANDSHAKE_403 in text for text in rejected_record.console) == 2
    assert f"Rejected /ws from origin {evil.origin}" in agent.log_text()
    assert f"origin {clinic.origin}: it is not allowed" not in agent.log_text()
    assert (tmp_path / "clinic-page.png").stat().st_size > 0
    assert (tmp_path / "evil-page.png").stat().st_size > 0


def test_public_http_site_blocked_by_browser(chromium, sites, start_agent, tmp_path):
    clinic, _ = sites
    agent = start_agent(settings={"allowed_origins": [clinic.origin]})

    async def scenario():
        async with (
            clinic.serving(agent.ws_url),
            launch(chromium, public_address_space(clinic)) as browser,
        ):
            record = await open_page(browser, clinic)
            await record.wait_for_settled()
            await record.page.screenshot(path=tmp_path / "public-http-page.png")
            return await record.fields(), record

    fields, record = run(scenario())
    assert fields["state"] == "closed"
    assert fields["close-code"] == "1006"
    assert fields["messages"] == []
    assert any(LNA_BLOCKED in text for text in record.console)
    assert f"({clinic.origin})" not in agent.log_text()  # never reached the agent


def test_public_site_connects_with_permission(chromium, sites, start_agent, tmp_path):
    clinic, _ = sites
    agent = start_agent(settings={"allowed_origins": [clinic.origin]})
    # Chromium grants Local Network Access only to secure contexts. This flag
    # has the effect of the OverrideSecurityRestrictionsOnInsecureOrigin
    # policy, and takes the place of serving the clinic app over https.
    secure = f"--unsafely-treat-insecure-origin-as-secure={clinic.origin}"

    async def scenario():
        async with (
            clinic.serving(agent.ws_url),
            launch(chromium, public_address_space(clinic), secure) as browser,
        ):
            record = await open_page(browser, clinic, grant_local_network=True)
            await record.wait_for_message("hello")
            await record.page.screenshot(path=tmp_path / "public-granted-page.png")
            return await record.fields()

    fields = run(scenario())
    assert fields["state"] == "open"
    assert fields["messages"] == ["hello"]
    assert f"({clinic.origin})" in agent.log_text()
