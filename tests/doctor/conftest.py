"""Fixtures for the doctor tests: the agent subprocess from the end-to-end tests."""

from e2e.conftest import start_agent  # noqa: F401 - a fixture for the agent tests
