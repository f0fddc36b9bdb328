"""The card package stays free of PC/SC, server and tray libraries."""

import subprocess
import sys

MODULES = [
    "address",
    "apdu",
    "connection",
    "dates",
    "errors",
    "ids",
    "layout",
    "model",
    "names",
    "personal",
    "photo",
    "reader",
    "session",
    "sw",
    "text",
]

PROGRAM = """
import sys
for name in {modules!r}:
    __import__("trayagent.card." + name)
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("smartcard", "aiohttp", "pystray", "PIL")
)
print(",".join(loaded))
"""


def test_card_imports_no_io_libraries() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(modules=MODULES)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout.strip() == ""
