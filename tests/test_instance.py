"""One agent per user: the instance lock, the port probe and the start-up check.

Everything runs on real sockets and real file locks: a real trayagent in a
subprocess, a second Python process that holds the lock, a bare TCP
listener, and small HTTP servers that respond as other programs would.
"""

import http.server
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e.support import agent_environment

from trayagent import __version__
from trayagent.instance import (
    LockInfo,
    PortTaken,
    RunningAgent,
    acquire_instance_lock,
    check_single_instance,
    notify_running_agent,
    probe_agent,
    read_lock_info,
    release_instance_lock,
)

START_TIMEOUT = 15.0
LOCK_HOLDER = """
import sys
from pathlib import Path
from trayagent.instance import acquire_instance_lock
lock = acquire_instance_lock(Path(sys.argv[1]))
if lock is None:
    print("busy", flush=True)
    sys.exit(1)
if len(sys.argv) > 2:
    lock.write_port(int(sys.argv[2]))
if len(sys.argv) > 3:
    lock.write_tray(sys.argv[3] == "yes")
print("locked", flush=True)
sys.stdin.read()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LockHolder:
    """Another Python process that holds the instance lock until stopped."""

    def __init__(
        self, directory: Path, port: int | None, tray: bool | None = None
    ) -> None:
        arguments = [str(directory)] + ([str(port)] if port is not None else [])
        if tray is not None:
            arguments.append("yes" if tray else "no")
        self.process = subprocess.Popen(
            [sys.executable, "-c", LOCK_HOLDER, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        self.first_line = self.process.stdout.readline().decode().strip()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self._close_pipes()

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(5)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


class StandIn:
    """An HTTP server on 127.0.0.1 that sends a fixed reply for each path."""

    def __init__(self, replies: dict[tuple[str, str], tuple[int, bytes]]) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def _reply(self, method: str) -> None:
                stand_in.requests.append((method, self.path, dict(self.headers)))
                status, body = replies.get((method, self.path), (404, b"not found"))
                self.send_response(status)
                if status != 204:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 204:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="stand-in"
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def status_body(name: str, version: str = "9.9.9") -> bytes:
    return json.dumps({"agent": {"name": name, "version": version}}).encode()


@pytest.fixture
def stand_in() -> Iterator[Callable[..., StandIn]]:
    servers: list[StandIn] = []

    def start(replies: dict[tuple[str, str], tuple[int, bytes]]) -> StandIn:
        server = StandIn(replies)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def lock_holder() -> Iterator[Callable[..., LockHolder]]:
    holders: list[LockHolder] = []

    def start(
        directory: Path, port: int | None = None, tray: bool | None = None
    ) -> LockHolder:
        holder = LockHolder(directory, port, tray)
        holders.append(holder)
        assert holder.first_line == "locked"
        return holder

    yield start
    for holder in holders:
        holder.stop()


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP socket that listens and never accepts: the kernel completes connects."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def resetting_listener() -> Iterator[int]:
    """A TCP listener that accepts each connection and resets it at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            connection.close()

    thread = threading.Thread(target=serve, name="resetting-listener")
    thread.start()
    yield listener.getsockname()[1]
    stopping.set()
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join()


