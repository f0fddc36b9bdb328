"""The tray's reading of an :class:`AgentStatus`: icon state and words.

Pure functions, so any thread may call them; the tray calls them on the thread
that repaints the icon. Nothing here imports pystray or Pillow.
"""

import enum

from trayagent.status import AgentStatus, ReaderState, ReaderStatus, ServiceState

# Windows truncates a notification area tooltip to 127 characters plus the
# terminating NUL (NOTIFYICONDATAW.szTip is 128 WCHARs).
TOOLTIP_MAX_CHARS = 127


class IconState(enum.Enum):
    """The six pictures the tray icon can show."""

    SERVICE_UNAVAILABLE = "service-unavailable"
    NO_READER = "no-reader"
    READY = "ready"
    CARD_PRESENT = "card-present"
    READING = "reading"
    ERROR = "error"


# When readers differ, the icon shows the reader state that ranks highest:
# a read in progress first (someone is waiting for it), then a failure that
# needs a person, then a card in a reader, then an empty reader.
_READER_ICON = {
    ReaderState.READING: IconState.READING,
    ReaderState.ERROR: IconState.ERROR,
    ReaderState.MUTE: IconState.ERROR,
    ReaderState.PRESENT: IconState.CARD_PRESENT,
    ReaderState.READ: IconState.CARD_PRESENT,
    ReaderState.EMPTY: IconState.READY,
}
_ICON_RANK = (
    IconState.READING,
    IconState.ERROR,
    IconState.CARD_PRESENT,
    IconState.READY,
)

_READER_WORDS = {
    ReaderState.EMPTY: "no card",
    ReaderState.PRESENT: "card present",
    ReaderState.READING: "reading card",
    ReaderState.READ: "card read",
    ReaderState.ERROR: "card read failed",
    ReaderState.MUTE: "card not responding",
}

_SERVICE_WORDS = {
    ServiceState.STARTING: "Connecting to the PC/SC service",
    ServiceState.UNAVAILABLE: "PC/SC service not running",
    ServiceState.NO_ACCESS: "PC/SC service denied access",
}

NO_READER_TEXT = "No card reader"
SIMULATED_TEXT = "Simulated reader"


def choose_icon_state(status: AgentStatus) -> IconState:
    """Choose the icon picture for ``status``.

    A problem that stops the agent serving wins over everything, then a
    service that is not available. While the service
    is still starting the icon shows "no reader", which makes no claim that
    something is wrong. With several readers the most urgent reader state
    wins, in the order reading, error, card present, ready.
    """
    if status.problem:
        return IconState.ERROR
    if status.service in (ServiceState.UNAVAILABLE, ServiceState.NO_ACCESS):
        return IconState.SERVICE_UNAVAILABLE
    if status.service is ServiceState.STARTING or not status.readers:
        return IconState.NO_READER
    states = {_READER_ICON[reader.state] for reader in status.readers}
    return next(state for state in _ICON_RANK if state in states)


def describe_reader(reader: ReaderStatus) -> str:
    """Describe one reader slot in words, for example "Reader 00 00: no card"."""
    words = _READER_WORDS[reader.state]
    if reader.state is ReaderState.ERROR and reader.error_code:
        words = f"{words} ({reader.error_code})"
    return f"{reader.name}: {words}"


def describe_service(status: AgentStatus) -> str | None:
    """Describe the PC/SC service when it is not available, else ``None``."""
    return _SERVICE_WORDS.get(status.service)


def status_lines(status: AgentStatus) -> list[str]:
    """Describe ``status`` in lines: the agent's or the service's problem, or
    one line per reader."""
    if status.problem:
        return [status.problem]
    service_text = describe_service(status)
    if service_text is not None:
        lines = [service_text]
    elif not status.readers:
        lines = [NO_READER_TEXT]
    else:
        lines = [describe_reader(reader) for reader in status.readers]
    if status.simulated:
        lines.append(SIMULATED_TEXT)
    return lines


def tooltip_text(status: AgentStatus) -> str:
    """Build the tooltip from :func:`status_lines`.

    The text is cut to :data:`TOOLTIP_MAX_CHARS`, ending in an ellipsis.
    """
    text = "\n".join(status_lines(status))
    if len(text) > TOOLTIP_MAX_CHARS:
        text = text[: TOOLTIP_MAX_CHARS - 1] + "\u2026"
    return text
