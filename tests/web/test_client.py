"""client.js in headless Chromium against scripted agents: its states and read().

A scripted agent is a small aiohttp server whose ``/ws/NAME`` endpoints
play one situation each (a site waiting for approval, a blocked site, no
reader, a read that fails), so every state a page must show is reached.
"""

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import WSCloseCode, web

from trayagent.server.clients import CLOSE_RATE_LIMITED
from trayagent.server.thread import ServerThread

from .support import CLIENT_JS, free_port

TIMEOUT_MS = 10_000
READER = "ACS ACR39U ICC Reader 00 00"
CARD = {"citizen_id": "1101700203450", "name_th": {"full": "นายทดสอบ ใจดี"}}
PHOTO = {"data_url": "data:image/jpeg;base64,/9j/", "complete": True, "size": 3}

HARNESS = """<!doctype html><meta charset="utf-8"><title>client.js</title>
<script type="module">
import * as trayagent from "/client.js";
window.trayagent = trayagent;
window.ready = true;
</script>"""


def hello(state: str = "available", readers: list | None = None) -> dict:
    return {
        "type": "hello",
        "protocol": 1,
        "simulated": False,
        "service": {"state": state},
        "readers": [{"name": READER, "state": "empty"}] if readers is None else readers,
    }


async def send(socket: web.WebSocketResponse, body: dict) -> None:
    await socket.send_str(json.dumps(body))


async def serve_until_closed(socket: web.WebSocketResponse, on_message=None) -> None:
    async for frame in socket:
        if on_message is not None:
            await on_message(json.loads(frame.data))


async def pending_then_allowed(socket):
    await send(
        socket, {"type": "access", "state": "pending", "origin": "x", "message": "m"}
    )
    await asyncio.sleep(0.5)
    await send(socket, {"type": "access", "state": "allowed", "origin": "x"})
    await send(socket, hello())
    await serve_until_closed(socket)


async def pending_then_blocked(socket):
    await send(
        socket, {"type": "access", "state": "pending", "origin": "x", "message": "m"}
    )
    await asyncio.sleep(0.5)
    await socket.close(code=WSCloseCode.POLICY_VIOLATION, message=b"site not allowed")


async def no_readers(socket):
    await send(socket, hello(readers=[]))
    await serve_until_closed(socket)


async def unavailable(socket):
    await send(socket, hello(state="unavailable", readers=[]))
    await serve_until_closed(socket)


async def card_already_read(socket):
    reader = {"name": READER, "state": "read", "card": CARD, "photo": PHOTO}
    await send(socket, hello(readers=[reader]))
    await serve_until_closed(socket)


async def reads(socket):
    """Reply to the first read with card.read, to the second with card.error."""
    await send(socket, hello())
    answered = 0

    async def on_message(body):
        nonlocal answered
        if body.get("type") != "read":
            return
        answered += 1
        await send(socket, {"type": "card.read", "reader": READER, "card": CARD})
        if answered == 1:
            await send(socket, {**read_result(body), "type": "card.read"})
        else:
            await send(
                socket,
                {
                    **read_result(body),
                    "type": "card.error",
                    "code": "CARD_REMOVED",
                    "message": "removed",
                },
            )

    await serve_until_closed(socket, on_message)


def read_result(request: dict) -> dict:
    return {"reader": READER, "card": CARD, "id": request["id"]}


async def joined_read(socket):
    """The read request joins a read whose card.read went out already."""
    await send(socket, hello())
    await send(socket, {"type": "card.inserted", "reader": READER})
    await send(socket, {"type": "card.read", "reader": READER, "card": CARD})

    async def on_message(body):
        if body.get("type") == "read":
            await send(
                socket,
                {
                    "type": "card.photo",
                    "reader": READER,
                    "photo": PHOTO,
                    "id": body["id"],
                },
            )

    await serve_until_closed(socket, on_message)


