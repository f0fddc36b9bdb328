"""What every part gets: the card host, a work folder and the run's options.

Runs on the benchmark's event loop. The card host's commands run in a
worker thread, so the loop goes on stamping messages while a command waits
for its reply.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .agent import Agent
from .cardhost import CardHost
from .clients import Client, Received
from .observer import ObserverProcess
from .stack import READER_NAMES, Pcscd

FIRST_READER = READER_NAMES[0]


@dataclass(frozen=True)
class Options:
    """Sizes of a run, from the command line."""

    trials: int
    """Insertions per timed series (the latency series takes twice as many)."""
    idle_seconds: float
    cycles: int
    """Insert, read and remove cycles of the memory parts."""
    cycle_budget: float
    """Seconds the memory parts may spend on their cycles."""


@dataclass
class Rig:
    """The running stack of one part."""

    pcscd: Pcscd
    cards: CardHost
    work: Path
    options: Options

    async def insert(self, slot: int, profile: str) -> None:
        """Insert a card with ``profile`` into ``slot``."""
        await asyncio.to_thread(self.cards.insert, slot, profile)

    async def remove(self, slot: int) -> dict[str, Any]:
        """Remove the card from ``slot``; return what it received and sent."""
        return await asyncio.to_thread(self.cards.remove, slot)

    @contextlib.asynccontextmanager
    async def agent(self, name: str, *args: str, **kwargs: Any) -> AsyncIterator[Agent]:
        """Run an agent in ``work/name`` for the block, and stop it after."""
        agent = Agent(self.work / name, *args, **kwargs)
        await agent.start()
        try:
            yield agent
        finally:
            agent.stop()

    @contextlib.asynccontextmanager
    async def observer(
        self, reader: str = FIRST_READER, read: bool = False
    ) -> AsyncIterator[ObserverProcess]:
        """Run the independent observer for the block."""
        observer = ObserverProcess(reader, read)
        await observer.start()
        try:
            yield observer
        finally:
            await observer.stop()

    @contextlib.asynccontextmanager
    async def client(self, agent: Agent) -> AsyncIterator[Client]:
        """Keep one WebSocket client connected for the block."""
        client = await Client.connect(agent.ws_url)
        try:
            yield client
        finally:
            await client.close()


async def read_cycle(
    rig: Rig, client: Client, slot: int, profile: str, photo: bool = True
) -> tuple[Received, Received | None]:
    """Insert a card, wait for its read, remove it and wait for ``card.removed``.

    Returns ``card.read`` and ``card.photo`` (``None`` without the photo).
    """
    reader = READER_NAMES[slot]
    await rig.insert(slot, profile)
    read = await client.expect("card.read", reader)
    photo_message = await client.expect("card.photo", reader) if photo else None
    await rig.remove(slot)
    await client.expect("card.removed", reader)
    return read, photo_message
