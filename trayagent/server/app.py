"""The aiohttp application: routes, the WebSocket handler and the REST API.

Runs on the ``ws-server`` thread. Card reads happen on the monitor's
threads; handlers only await their futures, so the loop is never blocked by
a card.
"""

import asyncio
import json
import logging
import socket
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from .. import __version__
from ..errors import error_message
from . import access, messages
from .clients import Client
from .hub import Hub

logger = logging.getLogger(__name__)

# Client messages larger than this get a MESSAGE_TOO_LARGE error. aiohttp
# closes the connection (code 1009) only above MAX_FRAME_SIZE.
MAX_MESSAGE_SIZE = 64 * 1024
MAX_FRAME_SIZE = 1024 * 1024

# Extra seconds a REST read waits beyond the read's own time limit.
READ_WAIT_MARGIN = 5.0

HTTP_STATUS_FOR_CODE = {
    "NO_CARD": 404,
    "UNKNOWN_READER": 404,
    "NO_READER": 404,
    "READER_REQUIRED": 400,
    "NOT_THAI_ID_CARD": 422,
    "CARD_UNRESPONSIVE": 422,
    "CARD_REMOVED": 409,
    "READ_TIMEOUT": 504,
    "SERVICE_UNAVAILABLE": 503,
    "SERVICE_NO_ACCESS": 503,
    "READ_FAILED": 502,
}


class CardSource(Protocol):
    """Where reads come from: the PC/SC monitor, or the simulated reader."""

    def request_read(self, reader: str) -> Any:
        """Start or join a read; return a ``concurrent.futures.Future``."""
        ...

    def readers_with_card(self) -> list[str]:
        """Return the readers that hold a card that answers."""
        ...


@dataclass
class ServerConfig:
    """What the handlers need besides the hub.

    :param port: the port the server is bound to.
    :param read_timeout: the time limit of one card read, in seconds.
    :param simulated: whether cards come from the simulated reader.
    :param extra_origins: origins allowed beside the loopback pages.
    """

    port: int
    read_timeout: float = 10.0
    simulated: bool = False
    extra_origins: frozenset[str] = frozenset()


# Tasks that nobody awaits, kept referenced until they end.
_background_tasks: set[asyncio.Task[None]] = set()

HUB = web.AppKey("hub", Hub)
SOURCE = web.AppKey("source", CardSource)
CONFIG = web.AppKey("config", ServerConfig)
SETTINGS = web.AppKey("settings", dict)


def create_app(hub: Hub, source: CardSource, config: ServerConfig) -> web.Application:
    """Build the application with its routes and access checks."""
    app = web.Application(
        middlewares=[_access_middleware], client_max_size=MAX_MESSAGE_SIZE
    )
    app[HUB] = hub
    app[SOURCE] = source
    app[CONFIG] = config
    app[SETTINGS] = {"auto_read": True, "include_photo": True}
    app.router.add_get("/", _index)
    app.router.add_get("/ws", _websocket)
    app.router.add_get("/api/status", _status)
    app.router.add_get("/api/card", _card)
    app.router.add_post("/api/read", _read)
    app.on_shutdown.append(_close_clients)
    return app


def hello(app: web.Application, client: Client | None) -> messages.Message:
    """Return the ``hello`` message: agent, settings, readers and cached cards."""
    hub, config = app[HUB], app[CONFIG]
    return messages.message(
        "hello",
        agent={"name": "trayagent", "version": __version__},
        protocol=messages.PROTOCOL_VERSION,
        simulated=config.simulated,
        settings=dict(app[SETTINGS]),
        service=_service_fields(hub),
        readers=hub.cards_for(client),
    )


def announce_settings(app: web.Application, settings: dict[str, bool]) -> None:
    """Store the client-visible settings and tell every client."""
    app[SETTINGS] = dict(settings)
    app[HUB].broadcast(messages.message("settings", settings=dict(settings)))


# Access checks


