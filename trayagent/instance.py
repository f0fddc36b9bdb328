"""One agent per user: the instance lock and the probe of a running agent.

The lock is an operating-system file lock (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows) on ``trayagent.lock`` in the settings
folder. The kernel drops it when the process ends, however it ends, so a
crash never leaves a stale lock. The file holds the owner's process ID,
port and whether it shows a tray icon as text, for messages only; the lock
itself is the truth.

The probe sends ``GET /api/status`` to 127.0.0.1 with ``http.client``, so it
works before the server exists and without aiohttp. Runs on the main thread
at start-up, before the server and the tray start.
"""

import errno
import http.client
import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Self

from .paths import SETTINGS_FILE_NAME

logger = logging.getLogger(__name__)

LOCK_FILE_NAME = "trayagent.lock"
AGENT_NAME = "trayagent"

# msvcrt locks are mandatory: other processes cannot read a locked byte. The
# lock is therefore taken on one byte far past the text, so a second agent
# can still read who holds it. Windows allows locks beyond the end of file.
WINDOWS_LOCK_OFFSET = 1 << 20

# Seconds a second agent waits for the first to respond on its port,
# because both may start at once at login and the first may not listen yet.
STARTUP_GRACE = 3.0
PROBE_INTERVAL = 0.2

# How many ports above a taken one are tried when suggesting another.
PORT_SUGGESTION_RANGE = 20


class LockInfo(NamedTuple):
    """The owner's process ID and port, as written in the lock file.

    :param tray: whether the owner shows a tray icon; ``None`` until the
        owner has recorded it, and in files of versions that did not.
    """

    pid: int
    port: int | None
    tray: bool | None = None


@dataclass(frozen=True)
class RunningAgent:
    """A trayagent that responded on the port.

    :param simulated: it serves the built-in simulated reader
        (``--simulate``) instead of PC/SC readers.
    """

    version: str
    port: int
    simulated: bool = False


@dataclass(frozen=True)
class PortTaken:
    """Something that is not a trayagent accepted a connection on the port.

    :param reason: what it did, in plain words, for the log.
    """

    port: int
    reason: str


class InstanceLock:
    """The held instance lock; keep the object alive as long as the agent runs.

    The descriptor is not inherited by child processes (Python's default
    since 3.4), so a browser started from the tray cannot keep the lock
    after the agent exits.
    """

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor: int | None = descriptor
        self._pid = os.getpid()
        self._port: int | None = None
        self._tray: bool | None = None

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._descriptor is not None

    def write_port(self, port: int | None) -> None:
        """Record this process and ``port`` in the lock file."""
        self._port = port
        self._write_info()

    def write_tray(self, shown: bool) -> None:
        """Record whether this process shows a tray icon, for a second agent."""
        self._tray = shown
        self._write_info()

    def release(self) -> None:
        """Empty the file and drop the lock; calling it again does nothing."""
        descriptor = self._descriptor
        if descriptor is None:
            return
        try:
            self._write("")
        except OSError as error:
            logger.warning("Cannot empty the lock file %s: %s", self.path, error)
        _unlock(descriptor)
        os.close(descriptor)
        self._descriptor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _write_info(self) -> None:
        port = self._port if self._port is not None else ""
        text = f"pid={self._pid}\nport={port}\n"
        if self._tray is not None:
            text += f"tray={'yes' if self._tray else 'no'}\n"
        self._write(text)

    def _write(self, text: str) -> None:
        if self._descriptor is None:
            raise ValueError("the instance lock was released")
        data = text.encode("ascii")
        os.lseek(self._descriptor, 0, os.SEEK_SET)
        os.write(self._descriptor, data)
        os.ftruncate(self._descriptor, len(data))


# The lock taken by check_single_instance, kept referenced so that it stays
# held until the process exits.
_held_lock: InstanceLock | None = None


