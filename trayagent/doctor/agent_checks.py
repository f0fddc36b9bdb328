"""The doctor's agent checks: the running agent, its port, settings and logs.

Runs on the thread that runs the doctor, never on the event loop thread,
because probing the port blocks for up to a second. Nothing here changes a
file: a settings file that is not valid JSON is reported, not moved aside
as the agent does when it starts, and the logs check opens the log file
unwritten or writes a temporary file that it deletes at once.
"""

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

from .. import paths
from ..autostart import AutostartError, get_status
from ..instance import LockInfo, PortTaken, RunningAgent, probe_agent, read_lock_info
from ..logs import find_log_dir_error, log_dir_fix
from ..settings import (
    Settings,
    decode_settings,
    invalid_origin_problems,
    invalid_value_problem,
    load_settings,
)
from .report import INFO, OK, PROBLEM, WARNING, Check, console_command
from .system import (
    bind_error,
    free_port_near,
    port_owner,
    process_alive,
    process_arguments,
)

logger = logging.getLogger(__name__)

AGENT = "Agent"
PORT = "Port"
SETTINGS = "Settings"
LOGS = "Logs"
WEB_SITES = "Web sites"
START_AT_LOGIN = "Start at login"

# The names the agent's program has: the frozen bundle and the scripts.
AGENT_PROGRAMS = frozenset({"trayagent", "trayagent-tray"})

_START_AGENT = (
    "Start trayagent from the Start menu (Windows), the Applications folder "
    "(macOS) or the applications menu (Linux), or run: trayagent"
)


@dataclass(frozen=True)
class SettingsView:
    """The settings file as the agent would load it, and what is wrong with it.

    :param problems: sentences naming each unusable part; empty when none.
    """

    path: Path
    exists: bool
    settings: Settings
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentFacts:
    """The findings of the agent checks, shared with the browser checks.

    :param port: the port the running agent uses, from its lock file, or
        else the port in the settings.
    :param found: what responded on ``port``: a trayagent, another
        program, or nothing (``None``).
    """

    settings: SettingsView
    lock: LockInfo | None
    port: int
    found: RunningAgent | PortTaken | None


def gather_agent_facts() -> AgentFacts:
    """Read the settings and the lock file, and probe the agent's port."""
    settings = inspect_settings(paths.settings_path())
    lock = read_lock_info(paths.config_dir())
    port = settings.settings.port
    if lock is not None and lock.port is not None:
        port = lock.port
    return AgentFacts(settings, lock, port, probe_agent(port))


