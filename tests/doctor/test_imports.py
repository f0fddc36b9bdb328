"""The doctor and the activity model load no PC/SC, server or tray library."""

import subprocess
import sys

import pytest

PROGRAM = """
import sys
import {module}
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("smartcard", "aiohttp", "pystray")
)
print(",".join(loaded))
"""


@pytest.mark.parametrize("module", ["trayagent.doctor", "trayagent.activity"])
def test_module_imports_no_io_libraries(module):
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout.strip() == ""
