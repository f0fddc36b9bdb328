"""The tray on a real X tray host: Xvfb, trayer and pystray's xorg backend.

Each test runs ``tray_driver.py`` as a subprocess against a private Xvfb
display with trayer docked at its top left corner, and reads the screen back
with ``xwd`` and ImageMagick's ``convert``. Without those tools the tests
skip on a developer machine and fail under ``CI=true``.

Set ``TRAYAGENT_UPDATE_SCREENSHOTS=1`` to also copy the tray area, enlarged,
to ``docs/images/tray-ready.png`` and ``docs/images/tray-card.png``.
"""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from trayagent.tray.drawing import STATE_COLOURS
from trayagent.tray.state import IconState

REPOSITORY = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("tray_driver.py")
TOOLS = ("Xvfb", "trayer", "xwd", "convert")

SCREEN_SIZE = (320, 120)
# trayer's panel, placed by the options in start_trayer().
TRAY_AREA = (0, 0, 120, 32)
START_SECONDS = 10.0
REPAINT_SECONDS = 10.0
STOP_LIMIT_SECONDS = 2.0
# A picture counts as shown when this many tray pixels are within
# COLOUR_TOLERANCE of its main colour in every channel. The "ready" outline
# alone covers a few hundred pixels in a 24 by 30 slot.
MIN_COLOUR_PIXELS = 40
COLOUR_TOLERANCE = 24
DOCS_ZOOM = 3
SCREENSHOT_ATTEMPTS = 5


def require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    reason = (
        f"missing {', '.join(missing)}"
        " (apt-get install xvfb trayer x11-apps imagemagick)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"Real tray test cannot run under CI: {reason}")
    pytest.skip(reason)


@dataclass
class TrayHost:
    """A private X display with a system tray on it."""

    display: str

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("WAYLAND_DISPLAY", None)
        env.update(
            DISPLAY=self.display,
            PYSTRAY_BACKEND="xorg",
            PYTHONPATH=str(REPOSITORY),
        )
        return env

    def screenshot(self, path: Path) -> Image.Image:
        """Capture the root window into ``path`` and return it as RGB.

        ``xwd -root`` fails with BadWindow now and then when a window goes
        away while it runs, so a failed capture is tried again.
        """
        for attempt in range(SCREENSHOT_ATTEMPTS):
            try:
                self._capture(path)
                break
            except subprocess.CalledProcessError:
                if attempt == SCREENSHOT_ATTEMPTS - 1:
                    raise
                time.sleep(0.1)
        with Image.open(path) as image:
            return image.convert("RGB")

    def _capture(self, path: Path) -> None:
        xwd = subprocess.Popen(
            ["xwd", "-root", "-silent", "-display", self.display],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            subprocess.run(
                ["convert", "xwd:-", str(path)],
                stdin=xwd.stdout,
                stderr=subprocess.DEVNULL,
                check=True,
                timeout=30,
            )
        finally:
            xwd.stdout.close()
            xwd.wait(timeout=30)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def start_xvfb(log: Path) -> tuple[subprocess.Popen, str]:
    # -displayfd makes Xvfb pick a free display number and write it once the
    # server accepts connections.
    read_end, write_end = os.pipe()
    width, height = SCREEN_SIZE
    with open(log, "wb") as output:
        xvfb = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_end),
                "-screen",
                "0",
                f"{width}x{height}x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write_end,),
            stdout=output,
            stderr=output,
        )
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        number = reader.readline().strip()
    if not number:
        stop_process(xvfb)
        pytest.fail(f"Xvfb did not start: {log.read_text()}")
    return xvfb, f":{number}"


def start_trayer(display: str, log: Path) -> subprocess.Popen:
    left, top, right, bottom = TRAY_AREA
    with open(log, "wb") as output:
        return subprocess.Popen(
            [
                "trayer",
                "--edge", "top",
                "--align", "left",
                "--widthtype", "pixel",
                "--width", str(right - left),
                "--heighttype", "pixel",
                "--height", str(bottom - top),
                "--SetDockType", "false",
                "--SetPartialStrut", "false",
            ],
            env=dict(os.environ, DISPLAY=display),
            stdout=output,
            stderr=output,
        )  # fmt: skip


