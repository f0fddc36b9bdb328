"""The ``/ws`` endpoint: admission, held connections, and client messages.

Runs on the ``ws-server`` thread. A connection from an allowed origin, or
from a program without an origin, is admitted at once: it gets ``hello`` and
every broadcast. A connection from an origin that staff have not decided on
yet is held: it gets one ``access`` message with state ``pending`` and
nothing else until :func:`allow_origin` admits it or :func:`block_origin`
closes it with code 1008.
"""

import asyncio
import collections
import enum
import logging
import math
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .. import __version__
from . import access, messages
from .clients import Client
from .context import CONFIG, HUB, SETTINGS, SOURCE
from .hub import Hub
from .limits import LimitLog

logger = logging.getLogger(__name__)

# Client messages larger than this get a MESSAGE_TOO_LARGE error and a
# warning in the log. Above MAX_FRAME_SIZE aiohttp closes the connection
# with code 1009 (message too big) instead, before the message is read.
MAX_MESSAGE_SIZE = 64 * 1024
MAX_FRAME_SIZE = 1024 * 1024

# Admitted connections open at once. A clinic PC runs a handful of tabs;
# more than this means a page that leaks connections.
MAX_CONNECTIONS = 32

# Connections held for sites that staff have not decided on, in total and
# per site. They have their own budget, apart from MAX_CONNECTIONS, so an
# unknown site can never make an allowed site's connections fail with 503.
MAX_HELD_CONNECTIONS = 8
MAX_HELD_PER_ORIGIN = 4

HELD = web.AppKey("held_connections", dict)
# Warnings about limits that clients hit, rate-limited per application.
LIMIT_LOG = web.AppKey("limit_log", LimitLog)
# Handshakes in progress of connections that will be held, by origin.
HANDSHAKES = web.AppKey("held_handshakes", collections.Counter)

# Tasks that nobody awaits, kept referenced until they end.
_background_tasks: set[asyncio.Task[None]] = set()


class Rejected(enum.Enum):
    """A client frame rejected before its JSON value is looked at.

    Each value is the error code of the reply. Enum members cannot be
    confused with any JSON value, as ``None`` or a string could.
    """

    BINARY_FRAME = "BINARY_FRAME"
    INVALID_JSON = "INVALID_JSON"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"


def hello(app: web.Application, client: Client | None) -> messages.Message:
    """Return the ``hello`` message: agent, settings, readers and cached cards."""
    hub, config = app[HUB], app[CONFIG]
    return messages.message(
        "hello",
        agent={"name": "trayagent", "version": __version__},
        protocol=messages.PROTOCOL_VERSION,
        simulated=config.simulated,
        settings=dict(app[SETTINGS]),
        service=service_fields(hub),
        readers=hub.cards_for(client),
    )


def service_fields(hub: Hub) -> dict[str, Any]:
    """Return the ``service`` object of ``hello`` and ``/api/status``."""
    body = hub.service_message()
    return {key: body[key] for key in ("state", "code", "message") if key in body}


async def handle(request: web.Request) -> web.StreamResponse:
    """Serve one WebSocket connection until it closes."""
    app = request.app
    hub = app[HUB]
    origin = access.request_origin(request)
    pending = access.request_verdict(request) is access.Verdict.PENDING
    held_origin = origin if pending else None
    refusal = _refuse_connection(app, held_origin)
    if refusal is not None:
        return refusal

    socket = web.WebSocketResponse(max_msg_size=MAX_FRAME_SIZE, heartbeat=30)
    client = Client(
        socket,
        _peer_name(request),
        include_photo=_wants_photo(request),
        transport=request.transport,
    )
    client.origin = origin
    await _prepare(app, socket, request, held_origin)
    client.start()
    try:
        if await _admit_or_hold(app, client):
            await _receive(app, client)
    finally:
        _forget(app, client)
        await client.close()
        logger.info(
            "WebSocket client disconnected: %s (%d connected)",
            client.name,
            len(hub.clients),
        )
    return socket


def connection_limit_reached(app: web.Application) -> bool:
    """Return whether admitted connections are at ``MAX_CONNECTIONS``.

    Logs a rate-limited warning when they are. Compatibility endpoints
    share the count because their clients join the same hub. They pass
    their own app, which must have a ``LIMIT_LOG``.
    """
    if len(app[HUB].clients) < MAX_CONNECTIONS:
        return False
    app[LIMIT_LOG].warning(
        "connections",
        "Rejected a WebSocket connection: %d connections already open",
        MAX_CONNECTIONS,
    )
    return True


def allow_origin(app: web.Application, origin: str) -> None:
    """Admit every connection held for ``origin``; call after the policy allows it."""
    for client in _held(app).pop(origin, []):
        client.send(messages.encode(_access_message("allowed", origin)))
        _admit(app, client)


async def block_origin(app: web.Application, origin: str) -> None:
    """Close every connection of ``origin``, held or admitted, with code 1008."""
    clients = _held(app).pop(origin, [])
    clients += [client for client in app[HUB].clients if client.origin == origin]
    for client in clients:
        app[HUB].remove_client(client)
        await client.close(WSCloseCode.POLICY_VIOLATION, "site not allowed")
    if clients:
        logger.info("Closed %d connection(s) of %s", len(clients), origin)


