"""State that the server's handlers share, stored on the aiohttp application.

Read and written on the ``ws-server`` thread only.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from ..reading import ReadFuture
from .hub import Hub


class CardSource(Protocol):
    """Where reads come from: the PC/SC monitor, or the simulated reader."""

    def request_read(self, reader: str) -> ReadFuture:
        """Start or join a read; return its future."""
        ...

    def readers_with_card(self) -> list[str]:
        """Return the readers that hold a card that answers."""
        ...


@dataclass
class ServerConfig:
    """What the handlers need besides the hub.

    :param port: the port the server is bound to.
    :param read_timeout: the time limit of one card read, in seconds.
    :param simulated: whether cards come from the simulated reader.
    :param on_activate: called when a second trayagent asks this one to
        show itself (``POST /api/activate``).
    :param on_origin_change: called with an origin and ``"allow"``,
        ``"block"`` or ``"forget"`` when a program on this PC changes the
        origin lists (``POST /api/origins``).
    """

    port: int
    read_timeout: float = 10.0
    simulated: bool = False
    on_activate: Callable[[], None] | None = None
    on_origin_change: Callable[[str, str], None] | None = None


HUB = web.AppKey("hub", Hub)
SOURCE = web.AppKey("source", CardSource)
CONFIG = web.AppKey("config", ServerConfig)
SETTINGS = web.AppKey("settings", dict)
