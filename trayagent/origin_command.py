"""``trayagent origins``: list, allow, block or remove web sites.

Runs on the main thread of a short-lived process. When an agent answers on
its port (from its lock file, else the settings), the change goes to it
through ``POST /api/origins`` and applies at once (the agent saves the
settings file). Otherwise the settings file is edited directly and the
change applies at the next start.
"""

import http.client
import json
import logging
import sys
from pathlib import Path
from typing import Any

from . import paths
from .instance import read_lock_info
from .origins import (
    LOOPBACK_ALWAYS_ALLOWED,
    InvalidOrigin,
    is_loopback_origin,
    parse_origin,
)
from .settings import Settings, load_settings, save_settings

logger = logging.getLogger(__name__)

ACTIONS = ("list", "allow", "block", "remove")

# Exit statuses: a request that cannot be carried out, and a wrong argument.
EXIT_FAILED = 1
EXIT_USAGE = 2

# Seconds to wait for a running agent to answer.
AGENT_TIMEOUT = 2.0

_AGENT_ACTIONS = {"allow": "allow", "block": "block", "remove": "forget"}


def main(action: str, origin: str | None) -> int:
    """Run one ``origins`` action; return the exit status."""
    settings_file = paths.settings_path()
    settings = load_settings(settings_file)
    port = _agent_port(settings)
    if action == "list":
        return _list(settings, port)
    if origin is None:
        return _usage_error(action, "give the web site, e.g. https://clinic.example")
    try:
        normalized = parse_origin(origin)
    except InvalidOrigin as error:
        return _usage_error(action, f"{origin!r} cannot be used: {error}.")
    if is_loopback_origin(normalized):
        return _usage_error(
            action,
            f"{normalized} is a page on this PC and needs no entry. "
            + LOOPBACK_ALWAYS_ALLOWED,
        )

    answer = _ask_agent(port, "GET", None)
    running = isinstance(answer, dict)
    lists = answer if running else _settings_lists(settings)
    allowed = normalized in (lists.get("allowed") or [])
    blocked = normalized in (lists.get("blocked") or [])
    if action == "remove" and not (allowed or blocked):
        print(
            f"trayagent origins remove: {normalized} is not on the allowed or "
            "the blocked list, so nothing changed; 'origins list' shows both lists.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if (action, allowed, blocked) in (("allow", True, False), ("block", False, True)):
        print(f"{normalized} is already {action}ed; nothing changed.")
        return 0
    if running:
        body = {"origin": normalized, "action": _AGENT_ACTIONS[action]}
        if _ask_agent(port, "POST", body) is not None:
            print(f"{_past_tense(action)} {normalized}; the running agent applied it.")
            return 0
    return _change_settings_file(settings_file, settings, action, normalized)


def _change_settings_file(
    settings_file: Path, settings: Settings, action: str, origin: str
) -> int:
    try:
        save_settings(settings_file, _changed(settings, action, origin))
    except OSError as error:
        print(f"trayagent: cannot write {settings_file}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"{_past_tense(action)} {origin} in {settings_file}; it applies "
        "when trayagent starts."
    )
    return 0


def _usage_error(action: str, message: str) -> int:
    print(f"trayagent origins {action}: {message}", file=sys.stderr)
    return EXIT_USAGE


def _agent_port(settings: Settings) -> int:
    """Return the port of the running agent: from its lock file, else the setting."""
    info = read_lock_info(paths.config_dir())
    if info is not None and info.port is not None:
        return info.port
    return settings.port


def _settings_lists(settings: Settings) -> dict[str, list[str]]:
    return {
        "allowed": list(settings.allowed_origins),
        "blocked": list(settings.blocked_origins),
        "pending": [],
    }


def _list(settings: Settings, port: int) -> int:
    answer = _ask_agent(port, "GET", None)
    lists = answer or _settings_lists(settings)
    print(
        "Pages on this PC (http://localhost, http://127.0.0.1, http://[::1]) "
        "are always allowed."
    )
    for title, key in (
        ("Allowed", "allowed"),
        ("Blocked", "blocked"),
        ("Waiting for a decision", "pending"),
    ):
        entries = lists.get(key) or []
        print(f"{title}: {', '.join(entries) if entries else 'none'}")
    if answer is None:
        print("(trayagent is not running; read from the settings file)")
    return 0


def _changed(settings: Settings, action: str, origin: str) -> Settings:
    allowed = [o for o in settings.allowed_origins if o != origin]
    blocked = [o for o in settings.blocked_origins if o != origin]
    if action == "allow":
        allowed.append(origin)
    elif action == "block":
        blocked.append(origin)
    return settings.replace(
        allowed_origins=tuple(allowed), blocked_origins=tuple(blocked)
    )


def _past_tense(action: str) -> str:
    return {"allow": "Allowed", "block": "Blocked", "remove": "Removed"}[action]


def _ask_agent(port: int, method: str, body: dict[str, str] | None) -> Any:
    """Send a request to a running agent; return its JSON answer or ``None``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=AGENT_TIMEOUT)
    try:
        payload = json.dumps(body) if body is not None else None
        headers = {"Host": f"127.0.0.1:{port}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, "/api/origins", body=payload, headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            return None
        return json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()
