"""Event latency: observer wake-up to ``card.inserted`` and ``card.removed``.

The observer and the agent's monitor block in the same
``SCardGetStatusChange`` on the same pcscd, so both wake at pcscd's
notification. The time from there to the client's receipt is what the
agent adds. The ``fast`` card keeps each read short, and the card is removed only
after ``card.photo``, so a removal never lands in the middle of a read.
"""

from ..rig import FIRST_READER, Rig
from ..stats import summarize

PROFILE = "fast"


async def run(rig: Rig) -> dict:
    """Time twice ``trials`` insertions and removals; return the lags in ms."""
    inserted: list[float] = []
    removed: list[float] = []
    async with (
        rig.agent("agent") as agent,
        rig.observer() as observer,
        rig.client(agent) as client,
    ):
        for _ in range(2 * rig.options.trials):
            await rig.insert(0, PROFILE)
            woke = await observer.expect(present=True)
            received = await client.expect("card.inserted", FIRST_READER)
            inserted.append((received.time - woke["t"]) * 1000)
            await client.expect("card.photo", FIRST_READER)
            await rig.remove(0)
            woke = await observer.expect(present=False)
            received = await client.expect("card.removed", FIRST_READER)
            removed.append((received.time - woke["t"]) * 1000)
    return {
        "profile": PROFILE,
        "inserted_ms": inserted,
        "removed_ms": removed,
        "summary": {
            "inserted_ms": summarize(inserted),
            "removed_ms": summarize(removed),
        },
    }
