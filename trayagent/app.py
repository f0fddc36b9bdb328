"""The agent: wires settings, the monitor, the server and the tray together.

``Agent.run`` runs on the main thread. With a tray it hands the main thread
to pystray; headless it waits there for a signal. The monitor publishes
events to the server's loop, and the loop tells the tray about every change.
"""

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, paths
from .activity import ActivityLog, format_entry
from .instance import record_tray
from .origins import is_loopback_origin, normalize_origin
from .reading import ReadOptions
from .server.access import SETTINGS_PATH, OriginPolicy
from .server.app import ServerConfig, announce_settings, create_app
from .server.hub import Hub
from .server.thread import PortInUseError, ServerThread
from .server.websocket import allow_origin as allow_held_origin
from .server.websocket import block_origin as block_held_origin
from .settings import Settings, save_settings
from .status import AgentStatus

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_PORT_IN_USE = 3
EXIT_START_FAILED = 4


@dataclass(frozen=True)
class RunOptions:
    """How this run differs from the saved settings.

    :param headless: run without a tray icon.
    :param simulate: read from the built-in simulated reader instead of
        PC/SC, for web developers without a reader.
    """

    headless: bool = False
    simulate: bool = False


class Agent:
    """One running agent.

    :param saved: the settings as the settings file has them.
    :param settings: the settings in force for this run: ``saved`` with the
        command-line overrides applied.
    :param settings_file: where changes made from the tray are saved. A
        change is applied to both ``saved`` and ``settings``, so a
        command-line override never reaches the file.
    """

    def __init__(
        self,
        saved: Settings,
        settings: Settings,
        settings_file: Path,
        options: RunOptions,
    ) -> None:
        self._saved = saved
        self._settings = settings
        self._settings_file = settings_file
        self._options = options
        self._stopping = threading.Event()
        self._tray: Any = None
        # Orders the tray's creation against stop(), so a stop that comes
        # while the tray is being created still ends the tray's loop.
        self._tray_lock = threading.Lock()
        self.hub = Hub(on_change=self._status_changed)
        self._activity = ActivityLog()
        self._policy = OriginPolicy(
            settings.allowed_origins,
            settings.blocked_origins,
            # Until the tray turns out to be unavailable, unknown sites wait
            # for staff rather than being rejected.
            interactive=not options.headless,
            on_pending=self._on_pending_origin,
        )
        self.server = ServerThread(self._make_app, settings.port)
        self._add_compatibility_endpoints(settings)
        self.monitor = self._make_card_source(options)
        self._test_cards: tuple[tuple[str, str], ...] = ()
        if options.simulate:
            self._test_cards = tuple(
                (card["key"], card["description"])
                for card in self.monitor.available_cards()
            )

    @property
    def version(self) -> str:
        """The agent's version."""
        return __version__

    def run(self) -> int:
        """Serve until stopped; return the process exit status."""
        logger.info(
            "trayagent %s starting (pid %d, settings %s)",
            __version__,
            os.getpid(),
            self._settings_file,
        )
        self._handle_signals()
        try:
            self.server.start()
        except PortInUseError as error:
            message = (
                f"{error.strerror}. Stop the program that uses it, or start "
                f'trayagent with --port N (or set "port" in {self._settings_file}).'
            )
            logger.error("%s", message)
            if not self._options.headless and show_problem(message):
                return EXIT_OK
            return EXIT_PORT_IN_USE
        except OSError as error:
            logger.error("The server could not start: %s", error)
            return EXIT_START_FAILED
        self.monitor.start()
        try:
            tray_shown = not self._options.headless and self._start_tray()
            # A second start reads this from the lock file to tell staff
            # whether to look for the icon.
            record_tray(tray_shown)
            if tray_shown:
                self._run_tray()
            self._stopping.wait()
        finally:
            self._shutdown()
        return EXIT_OK

    def stop(self) -> None:
        """Ask the agent to stop; safe from any thread, even while the tray starts."""
        with self._tray_lock:
            self._stopping.set()
            tray = self._tray
        if tray is not None:
            tray.stop()

    # Tray controller

    def set_auto_read(self, enabled: bool) -> None:
        """Turn auto-read on or off, save it, and tell the clients."""
        self._change_settings(auto_read=enabled)

    def set_include_photo(self, enabled: bool) -> None:
        """Turn the photo on or off, save it, and tell the clients."""
        self._change_settings(include_photo=enabled)

    def set_read_laser_id(self, enabled: bool) -> None:
        """Turn reading the laser code on or off, save it, and tell the clients."""
        self._change_settings(read_laser_id=enabled)

    def set_read_nhso(self, enabled: bool) -> None:
        """Turn reading the NHSO data on or off, save it, and tell the clients."""
        self._change_settings(read_nhso=enabled)

    def set_start_at_login(self, enabled: bool) -> None:
        """Enable or disable start at login in the operating system."""
        from . import autostart

        try:
            result = autostart.enable() if enabled else autostart.disable()
        except autostart.AutostartError as error:
            logger.error("Changing start at login failed: %s", error)
            if self._tray is not None:
                self._tray.notify("Start at login was not changed", str(error))
        else:
            logger.info("Start at login: %s", autostart.describe(result))
        self.server.call_soon(self._status_changed)

    def read_now(self, reader: str | None) -> None:
        """Read the card in ``reader``, or in every reader holding one."""
        readers = [reader] if reader else self.monitor.readers_with_card()
        for name in readers:
            self.monitor.request_read(name)

    def open_test_page(self) -> None:
        """Open the test page in the default browser."""
        from .tray.desktop import open_page

        open_page(self._page_url())

    def open_log_folder(self) -> None:
        """Open the log folder in the file manager."""
        from .tray.desktop import open_folder

        open_folder(str(paths.log_dir()))

    def open_current_log(self) -> None:
        """Open today's log file in the default viewer."""
        from .tray.desktop import open_file

        open_file(str(paths.log_path()))

    def save_diagnostics(self) -> None:
        """Write the doctor's report to the log folder, then open the folder."""
        start_diagnostics(self._notify, self._diagnostics_saved)

    def copy_ws_url(self) -> None:
        """Copy the WebSocket address, or open the test page without a clipboard."""
        from .tray.desktop import copy_to_clipboard, find_clipboard_command

        command = find_clipboard_command()
        if command is None or not copy_to_clipboard(self._ws_url(), command):
            self.open_test_page()

    def insert_test_card(self, card: str) -> None:
        """Insert a fictional test card; only with ``--simulate``."""
        if self._options.simulate:
            self.monitor.insert(card)

    def remove_test_card(self) -> None:
        """Remove the simulated card; only with ``--simulate``."""
        if self._options.simulate:
            self.monitor.remove()

    def allow_origin(self, origin: str) -> None:
        """Allow a web site for good, and admit its waiting connections at once."""
        self._change_origins(origin, allowed=True)

    def block_origin(self, origin: str) -> None:
        """Block a web site for good, and close its connections with code 1008."""
        self._change_origins(origin, allowed=False)

    def forget_origin(self, origin: str) -> None:
        """Take a web site off the allowed and blocked lists."""
        self._change_origins(origin, allowed=None)

    def quit(self) -> None:
        """Stop the agent from the tray menu."""
        logger.info("Quit chosen from the tray menu")
        self.stop()

    def status(self) -> AgentStatus:
        """Return a snapshot of the agent for the tray; call on the loop thread."""
        login = _start_at_login_status()
        return AgentStatus(
            service=self.hub.service,
            readers=self.hub.reader_statuses(),
            auto_read=self._settings.auto_read,
            include_photo=self._settings.include_photo,
            read_laser_id=self._settings.read_laser_id,
            read_nhso=self._settings.read_nhso,
            start_at_login=login.enabled if login is not None else None,
            # Only a state the user must act on is worth a word in the menu.
            start_at_login_detail=login.detail if login and login.advice else "",
            ws_url=self._ws_url(),
            recent_activity=tuple(
                format_entry(entry) for entry in self._activity.entries()
            ),
            allowed_origins=tuple(sorted(self._policy.allowed)),
            pending_origins=tuple(sorted(self._policy.pending)),
            page_url=self._page_url(),
            simulated=self._options.simulate,
            test_cards=self._test_cards,
            config_dir=str(paths.config_dir()),
            log_dir=str(paths.log_dir()),
        )

    # Internals

    def _make_app(self) -> Any:
        config = ServerConfig(
            port=self._settings.port,
            read_timeout=self._settings.read_timeout,
            simulated=self._options.simulate,
            on_activate=self._on_activate,
            on_origin_change=self._on_origin_request,
        )
        app = create_app(self.hub, self.monitor, config, self._policy)
        if self._options.simulate:
            from .server.simulator_routes import add_simulator_routes

            add_simulator_routes(app, self.monitor)
        app[SETTINGS_PATH] = str(self._settings_file)
        announce_settings(app, self._client_settings())
        return app

    def _add_compatibility_endpoints(self, settings: Settings) -> None:
        """Serve the protocols of agents that clinics replace, where switched on."""
        from .server.compat import go_thai_smartcard, pythaiidcard

        endpoints = (
            (
                settings.compat_go_thai_smartcard,
                "go-thai-smartcard",
                go_thai_smartcard,
                settings.compat_go_thai_smartcard_port,
            ),
            (
                settings.compat_pythaiidcard,
                "pythaiidcard",
                pythaiidcard,
                settings.compat_pythaiidcard_port,
            ),
        )
        for wanted, name, module, port in endpoints:
            if wanted:
                self.server.add_app(
                    name,
                    lambda module=module, port=port: self._make_compat_app(
                        module, port
                    ),
                    port,
                )

    def _make_compat_app(self, module: Any, port: int) -> Any:
        from .server.compat import base

        config = ServerConfig(
            port=port,
            read_timeout=self._settings.read_timeout,
            simulated=self._options.simulate,
        )
        app = module.create_app(self.hub, self.monitor, config, self._policy)
        base.set_settings(app, self._client_settings())
        return app

    def _notify(self, title: str, text: str) -> None:
        if self._tray is not None:
            self._tray.notify(title, text)

    def _diagnostics_saved(self) -> None:
        self.server.call_soon(self._note_activity, "Diagnostics saved")

    def _on_event(self, event: Any) -> None:
        """Apply a card-source event on the loop thread, and note it as activity."""
        self._activity.record(event)
        self.hub.handle(event)

    def _note_activity(self, text: str) -> None:
        self._activity.note(text)
        self._status_changed()

    def _make_card_source(self, options: RunOptions) -> Any:
        if not options.simulate:
            from .pcsc.monitor import Monitor

            return Monitor(self._publish, self._read_options)
        from .simulator import SimulatedReader

        logger.info("Simulated reader: no PC/SC, test cards only")
        return SimulatedReader(self._publish, self._read_options)

    def _change_origins(self, origin: str, *, allowed: bool | None) -> None:
        normalized = normalize_origin(origin)
        if normalized is None:
            logger.warning("Ignoring an invalid origin %r", origin[:200])
            return
        if is_loopback_origin(normalized):
            logger.warning(
                "Ignoring a change to %s: pages on this PC are always allowed",
                normalized,
            )
            return
        allowed_list = [o for o in self._saved.allowed_origins if o != normalized]
        blocked_list = [o for o in self._saved.blocked_origins if o != normalized]
        if allowed is True:
            allowed_list.append(normalized)
        elif allowed is False:
            blocked_list.append(normalized)
        verb = {True: "Allowed", False: "Blocked", None: "Forgot"}[allowed]
        logger.info("%s web site %s", verb, normalized)
        self.server.call_soon(self._note_activity, f"Site {verb.lower()}: {normalized}")
        self._change_settings(
            allowed_origins=tuple(allowed_list), blocked_origins=tuple(blocked_list)
        )
        self.server.call_soon(self._apply_origin, normalized, allowed)

    def _apply_origin(self, origin: str, allowed: bool | None) -> None:
        app = self.server.app
        if allowed is True:
            self._policy.allow(origin)
            if app is not None:
                allow_held_origin(app, origin)
        else:
            if allowed is False:
                self._policy.block(origin)
            else:
                self._policy.forget(origin)
            if app is not None:
                self.server.loop.create_task(block_held_origin(app, origin))
        self._status_changed()

    def _on_pending_origin(self, origin: str) -> None:
        logger.info("Web site %s asks for card data; waiting for staff", origin)
        self._status_changed()
        if self._tray is not None:
            self._tray.notify(
                "A web site asks for card data",
                f"{origin} wants to read ID cards. Allow or block it in the "
                "trayagent menu.",
            )

    def _on_origin_request(self, origin: str, action: str) -> None:
        allowed = {"allow": True, "block": False, "forget": None}[action]
        self._change_origins(origin, allowed=allowed)

    def _stop_asking_about_origins(self) -> None:
        """Without a tray nobody can answer; reject the sites that wait."""
        self._policy.interactive = False
        app = self.server.app
        for origin in sorted(self._policy.pending):
            self._policy.pending.discard(origin)
            if app is not None:
                self.server.loop.create_task(block_held_origin(app, origin))

    def _on_activate(self) -> None:
        logger.info("Another trayagent was started; this one keeps running")
        if self._tray is not None:
            self._tray.notify(
                "trayagent is already running", f"Web apps connect to {self._ws_url()}"
            )

    def _publish(self, event: Any) -> None:
        self.server.call_soon(self._on_event, event)

    def _read_options(self) -> ReadOptions:
        settings = self._settings
        return ReadOptions(
            auto_read=settings.auto_read,
            include_photo=settings.include_photo,
            timeout=settings.read_timeout,
            read_laser_id=settings.read_laser_id,
            read_nhso=settings.read_nhso,
        )

    def _client_settings(self) -> dict[str, bool]:
        return {
            "auto_read": self._settings.auto_read,
            "include_photo": self._settings.include_photo,
            "read_laser_id": self._settings.read_laser_id,
            "read_nhso": self._settings.read_nhso,
        }

    def _change_settings(self, **changes: Any) -> None:
        self._settings = self._settings.replace(**changes)
        self._saved = self._saved.replace(**changes)
        described = ", ".join(f"{name}={value}" for name, value in changes.items())
        logger.info("Settings changed: %s", described)
        try:
            save_settings(self._settings_file, self._saved)
        except OSError as error:
            logger.error("Cannot save settings to %s: %s", self._settings_file, error)
        self.server.call_soon(self._announce_settings)

    def _announce_settings(self) -> None:
        if self.server.app is not None:
            announce_settings(self.server.app, self._client_settings())
        self._status_changed()

    def _status_changed(self) -> None:
        if self._tray is not None:
            self._tray.update(self.status())

    def _ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._settings.port}/ws"

    def _page_url(self) -> str:
        return f"http://127.0.0.1:{self._settings.port}/"

    def _start_tray(self) -> bool:
        from .tray import TrayUnavailable, create_tray

        try:
            tray = create_tray(self, self.status())
        except TrayUnavailable as error:
            logger.warning("No tray icon can be shown (%s); running headless", error)
            self.server.call_soon(self._stop_asking_about_origins)
            return False
        with self._tray_lock:
            self._tray = tray
            stopping = self._stopping.is_set()
        if stopping:
            tray.stop()  # run() then returns at once
        # The tray shows the status taken before create_tray(), and changes
        # reported while it was created found no tray to update.
        self.server.call_soon(self._status_changed)
        return True

    def _run_tray(self) -> None:
        """Run the tray loop; if it fails, go on serving without a tray."""
        try:
            self._tray.run()
        except Exception:
            logger.exception("The tray icon failed; running headless")
            record_tray(False)
            with self._tray_lock:
                self._tray = None
            self.server.call_soon(self._stop_asking_about_origins)
            return
        # run() returns after stop(), or when the backend ends its loop on
        # its own. The agent stops in both cases.
        self._stopping.set()

    def _handle_signals(self) -> None:
        """Stop on SIGINT and SIGTERM, as the Quit menu item does."""

        def on_signal(number: int, _frame: Any) -> None:
            logger.info("Received %s", signal.Signals(number).name)
            self.stop()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

    def _shutdown(self) -> None:
        logger.info("Stopping")
        self.monitor.stop()
        self.server.stop()
        logger.info("trayagent stopped")


