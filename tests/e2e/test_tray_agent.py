"""The real agent with its tray on Xvfb and trayer, reading a simulated card.

Screenshots of the agent's tray stay in the artifacts folder of
``x_tray_host``. Set ``TRAYAGENT_UPDATE_SCREENSHOTS=1`` to also copy the tray
area, enlarged, to ``docs/images/tray-ready.png`` and ``tray-card.png``.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from x_tray_host import (
    REPOSITORY,
    TRAY_AREA,
    artifacts_dir,
    colour_pixels,
    save_tray_area,
    wait_for_picture,
)

from trayagent.simcard import PEOPLE, SimulatedCard
from trayagent.tray.drawing import STATE_COLOURS
from trayagent.tray.state import IconState

from .conftest import assert_no_personal_data
from .support import WsClient, free_port, handshake_status, run, wait_for_read_end

READER0 = "Test Reader 00 00"
MENU_DRIVER = Path(__file__).with_name("menu_driver.py")
QUIT_LIMIT_SECONDS = 2.0
LOG_WAIT_SECONDS = 10.0
DOCS_IMAGES = REPOSITORY / "docs" / "images"

pytestmark = pytest.mark.pcsc


def test_tray_icon_follows_card(start_agent, tray_host, slot0):
    artifacts = artifacts_dir()
    agent = start_agent(display=tray_host.display)
    # No card event has happened yet: the readers that the monitor found
    # while the tray started must show without one.
    ready = wait_for_picture(
        tray_host, IconState.READY, artifacts / "agent-ready-screen.png", agent.log_text
    )

    async def read_card():
        async with await WsClient.connect(agent.ws_url) as client:
            slot0.insert(SimulatedCard(PEOPLE["jaidee"]))
            await client.expect("card.photo", reader=READER0)

    run(read_card())
    card = wait_for_picture(
        tray_host,
        IconState.CARD_PRESENT,
        artifacts / "agent-card-screen.png",
        agent.log_text,
    )
    save_tray_area(ready, artifacts / "tray-ready.png")
    save_tray_area(card, artifacts / "tray-card.png")
    assert ready.crop(TRAY_AREA).tobytes() != card.crop(TRAY_AREA).tobytes()
    assert colour_pixels(card, STATE_COLOURS[IconState.READY]) == 0
    assert "No tray icon can be shown" not in agent.log_text()
    if os.environ.get("TRAYAGENT_UPDATE_SCREENSHOTS") == "1":
        save_tray_area(ready, DOCS_IMAGES / "tray-ready.png")
        save_tray_area(card, DOCS_IMAGES / "tray-card.png")


def wait_for_log(agent, text: str) -> str:
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while text not in agent.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    return agent.log_text()


def test_display_without_tray_runs_headless(start_agent, bare_display):
    agent = start_agent(display=bare_display)
    log = wait_for_log(agent, "running headless")
    status = run(handshake_status(agent.ws_url, Origin="https://new.example"))
    assert log.count("No tray icon can be shown") == 1
    assert "_NET_SYSTEM_TRAY_S0" in log
    # Without a tray nobody can allow a site, so unknown sites are rejected.
    assert status == 403


class MenuDriver:
    """``menu_driver.py`` running the agent with its tray on the tray host."""

    def __init__(self, display: str, home: Path, port: int) -> None:
        self.port = port
        self.home = home
        environment = dict(os.environ)
        environment.update(
            DISPLAY=display,
            PYSTRAY_BACKEND="xorg",
            TRAYAGENT_CONFIG_DIR=str(home / "config"),
            TRAYAGENT_LOG_DIR=str(home / "logs"),
        )
        # The driver's stdout carries only its protocol lines; the agent's
        # messages on stderr go to a file for failure messages.
        self.errors_path = home / f"driver-{port}-stderr.txt"
        with self.errors_path.open("w") as errors:
            self.process = subprocess.Popen(
                [sys.executable, str(MENU_DRIVER), "--port", str(port)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env=environment,
            )
        self.expect("running")

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def expect(self, line: str) -> None:
        received = self.process.stdout.readline().strip()
        assert received == line, f"driver wrote {received!r}; {self.errors()}"

    def errors(self) -> str:
        return f"stderr: {self.errors_path.read_text()}"

    def click(self, text: str) -> None:
        self.process.stdin.write(f"click {text}\n")
        self.process.stdin.flush()
        self.expect(f"clicked {text}")

    def show(self, text: str) -> list[str]:
        self.process.stdin.write(f"show {text}\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def finish(self) -> dict[str, str]:
        """Wait for the agent to exit; return the driver's closing lines."""
        output, _ = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, f"{output}; {self.errors()}"
        return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def menu_driver(tray_host, pcsc_stack, tmp_path):
    drivers = []

    def start(port: int | None = None) -> MenuDriver:
        if port is None:
            port = drivers[0].port if drivers else free_port()
        driver = MenuDriver(tray_host.display, tmp_path, port)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.kill()