async def card_parts(socket):
    """A laser ID cached before connecting, then an NHSO read that fails."""
    laser = {"laser": {"code": "JT1-2345678-90"}, "error": None}
    reader = {"name": READER, "state": "read", "card": CARD, "laser": laser}
    await send(socket, hello(readers=[reader]))
    error = {"code": "APPLET_NOT_FOUND", "message": "m"}
    await send(
        socket, {"type": "card.nhso", "reader": READER, "nhso": None, "error": error}
    )
    await send(
        socket, {"type": "card.laser", "reader": READER, "laser": laser["laser"]}
    )
    await serve_until_closed(socket)


async def rate_limited(socket):
    """Close as the agent closes a client that keeps flooding it."""
    await send(socket, hello())
    await send(socket, {"type": "error", "code": "RATE_LIMITED", "message": "m"})
    await socket.close(code=CLOSE_RATE_LIMITED, message=b"rate limit exceeded")


async def drops_after_hello(socket):
    await send(socket, hello())
    await asyncio.sleep(0.3)
    await socket.close()


SCRIPTS = {
    "pending-then-allowed": pending_then_allowed,
    "pending-then-blocked": pending_then_blocked,
    "no-readers": no_readers,
    "unavailable": unavailable,
    "card-already-read": card_already_read,
    "reads": reads,
    "joined-read": joined_read,
    "drops-after-hello": drops_after_hello,
    "rate-limited": rate_limited,
    "card-parts": card_parts,
}


def make_scripted_agent() -> web.Application:
    app = web.Application()
    seen_keys: set[str] = set()

    async def harness(request):
        return web.Response(text=HARNESS, content_type="text/html")

    async def client_js(request):
        return web.Response(body=CLIENT_JS.read_bytes(), content_type="text/javascript")

    async def blocked(request):
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.close(
            code=WSCloseCode.POLICY_VIOLATION, message=b"site not allowed"
        )
        return socket

    async def refused(request):
        return web.Response(status=403, text="forbidden")

    async def pending_once(request):
        """Hold the first connection of each key, as a tray would, and close
        it as a stopping agent does. Refuse later ones, as an agent that
        restarted without a tray does."""
        key = request.match_info["key"]
        if key in seen_keys:
            return web.Response(status=403, text="forbidden")
        seen_keys.add(key)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await send(
            socket,
            {"type": "access", "state": "pending", "origin": "x", "message": "m"},
        )
        await asyncio.sleep(0.3)
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"agent stopping")
        return socket

    async def scripted(request):
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await SCRIPTS[request.match_info["name"]](socket)
        return socket

    app.router.add_get("/", harness)
    app.router.add_get("/client.js", client_js)
    app.router.add_get("/ws/blocked", blocked)
    app.router.add_get("/ws/refused", refused)
    app.router.add_get("/ws/pending-once/{key}", pending_once)
    app.router.add_get("/ws/{name}", scripted)
    app.router.add_get("/api/status", refused)
    return app


@pytest.fixture(scope="module")
def scripted_agent() -> Iterator[ServerThread]:
    server = ServerThread(make_scripted_agent, free_port())
    server.start()
    yield server
    server.stop()