async def close_all(app: web.Application, timeout: float = 0.5) -> None:
    """Close every connection, held or admitted, as the server stops.

    The connections close together, and those still closing after
    ``timeout`` seconds are dropped. aiohttp's ``close()`` waits until the
    close frame has drained to a client that may have stopped reading, and,
    unless a handler is receiving, up to 10 s for the client's close frame.
    """
    clients = list(app[HUB].clients)
    for waiting in _held(app).values():
        clients += waiting
    closing = asyncio.gather(
        *(client.close(reason="agent stopping") for client in clients),
        return_exceptions=True,
    )
    try:
        await asyncio.wait_for(closing, timeout)
    except TimeoutError:
        logger.info(
            "Closing WebSocket clients timed out after %.1f s; dropped the rest",
            timeout,
        )


def _admit(app: web.Application, client: Client) -> None:
    hub = app[HUB]
    client.send(messages.encode(hello(app, client)))
    hub.add_client(client)
    logger.info(
        "WebSocket client connected: %s (%d connected)", client.name, len(hub.clients)
    )


def _refuse_connection(
    app: web.Application, held_origin: str | None
) -> web.Response | None:
    """Return a 503 response when the connection would exceed its limit."""
    if held_origin is None:
        if connection_limit_reached(app):
            return access.error_response("TOO_MANY_CONNECTIONS", 503)
        return None
    held, handshakes = _held(app), app[HANDSHAKES]
    if sum(map(len, held.values())) + handshakes.total() >= MAX_HELD_CONNECTIONS:
        app[LIMIT_LOG].warning(
            "held",
            "Rejected a WebSocket connection from %s: %d connections already "
            "wait for approval",
            held_origin,
            MAX_HELD_CONNECTIONS,
        )
        return access.error_response("TOO_MANY_CONNECTIONS", 503)
    if len(held.get(held_origin, [])) + handshakes[held_origin] >= MAX_HELD_PER_ORIGIN:
        app[LIMIT_LOG].warning(
            f"held {held_origin}",
            "Rejected a WebSocket connection from %s: %d connections of this "
            "site already wait for approval",
            held_origin,
            MAX_HELD_PER_ORIGIN,
        )
        return access.error_response("TOO_MANY_CONNECTIONS", 503)
    return None


async def _prepare(
    app: web.Application,
    socket: web.WebSocketResponse,
    request: web.Request,
    held_origin: str | None,
) -> None:
    """Complete the handshake, counting it against the held limits meanwhile."""
    handshakes = app[HANDSHAKES]
    if held_origin is not None:
        handshakes[held_origin] += 1
    try:
        await socket.prepare(request)
    finally:
        if held_origin is not None:
            handshakes[held_origin] -= 1
            if handshakes[held_origin] <= 0:
                del handshakes[held_origin]


async def _admit_or_hold(app: web.Application, client: Client) -> bool:
    """Admit, hold or close a new connection; return whether it stays open.

    Staff may have allowed or blocked the site while the handshake was
    being written, after :func:`allow_origin` or :func:`block_origin` had
    run, so the policy is checked again here rather than taken from the
    access middleware.
    """
    origin = client.origin
    if origin is None:
        _admit(app, client)
        return True
    verdict = app[access.POLICY].check(origin)
    if verdict is access.Verdict.ALLOWED:
        _admit(app, client)
        return True
    if verdict is not access.Verdict.PENDING:
        await client.close(WSCloseCode.POLICY_VIOLATION, "site not allowed")
        logger.info("Closed WebSocket client %s: site blocked", client.name)
        return False
    _held(app).setdefault(origin, []).append(client)
    client.send(messages.encode(_access_message("pending", origin)))
    logger.info("Holding WebSocket client %s until the site is allowed", client.name)
    return True


async def _receive(app: web.Application, client: Client) -> None:
    async for frame in client.socket:
        if frame.type == WSMsgType.TEXT:
            _on_text(app, client, frame.data)
        elif frame.type == WSMsgType.BINARY:
            _on_frame(app, client, Rejected.BINARY_FRAME)
        elif frame.type == WSMsgType.ERROR:
            logger.info(
                "WebSocket client %s failed: %s",
                client.name,
                client.socket.exception(),
            )


def _forget(app: web.Application, client: Client) -> None:
    app[HUB].remove_client(client)
    held = _held(app)
    if client.origin in held:
        held[client.origin] = [c for c in held[client.origin] if c is not client]
        if not held[client.origin]:
            del held[client.origin]


def _held(app: web.Application) -> dict[str, list[Client]]:
    return app[HELD]


def init_app(app: web.Application) -> None:
    """Set up this module's state on the application before it starts."""
    app[HELD] = {}
    app[HANDSHAKES] = collections.Counter()
    app[LIMIT_LOG] = LimitLog(logger)


