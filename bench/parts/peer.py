"""pythaiidcard 0.3.0, a peer library, reading the same card in the same run.

Runs on the benchmark's event loop as a block of the read part. The peer is
installed from PyPI into its own venv under ``bench/.work/peer-venv``, never
into the project's, and is driven by ``bench/peer_reader.py``. When no
Python on this machine can install it, the result gives the reason instead.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .. import REPOSITORY, WORK_DIR
from ..observer import ObserverProcess
from ..rig import FIRST_READER, Rig

REQUIREMENT = "pythaiidcard==0.3.0"
# pythaiidcard 0.3.0 declares Requires-Python >=3.13 on PyPI.
MINIMUM_PYTHON = (3, 13)
CANDIDATES = ("python3.14", "python3.13", "python3")
# pyenv keeps its interpreters here; its shims on PATH fail for a version
# that is installed but not selected.
PYENV_PATTERN = "*/bin/python3"
VENV = WORK_DIR / "peer-venv"


async def run(rig: Rig, profile: str, trials: int) -> dict:
    """Read ``trials`` cards with the peer; return the times or why there are none."""
    python, reason = _peer_python()
    if python is None:
        return {"measured": False, "reason": reason}
    command = [str(python), str(REPOSITORY / "bench" / "peer_reader.py"), FIRST_READER]
    observer = ObserverProcess(FIRST_READER, command=command)
    await observer.start()
    reads = []
    try:
        for _ in range(trials):
            await rig.insert(0, profile)
            record = await observer.expect(present=True, timeout=30.0)
            record["traffic"] = await rig.remove(0)
            reads.append(record)
            await observer.expect(present=False)
    finally:
        await observer.stop()
    errors = [record["peer_error"] for record in reads if "peer_error" in record]
    return {"measured": True, "python": str(python), "reads": reads, "errors": errors}


def _peer_python() -> tuple[Path | None, str]:
    """Return the peer venv's Python, creating the venv, or why there is none."""
    if (VENV / "bin" / "python").exists():
        return VENV / "bin" / "python", ""
    found = {path: _version(path) for path in _candidate_pythons()}
    found = {path: version for path, version in found.items() if version}
    usable = sorted(
        (path for path, version in found.items() if version >= MINIMUM_PYTHON),
        key=found.__getitem__,
        reverse=True,
    )
    if not usable:
        listed = ", ".join(
            f"{path} ({'.'.join(map(str, v))})" for path, v in found.items()
        )
        return None, (
            f"{REQUIREMENT} requires Python >= 3.13 (its Requires-Python on PyPI); "
            f"the Pythons found here are {listed or 'none'}. "
            f"pip's output: {_pip_output(sys.executable)}"
        )
    subprocess.run([usable[0], "-m", "venv", str(VENV)], check=True)
    pip = subprocess.run(
        [str(VENV / "bin" / "pip"), "install", REQUIREMENT],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        shutil.rmtree(VENV)
        return None, f"pip install {REQUIREMENT} failed: {_last_line(pip.stderr)}"
    return VENV / "bin" / "python", ""


def _candidate_pythons() -> list[str]:
    paths = [shutil.which(name) for name in CANDIDATES]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    paths += [str(path) for path in sorted(pyenv.glob(PYENV_PATTERN), reverse=True)]
    return [path for path in dict.fromkeys(paths) if path is not None]


def _version(python: str) -> tuple[int, ...]:
    """Return the interpreter's version, or ``()`` when it does not run."""
    output = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:3])"],
        capture_output=True,
        text=True,
    ).stdout
    return tuple(int(part) for part in output.split())


def _pip_output(python: str) -> str:
    """Ask pip, once, to install the peer for ``python``; return its error line."""
    target = WORK_DIR / "peer-pip-check"
    result = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--target",
            str(target),
            REQUIREMENT,
        ],
        capture_output=True,
        text=True,
    )
    output = result.stderr + result.stdout
    reasons = [
        line.strip() for line in output.splitlines() if "Requires-Python" in line
    ]
    return reasons[0] if reasons else _last_line(output)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
