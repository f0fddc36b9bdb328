"""Dispatcher choice per backend and the order and thread of callbacks."""

import threading

import pytest

from trayagent.tray.dispatch import (
    WM_TRAYAGENT_CALL,
    DispatchKind,
    MainThreadDispatcher,
    WindowThreadDispatcher,
    WorkerDispatcher,
    backend_name,
    choose_dispatch,
)

POPUP_MESSAGE = 0x400 + 11


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("darwin", DispatchKind.MAIN_THREAD),
        ("win32", DispatchKind.WINDOW_THREAD),
        ("xorg", DispatchKind.LOOP_THREAD),
        ("gtk", DispatchKind.WORKER_THREAD),
        ("appindicator", DispatchKind.WORKER_THREAD),
        ("some-future-backend", DispatchKind.WORKER_THREAD),
    ],
)
def test_choose_dispatch(backend, expected):
    assert choose_dispatch(backend) is expected


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("pystray._xorg", "xorg"),
        ("pystray._win32", "win32"),
        ("pystray._darwin", "darwin"),
        ("pystray._appindicator", "appindicator"),
        ("pystray._dummy", "dummy"),
        ("pystray._base", "dummy"),
    ],
)
def test_backend_name(module, expected):
    icon_class = type("Icon", (), {"__module__": module})
    assert backend_name(icon_class) == expected


def serve_in_thread(dispatcher):
    worker = threading.Thread(target=dispatcher.serve, name="test-worker")
    worker.start()
    return worker


def test_worker_runs_waiting_callbacks_in_order():
    dispatcher = WorkerDispatcher()
    seen = []
    for number in range(3):
        dispatcher.schedule(lambda number=number: seen.append(number))
    assert seen == []
    dispatcher.start(icon=None)
    worker = serve_in_thread(dispatcher)
    dispatcher.schedule(lambda: seen.append(3))
    dispatcher.schedule(dispatcher.close)
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert seen == [0, 1, 2, 3]


def test_worker_runs_on_serving_thread():
    dispatcher = WorkerDispatcher()
    threads = []
    dispatcher.schedule(lambda: threads.append(threading.current_thread().name))
    dispatcher.schedule(dispatcher.close)
    dispatcher.start(icon=None)
    serve_in_thread(dispatcher).join(timeout=5)
    assert threads == ["test-worker"]


def test_worker_survives_failing_callback(caplog):
    dispatcher = WorkerDispatcher()
    seen = []
    dispatcher.schedule(lambda: 1 / 0)
    dispatcher.schedule(lambda: seen.append("after"))
    dispatcher.schedule(dispatcher.close)
    dispatcher.start(icon=None)
    serve_in_thread(dispatcher).join(timeout=5)
    assert seen == ["after"]
    assert "ZeroDivisionError" in caplog.text


def test_worker_drops_callbacks_after_close():
    dispatcher = WorkerDispatcher()
    dispatcher.start(icon=None)
    dispatcher.close()
    seen = []
    dispatcher.schedule(lambda: seen.append(True))
    serve_in_thread(dispatcher).join(timeout=5)
    assert seen == []


def test_main_thread_dispatcher_uses_call_after():
    queued = []
    dispatcher = MainThreadDispatcher(lambda *call: queued.append(call))
    seen = []
    dispatcher.schedule(lambda: seen.append("first"))
    assert queued == []
    dispatcher.start(icon=None)
    dispatcher.schedule(lambda: seen.append("second"))
    assert len(queued) == 2
    for function, *args in queued:
        function(*args)
    assert seen == ["first", "second"]


def test_main_thread_dispatcher_serve_returns():
    dispatcher = MainThreadDispatcher(lambda *call: None)
    dispatcher.start(icon=None)
    dispatcher.serve()


class FakeWin32Icon:
    """The two pystray 0.19.5 win32 Icon attributes the dispatcher uses."""

    def __init__(self, popup_handler):
        self._hwnd = 0x1234
        self._message_handlers = {POPUP_MESSAGE: popup_handler}


def make_window_dispatcher(popup_handler=lambda wparam, lparam: 0):
    posted = []
    dispatcher = WindowThreadDispatcher(
        lambda *message: posted.append(message), POPUP_MESSAGE
    )
    icon = FakeWin32Icon(popup_handler)
    return dispatcher, icon, posted


def test_window_dispatcher_posts_to_icon_window():
    dispatcher, icon, posted = make_window_dispatcher()
    seen = []
    dispatcher.schedule(lambda: seen.append(True))
    dispatcher.start(icon)
    assert posted == [(0x1234, WM_TRAYAGENT_CALL, 0, 0)]
    assert seen == []
    icon._message_handlers[WM_TRAYAGENT_CALL](0, 0)
    assert seen == [True]


def test_window_dispatcher_waits_for_popup_menu():
    seen = []

    def popup(wparam, lparam):
        # While the popup menu is open, a posted call is dispatched to us.
        dispatcher.schedule(lambda: seen.append("update"))
        icon._message_handlers[WM_TRAYAGENT_CALL](0, 0)
        seen.append("menu closed")
        return 0

    dispatcher, icon, _posted = make_window_dispatcher(popup)
    dispatcher.start(icon)
    icon._message_handlers[POPUP_MESSAGE](0, 0x205)
    assert seen == ["menu closed", "update"]


def test_window_dispatcher_keeps_popup_result():
    dispatcher, icon, _posted = make_window_dispatcher(lambda wparam, lparam: 7)
    dispatcher.start(icon)
    assert icon._message_handlers[POPUP_MESSAGE](0, 0) == 7
