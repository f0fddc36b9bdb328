"""client.js in headless Chromium against scripted agents: its states and read().

A scripted agent is a small aiohttp server whose ``/ws/NAME`` endpoints
play one situation each (a site waiting for approval, a blocked site, no
reader, a read that fails), so every state a page must show is reached.
"""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import WSCloseCode, web

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
}


def make_scripted_agent() -> web.Application:
    app = web.Application()

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

    async def scripted(request):
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await SCRIPTS[request.match_info["name"]](socket)
        return socket

    app.router.add_get("/", harness)
    app.router.add_get("/client.js", client_js)
    app.router.add_get("/ws/blocked", blocked)
    app.router.add_get("/ws/refused", refused)
    app.router.add_get("/ws/{name}", scripted)
    app.router.add_get("/api/status", refused)
    return app


@pytest.fixture(scope="module")
def scripted_agent() -> Iterator[ServerThread]:
    server = ServerThread(make_scripted_agent, free_port())
    server.start()
    yield server
    server.stop()


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
