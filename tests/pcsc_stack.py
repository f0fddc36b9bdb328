"""Start and stop a private pcscd with one vpcd reader for the test session.

The reader configuration declares one vpcd reader, "Test Reader", whose two
slots are "Test Reader 00 00" on port 37120 and "Test Reader 00 01" on port
37121. Declaring a second vpcd reader beside it makes pcsc-lite 1.9.9 lose
cards on the first, so tests that need two readers use the two slots.

pcsc-lite allows one pcscd per machine, because the daemon owns
``/run/pcscd/pcscd.comm`` and ignores ``PCSCLITE_CSOCK_NAME``, so the
session cannot run beside a system pcscd. Readers from a configuration
file cannot be hot-plugged either: to make them vanish, stop pcscd.

Everything here runs on the test's thread. Waits block in pyscard's
``SCardGetStatusChange`` with a timeout.
"""

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    from smartcard import scard
except ImportError:
    scard = None

logger = logging.getLogger(__name__)

READER_NAMES = ("Test Reader 00 00", "Test Reader 00 01")
SLOT_PORTS = (37120, 37121)
CHANNEL_ID = 0x9100
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
DRIVER_NAME = "libifdvpcd.so"
DRIVER_DIRS = (
    "/usr/lib/pcsc/drivers/serial",
    "/usr/lib64/pcsc/drivers/serial",
    "/usr/local/lib/pcsc/drivers/serial",
)

START_TIMEOUT = 15.0
"""Seconds to wait for pcscd to accept clients and list both readers."""
STOP_TIMEOUT = 10.0
"""Seconds to wait for pcscd to exit after SIGTERM before killing it."""
SERVICE_RETRY_INTERVAL = 0.05
"""Seconds between attempts to reach a pcscd that has not opened its socket."""

INSTALL_HINT = (
    "On Debian or Ubuntu: sudo apt-get install pcscd vsmartcard-vpcd "
    "libpcsclite-dev gcc, then pip install pyscard (or ./dev test)."
)


def missing_prerequisites() -> list[str]:
    """Return what this machine lacks to run the PC/SC stack, as sentences."""
    missing = []
    if find_pcscd() is None:
        missing.append("pcscd is not installed")
    if find_vpcd_driver() is None:
        missing.append(f"the vpcd driver ({DRIVER_NAME}) is not installed")
    if scard is None:
        missing.append("pyscard is not installed in this Python")
    if find_pcscd() is not None and not _can_write_runtime_dir():
        missing.append("pcscd needs write access to /run/pcscd (run as root)")
    return missing


def require_pcsc() -> None:
    """Skip the test when the PC/SC stack is missing; fail instead under CI=true."""
    missing = missing_prerequisites()
    if missing:
        report_unavailable(f"{'; '.join(missing)}. {INSTALL_HINT}")


def report_unavailable(reason: str) -> None:
    """Skip with ``reason`` on a developer machine; fail under ``CI=true``.

    Also works at module level, where it skips or fails the whole module.
    """
    if os.environ.get("CI") == "true":
        pytest.fail(f"PC/SC stack unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"PC/SC stack unavailable: {reason}", allow_module_level=True)


def find_pcscd() -> str | None:
    """Return the path of the pcscd program, or ``None``."""
    return shutil.which("pcscd") or shutil.which("pcscd", path="/usr/sbin:/sbin")


def find_vpcd_driver() -> Path | None:
    """Return the path of the vpcd driver library, or ``None``."""
    for directory in DRIVER_DIRS:
        path = Path(directory) / DRIVER_NAME
        if path.exists():
            return path
    return None


def reader_configuration(driver: Path) -> str:
    """Return the reader.conf text for one vpcd reader with two slots."""
    return (
        'FRIENDLYNAME "Test Reader"\n'
        f"DEVICENAME /dev/null:0x{CHANNEL_ID:04X}\n"
        f"LIBPATH {driver}\n"
        f"CHANNELID 0x{CHANNEL_ID:04X}\n"
    )


def other_pcscd_running() -> bool:
    """Whether some process already accepts connections on pcscd's socket."""
    if not PCSCD_SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(PCSCD_SOCKET))
        except OSError:
            return False
    return True


