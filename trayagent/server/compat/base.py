"""The parts every compatibility endpoint shares: app, socket loop and client.

Runs on the ``ws-server`` thread. A compatibility app has the agent's
access middleware and origin policy, so the Host check and the allowed and
blocked sites apply to it exactly as to ``/ws``. Its clients join the
agent's hub and receive every broadcast; :class:`TranslatingClient` turns
each message into the old format.

The old formats send the card once, photo included, where trayagent sends
``card.read`` and then ``card.photo``, ``card.laser`` and ``card.nhso`` as
each is read. A :class:`TranslatingClient` keeps the ``card.read`` back
until every part that the agent's settings switch on has arrived, and then
translates them as one ``card.read`` with ``photo``, ``laser`` and ``nhso``
fields.
"""

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .. import access, messages
from ..clients import Client
from ..context import CONFIG, HUB, SOURCE, CardSource, ServerConfig
from ..hub import Hub
from ..limits import LimitLog
from ..rest import MAX_BODY_SIZE, READ_WAIT_MARGIN
from ..websocket import (
    LIMIT_LOG,
    MAX_FRAME_SIZE,
    MAX_MESSAGE_SIZE,
    Rejected,
    connection_limit_reached,
    decode_json,
    log_oversized_message,
    message_size,
)

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Translate = Callable[[Message], list[Message]]

# The close reason sent to a site that is not allowed yet. The old formats
# have no message for "waiting", so staff allow the site in the tray, which
# the policy has notified, and the page connects again.
NOT_ALLOWED_REASON = b"site not allowed; allow it in the trayagent tray"


@dataclass
class CompatState:
    """Per-app state that the app's clients read.

    :param include_photo: whether the agent reads photos, so whether a
        ``card.read`` is held for its ``card.photo``.
    :param read_laser_id: likewise for ``card.laser``.
    :param read_nhso: likewise for ``card.nhso``.
    :param part_wait: seconds a held ``card.read`` waits for its parts
        before it is sent with those that arrived.
    """

    include_photo: bool = True
    read_laser_id: bool = False
    read_nhso: bool = False
    part_wait: float = 15.0

    def update(self, settings: dict[str, Any]) -> None:
        """Take the parts to wait for from the agent's client-visible settings."""
        self.include_photo = bool(settings.get("include_photo", True))
        self.read_laser_id = bool(settings.get("read_laser_id", False))
        self.read_nhso = bool(settings.get("read_nhso", False))

    def parts(self) -> set[str]:
        """Return the parts that follow a ``card.read``: photo, laser, nhso."""
        switched = {
            "photo": self.include_photo,
            "laser": self.read_laser_id,
            "nhso": self.read_nhso,
        }
        return {part for part, on in switched.items() if on}


# The message that carries each part of a card, and the part's field in it.
_PART_MESSAGES = {"card.photo": "photo", "card.laser": "laser", "card.nhso": "nhso"}


@dataclass
class _HeldCard:
    """A ``card.read`` waiting for its parts, with the parts that arrived."""

    card: Message
    waiting: set[str]
    timer: asyncio.TimerHandle


COMPAT = web.AppKey("compat_state", CompatState)
CLIENTS = web.AppKey("compat_clients", set)


def create_base_app(
    hub: Hub,
    source: CardSource,
    config: ServerConfig,
    policy: access.OriginPolicy | None,
) -> web.Application:
    """Build an app with the agent's access checks and shared state, no routes."""
    app = web.Application(
        middlewares=[access.access_middleware], client_max_size=MAX_BODY_SIZE
    )
    app[HUB] = hub
    app[SOURCE] = source
    app[CONFIG] = config
    app[access.POLICY] = policy or access.OriginPolicy()
    app[COMPAT] = CompatState(part_wait=config.read_timeout + READ_WAIT_MARGIN)
    app[CLIENTS] = set()
    app[LIMIT_LOG] = LimitLog(logger)
    app.on_shutdown.append(_close_clients)
    return app


