"""The tray's "Recent activity": the last events as short lines with local times.

:class:`ActivityLog` turns monitor events into one line each and keeps the
newest few. It is used on the event loop thread only, which receives every
event, and holds no lock. A line names readers, durations and error codes,
never card data: the personal fields of a ``CardRead`` are never touched.
"""

import collections
import datetime
from collections.abc import Callable
from dataclasses import dataclass

from .events import (
    CardInserted,
    CardMute,
    CardRead,
    CardReadFailed,
    CardRemoved,
    LaserRead,
    MonitorEvent,
    MonitorFailed,
    NhsoRead,
    PhotoRead,
    ReaderAdded,
    ReaderRemoved,
    ServiceChanged,
)
from .status import ServiceState

DEFAULT_LIMIT = 10

# A short phrase per error code of trayagent.errors.ERROR_MESSAGES that a
# read can end with, to follow "Read failed: ". Other codes are shown as
# they are.
FAILURE_PHRASES: dict[str, str] = {
    "NOT_THAI_ID_CARD": "not a Thai ID card",
    "CARD_UNRESPONSIVE": "card does not answer",
    "CARD_REMOVED": "card removed",
    "READ_FAILED": "card error",
    "READ_TIMEOUT": "took too long",
    "PHOTO_INVALID": "not a valid JPEG image",
    "NO_CARD": "no card",
    "NO_READER": "no reader",
    "UNKNOWN_READER": "unknown reader",
    "SERVICE_UNAVAILABLE": "smart card service stopped",
    "SERVICE_NO_ACCESS": "smart card service refused access",
    "APPLET_NOT_FOUND": "the card has no such data",
    "INTERNAL_ERROR": "internal error",
}


@dataclass(frozen=True)
class ActivityEntry:
    """One line of recent activity and the local time it happened."""

    time: datetime.datetime
    text: str


class ActivityLog:
    """The newest ``limit`` activity lines.

    :param clock: returns the current local time; tests pass a fixed one.
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        clock: Callable[[], datetime.datetime] = datetime.datetime.now,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit {limit} must be at least 1")
        self._entries: collections.deque[ActivityEntry] = collections.deque(
            maxlen=limit
        )
        self._clock = clock
        self._service: ServiceState | None = None

    def record(self, event: MonitorEvent) -> ActivityEntry | None:
        """Add the line for ``event``; return it, or ``None`` if it gets none.

        Steps inside a read (``ReadStarted``, ``ReadFinished``), the first
        report that the service is available and repeats of the same service
        state get no line. The optional laser and NHSO reads get one each,
        such as "Laser ID read in 0.1 s" or "NHSO data not read: ...".
        """
        text = self._describe(event)
        return self.note(text) if text is not None else None

    def note(self, text: str) -> ActivityEntry:
        """Add a line that no monitor event carries, e.g. "Site allowed: ..."."""
        entry = ActivityEntry(self._clock(), text)
        self._entries.appendleft(entry)
        return entry

    def entries(self) -> tuple[ActivityEntry, ...]:
        """Return the lines, newest first."""
        return tuple(self._entries)

    def _describe(self, event: MonitorEvent) -> str | None:
        if isinstance(event, ServiceChanged):
            return self._describe_service(event.state)
        if isinstance(event, MonitorFailed):
            return "Card monitor restarted after an error"
        if isinstance(event, ReaderAdded):
            return f"Reader attached: {event.reader}"
        if isinstance(event, ReaderRemoved):
            return f"Reader detached: {event.reader}"
        if isinstance(event, CardInserted):
            return f"Card inserted ({event.reader})"
        if isinstance(event, CardMute):
            return f"Card does not answer ({event.reader})"
        if isinstance(event, CardRead):
            return f"Card read in {event.seconds:.1f} s ({event.reader})"
        if isinstance(event, PhotoRead):
            if event.error_code is not None:
                return f"Photo read failed: {failure_phrase(event.error_code)}"
            return f"Photo read in {event.seconds:.1f} s"
        if isinstance(event, LaserRead | NhsoRead):
            name = "Laser ID" if isinstance(event, LaserRead) else "NHSO data"
            if event.error_code is not None:
                return f"{name} not read: {failure_phrase(event.error_code)}"
            return f"{name} read in {event.seconds:.1f} s"
        if isinstance(event, CardReadFailed):
            return f"Read failed: {failure_phrase(event.code)}"
        if isinstance(event, CardRemoved):
            return f"Card removed ({event.reader})"
        return None

    def _describe_service(self, state: ServiceState) -> str | None:
        previous, self._service = self._service, state
        if state == previous or state is ServiceState.STARTING:
            return None
        if state is ServiceState.AVAILABLE:
            # Only a return after an outage is news; the start is not.
            return "Smart card service back" if previous is not None else None
        if state is ServiceState.NO_ACCESS:
            return "Smart card service refused access"
        if previous is ServiceState.AVAILABLE:
            return "Smart card service stopped"
        return "Smart card service not running"


def failure_phrase(code: str) -> str:
    """Return the short phrase for an error code, or the code for an unknown one."""
    return FAILURE_PHRASES.get(code, code)


def format_entry(entry: ActivityEntry) -> str:
    """Return the menu text of an entry: ``"14:05  Card read in 1.4 s (NAME)"``."""
    return f"{entry.time:%H:%M}  {entry.text}"
