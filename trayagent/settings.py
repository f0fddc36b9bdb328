"""The settings file: load, validate and save atomically.

Settings are read once at start-up and written whenever the tray or a
client changes one. Any thread may call these functions; the app serialises
writes through the event loop thread.
"""

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import write_text_atomically
from .origins import InvalidOrigin, is_loopback_origin, parse_origin

logger = logging.getLogger(__name__)

# Below the ephemeral port ranges of Linux (32768-60999) and Windows
# (49152-65535), so an outgoing connection never holds it by chance, and
# apart from the ports other Thai ID card agents use (9898 and 8000-8999).
DEFAULT_PORT = 17432


@dataclass(frozen=True)
class Settings:
    """The user's choices.

    :param auto_read: read a card as soon as it is inserted.
    :param include_photo: read the photo and send ``card.photo``.
    :param port: the TCP port the server listens on, on loopback only.
    :param read_timeout: seconds one card read may take before it ends
        with ``READ_TIMEOUT``; 1 to 60.
    :param read_laser_id: also read the laser code printed on the back.
    :param read_nhso: also read the NHSO health-insurance data.
    :param compat_go_thai_smartcard: also serve go-thai-smartcard's
        protocol on ``compat_go_thai_smartcard_port`` (9898).
    :param compat_pythaiidcard: also serve pythaiidcard's protocol on
        ``compat_pythaiidcard_port`` (8765).
    :param allowed_origins: web origins (``https://clinic.example``) whose
        pages may receive card data, normalized.
    :param blocked_origins: web origins that are rejected at once.
    :param extra: keys this version does not know, kept so that a file
        written by a newer version survives a round trip.
    """

    auto_read: bool = True
    include_photo: bool = True
    port: int = DEFAULT_PORT
    read_timeout: float = 10.0
    read_laser_id: bool = False
    read_nhso: bool = False
    compat_go_thai_smartcard: bool = False
    compat_go_thai_smartcard_port: int = 9898
    compat_pythaiidcard: bool = False
    compat_pythaiidcard_port: int = 8765
    allowed_origins: tuple[str, ...] = ()
    blocked_origins: tuple[str, ...] = ()
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def replace(self, **changes: Any) -> "Settings":
        """Return a copy with the given fields changed."""
        return dataclasses.replace(self, **changes)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "auto_read": (bool,),
    "include_photo": (bool,),
    "port": (int,),
    "read_timeout": (int, float),
    "read_laser_id": (bool,),
    "read_nhso": (bool,),
    "compat_go_thai_smartcard": (bool,),
    "compat_go_thai_smartcard_port": (int,),
    "compat_pythaiidcard": (bool,),
    "compat_pythaiidcard_port": (int,),
    "allowed_origins": (list,),
    "blocked_origins": (list,),
}
_RANGES: dict[str, tuple[float, float]] = {
    "port": (1, 65535),
    "read_timeout": (1, 60),
    "compat_go_thai_smartcard_port": (1, 65535),
    "compat_pythaiidcard_port": (1, 65535),
}
_UNITS = {"read_timeout": "seconds"}

# Characters of a string value quoted in a warning.
QUOTED_VALUE_LENGTH = 40