@web.middleware
async def _access_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    config = request.app[CONFIG]
    host = request.headers.get("Host", "")
    if host.lower() not in access.allowed_hosts(config.port):
        logger.warning(
            "Rejected a request for %s with Host %r", request.path, host[:100]
        )
        return _error_response("FORBIDDEN_HOST", 403)
    origin = request.headers.get("Origin")
    if origin is not None and not _origin_allowed(origin, config):
        logger.warning(
            "Rejected a request for %s from origin %r", request.path, origin[:200]
        )
        return _error_response("FORBIDDEN_ORIGIN", 403)
    return await handler(request)


def _origin_allowed(origin: str, config: ServerConfig) -> bool:
    normalized = access.normalize_origin(origin)
    if normalized is None:
        return False
    return access.is_loopback_origin(normalized) or normalized in config.extra_origins


# HTTP handlers


async def _index(request: web.Request) -> web.StreamResponse:
    page = (
        resources.files("trayagent.server").joinpath("static/index.html").read_bytes()
    )
    return web.Response(
        body=page,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


async def _status(request: web.Request) -> web.StreamResponse:
    hub, config = request.app[HUB], request.app[CONFIG]
    body = {
        "agent": {"name": "trayagent", "version": __version__},
        "protocol": messages.PROTOCOL_VERSION,
        "simulated": config.simulated,
        "settings": dict(request.app[SETTINGS]),
        "service": _service_fields(hub),
        "readers": [record.snapshot() for record in hub.readers.values()],
        "clients": len(hub.clients),
        "ws_url": f"ws://127.0.0.1:{config.port}/ws",
    }
    return _json_response(body)


async def _card(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    reader = request.query.get("reader")
    if reader is not None and reader not in hub.readers:
        return _error_response("UNKNOWN_READER", 404)
    record = hub.present_card(reader)
    if record is None:
        return _error_response("NO_CARD", 404)
    return _json_response(_card_body(record, photo=_wants_photo(request)))


async def _read(request: web.Request) -> web.StreamResponse:
    hub, source = request.app[HUB], request.app[SOURCE]
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        return _error_response("INVALID_JSON", 400)
    if not isinstance(body, dict) or not isinstance(
        body.get("reader", ""), (str, type(None))
    ):
        return _error_response("INVALID_MESSAGE", 400)
    reader = body.get("reader")
    if reader is None:
        present = source.readers_with_card()
        if not present:
            return _error_response("NO_CARD", 404)
        if len(present) > 1:
            return _error_response("READER_REQUIRED", 400)
        reader = present[0]
    elif reader not in hub.readers:
        return _error_response("UNKNOWN_READER", 404)

    hub.add_request(reader, None, None)
    outcome = await _await_read(request.app, reader)
    if outcome is not None:
        return _error_response(outcome, HTTP_STATUS_FOR_CODE.get(outcome, 502))
    record = hub.present_card(reader)
    if record is None:
        return _error_response("CARD_REMOVED", 409)
    return _json_response(_card_body(record, photo=_wants_photo(request)))


async def _await_read(app: web.Application, reader: str) -> str | None:
    """Run a read and return its error code, or ``None`` on success."""
    future = app[SOURCE].request_read(reader)
    limit = app[CONFIG].read_timeout + READ_WAIT_MARGIN
    try:
        outcome = await asyncio.wait_for(asyncio.wrap_future(future), limit)
    except TimeoutError:
        return "READ_TIMEOUT"
    # The outcome's events were scheduled on this loop before the future
    # ended; one pass of the loop lets the hub apply them.
    await asyncio.sleep(0)
    return outcome.code


# WebSocket


async def _websocket(request: web.Request) -> web.StreamResponse:
    app = request.app
    hub = app[HUB]
    socket_response = web.WebSocketResponse(max_msg_size=MAX_FRAME_SIZE, heartbeat=30)
    await socket_response.prepare(request)
    name = _peer_name(request)
    client = Client(socket_response, name, include_photo=_wants_photo(request))
    client.start()
    client.send(messages.encode(hello(app, client)))
    hub.add_client(client)
    logger.info("WebSocket client connected: %s (%d connected)", name, len(hub.clients))
    try:
        async for frame in socket_response:
            if frame.type == WSMsgType.TEXT:
                _handle_text(app, client, frame.data)
            elif frame.type == WSMsgType.BINARY:
                client.send(messages.encode(messages.error("error", "BINARY_FRAME")))
            elif frame.type == WSMsgType.ERROR:
                logger.info(
                    "WebSocket client %s failed: %s", name, socket_response.exception()
                )
    finally:
        hub.remove_client(client)
        await client.close()
        logger.info(
            "WebSocket client disconnected: %s (%d connected)", name, len(hub.clients)
        )
    return socket_response


def _handle_text(app: web.Application, client: Client, text: str) -> None:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_SIZE:
        _reply_error(client, "MESSAGE_TOO_LARGE", None)
        return
    try:
        body = json.loads(text)
    except ValueError:
        _reply_error(client, "INVALID_JSON", None)
        return
    if not isinstance(body, dict):
        _reply_error(client, "INVALID_MESSAGE", None)
        return
    request_id = body.get("id")
    if not _valid_id(request_id):
        _reply_error(client, "INVALID_MESSAGE", None)
        return
    kind = body.get("type")
    if not isinstance(kind, str):
        _reply_error(client, "INVALID_MESSAGE", request_id)
    elif kind == "ping":
        client.send(
            messages.encode(messages.with_id(messages.message("pong"), request_id))
        )
    elif kind == "status":
        client.send(messages.encode(messages.with_id(hello(app, client), request_id)))
    elif kind == "read":
        _handle_read(app, client, body.get("reader"), request_id)
    else:
        _reply_error(client, "UNKNOWN_TYPE", request_id)


def _handle_read(
    app: web.Application, client: Client, reader: Any, request_id: Any
) -> None:
    hub, source = app[HUB], app[SOURCE]
    if reader is not None and not isinstance(reader, str):
        _reply_error(client, "INVALID_MESSAGE", request_id)
        return
    if reader is None:
        readers = source.readers_with_card()
        if not readers:
            _reply_error(client, "NO_CARD" if hub.readers else "NO_READER", request_id)
            return
    elif reader not in hub.readers:
        _reply_error(client, "UNKNOWN_READER", request_id, reader=reader)
        return
    else:
        readers = [reader]
    for name in readers:
        hub.add_request(name, client, request_id)
        future = source.request_read(name)
        task = asyncio.ensure_future(
            _report_unstarted_read(client, name, future, request_id)
        )
        _background_tasks.add(task)
        task.add_done_callback(_background_tasks.discard)


async def _report_unstarted_read(
    client: Client, reader: str, future: Any, request_id: Any
) -> None:
    """Tell the client when its read could not even start."""
    outcome = await asyncio.wrap_future(future)
    if outcome.code in ("NO_CARD", "UNKNOWN_READER", "CARD_UNRESPONSIVE"):
        _reply_error(client, outcome.code, request_id, reader=reader)


def _reply_error(
    client: Client, code: str, request_id: Any, reader: str | None = None
) -> None:
    body = messages.error("error", code, reader=reader)
    client.send(messages.encode(messages.with_id(body, request_id)))


def _valid_id(value: Any) -> bool:
    return value is None or (
        isinstance(value, (str, int, float)) and not isinstance(value, bool)
    )


# Helpers


def _service_fields(hub: Hub) -> dict[str, Any]:
    body = hub.service_message()
    return {key: body[key] for key in ("state", "code", "message") if key in body}


def _card_body(record: Any, *, photo: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"reader": record.name, "card": record.card["card"]}
    if photo:
        body["photo"] = record.photo["photo"] if record.photo else None
    return body


def _wants_photo(request: web.Request) -> bool:
    return request.query.get("photo", "1").lower() not in ("0", "false", "no")


def _peer_name(request: web.Request) -> str:
    peer = request.remote or "?"
    origin = request.headers.get("Origin")
    return f"{peer} ({origin})" if origin else f"{peer} (no origin)"


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(
        body,
        status=status,
        dumps=lambda value: json.dumps(value, ensure_ascii=False),
        headers={"Cache-Control": "no-store"},
    )


def _error_response(code: str, status: int) -> web.Response:
    return _json_response(
        {"error": {"code": code, "message": error_message(code)}}, status
    )


async def _close_clients(app: web.Application) -> None:
    for client in list(app[HUB].clients):
        await client.close(reason="agent stopping")


def family_supported(family: socket.AddressFamily) -> bool:
    """Return whether this machine can bind a socket of ``family`` on loopback."""
    address = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True
