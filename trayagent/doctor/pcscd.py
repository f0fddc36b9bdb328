"""Facts about pcsc-lite's pcscd on Linux and the BSDs, gathered without pyscard.

Runs on the thread that runs the doctor. Everything here reads files and
runs ``pcscd --version`` and ``pcscd --help``; nothing starts, stops or
changes the service. These facts tell apart the reasons the PC/SC service
can be unreachable: pcscd not installed, or installed but not running. Or
pcscd runs while this process cannot talk to it, because polkit rejects
this user or a second, mismatched pcsc-lite client library is loaded.
"""

import getpass
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .system import process_arguments

# The sbin folders searched for pcscd when the user's PATH lacks them.
SBIN_PATH = "/usr/sbin:/sbin:/usr/local/sbin"
DEFAULT_IPC_DIR = "/run/pcscd"
SOCKET_NAME = "pcscd.comm"
# Seconds ``pcscd --version`` or ``--help`` may take; each prints and exits.
VERSION_TIMEOUT = 2.0

# pcscd built with polkit support lists this option in its help. A pcscd
# started with it skips the polkit check.
DISABLE_POLKIT = "--disable-polkit"
# The polkit actions that pcsc-lite installs when built with polkit:
# access_pcsc to open a context, access_card to connect to a card.
POLKIT_POLICY_NAME = "org.debian.pcsc-lite.policy"
POLKIT_ACTION_DIRS = (
    "/usr/share/polkit-1/actions",
    "/usr/local/share/polkit-1/actions",
)

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
    :param pcscd_arguments: the command line of the running pcscd, ``None``
        when no pcscd process could be inspected.
    :param polkit_option: ``pcscd --help`` lists ``--disable-polkit``, which
        only a pcscd built with polkit support does.
    :param polkit_policy: the path of pcsc-lite's polkit action file, or
        ``None`` when it is not installed.
    :param effective_uid: this process's effective user id, ``None`` where
        the platform has none.
    :param user: this process's user name, for the polkit rule.
    """

    binary: str | None
    version: str | None = None
    socket: str = f"{DEFAULT_IPC_DIR}/{SOCKET_NAME}"
    socket_accepts: bool = False
    process_running: bool = False
    loaded_libraries: tuple[str, ...] = ()
    installed_libraries: tuple[str, ...] = ()
    socket_override: str | None = None
    pcscd_arguments: tuple[str, ...] | None = None
    polkit_option: bool = False
    polkit_policy: str | None = None
    effective_uid: int | None = None
    user: str | None = None

    @property
    def running(self) -> bool:
        """Whether pcscd appears to run, by its socket or its process."""
        return self.socket_accepts or self.process_running

    @property
    def polkit_checked(self) -> bool:
        """Whether pcscd likely asks polkit about this user's connections.

        True when pcscd was built with polkit (its help lists the option to
        turn it off, or its polkit action file is installed), the running
        pcscd was not started with ``--disable-polkit``, and this process
        does not run as root.
        """
        built_with_polkit = self.polkit_option or self.polkit_policy is not None
        disabled = DISABLE_POLKIT in (self.pcscd_arguments or ())
        return built_with_polkit and not disabled and self.effective_uid != 0

    @property
    def mismatch_evidence(self) -> bool:
        """Whether a second pcsc-lite library or another socket is in play."""
        return (
            self.socket_override is not None
            or len(self.loaded_libraries) > 1
            or len(self.installed_libraries) > 1
        )


def gather_pcscd_facts() -> PcscdFacts:
    """Collect :class:`PcscdFacts`; call it after pyscard has been imported."""
    binary = find_pcscd()
    version, ipc_dir = pcscd_build_info(binary) if binary else (None, None)
    socket_path = Path(ipc_dir or DEFAULT_IPC_DIR) / SOCKET_NAME
    pid = find_process("pcscd")
    return PcscdFacts(
        binary=binary,
        version=version,
        socket=str(socket_path),
        socket_accepts=socket_accepts(socket_path),
        process_running=pid is not None,
        loaded_libraries=loaded_libraries(),
        installed_libraries=installed_libraries(),
        socket_override=os.environ.get("PCSCLITE_CSOCK_NAME") or None,
        pcscd_arguments=_arguments_of(pid),
        polkit_option=help_lists_polkit(binary) if binary else False,
        polkit_policy=polkit_policy(),
        effective_uid=os.geteuid() if hasattr(os, "geteuid") else None,
        user=current_user(),
    )


def find_pcscd() -> str | None:
    """Return the path of the pcscd program, or ``None``."""
    return shutil.which("pcscd") or shutil.which("pcscd", path=SBIN_PATH)


def pcscd_build_info(binary: str) -> tuple[str | None, str | None]:
    """Return pcscd's version and ``ipcdir`` from ``pcscd --version``."""
    output = _pcscd_output(binary, "--version")
    if output is None:
        return None, None
    version = _VERSION_PATTERN.search(output)
    ipc_dir = _IPC_DIR_PATTERN.search(output)
    return (
        version.group(1) if version else None,
        ipc_dir.group(1) if ipc_dir else None,
    )


def help_lists_polkit(binary: str) -> bool:
    """Return whether ``pcscd --help`` lists ``--disable-polkit``."""
    return DISABLE_POLKIT in (_pcscd_output(binary, "--help") or "")


def polkit_policy(directories: tuple[str, ...] = POLKIT_ACTION_DIRS) -> str | None:
    """Return the path of pcsc-lite's polkit action file, or ``None``."""
    for directory in directories:
        path = Path(directory) / POLKIT_POLICY_NAME
        if path.is_file():
            return str(path)
    return None


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
    return find_process(name, proc) is not None


def find_process(name: str, proc: Path = Path("/proc")) -> int | None:
    """Return the id of a process whose command name is ``name`` (Linux) or ``None``."""
    try:
        entries = list(proc.iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == name:
                return int(entry.name)
        except OSError:
            continue  # the process ended, or belongs to another user
    return None


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


def _pcscd_output(binary: str, option: str) -> str | None:
    """Run ``binary option`` and return what it printed, or ``None`` if it failed."""
    try:
        completed = subprocess.run(
            [binary, option],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout + completed.stderr


def _arguments_of(pid: int | None) -> tuple[str, ...] | None:
    if pid is None:
        return None
    arguments = process_arguments(pid)
    return tuple(arguments) if arguments is not None else None


def current_user() -> str | None:
    """Return this process's user name, or ``None`` when it has none."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None  # no passwd entry and no LOGNAME or USER variable
