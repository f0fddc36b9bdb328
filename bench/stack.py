"""The private pcscd of a benchmark part, and the lock that shares the stack.

Runs on the main thread of ``python -m bench``. pcsc-lite allows one pcscd
per machine, because the daemon owns ``/run/pcscd/pcscd.comm``, so every
part takes ``/tmp/pcsc-test.lock`` (the lock the test runs take with
``flock``) before it starts pcscd, and stops only the pcscd it started, by
its process id.

The reader configuration is the one the tests use: one vpcd reader, "Test
Reader", with the slots "Test Reader 00 00" on port 37120 and "Test Reader
00 01" on port 37121. pcscd runs without ``-a`` unless APDU logging is asked
for, because writing every APDU to the log adds to each exchange.
"""

import contextlib
import fcntl
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from smartcard import scard

logger = logging.getLogger(__name__)

LOCK_PATH = Path("/tmp/pcsc-test.lock")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
READER_NAMES = ("Test Reader 00 00", "Test Reader 00 01")
SLOT_PORTS = (37120, 37121)
CHANNEL_ID = 0x9100
DRIVER_PATHS = (
    Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"),
    Path("/usr/lib64/pcsc/drivers/serial/libifdvpcd.so"),
    Path("/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so"),
)

# Seconds to wait for pcscd to list both readers, and to exit after SIGTERM.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
RETRY_INTERVAL = 0.05


class StackError(Exception):
    """pcscd or the vpcd driver is missing, busy, or did not start."""


@contextlib.contextmanager
def pcsc_lock(enabled: bool = True) -> Iterator[None]:
    """Hold ``/tmp/pcsc-test.lock`` for the block, waiting while others hold it.

    ``flock(1)`` and :func:`fcntl.flock` take the same kind of lock, so a
    part waits for a test run that holds it and the other way round.
    """
    if not enabled:
        yield
        return
    with LOCK_PATH.open("a") as lock_file:
        started = time.monotonic()
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        waited = time.monotonic() - started
        if waited > 1.0:
            logger.info("Waited %.0f s for %s", waited, LOCK_PATH)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def find_driver() -> Path:
    """Return the path of the vpcd driver library.

    :raises StackError: the driver is not installed.
    """
    for path in DRIVER_PATHS:
        if path.exists():
            return path
    raise StackError(
        "The vpcd driver (libifdvpcd.so) is not installed; on Debian or Ubuntu: "
        "apt-get install vsmartcard-vpcd"
    )


def find_pcscd() -> str:
    """Return the path of pcscd.

    :raises StackError: pcscd is not installed.
    """
    path = shutil.which("pcscd") or shutil.which("pcscd", path="/usr/sbin:/sbin")
    if path is None:
        raise StackError(
            "pcscd is not installed; on Debian or Ubuntu: apt-get install pcscd"
        )
    return path


def pcscd_version() -> str:
    """Return pcsc-lite's version as ``pcscd --version`` prints it."""
    output = subprocess.run(
        [find_pcscd(), "--version"], capture_output=True, text=True, check=False
    ).stdout
    first_line = output.splitlines()[0] if output else ""
    return first_line.removeprefix("pcsc-lite version ").rstrip(".") or "unknown"


def other_pcscd_running() -> bool:
    """Return whether some process accepts connections on pcscd's socket."""
    if not PCSCD_SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(PCSCD_SOCKET))
        except OSError:
            return False
    return True


class Pcscd:
    """A pcscd reading the two test slots from a private configuration.

    :param work_dir: folder for the configuration and ``pcscd.log``.
    :param apdu_log: start pcscd with ``-a``, which logs every APDU.
    """

    def __init__(self, work_dir: Path, apdu_log: bool = False) -> None:
        self.config_dir = work_dir / "reader.conf.d"
        self.log_path = work_dir / "pcscd.log"
        self.apdu_log = apdu_log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running pcscd, or ``None``."""
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start pcscd and wait until it lists both readers.

        :raises StackError: another pcscd owns the socket, or this one did
            not list the readers within ``START_TIMEOUT`` seconds.
        """
        if other_pcscd_running():
            raise StackError(
                f"Another pcscd already owns {PCSCD_SOCKET}. Only one pcscd can "
                "run per machine: stop it (systemctl stop pcscd.socket "
                "pcscd.service) and run the benchmark again."
            )
        driver = find_driver()
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "vpcd").write_text(
            'FRIENDLYNAME "Test Reader"\n'
            f"DEVICENAME /dev/null:0x{CHANNEL_ID:04X}\n"
            f"LIBPATH {driver}\n"
            f"CHANNELID 0x{CHANNEL_ID:04X}\n"
        )
        command = [find_pcscd(), "-f", "-c", str(self.config_dir)]
        if self.apdu_log:
            command.insert(2, "-a")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        logger.info("Started pcscd %d: %s", self.process.pid, " ".join(command))
        try:
            self._wait_for_readers(time.monotonic() + START_TIMEOUT)
        except StackError:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the pcscd started here, by its process id."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("pcscd %d ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.wait(STOP_TIMEOUT)
        logger.info("Stopped pcscd %d", process.pid)

    def _wait_for_readers(self, deadline: float) -> None:
        while True:
            if self.process is None or self.process.poll() is not None:
                raise StackError(f"pcscd exited at start; see {self.log_path}")
            result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if result == scard.SCARD_S_SUCCESS:
                try:
                    result, names = scard.SCardListReaders(context, [])
                finally:
                    scard.SCardReleaseContext(context)
                if result == scard.SCARD_S_SUCCESS and set(READER_NAMES) <= set(names):
                    return
            if time.monotonic() > deadline:
                raise StackError(
                    f"pcscd did not list {list(READER_NAMES)} within "
                    f"{START_TIMEOUT:.0f} s; see {self.log_path}"
                )
            time.sleep(RETRY_INTERVAL)
