"""Lookups of processes and ports for the doctor.

Runs on the thread that runs the doctor. Every function only looks: a port
is bound for a moment to see whether it can be, and closed again at once,
and no connection leaves 127.0.0.1.
"""

import os
import socket
import sys
from pathlib import Path

# How many ports above a taken one are tried when suggesting another.
PORT_SUGGESTION_RANGE = 20

_TCP_LISTEN = "0A"  # the state column of /proc/net/tcp for a listening socket

# Windows API values for _windows_process_alive.
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_STILL_ACTIVE = 259
_ERROR_ACCESS_DENIED = 5
_ERROR_INVALID_PARAMETER = 87


def process_alive(pid: int) -> bool | None:
    """Return whether process ``pid`` exists; ``None`` where this cannot be asked.

    On Windows ``os.kill`` would end the process rather than probe it, so
    this opens the process and reads its exit code there.
    """
    if pid <= 0:
        return None
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists but belongs to another user
    except OSError:
        return None
    return True


def process_arguments(pid: int, proc: Path = Path("/proc")) -> list[str] | None:
    """Return the command line of process ``pid`` as arguments (Linux), or ``None``."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]


def bind_error(port: int) -> OSError | None:
    """Try to bind 127.0.0.1:``port`` and release it; return the error, if any.

    Windows refuses ports in its excluded port ranges (``netsh interface
    ipv4 show excludedportrange protocol=tcp``) with an access error even
    though nothing listens on them.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if sys.platform != "win32":
            # asyncio's servers set it on POSIX, so a port whose old
            # connections linger in TIME_WAIT still counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return error
    return None


def free_port_near(port: int) -> int | None:
    """Return a port above ``port`` that can be bound right now, or ``None``."""
    for candidate in range(port + 1, min(port + PORT_SUGGESTION_RANGE, 65535) + 1):
        if bind_error(candidate) is None:
            return candidate
    return None


def port_owner(port: int, proc: Path = Path("/proc")) -> str | None:
    """Name the process listening on TCP ``port``, as ``"name (process N)"``.

    Reads ``/proc/net/tcp`` and each process's open files, so it works on
    Linux only, and only about processes this user may inspect.
    """
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for entry in _process_entries(proc):
        if _holds_socket(entry, targets):
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                name = "unknown"
            return f"{name} (process {entry.name})"
    return None


def _listening_inodes(port: int, proc: Path) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _TCP_LISTEN:
                continue
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                inodes.add(fields[9])
    return inodes


def _process_entries(proc: Path) -> list[Path]:
    try:
        return sorted(
            (entry for entry in proc.iterdir() if entry.name.isdigit()),
            key=lambda entry: int(entry.name),
        )
    except OSError:
        return []


def _holds_socket(entry: Path, targets: set[str]) -> bool:
    try:
        descriptors = list((entry / "fd").iterdir())
    except OSError:
        return False  # the process ended, or belongs to another user
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) in targets:
                return True
        except OSError:
            continue
    return False


def _windows_process_alive(pid: int) -> bool | None:
    """Ask Windows whether ``pid`` runs, with OpenProcess and GetExitCodeProcess.

    NOTE: a process that ended with exit code 259 (STILL_ACTIVE) reads as
    running; Windows gives no other way to tell it apart through this call.
    """
    import ctypes  # noqa: PLC0415 - Windows only
    from ctypes import wintypes  # noqa: PLC0415 - Windows only

    try:
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    except (AttributeError, OSError):
        return None
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.GetExitCodeProcess.argtypes = (
        wintypes.HANDLE,
        ctypes.POINTER(wintypes.DWORD),
    )
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        error = ctypes.get_last_error()
        if error == _ERROR_INVALID_PARAMETER:
            return False  # no process has this id
        if error == _ERROR_ACCESS_DENIED:
            return True  # it exists but belongs to another user
        return None
    try:
        exit_code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(exit_code)):
            return None
        return exit_code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
