"""A description of the machine and the software versions of a run.

Called on the main thread before each part, so every results file says
where its numbers come from.
"""

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from . import REPOSITORY, stack


def describe_machine() -> dict[str, str | int | None]:
    """Return CPU model, core count, kernel, versions and the agent's commit.

    ``agent_changes`` lists the files under ``trayagent/`` that differ from
    that commit, as ``git status --porcelain`` prints them.
    """
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "pcsc_lite": stack.pcscd_version(),
        "pyscard": _version("pyscard"),
        "aiohttp": _version("aiohttp"),
        "trayagent": _version("trayagent"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "agent_changes": _git("status", "--porcelain", "--", "trayagent") or None,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    """Return git's output for this checkout; empty when git is missing."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=REPOSITORY, capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return result.stdout.strip()


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
