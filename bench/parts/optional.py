"""Optional reads: what reading the laser ID or the NHSO applet adds.

Measured only when the agent's settings have ``read_laser_id`` and
``read_nhso``; otherwise the result states that they were not measured. Each
configuration runs its own agent with the ``real`` card, and every message
about the reader, from insertion to removal, is timed from the observer's
wake-up, because where the optional data appears in the protocol is up to
the agent.
"""

import asyncio
import dataclasses

from trayagent.settings import Settings

from ..rig import FIRST_READER, Rig
from ..stats import summarize

PROFILE = "real"
SETTINGS = ("read_laser_id", "read_nhso")
# Seconds to wait after card.photo for messages that may follow it.
GRACE_SECONDS = 1.0


async def run(rig: Rig) -> dict:
    """Time reads without and with each optional read, or return why not."""
    names = {field.name for field in dataclasses.fields(Settings)}
    missing = [name for name in SETTINGS if name not in names]
    if missing:
        return {
            "measured": False,
            "reason": "trayagent.settings.Settings has no " + " or ".join(missing),
        }
    configurations = {
        "neither": {name: False for name in SETTINGS},
        **{name: {other: other == name for other in SETTINGS} for name in SETTINGS},
    }
    trials = max(3, rig.options.trials // 3)
    results = {}
    for label, settings in configurations.items():
        results[label] = await _time_messages(rig, label, settings, trials)
    return {"measured": True, "trials": trials, "configurations": results}


async def _time_messages(rig: Rig, label: str, settings: dict, trials: int) -> dict:
    times: dict[str, list[float]] = {}
    traffic: dict = {}
    async with (
        rig.agent(f"agent-{label}", settings=settings) as agent,
        rig.observer() as observer,
        rig.client(agent) as client,
    ):
        for _ in range(trials):
            first = len(client.history)
            await rig.insert(0, PROFILE)
            woke = await observer.expect(present=True)
            await client.expect("card.photo", FIRST_READER)
            await asyncio.sleep(GRACE_SECONDS)
            traffic = await rig.remove(0)
            await observer.expect(present=False)
            await client.expect("card.removed", FIRST_READER)
            for received in client.history[first:]:
                if received.message.get("reader") != FIRST_READER:
                    continue
                if received.type not in ("card.inserted", "card.removed"):
                    times.setdefault(received.type, []).append(
                        (received.time - woke["t"]) * 1000
                    )
    return {
        "messages_ms": {kind: summarize(values) for kind, values in times.items()},
        "traffic": traffic,
    }
