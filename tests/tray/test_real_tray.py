"""The tray on a real X tray host: Xvfb, trayer and pystray's xorg backend.

Each test runs ``tray_driver.py`` as a subprocess against a private Xvfb
display with trayer docked at its top left corner, and reads the screen back
with ``xwd`` and ImageMagick's ``convert``. Without those tools the tests
skip on a developer machine and fail under ``CI=true``. The pictures in
the docs come from the whole agent's run in ``tests/e2e/test_tray_agent.py``.
"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from x_tray_host import (
    TRAY_AREA,
    TrayHost,
    colour_pixels,
    stop_process,
    wait_for_picture,
)

from trayagent.tray.drawing import STATE_COLOURS
from trayagent.tray.state import IconState

DRIVER = Path(__file__).with_name("tray_driver.py")
STOP_LIMIT_SECONDS = 2.0


class Driver:
    """``tray_driver.py`` running on the tray host, logging to ``log``."""

    def __init__(self, host: TrayHost, log: Path, log_stream) -> None:
        self._log_path = log
        self._log_stream = log_stream
        self.process = subprocess.Popen(
            [sys.executable, str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_stream,
            text=True,
            env=host.environment(),
        )

    def expect(self, line: str) -> None:
        received = self.process.stdout.readline().strip()
        assert received == line, f"driver wrote {received!r}; log:\n{self.log()}"

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        self.expect(command)

    def finish(self) -> tuple[str, int]:
        output, _ = self.process.communicate(timeout=30)
        return output, self.process.returncode

    def log(self) -> str:
        self._log_stream.flush()
        return self._log_path.read_text()

    def close(self) -> None:
        stop_process(self.process)
        for stream in (self.process.stdin, self.process.stdout):
            if stream and not stream.closed:
                stream.close()


@pytest.fixture
def driver(tray_host: TrayHost, tmp_path: Path) -> Iterator[Driver]:
    log = tmp_path / "driver.log"
    with open(log, "w") as log_stream:
        running = Driver(tray_host, log, log_stream)
        try:
            running.expect("running")
            yield running
        finally:
            running.close()


def test_icon_follows_card(tray_host, driver, tmp_path):
    ready = wait_for_picture(
        tray_host, IconState.READY, tmp_path / "ready.png", driver.log
    )
    driver.send("card")
    card = wait_for_picture(
        tray_host, IconState.CARD_PRESENT, tmp_path / "card.png", driver.log
    )

    assert ready.crop(TRAY_AREA).tobytes() != card.crop(TRAY_AREA).tobytes()
    assert colour_pixels(ready, STATE_COLOURS[IconState.CARD_PRESENT]) == 0
    assert colour_pixels(card, STATE_COLOURS[IconState.READY]) == 0
    # Outside the tray nothing is drawn, so the icon docked into trayer.
    outside = (TRAY_AREA[2], 0, *ready.size)
    assert ready.crop(outside).getbbox() is None


def test_stop_from_other_thread(tray_host, driver, tmp_path):
    wait_for_picture(
        tray_host, IconState.READY, tmp_path / "ready.png", driver.log
    )
    driver.process.stdin.write("stop\n")
    driver.process.stdin.flush()
    output, returncode = driver.finish()
    lines = dict(line.split(" ", 1) for line in output.splitlines() if " " in line)

    assert returncode == 0, driver.log()
    assert float(lines["stopped"]) < STOP_LIMIT_SECONDS
    assert lines["threads"] == ""
