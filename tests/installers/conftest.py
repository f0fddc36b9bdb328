"""The frozen bundle, built once per session with PyInstaller, and agents run from it.

Without PyInstaller the tests that need the bundle skip on a developer
machine and fail under ``CI=true``.
"""

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trayagent.simcard import PEOPLE

REPOSITORY = Path(__file__).resolve().parents[2]
SPEC = REPOSITORY / "installers" / "trayagent.spec"

# Seconds. A build took 8 to 10 s on a 2-core Debian 12 machine. The limit
# leaves room for a cold cache and a slower machine.
BUILD_TIMEOUT = 600.0
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0

_build_report: list[str] = []


@dataclass(frozen=True)
class FrozenBundle:
    """The one-folder build in ``folder``, with its program ``trayagent``."""

    folder: Path
    build_seconds: float

    @property
    def program(self) -> Path:
        return self.folder / "trayagent"

    @property
    def internal(self) -> Path:
        """The ``_internal`` folder, with the libraries and the data files."""
        return self.folder / "_internal"


def require_pyinstaller() -> None:
    """Skip without PyInstaller on a developer machine; fail under ``CI=true``."""
    if importlib.util.find_spec("PyInstaller") is not None:
        return
    reason = (
        f"PyInstaller is not installed in {sys.executable}: pip install pyinstaller"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"Frozen bundle cannot be built under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def folder_megabytes(folder: Path) -> float:
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return total / 1_000_000


def run_pyinstaller(spec: Path, build: Path) -> subprocess.CompletedProcess[bytes]:
    """Run PyInstaller on ``spec`` with its output in ``build``; log to build.log."""
    environment = dict(os.environ, PYSTRAY_BACKEND="dummy")
    environment.pop("DISPLAY", None)
    command = [
        sys.executable, "-m", "PyInstaller", "--noconfirm",
        "--distpath", str(build / "dist"), "--workpath", str(build / "work"),
        str(spec),
    ]  # fmt: skip
    with (build / "build.log").open("wb") as log:
        return subprocess.run(
            command,
            cwd=build,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT,
            check=False,
        )


@pytest.fixture(scope="session")
def frozen_bundle(tmp_path_factory: pytest.TempPathFactory) -> FrozenBundle:
    """Build installers/trayagent.spec once and return the bundle."""
    require_pyinstaller()
    build = tmp_path_factory.mktemp("pyinstaller")
    started = time.monotonic()
    result = run_pyinstaller(SPEC, build)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        log = (build / "build.log").read_text(errors="replace")
        pytest.fail(f"PyInstaller exited with {result.returncode}:\n{log[-4000:]}")
    bundle = FrozenBundle(build / "dist" / "trayagent", seconds)
    _build_report.append(
        f"PyInstaller built the frozen bundle in {seconds:.1f} s "
        f"({folder_megabytes(bundle.folder):.0f} MB in {bundle.folder})"
    )
    return bundle


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _build_report:
        terminalreporter.write_line(line)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FrozenAgent:
    """The frozen program in a subprocess, with private settings and log folders."""

    def __init__(
        self, program: Path, home: Path, *args: str, display: str | None
    ) -> None:
        self.port = free_port()
        self.home = home
        self.log_dir = home / "logs"
        self.output_path = home / "output.txt"
        self.home.mkdir(parents=True)
        environment = dict(os.environ)
        environment["TRAYAGENT_CONFIG_DIR"] = str(home / "config")
        environment["TRAYAGENT_LOG_DIR"] = str(self.log_dir)
        environment.pop("PYSTRAY_BACKEND", None)
        environment.pop("DISPLAY", None)
        if display is not None:
            environment["DISPLAY"] = display
        with self.output_path.open("wb") as output:
            self.process = subprocess.Popen(
                [str(program), "--port", str(self.port), *args],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def wait_until_listening(self) -> "FrozenAgent":
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                raise AssertionError(
                    f"frozen agent exited with {status}: {self.output()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"frozen agent did not listen within {START_TIMEOUT} s")

    def stop(self) -> int:
        """Send SIGTERM and return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    f"frozen agent did not stop within {STOP_TIMEOUT} s"
                ) from None
        return self.process.returncode

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def log_text(self) -> str:
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.log_dir.glob("*.log*"))
        )


def personal_values() -> list[str]:
    """Return the fictional people's details as a log could show them.

    First names are left out: "Test" is also part of the reader names.
    """
    values = []
    for person in PEOPLE.values():
        values.extend((person.citizen_id, person.birth_date))
        for name in (person.name_th, person.name_en):
            parts = [part for part in name.split("#") if part]
            values.extend((parts[-1], " ".join(parts)))
    return values


@pytest.fixture
def start_frozen_agent(
    frozen_bundle: FrozenBundle, tmp_path: Path
) -> Iterator[Callable[..., FrozenAgent]]:
    """Start frozen agents; stop them at the end and check their exit and logs."""
    agents: list[FrozenAgent] = []

    def start(*args: str, display: str | None = None) -> FrozenAgent:
        home = tmp_path / f"frozen-agent{len(agents)}"
        agent = FrozenAgent(frozen_bundle.program, home, *args, display=display)
        agents.append(agent)
        return agent.wait_until_listening()

    yield start
    for agent in agents:
        status = agent.stop()
        assert status == 0, agent.output()
        log = agent.log_text()
        assert "Traceback" not in log
        leaked = [value for value in personal_values() if value in log + agent.output()]
        assert leaked == [], (
            f"personal data in the frozen agent's log: {len(leaked)} values"
        )
