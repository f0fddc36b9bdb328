"""The translating client: one card message assembled from the agent's parts."""

import asyncio

import pytest

from trayagent.server.compat.base import CompatState
from trayagent.server.compat.go_thai_smartcard import GoThaiSmartcardClient

from .support import run

READER = "Reader A"
CARD = {
    "type": "card.read",
    "reader": READER,
    "card": None,  # not translated here
}


def message(kind: str, **fields) -> dict:
    return {"type": kind, "reader": READER, **fields}


PHOTO = message("card.photo", photo={"data_url": "data:image/jpeg;base64,AA=="})
LASER = message("card.laser", laser={"code": "JT1-2345678-90", "raw": "JT1234567890"})
NHSO = message("card.nhso", nhso={"main_right": "UCS"})


class FakeSocket:
    """Stands in for the WebSocket, which only close() reaches here."""

    closed = False

    async def close(self, **_options) -> None:
        self.closed = True


class CapturingClient(GoThaiSmartcardClient):
    """Records what it would send, each message as the body it translates."""

    translate = staticmethod(lambda body: [body])

    def __init__(self, state: CompatState) -> None:
        super().__init__(FakeSocket(), "test", state)
        self.out: list[dict] = []

    def send_old(self, bodies: list[dict]) -> None:
        self.out.extend(bodies)


def deliver_all(state: CompatState, bodies: list[dict], wait: float = 0.0) -> list:
    async def scenario():
        client = CapturingClient(state)
        for body in bodies:
            client.deliver(body, "")
        await asyncio.sleep(wait)
        return client.out

    return run(scenario())


def test_card_waits_for_its_photo():
    out = deliver_all(CompatState(), [CARD, PHOTO])

    assert out == [{**CARD, "photo": PHOTO["photo"]}]


def test_card_alone_is_held():
    assert deliver_all(CompatState(), [CARD]) == []


def test_card_without_parts_goes_at_once():
    state = CompatState(include_photo=False)

    assert deliver_all(state, [CARD]) == [CARD]


def test_settings_message_switches_parts():
    settings = message("settings", settings={"include_photo": False})
    state = CompatState()

    out = deliver_all(state, [settings, CARD])

    assert out == [settings, CARD]
    assert state.include_photo is False


def test_card_waits_for_every_switched_part():
    state = CompatState(read_laser_id=True, read_nhso=True)

    partial = deliver_all(state, [CARD, PHOTO, LASER])
    whole = deliver_all(state, [CARD, PHOTO, LASER, NHSO])

    assert partial == []
    assert whole == [
        {**CARD, "photo": PHOTO["photo"], "laser": LASER["laser"], "nhso": NHSO["nhso"]}
    ]


def test_invalid_photo_sends_card_without_it():
    error = message("card.error", code="PHOTO_INVALID", message="m")

    assert deliver_all(CompatState(), [CARD, error]) == [CARD]


def test_failed_read_sends_card_then_error():
    error = message("card.error", code="CARD_REMOVED", message="m")

    assert deliver_all(CompatState(), [CARD, error]) == [CARD, error]


def test_removal_drops_the_held_card():
    removed = message("card.removed")

    assert deliver_all(CompatState(), [CARD, removed]) == [removed]


def test_new_card_read_replaces_held_one():
    second = {**CARD, "card": {"citizen_id": "2"}}

    out = deliver_all(CompatState(), [CARD, second, PHOTO])

    assert out == [{**second, "photo": PHOTO["photo"]}]


def test_parts_of_other_readers_pass_through():
    other = {**PHOTO, "reader": "Reader B"}

    assert deliver_all(CompatState(), [CARD, other]) == [other]


@pytest.mark.parametrize("kind", ["reader.added", "service", "pong"])
def test_other_messages_do_not_release(kind):
    body = message(kind)

    assert deliver_all(CompatState(), [CARD, body]) == [body]


def test_missing_part_times_out():
    state = CompatState(part_wait=0.05)

    out = deliver_all(state, [CARD], wait=0.2)

    assert out == [CARD]


def test_close_cancels_the_wait():
    async def scenario():
        client = CapturingClient(CompatState(part_wait=0.05))
        client.deliver(CARD, "")
        await client.close()
        await asyncio.sleep(0.1)
        return client.out, client.socket.closed

    out, closed = run(scenario())

    assert out == []
    assert closed
