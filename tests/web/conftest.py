"""Fixtures for the browser tests: headless Chromium, the agent, a clinic site.

Chromium is the system one (``apt-get install chromium``) driven by
Playwright (``pip install playwright``); Playwright's own browser download
is not used. Without either, the tests skip on a developer machine and fail
under ``CI=true``.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import CLIENT_JS, EXAMPLES, StaticSite, start_agent

CHROMIUM_NAMES = ("chromium", "chromium-browser")
CLINIC_HOST = "clinic.example"
OTHER_HOST = "other.example"

# Without the background-networking flags Chromium keeps trying to reach
# outside hosts. The resolver rules send clinic.example and other.example
# to this PC, so pages there are other origins without leaving loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    f"--host-resolver-rules=MAP {CLINIC_HOST} 127.0.0.1, MAP {OTHER_HOST} 127.0.0.1",
]


def report_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Browser tests cannot run under CI: {reason}")
    pytest.skip(reason)


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium, shared by the tests of one module.

    Playwright's sync API keeps an event loop running on this thread while
    it is started, which would stop ``asyncio.run`` in the next modules.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        report_unavailable("Playwright is not installed (pip install playwright)")
    chromium = find_chromium()
    if chromium is None:
        report_unavailable("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def clinic_site() -> Iterator[StaticSite]:
    """The example page and client.js, served as http://clinic.example:PORT/."""
    site = StaticSite(
        {
            "/registration.html": EXAMPLES / "registration.html",
            "/client.js": CLIENT_JS,
        }
    ).start()
    yield site
    site.stop()


@pytest.fixture
def clinic_origin(clinic_site) -> str:
    return f"http://{CLINIC_HOST}:{clinic_site.port}"


@pytest.fixture
def agent(tmp_path: Path, clinic_origin: str) -> Iterator[Any]:
    """A simulated agent that allows the clinic site."""
    running = start_agent(tmp_path / "agent", [clinic_origin])
    yield running
    running.stop()
