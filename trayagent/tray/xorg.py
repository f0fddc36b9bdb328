"""pystray 0.19.5's xorg backend: changes on its loop thread, one dock request.

pystray's xorg ``Icon`` runs a change asked for on another thread by sending
an X ``ClientMessage`` from that thread over the icon's own connection, then
waiting for the loop thread to run it. python-xlib 0.33 does not keep two
threads on one connection apart reliably. Under Xvfb with trayer 1.1.8 this
hung now and then: a ``DestroyWindow`` from ``stop()`` stayed unsent so
``run()`` never returned, or the loop thread waited forever for the reply
to ``get_geometry()``. So :class:`XorgLoopDispatcher` wakes the loop from a
second connection of its own and runs the callbacks on the loop thread,
where pystray calls its implementation directly. Only the loop thread then
uses the icon's connection.

This module relies on attributes of pystray's xorg ``Icon`` that are not
public API: ``_display``, ``_window``, ``_message_handlers``,
``_dock_window`` and ``_systray_manager``. ``create_tray`` calls
:func:`supports_loop_dispatch` first and falls back to a worker thread when
they are missing.
"""

import collections
import logging
from collections.abc import Callable
from typing import Any

from trayagent.tray.controller import TrayUnavailable
from trayagent.tray.dispatch import Callback, Dispatcher, run_callback

logger = logging.getLogger(__name__)

CALL_ATOM_NAME = "_TRAYAGENT_TRAY_CALL"
# X protocol constants, from X.h: the ClientMessage event type and
# NoEventMask, which sends an event to the window's owner only.
CLIENT_MESSAGE = 33
NO_EVENT_MASK = 0
# X.h's None, the owner of a selection that no window owns.
NO_WINDOW = 0

_REQUIRED_ATTRIBUTES = (
    "_display",
    "_window",
    "_message_handlers",
    "_dock_window",
    "_systray_manager",
)


def require_tray_host(display_name: str | None = None) -> None:
    """Check that a system tray runs on the X display's default screen.

    pystray's xorg icon waits without a word until some program owns the
    screen's ``_NET_SYSTEM_TRAY_Sn`` selection (freedesktop.org System Tray
    Protocol), so without a tray host it would stay invisible.

    :param display_name: the X display; defaults to ``$DISPLAY``.
    :raises TrayUnavailable: no program owns the selection, or the display
        cannot be reached.
    """
    import Xlib.display

    try:
        connection = Xlib.display.Display(display_name)
        try:
            selection = f"_NET_SYSTEM_TRAY_S{connection.get_default_screen()}"
            owner = connection.get_selection_owner(connection.intern_atom(selection))
            name = connection.get_display_name()
        finally:
            connection.close()
    except Exception as error:
        # python-xlib raises its own errors, not only OSError, when the
        # display refuses or drops the connection.
        raise TrayUnavailable(f"cannot query the X display: {error}") from error
    if owner == NO_WINDOW:
        raise TrayUnavailable(
            f"no program owns {selection} on X display {name}, so no system "
            "tray runs there"
        )


def supports_loop_dispatch(icon: Any) -> bool:
    """Check that ``icon`` has the pystray 0.19 xorg attributes used here."""
    return all(hasattr(icon, name) for name in _REQUIRED_ATTRIBUTES)


def dock_once(icon: Any) -> None:
    """Make ``icon`` ask the tray to dock it only while it is not docked.

    pystray sends ``SYSTEM_TRAY_REQUEST_DOCK`` on every ``visible = True``
    (twice: once for the image and once for showing) and on every image
    change, even when the tray already embeds the window. trayer 1.1.8 then
    embeds it again. In runs of this project's tray test, the window ended
    up outside the tray and unmapped about one time in ten, and four times
    in five when the image changed right after showing. ``_dock_window``
    runs on the loop thread, which clears ``_systray_manager`` when the
    tray goes away or the icon is hidden, so a new tray still gets asked.
    """
    original = icon._dock_window

    def dock_window() -> None:
        if icon._systray_manager is None:
            original()

    icon._dock_window = dock_window


class XorgLoopDispatcher(Dispatcher):
    """A dispatcher whose callbacks run on the xorg backend's loop thread.

    :param connect: opens an X connection given a display name; defaults to
        ``Xlib.display.Display``.
    """

    def __init__(self, connect: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        self._connect = connect
        self._queue: collections.deque[Callback] = collections.deque()
        self._connection: Any = None
        self._window: Any = None
        self._atom = 0
        self._closed = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._queue.clear()
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _attach(self, icon: Any) -> None:
        connect = self._connect or _open_display
        self._connection = connect(icon._display.get_display_name())
        self._connection.set_error_handler(_log_x_error)
        self._atom = self._connection.intern_atom(CALL_ATOM_NAME)
        self._window = self._connection.create_resource_object(
            "window", icon._window.id
        )
        handlers = icon._message_handlers
        handlers[CLIENT_MESSAGE] = self._guard_client_message(
            handlers.get(CLIENT_MESSAGE)
        )

    def _submit(self, callback: Callback) -> None:
        if self._closed:
            logger.debug("Tray loop closed; dropping %r", callback)
            return
        self._queue.append(callback)
        self._wake_loop()

    def _wake_loop(self) -> None:
        from Xlib.protocol import event

        message = event.ClientMessage(
            type=CLIENT_MESSAGE,
            window=self._window.id,
            client_type=self._atom,
            data=(32, (0, 0, 0, 0, 0)),
        )
        self._window.send_event(message, event_mask=NO_EVENT_MASK)
        self._connection.flush()

    def _guard_client_message(
        self, pystray_handler: Callable[[Any], Any] | None
    ) -> Callable[[Any], Any]:
        def handle_client_message(message: Any) -> Any:
            if message.client_type == self._atom:
                self._run_queued()
                return None
            if pystray_handler is not None:
                return pystray_handler(message)
            return None

        return handle_client_message

    def _run_queued(self) -> None:
        while self._queue:
            run_callback(self._queue.popleft())


def _open_display(name: str) -> Any:
    import Xlib.display

    return Xlib.display.Display(name)


def _log_x_error(error: Any, request: Any) -> None:
    # A wake-up sent just as the icon window is destroyed fails with
    # BadWindow; nothing waits for it.
    logger.debug("X error on the tray wake-up connection: %s", error)
