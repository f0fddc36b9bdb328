"""Run the real agent with its tray, and click menu items through the menu model.

pystray's xorg backend shows no menu, so tests cannot click one. This
driver runs the agent as ``trayagent`` would and, for each line ``click
TEXT`` on stdin, finds the item with that text in the menu the tray would
show and invokes it the way a click does, then prints ``clicked TEXT``.
For ``show TEXT`` it prints the texts of that item's submenu as JSON.
It prints ``running`` once the agent serves. After ``Agent.run`` returns it
prints the seconds from the last click to the return, and the names of the
non-daemon threads still alive.
"""

import json
import sys
import threading
import time
import urllib.request

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


def main() -> int:
    agent = make_agent(build_parser().parse_args(sys.argv[1:]))
    if isinstance(agent, int):
        return agent
    clicked: list[float] = []

    def click_items() -> None:
        wait_until_serving(agent.server.port)
        print("running", flush=True)
        for line in sys.stdin:
            command, _, text = line.strip().partition(" ")
            if command not in ("click", "show"):
                continue
            items = build_menu(
                agent.status(),
                version=agent.version,
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
            invoke_action(item, agent, {})
            print(f"clicked {text}", flush=True)

    clicker = threading.Thread(target=click_items, name="test-clicker", daemon=True)
    clicker.start()
    status = agent.run()
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
