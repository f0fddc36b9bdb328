"""The agent: wires settings, the monitor, the server and the tray together.

``Agent.run`` runs on the main thread. With a tray it hands the main thread
to pystray; headless it waits there for a signal. The monitor publishes
events to the server's loop, and the loop tells the tray about every change.
"""

import logging
import os
import signal
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, paths
from .pcsc.monitor import Monitor
from .reading import ReadOptions
from .server.app import ServerConfig, announce_settings, create_app
from .server.hub import Hub
from .server.thread import PortInUseError, ServerThread
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
    """

    headless: bool = False


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
        self.hub = Hub(on_change=self._status_changed)
        self.server = ServerThread(self._make_app, settings.port)
        self.monitor = Monitor(self._publish, self._read_options)

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
        try:
            self.server.start()
        except PortInUseError as error:
            logger.error(
                "%s. Stop the program that uses it, or start trayagent with "
                '--port N (or set "port" in %s).',
                error.strerror,
                self._settings_file,
            )
            return EXIT_PORT_IN_USE
        except OSError as error:
            logger.error("The server could not start: %s", error)
            return EXIT_START_FAILED
        self.monitor.start()
        try:
            if self._options.headless or not self._start_tray():
                self._wait_for_signal()
            else:
                self._tray.run()
        finally:
            self._shutdown()
        return EXIT_OK

    def stop(self) -> None:
        """Ask the agent to stop; safe from any thread."""
        self._stopping.set()
        if self._tray is not None:
            self._tray.stop()

    # Tray controller

    def set_auto_read(self, enabled: bool) -> None:
        """Turn auto-read on or off, save it, and tell the clients."""
        self._change_settings(auto_read=enabled)

    def set_include_photo(self, enabled: bool) -> None:
        """Turn the photo on or off, save it, and tell the clients."""
        self._change_settings(include_photo=enabled)

    def read_now(self, reader: str | None) -> None:
        """Read the card in ``reader``, or in every reader holding one."""
        readers = [reader] if reader else self.monitor.readers_with_card()
        for name in readers:
            self.monitor.request_read(name)

    def open_test_page(self) -> None:
        """Open the test page in the default browser."""
        webbrowser.open(self._page_url())

    def open_log_folder(self) -> None:
        """Open the log folder in the file manager."""
        from .tray.desktop import open_folder

        open_folder(str(paths.log_dir()))

    def copy_ws_url(self) -> None:
        """Copy the WebSocket address, or open the test page without a clipboard."""
        from .tray.desktop import copy_to_clipboard, find_clipboard_command

        command = find_clipboard_command()
        if command is None or not copy_to_clipboard(self._ws_url(), command):
            self.open_test_page()

    def quit(self) -> None:
        """Stop the agent from the tray menu."""
        logger.info("Quit chosen from the tray menu")
        self.stop()

    def status(self) -> AgentStatus:
        """Return a snapshot of the agent for the tray; call on the loop thread."""
        return AgentStatus(
            service=self.hub.service,
            readers=self.hub.reader_statuses(),
            auto_read=self._settings.auto_read,
            include_photo=self._settings.include_photo,
            ws_url=self._ws_url(),
            page_url=self._page_url(),
            config_dir=str(paths.config_dir()),
            log_dir=str(paths.log_dir()),
        )

    # Internals

    def _make_app(self) -> Any:
        config = ServerConfig(
            port=self._settings.port, read_timeout=self._settings.read_timeout
        )
        app = create_app(self.hub, self.monitor, config)
        announce_settings(app, self._client_settings())
        return app

    def _publish(self, event: Any) -> None:
        self.server.call_soon(self.hub.handle, event)

    def _read_options(self) -> ReadOptions:
        settings = self._settings
        return ReadOptions(
            auto_read=settings.auto_read,
            include_photo=settings.include_photo,
            timeout=settings.read_timeout,
        )

    def _client_settings(self) -> dict[str, bool]:
        return {
            "auto_read": self._settings.auto_read,
            "include_photo": self._settings.include_photo,
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
            self._tray = create_tray(self, self.status())
        except TrayUnavailable as error:
            logger.warning("No tray icon can be shown (%s); running headless", error)
            return False
        return True

    def _wait_for_signal(self) -> None:
        def on_signal(number: int, _frame: Any) -> None:
            logger.info("Received %s", signal.Signals(number).name)
            self._stopping.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        self._stopping.wait()

    def _shutdown(self) -> None:
        logger.info("Stopping")
        self.monitor.stop()
        self.server.stop()
        logger.info("trayagent stopped")
