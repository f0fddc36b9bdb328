"""``./dev``'s argument handling, run against stub system commands.

Each test copies ``dev`` into an empty folder with a ``pyproject.toml``, a
``.venv`` whose install stamp matches it and whose ``trayagent`` only
records its arguments, so no package is installed and no agent starts.
Stubs of ``dpkg-query``, ``apt-get``, ``pgrep`` and ``pcscd`` come first on
``PATH`` and record their calls. The ``dpkg-query`` stub reports every
package as installed, and ``pgrep`` finds no pcscd.
"""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]

STUBS = {
    "dpkg-query": 'echo "$@" >>"$CALLS/dpkg-query"; echo "install ok installed"',
    "apt-get": 'echo "$@" >>"$CALLS/apt-get"',
    "pgrep": 'echo "$@" >>"$CALLS/pgrep"; exit 1',
    "pcscd": 'echo "$@" >>"$CALLS/pcscd"',
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder with ``dev``, a stub ``.venv`` and stub system commands."""
    folder = tmp_path / "checkout"
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (folder / "dev").write_bytes((REPOSITORY / "dev").read_bytes())
    (folder / "dev").chmod(0o755)
    pyproject = b"[project]\nname = 'stub'\n"
    (folder / "pyproject.toml").write_bytes(pyproject)
    digest = hashlib.sha256(pyproject).hexdigest()
    (folder / ".venv" / ".trayagent-install").write_text(f"{digest} test\n")
    write_script(bin_dir / "python", "exit 0")
    write_script(bin_dir / "trayagent", 'echo "$@" >>"$CALLS/trayagent"')
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, body in STUBS.items():
        write_script(stubs / name, body)
    (tmp_path / "calls").mkdir()
    return folder


def write_script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def run_dev(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    stubs = checkout.parent / "stubs"
    environment = dict(os.environ)
    environment["PATH"] = f"{stubs}{os.pathsep}{environment['PATH']}"
    environment["CALLS"] = str(checkout.parent / "calls")
    return subprocess.run(
        [str(checkout / "dev"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def calls(checkout: Path, command: str) -> list[str]:
    """Return the argument lines that a stub ``command`` recorded."""
    path = checkout.parent / "calls" / command
    return path.read_text().splitlines() if path.exists() else []


def queried_packages(checkout: Path) -> set[str]:
    return {line.split()[-1] for line in calls(checkout, "dpkg-query")}


def test_run_simulate_skips_pcscd(checkout):
    result = run_dev(checkout, "run", "--simulate", "--port", "1")

    assert result.returncode == 0, result.stderr
    assert calls(checkout, "trayagent") == ["--simulate --port 1"]
    assert calls(checkout, "pgrep") == []
    assert calls(checkout, "pcscd") == []
    assert "pcscd" not in queried_packages(checkout)
    assert {"libpcsclite-dev", "gcc"} <= queried_packages(checkout)


def test_run_starts_pcscd(checkout):
    result = run_dev(checkout, "run", "--port", "1")

    assert result.returncode == 0, result.stderr
    assert calls(checkout, "trayagent") == ["--port 1"]
    assert calls(checkout, "pgrep") == ["-x pcscd"]
    assert "pcscd" in queried_packages(checkout)
    if os.geteuid() == 0:
        assert calls(checkout, "pcscd") == [""]
    else:
        assert "pcscd is not running" in result.stderr


def test_simulate_after_double_dash_is_an_argument(checkout):
    result = run_dev(checkout, "run", "--", "--simulate")

    assert result.returncode == 0, result.stderr
    assert calls(checkout, "pgrep") == ["-x pcscd"]


def test_test_needs_pcscd_and_browser(checkout):
    result = run_dev(checkout, "test", "-q")

    assert result.returncode == 0, result.stderr
    assert {"pcscd", "vsmartcard-vpcd", "chromium"} <= queried_packages(checkout)
    assert calls(checkout, "pgrep") == []
