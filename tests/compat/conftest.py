"""Fixtures for the compatibility tests: the agent's real messages for a card."""

import threading
from collections.abc import Callable

import pytest

from trayagent import events
from trayagent.reading import ReadOptions
from trayagent.server.hub import Hub
from trayagent.simulator import SIMULATED_READER, SimulatedReader

READ_SECONDS = 10.0


class RecordingClient:
    """Stands in for a WebSocket client: the hub only calls ``deliver``."""

    include_photo = True

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def deliver(self, body: dict, text: str) -> None:
        self.sent.append(body)


@pytest.fixture
def agent_messages() -> Callable[..., dict[str, dict]]:
    """Return a function giving the hub's messages for one card, by type.

    The card is inserted into a simulated reader, read through the card
    layer and removed; its events go through a real hub.
    """

    def messages(card: str, options: ReadOptions | None = None) -> dict[str, dict]:
        finished = threading.Event()
        recorded: list = []

        def publish(event) -> None:
            recorded.append(event)
            if isinstance(event, events.ReadFinished | events.CardMute):
                finished.set()

        read_options = options or ReadOptions()
        reader = SimulatedReader(publish, lambda: read_options, profile="fast")
        reader.start()
        reader.insert(card)
        assert finished.wait(READ_SECONDS)
        reader.remove()
        reader.stop()
        hub, client = Hub(), RecordingClient()
        hub.add_client(client)
        for event in recorded:
            hub.handle(event)
        by_type = {}
        for message in client.sent:
            by_type.setdefault(message["type"], message)
        assert all(
            m.get("reader", SIMULATED_READER) == SIMULATED_READER for m in client.sent
        )
        return by_type

    return messages
