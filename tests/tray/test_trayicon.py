"""TrayIcon against a stand-in for pystray's public Icon interface."""

import threading
import time

import pytest

from trayagent.status import ReaderState, ServiceState
from trayagent.tray.dispatch import WorkerDispatcher
from trayagent.tray.menu import SHOW_ABOUT, MenuItemSpec
from trayagent.tray.state import IconState, tooltip_text
from trayagent.tray.trayicon import WORKER_THREAD_NAME, TrayIcon

from .support import READER_A, READER_B, make_status

READY = make_status((READER_A, ReaderState.EMPTY))
CARD = make_status((READER_A, ReaderState.PRESENT))
RUN_SECONDS = 5


class FakeIcon:
    """Behaves like a pystray Icon: run(setup) blocks until stop().

    Every property change is recorded as (name, value, thread name).
    """

    HAS_MENU = True
    HAS_NOTIFICATION = True

    def __init__(self):
        self.changes = []
        self.notifications = []
        self._stopped = threading.Event()

    def __setattr__(self, name, value):
        if name in ("icon", "title", "menu", "visible"):
            self.changes.append((name, value, threading.current_thread().name))
        super().__setattr__(name, value)

    def run(self, setup):
        setup_thread = threading.Thread(target=setup, args=(self,))
        setup_thread.start()
        self._stopped.wait()

    def stop(self):
        self._stopped.set()

    def notify(self, message, title=None):
        self.notifications.append((title, message))

    def values(self, name):
        return [value for changed, value, thread in self.changes if changed == name]


class MenuRecorder:
    def __init__(self):
        self.menus = []
        self.activate = None

    def __call__(self, specs, activate):
        self.menus.append(specs)
        self.activate = activate
        return specs


IMAGES = {state: f"image:{state.value}" for state in IconState}


def make_tray(controller, icon=None, status=READY):
    icon = icon or FakeIcon()
    renderer = MenuRecorder()
    tray = TrayIcon(
        icon, controller, status, WorkerDispatcher(), IMAGES, renderer, can_copy=True
    )
    return tray, icon, renderer


def start_running(tray):
    runner = threading.Thread(target=tray.run, name="test-tray-run")
    runner.start()
    return runner


def wait_until(condition, seconds=RUN_SECONDS):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def stop_and_join(tray, runner):
    tray.stop()
    runner.join(RUN_SECONDS)
    assert not runner.is_alive()


def test_initial_status_painted(controller):
    _tray, icon, renderer = make_tray(controller)
    assert icon.values("icon") == ["image:ready"]
    assert icon.values("title") == ["Test Reader 00 00: no card"]
    assert len(renderer.menus) == 1


def test_run_shows_icon_and_stop_returns(controller):
    tray, icon, _renderer = make_tray(controller)
    runner = start_running(tray)
    assert wait_until(lambda: icon.values("visible") == [True])
    stop_and_join(tray, runner)


def test_stop_before_run(controller):
    tray, _icon, _renderer = make_tray(controller)
    tray.stop()
    runner = start_running(tray)
    runner.join(RUN_SECONDS)
    assert not runner.is_alive()


def test_worker_thread_joined(controller):
    tray, icon, _renderer = make_tray(controller)
    runner = start_running(tray)
    assert wait_until(lambda: icon.values("visible") == [True])
    workers = [t for t in threading.enumerate() if t.name == WORKER_THREAD_NAME]
    stop_and_join(tray, runner)
    assert len(workers) == 1
    assert not workers[0].is_alive()


def test_changes_made_on_worker_thread(controller):
    tray, icon, _renderer = make_tray(controller)
    runner = start_running(tray)
    tray.update(CARD)
    assert wait_until(lambda: "image:card-present" in icon.values("icon"))
    stop_and_join(tray, runner)
    after_start = icon.changes[3:]
    assert {thread for name, value, thread in after_start} == {WORKER_THREAD_NAME}


def test_updates_before_run_coalesced(controller):
    tray, icon, _renderer = make_tray(controller)
    for _ in range(50):
        tray.update(READY)
    tray.update(CARD)
    runner = start_running(tray)
    assert wait_until(lambda: len(icon.values("title")) == 2)
    stop_and_join(tray, runner)
    assert icon.values("title") == [tooltip_text(READY), tooltip_text(CARD)]


