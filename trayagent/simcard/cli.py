"""Command line that keeps one simulated card in a vpcd slot.

``python -m trayagent.simcard --port 37120 --person jaidee --profile real``
inserts the card and keeps it in until Ctrl+C, SIGTERM or the end of
standard input. It also stops when vpcd closes the connection, because
pcscd stopped or a fault made the card leave. The main thread waits, the
slot's thread serves the card, and a third thread watches standard input.
"""

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from trayagent.simcard.applet import SimulatedCard
from trayagent.simcard.people import PEOPLE
from trayagent.simcard.profiles import PROFILES
from trayagent.simcard.vpcd import VpcdError, VpcdSlot

logger = logging.getLogger(__name__)

EXIT_STOPPED = 0
EXIT_CONNECTION_CLOSED = 1
EXIT_INSERT_FAILED = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args = _parse_arguments(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(threadName)s %(levelname)s %(name)s: %(message)s",
    )
    apdu_log = _open_apdu_log(args.apdu_log)
    try:
        return _run(args, apdu_log)
    finally:
        if apdu_log is not None:
            apdu_log.close()


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trayagent.simcard",
        description=(
            "Insert a simulated Thai ID card into a vpcd reader slot and keep it "
            "in until Ctrl+C or the end of standard input."
        ),
    )
    parser.add_argument(
        "--port",
        type=int,
        default=37120,
        help="TCP port of the vpcd slot (default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address pcscd's vpcd driver listens on (default: %(default)s)",
    )
    parser.add_argument(
        "--person",
        choices=sorted(PEOPLE),
        default="jaidee",
        help="fictional card holder (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="fast",
        help="card behaviour and timing (default: %(default)s)",
    )
    parser.add_argument(
        "--apdu-log",
        type=Path,
        metavar="FILE",
        help="write each command APDU the card receives to FILE, one hex line each",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log each APDU's status word"
    )
    return parser.parse_args(argv)


def _open_apdu_log(path: Path | None) -> TextIO | None:
    if path is None:
        return None
    return path.open("w", encoding="ascii", buffering=1)


def _run(args: argparse.Namespace, apdu_log: TextIO | None) -> int:
    stop = threading.Event()
    connection_closed = threading.Event()

    def on_close() -> None:
        connection_closed.set()
        stop.set()

    def on_command(apdu_hex: str) -> None:
        if apdu_log is not None:
            apdu_log.write(apdu_hex + "\n")

    card = SimulatedCard(PEOPLE[args.person], args.profile, on_command=on_command)
    slot = VpcdSlot(args.port, args.host, on_close=on_close)
    try:
        slot.insert(card)
    except VpcdError as error:
        print(error, file=sys.stderr)
        return EXIT_INSERT_FAILED

    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    _watch_stdin(stop)
    try:
        stop.wait()
    except KeyboardInterrupt:
        logger.info("Interrupted")
    slot.remove()
    return EXIT_CONNECTION_CLOSED if connection_closed.is_set() else EXIT_STOPPED


def _watch_stdin(stop: threading.Event) -> None:
    """Set ``stop`` once standard input reaches its end.

    NOTE: the watcher is a daemon thread because a blocking read of standard
    input cannot be interrupted; the process exits without joining it. It
    reads the file descriptor with :func:`os.read`, since a daemon thread
    blocked inside ``sys.stdin.buffer`` holds the buffer's lock and makes
    interpreter shutdown abort.
    """

    def wait_for_end() -> None:
        try:
            if sys.stdin is not None:
                _read_until_end(sys.stdin.fileno())
        except (OSError, ValueError) as error:
            logger.warning("Cannot read standard input: %s", error)
        logger.info("Standard input closed")
        stop.set()

    threading.Thread(target=wait_for_end, name="stdin-watch", daemon=True).start()


def _read_until_end(descriptor: int) -> None:
    while os.read(descriptor, 4096):
        pass
