"""Running icon changes on the thread that each pystray backend requires.

``tray.update()`` may be called from any thread, but pystray 0.19.5's
backends differ in what they accept:

- ``darwin`` touches AppKit in every setter, and AppKit objects may only be
  changed on the main thread, so changes are queued on the main run loop
  with ``PyObjCTools.AppHelper.callAfter``.
- ``win32`` calls ``Shell_NotifyIcon`` from whatever thread sets a property,
  and ``update_menu()`` destroys and rebuilds the popup menu (an ``HMENU``)
  on the caller's thread while the window thread may be showing it with
  ``TrackPopupMenuEx``. So changes are posted to the icon's window as a
  private message, and held back while the popup menu is open.
- ``xorg`` forwards a setter called on another thread to its loop thread
  over the icon's X connection and blocks the caller until it ran, which
  python-xlib 0.33 does not always survive (see :mod:`trayagent.tray.xorg`).
  So changes are queued and the loop thread is woken to run them.
- ``gtk`` and ``appindicator`` queue each change with ``GObject.idle_add``
  from any thread, so a worker thread (pystray's setup thread) makes the
  changes, and neither the event loop thread nor the monitor thread ever
  waits for the tray.

Each dispatcher keeps the callbacks scheduled before the tray's loop is
ready and hands them over, in order, in :meth:`Dispatcher.start`.
"""

import collections
import enum
import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Callback = Callable[[], None]

# A message number from the WM_APP range (0x8000 to 0xBFFF), which Windows
# leaves to the application. pystray 0.19.5 itself uses WM_USER + 10 and + 11.
WM_TRAYAGENT_CALL = 0x8000 + 0x54


class DispatchKind(enum.Enum):
    """The thread on which icon changes run."""

    MAIN_THREAD = "main-thread"
    WINDOW_THREAD = "window-thread"
    LOOP_THREAD = "loop-thread"
    WORKER_THREAD = "worker-thread"


def choose_dispatch(backend: str) -> DispatchKind:
    """Choose where icon changes run for the pystray backend named ``backend``.

    ``backend`` is the module name without its underscore, as in
    ``PYSTRAY_BACKEND``: ``darwin``, ``win32``, ``xorg``, ``gtk`` or
    ``appindicator``. A backend this module does not know gets the worker
    thread, which is what pystray's own default setup function does.
    """
    if backend == "darwin":
        return DispatchKind.MAIN_THREAD
    if backend == "win32":
        return DispatchKind.WINDOW_THREAD
    if backend == "xorg":
        return DispatchKind.LOOP_THREAD
    return DispatchKind.WORKER_THREAD


def backend_name(icon_class: type) -> str:
    """Return the backend name of a pystray ``Icon`` class, e.g. ``"xorg"``."""
    module = icon_class.__module__.rsplit(".", 1)[-1].lstrip("_")
    # pystray's dummy backend exports the abstract Icon from pystray._base.
    return "dummy" if module == "base" else module


def run_callback(callback: Callback) -> None:
    """Run ``callback``, logging anything it raises instead of raising it."""
    try:
        callback()
    except Exception:
        logger.exception("Tray callback %r failed", callback)


class Dispatcher:
    """A queue of callbacks that run in order on the thread owning the icon.

    :meth:`schedule` may be called from any thread and does not wait for the
    owning thread. Callbacks scheduled before :meth:`start` wait for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = False
        self._waiting: list[Callback] = []

    def schedule(self, callback: Callback) -> None:
        """Run ``callback`` soon on the owning thread."""
        with self._lock:
            if not self._started:
                self._waiting.append(callback)
                return
            self._submit(callback)

    def start(self, icon: Any) -> None:
        """Attach to the running ``icon`` and hand over the waiting callbacks.

        pystray calls this on its setup thread once the loop is ready.
        """
        with self._lock:
            self._attach(icon)
            self._started = True
            waiting, self._waiting = self._waiting, []
            for callback in waiting:
                self._submit(callback)

    def serve(self) -> None:
        """Run callbacks on the calling thread until :meth:`close`.

        A dispatcher that hands callbacks to another thread returns at once.
        """

    def close(self) -> None:
        """Stop serving; callbacks scheduled later are dropped."""

    def _attach(self, icon: Any) -> None:
        """Prepare to submit callbacks for ``icon``; called under the lock."""

    def _submit(self, callback: Callback) -> None:
        raise NotImplementedError


class WorkerDispatcher(Dispatcher):
    """A dispatcher whose callbacks run on the thread that calls :meth:`serve`."""

    def __init__(self) -> None:
        super().__init__()
        self._queue: collections.deque[Callback] = collections.deque()
        self._ready = threading.Condition(self._lock)
        self._closed = False

    def serve(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                callback = self._queue.popleft()
            run_callback(callback)

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._queue.clear()
            self._ready.notify_all()

    def _submit(self, callback: Callback) -> None:
        if self._closed:
            logger.debug("Tray worker closed; dropping %r", callback)
            return
        self._queue.append(callback)
        self._ready.notify_all()


class MainThreadDispatcher(Dispatcher):
    """A dispatcher whose callbacks run on the main AppKit run loop (macOS).

    :param call_after: ``PyObjCTools.AppHelper.callAfter`` or a stand-in
        with its signature, ``call_after(function, *args)``.
    """

    def __init__(self, call_after: Callable[..., None]) -> None:
        super().__init__()
        self._call_after = call_after

    def _submit(self, callback: Callback) -> None:
        self._call_after(run_callback, callback)


class WindowThreadDispatcher(Dispatcher):
    """A dispatcher whose callbacks run on the icon window's thread (Windows).

    This relies on two attributes of pystray 0.19.5's win32 ``Icon``: the
    window handle ``_hwnd``, set once the loop runs, and the table
    ``_message_handlers`` that maps a message number to a handler called on
    the window thread as ``handler(wparam, lparam)``.

    :param post_message: ``PostMessageW`` or a stand-in,
        ``post_message(hwnd, message, wparam, lparam)``.
    :param popup_message: the message on which pystray shows the popup
        menu (its ``WM_NOTIFY``); callbacks wait while that handler runs.
    """

    def __init__(self, post_message: Callable[..., Any], popup_message: int) -> None:
        super().__init__()
        self._post_message = post_message
        self._popup_message = popup_message
        self._queue: collections.deque[Callback] = collections.deque()
        self._hwnd: Any = None
        self._in_popup = False

    def _attach(self, icon: Any) -> None:
        self._hwnd = icon._hwnd
        handlers = icon._message_handlers
        handlers[WM_TRAYAGENT_CALL] = self._on_call
        popup_handler = handlers.get(self._popup_message)
        if popup_handler is not None:
            handlers[self._popup_message] = self._guard_popup(popup_handler)

    def _submit(self, callback: Callback) -> None:
        self._queue.append(callback)
        self._post_message(self._hwnd, WM_TRAYAGENT_CALL, 0, 0)

    def _guard_popup(
        self, popup_handler: Callable[[int, int], Any]
    ) -> Callable[[int, int], Any]:
        def handle_popup(wparam: int, lparam: int) -> Any:
            # TrackPopupMenuEx runs a modal loop that still dispatches posted
            # messages, so a menu rebuilt here would destroy the open menu.
            self._in_popup = True
            try:
                return popup_handler(wparam, lparam)
            finally:
                self._in_popup = False
                self._run_queued()

        return handle_popup

    def _on_call(self, wparam: int, lparam: int) -> int:
        if not self._in_popup:
            self._run_queued()
        return 0

    def _run_queued(self) -> None:
        while self._queue:
            run_callback(self._queue.popleft())
