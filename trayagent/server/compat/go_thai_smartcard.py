"""go-thai-smartcard's WebSocket at ``/ws`` on port 9898, served by trayagent.

Runs on the ``ws-server`` thread. go-thai-smartcard (github.com/somprasongd/
go-thai-smartcard) sends one JSON object per frame, ``{"event", "payload"}``.
Its events are ``smc-inserted``, ``smc-data`` with the card, ``smc-removed``
and ``smc-error``. Version 2 added the actions ``get-status``,
``refresh-readers`` and ``read-now``, and the ``smc-status`` event.
:func:`translate` maps the agent's messages to those events field by field;
docs/compatibility.md has the table and what cannot be mapped.
"""

import logging
from typing import Any

from aiohttp import web

from ...errors import error_message
from .. import access, messages
from ..context import HUB, CardSource, ServerConfig
from ..hub import Hub
from . import base
from .base import COMPAT, Message, TranslatingClient, strip_prefix

logger = logging.getLogger(__name__)

DEFAULT_PORT = 9898

# The payload texts of go-thai-smartcard, reader name appended. "Disonnected"
# is that agent's own spelling, kept because pages may compare the text.
INSERTED_TEXT = "Connected to "
REMOVED_TEXT = "Disonnected from "

# Buddhist Era years minus this are Gregorian years.
BUDDHIST_ERA_OFFSET = 543

# Reader states of the agent in which a card is in the reader.
_CARD_STATES = frozenset(("present", "read", "error", "mute"))


def translate(message: Message) -> list[Message]:
    """Return the go-thai-smartcard events for one of the agent's messages.

    A ``card.read`` may carry the card's ``photo``, ``laser`` and ``nhso``
    objects, as :class:`~trayagent.server.compat.base.TranslatingClient`
    builds it. Messages with no counterpart give an empty list.
    """
    kind = message.get("type")
    reader = message.get("reader") or ""
    if kind == "card.inserted":
        return [_event("smc-inserted", {"message": INSERTED_TEXT + reader})]
    if kind == "card.read":
        return [_event("smc-data", card_payload(message))]
    if kind == "card.removed":
        return [_event("smc-removed", {"message": REMOVED_TEXT + reader})]
    if kind in ("card.error", "error"):
        return [_event("smc-error", {"message": message.get("message", "")})]
    if kind == "service" and message.get("state") != "available":
        return [_event("smc-error", {"message": message.get("message", "")})]
    return []


def card_payload(message: Message) -> dict[str, Any]:
    """Return the ``smc-data`` payload of a ``card.read`` message."""
    card = message["card"]
    photo = message.get("photo") or {}
    image = _base64_image(photo.get("data_url"))
    personal = {
        "cid": card["citizen_id"],
        "name": _name(card["name_th"]),
        "name_eng": _name(card["name_en"]),
        "dob": format_date(card["birth_date"]["raw"]),
        "gender": card["gender"]["raw"],
        "card_issuer": card["issuer"],
        "issue_date": format_date(card["issue_date"]["raw"]),
        "expire_date": format_date(card["expiry_date"]["raw"]),
        "address": _address(card["address"]),
        # Versions 1 and 2 name the photo face_image, version 3 base64_img.
        "face_image": image,
        "base64_img": image,
    }
    payload: dict[str, Any] = {"personal": personal}
    # go-thai-smartcard leaves card and nhso out when it does not read them.
    laser = message.get("laser")
    if laser:
        payload["card"] = {"laser_id": laser["raw"]}
    nhso = message.get("nhso")
    if nhso:
        payload["nhso"] = _nhso(nhso)
    payload["reader"] = message.get("reader", "")
    return payload


def format_date(raw: str) -> str:
    """Format a card date the way go-thai-smartcard does.

    The Buddhist year becomes Gregorian and the month and day are kept as
    they are on the card: ``25300115`` gives ``1987-01-15``, a year-only
    ``25200000`` gives ``1977-00-00``, and the lifetime expiry ``99999999``
    gives ``9456-99-99``. A value that is not 8 characters with a numeric
    year gives an empty string.
    """
    if len(raw) != 8 or not raw[:4].isdigit():
        return ""
    return f"{int(raw[:4]) - BUDDHIST_ERA_OFFSET}-{raw[4:6]}-{raw[6:]}"