class FullAgent:
    """An agent that is full: every handshake gets 503, REST still responds.

    ``/api/status`` allows every origin by CORS, as the agent does for an
    allowed site. ``requests`` counts the requests of each path.
    """

    def __init__(self) -> None:
        self.requests: dict[str, int] = {"/ws": 0, "/api/status": 0}
        self.server = ServerThread(self._make_app, free_port())

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws", self._handle)
        app.router.add_get("/api/status", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        headers = {"Access-Control-Allow-Origin": "*"}
        if request.path == "/ws":
            return web.Response(status=503, text="full", headers=headers)
        return web.json_response({"agent": "scripted"}, headers=headers)


@pytest.fixture
def full_agent() -> Iterator[FullAgent]:
    agent = FullAgent()
    agent.server.start()
    yield agent
    agent.server.stop()


@pytest.fixture
def harness(page, scripted_agent) -> Any:
    page.goto(f"http://127.0.0.1:{scripted_agent.port}/")
    page.wait_for_function("() => window.ready === true", timeout=TIMEOUT_MS)
    return page


def connect(page, url: str) -> None:
    page.evaluate(
        """url => {
            window.states = [];
            window.cards = [];
            const client = new window.trayagent.TrayAgentClient({
                url, retryDelay: 50, maxRetryDelay: 200,
            });
            client.on("state", ({ state }) => window.states.push(state));
            client.on("card", ({ card }) => window.cards.push(card.citizen_id));
            window.parts = [];
            for (const part of ["laser", "nhso"]) {
                client.on(part, (detail) => window.parts.push(
                    [part, detail.reader, detail[part], detail.error]));
            }
            client.connect();
            window.client = client;
        }""",
        url,
    )


def connect_recording_delays(page, url: str) -> None:
    """Connect with retryDelay 1 and maxRetryDelay 100, recording in
    ``window.timeline`` each state and each delay the client requests."""
    page.evaluate(
        """url => {
            window.timeline = [];
            const setTimeoutOriginal = window.setTimeout;
            window.setTimeout = (callback, delay) => {
                window.timeline.push(["delay", delay]);
                return setTimeoutOriginal(callback, delay);
            };
            const client = new window.trayagent.TrayAgentClient({
                url, retryDelay: 1, maxRetryDelay: 100,
            });
            client.on("state", ({ state }) => window.timeline.push(["state", state]));
            client.connect();
            window.client = client;
        }""",
        url,
    )


def wait_for_state(page, state: str) -> list[str]:
    page.wait_for_function(
        "state => window.states.includes(state)", arg=state, timeout=TIMEOUT_MS
    )
    return page.evaluate("() => window.states")


def ws_url(scripted_agent, name: str) -> str:
    return f"ws://127.0.0.1:{scripted_agent.port}/ws/{name}"


@pytest.fixture
def closed_port_url() -> str:
    return f"ws://127.0.0.1:{free_port()}/ws"


def test_refused_connection_is_agent_not_running(harness, closed_port_url):
    connect(harness, closed_port_url)

    states = wait_for_state(harness, "agent-not-running")

    assert states == ["agent-not-running"]


def test_refused_handshake_is_blocked(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "refused"))

    states = wait_for_state(harness, "blocked")

    assert states == ["blocked"]


def test_close_1008_is_blocked(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "blocked"))

    states = wait_for_state(harness, "blocked")

    assert states == ["blocked"]


def test_close_4029_reconnects_slowly_not_blocked(harness, scripted_agent):
    # With maxRetryDelay 100, a slow retry requests 50 to 100 ms.
    connect_recording_delays(harness, ws_url(scripted_agent, "rate-limited"))

    harness.wait_for_function(
        "() => window.timeline.filter(([, value]) => value === 'ready').length >= 2",
        timeout=TIMEOUT_MS,
    )
    timeline = harness.evaluate("() => window.timeline")
    states = [value for kind, value in timeline if kind == "state"]
    after_close = timeline[timeline.index(["state", "connecting"]) :]
    retry = next(value for kind, value in after_close if kind == "delay")

    assert states[:3] == ["ready", "connecting", "ready"]
    assert "blocked" not in states
    assert 50 <= retry <= 100


def test_waiting_for_approval_then_ready(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "pending-then-allowed"))

    states = wait_for_state(harness, "ready")

    assert states == ["waiting-for-approval", "ready"]


def test_waiting_for_approval_then_blocked(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "pending-then-blocked"))

    states = wait_for_state(harness, "blocked")

    assert states == ["waiting-for-approval", "blocked"]


@pytest.mark.parametrize("script", ["no-readers", "unavailable"])
def test_no_reader(harness, scripted_agent, script):
    connect(harness, ws_url(scripted_agent, script))

    assert wait_for_state(harness, "no-reader") == ["no-reader"]


def test_card_read_before_connecting(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "card-already-read"))

    states = wait_for_state(harness, "card-in")

    assert states == ["card-in"]
    assert harness.evaluate("() => window.cards") == [CARD["citizen_id"]]


def test_dropped_connection_reconnects(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "drops-after-hello"))

    harness.wait_for_function(
        "() => window.states.filter(s => s === 'ready').length >= 2",
        timeout=TIMEOUT_MS,
    )
    states = harness.evaluate("() => window.states")

    assert states[:3] == ["ready", "connecting", "ready"]


