"""The agent under test, started as a user starts it, and its process figures.

:class:`Agent` runs ``python -m trayagent --headless --port N`` (or with the
tray on an X display) in a subprocess with private settings and log
folders. CPU time and resident memory come from ``/proc``, so they count
every thread of the agent. Runs on the main thread of ``python -m bench``,
inside its event loop.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from . import REPOSITORY

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
# Seconds between two requests while waiting for /api/status.
STATUS_POLL_INTERVAL = 0.005
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class CpuSample:
    """CPU time of a process so far, in seconds.

    ``ticks`` is utime + stime from ``/proc/PID/stat``, in steps of
    1/``SC_CLK_TCK`` s. ``scheduled`` and ``waiting`` sum the first two
    fields of ``/proc/PID/task/*/schedstat`` (time on a CPU, and time ready
    to run but waiting for one), in ns steps, over the threads alive at the
    time of the sample.
    """

    ticks: float
    scheduled: float
    waiting: float = 0.0

    def __sub__(self, earlier: "CpuSample") -> "CpuSample":
        return CpuSample(
            self.ticks - earlier.ticks,
            self.scheduled - earlier.scheduled,
            self.waiting - earlier.waiting,
        )


def cpu_sample(pid: int) -> CpuSample:
    """Return the CPU time ``pid`` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name in brackets may contain spaces; fields follow it.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    scheduled = waiting = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "schedstat").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between the listing and the read
        scheduled += int(fields[0])
        waiting += int(fields[1])
    return CpuSample(ticks, scheduled / 1e9, waiting / 1e9)


def resident_bytes(pid: int) -> int:
    """Return the resident set size of ``pid`` in bytes (``/proc/PID/statm``)."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE


class Agent:
    """One agent process in ``home``.

    :param args: further command-line arguments, such as ``--no-photo``.
    :param display: an X display with a tray host; the agent then runs with
        its tray and ``PYSTRAY_BACKEND=xorg`` instead of ``--headless``.
    :param settings: the content of its ``settings.json``, written first.
    :param python_options: options for the interpreter, such as
        ``["-X", "importtime"]``.
    :param module: the module to run with ``-m``; ``trayagent`` unless a
        part runs a wrapper such as ``bench.raised_limit_agent``.
    :param environment: further environment variables.
    """

    def __init__(
        self,
        home: Path,
        *args: str,
        display: str | None = None,
        settings: dict[str, Any] | None = None,
        python_options: tuple[str, ...] = (),
        module: str = "trayagent",
        environment: dict[str, str] | None = None,
    ) -> None:
        self.home = home
        self.port = free_port()
        self.args = list(args)
        self.display = display
        self.settings = settings
        self.python_options = list(python_options)
        self.module = module
        self.extra_environment = environment or {}
        self.output_path = home / "agent-output.txt"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.status_after = 0.0

    @property
    def pid(self) -> int:
        """Process id of the running agent."""
        assert self.process is not None
        return self.process.pid

    @property
    def ws_url(self) -> str:
        """The agent's WebSocket address."""
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def log_dir(self) -> Path:
        """The folder of the agent's log files."""
        return self.home / "logs"

    async def start(self) -> float:
        """Start the agent; return the seconds until ``/api/status`` responded."""
        self.home.mkdir(parents=True, exist_ok=True)
        config_dir = self.home / "config"
        config_dir.mkdir(exist_ok=True)
        if self.settings is not None:
            (config_dir / "settings.json").write_text(json.dumps(self.settings))
        mode = [] if self.display else ["--headless"]
        command = [
            sys.executable,
            *self.python_options,
            "-m",
            self.module,
            *mode,
            "--port",
            str(self.port),
            *self.args,
        ]
        with self.output_path.open("wb") as output:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                command,
                env=self._environment(config_dir),
                cwd=REPOSITORY,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        await self._wait_for_status()
        self.status_after = time.monotonic() - self.started_at
        return self.status_after

    def stop(self) -> int:
        """Send SIGTERM, wait, and return the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        """Return what the agent wrote to standard output and error."""
        return self.output_path.read_text(errors="replace")

    def log_text(self) -> str:
        """Return every log file the agent wrote, joined."""
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.log_dir.glob("*.log*"))
        )

    def _environment(self, config_dir: Path) -> dict[str, str]:
        environment = dict(os.environ)
        environment["TRAYAGENT_CONFIG_DIR"] = str(config_dir)
        environment["TRAYAGENT_LOG_DIR"] = str(self.log_dir)
        environment["PYTHONPATH"] = str(REPOSITORY)
        environment.update(self.extra_environment)
        environment.pop("DISPLAY", None)
        environment.pop("WAYLAND_DISPLAY", None)
        if self.display is not None:
            environment["DISPLAY"] = self.display
            environment["PYSTRAY_BACKEND"] = "xorg"
        return environment

    async def _wait_for_status(self) -> None:
        url = f"http://127.0.0.1:{self.port}/api/status"
        deadline = time.monotonic() + START_TIMEOUT
        timeout = aiohttp.ClientTimeout(total=1.0)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"The agent exited with {self.process.returncode}: "
                        f"{self.output()[-2000:]}"
                    )
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                await asyncio.sleep(STATUS_POLL_INTERVAL)
        raise RuntimeError(f"/api/status did not respond within {START_TIMEOUT:.0f} s")
