"""The desktop notifications that a status change raises.

Pure functions; the tray calls :func:`status_notifications` on the thread
that calls ``tray.update()``. Notifications name readers and the service,
never a card's content: reads of a card produce none.
"""

from dataclasses import dataclass

from trayagent.status import AgentStatus, ServiceState

_SERVICE_DOWN = frozenset({ServiceState.UNAVAILABLE, ServiceState.NO_ACCESS})


@dataclass(frozen=True)
class Notification:
    """A desktop notification: a short title and one or two lines of text."""

    title: str
    text: str


def status_notifications(
    previous: AgentStatus | None, current: AgentStatus
) -> list[Notification]:
    """Return the notifications for the change from ``previous`` to ``current``.

    The first status and the change out of ``ServiceState.STARTING`` raise
    no notification, so the agent does not announce the readers it finds at
    start-up. When
    the service is lost or comes back, that one notification stands for the
    readers that vanished or appeared with it.
    """
    if previous is None or previous.service is ServiceState.STARTING:
        return []
    service_notification = _service_change(previous.service, current.service)
    if service_notification is not None:
        return [service_notification]
    if current.service is not ServiceState.AVAILABLE:
        return []
    return _reader_changes(previous, current)


def _service_change(
    previous: ServiceState, current: ServiceState
) -> Notification | None:
    if previous is ServiceState.AVAILABLE and current in _SERVICE_DOWN:
        return Notification(
            "PC/SC service stopped",
            "Card readers are unavailable until the smart card service runs again.",
        )
    if previous in _SERVICE_DOWN and current is ServiceState.AVAILABLE:
        return Notification(
            "PC/SC service running", "Card readers are available again."
        )
    return None


def _reader_changes(previous: AgentStatus, current: AgentStatus) -> list[Notification]:
    previous_names = [reader.name for reader in previous.readers]
    current_names = [reader.name for reader in current.readers]
    added = [name for name in current_names if name not in previous_names]
    removed = [name for name in previous_names if name not in current_names]
    return [Notification("Card reader connected", name) for name in added] + [
        Notification("Card reader disconnected", name) for name in removed
    ]
