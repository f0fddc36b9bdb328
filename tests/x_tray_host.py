"""A private X display with a system tray host, for tests that show the tray.

``tray_host`` starts Xvfb on a free display with trayer docked at its top
left corner as the tray, and ``bare_display`` starts one with no tray.
Screenshots come back through ``xwd`` and ImageMagick's ``convert``, and
tests keep them in :func:`artifacts_dir`. Without those tools the tests skip
on a developer machine and fail under ``CI=true``.
"""

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from trayagent.tray.drawing import STATE_COLOURS
from trayagent.tray.state import IconState

REPOSITORY = Path(__file__).resolve().parents[1]
TOOLS = ("Xvfb", "trayer", "xwd", "convert")

SCREEN_SIZE = (320, 120)
# trayer's panel, placed by the options in start_trayer().
TRAY_AREA = (0, 0, 120, 32)
START_SECONDS = 10.0
REPAINT_SECONDS = 10.0
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


def start_xvfb(log: Path, *options: str) -> tuple[subprocess.Popen, str]:
    # -displayfd makes Xvfb pick a free display number and write it once the
    # server accepts connections. ``options`` go to Xvfb as well.
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
                *options,
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


@pytest.fixture(scope="module")
def bare_display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private X display with no system tray on it; yields its name."""
    require_tools()
    logs = tmp_path_factory.mktemp("x-bare-display")
    # Without a tray host no client stays connected, and by default Xvfb
    # resets when its last client leaves, dropping a client that connects
    # just then.
    xvfb, display = start_xvfb(logs / "xvfb.log", "-noreset")
    try:
        yield display
    finally:
        stop_process(xvfb)


def colour_pixels(image: Image.Image, colour: tuple[int, int, int]) -> int:
    """Count the pixels of the tray area close to ``colour``."""
    area = image.crop(TRAY_AREA)
    count = 0
    for pixel_count, pixel in area.getcolors(area.width * area.height):
        if all(abs(pixel[i] - colour[i]) <= COLOUR_TOLERANCE for i in range(3)):
            count += pixel_count
    return count


def wait_for_picture(
    host: TrayHost, state: IconState, path: Path, describe: Callable[[], str]
) -> Image.Image:
    """Take screenshots until the tray area shows ``state``'s colour.

    :param describe: returns text for the failure message, such as a log.
    """
    colour = STATE_COLOURS[state]
    deadline = time.monotonic() + REPAINT_SECONDS
    while True:
        image = host.screenshot(path)
        if colour_pixels(image, colour) >= MIN_COLOUR_PIXELS:
            return image
        if time.monotonic() > deadline:
            pytest.fail(f"tray never showed {state.value}; log:\n{describe()}")
        time.sleep(0.1)


def artifacts_dir() -> Path:
    """Return the folder that keeps screenshots after the test run, creating it.

    It is ``tray`` inside ``$TRAYAGENT_ARTIFACTS``, by default inside
    ``test-artifacts`` in the repository, which git ignores.
    """
    root = os.environ.get("TRAYAGENT_ARTIFACTS") or REPOSITORY / "test-artifacts"
    folder = Path(root) / "tray"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_tray_area(image: Image.Image, target: Path) -> None:
    """Save the tray area of a screenshot, enlarged so its pixels show."""
    area = image.crop(TRAY_AREA)
    zoomed = area.resize(
        (area.width * DOCS_ZOOM, area.height * DOCS_ZOOM), Image.Resampling.NEAREST
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    zoomed.save(target, optimize=True)
