"""The command line of ``python -m bench``: pick parts, run each, save results.

Runs on the main thread. Each part takes ``/tmp/pcsc-test.lock``, starts
its own pcscd and card host, runs on a fresh event loop, stops everything
it started, releases the lock and writes ``bench/results/PART.json``.
Parts are short enough (under about ten minutes each) that other users of
the PC/SC stack wait for one part at most, not for the whole suite.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from . import RESULTS_DIR, WORK_DIR
from .cardhost import CardHost
from .machine import describe_machine
from .parts import fanout, idle, latency, memory, optional, read, startup
from .rig import Options, Rig
from .stack import Pcscd, StackError, pcsc_lock

logger = logging.getLogger(__name__)

Part = Callable[[Rig], Awaitable[dict]]

PARTS: dict[str, Part] = {
    "startup": startup.run,
    "latency": latency.run,
    "read": read.run,
    "fanout": fanout.run,
    "optional": optional.run,
    "idle": idle.run,
    "memory-headless": partial(memory.run, tray=False),
    "memory-tray": partial(memory.run, tray=True),
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts; return 0 when every one finished."""
    arguments = _parse_arguments(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = Options(
        trials=arguments.trials,
        idle_seconds=arguments.idle_seconds,
        cycles=arguments.cycles,
        cycle_budget=arguments.cycle_budget,
    )
    failed = []
    for name in arguments.only:
        try:
            _run_part(name, options, arguments)
        except (StackError, RuntimeError, TimeoutError) as error:
            logger.error("Part %s failed: %s", name, error)
            failed.append(name)
    if failed:
        logger.error("Failed parts: %s", ", ".join(failed))
    return 1 if failed else 0


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Measure trayagent against the floor of each figure, with a private "
            "pcscd, the vpcd driver and the simulated card."
        ),
    )
    parser.add_argument(
        "--only",
        type=_part_names,
        default=list(PARTS),
        help=f"comma-separated parts to run (default: all of {','.join(PARTS)})",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=30,
        help="insertions per timed series (default: 30)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=60.0,
        help="length of each idle window in seconds (default: 60)",
    )
    parser.add_argument(
        "--cycles",
        type=int,
        default=1000,
        help="insert, read and remove cycles of the memory parts (default: 1000)",
    )
    parser.add_argument(
        "--cycle-budget",
        type=float,
        default=480.0,
        help="seconds the memory parts may cycle before they stop (default: 480)",
    )
    parser.add_argument(
        "--no-lock",
        action="store_true",
        help="do not take /tmp/pcsc-test.lock (the caller holds it already)",
    )
    parser.add_argument(
        "--apdu-log",
        action="store_true",
        help="start pcscd with -a, which logs every APDU (slows every exchange)",
    )
    return parser.parse_args(argv)


def _part_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown part {', '.join(unknown)}; known: {', '.join(PARTS)}"
        )
    return names


def _run_part(name: str, options: Options, arguments: argparse.Namespace) -> None:
    work = WORK_DIR / time.strftime("%Y%m%dT%H%M%S") / name
    work.mkdir(parents=True)
    with pcsc_lock(not arguments.no_lock):
        logger.info("Running %s in %s", name, work)
        started = time.time()
        pcscd = Pcscd(work, apdu_log=arguments.apdu_log)
        pcscd.start()
        cards = CardHost()
        try:
            result = asyncio.run(PARTS[name](Rig(pcscd, cards, work, options)))
        finally:
            cards.close()
            pcscd.stop()
        elapsed = time.time() - started
    _save(name, result, options, arguments, started, elapsed)
    logger.info("Part %s took %.0f s", name, elapsed)


def _save(
    name: str,
    result: dict,
    options: Options,
    arguments: argparse.Namespace,
    started: float,
    elapsed: float,
) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {
        "part": name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "elapsed_s": round(elapsed, 1),
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "options": vars(options),
        "pcscd_apdu_log": arguments.apdu_log,
        "machine": describe_machine(),
        "load_average_at_end": os.getloadavg(),
        "result": result,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    logger.info("Wrote %s", path)
