"""Fixtures shared by every test: a private profile, pcscd, and vpcd slots.

Every test gets its own home, XDG and trayagent folders, so no test reads or
writes a real profile. Tests that need the PC/SC stack request
``pcsc_stack`` (one pcscd for the whole session) or ``slot0`` / ``slot1``.
Without pcscd, the vpcd driver or pyscard, those tests skip on a developer
machine and fail under ``CI=true``.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from x_tray_host import (  # noqa: F401 - fixtures for tests that show the tray
    bare_display,
    tray_host,
)

from pcsc_stack import (
    PcscdError,
    PcscStack,
    report_unavailable,
    require_pcsc,
    wait_for_empty,
)
from trayagent.simcard import VpcdSlot

EMPTY_READER_TIMEOUT = 5.0
"""Seconds a slot fixture waits at teardown for pcscd to see the reader empty."""


@pytest.fixture(autouse=True)
def isolated_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME, the XDG folders and the agent's folders into ``tmp_path``."""
    home = tmp_path / "home"
    folders = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_DATA_HOME": home / ".local" / "share",
        "TRAYAGENT_CONFIG_DIR": home / "trayagent-config",
        "TRAYAGENT_LOG_DIR": home / "trayagent-logs",
    }
    for variable, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(variable, str(folder))
    return home


@pytest.fixture(scope="session")
def pcsc_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscStack]:
    """A pcscd with "Test Reader 00 00" (port 37120) and "Test Reader 00 01" (37121).

    Tests may call ``stop()`` and ``start()``; pcscd is started again after
    any test that leaves it stopped.
    """
    require_pcsc()
    stack = PcscStack(tmp_path_factory.mktemp("pcscd"))
    try:
        stack.start()
    except PcscdError as error:
        report_unavailable(str(error))
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def _restart_stopped_pcscd(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "pcsc_stack" not in request.fixturenames:
        return
    stack: PcscStack = request.getfixturevalue("pcsc_stack")
    if not stack.running:
        stack.start()


@pytest.fixture
def slot0(pcsc_stack: PcscStack) -> Iterator[VpcdSlot]:
    """The slot behind "Test Reader 00 00", left empty at teardown."""
    yield from _slot(pcsc_stack, 0)


@pytest.fixture
def slot1(pcsc_stack: PcscStack) -> Iterator[VpcdSlot]:
    """The slot behind "Test Reader 00 01", left empty at teardown."""
    yield from _slot(pcsc_stack, 1)


def _slot(stack: PcscStack, index: int) -> Iterator[VpcdSlot]:
    slot = VpcdSlot(stack.ports[index])
    yield slot
    slot.remove()
    if stack.running:
        wait_for_empty(stack.reader_names[index], EMPTY_READER_TIMEOUT)