def test_photo_off_adds_query_parameter(harness):
    url = harness.evaluate(
        """() => new window.trayagent.TrayAgentClient({
            url: "ws://127.0.0.1:1/ws", photo: false })._url()"""
    )

    assert url == "ws://127.0.0.1:1/ws?photo=0"


def test_read_resolves_then_rejects_with_agent_code(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "reads"))
    wait_for_state(harness, "ready")

    outcome = harness.evaluate(
        """async () => {
            const first = await window.client.read();
            let second;
            try {
                await window.client.read();
            } catch (error) {
                second = { name: error.name, code: error.code, reader: error.reader };
            }
            return { first: first.card.citizen_id, id: first.id, second };
        }"""
    )

    assert outcome["first"] == CARD["citizen_id"]
    assert outcome["id"] == 1
    assert outcome["second"] == {
        "name": "TrayAgentError",
        "code": "CARD_REMOVED",
        "reader": READER,
    }


def test_read_joining_a_read_resolves_on_photo(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "joined-read"))
    wait_for_state(harness, "card-in")

    citizen_id = harness.evaluate(
        "async () => (await window.client.read()).card.citizen_id"
    )

    assert citizen_id == CARD["citizen_id"]


def test_read_when_not_connected_rejects(harness, closed_port_url):
    connect(harness, closed_port_url)

    code = harness.evaluate(
        "() => window.client.read().then(() => 'resolved', (error) => error.code)"
    )

    assert code == "NOT_CONNECTED"


def test_waiting_ends_when_agent_stops(harness, scripted_agent):
    # The agent stops while holding the connection, and comes back without
    # a tray, which rejects the site.
    connect(harness, ws_url(scripted_agent, "pending-once/stops"))

    states = wait_for_state(harness, "blocked")

    assert states == ["waiting-for-approval", "connecting", "blocked"]
    assert harness.evaluate("() => window.client.access") is None


def test_blocked_site_keeps_retrying_slowly(harness, scripted_agent):
    # The page records each delay the client requests. With retryDelay 1
    # and maxRetryDelay 100, slow retries request 50 to 100 ms, and the
    # fast sequence starts at 0.5 to 1 ms.
    connect_recording_delays(harness, ws_url(scripted_agent, "refused"))

    harness.wait_for_function(
        """() => {
            const index = window.timeline.findIndex(([, value]) => value === "blocked");
            return index >= 0 && window.timeline.slice(index).length > 4;
        }""",
        timeout=TIMEOUT_MS,
    )
    timeline = harness.evaluate("() => window.timeline")
    blocked_at = timeline.index(["state", "blocked"])
    later = timeline[blocked_at + 1 :]

    assert [entry for entry in later if entry[0] == "state"] == []
    assert all(delay >= 50 for _, delay in later), later


def test_full_agent_is_not_blocked(harness, full_agent):
    connect(harness, f"ws://127.0.0.1:{full_agent.server.port}/ws")

    # Each failure from the third on sends a probe. By the time the third
    # probe arrives, the client has long handled the response to the first.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while full_agent.requests["/api/status"] < 3:
        assert time.monotonic() < deadline, full_agent.requests
        harness.wait_for_timeout(50)
    states = harness.evaluate("() => window.states")

    assert "blocked" not in states
    assert "agent-not-running" not in states
    assert harness.evaluate("() => window.client.state") == "connecting"


def test_laser_and_nhso_events(harness, scripted_agent):
    connect(harness, ws_url(scripted_agent, "card-parts"))

    harness.wait_for_function("() => window.parts.length === 3", timeout=TIMEOUT_MS)
    parts = harness.evaluate("() => window.parts")
    reader = harness.evaluate("name => window.client.readers.get(name)", READER)

    laser = {"code": "JT1-2345678-90"}
    error = {"code": "APPLET_NOT_FOUND", "message": "m"}
    assert parts[0] == ["laser", READER, laser, None]
    assert parts[1] == ["nhso", READER, None, error]
    assert parts[2] == ["laser", READER, laser, None]
    assert reader["laser"] == {"laser": laser, "error": None}
    assert reader["nhso"] == {"nhso": None, "error": error}
