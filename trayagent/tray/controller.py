"""The interface the tray menu drives, implemented by the application.

The tray calls these methods on its own thread (the main thread on macOS and
Windows, the toolkit thread on Linux). Each must return quickly: hand the
work to the event loop and return.
"""

from typing import Protocol


class TrayUnavailable(Exception):
    """No tray icon can be shown here; the agent goes on without one.

    The message is a plain reason for the log, for example that no display
    is set or that pystray has no backend for this desktop.
    """


class TrayController(Protocol):
    """The application methods that the tray menu calls."""

    @property
    def version(self) -> str:
        """The agent's version, shown under "About"."""
        ...

    def set_auto_read(self, enabled: bool) -> None:
        """Turn reading a card as soon as it is inserted on or off."""
        ...

    def set_include_photo(self, enabled: bool) -> None:
        """Turn sending the card photo to clients on or off."""
        ...

    def set_read_laser_id(self, enabled: bool) -> None:
        """Turn reading the laser code on the back of the card on or off."""
        ...

    def set_read_nhso(self, enabled: bool) -> None:
        """Turn reading the NHSO health-insurance data on or off."""
        ...

    def set_start_at_login(self, enabled: bool) -> None:
        """Start the agent at login, or stop doing so."""
        ...

    def read_now(self, reader: str | None) -> None:
        """Read the card in ``reader`` (a PC/SC reader name), or in any reader."""
        ...

    def open_test_page(self) -> None:
        """Open the agent's test page in the default browser."""
        ...

    def open_log_folder(self) -> None:
        """Open the log folder in the file manager."""
        ...

    def open_current_log(self) -> None:
        """Open today's log file in the default viewer."""
        ...

    def save_diagnostics(self) -> None:
        """Write the doctor's report to the log folder and open that folder."""
        ...

    def copy_ws_url(self) -> None:
        """Put the WebSocket address on the clipboard."""
        ...

    def insert_test_card(self, card: str) -> None:
        """Insert a fictional test card into the simulated reader."""
        ...

    def remove_test_card(self) -> None:
        """Remove the card from the simulated reader."""
        ...

    def allow_origin(self, origin: str) -> None:
        """Allow a web site (a normalized origin) to receive card data."""
        ...

    def block_origin(self, origin: str) -> None:
        """Block a web site and close its connections."""
        ...

    def forget_origin(self, origin: str) -> None:
        """Take a web site off the allowed and blocked lists."""
        ...

    def quit(self) -> None:
        """Stop the agent; the application then calls ``tray.stop()``."""
        ...


# The methods a menu item may name as its action.
CONTROLLER_ACTIONS = frozenset(
    {
        "set_auto_read",
        "set_include_photo",
        "set_read_laser_id",
        "set_read_nhso",
        "set_start_at_login",
        "read_now",
        "open_test_page",
        "open_log_folder",
        "open_current_log",
        "save_diagnostics",
        "copy_ws_url",
        "insert_test_card",
        "remove_test_card",
        "allow_origin",
        "block_origin",
        "forget_origin",
        "quit",
    }
)
