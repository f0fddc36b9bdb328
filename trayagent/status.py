"""Snapshots of the agent's state for the tray and for clients.

The event loop thread builds a new :class:`AgentStatus` after every change
and hands it to the tray. The snapshots are immutable, so any thread may read
them; they never contain personal data.
"""

import enum
from dataclasses import dataclass


class ServiceState(enum.Enum):
    """What the PC/SC service looks like from the monitor thread."""

    STARTING = "starting"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"  # not installed, not running, or stopped
    NO_ACCESS = "no_access"  # running but refusing this user


class ReaderState(enum.Enum):
    """The state of one reader slot as the agent sees it."""

    EMPTY = "empty"
    PRESENT = "present"  # card in, not read (auto-read off) or read pending
    READING = "reading"
    READ = "read"  # card in and read
    ERROR = "error"  # card in, its last read failed
    MUTE = "mute"  # card in but it does not answer


@dataclass(frozen=True)
class ReaderStatus:
    """One reader slot.

    :param name: the PC/SC reader name.
    :param error_code: the stable error code of the last failure while the
        card stays in, otherwise ``None``.
    """

    name: str
    state: ReaderState
    error_code: str | None = None


@dataclass(frozen=True)
class AgentStatus:
    """Everything the tray shows, in one immutable value."""

    service: ServiceState
    readers: tuple[ReaderStatus, ...] = ()
    auto_read: bool = True
    include_photo: bool = True
    read_laser_id: bool = False
    read_nhso: bool = False
    start_at_login: bool | None = None  # None when it cannot be determined
    start_at_login_detail: str = ""  # e.g. "disabled in Task Manager"
    ws_url: str = ""
    page_url: str = ""
    simulated: bool = False
    test_cards: tuple[tuple[str, str], ...] = ()  # (key, description), simulated only
    config_dir: str = ""
    log_dir: str = ""
    problem: str = ""  # a problem that stops the agent serving, in words
    recent_activity: tuple[str, ...] = ()  # newest first, no personal data
    allowed_origins: tuple[str, ...] = ()  # web sites staff allowed
    pending_origins: tuple[str, ...] = ()  # web sites waiting for a decision