def acquire_instance_lock(directory: Path) -> InstanceLock | None:
    """Take the instance lock in ``directory``; ``None`` if another process holds it.

    On success the file records this process ID, without a port until
    :meth:`InstanceLock.write_port`.

    :raises OSError: the folder or the lock file cannot be created.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        locked = _try_lock(descriptor)
    except BaseException:
        os.close(descriptor)
        raise
    if not locked:
        os.close(descriptor)
        return None
    lock = InstanceLock(path, descriptor)
    lock.write_port(None)
    return lock


def read_lock_info(directory: Path) -> LockInfo | None:
    """Return the process ID and port written in the lock file, or ``None``.

    The text is meaningful only while a process holds the lock: it is
    emptied on release, but a crashed process leaves its last text behind.
    """
    try:
        text = (directory / LOCK_FILE_NAME).read_text(
            encoding="ascii", errors="replace"
        )
    except OSError:
        return None
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    try:
        pid = int(fields["pid"])
    except (KeyError, ValueError):
        return None
    port_text = fields.get("port", "")
    port = int(port_text) if port_text.isdigit() else None
    tray = {"yes": True, "no": False}.get(fields.get("tray", ""))
    return LockInfo(pid, port, tray)


def probe_agent(port: int, timeout: float = 1.0) -> RunningAgent | PortTaken | None:
    """Ask what listens on 127.0.0.1:``port``.

    Returns :class:`RunningAgent` when a trayagent responds to
    ``/api/status``, ``None`` when the connection is refused (nothing
    listens), and :class:`PortTaken` when something accepts the connection
    but does not respond as a trayagent: another server, a bare listener, or
    a program that closes or resets the connection.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        try:
            connection.connect()
        except ConnectionRefusedError:
            return None
        except OSError as error:
            return PortTaken(port, f"connecting failed: {_describe_error(error)}")
        return _read_status(connection, port)
    finally:
        connection.close()