def connect_silent_client(port: int) -> socket.socket:
    """Open a WebSocket, wait for its first message, then never read again.

    Such a client never responds to the close frame the agent sends on Quit.
    """
    client = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    client.sendall(
        (
            "GET /ws HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    received = b""
    while not received.partition(b"\r\n\r\n")[2]:
        chunk = client.recv(4096)
        assert chunk, f"the agent closed the connection: {received!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 101"), received
    return client


def test_quit_from_menu_exits_quickly(menu_driver):
    driver = menu_driver()
    with connect_silent_client(driver.port):
        driver.click("Quit")
        try:
            driver.process.wait(timeout=QUIT_LIMIT_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the agent still ran {QUIT_LIMIT_SECONDS} s after Quit")
        lines = driver.finish()
    log = (driver.home / "logs" / "trayagent.log").read_text()
    assert driver.process.returncode == 0
    assert lines["threads"] == ""
    # ServerThread.stop() gives up on a shutdown that is still waiting for
    # a client after 1.5 s, and logs this line.
    assert "did not shut down cleanly" not in log


def wait_for_report(logs: Path) -> str:
    """Return the text of the doctor's report in ``logs``, or "" if none comes."""
    for _ in range(100):  # the report is written on a thread of its own
        reports = sorted(logs.glob("doctor-*.json"))
        if reports:
            return reports[0].read_text()
        time.sleep(0.1)
    return ""


def test_quit_from_problem_tray_exits_zero(menu_driver, tray_host, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # The doctor checks the port of the settings file, as a PC's would be.
        config = tmp_path / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "settings.json").write_text(json.dumps({"port": port}))
        driver = menu_driver(port=port)
        driver.click("Save diagnostics...")
        report_text = wait_for_report(tmp_path / "logs")
        driver.click("Quit")
        lines = driver.finish()
    # launchd starts the agent again after a non-zero exit.
    assert driver.process.returncode == 0
    assert lines["threads"] == ""
    assert report_text, "Save diagnostics wrote no report in the problem tray"
    checks = {check["name"]: check for check in json.loads(report_text)["checks"]}
    assert checks["Port"]["verdict"] == "problem"
    assert str(port) in checks["Port"]["summary"]


def test_auto_read_toggle_is_saved_and_announced(menu_driver, tmp_path):
    driver = menu_driver()

    async def toggle():
        async with await WsClient.connect(driver.ws_url) as client:
            hello = await client.receive()
            driver.click("Read card automatically")
            announced = await client.expect("settings")
            return hello, announced

    hello, announced = run(toggle())
    driver.click("Quit")
    driver.finish()
    saved = json.loads((tmp_path / "config" / "settings.json").read_text())
    assert hello["settings"]["auto_read"] is True
    assert announced["settings"]["auto_read"] is False
    assert saved["auto_read"] is False

    restarted = menu_driver()

    async def reconnect():
        async with await WsClient.connect(restarted.ws_url) as client:
            return await client.receive()

    assert run(reconnect())["settings"]["auto_read"] is False
    restarted.click("Quit")
    restarted.finish()


def test_start_at_login_from_menu_writes_desktop_file(menu_driver):
    driver = menu_driver()
    autostart_dir = Path(os.environ["XDG_CONFIG_HOME"]) / "autostart"
    driver.click("Start at login")
    written = (autostart_dir / "trayagent.desktop").read_text()
    driver.click("Start at login")
    driver.click("Quit")
    driver.finish()
    assert "Exec=" in written
    assert "trayagent" in written
    remaining = autostart_dir / "trayagent.desktop"
    assert not remaining.exists() or "Hidden=true" in remaining.read_text()


def test_recent_activity_and_diagnostics(menu_driver, slot0, tmp_path):
    driver = menu_driver()

    async def read_card():
        async with await WsClient.connect(driver.ws_url) as client:
            slot0.insert(SimulatedCard(PEOPLE["jaidee"]))
            await client.expect("card.photo", reader=READER0)

    run(read_card())
    activity = driver.show("Recent activity")
    driver.click("Save diagnostics...")
    report_text = wait_for_report(tmp_path / "logs")
    driver.click("Quit")
    driver.finish()
    assert any(line.endswith(f"Card inserted ({READER0})") for line in activity)
    assert any("Card read in" in line for line in activity)
    assert report_text
    assert json.loads(report_text)["checks"]
    assert_no_personal_data(report_text)
    assert_no_personal_data("\n".join(activity))


def test_port_taken_shows_problem_in_tray(tray_host, tmp_path):
    import socket

    environment = dict(os.environ)
    environment.update(
        DISPLAY=tray_host.display,
        PYSTRAY_BACKEND="xorg",
        TRAYAGENT_CONFIG_DIR=str(tmp_path / "config"),
        TRAYAGENT_LOG_DIR=str(tmp_path / "logs"),
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "trayagent", "--port", str(port)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for_picture(
                tray_host,
                IconState.ERROR,
                tmp_path / "port-taken.png",
                lambda: (tmp_path / "logs" / "trayagent.log").read_text(),
            )
            process.terminate()
            output, _ = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 3
    assert f"Port {port} is used by another program" in output


def test_laser_toggle_applies_to_next_read(menu_driver, slot0):
    driver = menu_driver()
    rakdee = PEOPLE["rakdee"]
    base_url = f"http://127.0.0.1:{driver.port}"

    async def read_twice():
        async with await WsClient.connect(driver.ws_url) as client:
            hello = await client.receive()
            slot0.insert(SimulatedCard(rakdee))
            await client.expect("card.photo", reader=READER0)
            await wait_for_read_end(client, base_url, READER0)
            before = client.types()
            driver.click("Read laser ID")
            announced = await client.expect("settings")
            slot0.remove()
            await client.expect("card.removed", reader=READER0)
            slot0.insert(SimulatedCard(rakdee))
            laser = await client.expect("card.laser", reader=READER0)
            return hello, before, announced, laser

    hello, before, announced, laser = run(read_twice())
    driver.click("Quit")
    driver.finish()
    assert hello["settings"]["read_laser_id"] is False
    assert "card.laser" not in before
    assert announced["settings"]["read_laser_id"] is True
    assert laser["laser"]["raw"] == rakdee.laser_id
