"""Builders for the JSON messages the server sends.

Every message is a JSON object with ``type`` and ``time`` (ISO 8601 with the
local offset), plus ``reader`` where a reader is concerned. The shapes are
the public protocol; ``trayagent/schemas/`` holds a JSON Schema for each.
"""

import datetime
import json
from typing import Any

from ..errors import error_message

PROTOCOL_VERSION = 1

Message = dict[str, Any]


def now() -> str:
    """Return the current time as ISO 8601 with milliseconds and offset."""
    return datetime.datetime.now().astimezone().isoformat(timespec="milliseconds")


def message(kind: str, **fields: Any) -> Message:
    """Return a message of type ``kind`` stamped with the current time."""
    body: Message = {"type": kind, "time": now()}
    body.update((name, value) for name, value in fields.items() if value is not None)
    return body


def error(kind: str, code: str, *, field: str | None = None, **fields: Any) -> Message:
    """Return an ``error`` or ``card.error`` message with the code's message.

    :param field: for ``INVALID_MESSAGE``, the request field at fault.
    """
    return message(kind, code=code, message=error_message(code, field), **fields)


def encode(body: Message) -> str:
    """Encode a message once for every client it goes to.

    :raises ValueError: for NaN or an infinity, which JSON cannot express.
    """
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def decode(text: str) -> Any:
    """Return the JSON value of a client's ``text``.

    :raises ValueError: for text that is not standard JSON, including the
        constants ``NaN``, ``Infinity`` and ``-Infinity`` that
        :func:`json.loads` accepts by default.
    """
    return json.loads(text, parse_constant=_reject_constant)


def is_valid_text(value: str) -> bool:
    """Return whether ``value`` encodes as UTF-8, so has no lone surrogate.

    JSON escapes such as ``\\udc00`` decode to lone surrogates, which no
    UTF-8 text, and so no WebSocket text frame, can carry.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def with_id(body: Message, request_id: Any) -> Message:
    """Return a copy of a message that answers the request ``request_id``."""
    if request_id is None:
        return body
    return {**body, "id": request_id}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON")