def inspect_settings(path: Path) -> SettingsView:
    """Load the settings file without changing it, and list what is unusable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return SettingsView(path, False, Settings())
    except OSError as error:
        return SettingsView(path, True, Settings(), (f"it cannot be read ({error})",))
    try:
        data = decode_settings(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return SettingsView(
            path,
            True,
            Settings(),
            (
                "it is not a valid JSON object, so trayagent moves it aside at its "
                "next start and uses the defaults",
            ),
        )
    settings = load_settings(path)
    return SettingsView(path, True, settings, tuple(_invalid_values(data)))


def agent_steps(facts: AgentFacts) -> list[tuple[str, Callable[[], Check]]]:
    """Return the agent, port, settings, logs and web site checks, in that order.

    Each comes as its name and a function, so that one that fails does not
    stop the others.
    """
    return [
        (AGENT, lambda: agent_check(facts)),
        (PORT, lambda: port_check(facts)),
        (SETTINGS, lambda: settings_check(facts.settings)),
        (LOGS, lambda: logs_check(paths.log_dir())),
        (WEB_SITES, lambda: web_sites_check(facts.settings.settings)),
    ]


def agent_check(facts: AgentFacts) -> Check:
    """Judge whether a trayagent runs and responds on its port."""
    details: dict[str, Any] = {
        "port": facts.port,
        "settings_port": facts.settings.settings.port,
        "lock_pid": facts.lock.pid if facts.lock else None,
        "lock_port": facts.lock.port if facts.lock else None,
    }
    if isinstance(facts.found, RunningAgent):
        details["version"] = facts.found.version
        summary = f"trayagent {facts.found.version} is running on port {facts.port}"
        if facts.port != facts.settings.settings.port:
            summary += f" (the settings say {facts.settings.settings.port})"
        details["simulated"] = facts.found.simulated
        if facts.found.simulated:
            return Check(
                AGENT,
                WARNING,
                f"{summary} in simulate mode, so web pages get fictional test "
                "cards and no real card reader is served.",
                "Quit trayagent and start it again without --simulate.",
                details,
            )
        return Check(AGENT, OK, summary + ".", None, details)
    pid = facts.lock.pid if facts.lock else None
    alive = _agent_process_alive(pid) if pid is not None else False
    end_process_fix = (
        f"Wait a minute and run the doctor again. If it still does not "
        f"respond, end process {pid} (in Task Manager on Windows: the Details "
        f"tab, PID column; with kill {pid} elsewhere) and start trayagent again."
    )
    if facts.found is None and alive:
        return Check(
            AGENT,
            PROBLEM,
            f"trayagent (process {pid}) runs but does not respond on port "
            f"{facts.port}.",
            end_process_fix,
            details,
        )
    if facts.found is None and alive is None:
        return Check(
            AGENT,
            PROBLEM,
            f"nothing responds on port {facts.port}, but the lock file names "
            f"process {pid}, which may be a trayagent that hangs.",
            f"{end_process_fix} If no process {pid} exists, trayagent is not running. "
            f"{_START_AGENT}",
            details,
        )
    return Check(
        AGENT,
        PROBLEM,
        "trayagent is not running, so web pages cannot reach the card reader.",
        _START_AGENT,
        details,
    )


def port_check(facts: AgentFacts) -> Check:
    """Judge whether the agent's port is free, used by the agent, or taken."""
    port = facts.port
    details: dict[str, Any] = {"port": port}
    if isinstance(facts.found, RunningAgent):
        return Check(PORT, OK, f"port {port} is used by trayagent.", None, details)
    if isinstance(facts.found, PortTaken):
        owner = port_owner(port)
        details.update(reason=facts.found.reason, owner=owner)
        who = owner or "another program"
        return Check(
            PORT,
            PROBLEM,
            f"port {port} is taken by {who}, so trayagent cannot listen on it.",
            _change_port_fix(port, facts.settings.path),
            details,
        )
    error = bind_error(port)
    if error is not None:
        details["error"] = f"{type(error).__name__}: {error}"
        return Check(
            PORT,
            PROBLEM,
            f"nothing listens on port {port}, but trayagent cannot listen on it "
            f"either ({error.strerror or error}).",
            "Windows reserves some port ranges (see: netsh interface ipv4 show "
            "excludedportrange protocol=tcp). "
            + _change_port_fix(port, facts.settings.path),
            details,
        )
    return Check(
        PORT, OK, f"port {port} is free, so trayagent can listen on it.", None, details
    )


def settings_check(view: SettingsView) -> Check:
    """Describe the settings file, and warn about parts the agent cannot use."""
    settings = view.settings
    details = {
        "path": str(view.path),
        "exists": view.exists,
        "port": settings.port,
        "auto_read": settings.auto_read,
        "include_photo": settings.include_photo,
        "read_timeout": settings.read_timeout,
    }
    if view.problems:
        return Check(
            SETTINGS,
            WARNING,
            f"{view.path}: {'; '.join(view.problems)}.",
            f"Correct {view.path}, or delete it to go back to the defaults, "
            "then restart trayagent.",
            {**details, "problems": list(view.problems)},
        )
    values = (
        f"port {settings.port}, auto-read {_on_off(settings.auto_read)}, "
        f"photo {_on_off(settings.include_photo)}"
    )
    if not view.exists:
        return Check(
            SETTINGS,
            INFO,
            f"no settings file yet, so the defaults apply: {values}.",
            None,
            details,
        )
    return Check(SETTINGS, INFO, f"{view.path}: {values}.", None, details)


