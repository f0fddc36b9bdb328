"""Fan-out: how far apart the clients receive the same message.

The agent admits 32 WebSocket connections at once (``MAX_CONNECTIONS`` in
``trayagent/server/websocket.py``), so the part connects 32 clients, checks
that a 33rd is rejected, and times ``card.inserted``, ``card.read`` and
``card.photo`` at every client. A second series runs 100 clients against
``bench.raised_limit_agent``, the same agent with the limit set to 100, to
show what 100 clients would cost. All clients live on this process's event
loop, so the spread also contains this process's own frame handling. For
each insertion the part also records how long the agent's threads and this
process's threads were ready to run but waited for a CPU, which shows when
a large spread comes from a busy machine rather than from the agent.
This process collects garbage between insertions only, so its own pauses
stay out of the spreads; the agent collects as it always does.
"""

import asyncio
import gc
import os

import aiohttp

from ..agent import Agent, cpu_sample
from ..clients import Client, connect_many
from ..rig import FIRST_READER, Rig
from ..stats import summarize

CLIENTS = 32
RAISED_CLIENTS = 100
PROFILE = "fast"
KINDS = ("card.inserted", "card.read", "card.photo", "card.removed")


async def run(rig: Rig) -> dict:
    """Time ``trials`` insertions at 32 clients, then at 100; return the spreads."""
    async with rig.agent("agent") as agent:
        result = await _series(rig, agent, CLIENTS)
    raised = {"BENCH_MAX_CONNECTIONS": str(RAISED_CLIENTS)}
    async with rig.agent(
        "agent-100", module="bench.raised_limit_agent", environment=raised
    ) as agent:
        result["raised_limit"] = await _series(rig, agent, RAISED_CLIENTS)
    return result


async def _series(rig: Rig, agent: Agent, count: int) -> dict:
    spreads: dict[str, list[float]] = {kind: [] for kind in KINDS}
    gaps: dict[str, list[float]] = {kind: [] for kind in KINDS}
    waits: dict[str, list[float]] = {"agent": [], "clients": []}
    clients = await connect_many(agent.ws_url, count)
    try:
        rejected = await _extra_connection_status(agent.ws_url)
        for _ in range(rig.options.trials):
            # A full collection in this process pauses all its clients for
            # 35 to 60 ms with 100 clients, which showed up as the spread of
            # one message in 30. So collect between insertions instead.
            gc.collect()
            gc.disable()
            try:
                await _trial(rig, agent, clients, spreads, gaps, waits)
            finally:
                gc.enable()
    finally:
        await asyncio.gather(*(client.close() for client in clients))
    return {
        "clients": count,
        "extra_connection_status": rejected,
        "spread_ms": spreads,
        "largest_gap_ms": gaps,
        "cpu_wait_ms": waits,
        "summary": {kind: summarize(values) for kind, values in spreads.items()},
    }


async def _trial(
    rig: Rig,
    agent: Agent,
    clients: list[Client],
    spreads: dict[str, list[float]],
    gaps: dict[str, list[float]],
    waits: dict[str, list[float]],
) -> None:
    """Insert a card, time its messages at every client, then remove it."""
    agent_before, own_before = cpu_sample(agent.pid), cpu_sample(os.getpid())
    await rig.insert(0, PROFILE)
    await _collect(clients, KINDS[:3], spreads, gaps)
    waits["agent"].append((cpu_sample(agent.pid) - agent_before).waiting * 1000)
    waits["clients"].append((cpu_sample(os.getpid()) - own_before).waiting * 1000)
    await rig.remove(0)
    await _collect(clients, KINDS[3:], spreads, gaps)


async def _collect(
    clients: list[Client],
    kinds: tuple[str, ...],
    spreads: dict[str, list[float]],
    gaps: dict[str, list[float]],
) -> None:
    """Record each message's spread, and the largest gap between two receipts.

    A gap as large as the spread means one stall held every later client
    back, rather than many small delays adding up.
    """
    for kind in kinds:
        received = await asyncio.gather(
            *(client.expect(kind, FIRST_READER) for client in clients)
        )
        times = sorted(message.time for message in received)
        spreads[kind].append((times[-1] - times[0]) * 1000)
        steps = [b - a for a, b in zip(times, times[1:], strict=False)]
        gaps[kind].append(max(steps, default=0.0) * 1000)


async def _extra_connection_status(url: str) -> int | None:
    """Return the HTTP status of one connection past the limit; None if admitted."""
    async with aiohttp.ClientSession() as session:
        try:
            socket = await session.ws_connect(url)
        except aiohttp.WSServerHandshakeError as error:
            return error.status
        await socket.close()
        return None
