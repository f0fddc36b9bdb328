"""What importing the tray costs, and a tray that cannot be shown."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]

CHECK_IMPORTS = """
import json, sys
import trayagent.tray
print(json.dumps(sorted(m for m in ("pystray", "PIL") if m in sys.modules)))
"""

CREATE_TRAY = """
from trayagent.status import AgentStatus, ServiceState
from trayagent.tray import TrayUnavailable, create_tray
try:
    create_tray(object(), AgentStatus(ServiceState.STARTING))
except TrayUnavailable as error:
    print("unavailable:", error)
"""


def run_python(code, **environ):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND")
    }
    env.update(environ, PYTHONPATH=str(REPOSITORY))
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_import_loads_neither_pystray_nor_pillow():
    result = run_python(CHECK_IMPORTS)
    assert json.loads(result.stdout) == []


def test_no_display_raises_tray_unavailable():
    result = run_python(CREATE_TRAY)
    assert result.stdout.startswith("unavailable: No tray backend is available")


def test_dummy_backend_raises_tray_unavailable():
    result = run_python(CREATE_TRAY, PYSTRAY_BACKEND="dummy")
    assert result.stdout == "unavailable: pystray's dummy backend cannot show an icon\n"
