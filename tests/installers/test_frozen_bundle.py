"""The PyInstaller bundle: what it contains, and the frozen program at work.

The bundle is built once per session from installers/trayagent.spec. The
frozen program then runs as clinic PCs run it: headless with private
folders, reading a simulated card over pcscd, and with its tray icon on a
real X tray host.
"""

import json
import subprocess
import time
import urllib.request

import pytest
from e2e.support import WsClient, run

from trayagent import __version__
from trayagent.simcard import PEOPLE, SimulatedCard

from .conftest import BUILD_TIMEOUT, REPOSITORY

READER0 = "Test Reader 00 00"
JAIDEE = PEOPLE["jaidee"]
TRAY_START_SECONDS = 10.0

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + 120)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_bundle_has_native_pcsc_module(frozen_bundle):
    found = list((frozen_bundle.internal / "smartcard" / "scard").glob("_scard*"))
    assert len(found) == 1


def test_bundle_has_every_schema(frozen_bundle):
    source = sorted(
        path.name for path in (REPOSITORY / "trayagent" / "schemas").glob("*.json")
    )
    bundled = sorted(
        path.name
        for path in (frozen_bundle.internal / "trayagent" / "schemas").glob("*.json")
    )
    assert bundled == source


def test_bundle_has_test_page(frozen_bundle):
    assert (
        frozen_bundle.internal / "trayagent" / "server" / "static" / "index.html"
    ).is_file()


def test_bundle_has_icons(frozen_bundle):
    source = sorted(path.name for path in (REPOSITORY / "icons").iterdir())
    bundled = sorted(path.name for path in (frozen_bundle.internal / "icons").iterdir())
    assert bundled == source


def test_frozen_version(frozen_bundle):
    result = subprocess.run(
        [str(frozen_bundle.program), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"trayagent {__version__}"


def test_frozen_agent_answers_status(start_frozen_agent):
    agent = start_frozen_agent("--headless")
    status = get_json(f"{agent.base_url}/api/status")
    assert status["agent"] == {"name": "trayagent", "version": __version__}
    assert status["ws_url"] == agent.ws_url


def test_frozen_agent_serves_test_page(start_frozen_agent):
    agent = start_frozen_agent("--headless")
    with urllib.request.urlopen(f"{agent.base_url}/", timeout=5) as response:
        page = response.read()
        content_type = response.headers["Content-Type"]
    assert content_type.startswith("text/html")
    assert page.startswith(b"<!doctype html>")


@pytest.mark.pcsc
def test_frozen_agent_reads_card(start_frozen_agent, slot0):
    agent = start_frozen_agent("--headless")

    async def scenario():
        async with await WsClient.connect(agent.ws_url) as client:
            hello = await client.receive()
            assert hello["type"] == "hello"
            slot0.insert(SimulatedCard(JAIDEE))
            return await client.expect("card.read", reader=READER0)

    read = run(scenario())
    assert read["card"]["citizen_id"] == JAIDEE.citizen_id
    assert read["card"]["citizen_id_valid"] is True


def test_frozen_agent_shows_tray_icon(start_frozen_agent, tray_host):
    agent = start_frozen_agent(display=tray_host.display)
    deadline = time.monotonic() + TRAY_START_SECONDS
    while "Tray started with pystray backend" not in agent.log_text():
        assert time.monotonic() < deadline, agent.log_text()
        time.sleep(0.1)
    log = agent.log_text()
    assert "Tray started with pystray backend xorg" in log
    assert "No tray icon can be shown" not in log