def _access_message(state: str, origin: str) -> messages.Message:
    code = "ORIGIN_PENDING" if state == "pending" else None
    fields: dict[str, Any] = {"state": state, "origin": origin}
    if code is not None:
        fields.update(code=code, message=messages.error_message(code))
    return messages.message("access", **fields)


def _on_text(app: web.Application, client: Client, text: str) -> None:
    size = message_size(text)
    if size > MAX_MESSAGE_SIZE:
        log_oversized_message(app, client, size)
        _on_frame(app, client, Rejected.MESSAGE_TOO_LARGE)
        return
    _on_frame(app, client, decode_json(text))


def message_size(text: str) -> int:
    """Return the size of a text message in UTF-8 bytes, as it was sent."""
    return len(text.encode("utf-8", "surrogatepass"))


def log_oversized_message(app: web.Application, client: Client, size: int) -> None:
    """Log, rate-limited, that ``client`` sent a message over the size limit."""
    app[LIMIT_LOG].warning(
        f"size {client.origin}",
        "WebSocket client %s sent a %d-byte message; the limit is %d bytes",
        client.name,
        size,
        MAX_MESSAGE_SIZE,
    )


def decode_json(text: str) -> Any:
    """Return the JSON value of ``text``, or ``Rejected.INVALID_JSON``.

    Text that is not standard JSON is invalid, ``NaN`` and ``Infinity``
    included. Arrays or objects nested thousands deep fit in
    ``MAX_MESSAGE_SIZE`` but make :func:`json.loads` raise
    ``RecursionError``; they count as invalid too.
    """
    try:
        return messages.decode(text)
    except (ValueError, RecursionError):
        return Rejected.INVALID_JSON


def _on_frame(app: web.Application, client: Client, body: Any) -> None:
    """Handle one client frame: a decoded JSON value, or how it was rejected."""
    if not client.take_message_token():
        return
    if isinstance(body, Rejected):
        _reply_error(client, body.value, None)
        return
    if not isinstance(body, dict):
        _reply_error(client, "INVALID_MESSAGE", None, field="body")
        return
    request_id = body.get("id")
    if not _valid_id(request_id):
        _reply_error(client, "INVALID_MESSAGE", None, field="id")
        return
    kind = body.get("type")
    if not isinstance(kind, str):
        _reply_error(client, "INVALID_MESSAGE", request_id)
    elif kind == "ping":
        client.send(
            messages.encode(messages.with_id(messages.message("pong"), request_id))
        )
    elif client not in app[HUB].clients:
        _reply_error(client, "ORIGIN_PENDING", request_id)
    elif kind == "status":
        client.send(messages.encode(messages.with_id(hello(app, client), request_id)))
    elif kind == "read":
        _on_read(app, client, body.get("reader"), request_id)
    else:
        _reply_error(client, "UNKNOWN_TYPE", request_id)


def _on_read(
    app: web.Application, client: Client, reader: Any, request_id: Any
) -> None:
    hub, source = app[HUB], app[SOURCE]
    if reader is not None and not (
        isinstance(reader, str) and messages.is_valid_text(reader)
    ):
        _reply_error(client, "INVALID_MESSAGE", request_id, field="reader")
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
        future = source.request_read(name)
        # The read's events reach the hub on this loop, so none of them can
        # be handled before the request is stored.
        if future.read:
            hub.add_request(name, client, request_id, future.read)
        task = asyncio.ensure_future(
            _report_unstarted(client, name, future, request_id)
        )
        _background_tasks.add(task)
        task.add_done_callback(_background_tasks.discard)


async def _report_unstarted(
    client: Client, reader: str, future: Any, request_id: Any
) -> None:
    """Tell the client when its read could not even start.

    A remembered outcome (a card found not to be a Thai ID card) is sent
    again as the ``card.error`` that the read gave.
    """
    outcome = await asyncio.wrap_future(future)
    if outcome.remembered:
        body = messages.error("card.error", outcome.code, reader=reader)
        client.send(messages.encode(messages.with_id(body, request_id)))
    elif outcome.code in ("NO_CARD", "UNKNOWN_READER", "CARD_UNRESPONSIVE"):
        _reply_error(client, outcome.code, request_id, reader=reader)


def _reply_error(
    client: Client,
    code: str,
    request_id: Any,
    reader: str | None = None,
    field: str | None = None,
) -> None:
    body = messages.error("error", code, field=field, reader=reader)
    client.send(messages.encode(messages.with_id(body, request_id)))


def _valid_id(value: Any) -> bool:
    """Return whether a request ``id`` can be sent back as it came."""
    if value is None:
        return True
    if isinstance(value, str):
        return messages.is_valid_text(value)
    if isinstance(value, float):
        return math.isfinite(value)  # 1e999 decodes to infinity
    return isinstance(value, int) and not isinstance(value, bool)


def _wants_photo(request: web.Request) -> bool:
    return request.query.get("photo", "1").lower() not in ("0", "false", "no")


def _peer_name(request: web.Request) -> str:
    peer = request.remote or "?"
    origin = access.request_origin(request)
    return f"{peer} ({origin})" if origin else f"{peer} (no origin)"