def wait_for_tray_owner(display: str) -> None:
    """Wait until a program owns the system tray selection on ``display``."""
    import Xlib.display
    import Xlib.X

    connection = Xlib.display.Display(display)
    try:
        selection = connection.intern_atom("_NET_SYSTEM_TRAY_S0")
        deadline = time.monotonic() + START_SECONDS
        while connection.get_selection_owner(selection) == Xlib.X.NONE:
            if time.monotonic() > deadline:
                pytest.fail(f"trayer did not take the tray selection on {display}")
            time.sleep(0.05)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def tray_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrayHost]:
    require_tools()
    logs = tmp_path_factory.mktemp("x-tray-host")
    xvfb, display = start_xvfb(logs / "xvfb.log")
    trayer = None
    try:
        trayer = start_trayer(display, logs / "trayer.log")
        wait_for_tray_owner(display)
        yield TrayHost(display)
    finally:
        if trayer is not None:
            stop_process(trayer)
        stop_process(xvfb)


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


def colour_pixels(image: Image.Image, colour: tuple[int, int, int]) -> int:
    """Count the pixels of the tray area close to ``colour``."""
    area = image.crop(TRAY_AREA)
    count = 0
    for pixel_count, pixel in area.getcolors(area.width * area.height):
        if all(abs(pixel[i] - colour[i]) <= COLOUR_TOLERANCE for i in range(3)):
            count += pixel_count
    return count


def wait_for_picture(
    host: TrayHost, state: IconState, path: Path, driver: Driver
) -> Image.Image:
    """Take screenshots until the tray area shows ``state``'s colour."""
    colour = STATE_COLOURS[state]
    deadline = time.monotonic() + REPAINT_SECONDS
    while True:
        image = host.screenshot(path)
        if colour_pixels(image, colour) >= MIN_COLOUR_PIXELS:
            return image
        if time.monotonic() > deadline:
            pytest.fail(f"tray never showed {state.value}; log:\n{driver.log()}")
        time.sleep(0.1)


def save_docs_image(image: Image.Image, name: str) -> None:
    area = image.crop(TRAY_AREA)
    zoomed = area.resize(
        (area.width * DOCS_ZOOM, area.height * DOCS_ZOOM), Image.Resampling.NEAREST
    )
    target = REPOSITORY / "docs" / "images" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    zoomed.save(target, optimize=True)


def test_icon_follows_card(tray_host, driver, tmp_path):
    ready = wait_for_picture(tray_host, IconState.READY, tmp_path / "ready.png", driver)
    driver.send("card")
    card = wait_for_picture(
        tray_host, IconState.CARD_PRESENT, tmp_path / "card.png", driver
    )

    assert ready.crop(TRAY_AREA).tobytes() != card.crop(TRAY_AREA).tobytes()
    assert colour_pixels(ready, STATE_COLOURS[IconState.CARD_PRESENT]) == 0
    assert colour_pixels(card, STATE_COLOURS[IconState.READY]) == 0
    # Outside the tray nothing is drawn, so the icon docked into trayer.
    outside = (TRAY_AREA[2], 0, *ready.size)
    assert ready.crop(outside).getbbox() is None
    if os.environ.get("TRAYAGENT_UPDATE_SCREENSHOTS") == "1":
        save_docs_image(ready, "tray-ready.png")
        save_docs_image(card, "tray-card.png")


def test_stop_from_other_thread(tray_host, driver, tmp_path):
    wait_for_picture(tray_host, IconState.READY, tmp_path / "ready.png", driver)
    driver.process.stdin.write("stop\n")
    driver.process.stdin.flush()
    output, returncode = driver.finish()
    lines = dict(line.split(" ", 1) for line in output.splitlines() if " " in line)

    assert returncode == 0, driver.log()
    assert float(lines["stopped"]) < STOP_LIMIT_SECONDS
    assert lines["threads"] == ""
