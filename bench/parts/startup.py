"""Start-up: process start to ``/api/status`` answering, and what it imports.

The time counts from just before ``Popen`` to the first 200 from
``/api/status``, polled every 5 ms. One more start runs with
``python -X importtime``, whose report lists every module the process
imported, to check that the headless path leaves the tray code out.
"""

import asyncio
import re

from ..rig import Rig
from ..stats import summarize

# Seconds the import-time run goes on after /api/status answers, so imports
# that the monitor thread makes after start-up are counted as well.
IMPORT_WATCH_SECONDS = 2.0
# Modules the headless agent has no use for.
TRAY_MODULES = ("pystray", "PIL.ImageDraw", "trayagent.tray")
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


async def run(rig: Rig) -> dict:
    """Start the agent ``trials`` times, then once with ``-X importtime``."""
    times = []
    for number in range(rig.options.trials):
        async with rig.agent(f"agent-{number}") as agent:
            times.append(agent.status_after * 1000)
    options = ("-X", "importtime")
    async with rig.agent("agent-importtime", python_options=options) as agent:
        await asyncio.sleep(IMPORT_WATCH_SECONDS)
    modules = _imported_modules(agent.output())
    return {
        "status_ms": times,
        "summary": {"status_ms": summarize(times)},
        "modules_imported": len(modules),
        "import_seconds": sum(
            cumulative for _, cumulative, level in modules if level == 0
        )
        / 1e6,
        "tray_modules_loaded": sorted(
            {name for name, _, _ in modules if _is_tray_module(name)}
        ),
        "pillow_modules_loaded": sorted(
            {name for name, _, _ in modules if name.split(".")[0] == "PIL"}
        ),
        "largest_imports": _largest(modules),
    }


def _imported_modules(output: str) -> list[tuple[str, int, int]]:
    """Return (module, cumulative microseconds, nesting level) from the report."""
    modules = []
    for line in output.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            # One space after the bar, then two per nesting level.
            level = (len(match.group(3)) - 1) // 2
            modules.append((match.group(4), int(match.group(2)), level))
    return modules


def _is_tray_module(name: str) -> bool:
    return any(
        name == module or name.startswith(module + ".") for module in TRAY_MODULES
    )


def _largest(modules: list[tuple[str, int, int]]) -> list[tuple[str, float]]:
    top_level = [
        (name, cumulative / 1000) for name, cumulative, level in modules if level == 0
    ]
    return sorted(top_level, key=lambda item: item[1], reverse=True)[:10]
