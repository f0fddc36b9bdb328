"""pythaiidcard's API server on port 8765, served by trayagent.

Runs on the ``ws-server`` thread. pythaiidcard (github.com/ninyawee/
pythaiidcard) has a FastAPI server whose ``/ws`` sends ``{"type", ...}``
events (``connected``, ``card_inserted``, ``card_read``, ``card_removed``,
``reader_status``, ``error``, ``pong``), takes the commands ``read_card``,
``ping`` and ``subscribe``, and has a REST API under ``/api``.
:func:`translate` maps the agent's messages to those events, and
:func:`card_data` builds the card as the server dumps its ``ThaiIDCard``
model; docs/compatibility.md has the tables and what cannot be mapped.
"""

import datetime
import logging
from typing import Any

from aiohttp import web

from ... import __version__
from ...errors import error_message
from .. import access
from ..context import HUB, SOURCE, CardSource, ServerConfig
from ..hub import Hub
from ..rest import wait_for_read
from . import base
from .base import COMPAT, Message, TranslatingClient, json_response, strip_prefix

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8765

CONNECTED_TEXT = (
    "WebSocket connected to Thai ID Card Reader - open (no passcode configured)"
)
NO_READER_TEXT = "No reader connection available"
NO_CARD_TEXT = "No card detected in reader"

# The error codes of pythaiidcard's events.
CARD_READ_ERROR = "CARD_READ_ERROR"
NO_READER_CONNECTION = "NO_READER_CONNECTION"

REST_PATHS = (
    "/api/status",
    "/api/readers",
    "/api/card/current",
    "/api/card/read",
    "/api/health",
)


def translate(message: Message, today: datetime.date | None = None) -> list[Message]:
    """Return the pythaiidcard events for one of the agent's messages.

    A ``card.read`` may carry the card's ``photo`` object, as
    :class:`~trayagent.server.compat.base.TranslatingClient` builds it.
    Messages with no counterpart give an empty list.

    :param today: the date that ``age`` and the expiry fields count from;
        the PC's date when ``None``.
    """
    kind = message.get("type")
    reader = message.get("reader")
    if kind == "card.inserted":
        return [_event(message, "card_inserted", "Card detected", reader=reader)]
    if kind == "card.read":
        data = card_data(message["card"], message.get("photo"), today)
        text = "Card data read successfully"
        return [_event(message, "card_read", text, reader=reader, data=data)]
    if kind == "card.removed":
        return [_event(message, "card_removed", "Card removed", reader=reader)]
    if kind == "card.error":
        text = f"Failed to read card: {message.get('message', '')}"
        return [_event(message, "error", text, error_code=CARD_READ_ERROR)]
    if kind == "error":
        return [_request_error(message, message.get("code", ""))]
    if kind == "reader.added":
        status = {"status": "reader_connected"}
        text = "Card reader connected"
        return [_event(message, "reader_status", text, reader=reader, data=status)]
    if kind == "service" and message.get("state") != "available":
        status = {"status": "no_readers"}
        text = "No card readers detected"
        return [_event(message, "reader_status", text, data=status)]
    if kind == "pong":
        return [_event(message, "pong", "pong")]
    return []