def notify_running_agent(port: int, timeout: float = 1.0) -> bool:
    """Ask the agent on ``port`` to show that it is already running.

    Sends ``POST /api/activate`` without an ``Origin`` header; returns
    whether the agent accepted it (any 2xx status, normally 204).
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/api/activate", body=b"", headers=_headers(port))
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as error:
        logger.info(
            "Cannot notify the agent on port %d: %s", port, _describe_error(error)
        )
        return False
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return True
    logger.info(
        "The agent on port %d responded with HTTP %d to /api/activate",
        port,
        response.status,
    )
    return False


@dataclass(frozen=True)
class InstanceConflict:
    """Why this process may not start.

    :param already_running: another trayagent of this user runs (and was
        asked to show itself), as opposed to the port being taken.
    """

    message: str
    already_running: bool


def check_single_instance(
    config_dir: Path, port: int, *, grace: float = STARTUP_GRACE
) -> str | None:
    """Decide whether this process may start; return a message for the user if not.

    See :func:`check_instance`, which also says what kind of conflict it is.
    """
    conflict = check_instance(config_dir, port, grace=grace)
    return conflict.message if conflict is not None else None


def check_instance(
    config_dir: Path, port: int, *, grace: float = STARTUP_GRACE
) -> InstanceConflict | None:
    """Decide whether this process may start.

    Returns ``None`` when this process may start. It then holds the instance
    lock, with ``port`` recorded, until it exits or calls
    :func:`release_instance_lock`. Otherwise the conflict's message names
    the agent or program in the way and what to do, and an agent of the same
    user is asked to show itself with :func:`notify_running_agent`.

    :param grace: seconds to wait for an agent that holds the lock but does
        not respond yet.
    """
    global _held_lock
    settings_file = config_dir / SETTINGS_FILE_NAME
    try:
        lock = acquire_instance_lock(config_dir)
    except OSError as error:
        logger.warning(
            "Cannot take the instance lock in %s (%s); checking the port only",
            config_dir,
            error,
        )
        return _port_conflict(port, probe_agent(port), settings_file)
    if lock is None:
        return InstanceConflict(_running_message(config_dir, port, grace), True)

    conflict = _port_conflict(port, probe_agent(port), settings_file)
    if conflict is not None:
        lock.release()
        return conflict
    lock.write_port(port)
    _held_lock = lock
    return None


def _port_conflict(
    port: int, found: RunningAgent | PortTaken | None, settings_file: Path
) -> InstanceConflict | None:
    message = _port_message(port, found, settings_file)
    return InstanceConflict(message, False) if message is not None else None


def record_tray(shown: bool) -> None:
    """Record in the held lock file whether this agent shows a tray icon.

    Does nothing when :func:`check_instance` took no lock in this process.
    """
    if _held_lock is not None and _held_lock.held:
        try:
            _held_lock.write_tray(shown)
        except OSError as error:
            logger.warning("Cannot write the lock file %s: %s", _held_lock.path, error)


def release_instance_lock() -> None:
    """Release the lock taken by :func:`check_single_instance`, if any."""
    global _held_lock
    if _held_lock is not None:
        _held_lock.release()
        _held_lock = None


def _running_message(config_dir: Path, port: int, grace: float) -> str:
    """Describe the agent that holds the lock, and ask it to show itself."""
    info = read_lock_info(config_dir)
    agent_port = info.port if info is not None and info.port is not None else port
    found = _wait_for_agent(agent_port, grace)
    if isinstance(found, RunningAgent):
        notify_running_agent(found.port)
        return _already_running_message(found, info, port)
    owner = f"process {info.pid}" if info is not None else "another process"
    return (
        f"trayagent is already running ({owner}) but does not respond on port "
        f"{agent_port}. Wait a moment and try again, or end that process and "
        "start trayagent again."
    )


def _already_running_message(
    found: RunningAgent, info: LockInfo | None, port: int
) -> str:
    """Name the running agent, and say where to find it.

    The tray icon is mentioned only when the lock file says the agent shows
    one; a headless agent, or one that has not said yet, is found by its
    address.
    """
    process = f"process {info.pid}, " if info is not None else ""
    message = (
        f"trayagent is already running (version {found.version}, {process}"
        f"port {found.port}). Only one trayagent runs per user, so this one "
        "exits"
    )
    if port != found.port:
        message += f" and does not start on port {port}"
    address = f"ws://127.0.0.1:{found.port}/ws"
    if info is not None and info.tray:
        return f"{message}. Look for its icon in the system tray or the menu bar."
    if info is not None and info.tray is False:
        return f"{message}. It shows no tray icon, and web apps reach it at {address}."
    return f"{message}. Web apps reach it at {address}."


def _wait_for_agent(port: int, grace: float) -> RunningAgent | PortTaken | None:
    deadline = time.monotonic() + grace
    while True:
        found = probe_agent(port)
        if isinstance(found, RunningAgent) or time.monotonic() >= deadline:
            return found
        time.sleep(PROBE_INTERVAL)


def _port_message(
    port: int, found: RunningAgent | PortTaken | None, settings_file: Path
) -> str | None:
    if found is None:
        return None
    change = _change_port_advice(port, settings_file)
    if isinstance(found, RunningAgent):
        return (
            f"Port {port} is used by another trayagent (version {found.version}), "
            f"perhaps started by another user of this PC. {change}"
        )
    logger.info("Port %d is taken: %s", port, found.reason)
    return f"Port {port} is used by another program. {change}"


def _change_port_advice(port: int, settings_file: Path) -> str:
    free = _free_port_near(port)
    option = f"--port {free}" if free is not None else "--port N"
    return f'Start trayagent with {option} or set "port" in {settings_file}.'


def _free_port_near(port: int) -> int | None:
    """Return a port above ``port`` that nothing listens on right now, or ``None``."""
    for candidate in range(port + 1, min(port + PORT_SUGGESTION_RANGE, 65535) + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
        return candidate
    return None


def _read_status(
    connection: http.client.HTTPConnection, port: int
) -> RunningAgent | PortTaken:
    try:
        connection.request("GET", "/api/status", headers=_headers(port))
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        return PortTaken(
            port, f"no HTTP response to /api/status: {_describe_error(error)}"
        )
    if response.status != 200:
        return PortTaken(port, f"/api/status returned HTTP {response.status}")
    try:
        status = json.loads(body)
        agent = status["agent"]
        name, version = agent["name"], agent["version"]
    except (ValueError, TypeError, KeyError):
        return PortTaken(port, "/api/status did not return a trayagent status")
    if name != AGENT_NAME or not isinstance(version, str):
        return PortTaken(port, f"/api/status returned agent name {str(name)[:40]!r}")
    return RunningAgent(version, port, status.get("simulated") is True)


def _headers(port: int) -> dict[str, str]:
    # The agent serves only requests whose Host names a loopback address
    # with its port; http.client leaves out ":80", so the header is set here.
    return {"Host": f"127.0.0.1:{port}", "Accept": "application/json"}


def _describe_error(error: BaseException) -> str:
    return type(error).__name__ + (f": {error}" if str(error) else "")


# NOTE: the msvcrt branch has not been run by the test suite, which runs on
# Linux; a lock past the end of file and ftruncate below it follow the
# documented LockFile and SetEndOfFile behaviour.
if sys.platform == "win32":
    import msvcrt

    def _try_lock(descriptor: int) -> bool:
        os.lseek(descriptor, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EDEADLOCK):
                return False
            raise
        return True

    def _unlock(descriptor: int) -> None:
        os.lseek(descriptor, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(descriptor: int) -> bool:
        # flock locks belong to the open file, so a second open in the same
        # process conflicts too, unlike fcntl record locks.
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