def load_settings(path: Path) -> Settings:
    """Read the settings file, falling back to defaults where it is unusable.

    A missing file gives the defaults. A file that is not a JSON object is
    moved aside (``settings.json.corrupt-<time>``) and the defaults are used.
    A known key with a value of the wrong type or range falls back to its
    default and is logged; the file itself is then left alone until the next
    save rewrites it.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as error:
        logger.warning("Cannot read settings file %s (%s); using defaults", path, error)
        return Settings()

    try:
        data = decode_settings(raw)
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        _move_aside(path, f"not valid JSON ({error})")
        return Settings()
    if not isinstance(data, dict):
        _move_aside(path, "not a JSON object")
        return Settings()
    return _settings_from_dict(data, path)


def decode_settings(raw: bytes) -> Any:
    """Parse the bytes of a settings file as JSON.

    A UTF-8 byte order mark at the start is skipped, because Windows
    Notepad writes one when it saves a file that IT edited by hand.

    :raises ValueError: the bytes are not UTF-8 or not JSON.
    """
    return json.loads(raw.decode("utf-8-sig"))


def invalid_value_problem(name: str, value: Any) -> str | None:
    """Describe why ``value`` cannot be used for the setting ``name``.

    Returns ``None`` when it can, and also for unknown names and for the
    origin lists, which :func:`invalid_origin_problems` checks. The sentence
    names the key, the value (a string only by its first characters) and
    what the setting accepts.
    """
    expected = _FIELD_TYPES.get(name)
    if expected is None or name.endswith("_origins"):
        return None
    # bool is a subclass of int, so `true` must not pass as a port.
    valid = type(value) in expected
    if valid and name in _RANGES:
        low, high = _RANGES[name]
        valid = low <= value <= high
    if valid:
        return None
    described = _describe_value(name, value)
    return f"{name!r} is {described}, but it must be {_accepted(name)}"


def invalid_origin_problems(name: str, value: Any) -> list[str]:
    """Describe each entry of an origin list that the agent ignores.

    Entries are named, since they are web sites and never personal data;
    a value that is not a list is described by its type only.
    """
    if not isinstance(value, list):
        return [
            f"{name!r} is {_describe_value(name, value)}, but it must be "
            f"{_accepted(name)}, so it is ignored"
        ]
    problems = []
    for item in value:
        if not isinstance(item, str):
            described = _describe_value(name, item)
            problems.append(f"{described} in {name!r} is ignored: it is not a string")
            continue
        try:
            origin = parse_origin(item)
        except InvalidOrigin as error:
            problems.append(f"{item[:200]!r} in {name!r} is ignored: {error}")
            continue
        if is_loopback_origin(origin):
            problems.append(
                f"{origin!r} in {name!r} is ignored: pages on this PC are "
                "always allowed"
            )
    return problems


def save_settings(path: Path, settings: Settings) -> None:
    """Write the settings file atomically (see :func:`write_text_atomically`).

    :raises OSError: the folder cannot be created or written.
    """
    data = dict(settings.extra)
    for name in _FIELD_TYPES:
        value = getattr(settings, name)
        data[name] = list(value) if isinstance(value, tuple) else value
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    write_text_atomically(path, text)


def _settings_from_dict(data: dict[str, Any], path: Path) -> Settings:
    values: dict[str, Any] = {}
    defaults = Settings()
    for name in _FIELD_TYPES:
        if name not in data:
            continue
        value = data[name]
        if name.endswith("_origins"):
            for problem in invalid_origin_problems(name, value):
                logger.warning("Settings file %s: %s", path, problem)
            if isinstance(value, list):
                values[name] = _origins_from_list(value)
            continue
        problem = invalid_value_problem(name, value)
        if problem is None:
            values[name] = value
        else:
            logger.warning(
                "Settings file %s: %s; using the default %s",
                path,
                problem,
                json.dumps(getattr(defaults, name)),
            )
    extra = {key: value for key, value in data.items() if key not in _FIELD_TYPES}
    return Settings(extra=extra, **values)


def _origins_from_list(items: list[Any]) -> tuple[str, ...]:
    """Return the usable origins of a list, normalized and without repeats."""
    origins: list[str] = []
    for item in items:
        try:
            origin = parse_origin(item) if isinstance(item, str) else None
        except InvalidOrigin:
            origin = None
        usable = origin is not None and not is_loopback_origin(origin)
        if usable and origin not in origins:
            origins.append(origin)
    return tuple(origins)


def _describe_value(name: str, value: Any) -> str:
    """Name a rejected value for a warning.

    Numbers, booleans and null appear as written, other strings by their
    first characters, and strings in the origin lists, lists and objects by
    their type only.
    """
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        if name.endswith("_origins"):
            return "a string"
        shown = json.dumps(value[:QUOTED_VALUE_LENGTH], ensure_ascii=False)
        cut = "..." if len(value) > QUOTED_VALUE_LENGTH else ""
        return f"the string {shown}{cut}"
    return "a list" if isinstance(value, list) else "an object"


def _accepted(name: str) -> str:
    """Describe the values the setting ``name`` accepts."""
    expected = _FIELD_TYPES[name]
    if expected == (bool,):
        return "true or false"
    if expected == (list,):
        return 'a list of web sites such as ["https://clinic.example"]'
    low, high = _RANGES[name]
    kind = "a whole number" if expected == (int,) else "a number"
    unit = f" of {_UNITS[name]}" if name in _UNITS else ""
    return f"{kind}{unit} from {low:g} to {high:g}"


def _move_aside(path: Path, reason: str) -> None:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, target)
    except OSError as error:
        logger.warning(
            "Settings file %s is %s and cannot be moved aside (%s); using defaults",
            path,
            reason,
            error,
        )
        return
    logger.warning(
        "Settings file %s is %s; moved it to %s and using defaults",
        path,
        reason,
        target,
    )
