"""The xorg loop-thread dispatcher and the dock-once guard, against fakes.

The fakes stand for the attributes of pystray 0.19.5's xorg Icon that
trayagent.tray.xorg uses; the real backend runs in test_real_tray.py.
"""

import types

from trayagent.tray.xorg import (
    CALL_ATOM_NAME,
    CLIENT_MESSAGE,
    XorgLoopDispatcher,
    dock_once,
    supports_loop_dispatch,
)

CALL_ATOM = 501
ICON_WINDOW = 0x400000


class FakeWindow:
    def __init__(self, window_id):
        self.id = window_id
        self.sent = []

    def __resource__(self):
        return self.id

    def send_event(self, event, event_mask):
        self.sent.append((event.client_type, event_mask))


class FakeConnection:
    """Records what the dispatcher does on its own X connection."""

    def __init__(self, name):
        self.name = name
        self.atoms = {}
        self.windows = []
        self.flushes = 0
        self.closed = False

    def set_error_handler(self, handler):
        self.error_handler = handler

    def intern_atom(self, name):
        self.atoms[name] = CALL_ATOM
        return CALL_ATOM

    def create_resource_object(self, kind, resource_id):
        window = FakeWindow(resource_id)
        self.windows.append(window)
        return window

    def flush(self):
        self.flushes += 1

    def close(self):
        self.closed = True


def make_icon(pystray_handler):
    return types.SimpleNamespace(
        _display=types.SimpleNamespace(get_display_name=lambda: ":42"),
        _window=types.SimpleNamespace(id=ICON_WINDOW),
        _message_handlers={CLIENT_MESSAGE: pystray_handler},
        _dock_window=lambda: None,
        _systray_manager=None,
    )


def make_dispatcher(pystray_handler=lambda message: None):
    connections = []

    def connect(name):
        connections.append(FakeConnection(name))
        return connections[-1]

    dispatcher = XorgLoopDispatcher(connect)
    icon = make_icon(pystray_handler)
    return dispatcher, icon, connections


def client_message(client_type):
    return types.SimpleNamespace(client_type=client_type)


def test_wakes_loop_through_own_connection():
    dispatcher, icon, connections = make_dispatcher()
    dispatcher.schedule(lambda: None)
    dispatcher.start(icon)
    (connection,) = connections
    assert connection.name == ":42"
    assert connection.atoms == {CALL_ATOM_NAME: CALL_ATOM}
    assert connection.windows[0].id == ICON_WINDOW
    assert connection.windows[0].sent == [(CALL_ATOM, 0)]
    assert connection.flushes == 1


def test_callbacks_run_on_wake_up_message():
    dispatcher, icon, connections = make_dispatcher()
    seen = []
    dispatcher.schedule(lambda: seen.append(1))
    dispatcher.start(icon)
    dispatcher.schedule(lambda: seen.append(2))
    assert seen == []
    icon._message_handlers[CLIENT_MESSAGE](client_message(CALL_ATOM))
    assert seen == [1, 2]


def test_other_client_messages_reach_pystray():
    handled = []
    dispatcher, icon, connections = make_dispatcher(handled.append)
    dispatcher.start(icon)
    message = client_message(CALL_ATOM + 1)
    icon._message_handlers[CLIENT_MESSAGE](message)
    assert handled == [message]


def test_close_drops_callbacks_and_connection():
    dispatcher, icon, connections = make_dispatcher()
    seen = []
    dispatcher.start(icon)
    dispatcher.schedule(lambda: seen.append("queued"))
    dispatcher.close()
    dispatcher.schedule(lambda: seen.append("late"))
    icon._message_handlers[CLIENT_MESSAGE](client_message(CALL_ATOM))
    assert seen == []
    assert connections[0].closed
    assert connections[0].windows[0].sent == [(CALL_ATOM, 0)]


def test_dock_once_skips_request_while_docked():
    requests = []
    icon = make_icon(None)
    icon._dock_window = lambda: requests.append("dock")
    dock_once(icon)
    icon._dock_window()
    icon._systray_manager = object()
    icon._dock_window()
    icon._dock_window()
    icon._systray_manager = None
    icon._dock_window()
    assert requests == ["dock", "dock"]


def test_supports_loop_dispatch():
    assert supports_loop_dispatch(make_icon(None))
    assert not supports_loop_dispatch(types.SimpleNamespace(_display=None))
