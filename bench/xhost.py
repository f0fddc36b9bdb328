"""A private X display with trayer as its system tray, for the tray runs.

Runs on the benchmark's main thread. Xvfb picks a free display number and
writes it to a pipe (``-displayfd``). trayer then takes the
``_NET_SYSTEM_TRAY_S0`` selection, and from then on a pystray icon can
dock.
Both are stopped by their process ids when the block ends.
"""

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import Xlib.display
import Xlib.X

START_TIMEOUT = 10.0


@contextlib.contextmanager
def tray_host(work: Path) -> Iterator[str]:
    """Run Xvfb and trayer for the block; yield the display name, such as ``:3``."""
    work.mkdir(parents=True, exist_ok=True)
    xvfb, display = _start_xvfb(work / "xvfb.log")
    trayer = None
    try:
        with (work / "trayer.log").open("wb") as log:
            trayer = subprocess.Popen(
                [
                    "trayer",
                    "--edge",
                    "top",
                    "--align",
                    "left",
                    "--SetDockType",
                    "false",
                ],
                env=dict(os.environ, DISPLAY=display),
                stdout=log,
                stderr=log,
            )
        _wait_for_tray_owner(display)
        yield display
    finally:
        for process in (trayer, xvfb):
            if process is not None:
                _stop(process)


def _start_xvfb(log: Path) -> tuple[subprocess.Popen, str]:
    read_end, write_end = os.pipe()
    with log.open("wb") as output:
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "320x120x24",
             "-nolisten", "tcp"],
            pass_fds=(write_end,),
            stdout=output,
            stderr=output,
        )  # fmt: skip
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        number = reader.readline().strip()
    if not number:
        _stop(xvfb)
        raise RuntimeError(f"Xvfb did not start; see {log}")
    return xvfb, f":{number}"


def _wait_for_tray_owner(display: str) -> None:
    connection = Xlib.display.Display(display)
    try:
        selection = connection.intern_atom("_NET_SYSTEM_TRAY_S0")
        deadline = time.monotonic() + START_TIMEOUT
        while connection.get_selection_owner(selection) == Xlib.X.NONE:
            if time.monotonic() > deadline:
                raise RuntimeError(f"trayer did not take the tray on {display}")
            time.sleep(0.05)
    finally:
        connection.close()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