class PcscdError(Exception):
    """pcscd did not start or stop as expected."""


class PcscStack:
    """A pcscd process reading its readers from ``config_dir``.

    :param work_dir: folder for the reader configuration and ``pcscd.log``.
    """

    def __init__(self, work_dir: Path) -> None:
        self.config_dir = work_dir / "reader.conf.d"
        self.log_path = work_dir / "pcscd.log"
        self.reader_names = READER_NAMES
        self.ports = SLOT_PORTS
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the pcscd started here is still running."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running pcscd, or ``None``."""
        return self._process.pid if self.running else None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start pcscd and wait until pyscard lists both test readers.

        :raises PcscdError: another pcscd owns the socket, or pcscd exited
            or did not list the readers within ``timeout`` seconds.
        """
        if self.running:
            return
        if other_pcscd_running():
            raise PcscdError(
                f"Another pcscd already owns {PCSCD_SOCKET}; only one pcscd can "
                "run per machine. Stop it (for example: sudo systemctl stop "
                "pcscd.socket pcscd.service) and run the tests again."
            )
        self._write_configuration()
        self._launch()
        try:
            self._wait_for_readers(time.monotonic() + timeout)
        except PcscdError:
            self.stop()
            raise

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the pcscd started here, by its process id, and wait for it."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("pcscd %d ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait(timeout)
        self._process = None
        logger.info("pcscd stopped")

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of the pcscd log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _write_configuration(self) -> None:
        driver = find_vpcd_driver()
        if driver is None:
            raise PcscdError(f"The vpcd driver ({DRIVER_NAME}) is not installed")
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "vpcd").write_text(reader_configuration(driver))

    def _launch(self) -> None:
        pcscd = find_pcscd()
        if pcscd is None:
            raise PcscdError("pcscd is not installed")
        command = [pcscd, "-f", "-a", "-c", str(self.config_dir)]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        logger.info("Started pcscd %d: %s", self._process.pid, " ".join(command))

    def _wait_for_readers(self, deadline: float) -> None:
        context = self._establish_context(deadline)
        try:
            _wait_for_reader_names(context, set(self.reader_names), deadline)
        except PcscdError as error:
            raise PcscdError(f"{error}\npcscd log:\n{self.log_tail()}") from None
        finally:
            scard.SCardReleaseContext(context)

    def _establish_context(self, deadline: float) -> int:
        """Connect to the new pcscd, retrying until it has opened its socket."""
        while True:
            if not self.running:
                raise PcscdError(f"pcscd exited at start; its log:\n{self.log_tail()}")
            result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if result == scard.SCARD_S_SUCCESS:
                return context
            if time.monotonic() > deadline:
                raise PcscdError(
                    "pcscd did not accept clients in time: "
                    f"{scard.SCardGetErrorMessage(result)}\n{self.log_tail()}"
                )
            time.sleep(SERVICE_RETRY_INTERVAL)


def _wait_for_reader_names(context: int, expected: set[str], deadline: float) -> None:
    """Block on pcscd's reader-change notification until ``expected`` are listed."""
    notification = [(r"\\?PnP?\Notification", scard.SCARD_STATE_UNAWARE, [])]
    while True:
        result, names = scard.SCardListReaders(context, [])
        listed = set(names) if result == scard.SCARD_S_SUCCESS else set()
        if expected <= listed:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PcscdError(
                f"pcscd did not list {sorted(expected)} in time; it lists "
                f"{sorted(listed)}"
            )
        result, notification = scard.SCardGetStatusChange(
            context, int(remaining * 1000), _without_changed(notification)
        )
        if result not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            raise PcscdError(
                "Waiting for readers failed: " + scard.SCardGetErrorMessage(result)
            )


@dataclass(frozen=True)
class ReaderState:
    """A reader's state as pcscd reported it."""

    reader_name: str
    flags: int
    """``SCARD_STATE_*`` bits; the event count in the upper 16 bits is dropped."""
    atr: bytes

    def has(self, flag: int) -> bool:
        """Whether the ``SCARD_STATE_*`` bit ``flag`` is set."""
        return bool(self.flags & flag)

    def describe(self) -> str:
        """Return the set flags as names, such as ``PRESENT|MUTE``."""
        names = [
            name.removeprefix("SCARD_STATE_")
            for name in _STATE_FLAG_NAMES
            if self.flags & getattr(scard, name)
        ]
        return "|".join(names) or "UNAWARE"


