"""The REST API: ``/api/status``, ``/api/card``, ``/api/read``, ``/api/activate``.

Runs on the ``ws-server`` thread. The access middleware has already checked
``Host`` and ``Origin`` before a handler here runs; responses to allowed
cross-origin pages carry CORS headers added by that middleware. Requests for
an unknown ``/api/`` path or with a method its route does not take get JSON
errors from :func:`api_error_middleware`, which runs after the access checks.
"""

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from .. import __version__
from ..origins import normalize_origin
from ..status import ReaderState
from . import access, messages
from .access import POLICY, error_response
from .context import CONFIG, HUB, SETTINGS, SOURCE
from .hub import Hub, ReaderRecord
from .websocket import service_fields

logger = logging.getLogger(__name__)

# Largest request body accepted, in bytes.
MAX_BODY_SIZE = 64 * 1024

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


@web.middleware
async def api_error_middleware(
    request: web.Request, handler: access.Handler
) -> web.StreamResponse:
    """Return a JSON error for an unknown ``/api/`` path or a wrong method.

    aiohttp's router raises both as plain text, which other paths keep.
    """
    try:
        return await handler(request)
    except web.HTTPMethodNotAllowed as error:
        if not request.path.startswith("/api/"):
            raise
        allow = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else {}
        return error_response("METHOD_NOT_ALLOWED", 405, headers=allow)
    except web.HTTPNotFound:
        if not request.path.startswith("/api/"):
            raise
        return error_response("NOT_FOUND", 404)


def add_routes(app: web.Application) -> None:
    """Add the REST routes, with OPTIONS for CORS preflights."""
    app.router.add_get("/api/status", _status)
    app.router.add_get("/api/card", _card)
    app.router.add_post("/api/read", _read)
    app.router.add_post("/api/activate", _activate)
    app.router.add_get("/api/origins", _origins)
    app.router.add_post("/api/origins", _change_origin)
    for path in ("/api/status", "/api/card", "/api/read"):
        app.router.add_route("OPTIONS", path, _preflight)


async def _status(request: web.Request) -> web.StreamResponse:
    hub, config = request.app[HUB], request.app[CONFIG]
    body = {
        "agent": {"name": "trayagent", "version": __version__},
        "protocol": messages.PROTOCOL_VERSION,
        "simulated": config.simulated,
        "settings": dict(request.app[SETTINGS]),
        "service": service_fields(hub),
        "readers": [record.snapshot() for record in hub.readers.values()],
        "clients": len(hub.clients),
        "ws_url": f"ws://127.0.0.1:{config.port}/ws",
    }
    return _json_response(body)


