"""Show a real tray icon for the tray tests and obey commands on stdin.

Run as ``python tests/tray/tray_driver.py`` with ``DISPLAY`` and
``PYSTRAY_BACKEND`` set. It shows the "ready" status, then reads one command
a line: ``card`` shows a card in the reader, ``ready`` takes it out again and
``stop`` calls ``tray.stop()`` from the thread that reads stdin (so does the
end of stdin). Each command is echoed on stdout once handed to the tray.
After ``run()`` returns it prints ``stopped SECONDS`` (from the stop call to
the return of ``run()``) and ``threads NAMES`` (non-daemon threads still
alive besides the main thread), and exits with 0, or 3 if threads are left.
"""

import dataclasses
import faulthandler
import logging
import signal
import sys
import threading
import time

from trayagent.status import AgentStatus, ReaderState, ReaderStatus, ServiceState
from trayagent.tray import TrayUnavailable, create_tray

READER_NAME = "Test Reader 00 00"
READY = AgentStatus(
    service=ServiceState.AVAILABLE,
    readers=(ReaderStatus(READER_NAME, ReaderState.EMPTY),),
    ws_url="ws://127.0.0.1:1/ws",
    page_url="http://127.0.0.1:1/",
)
CARD_PRESENT = dataclasses.replace(
    READY, readers=(ReaderStatus(READER_NAME, ReaderState.PRESENT),)
)
EXIT_TRAY_UNAVAILABLE = 2
EXIT_THREADS_LEFT = 3


class IdleController:
    """A controller whose menu actions do nothing; the driver has no menu."""

    version = "0.0.0-driver"

    def set_auto_read(self, enabled: bool) -> None:
        pass

    def set_include_photo(self, enabled: bool) -> None:
        pass

    def read_now(self, reader: str | None) -> None:
        pass

    def open_test_page(self) -> None:
        pass

    def open_log_folder(self) -> None:
        pass

    def copy_ws_url(self) -> None:
        pass

    def quit(self) -> None:
        pass


def read_commands(tray, stop_times: list[float]) -> None:
    statuses = {"card": CARD_PRESENT, "ready": READY}
    for line in sys.stdin:
        command = line.strip()
        if command in statuses:
            tray.update(statuses[command])
        elif command == "stop":
            break
        print(command, flush=True)
    stop_times.append(time.monotonic())
    tray.stop()
    print("stop", flush=True)


def main() -> int:
    # SIGUSR1 prints every thread's stack to stderr, for a driver that hangs.
    faulthandler.register(signal.SIGUSR1)
    logging.basicConfig(
        level=logging.DEBUG,
        stream=sys.stderr,
        format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s",
    )
    try:
        tray = create_tray(IdleController(), READY)
    except TrayUnavailable as error:
        print(f"unavailable {error}", flush=True)
        return EXIT_TRAY_UNAVAILABLE
    stop_times: list[float] = []
    reader = threading.Thread(
        target=read_commands, args=(tray, stop_times), name="driver-stdin"
    )
    reader.start()
    print("running", flush=True)
    tray.run()
    returned = time.monotonic()
    reader.join()
    print(f"stopped {returned - stop_times[0]:.3f}", flush=True)
    left = [
        thread.name
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon
    ]
    print("threads " + ",".join(left), flush=True)
    return EXIT_THREADS_LEFT if left else 0


if __name__ == "__main__":
    sys.exit(main())
