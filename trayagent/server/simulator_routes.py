"""REST routes that insert and remove the simulated reader's test cards.

Added to the agent's application in simulate mode only, so that scripts,
tests and the test page can drive the simulated reader. Handlers run on the
``ws-server`` thread. The application's access middleware checks the Host
and Origin of these requests like every other route.
"""

import asyncio
import json
import logging
from typing import Any, Protocol

from aiohttp import web

from ..errors import error_message

logger = logging.getLogger(__name__)

UNKNOWN_TEST_CARD_MESSAGE = (
    "There is no test card with that name; GET /api/simulator lists them."
)
INVALID_MESSAGE_MESSAGE = (
    'The request body must be a JSON object such as {"card": "jaidee"}.'
)


class CardSimulator(Protocol):
    """The part of :class:`trayagent.simulator.SimulatedReader` the routes use."""

    @property
    def inserted(self) -> str | None:
        """The key of the card in the reader, or ``None``."""
        ...

    def available_cards(self) -> list[dict[str, str]]:
        """Return ``{"key", "description"}`` for each card."""
        ...

    def insert(self, card: str) -> None:
        """Insert a card; raises ``ValueError`` for an unknown key."""
        ...

    def remove(self) -> None:
        """Remove the card, if any."""
        ...


SIMULATOR = web.AppKey("simulator", CardSimulator)


def add_simulator_routes(app: web.Application, simulator: CardSimulator) -> None:
    """Add ``/api/simulator``, ``/api/simulator/insert`` and ``/api/simulator/remove``.

    ``GET /api/simulator`` returns ``{"cards": [{"key", "description"}],
    "inserted": key or null}``. ``POST /api/simulator/insert`` with
    ``{"card": KEY}`` (``jaidee`` when the body is empty) removes the card
    already in, inserts that one and returns 204. ``POST
    /api/simulator/remove`` returns 204.
    """
    app[SIMULATOR] = simulator
    app.router.add_get("/api/simulator", _state)
    app.router.add_post("/api/simulator/insert", _insert)
    app.router.add_post("/api/simulator/remove", _remove)


async def _state(request: web.Request) -> web.StreamResponse:
    simulator = request.app[SIMULATOR]
    body = {"cards": simulator.available_cards(), "inserted": simulator.inserted}
    return _json_response(body)


async def _insert(request: web.Request) -> web.StreamResponse:
    simulator = request.app[SIMULATOR]
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        return _error_response("INVALID_JSON", error_message("INVALID_JSON"), 400)
    card = body.get("card", "jaidee") if isinstance(body, dict) else None
    if not isinstance(card, str):
        return _error_response("INVALID_MESSAGE", INVALID_MESSAGE_MESSAGE, 400)
    try:
        # Building the card draws its photo with Pillow on first use, which
        # takes tens of milliseconds: keep it off the event loop.
        await asyncio.to_thread(simulator.insert, card)
    except ValueError:
        logger.info("Rejected the insertion of an unknown test card %r", card[:40])
        return _error_response("UNKNOWN_TEST_CARD", UNKNOWN_TEST_CARD_MESSAGE, 400)
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


async def _remove(request: web.Request) -> web.StreamResponse:
    request.app[SIMULATOR].remove()
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(
        body,
        status=status,
        dumps=lambda value: json.dumps(value, ensure_ascii=False),
        headers={"Cache-Control": "no-store"},
    )


def _error_response(code: str, message: str, status: int) -> web.Response:
    return _json_response({"error": {"code": code, "message": message}}, status)
