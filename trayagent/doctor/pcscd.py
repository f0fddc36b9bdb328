"""Facts about pcsc-lite's pcscd on Linux and the BSDs, gathered without pyscard.

Runs on the thread that runs the doctor. Everything here reads files and
runs ``pcscd --version``; nothing starts, stops or changes the service.
These facts tell apart the reasons the PC/SC service can be unreachable:
pcscd not installed, installed but not running, or running while this
process cannot talk to it, which points at a second, mismatched pcsc-lite
client library.
"""

import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The sbin folders searched for pcscd when the user's PATH lacks them.
SBIN_PATH = "/usr/sbin:/sbin:/usr/local/sbin"
DEFAULT_IPC_DIR = "/run/pcscd"
SOCKET_NAME = "pcscd.comm"
# Seconds ``pcscd --version`` may take; it prints and exits at once.
VERSION_TIMEOUT = 2.0

# Folders where distributions and source builds install libpcsclite.
LIBRARY_DIRS = (
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/i386-linux-gnu",
    "/usr/lib/arm-linux-gnueabihf",
    "/lib",
    "/lib64",
    "/usr/local/lib",
    "/usr/local/lib64",
)

_VERSION_PATTERN = re.compile(r"pcsc-lite version ([0-9][0-9A-Za-z.~+-]*?)\.?\s")
_IPC_DIR_PATTERN = re.compile(r"\bipcdir=(\S+)")


@dataclass(frozen=True)
class PcscdFacts:
    """The state of pcscd on this PC.

    :param binary: the path of the pcscd program, ``None`` when not installed.
    :param version: the pcsc-lite version that ``pcscd --version`` prints.
    :param socket: the socket pcscd listens on, from its ``ipcdir``.
    :param socket_accepts: a client connection to ``socket`` succeeded.
    :param process_running: a process named ``pcscd`` runs.
    :param loaded_libraries: the libpcsclite files mapped into this process.
    :param installed_libraries: the distinct libpcsclite files on disk.
    :param socket_override: the value of ``PCSCLITE_CSOCK_NAME``, which
        makes the client library look for pcscd at another socket.
    """

    binary: str | None
    version: str | None = None
    socket: str = f"{DEFAULT_IPC_DIR}/{SOCKET_NAME}"
    socket_accepts: bool = False
    process_running: bool = False
    loaded_libraries: tuple[str, ...] = ()
    installed_libraries: tuple[str, ...] = ()
    socket_override: str | None = None

    @property
    def running(self) -> bool:
        """Whether pcscd appears to run, by its socket or its process."""
        return self.socket_accepts or self.process_running


def gather_pcscd_facts() -> PcscdFacts:
    """Collect :class:`PcscdFacts`; call it after pyscard has been imported."""
    binary = find_pcscd()
    version, ipc_dir = pcscd_build_info(binary) if binary else (None, None)
    socket_path = Path(ipc_dir or DEFAULT_IPC_DIR) / SOCKET_NAME
    return PcscdFacts(
        binary=binary,
        version=version,
        socket=str(socket_path),
        socket_accepts=socket_accepts(socket_path),
        process_running=process_running("pcscd"),
        loaded_libraries=loaded_libraries(),
        installed_libraries=installed_libraries(),
        socket_override=os.environ.get("PCSCLITE_CSOCK_NAME") or None,
    )


def find_pcscd() -> str | None:
    """Return the path of the pcscd program, or ``None``."""
    return shutil.which("pcscd") or shutil.which("pcscd", path=SBIN_PATH)


def pcscd_build_info(binary: str) -> tuple[str | None, str | None]:
    """Return pcscd's version and ``ipcdir`` from ``pcscd --version``."""
    try:
        completed = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None, None
    output = completed.stdout + completed.stderr
    version = _VERSION_PATTERN.search(output)
    ipc_dir = _IPC_DIR_PATTERN.search(output)
    return (
        version.group(1) if version else None,
        ipc_dir.group(1) if ipc_dir else None,
    )


def socket_accepts(path: Path) -> bool:
    """Return whether a client connection to the Unix socket succeeds."""
    if not hasattr(socket, "AF_UNIX") or not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def process_running(name: str, proc: Path = Path("/proc")) -> bool:
    """Return whether a process whose command name is ``name`` runs (Linux)."""
    try:
        entries = list(proc.iterdir())
    except OSError:
        return False
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == name:
                return True
        except OSError:
            continue  # the process ended, or belongs to another user
    return False


def loaded_libraries(maps: Path = Path("/proc/self/maps")) -> tuple[str, ...]:
    """Return the libpcsclite files mapped into this process, in address order."""
    try:
        lines = maps.read_text().splitlines()
    except OSError:
        return ()
    paths: list[str] = []
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and "libpcsclite" in Path(fields[5]).name:
            if fields[5] not in paths:
                paths.append(fields[5])
    return tuple(paths)


def installed_libraries(directories: tuple[str, ...] = LIBRARY_DIRS) -> tuple[str, ...]:
    """Return the distinct libpcsclite.so.1 files in the usual library folders.

    Symbolic links are resolved, so one library reached by several names
    counts once; two entries mean two installations.
    """
    found: list[str] = []
    for directory in directories:
        for path in sorted(Path(directory).glob("libpcsclite.so.1*")):
            try:
                real = str(path.resolve(strict=True))
            except OSError:
                continue
            if real not in found:
                found.append(real)
    return tuple(found)
