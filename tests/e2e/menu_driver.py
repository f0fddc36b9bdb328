"""Run the real agent with its tray, and click menu items through the menu model.

pystray's xorg backend shows no menu, so tests cannot click one. This
driver runs the agent as ``trayagent`` would and, for each line ``click
TEXT`` on stdin, finds the item with that text in the menu the tray would
show and invokes it on the tray's controller the way a click does, then
prints ``clicked TEXT``. For ``show TEXT`` it prints the texts of that
item's submenu as JSON. It prints ``running`` once the tray is created and,
for a serving agent, once the agent serves. That tray may also be the one
that shows why the agent cannot start. After the agent returns it prints
the seconds from the last click to the return, and the names of the
non-daemon threads still alive.
"""

import json
import sys
import threading
import time
import urllib.request
from typing import Any

import trayagent.tray
from trayagent.app import Agent
from trayagent.cli import build_parser, make_agent
from trayagent.tray.menu import MenuItemSpec, build_menu, invoke_action

START_SECONDS = 10.0


def find_item(items: tuple[MenuItemSpec, ...], text: str) -> MenuItemSpec | None:
    for item in items:
        if item.text == text:
            return item
        found = find_item(item.submenu, text)
        if found is not None:
            return found
    return None


def wait_until_serving(port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1)
            return
        except OSError:
            time.sleep(0.05)


def record_trays() -> list[tuple[Any, Any]]:
    """Make every tray the agent creates add its (controller, status) to a list."""
    created: list[tuple[Any, Any]] = []
    create_tray = trayagent.tray.create_tray

    def recording_create_tray(controller: Any, status: Any) -> Any:
        tray = create_tray(controller, status)
        created.append((controller, status))
        return tray

    trayagent.tray.create_tray = recording_create_tray
    return created


def wait_for_tray(created: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    deadline = time.monotonic() + START_SECONDS
    while not created and time.monotonic() < deadline:
        time.sleep(0.05)
    return created[0]


def main() -> int:
    created = record_trays()
    clicked: list[float] = []

    def click_items() -> None:
        controller, tray_status = wait_for_tray(created)
        if isinstance(controller, Agent):
            wait_until_serving(controller.server.port)
        print("running", flush=True)
        for line in sys.stdin:
            command, _, text = line.strip().partition(" ")
            if command not in ("click", "show"):
                continue
            status = tray_status
            if isinstance(controller, Agent):
                status = controller.status()
            items = build_menu(
                status,
                version=controller.version,
                can_copy=False,
                has_notification=False,
            )
            item = find_item(items, text)
            if item is None:
                print(f"missing {text}", flush=True)
                continue
            if command == "show":
                print(json.dumps([child.text for child in item.submenu]), flush=True)
                continue
            clicked.append(time.monotonic())
            invoke_action(item, controller, {})
            print(f"clicked {text}", flush=True)

    clicker = threading.Thread(target=click_items, name="test-clicker", daemon=True)
    clicker.start()
    agent = make_agent(build_parser().parse_args(sys.argv[1:]))
    status = agent if isinstance(agent, int) else agent.run()
    stopped = time.monotonic() - clicked[-1] if clicked else -1.0
    alive = [
        thread.name
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon
    ]
    print(f"stopped {stopped:.3f}", flush=True)
    print(f"threads {','.join(alive)}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