@pytest.fixture(scope="module")
def real_agent_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folders of ``real_agent``."""
    return tmp_path_factory.mktemp("real-agent")


@pytest.fixture(scope="module")
def real_agent(real_agent_home: Path) -> Iterator[int]:
    """``python -m trayagent --headless`` on a free port, with private folders."""
    home = real_agent_home
    port = free_port()
    environment = agent_environment(home)
    with (home / "output.txt").open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "trayagent", "--headless", "--port", str(port)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_listener(process, port)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_listener(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"trayagent exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"trayagent did not listen within {START_TIMEOUT} s")


@pytest.fixture(autouse=True)
def _release_module_lock() -> Iterator[None]:
    yield
    release_instance_lock()


# The lock


def test_lock_is_exclusive(tmp_path):
    with acquire_instance_lock(tmp_path) as first:
        assert first is not None
        assert acquire_instance_lock(tmp_path) is None


def test_lock_can_be_taken_after_release(tmp_path):
    first = acquire_instance_lock(tmp_path)
    assert first is not None
    first.release()
    second = acquire_instance_lock(tmp_path)
    assert second is not None
    second.release()


def test_release_twice_is_harmless(tmp_path):
    lock = acquire_instance_lock(tmp_path)
    assert lock is not None
    lock.release()
    lock.release()
    assert lock.held is False


def test_lock_creates_folder(tmp_path):
    with acquire_instance_lock(tmp_path / "new" / "config") as lock:
        assert lock is not None
        assert lock.path == tmp_path / "new" / "config" / "trayagent.lock"


def test_lock_file_records_pid_then_port(tmp_path):
    with acquire_instance_lock(tmp_path) as lock:
        assert lock is not None
        assert read_lock_info(tmp_path) == LockInfo(os.getpid(), None)
        lock.write_port(17432)
        assert read_lock_info(tmp_path) == LockInfo(os.getpid(), 17432)
        assert (
            tmp_path / "trayagent.lock"
        ).read_text() == f"pid={os.getpid()}\nport=17432\n"


def test_release_empties_lock_file(tmp_path):
    lock = acquire_instance_lock(tmp_path)
    assert lock is not None
    lock.write_port(17432)
    lock.release()
    assert read_lock_info(tmp_path) is None


def test_lock_info_without_file_is_none(tmp_path):
    assert read_lock_info(tmp_path) is None


def test_lock_info_of_garbage_is_none(tmp_path):
    (tmp_path / "trayagent.lock").write_text("pid=twelve\n")
    assert read_lock_info(tmp_path) is None


def test_lock_held_by_other_process(tmp_path, lock_holder):
    holder = lock_holder(tmp_path, 18001)
    assert acquire_instance_lock(tmp_path) is None
    assert read_lock_info(tmp_path) == LockInfo(holder.process.pid, 18001)


def test_killed_holder_leaves_no_stale_lock(tmp_path, lock_holder):
    holder = lock_holder(tmp_path, 18001)
    holder.kill()
    with acquire_instance_lock(tmp_path) as lock:
        assert lock is not None
        assert read_lock_info(tmp_path) == LockInfo(os.getpid(), None)


def test_other_process_sees_lock_as_busy(tmp_path):
    with acquire_instance_lock(tmp_path) as lock:
        assert lock is not None
        holder = LockHolder(tmp_path, None)
        holder.stop()
        assert holder.first_line == "busy"
        assert holder.process.returncode == 1


# The probe


def test_probe_of_free_port_is_none():
    assert probe_agent(free_port()) is None


def test_probe_finds_real_agent(real_agent):
    assert probe_agent(real_agent) == RunningAgent(__version__, real_agent)


def test_probe_of_silent_listener_is_port_taken(silent_listener):
    found = probe_agent(silent_listener, timeout=0.3)
    assert isinstance(found, PortTaken)
    assert found.port == silent_listener
    assert "TimeoutError" in found.reason


def test_probe_of_resetting_listener_is_port_taken(resetting_listener):
    found = probe_agent(resetting_listener, timeout=0.5)
    assert isinstance(found, PortTaken)


@pytest.mark.parametrize(
    ("replies", "reason"),
    [
        ({}, "/api/status returned HTTP 404"),
        (
            {("GET", "/api/status"): (200, b"<html>router</html>")},
            "did not return a trayagent",
        ),
        (
            {("GET", "/api/status"): (200, b'{"agent": "x"}')},
            "did not return a trayagent",
        ),
        ({("GET", "/api/status"): (200, status_body("other-agent"))}, "'other-agent'"),
        ({("GET", "/api/status"): (500, status_body("trayagent"))}, "HTTP 500"),
    ],
)
def test_probe_of_other_server_is_port_taken(stand_in, replies, reason):
    server = stand_in(replies)
    found = probe_agent(server.port)
    assert isinstance(found, PortTaken)
    assert reason in found.reason


def test_probe_sends_loopback_host_and_no_origin(stand_in):
    server = stand_in({("GET", "/api/status"): (200, status_body("trayagent"))})
    assert probe_agent(server.port) == RunningAgent("9.9.9", server.port)
    method, path, headers = server.requests[0]
    assert (method, path) == ("GET", "/api/status")
    assert headers["Host"] == f"127.0.0.1:{server.port}"
    assert "Origin" not in headers


# The notification


def test_notify_posts_activate_without_origin(stand_in):
    server = stand_in({("POST", "/api/activate"): (204, b"")})
    assert notify_running_agent(server.port) is True
    method, path, headers = server.requests[0]
    assert (method, path) == ("POST", "/api/activate")
    assert headers["Host"] == f"127.0.0.1:{server.port}"
    assert "Origin" not in headers


def test_notify_rejected_returns_false(stand_in):
    server = stand_in({})
    assert notify_running_agent(server.port) is False


def test_notify_of_free_port_returns_false():
    assert notify_running_agent(free_port()) is False


# The start-up check


def test_check_with_nothing_running_takes_lock(tmp_path):
    port = free_port()
    assert check_single_instance(tmp_path, port) is None
    assert acquire_instance_lock(tmp_path) is None
    assert read_lock_info(tmp_path) == LockInfo(os.getpid(), port)


def test_check_lock_is_released_on_request(tmp_path):
    assert check_single_instance(tmp_path, free_port()) is None
    release_instance_lock()
    with acquire_instance_lock(tmp_path) as lock:
        assert lock is not None


def test_check_names_running_agent(tmp_path, lock_holder, stand_in):
    agent = stand_in(
        {
            ("GET", "/api/status"): (200, status_body("trayagent", "0.9.0")),
            ("POST", "/api/activate"): (204, b""),
        }
    )
    holder = lock_holder(tmp_path / "config", agent.port, tray=True)
    message = check_single_instance(tmp_path / "config", agent.port)
    assert message == (
        f"trayagent is already running (version 0.9.0, process "
        f"{holder.process.pid}, port {agent.port}). Only one trayagent runs per "
        "user, so this one exits. Look for its icon in the system tray or the "
        "menu bar."
    )
    assert ("POST", "/api/activate") in [(m, p) for m, p, _ in agent.requests]


@pytest.mark.parametrize(
    ("tray", "ending"),
    [
        (False, "It shows no tray icon, and web apps reach it at ws://127.0.0.1:"),
        (None, "exits. Web apps reach it at ws://127.0.0.1:"),
    ],
)
def test_check_without_tray_omits_icon(tmp_path, lock_holder, stand_in, tray, ending):
    agent = stand_in({("GET", "/api/status"): (200, status_body("trayagent"))})
    lock_holder(tmp_path, agent.port, tray=tray)
    message = check_single_instance(tmp_path, agent.port)
    assert message is not None
    assert "Only one trayagent runs per user" in message
    assert f"{ending}{agent.port}/ws." in message
    assert "icon in the system tray" not in message


def test_check_names_port_not_started(tmp_path, lock_holder, stand_in):
    agent = stand_in({("GET", "/api/status"): (200, status_body("trayagent"))})
    lock_holder(tmp_path, agent.port, tray=True)
    message = check_single_instance(tmp_path, 18150)
    assert message is not None
    assert f"port {agent.port}). Only one trayagent runs per user" in message
    assert "so this one exits and does not start on port 18150." in message


def test_lock_file_records_tray(tmp_path):
    with acquire_instance_lock(tmp_path) as lock:
        assert lock is not None
        lock.write_port(17432)
        lock.write_tray(False)
        assert read_lock_info(tmp_path) == LockInfo(os.getpid(), 17432, False)
        lock.write_tray(True)
        assert read_lock_info(tmp_path) == LockInfo(os.getpid(), 17432, True)
        assert (tmp_path / "trayagent.lock").read_text() == (
            f"pid={os.getpid()}\nport=17432\ntray=yes\n"
        )


@pytest.mark.parametrize("port_option", ["same", "other"])
def test_second_start_of_headless_agent(real_agent, real_agent_home, port_option):
    port = real_agent if port_option == "same" else free_port()
    second = subprocess.run(
        [sys.executable, "-m", "trayagent", "--headless", "--port", str(port)],
        env=agent_environment(real_agent_home),
        capture_output=True,
        text=True,
        timeout=30,
    )
    info = read_lock_info(real_agent_home / "config")
    assert second.returncode == 0
    assert info is not None
    assert info.tray is False
    assert f"process {info.pid}, port {real_agent})" in second.stderr
    assert "Only one trayagent runs per user" in second.stderr
    assert f"web apps reach it at ws://127.0.0.1:{real_agent}/ws" in second.stderr
    assert "system tray" not in second.stderr


def test_probe_reports_simulated_agent(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "trayagent", "--headless", "--simulate"]
        + ["--port", str(port)],
        env=agent_environment(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_listener(process, port)
        found = probe_agent(port)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
    assert found == RunningAgent(__version__, port, simulated=True)


def test_check_names_real_agent_holding_lock(tmp_path, lock_holder, real_agent):
    holder = lock_holder(tmp_path, real_agent)
    message = check_single_instance(tmp_path, 17432, grace=0.0)
    assert message is not None
    assert message.startswith(
        f"trayagent is already running (version {__version__}, process "
        f"{holder.process.pid}, port {real_agent})"
    )


def test_check_with_silent_lock_holder(tmp_path, lock_holder):
    port = free_port()
    holder = lock_holder(tmp_path, port)
    started = time.monotonic()
    message = check_single_instance(tmp_path, port, grace=0.3)
    assert time.monotonic() - started >= 0.3
    assert message == (
        f"trayagent is already running (process {holder.process.pid}) but does not "
        f"respond on port {port}. Wait a moment and try again, or end that process "
        "and start trayagent again."
    )


def test_check_with_port_of_other_program(tmp_path, silent_listener):
    message = check_single_instance(tmp_path, silent_listener)
    assert message is not None
    assert message.startswith(
        f"Port {silent_listener} is used by another program. "
        "Start trayagent with --port "
    )
    assert message.endswith(f'or set "port" in {tmp_path / "settings.json"}.')


def test_check_suggests_free_port(tmp_path, silent_listener):
    message = check_single_instance(tmp_path, silent_listener)
    assert message is not None
    suggested = int(message.split("--port ")[1].split()[0])
    assert suggested > silent_listener
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", suggested))


def test_check_with_port_of_other_server(tmp_path, stand_in):
    server = stand_in({("GET", "/api/status"): (200, b"{}")})
    message = check_single_instance(tmp_path, server.port)
    assert message is not None
    assert message.startswith(f"Port {server.port} is used by another program.")


def test_check_releases_lock_when_port_taken(tmp_path, silent_listener):
    assert check_single_instance(tmp_path, silent_listener) is not None
    with acquire_instance_lock(tmp_path) as lock:
        assert lock is not None


def test_check_with_agent_of_other_user(tmp_path, real_agent):
    message = check_single_instance(tmp_path, real_agent)
    assert message is not None
    assert message.startswith(
        f"Port {real_agent} is used by another trayagent (version {__version__}), "
        "perhaps started by another user of this PC."
    )
