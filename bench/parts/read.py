"""Read time against the floor, with the ``real`` card.

Blocks of floor reads (the observer's raw pyscard sequence, no agent
running) alternate with blocks of agent reads, so slow drift of the machine
touches both alike. Every time counts from the observer's insertion
wake-up: for the agent to the client's receipt of ``card.read`` and
``card.photo``, for the floor to its last text field and last photo piece.
The agent's CPU time per read counts from just before the insertion to
``card.photo``. One more round with the ``fast`` card, which answers at
once, shows the software's share alone: the agent's code against the
floor's, with pcscd and vpcd under both.
"""

import re

from ..agent import cpu_sample
from ..rig import FIRST_READER, Rig
from ..stats import summarize
from . import peer

PROFILE = "real"
FAST_PROFILE = "fast"
ROUNDS = 3

_RETRY_LINE = re.compile(r"Retrying the (.+?) \(retry")


async def run(rig: Rig) -> dict:
    """Time ``trials`` floor reads and ``trials`` agent reads in rounds."""
    floor: list[dict] = []
    agent_reads: list[dict] = []
    retry_lines: list[str] = []
    per_round = max(1, rig.options.trials // ROUNDS)
    for round_number in range(ROUNDS):
        floor += await _floor_block(rig, per_round, PROFILE)
        name = f"agent-{round_number}"
        reads, retries = await _agent_block(rig, per_round, name, PROFILE)
        agent_reads += reads
        retry_lines += retries
    peer_result = await peer.run(rig, PROFILE, rig.options.trials)
    fast_floor = await _floor_block(rig, per_round, FAST_PROFILE)
    fast_reads, _ = await _agent_block(rig, per_round, "agent-fast", FAST_PROFILE)
    summary = _summary(floor, agent_reads, peer_result)
    summary["fast"] = _summary(fast_floor, fast_reads, {})
    return {
        "profile": PROFILE,
        "floor": floor,
        "agent": agent_reads,
        "agent_retries": retry_lines,
        "peer": peer_result,
        "fast": {"floor": fast_floor, "agent": fast_reads},
        "summary": summary,
    }


async def _floor_block(rig: Rig, count: int, profile: str) -> list[dict]:
    records = []
    async with rig.observer(read=True) as observer:
        for _ in range(count):
            await rig.insert(0, profile)
            record = await observer.expect(present=True, timeout=20.0)
            if "floor_error" in record:
                raise RuntimeError(f"The floor read failed: {record['floor_error']}")
            record["traffic"] = await rig.remove(0)
            records.append(record)
            await observer.expect(present=False)
    return records


async def _agent_block(
    rig: Rig, count: int, name: str, profile: str
) -> tuple[list, list]:
    records = []
    async with (
        rig.agent(name) as agent,
        rig.observer() as observer,
        rig.client(agent) as client,
    ):
        for _ in range(count):
            cpu_before = cpu_sample(agent.pid)
            await rig.insert(0, profile)
            woke = await observer.expect(present=True)
            read = await client.expect("card.read", FIRST_READER)
            photo = await client.expect("card.photo", FIRST_READER)
            cpu_used = cpu_sample(agent.pid) - cpu_before
            traffic = await rig.remove(0)
            records.append(
                {
                    "read": read.time - woke["t"],
                    "photo": photo.time - woke["t"],
                    "read_duration_ms": read.message["duration_ms"],
                    "photo_duration_ms": photo.message["duration_ms"],
                    "cpu_ms": cpu_used.scheduled * 1000,
                    "traffic": traffic,
                }
            )
            await observer.expect(present=False)
            await client.expect("card.removed", FIRST_READER)
    retries = _RETRY_LINE.findall(agent.log_text())
    return records, retries


def _summary(floor: list[dict], reads: list[dict], peer_result: dict) -> dict:
    def ms(records: list[dict], key: str) -> dict:
        return summarize([record[key] * 1000 for record in records if key in record])

    summary = {
        "floor_text_ms": ms(floor, "text_done"),
        "floor_photo_ms": ms(floor, "photo_done"),
        "floor_connect_ms": ms(floor, "connected"),
        "agent_read_ms": ms(reads, "read"),
        "agent_photo_ms": ms(reads, "photo"),
        "agent_read_duration_ms": summarize([r["read_duration_ms"] for r in reads]),
        "agent_photo_duration_ms": summarize([r["photo_duration_ms"] for r in reads]),
        "agent_cpu_ms": summarize([r["cpu_ms"] for r in reads if "cpu_ms" in r]),
        "floor_retries": sum(record.get("retries", 0) for record in floor),
    }
    if peer_result.get("reads"):
        summary["peer_ms"] = ms(peer_result["reads"], "done")
    return summary
