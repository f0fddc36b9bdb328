"""``trayagent doctor``: find what stops the web form from filling, and the fix.

:func:`run_checks` looks at the PC/SC service, the readers, the card in
each reader (with one SELECT of the Thai ID applet and no other command),
the running agent, its port, settings, logs and web sites, start at login,
and the browser side, in that order. Every finding is a :class:`Check`
with a verdict and, where something is wrong, a fix in plain words.

Runs on the calling thread and blocks for up to a few seconds, so the tray
calls it on a worker thread, never on the event loop thread. Nothing here
reads a personal field of a card, so no report holds personal data.
"""

import json
import logging
from pathlib import Path

from ..settings import DEFAULT_PORT
from .agent_checks import (
    AGENT,
    START_AT_LOGIN,
    AgentFacts,
    agent_steps,
    autostart_check,
    gather_agent_facts,
)
from .browser_checks import browser_checks
from .pcsc_checks import pcsc_checks
from .report import Check, DoctorReport, failed_check, run_guarded, write_report

logger = logging.getLogger(__name__)

__all__ = ["Check", "DoctorReport", "main", "run_checks", "save_report"]


def run_checks() -> DoctorReport:
    """Run every check in order; never raises.

    A check that fails unexpectedly becomes a ``problem`` naming the
    exception type, and its traceback goes to the log; the other checks
    still run.
    """
    checks = run_guarded("PC/SC", pcsc_checks)
    origins: tuple[str, ...] = ()
    facts = _gather_agent_facts()
    if isinstance(facts, Check):
        checks.append(facts)
        port = DEFAULT_PORT
    else:
        for name, step in agent_steps(facts):
            checks += run_guarded(name, step)
        port, origins = facts.port, facts.settings.settings.allowed_origins
    checks += run_guarded(START_AT_LOGIN, autostart_check)
    checks += run_guarded("Browser", lambda: browser_checks(port, origins))
    return DoctorReport.from_checks(tuple(checks))


def main(as_json: bool) -> int:
    """Run the checks and print the report; return 0 when healthy, else 1.

    :param as_json: print one JSON document instead of the text lines.
    """
    report = run_checks()
    if as_json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(report.to_text())
    return 0 if report.healthy else 1


def save_report(directory: Path) -> Path:
    """Run the checks and write the JSON report in ``directory``; return its path.

    The file is named ``doctor-YYYYmmdd-HHMMSS.json`` after the local time
    and written atomically.

    :raises OSError: the folder cannot be created or written.
    """
    return write_report(run_checks(), directory)


def _gather_agent_facts() -> AgentFacts | Check:
    try:
        return gather_agent_facts()
    except Exception as error:
        logger.exception("The doctor could not read the agent's state")
        return failed_check(AGENT, type(error).__name__)
