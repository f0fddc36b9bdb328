"""The test page and the example page in headless Chromium, card over pcscd.

The agent runs without ``--simulate`` and reads the session's pcscd, whose
vpcd reader "Test Reader 00 00" gets the simulated card of a fictional
person. The screenshots are kept in ``test-artifacts/web``.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.conftest import assert_no_personal_data
from e2e.support import AgentProcess

from trayagent.simcard import PEOPLE, SimulatedCard

from .support import assert_test_page_shows_jaidee, keep_screenshot, start_pcsc_agent

READER = "Test Reader 00 00"
TIMEOUT_MS = 15_000  # a card over vpcd takes about 1.5 s to read, more on CI
JAIDEE = PEOPLE["jaidee"]

pytestmark = pytest.mark.pcsc


@pytest.fixture
def pcsc_agent(
    tmp_path: Path, pcsc_stack: object, clinic_origin: str
) -> Iterator[AgentProcess]:
    """An agent on pcscd that allows the clinic site; its logs are checked at exit."""
    agent = start_pcsc_agent(tmp_path / "agent", [clinic_origin])
    yield agent
    assert agent.stop() == 0, agent.output()
    assert "Traceback" not in agent.log_text()
    assert_no_personal_data(agent.log_text())


def test_test_page_shows_card_from_pcscd(pcsc_agent, slot0, page):
    page.goto(f"http://127.0.0.1:{pcsc_agent.port}/")
    page.wait_for_selector('#state[data-state="ready"]', timeout=TIMEOUT_MS)

    slot0.insert(SimulatedCard(JAIDEE))
    assert_test_page_shows_jaidee(page, READER, TIMEOUT_MS)
    assert "(simulated)" not in page.text_content("#agent")
    assert page.is_hidden("#simulator")
    status = page.evaluate("async () => (await fetch('/api/status')).json()")
    assert status["simulated"] is False
    screenshot = keep_screenshot(page, "test-page-pcscd.png")
    assert screenshot.stat().st_size > 10_000


def test_example_page_fills_form_from_pcscd(pcsc_agent, slot0, page, clinic_origin):
    page.goto(f"{clinic_origin}/registration.html?agent_port={pcsc_agent.port}")
    page.wait_for_selector('#status[data-state="ready"]', timeout=TIMEOUT_MS)

    slot0.insert(SimulatedCard(JAIDEE))
    page.wait_for_function(
        "() => document.querySelector('#photo').naturalWidth > 0", timeout=TIMEOUT_MS
    )

    assert page.input_value("#citizen_id") == JAIDEE.citizen_id
    assert page.input_value("#first_name_th") == "ทดสอบ"
    assert page.input_value("#last_name_th") == "ใจดี"
    assert page.input_value("#name_en") == "Mr. Test Jaidee"
    assert page.input_value("#birth_date") == "1987-01-15"
    assert page.input_value("#address").endswith("กรุงเทพมหานคร")
    assert page.get_attribute("#status", "data-state") == "card-in"
    screenshot = keep_screenshot(page, "example-page-pcscd.png")
    assert screenshot.stat().st_size > 10_000

    slot0.remove()
    page.wait_for_selector('#status[data-state="ready"]', timeout=TIMEOUT_MS)
    assert page.input_value("#citizen_id") == ""