def set_settings(app: web.Application, settings: dict[str, bool]) -> None:
    """Tell a compatibility app the agent's client-visible settings.

    Call it once when the app is created. Later changes reach the app's
    clients through the hub's ``settings`` broadcasts.
    """
    app[COMPAT].update(settings)


def add_preflight_routes(app: web.Application, paths: tuple[str, ...]) -> None:
    """Add OPTIONS routes for CORS preflights of the REST paths.

    The access middleware responds to the preflights of allowed origins
    before these routes run; the routes reject every other origin.
    """
    for path in paths:
        app.router.add_route("OPTIONS", path, _preflight)


class TranslatingClient(Client):
    """A WebSocket client that receives broadcasts in an old format.

    Subclasses set :attr:`translate`, the module's pure translation
    function. Photos are always requested from the hub, because both old
    formats carry the photo inside the card.
    """

    translate: Translate

    def __init__(
        self,
        socket: web.WebSocketResponse,
        name: str,
        state: CompatState,
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        super().__init__(socket, name, include_photo=True, transport=transport)
        self._state = state
        self._held: dict[str, tuple[Message, asyncio.TimerHandle]] = {}

    def deliver(self, body: Message, text: str) -> None:
        """Translate one of the agent's messages and queue the result."""
        for message in self._assemble(body):
            self.send_old(self.translate(message))

    def send_old(self, bodies: list[Message]) -> None:
        """Queue messages of the old format."""
        for body in bodies:
            self.send(messages.encode(body))

    async def close(self, code: int = WSCloseCode.GOING_AWAY, reason: str = "") -> None:
        """Drop any held card, stop the writer and close the socket."""
        for held in self._held.values():
            held.timer.cancel()
        self._held.clear()
        await super().close(code, reason)

    def _assemble(self, body: Message) -> list[Message]:
        """Return the messages to translate now, holding a card for its parts."""
        kind, reader = body.get("type"), body.get("reader")
        if kind == "settings":
            self._state.update(body.get("settings", {}))
            return [body]
        if not isinstance(reader, str):
            return [body]
        if kind == "card.read":
            self._release(reader)
            return self._hold(reader, body)
        held = self._held.get(reader)
        if held is None:
            return [body]
        if kind in _PART_MESSAGES:
            part = _PART_MESSAGES[kind]
            held.card = {**held.card, part: body.get(part)}
            return self._arrived(reader, held, part)
        if kind == "card.error" and body.get("code") == "PHOTO_INVALID":
            return self._arrived(reader, held, "photo")
        if kind == "card.error":
            # The text fields were read before the read failed; the agent's
            # own clients have them already, so these clients get them too.
            card = self._release(reader)
            assert card is not None
            return [card, body]
        if kind == "card.removed":
            self._release(reader)  # the card left before its parts
        return [body]

    def _hold(self, reader: str, card: Message) -> list[Message]:
        waiting = self._state.parts()
        if not waiting:
            return [card]
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self._state.part_wait, self._timed_out, reader)
        self._held[reader] = _HeldCard(card, waiting, timer)
        return []

    def _arrived(self, reader: str, held: _HeldCard, part: str) -> list[Message]:
        held.waiting.discard(part)
        if held.waiting:
            return []
        card = self._release(reader)
        return [card] if card is not None else []

    def _release(self, reader: str) -> Message | None:
        held = self._held.pop(reader, None)
        if held is None:
            return None
        held.timer.cancel()
        return held.card

    def _timed_out(self, reader: str) -> None:
        held = self._held.get(reader)
        if held is None:
            return
        logger.info(
            "No %s arrived for %s within %.0f s; sending the card without",
            " or ".join(sorted(held.waiting)),
            reader,
            self._state.part_wait,
        )
        card = self._release(reader)
        if card is not None:
            self.send_old(self.translate(card))


MakeClient = Callable[[web.WebSocketResponse, str], TranslatingClient]
OnMessage = Callable[[web.Application, TranslatingClient, Any], None]