def logs_check(directory: Path) -> Check:
    """Report where the logs go, and whether the agent can write them there."""
    details = {
        "directory": str(directory),
        "file": str(directory / paths.LOG_FILE_NAME),
    }
    error = find_log_dir_error(directory)
    if error is not None:
        details["error"] = f"{type(error).__name__}: {error}"
        return Check(
            LOGS,
            PROBLEM,
            f"the log folder {directory} cannot be written "
            f"({error.strerror or error}), and trayagent does not start without it.",
            log_dir_fix(directory, error),
            details,
        )
    return Check(LOGS, INFO, f"logs are written to {directory}.", None, details)


def web_sites_check(settings: Settings) -> Check:
    """List the web sites that may and may not receive card data."""
    allowed, blocked = settings.allowed_origins, settings.blocked_origins
    details = {"allowed": list(allowed), "blocked": list(blocked)}
    always = "Pages on this PC (http://localhost, http://127.0.0.1) are always allowed."
    if not allowed:
        summary = (
            "no web site is allowed yet; when one connects, staff allow it in "
            f"the tray menu, or run: {console_command()} origins allow "
            "https://SITE. " + always
        )
    else:
        summary = f"allowed: {', '.join(allowed)}. {always}"
    if blocked:
        summary += (
            f" Blocked: {', '.join(blocked)} (run {console_command()} origins "
            "remove https://SITE to unblock one)."
        )
    return Check(WEB_SITES, INFO, summary, None, details)


def autostart_check() -> Check:
    """Report whether the agent starts at login, as the operating system has it."""
    try:
        status = get_status()
    except AutostartError as error:
        return Check(
            START_AT_LOGIN,
            WARNING,
            "the start-at-login state cannot be read.",
            str(error),
            {"error": str(error)},
        )
    details = {
        "enabled": status.enabled,
        "detail": status.detail,
        "location": status.location,
    }
    if status.enabled:
        return Check(
            START_AT_LOGIN,
            OK,
            f"trayagent starts at login ({status.detail}, {status.location}).",
            None,
            details,
        )
    return Check(
        START_AT_LOGIN,
        WARNING,
        f"trayagent does not start at login ({status.detail}), so after a "
        "restart web pages cannot read cards until someone starts it.",
        status.advice
        or f"Run: {console_command()} autostart enable, or tick Start at login in "
        "the tray menu.",
        details,
    )


def _agent_process_alive(pid: int) -> bool | None:
    """Return whether ``pid`` runs and, where its command line is known, is trayagent.

    A crashed agent leaves its process ID in the lock file, and a new process
    may get that ID later; its command line then tells it apart. ``None``
    means the platform could not tell whether the process runs.
    """
    alive = process_alive(pid)
    if not alive:
        return alive
    arguments = process_arguments(pid)
    return arguments is None or is_agent_command(arguments)


def is_agent_command(arguments: list[str]) -> bool:
    """Return whether a command line starts trayagent.

    That is the frozen program or the ``trayagent`` script, directly or
    through an interpreter, or ``python -m trayagent``.
    """
    for argument in arguments[:2]:
        # PureWindowsPath splits at both separators, so it reads either form.
        name = PureWindowsPath(argument).name.lower().removesuffix(".exe")
        if name in AGENT_PROGRAMS:
            return True
    if "-m" in arguments[:-1]:
        return arguments[arguments.index("-m") + 1] == "trayagent"
    return False


def _change_port_fix(port: int, settings_file: Path) -> str:
    free = free_port_near(port)
    other = str(free) if free is not None else "another port"
    return (
        f"Stop the program that holds port {port}, or move trayagent to "
        f'{other}: set "port" to {other} in {settings_file} and restart trayagent, '
        f"then point the web apps at ws://127.0.0.1:{other}/ws."
    )


def _invalid_values(data: dict) -> list[str]:
    """Name each known key whose value the agent replaces or ignores."""
    defaults = Settings()
    problems = []
    for settings_field in dataclasses.fields(Settings):
        name = settings_field.name
        if name not in data or name == "extra":
            continue
        if name.endswith("_origins"):
            problems.extend(invalid_origin_problems(name, data[name]))
            continue
        problem = invalid_value_problem(name, data[name])
        if problem is not None:
            default = json.dumps(getattr(defaults, name))
            problems.append(f"{problem}, so the default {default} applies")
    return problems


def _on_off(value: bool) -> str:
    return "on" if value else "off"
