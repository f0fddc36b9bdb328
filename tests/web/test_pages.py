"""The test page and the example page in headless Chromium, simulated card.

The agent runs with ``--simulate``. Screenshots are kept in
``test-artifacts/web``; set ``TRAYAGENT_UPDATE_SCREENSHOTS=1`` to also copy
the test page's screenshot to ``docs/images/test-page.png``.
"""

import os
import shutil

from trayagent.simcard import PEOPLE
from trayagent.simulator import SIMULATED_READER

from .conftest import OTHER_HOST
from .support import (
    REPOSITORY,
    assert_test_page_shows_jaidee,
    field,
    keep_screenshot,
    post,
)

TIMEOUT_MS = 10_000
JAIDEE = PEOPLE["jaidee"]


def agent_url(agent, path: str) -> str:
    return f"http://127.0.0.1:{agent.port}{path}"


def insert(agent, card: str) -> None:
    assert post(agent_url(agent, "/api/simulator/insert"), {"card": card}) == 204


def remove(agent) -> None:
    assert post(agent_url(agent, "/api/simulator/remove")) == 204


def photo_loaded(page, selector: str) -> bool:
    return page.eval_on_selector(
        selector, "image => image.complete && image.naturalWidth > 0"
    )


def test_test_page_shows_card_and_photo(agent, page):
    page.goto(agent_url(agent, "/"))
    page.wait_for_selector('#state[data-state="ready"]', timeout=TIMEOUT_MS)
    page.wait_for_selector("#simulator:not([hidden])", timeout=TIMEOUT_MS)

    insert(agent, "jaidee")
    assert_test_page_shows_jaidee(page, SIMULATED_READER, TIMEOUT_MS)
    assert photo_loaded(page, "#photo")
    assert "card.read" in page.text_content("#log")
    assert "(simulated)" in page.text_content("#agent")

    screenshot = keep_screenshot(page, "test-page-simulated.png")
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("TRAYAGENT_UPDATE_SCREENSHOTS") == "1":
        target = REPOSITORY / "docs" / "images" / "test-page.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, target)


def test_test_page_buttons_drive_the_simulator(agent, page):
    page.goto(agent_url(agent, "/"))
    page.wait_for_selector("#simulator:not([hidden])", timeout=TIMEOUT_MS)

    page.select_option("#sim-card", "sukjai")
    page.click("#sim-insert")
    page.wait_for_function(
        "() => document.querySelector('[data-field=citizen_id]').textContent !== ''",
        timeout=TIMEOUT_MS,
    )
    read = field(page, "citizen_id")
    birth = field(page, "birth_date")
    page.click("#sim-remove")
    page.wait_for_selector('#state[data-state="ready"]', timeout=TIMEOUT_MS)

    assert read == PEOPLE["sukjai"].citizen_id
    assert birth == "1977 (year only)"
    assert field(page, "citizen_id") == ""
    assert page.get_attribute("#photo", "src") is None


def test_test_page_shows_read_errors(agent, page):
    page.goto(agent_url(agent, "/"))
    page.wait_for_selector('#state[data-state="ready"]', timeout=TIMEOUT_MS)

    insert(agent, "non-thai")
    page.wait_for_function(
        "() => document.querySelector('#card-error').textContent !== ''",
        timeout=TIMEOUT_MS,
    )

    assert "not a Thai national ID card" in page.text_content("#card-error")
    assert page.get_attribute("#state", "data-state") == "card-in"


def test_test_page_connected_late_shows_the_card(agent, page):
    insert(agent, "rakdee")
    page.goto(agent_url(agent, "/"))

    page.wait_for_function(
        "() => document.querySelector('[data-field=citizen_id]').textContent !== ''",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_selector('#photo[src^="data:image/jpeg"]', timeout=TIMEOUT_MS)

    assert field(page, "citizen_id") == PEOPLE["rakdee"].citizen_id


def test_example_page_fills_the_form(agent, page, clinic_origin):
    page.goto(f"{clinic_origin}/registration.html?agent_port={agent.port}")
    page.wait_for_selector('#status[data-state="ready"]', timeout=TIMEOUT_MS)

    insert(agent, "jaidee")
    page.wait_for_function(
        "() => document.querySelector('#photo').naturalWidth > 0", timeout=TIMEOUT_MS
    )

    assert page.input_value("#citizen_id") == JAIDEE.citizen_id
    assert page.input_value("#prefix_th") == "นาย"
    assert page.input_value("#first_name_th") == "ทดสอบ"
    assert page.input_value("#last_name_th") == "ใจดี"
    assert page.input_value("#name_en") == "Mr. Test Jaidee"
    assert page.input_value("#birth_date") == "1987-01-15"
    assert page.input_value("#gender") == "male"
    assert page.input_value("#address").endswith("กรุงเทพมหานคร")
    assert page.get_attribute("#status", "data-state") == "card-in"
    keep_screenshot(page, "example-page-simulated.png")

    remove(agent)
    page.wait_for_selector('#status[data-state="ready"]', timeout=TIMEOUT_MS)
    assert page.input_value("#citizen_id") == ""
    assert page.get_attribute("#photo", "src") is None


def test_example_page_reads_again_on_request(agent, page, clinic_origin):
    page.goto(f"{clinic_origin}/registration.html?agent_port={agent.port}")
    page.wait_for_selector('#status[data-state="ready"]', timeout=TIMEOUT_MS)
    insert(agent, "mankhong")
    page.wait_for_function(
        "() => document.querySelector('#citizen_id').value !== ''", timeout=TIMEOUT_MS
    )

    page.click("#clear")
    page.click("#read")
    page.wait_for_function(
        "() => document.querySelector('#citizen_id').value !== ''", timeout=TIMEOUT_MS
    )

    assert page.input_value("#citizen_id") == PEOPLE["mankhong"].citizen_id
    assert page.input_value("#expiry") == "lifetime"


def test_example_page_on_other_site_is_blocked(agent, page, clinic_site):
    # The agent allows http://clinic.example:PORT only. The same page from
    # another name is another origin, which a headless agent rejects.
    url = f"http://{OTHER_HOST}:{clinic_site.port}/registration.html"
    page.goto(f"{url}?agent_port={agent.port}")

    page.wait_for_selector('#status[data-state="blocked"]', timeout=TIMEOUT_MS)

    assert page.input_value("#citizen_id") == ""
