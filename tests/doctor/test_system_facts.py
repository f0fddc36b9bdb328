"""The facts the doctor reads from the system: pcscd, libraries, processes, ports."""

import os
import socket
import sys

import pytest

from trayagent.doctor.pcscd import (
    PcscdFacts,
    find_process,
    help_lists_polkit,
    installed_libraries,
    loaded_libraries,
    pcscd_build_info,
    polkit_policy,
    process_running,
    socket_accepts,
)
from trayagent.doctor.system import (
    bind_error,
    free_port_near,
    port_owner,
    process_alive,
)

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc"
)

VERSION_OUTPUT = """\
pcsc-lite version 1.9.9.
Copyright (C) 1999-2002 by David Corcoran <corcoran@musclecard.com>.
Enabled features: Linux x86_64-pc-linux-gnu serial usb libudev \
usbdropdir=/usr/lib/pcsc/drivers ipcdir=/run/pcscd filter configdir=/etc/reader.conf.d
"""


def fake_pcscd(tmp_path, output: str):
    program = tmp_path / "pcscd"
    (tmp_path / "output.txt").write_text(output)
    program.write_text(f"#!/bin/sh\ncat {tmp_path / 'output.txt'}\n")
    program.chmod(0o755)
    return str(program)


@pytest.mark.skipif(sys.platform == "win32", reason="runs a shell script")
def test_pcscd_version_and_ipc_dir(tmp_path):
    assert pcscd_build_info(fake_pcscd(tmp_path, VERSION_OUTPUT)) == (
        "1.9.9",
        "/run/pcscd",
    )


@pytest.mark.skipif(sys.platform == "win32", reason="runs a shell script")
def test_pcscd_version_unrecognised(tmp_path):
    assert pcscd_build_info(fake_pcscd(tmp_path, "something else\n")) == (None, None)


def test_pcscd_version_missing_binary(tmp_path):
    assert pcscd_build_info(str(tmp_path / "absent")) == (None, None)


def test_loaded_libraries_from_maps(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text(
        "7f00-7f01 r--p 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
        "7f02-7f03 r--p 00000000 08:01 2 /usr/local/lib/libpcsclite.so.1.0.0\n"
        "7f03-7f04 r-xp 00001000 08:01 2 /usr/local/lib/libpcsclite.so.1.0.0\n"
        "7f05-7f06 rw-p 00000000 00:00 0 \n"
    )
    assert loaded_libraries(maps) == ("/usr/local/lib/libpcsclite.so.1.0.0",)


def test_installed_libraries_resolve_links(tmp_path):
    system, local = tmp_path / "lib", tmp_path / "local"
    system.mkdir()
    local.mkdir()
    (system / "libpcsclite.so.1.0.0").write_bytes(b"")
    (system / "libpcsclite.so.1").symlink_to("libpcsclite.so.1.0.0")
    (local / "libpcsclite.so.1.0.0").write_bytes(b"")
    found = installed_libraries((str(system), str(local), str(tmp_path / "none")))
    assert found == (
        str((system / "libpcsclite.so.1.0.0").resolve()),
        str((local / "libpcsclite.so.1.0.0").resolve()),
    )


def test_process_running_from_proc(tmp_path):
    (tmp_path / "12").mkdir()
    (tmp_path / "12" / "comm").write_text("pcscd\n")
    (tmp_path / "self").mkdir()
    assert process_running("pcscd", tmp_path) is True
    assert process_running("other", tmp_path) is False


def test_find_process_returns_pid(tmp_path):
    (tmp_path / "12").mkdir()
    (tmp_path / "12" / "comm").write_text("pcscd\n")
    assert find_process("pcscd", tmp_path) == 12
    assert find_process("other", tmp_path) is None


HELP_WITH_POLKIT = """\
Usage: pcscd options
  -a, --apdu\t\tlog APDU commands and results
  --disable-polkit\tdisable polkit support
"""


@pytest.mark.skipif(sys.platform == "win32", reason="runs a shell script")
@pytest.mark.parametrize(
    ("output", "listed"),
    [(HELP_WITH_POLKIT, True), ("Usage: pcscd options\n  -a, --apdu\n", False)],
    ids=["built-with-polkit", "without"],
)
def test_help_lists_polkit(tmp_path, output, listed):
    assert help_lists_polkit(fake_pcscd(tmp_path, output)) is listed


def test_help_lists_polkit_missing_binary(tmp_path):
    assert help_lists_polkit(str(tmp_path / "absent")) is False


def test_polkit_policy_found(tmp_path):
    actions = tmp_path / "actions"
    actions.mkdir()
    assert polkit_policy((str(actions),)) is None
    (actions / "org.debian.pcsc-lite.policy").write_text("<policyconfig/>")
    assert polkit_policy((str(tmp_path / "none"), str(actions))) == str(
        actions / "org.debian.pcsc-lite.policy"
    )


POLKIT_BUILD = {
    "binary": "/usr/sbin/pcscd",
    "polkit_option": True,
    "effective_uid": 1000,
}


@pytest.mark.parametrize(
    ("changes", "checked"),
    [
        ({}, True),
        ({"polkit_option": False}, False),
        ({"polkit_option": False, "polkit_policy": "/usr/share/x.policy"}, True),
        ({"pcscd_arguments": ("/usr/sbin/pcscd", "--disable-polkit")}, False),
        ({"pcscd_arguments": ("/usr/sbin/pcscd", "--foreground")}, True),
        ({"effective_uid": 0}, False),
    ],
    ids=["user", "no-polkit", "policy-file", "disabled", "other-flag", "root"],
)
def test_polkit_checked(changes, checked):
    assert PcscdFacts(**{**POLKIT_BUILD, **changes}).polkit_checked is checked


@pytest.mark.parametrize(
    ("changes", "evidence"),
    [
        ({}, False),
        ({"loaded_libraries": ("/usr/lib/libpcsclite.so.1",)}, False),
        ({"loaded_libraries": ("/usr/lib/a.so.1", "/usr/local/lib/b.so.1")}, True),
        ({"installed_libraries": ("/usr/lib/a.so.1", "/usr/local/lib/b.so.1")}, True),
        ({"socket_override": "/tmp/other.comm"}, True),
    ],
    ids=["none", "one-loaded", "two-loaded", "two-installed", "override"],
)
def test_mismatch_evidence(changes, evidence):
    assert PcscdFacts(binary="/usr/sbin/pcscd", **changes).mismatch_evidence is evidence


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_socket_accepts_listener(tmp_path):
    path = tmp_path / "service.comm"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        assert socket_accepts(path) is True
    assert socket_accepts(path) is False


def test_socket_accepts_missing(tmp_path):
    assert socket_accepts(tmp_path / "absent.comm") is False


@pytest.mark.skipif(sys.platform == "win32", reason="no probe on Windows")
def test_process_alive():
    assert process_alive(os.getpid()) is True
    assert process_alive(2**22 + 12345) is False


@linux_only
def test_port_owner_names_this_process():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        owner = port_owner(port)
    assert owner is not None
    assert owner.endswith(f"(process {os.getpid()})")


@linux_only
def test_port_owner_none_when_free():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert port_owner(port) is None


def test_bind_error_on_listening_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert isinstance(bind_error(port), OSError)
        assert free_port_near(port) != port
