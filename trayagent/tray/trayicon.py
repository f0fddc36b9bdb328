"""The tray icon at run time: pystray, its thread rules and the menu.

:func:`create_tray` and :meth:`TrayIcon.run` run on the main thread, which
pystray's loop then owns. :meth:`TrayIcon.update`, :meth:`TrayIcon.notify`
and :meth:`TrayIcon.stop` may be called from any thread; they hand the work
to the thread the backend requires (see :mod:`trayagent.tray.dispatch`).

pystray and Pillow are imported inside :func:`create_tray` only: importing
pystray on Linux without a display raises at import time, and a headless
agent never needs either.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from trayagent.status import AgentStatus
from trayagent.tray import xorg
from trayagent.tray.controller import TrayController, TrayUnavailable
from trayagent.tray.desktop import find_clipboard_command
from trayagent.tray.dispatch import (
    Dispatcher,
    DispatchKind,
    MainThreadDispatcher,
    WindowThreadDispatcher,
    WorkerDispatcher,
    backend_name,
    choose_dispatch,
)
from trayagent.tray.menu import (
    SHOW_ABOUT,
    MenuItemSpec,
    about_message,
    build_menu,
    invoke_action,
)
from trayagent.tray.notifications import status_notifications
from trayagent.tray.state import IconState, choose_icon_state, tooltip_text

logger = logging.getLogger(__name__)

# Turns menu specs into a pystray.Menu whose clicks call the given function.
MenuRenderer = Callable[[tuple[MenuItemSpec, ...], Callable[[MenuItemSpec], None]], Any]

ICON_NAME = "trayagent"
# The size handed to pystray; each backend scales it to the tray's slot.
ICON_SIZE_PIXELS = 64
# How long run() waits for the tray's worker thread after the loop ended.
WORKER_JOIN_SECONDS = 2.0
WORKER_THREAD_NAME = "tray-updates"


class TrayIcon:
    """A pystray icon that shows an :class:`AgentStatus` and drives a controller.

    Build it with :func:`create_tray`.
    """

    def __init__(
        self,
        icon: Any,
        controller: TrayController,
        status: AgentStatus,
        dispatcher: Dispatcher,
        images: dict[IconState, Any],
        render: MenuRenderer,
        can_copy: bool,
    ) -> None:
        self._icon = icon
        self._controller = controller
        self._dispatcher = dispatcher
        self._images = images
        self._render = render
        self._can_copy = can_copy
        self._lock = threading.Lock()
        self._status = status
        self._repaint_pending = False
        self._closing = False
        # Read and written only by callbacks on the dispatcher's thread.
        self._stopped = False
        self._shown_state: IconState | None = None
        self._shown_menu: tuple[MenuItemSpec, ...] | None = None
        self._worker: threading.Thread | None = None
        self._paint(status)
        dispatcher.schedule(self._show)

    @property
    def has_notification(self) -> bool:
        """Whether the backend shows desktop notifications."""
        return bool(self._icon.HAS_NOTIFICATION)

    def update(self, status: AgentStatus) -> None:
        """Show ``status``; safe from any thread.

        A burst of updates leaves at most one repaint pending, which shows
        the latest status. Reader and service changes also raise the
        notifications of :func:`status_notifications`.
        """
        with self._lock:
            if self._closing:
                return
            previous, self._status = self._status, status
            schedule = not self._repaint_pending
            self._repaint_pending = True
        if schedule:
            self._dispatcher.schedule(self._repaint)
        for notification in status_notifications(previous, status):
            self.notify(notification.title, notification.text)

    def notify(self, title: str, text: str) -> None:
        """Show a desktop notification; safe from any thread.

        Does nothing where the backend has no notifications (pystray's xorg).
        """
        if not self.has_notification or self._closing:
            return
        self._dispatcher.schedule(lambda: self._notify_now(title, text))

    def run(self) -> None:
        """Run the tray loop on the main thread until :meth:`stop`."""
        backend = backend_name(type(self._icon))
        logger.info("Tray started with pystray backend %s", backend)
        try:
            self._icon.run(setup=self._serve)
        finally:
            with self._lock:
                self._closing = True
            self._dispatcher.close()
            self._join_worker()
        logger.info("Tray stopped")

    def stop(self) -> None:
        """End :meth:`run`; safe from any thread, including before ``run``."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._dispatcher.schedule(self._stop_icon)

    def _serve(self, icon: Any) -> None:
        # pystray calls this on its setup thread once the loop is ready; for
        # the xorg, gtk and appindicator backends it becomes the worker.
        self._worker = threading.current_thread()
        self._worker.name = WORKER_THREAD_NAME
        self._dispatcher.start(icon)
        self._dispatcher.serve()

    def _show(self) -> None:
        if not self._stopped:
            self._icon.visible = True

    def _repaint(self) -> None:
        with self._lock:
            status = self._status
            self._repaint_pending = False
        if not self._stopped:
            self._paint(status)

    def _paint(self, status: AgentStatus) -> None:
        state = choose_icon_state(status)
        if state is not self._shown_state:
            self._icon.icon = self._images[state]
            self._shown_state = state
        self._icon.title = tooltip_text(status)
        if not self._icon.HAS_MENU:
            return
        specs = build_menu(
            status,
            version=self._controller.version,
            can_copy=self._can_copy,
            has_notification=self.has_notification,
        )
        if specs != self._shown_menu:
            self._icon.menu = self._render(specs, self._activate)
            self._shown_menu = specs

    def _notify_now(self, title: str, text: str) -> None:
        if not self._stopped:
            self._icon.notify(text, title)

    def _stop_icon(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._icon.stop()
        finally:
            self._dispatcher.close()

    def _activate(self, item: MenuItemSpec) -> None:
        # Called by pystray on the tray's thread when a menu item is clicked.
        try:
            invoke_action(item, self._controller, {SHOW_ABOUT: self._show_about})
        except Exception:
            logger.exception("Menu action %s failed", item.action)

    def _show_about(self) -> None:
        with self._lock:
            status = self._status
        title, text = about_message(status, self._controller.version)
        self.notify(title, text)

    def _join_worker(self) -> None:
        worker = self._worker
        if worker is None or worker is threading.current_thread():
            return
        worker.join(WORKER_JOIN_SECONDS)
        if worker.is_alive():
            logger.warning(
                "Tray worker thread still running %.1f s after the loop ended",
                WORKER_JOIN_SECONDS,
            )


def create_tray(controller: TrayController, status: AgentStatus) -> TrayIcon:
    """Create the tray icon for ``status``; call on the main thread.

    The icon shows ``status`` until the first :meth:`TrayIcon.update`.

    :raises TrayUnavailable: if pystray cannot show an icon here, for example
        on Linux without a display, on an X display without a system tray,
        or with ``PYSTRAY_BACKEND=dummy``.
    """
    pystray = _import_pystray()
    backend = backend_name(pystray.Icon)
    if backend == "dummy":
        raise TrayUnavailable("pystray's dummy backend cannot show an icon")
    if backend == "xorg":
        xorg.require_tray_host()

    from trayagent.tray.drawing import BLACK, draw_icon

    # pystray's xorg backend scales the image with LANCZOS and then drops its
    # alpha channel, which turns the nearly transparent pixels that the
    # filter leaves around each shape into bright specks. It draws on black,
    # so the pictures get a black background there.
    background = BLACK if backend == "xorg" else None
    images = {
        state: draw_icon(state, ICON_SIZE_PIXELS, background) for state in IconState
    }
    try:
        icon = pystray.Icon(ICON_NAME, icon=images[choose_icon_state(status)])
    except Exception as error:
        raise TrayUnavailable(
            f"Creating the {backend} tray icon failed: {error}"
        ) from error
    dispatcher = _create_dispatcher(choose_dispatch(backend), icon)
    logger.debug("Tray backend %s, dispatch %s", backend, type(dispatcher).__name__)
    return TrayIcon(
        icon,
        controller,
        status,
        dispatcher,
        images,
        render_menu,
        can_copy=find_clipboard_command() is not None,
    )


def render_menu(
    specs: tuple[MenuItemSpec, ...], activate: Callable[[MenuItemSpec], None]
) -> Any:
    """Render menu specs to a ``pystray.Menu``; ``activate`` runs on a click."""
    import pystray

    return pystray.Menu(*(_render_item(pystray, spec, activate) for spec in specs))


def _render_item(
    pystray: Any, spec: MenuItemSpec, activate: Callable[[MenuItemSpec], None]
) -> Any:
    if spec.separator:
        return pystray.Menu.SEPARATOR
    if spec.submenu:
        action = render_menu(spec.submenu, activate)
    else:

        def action(icon: Any, item: Any) -> None:
            activate(spec)

    checked = None
    if spec.checked is not None:
        value = spec.checked

        def checked(item: Any) -> bool:
            return value

    return pystray.MenuItem(spec.text, action, checked=checked, enabled=spec.enabled)


def _import_pystray() -> Any:
    try:
        import pystray
    except Exception as error:
        # pystray picks its backend while it is imported: on Linux without a
        # display its xorg backend raises Xlib.error.DisplayNameError, and
        # with no backend at all it raises ImportError.
        raise TrayUnavailable(f"No tray backend is available: {error}") from error
    return pystray


def _create_dispatcher(kind: DispatchKind, icon: Any) -> Dispatcher:
    if kind is DispatchKind.MAIN_THREAD:
        try:
            from PyObjCTools import AppHelper
        except ImportError as error:
            raise TrayUnavailable(f"PyObjC is missing: {error}") from error
        return MainThreadDispatcher(AppHelper.callAfter)
    if kind is DispatchKind.WINDOW_THREAD:
        return _create_window_dispatcher(icon)
    if kind is DispatchKind.LOOP_THREAD:
        if xorg.supports_loop_dispatch(icon):
            xorg.dock_once(icon)
            return xorg.XorgLoopDispatcher()
        logger.warning("Unknown pystray xorg backend; updating the icon from a worker")
    return WorkerDispatcher()


def _create_window_dispatcher(icon: Any) -> Dispatcher:
    from pystray._util import win32

    if not hasattr(icon, "_message_handlers"):
        # Not the pystray 0.19 win32 backend that WindowThreadDispatcher
        # was written against: fall back to pystray's own cross-thread calls.
        logger.warning("Unknown pystray win32 backend; updating the icon from a worker")
        return WorkerDispatcher()
    return WindowThreadDispatcher(win32.PostMessage, win32.WM_NOTIFY)
