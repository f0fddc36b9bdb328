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
from .origins import normalize_origin

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
        data = json.loads(raw.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        _move_aside(path, f"not valid JSON ({error})")
        return Settings()
    if not isinstance(data, dict):
        _move_aside(path, "not a JSON object")
        return Settings()
    return _settings_from_dict(data, path)


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
    for name, expected in _FIELD_TYPES.items():
        if name not in data:
            continue
        value = data[name]
        # bool is a subclass of int, so `true` must not pass as a port.
        valid = type(value) in expected
        if valid and name in _RANGES:
            low, high = _RANGES[name]
            valid = low <= value <= high
        if valid and name.endswith("_origins"):
            values[name] = _origins_from_list(value, name, path)
        elif valid:
            values[name] = value
        else:
            logger.warning(
                "Settings file %s: invalid value for %r; using the default", path, name
            )
    extra = {key: value for key, value in data.items() if key not in _FIELD_TYPES}
    return Settings(extra=extra, **values)


def _origins_from_list(items: list[Any], name: str, path: Path) -> tuple[str, ...]:
    origins: list[str] = []
    for item in items:
        origin = normalize_origin(item) if isinstance(item, str) else None
        if origin is None:
            logger.warning(
                "Settings file %s: %r in %r is not an http(s) origin; ignored",
                path,
                item,
                name,
            )
        elif origin not in origins:
            origins.append(origin)
    return tuple(origins)


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