async def _card(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    reader = request.query.get("reader")
    if reader is not None and reader not in hub.readers:
        return error_response("UNKNOWN_READER", 404)
    record = hub.present_card(reader)
    if record is None and _card_being_read(hub, reader):
        return error_response("CARD_READING", 409)
    if record is None:
        return error_response("NO_CARD", 404)
    return _json_response(_card_body(record, photo=_wants_photo(request)))


def _card_being_read(hub: Hub, reader: str | None) -> bool:
    """Return whether ``reader``, or any reader without one, is reading a card."""
    records = [hub.readers[reader]] if reader is not None else hub.readers.values()
    return any(record.state is ReaderState.READING for record in records)


async def _read(request: web.Request) -> web.StreamResponse:
    hub, source = request.app[HUB], request.app[SOURCE]
    try:
        body = await _request_json(request) if request.can_read_body else {}
    except ValueError:
        return error_response("INVALID_JSON", 400)
    if not isinstance(body, dict):
        return error_response("INVALID_MESSAGE", 400, field="body")
    reader = body.get("reader")
    if reader is not None and not (
        isinstance(reader, str) and messages.is_valid_text(reader)
    ):
        return error_response("INVALID_MESSAGE", 400, field="reader")
    if reader is None:
        present = source.readers_with_card()
        if not present:
            return error_response("NO_CARD" if hub.readers else "NO_READER", 404)
        if len(present) > 1:
            return error_response("READER_REQUIRED", 400)
        reader = present[0]
    elif reader not in hub.readers:
        return error_response("UNKNOWN_READER", 404)

    code = await wait_for_read(request.app, reader)
    if code is not None:
        return error_response(code, HTTP_STATUS_FOR_CODE.get(code, 502))
    record = hub.present_card(reader)
    if record is None:
        return error_response("CARD_REMOVED", 409)
    return _json_response(_card_body(record, photo=_wants_photo(request)))


async def _activate(request: web.Request) -> web.StreamResponse:
    """Let a second trayagent on this PC ask this one to show itself."""
    if not _from_program(request):
        return error_response("PROGRAMS_ONLY", 403)
    callback = request.app[CONFIG].on_activate
    if callback is not None:
        callback()
    return web.Response(status=204)


async def _origins(request: web.Request) -> web.StreamResponse:
    """List the allowed, blocked and waiting origins, for programs on this PC."""
    if not _from_program(request):
        return error_response("PROGRAMS_ONLY", 403)
    return _json_response(_origin_lists(request.app))


async def _change_origin(request: web.Request) -> web.StreamResponse:
    """Allow, block or forget an origin, for programs on this PC only.

    Web pages cannot call this: a request with ``Origin`` or with
    ``Sec-Fetch-Site`` comes from a browser and is rejected, and so is a
    body sent without ``Content-Type: application/json`` (HTTP 415).
    """
    if not _from_program(request):
        return error_response("PROGRAMS_ONLY", 403)
    # A page can send a cross-site POST without a preflight only as a
    # "simple" request, whose Content-Type is never application/json.
    if request.content_type != "application/json":
        logger.warning(
            "Rejected POST /api/origins: Content-Type %r is not application/json",
            request.content_type[:60],
        )
        return error_response("UNSUPPORTED_MEDIA_TYPE", 415)
    try:
        body = await _request_json(request)
    except ValueError:
        return error_response("INVALID_JSON", 400)
    if not isinstance(body, dict):
        return error_response("INVALID_MESSAGE", 400, field="body")
    origin = (
        normalize_origin(body.get("origin", ""))
        if isinstance(body.get("origin"), str)
        else None
    )
    if origin is None:
        return error_response("INVALID_MESSAGE", 400, field="origin")
    action = body.get("action")
    if action not in ("allow", "block", "forget"):
        return error_response("INVALID_MESSAGE", 400, field="action")
    callback = request.app[CONFIG].on_origin_change
    if callback is not None:
        callback(origin, action)
    # The change reaches the policy in a callback scheduled on this loop.
    await asyncio.sleep(0)
    return _json_response(_origin_lists(request.app))


def _origin_lists(app: web.Application) -> dict[str, list[str]]:
    policy = app[POLICY]
    return {
        "allowed": sorted(policy.allowed),
        "blocked": sorted(policy.blocked),
        "pending": sorted(policy.pending),
    }


def _from_program(request: web.Request) -> bool:
    no_origin = access.request_origin(request) is None
    return no_origin and "Sec-Fetch-Site" not in request.headers


async def _preflight(request: web.Request) -> web.StreamResponse:
    # The access middleware answers preflights of allowed origins itself.
    return error_response("FORBIDDEN_ORIGIN", 403)


async def wait_for_read(app: web.Application, reader: str) -> str | None:
    """Run a read of ``reader`` and return its error code, or ``None``."""
    future = app[SOURCE].request_read(reader)
    limit = app[CONFIG].read_timeout + READ_WAIT_MARGIN
    try:
        outcome = await asyncio.wait_for(asyncio.wrap_future(future), limit)
    except TimeoutError:
        return "READ_TIMEOUT"
    # The read's events were scheduled on this loop before its future
    # ended; one pass of the loop lets the hub apply them.
    await asyncio.sleep(0)
    return outcome.code


def _card_body(record: ReaderRecord, *, photo: bool) -> dict[str, Any]:
    assert record.card is not None
    body: dict[str, Any] = {"reader": record.name, "card": record.card["card"]}
    if photo:
        body["photo"] = record.photo["photo"] if record.photo else None
    return body


async def _request_json(request: web.Request) -> Any:
    """Return the request body's JSON value; raise ``ValueError`` if invalid."""
    try:
        return messages.decode(await request.text())
    except RecursionError as error:
        raise ValueError("JSON nested too deep") from error


def _wants_photo(request: web.Request) -> bool:
    return request.query.get("photo", "1").lower() not in ("0", "false", "no")


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(
        body,
        status=status,
        dumps=lambda value: json.dumps(value, ensure_ascii=False),
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