def card_data(
    card: dict[str, Any],
    photo: dict[str, Any] | None = None,
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """Return the card as pythaiidcard's server sends it in ``card_read``.

    Dates are ISO ``YYYY-MM-DD``, or ``None`` when the card gives no full
    date (a year-only birth date, a lifetime expiry). With a photo the data
    has ``photo_base64``, a ``data:image/jpeg;base64,`` URL; without one it
    has ``photo: None``, as that server sends.
    """
    today = today or datetime.date.today()
    thai, english = _name(card["name_th"]), _name(card["name_en"])
    address = _address(card["address"])
    birth = _full_date(card["birth_date"])
    expiry = _full_date(card["expiry_date"])
    issue = _full_date(card["issue_date"])
    gender = card["gender"]["raw"]
    data: dict[str, Any] = {
        "cid": card["citizen_id"],
        "thai_name": thai,
        "english_name": english,
        "date_of_birth": birth,
        "gender": gender,
        "card_issuer": card["issuer"],
        "issue_date": issue,
        "expire_date": expiry,
        "address_info": address,
        # Properties of the ThaiIDCard model that its dump includes.
        "thai_fullname": thai["full_name"],
        "english_fullname": english["full_name"],
        "address": address["address"],
        "gender_text": {"1": "Male", "2": "Female"}.get(gender),
        "age": _age(birth, today),
        "is_expired": _is_expired(card["expiry_date"], expiry, today),
        "days_until_expiry": _days_until(expiry, today),
        # Names of the same values in the model that pythaiidcard's own web
        # page reads (web_app/app.js).
        "name_th": thai["full_name"],
        "name_en": english["full_name"],
        "date_of_issue": issue,
        "date_of_expiry": expiry,
    }
    data_url = (photo or {}).get("data_url")
    if data_url:
        data["photo_base64"] = data_url
    else:
        data["photo"] = None
    return data


def _name(name: dict[str, str]) -> dict[str, str]:
    return {
        "prefix": name["prefix"],
        "first_name": name["first"],
        "middle_name": name["middle"],
        "last_name": name["last"],
        "full_name": name["full"],
    }


def _address(address: dict[str, Any]) -> dict[str, str]:
    street = [address["trok"], address["road"], *address["extra"]]
    return {
        "house_no": address["house_no"] or "",
        "moo": strip_prefix(address["moo"], "หมู่ที่"),
        "soi": strip_prefix(address["soi"], "ซอย"),
        "street": " ".join(part for part in street if part),
        "subdistrict": strip_prefix(address["subdistrict"], "ตำบล", "แขวง"),
        "district": strip_prefix(address["district"], "อำเภอ", "เขต"),
        "province": strip_prefix(address["province"], "จังหวัด"),
        "address": address["full"],
    }


def _full_date(date: dict[str, Any]) -> str | None:
    return date["date"] if date["precision"] == "day" else None


def _age(birth: str | None, today: datetime.date) -> int | None:
    if birth is None:
        return None
    born = datetime.date.fromisoformat(birth)
    before_birthday = (today.month, today.day) < (born.month, born.day)
    return today.year - born.year - before_birthday


def _is_expired(
    expiry: dict[str, Any], date: str | None, today: datetime.date
) -> bool | None:
    if expiry["lifetime"]:
        return False
    if date is None:
        return None
    return datetime.date.fromisoformat(date) < today


def _days_until(date: str | None, today: datetime.date) -> int | None:
    if date is None:
        return None
    return (datetime.date.fromisoformat(date) - today).days


def _request_error(message: Message, code: str) -> Message:
    if code in ("NO_CARD", "NO_READER"):
        return _event(message, "error", NO_READER_TEXT, error_code=NO_READER_CONNECTION)
    return _event(message, "error", error_message(code), error_code=code)


def _event(
    message: Message,
    kind: str,
    text: str,
    *,
    reader: str | None = None,
    data: Any = None,
    error_code: str | None = None,
) -> Message:
    return {
        "type": kind,
        "message": text,
        "data": data,
        "reader": reader,
        "error_code": error_code,
        "timestamp": base.message_time(message),
    }


class PythaiidcardClient(TranslatingClient):
    """A WebSocket client that receives pythaiidcard events."""

    translate = staticmethod(translate)


def create_app(
    hub: Hub,
    source: CardSource,
    config: ServerConfig,
    policy: access.OriginPolicy | None = None,
) -> web.Application:
    """Build pythaiidcard's ``/ws`` and its REST API under ``/api``.

    :param config: ``port`` must be the port this app listens on, 8765 for
        pages written for pythaiidcard.
    :param policy: the agent's origin policy, so this endpoint serves the
        same sites.
    """
    app = base.create_base_app(hub, source, config, policy)
    app.router.add_get("/ws", _websocket)
    app.router.add_get("/api/status", _status)
    app.router.add_get("/api/readers", _readers)
    app.router.add_get("/api/card/current", _current_card)
    app.router.add_post("/api/card/read", _read_card)
    app.router.add_get("/api/health", _health)
    base.add_preflight_routes(app, REST_PATHS)
    return app


# WebSocket


async def _websocket(request: web.Request) -> web.StreamResponse:
    state = request.app[COMPAT]

    def make_client(socket: web.WebSocketResponse, name: str) -> TranslatingClient:
        return PythaiidcardClient(socket, name, state, request.transport)

    greeting = _event({}, "connected", CONNECTED_TEXT)
    return await base.serve_websocket(request, make_client, _on_message, [greeting])


def _on_message(app: web.Application, client: TranslatingClient, body: Any) -> None:
    """Handle ``read_card``, ``ping`` and ``subscribe``; ignore anything else."""
    command = body.get("type") if isinstance(body, dict) else None
    if command == "read_card":
        code = base.request_reads(app)
        if code is not None:
            client.send_old([_request_error({}, code)])
    elif command == "ping":
        client.send_old([_event({}, "pong", "pong")])
    elif command != "subscribe":
        shown = command[:40] if isinstance(command, str) else type(body).__name__
        logger.info("Ignoring an unknown pythaiidcard command: %r", shown)


# REST


async def _status(request: web.Request) -> web.StreamResponse:
    hub, source = request.app[HUB], request.app[SOURCE]
    readers = list(hub.readers)
    return json_response(
        {
            "status": "running",
            "version": __version__,
            "readers_available": len(readers),
            "card_detected": bool(source.readers_with_card()),
            "reader_name": readers[0] if readers else None,
            "timestamp": _now(),
        }
    )


async def _readers(request: web.Request) -> web.StreamResponse:
    records = list(request.app[HUB].readers.values())
    readers = [
        {
            "index": index,
            "name": record.name,
            "atr": record.snapshot()["atr"],
            "connected": record.insertion is not None,
        }
        for index, record in enumerate(records)
    ]
    return json_response(
        {"readers": readers, "count": len(readers), "timestamp": _now()}
    )


async def _current_card(request: web.Request) -> web.StreamResponse:
    record = request.app[HUB].present_card(None)
    if record is None or record.card is None:
        return _card_response(None, "No card data available")
    return _card_response(record.card["card"], None)


async def _read_card(request: web.Request) -> web.StreamResponse:
    app = request.app
    readers = app[SOURCE].readers_with_card()
    if not readers:
        return _card_response(None, NO_CARD_TEXT)
    code = await wait_for_read(app, readers[0])
    record = app[HUB].present_card(readers[0])
    if code is not None or record is None or record.card is None:
        logger.info("pythaiidcard REST read failed: %s", code or "CARD_REMOVED")
        return _card_response(None, "Card read failed")
    return _card_response(record.card["card"], None)


async def _health(request: web.Request) -> web.StreamResponse:
    return json_response({"status": "healthy", "timestamp": _now()})


def _card_response(card: dict[str, Any] | None, error: str | None) -> web.Response:
    """Return pythaiidcard's ``CardReadResponse``; the REST API sends no photo."""
    data = None
    if card is not None:
        data = card_data(card)
        data.pop("photo", None)
    return json_response(
        {"success": card is not None, "data": data, "error": error, "timestamp": _now()}
    )


def _now() -> str:
    return datetime.datetime.now().isoformat()