_STATE_FLAG_NAMES = (
    "SCARD_STATE_IGNORE",
    "SCARD_STATE_CHANGED",
    "SCARD_STATE_UNKNOWN",
    "SCARD_STATE_UNAVAILABLE",
    "SCARD_STATE_EMPTY",
    "SCARD_STATE_PRESENT",
    "SCARD_STATE_ATRMATCH",
    "SCARD_STATE_EXCLUSIVE",
    "SCARD_STATE_INUSE",
    "SCARD_STATE_MUTE",
)


def wait_for_reader_state(
    reader_name: str,
    condition: Callable[[ReaderState], bool],
    timeout: float,
    description: str = "the expected state",
) -> ReaderState:
    """Block until ``condition`` holds for the reader's state; return that state.

    pcscd polls vpcd cards about every 400 ms, so allow at least a second.

    :raises TimeoutError: the condition did not hold within ``timeout`` seconds;
        the message gives the last state seen.
    """
    deadline = time.monotonic() + timeout
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if result != scard.SCARD_S_SUCCESS:
        raise TimeoutError(f"Cannot reach pcscd: {scard.SCardGetErrorMessage(result)}")
    try:
        return _wait_in_context(context, reader_name, condition, deadline, description)
    finally:
        scard.SCardReleaseContext(context)


def _wait_in_context(
    context: int,
    reader_name: str,
    condition: Callable[[ReaderState], bool],
    deadline: float,
    description: str,
) -> ReaderState:
    states = [(reader_name, scard.SCARD_STATE_UNAWARE, [])]
    timeout_ms = 0
    while True:
        result, states = scard.SCardGetStatusChange(context, timeout_ms, states)
        if result not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            raise TimeoutError(
                f"Waiting for {reader_name} failed: "
                f"{scard.SCardGetErrorMessage(result)}"
            )
        name, event_state, atr = states[0]
        state = ReaderState(name, event_state & 0xFFFF, bytes(atr))
        if condition(state):
            return state
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"{reader_name} did not reach {description}; last state "
                f"{state.describe()}"
            )
        timeout_ms = max(1, int(remaining * 1000))
        states = _without_changed(states)


def wait_for_card(reader_name: str, timeout: float = 5.0) -> ReaderState:
    """Block until pcscd reports a card in the reader; return the state."""
    return wait_for_reader_state(
        reader_name,
        lambda state: state.has(scard.SCARD_STATE_PRESENT),
        timeout,
        "a card present",
    )


def wait_for_empty(reader_name: str, timeout: float = 5.0) -> ReaderState:
    """Block until pcscd reports the reader empty; return the state."""
    return wait_for_reader_state(
        reader_name,
        lambda state: state.has(scard.SCARD_STATE_EMPTY),
        timeout,
        "empty",
    )


@contextlib.contextmanager
def held_transaction(reader_name: str) -> Iterator[None]:
    """Hold a PC/SC transaction on the card in ``reader_name`` for the block.

    This is what another program on the PC does while it talks to the card:
    pcsc-lite then keeps every other connect and transaction on that card
    waiting until the block ends.
    """
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
    try:
        result, card, _protocol = scard.SCardConnect(
            context, reader_name, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_ANY
        )
        assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
        try:
            result = scard.SCardBeginTransaction(card)
            assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
            try:
                yield
            finally:
                scard.SCardEndTransaction(card, scard.SCARD_LEAVE_CARD)
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
    finally:
        scard.SCardReleaseContext(context)


def _without_changed(states: list) -> list:
    """Turn returned states into current states for the next wait."""
    return [
        (name, event_state & ~scard.SCARD_STATE_CHANGED, atr)
        for name, event_state, atr in states
    ]


def _can_write_runtime_dir() -> bool:
    runtime = PCSCD_SOCKET.parent
    if runtime.exists():
        return os.access(runtime, os.W_OK)
    return os.access(runtime.parent, os.W_OK)
