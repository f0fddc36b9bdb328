"""JSON Schemas of the messages the server sends, one file per message type.

``common.json`` holds the definitions the others refer to. The files are the
protocol's contract; the end-to-end tests validate every message they
receive against them.
"""

import json
from importlib import resources
from typing import Any

SCHEMA_BASE_URI = "https://trayagent.invalid/schemas/"

MESSAGE_TYPES = (
    "hello",
    "reader.added",
    "reader.removed",
    "card.inserted",
    "card.read",
    "card.photo",
    "card.laser",
    "card.nhso",
    "card.removed",
    "card.error",
    "service",
    "settings",
    "error",
    "pong",
    "access",
)


def load_schema(name: str) -> dict[str, Any]:
    """Return a schema by message type, or ``"common"`` for the definitions."""
    text = resources.files(__name__).joinpath(f"{name}.json").read_text("utf-8")
    return json.loads(text)


def load_all() -> dict[str, dict[str, Any]]:
    """Return every schema keyed by its ``$id``."""
    schemas = [load_schema(name) for name in ("common", *MESSAGE_TYPES)]
    return {schema["$id"]: schema for schema in schemas}
