"""The system tray icon: status picture, tooltip, menu and notifications.

The only package that imports pystray, and the only one that draws with
Pillow at run time. Importing it loads neither: :func:`create_tray` does, on
the main thread, so a headless agent never pays for them.
"""

from trayagent.tray.controller import TrayController, TrayUnavailable
from trayagent.tray.trayicon import TrayIcon, create_tray

__all__ = ["TrayController", "TrayIcon", "TrayUnavailable", "create_tray"]