def test_burst_of_updates_one_repaint(controller):
    tray, icon, renderer = make_tray(controller)
    runner = start_running(tray)
    assert wait_until(lambda: icon.values("visible") == [True])
    release = threading.Event()
    tray._dispatcher.schedule(release.wait)
    statuses = [
        make_status((READER_A, ReaderState.EMPTY), auto_read=i % 2 == 0)
        for i in range(100)
    ]
    for status in statuses:
        tray.update(status)
    tray.update(CARD)
    release.set()
    assert wait_until(lambda: len(icon.values("title")) == 2)
    stop_and_join(tray, runner)
    assert icon.values("title") == [tooltip_text(READY), tooltip_text(CARD)]
    assert len(renderer.menus) == 2


def test_icon_image_set_only_on_change(controller):
    tray, icon, renderer = make_tray(controller)
    runner = start_running(tray)
    tray.update(make_status((READER_A, ReaderState.EMPTY), auto_read=False))
    assert wait_until(lambda: len(renderer.menus) == 2)
    stop_and_join(tray, runner)
    assert icon.values("icon") == ["image:ready"]


def test_update_after_stop_ignored(controller):
    tray, icon, _renderer = make_tray(controller)
    runner = start_running(tray)
    stop_and_join(tray, runner)
    tray.update(CARD)
    assert icon.values("icon") == ["image:ready"]


def test_reader_added_notifies(controller):
    tray, icon, _renderer = make_tray(controller)
    runner = start_running(tray)
    tray.update(
        make_status((READER_A, ReaderState.EMPTY), (READER_B, ReaderState.EMPTY))
    )
    assert wait_until(lambda: icon.notifications)
    stop_and_join(tray, runner)
    assert icon.notifications == [("Card reader connected", READER_B)]


def test_notify_without_backend_support(controller):
    icon = FakeIcon()
    icon.HAS_NOTIFICATION = False
    tray, icon, _renderer = make_tray(controller, icon)
    runner = start_running(tray)
    tray.notify("Title", "Text")
    tray.update(make_status(service=ServiceState.UNAVAILABLE))
    assert wait_until(lambda: len(icon.values("title")) == 2)
    stop_and_join(tray, runner)
    assert icon.notifications == []


def test_no_menu_backend_not_rendered(controller):
    icon = FakeIcon()
    icon.HAS_MENU = False
    _tray, icon, renderer = make_tray(controller, icon)
    assert renderer.menus == []


def test_menu_click_calls_controller(controller):
    _tray, _icon, renderer = make_tray(controller)
    renderer.activate(MenuItemSpec("Quit", action="quit"))
    assert controller.calls == [("quit", ())]


def test_failing_action_logged(controller, caplog):
    def broken(enabled):
        raise RuntimeError("loop closed")

    controller.set_auto_read = broken
    _tray, _icon, renderer = make_tray(controller)
    entry = MenuItemSpec("Read card automatically", "set_auto_read", (False,))
    renderer.activate(entry)
    assert "Menu action set_auto_read failed" in caplog.text
    assert "RuntimeError: loop closed" in caplog.text


def test_about_shows_notification(controller):
    tray, icon, renderer = make_tray(controller)
    runner = start_running(tray)
    renderer.activate(MenuItemSpec("About trayagent", action=SHOW_ABOUT))
    assert wait_until(lambda: icon.notifications)
    stop_and_join(tray, runner)
    title, text = icon.notifications[0]
    assert title == "trayagent 1.2.3"
    assert READY.config_dir in text
    assert READY.log_dir in text


@pytest.mark.parametrize("state", [ReaderState.READING, ReaderState.ERROR])
def test_menu_rebuilt_for_new_status(controller, state):
    tray, _icon, renderer = make_tray(controller)
    runner = start_running(tray)
    tray.update(make_status((READER_A, state)))
    assert wait_until(lambda: len(renderer.menus) == 2)
    stop_and_join(tray, runner)
    assert renderer.menus[-1][0].text.startswith(READER_A)
