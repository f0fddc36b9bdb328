"""The menu model driving the real agent through the controller interface.

The agent runs in this process with the built-in simulated reader and its
real server; no tray is shown. A click is what the tray does: build the menu
from ``agent.status()`` and invoke the item on the agent.
"""

import json
from collections.abc import Iterator

import pytest
from e2e.support import WsClient, free_port, run

from trayagent.app import Agent, RunOptions
from trayagent.settings import Settings
from trayagent.tray.menu import build_menu, invoke_action


@pytest.fixture
def agent(tmp_path) -> Iterator[Agent]:
    settings = Settings(port=free_port(), auto_read=True)
    running = Agent(
        settings, settings, tmp_path / "settings.json", RunOptions(simulate=True)
    )
    running.server.start()
    yield running
    running.server.stop()


def click(agent: Agent, text: str) -> None:
    menu = build_menu(
        agent.status(), version=agent.version, can_copy=False, has_notification=False
    )
    matches = [item for item in menu if item.text == text]
    assert len(matches) == 1, f"{text!r} not found once in {[i.text for i in menu]}"
    invoke_action(matches[0], agent, {})


def test_auto_read_click_saves_and_announces(agent, tmp_path):
    ws_url = f"ws://127.0.0.1:{agent.server.port}/ws"

    async def toggle():
        async with await WsClient.connect(ws_url) as client:
            hello = await client.receive()
            click(agent, "Read card automatically")
            announced = await client.expect("settings")
            return hello, announced

    hello, announced = run(toggle())
    saved = json.loads((tmp_path / "settings.json").read_text())
    menu = build_menu(
        agent.status(), version=agent.version, can_copy=False, has_notification=False
    )
    checkbox = next(item for item in menu if item.text == "Read card automatically")
    assert hello["settings"]["auto_read"] is True
    assert announced["settings"]["auto_read"] is False
    assert saved["auto_read"] is False
    assert checkbox.checked is False
