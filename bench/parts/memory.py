"""Memory: resident size after start and over many insert-read-remove cycles.

Both slots cycle at once, each with its own ``fast`` card, so pcscd's
400 ms presence polling costs half the wall time. The run stops at
``cycles`` cycles or after ``cycle_budget`` seconds, whichever comes first,
and then extrapolates the growth per cycle to 1,000 cycles, labelled as an
estimate. With ``tray`` the agent runs without ``--headless`` under Xvfb,
with trayer as the tray host and ``PYSTRAY_BACKEND=xorg``.
"""

import asyncio
import time

from ..agent import resident_bytes
from ..rig import Rig, read_cycle
from ..xhost import tray_host

PROFILE = "fast"
SETTLE_SECONDS = 2.0
SAMPLE_EVERY = 25
BASELINE_CYCLE = 100
TARGET_CYCLES = 1000


async def run(rig: Rig, tray: bool) -> dict:
    """Cycle cards and sample the agent's resident size."""
    if not tray:
        return await _run_agent(rig, None)
    with tray_host(rig.work / "x") as display:
        return await _run_agent(rig, display)


async def _run_agent(rig: Rig, display: str | None) -> dict:
    async with (
        rig.agent("agent", display=display) as agent,
        rig.client(agent) as client,
    ):
        await asyncio.sleep(SETTLE_SECONDS)
        samples = [(0, resident_bytes(agent.pid))]
        counter = _Counter(
            rig.options.cycles, time.monotonic() + rig.options.cycle_budget
        )

        async def cycle_slot(slot: int) -> None:
            while counter.take():
                await read_cycle(rig, client, slot, PROFILE)
                done = counter.finish()
                if done % SAMPLE_EVERY == 0:
                    samples.append((done, resident_bytes(agent.pid)))

        started = time.monotonic()
        await asyncio.gather(cycle_slot(0), cycle_slot(1))
        elapsed = time.monotonic() - started
        await asyncio.sleep(SETTLE_SECONDS)
        samples.append((counter.finished, resident_bytes(agent.pid)))
        tray_shown = "No tray icon can be shown" not in agent.log_text()
    return {
        "mode": "tray" if display else "headless",
        "tray_shown": tray_shown if display else None,
        "cycles": counter.finished,
        "elapsed_s": elapsed,
        "samples": samples,
        "summary": _summary(samples),
    }


class _Counter:
    """Hands out cycles to the two slots until the count or the time runs out."""

    def __init__(self, limit: int, deadline: float) -> None:
        self.limit = limit
        self.deadline = deadline
        self.started = 0
        self.finished = 0

    def take(self) -> bool:
        if self.started >= self.limit or time.monotonic() > self.deadline:
            return False
        self.started += 1
        return True

    def finish(self) -> int:
        self.finished += 1
        return self.finished


def _summary(samples: list[tuple[int, int]]) -> dict:
    start = samples[0][1]
    end_cycle, end = samples[-1]
    later = [(cycle, size) for cycle, size in samples if cycle >= BASELINE_CYCLE]
    summary: dict = {"start_bytes": start, "end_bytes": end, "end_cycle": end_cycle}
    if len(later) < 2:
        return summary
    baseline = later[0][1]
    slope = _slope(later)
    summary.update(
        baseline_cycle=later[0][0],
        baseline_bytes=baseline,
        growth_after_baseline=(end - baseline) / baseline,
        bytes_per_cycle=slope,
    )
    if end_cycle < TARGET_CYCLES:
        estimate = baseline + slope * (TARGET_CYCLES - later[0][0])
        summary["estimated_bytes_at_1000"] = estimate
        summary["estimated_growth_at_1000"] = (estimate - baseline) / baseline
    return summary


def _slope(points: list[tuple[int, int]]) -> float:
    """Return the least-squares slope of size over cycle, in bytes per cycle."""
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in points)
    denominator = sum((x - mean_x) ** 2 for x, _ in points)
    return numerator / denominator if denominator else 0.0
