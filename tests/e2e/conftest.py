"""Fixtures that start the agent against the session's pcscd."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trayagent.simcard import PEOPLE
from trayagent.simcard.people import NhsoRecord

from .support import AgentProcess

# Words of the test readers' names, which logs rightly contain.
READER_WORDS = {"Test", "Reader"}


def personal_strings() -> list[str]:
    """Return every personal value of the fictional people, as logs could show it."""
    values: list[str] = []
    for person in PEOPLE.values():
        values.append(person.citizen_id)
        for name in (person.name_th, person.name_en):
            values.extend(
                part
                for part in name.split("#")
                if len(part) > 3 and part not in READER_WORDS
            )
        values.extend(part for part in person.address.split("#")[:2] if len(part) > 3)
        values.append(person.birth_date)
        values.extend(laser_strings(person.laser_id))
        if person.nhso is not None:
            values.extend(nhso_strings(person.nhso))
    return values


def laser_strings(laser_id: str) -> list[str]:
    """Return the laser ID as stored and as printed, ``AB1-2345678-90``."""
    if not laser_id:
        return []
    return [laser_id, f"{laser_id[:3]}-{laser_id[3:10]}-{laser_id[10:]}"]


def nhso_strings(nhso: NhsoRecord) -> list[str]:
    """Return the NHSO texts and dates that single out a person.

    Texts of three characters or fewer, such as the right code ``UCS``,
    and the "never expires" date 99999999 would match unrelated lines.
    """
    texts = (nhso.main_right, nhso.sub_right, nhso.main_hospital, nhso.sub_hospital)
    dates = (nhso.issue_date, nhso.expiry_date, nhso.update_date)
    values = [text for text in texts if len(text) > 3]
    values.extend(date for date in dates if date != "99999999")
    return values


def assert_no_personal_data(text: str) -> None:
    """Fail if any fictional person's details appear in ``text``."""
    leaked = [value for value in personal_strings() if value in text]
    assert leaked == [], f"personal data in the log: {len(leaked)} values"


@pytest.fixture
def start_agent(
    tmp_path: Path, pcsc_stack: object
) -> Iterator[Callable[..., AgentProcess]]:
    """Start agents with extra arguments; stop them and check their logs at the end."""
    agents: list[AgentProcess] = []

    def start(
        *args: str,
        port: int | None = None,
        settings: dict | None = None,
        display: str | None = None,
    ) -> AgentProcess:
        agent = AgentProcess(
            tmp_path / f"agent{len(agents)}", *args, port=port, display=display
        )
        if settings is not None:
            agent.config_dir.mkdir(parents=True, exist_ok=True)
            (agent.config_dir / "settings.json").write_text(json.dumps(settings))
        agents.append(agent)
        return agent.start()

    yield start
    for agent in agents:
        status = agent.stop()
        assert status == 0, agent.output()
        assert "Traceback" not in agent.log_text()
        assert_no_personal_data(agent.log_text())
        assert_no_personal_data(agent.output())