def _start_at_login_status() -> "Any":
    """Read the start-at-login state from the operating system, or ``None``.

    Read every time, never from a saved flag, because the user can change
    it outside the agent (Task Manager, System Settings).
    """
    from . import autostart

    try:
        return autostart.get_status()
    except autostart.AutostartError as error:
        logger.debug("Start at login cannot be read: %s", error)
        return None


def start_diagnostics(
    notify: Callable[[str, str], None], on_saved: Callable[[], None] | None = None
) -> None:
    """Write the doctor's report to the log folder on a thread, then open the folder.

    The checks talk to the PC/SC service and the agent's port, so they run
    on a thread of their own, not on the tray's. ``notify`` shows a failure
    to staff; ``on_saved`` runs on that thread once the report is written.
    """

    def save() -> None:
        from . import doctor
        from .tray.desktop import open_folder

        try:
            report = doctor.save_report(paths.log_dir())
        except OSError as error:
            logger.error("Saving the diagnostics report failed: %s", error)
            notify("Diagnostics were not saved", str(error))
            return
        logger.info("Diagnostics saved to %s", report)
        if on_saved is not None:
            on_saved()
        open_folder(str(report.parent))

    # A daemon, because nothing joins it on quit: its SCardConnect can block
    # for as long as another program holds a transaction on the card, and
    # quitting must not wait for a report.
    threading.Thread(target=save, name="diagnostics", daemon=True).start()


