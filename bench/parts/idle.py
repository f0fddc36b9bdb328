"""Idle cost: the agent's CPU time while nothing happens.

Two windows of ``idle_seconds`` each, with one WebSocket client connected
as a web app would be: first with the readers empty, then with a card
resting in a reader after its read. pcscd's own CPU time over the same
windows is recorded beside the agent's. pcscd polls vpcd about every
400 ms, and that is pcscd's cost, not the agent's. When py-spy is
installed, one dump of every agent thread is kept, to show where each one
waits.
"""

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from ..agent import cpu_sample
from ..rig import FIRST_READER, Rig

SETTLE_SECONDS = 3.0
PROFILE = "fast"


async def run(rig: Rig) -> dict:
    """Measure both windows; return CPU seconds and their rate per minute."""
    async with rig.agent("agent") as agent, rig.client(agent) as client:
        await asyncio.sleep(SETTLE_SECONDS)
        empty = await _window(rig, agent.pid)
        await rig.insert(0, PROFILE)
        await client.expect("card.photo", FIRST_READER)
        await asyncio.sleep(SETTLE_SECONDS)
        resting = await _window(rig, agent.pid)
        resting["threads"] = _thread_dump(agent.pid)
        await rig.remove(0)
        await client.expect("card.removed", FIRST_READER)
    return {
        "seconds": rig.options.idle_seconds,
        "empty": empty,
        "card_resting": resting,
    }


async def _window(rig: Rig, pid: int) -> dict:
    assert rig.pcscd.pid is not None
    agent_before, pcscd_before = cpu_sample(pid), cpu_sample(rig.pcscd.pid)
    await asyncio.sleep(rig.options.idle_seconds)
    agent_used = cpu_sample(pid) - agent_before
    pcscd_used = cpu_sample(rig.pcscd.pid) - pcscd_before
    per_minute = 60.0 / rig.options.idle_seconds
    return {
        "agent_ticks_s": agent_used.ticks,
        "agent_scheduled_s": agent_used.scheduled,
        "agent_per_minute_s": agent_used.scheduled * per_minute,
        "pcscd_scheduled_s": pcscd_used.scheduled,
    }


def _thread_dump(pid: int) -> str | None:
    py_spy = shutil.which("py-spy") or shutil.which(
        "py-spy", path=str(Path(sys.executable).parent)
    )
    if py_spy is None:
        return None
    result = subprocess.run(
        [py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30
    )
    return result.stdout or result.stderr