def _name(name: dict[str, str]) -> dict[str, str]:
    # go-thai-smartcard writes the prefix against the first name in both
    # languages ("Mr.Test Jaidee"), and the middle name only when present.
    parts = [name["prefix"] + name["first"], name["middle"], name["last"]]
    return {
        "prefix": name["prefix"],
        "first_name": name["first"],
        "middle_name": name["middle"],
        "last_name": name["last"],
        "full_name": " ".join(part for part in parts if part),
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


def _nhso(nhso: dict[str, Any]) -> dict[str, str]:
    changes = nhso["hospital_changes"]
    return {
        "main_inscl": nhso["main_right"],
        "sub_inscl": nhso["sub_right"],
        "main_hospital": nhso["main_hospital"],
        "sub_hospital": nhso["sub_hospital"],
        "paid_type": nhso["paid_type"],
        "issue_date": format_date(nhso["issue_date"]["raw"]),
        "expire_date": format_date(nhso["expiry_date"]["raw"]),
        "update_date": format_date(nhso["update_date"]["raw"]),
        "change_hospital_amount": str(changes) if changes is not None else "",
    }


def _base64_image(data_url: str | None) -> str:
    prefix = "data:image/jpeg;base64,"
    if not data_url or not data_url.startswith(prefix):
        return ""
    return data_url[len(prefix) :]


def _event(event: str, payload: Any) -> Message:
    return {"event": event, "payload": payload}


class GoThaiSmartcardClient(TranslatingClient):
    """A WebSocket client that receives go-thai-smartcard events."""

    translate = staticmethod(translate)


def create_app(
    hub: Hub,
    source: CardSource,
    config: ServerConfig,
    policy: access.OriginPolicy | None = None,
) -> web.Application:
    """Build go-thai-smartcard's ``/ws`` endpoint.

    :param config: ``port`` must be the port this app listens on, 9898 for
        pages written for go-thai-smartcard.
    :param policy: the agent's origin policy, so this endpoint serves the
        same sites.
    """
    app = base.create_base_app(hub, source, config, policy)
    app.router.add_get("/ws", _websocket)
    return app


async def _websocket(request: web.Request) -> web.StreamResponse:
    state = request.app[COMPAT]

    def make_client(socket: web.WebSocketResponse, name: str) -> TranslatingClient:
        return GoThaiSmartcardClient(socket, name, state, request.transport)

    return await base.serve_websocket(request, make_client, _on_message)


def _on_message(app: web.Application, client: TranslatingClient, body: Any) -> None:
    """Handle a client action: ``{"action": "read-now"}`` and the others."""
    if not isinstance(body, dict) or not isinstance(body.get("action"), str):
        return  # version 1 ignored every client frame
    action = body["action"]
    if not messages.is_valid_text(action):
        # A lone surrogate cannot be echoed in the "unknown action" reply,
        # because no text frame can carry it.
        logger.info("Ignoring a go-thai-smartcard action with a lone surrogate")
        return
    if action == "read-now":
        code = base.request_reads(app)
        if code is not None:
            client.send_old([_event("smc-error", {"message": error_message(code)})])
    elif action in ("get-status", "refresh-readers"):
        client.send_old([_event("smc-status", status_payload(app))])
    else:
        logger.info("Ignoring unknown go-thai-smartcard action %r", action[:40])
        client.send_old(
            [_event("smc-error", {"message": f"unknown action: {action[:40]}"})]
        )


def status_payload(app: web.Application) -> dict[str, Any]:
    """Return the ``smc-status`` payload: readers, selection and state."""
    records = list(app[HUB].readers.values())
    states = {record.state.value for record in records}
    if "reading" in states:
        state = "reading"
    elif states & _CARD_STATES:
        state = "card-present"
    else:
        state = "waiting"
    return {
        "readers": [record.name for record in records],
        "selected": "",
        "state": state,
    }