async def serve_websocket(
    request: web.Request,
    make_client: MakeClient,
    on_message: OnMessage,
    greeting: list[Message] | None = None,
) -> web.StreamResponse:
    """Serve one WebSocket of an old format until it closes.

    :param make_client: builds the client from the socket and a log label.
    :param on_message: called with each text frame decoded as JSON, or with
        ``None`` for a frame that is not JSON.
    :param greeting: messages sent before any broadcast.
    """
    app = request.app
    hub = app[HUB]
    allowed = access.request_verdict(request) is access.Verdict.ALLOWED
    # Sites that are not allowed are closed right after the handshake, so
    # only connections that will join the hub count against its limit.
    if allowed and connection_limit_reached(app):
        return access.error_response("TOO_MANY_CONNECTIONS", 503)
    socket = web.WebSocketResponse(max_msg_size=MAX_FRAME_SIZE, heartbeat=30)
    await socket.prepare(request)
    name = _peer_name(request)
    if not allowed:
        logger.info("Closed compatibility WebSocket %s: site not allowed yet", name)
        await socket.close(
            code=WSCloseCode.POLICY_VIOLATION, message=NOT_ALLOWED_REASON
        )
        return socket
    client = make_client(socket, name)
    client.origin = access.request_origin(request)
    client.start()
    client.send_old(greeting or [])
    hub.add_client(client)
    app[CLIENTS].add(client)
    logger.info("Compatibility WebSocket client connected: %s", name)
    try:
        await _receive(app, socket, client, on_message)
    finally:
        hub.remove_client(client)
        app[CLIENTS].discard(client)
        await client.close()
        logger.info("Compatibility WebSocket client disconnected: %s", name)
    return socket


async def _receive(
    app: web.Application,
    socket: web.WebSocketResponse,
    client: TranslatingClient,
    on_message: OnMessage,
) -> None:
    async for frame in socket:
        if frame.type != WSMsgType.TEXT or not client.take_message_token():
            continue
        size = message_size(frame.data)
        if size > MAX_MESSAGE_SIZE:
            # The old formats have no error for this, so the message is
            # dropped without a reply.
            log_oversized_message(app, client, size)
            continue
        body = decode_json(frame.data)
        on_message(app, client, None if body is Rejected.INVALID_JSON else body)


def request_reads(app: web.Application) -> str | None:
    """Start or join a read of every card that responds to its reader.

    :returns: ``NO_CARD`` or ``NO_READER`` when there is nothing to read,
        else ``None``; the results arrive as broadcasts.
    """
    hub, source = app[HUB], app[SOURCE]
    readers = source.readers_with_card()
    if not readers:
        return "NO_CARD" if hub.readers else "NO_READER"
    for reader in readers:
        source.request_read(reader)
    return None


def strip_prefix(value: str | None, *prefixes: str) -> str:
    """Return ``value`` without the first of ``prefixes`` it starts with, trimmed."""
    if not value:
        return ""
    for prefix in prefixes:
        if value.startswith(prefix):
            return value[len(prefix) :].strip()
    return value.strip()


def json_response(body: Any, status: int = 200) -> web.Response:
    """Return ``body`` as UTF-8 JSON that no cache keeps."""
    return web.json_response(
        body,
        status=status,
        dumps=lambda value: json.dumps(value, ensure_ascii=False),
        headers={"Cache-Control": "no-store"},
    )


def message_time(message: Message) -> str:
    """Return a message's ``time``, or now for a message without one."""
    time = message.get("time")
    return time if isinstance(time, str) else messages.now()


async def _preflight(request: web.Request) -> web.StreamResponse:
    # The access middleware responds to preflights of allowed origins itself.
    return access.error_response("FORBIDDEN_ORIGIN", 403)


async def _close_clients(app: web.Application) -> None:
    clients: set[TranslatingClient] = app[CLIENTS]
    for client in list(clients):
        await client.close(reason="agent stopping")


def _peer_name(request: web.Request) -> str:
    peer = request.remote or "?"
    origin = access.request_origin(request)
    return f"{peer} ({origin}, compatibility)" if origin else f"{peer} (compatibility)"
