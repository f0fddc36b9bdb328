"""The doctor's result: one :class:`Check` per finding, and the whole report.

Plain immutable values, built on the thread that runs the checks and read
on any thread. No value here contains personal data, because the checks
never read a personal field of a card.
"""

import datetime
import json
import logging
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..autostart.command import WINDOWS_CONSOLE_PROGRAM
from ..files import write_text_atomically

logger = logging.getLogger(__name__)

OK = "ok"
WARNING = "warning"
PROBLEM = "problem"
INFO = "info"
VERDICTS = (OK, WARNING, PROBLEM, INFO)

# The verdict column of the text report is as wide as its longest label.
_LABEL_WIDTH = max(len(verdict) for verdict in VERDICTS) + 1
_FIX_INDENT = " " * _LABEL_WIDTH


@dataclass(frozen=True)
class Check:
    """One finding of the doctor.

    :param name: what was checked, e.g. ``"PC/SC service"``.
    :param verdict: ``"ok"``, ``"warning"``, ``"problem"`` or ``"info"``.
    :param summary: one sentence stating what was found.
    :param fix: what to do about it, in plain words; ``None`` when nothing
        needs doing.
    :param details: facts for a support ticket, as JSON values.
    """

    name: str
    verdict: str
    summary: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"invalid verdict {self.verdict!r}; use one of {VERDICTS}")

    def to_json(self) -> dict[str, Any]:
        """Return the check as a JSON object."""
        return {
            "name": self.name,
            "verdict": self.verdict,
            "summary": self.summary,
            "fix": self.fix,
            "details": self.details,
        }


@dataclass(frozen=True)
class DoctorReport:
    """Every check of one doctor run, in order.

    :param healthy: no check has the verdict ``"problem"``.
    :param created: the local time the report was made, with its UTC offset.
    """

    checks: tuple[Check, ...]
    healthy: bool
    created: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now().astimezone()
    )

    @classmethod
    def from_checks(cls, checks: tuple[Check, ...]) -> "DoctorReport":
        """Build a report whose ``healthy`` follows from the checks."""
        return cls(checks, all(check.verdict != PROBLEM for check in checks))

    def count(self, verdict: str) -> int:
        """Return how many checks have ``verdict``."""
        return sum(1 for check in self.checks if check.verdict == verdict)

    def to_json(self) -> dict[str, Any]:
        """Return the report as one JSON document for a support ticket."""
        return {
            "tool": "trayagent doctor",
            "version": __version__,
            "created": self.created.isoformat(timespec="seconds"),
            "system": {
                "platform": sys.platform,
                "os": platform.platform(),
                "python": platform.python_version(),
                "frozen": bool(getattr(sys, "frozen", False)),
            },
            "healthy": self.healthy,
            "problems": self.count(PROBLEM),
            "warnings": self.count(WARNING),
            "checks": [check.to_json() for check in self.checks],
        }

    def to_text(self) -> str:
        """Return one line per check, verdict first, each fix indented below.

        A last line gives the overall result.
        """
        lines: list[str] = []
        for check in self.checks:
            label = check.verdict.upper().ljust(_LABEL_WIDTH)
            lines.append(f"{label}{check.name}: {check.summary}")
            if check.fix:
                lines.append(f"{_FIX_INDENT}Fix: {check.fix}")
        lines.append(self._result_line())
        return "\n".join(lines)

    def _result_line(self) -> str:
        problems, warnings = self.count(PROBLEM), self.count(WARNING)
        if problems == 0 and warnings == 0:
            return "Result: no problems found."
        parts = []
        if problems:
            parts.append(_plural(problems, "problem"))
        if warnings:
            parts.append(_plural(warnings, "warning"))
        return f"Result: {' and '.join(parts)} found."


def write_report(report: DoctorReport, directory: Path) -> Path:
    """Write ``report`` as ``doctor-YYYYmmdd-HHMMSS.json`` in ``directory``.

    The file is written atomically, so a reader never sees half a report. A
    report made in the same second as an earlier one replaces it.

    :returns: the path of the report.
    :raises OSError: the folder cannot be created or written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"doctor-{report.created:%Y%m%d-%H%M%S}.json"
    text = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    write_text_atomically(path, text)
    return path


def run_guarded(name: str, step: Callable[[], Check | list[Check]]) -> list[Check]:
    """Run one step of checks; turn an unexpected exception into a problem.

    The problem names the exception type only, and the traceback goes to
    the log (stderr for ``trayagent doctor``), so no message text of an
    unknown error reaches the report.
    """
    try:
        result = step()
        return [result] if isinstance(result, Check) else result
    except Exception as error:
        logger.exception("The doctor's %s check failed", name)
        return [failed_check(name, type(error).__name__)]


def failed_check(name: str, error_type: str) -> Check:
    """Return the problem that stands for a check that raised ``error_type``."""
    return Check(
        name,
        PROBLEM,
        f"the check failed unexpectedly ({error_type}), so this could not be checked.",
        "Run the doctor again. If this stays, send the report to support with "
        f"the error details: {console_command()} doctor prints them to the "
        "error output (in the terminal, above the report), and a report saved "
        "from the tray has them in the trayagent log.",
        {"error": error_type},
    )


def console_command() -> str:
    """Return the program that runs trayagent's commands in a console.

    On Windows that is ``trayagent-cli.exe``, because ``trayagent.exe`` is
    built without a console and prints nothing.
    """
    return WINDOWS_CONSOLE_PROGRAM if sys.platform == "win32" else "trayagent"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