class _ProblemController:
    """The tray controller of an agent that cannot serve: logs, diagnostics, Quit."""

    version = __version__

    def __init__(self) -> None:
        self.tray: Any = None
        self.quit_chosen = False

    def open_log_folder(self) -> None:
        from .tray.desktop import open_folder

        open_folder(str(paths.log_dir()))

    def open_current_log(self) -> None:
        from .tray.desktop import open_file

        open_file(str(paths.log_path()))

    def save_diagnostics(self) -> None:
        start_diagnostics(self._notify)

    def _notify(self, title: str, text: str) -> None:
        if self.tray is not None:
            self.tray.notify(title, text)

    def quit(self) -> None:
        logger.info("Quit chosen from the tray menu")
        self.quit_chosen = True
        if self.tray is not None:
            self.tray.stop()

    def __getattr__(self, name: str) -> Any:
        # Every other menu action does nothing while the agent cannot serve.
        return lambda *args: None


def show_problem(message: str) -> bool:
    """Show a problem that stops the agent in the tray, until staff choose Quit.

    Does nothing where no tray can be shown; the message is in the log and
    on stderr already.

    :returns: whether staff chose Quit, after which the agent exits with 0
        so that launchd does not start it again. A signal or a missing
        tray returns ``False``.
    """
    from .status import ServiceState
    from .tray import TrayUnavailable, create_tray

    status = AgentStatus(
        service=ServiceState.STARTING,
        problem=message,
        config_dir=str(paths.config_dir()),
        log_dir=str(paths.log_dir()),
    )
    controller = _ProblemController()
    try:
        tray = create_tray(controller, status)
    except TrayUnavailable as error:
        logger.info("No tray to show the problem in (%s)", error)
        return False
    controller.tray = tray

    def on_signal(number: int, _frame: Any) -> None:
        tray.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    tray.notify("trayagent cannot start", message)
    try:
        tray.run()
    except Exception:
        logger.exception("The tray icon failed while showing the problem")
    return controller.quit_chosen
