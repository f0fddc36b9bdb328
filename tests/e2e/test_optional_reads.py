"""Laser ID and NHSO reads end to end: on, off, missing applets, long form."""

import pytest

from trayagent.simcard import LASER_APPLET_AID, NHSO_APPLET_AID, PEOPLE, SimulatedCard
from trayagent.simcard.image import LASER_LONG_HEADER

from .support import WsClient, run, wait_for_read_end

READER0 = "Test Reader 00 00"
RAKDEE = PEOPLE["rakdee"]
BOTH_ON = {"read_laser_id": True, "read_nhso": True}

pytestmark = pytest.mark.pcsc


def selects_of(card: SimulatedCard, aid: bytes) -> list[str]:
    prefix = "00A40400" + f"{len(aid):02X}" + aid.hex().upper()
    return [apdu for apdu in card.apdu_log if apdu.startswith(prefix)]


async def read_everything(agent, slot, card, *kinds):
    """Insert ``card`` and return the client and the first message of each kind."""
    async with await WsClient.connect(agent.ws_url) as client:
        await client.receive()
        client.messages.clear()
        slot.insert(card)
        results = {}
        for kind in kinds:
            results[kind] = await client.expect(kind, reader=READER0)
        return client, results


def test_both_reads_arrive_after_personal_data(start_agent, slot0):
    agent = start_agent(settings=BOTH_ON)
    card = SimulatedCard(RAKDEE)
    client, results = run(
        read_everything(
            agent, slot0, card, "card.read", "card.photo", "card.laser", "card.nhso"
        )
    )
    order = [m["type"] for m in client.messages if m["type"].startswith("card.")]
    assert order == [
        "card.inserted",
        "card.read",
        "card.photo",
        "card.laser",
        "card.nhso",
    ]
    assert results["card.laser"]["laser"]["raw"] == RAKDEE.laser_id
    assert results["card.laser"]["laser"]["code"] == "ME0-1234567-89"
    assert results["card.laser"]["laser"]["form"] == "short"
    assert results["card.nhso"]["nhso"]["main_right"] == RAKDEE.nhso.main_right
    assert "error" not in results["card.nhso"]
    assert results["card.read"]["card"]["citizen_id"] == RAKDEE.citizen_id
    assert len(selects_of(card, LASER_APPLET_AID)) == 1
    assert len(selects_of(card, NHSO_APPLET_AID)) == 1


def test_late_client_gets_optional_data_in_hello(start_agent, slot0):
    agent = start_agent(settings=BOTH_ON)
    run(read_everything(agent, slot0, SimulatedCard(RAKDEE), "card.nhso"))

    async def late():
        async with await WsClient.connect(agent.ws_url) as client:
            return await client.receive()

    hello = run(late())
    entry = next(reader for reader in hello["readers"] if reader["name"] == READER0)
    assert entry["laser"]["laser"]["raw"] == RAKDEE.laser_id
    assert entry["nhso"]["nhso"]["main_right"] == RAKDEE.nhso.main_right


def test_card_without_optional_applets(start_agent, slot0):
    agent = start_agent(settings=BOTH_ON)
    card = SimulatedCard(RAKDEE, "no-optional-applets")
    client, results = run(
        read_everything(
            agent, slot0, card, "card.read", "card.photo", "card.laser", "card.nhso"
        )
    )
    assert results["card.read"]["card"]["citizen_id"] == RAKDEE.citizen_id
    assert results["card.laser"]["laser"] is None
    assert results["card.laser"]["error"]["code"] == "APPLET_NOT_FOUND"
    assert results["card.nhso"]["nhso"] is None
    assert results["card.nhso"]["error"]["code"] == "APPLET_NOT_FOUND"
    assert "card.error" not in client.types()


def test_laser_long_form(start_agent, slot0):
    agent = start_agent(settings={"read_laser_id": True})
    card = SimulatedCard(RAKDEE, "laser-long")
    client, results = run(read_everything(agent, slot0, card, "card.laser"))
    assert results["card.laser"]["laser"]["form"] == "long"
    assert results["card.laser"]["laser"]["raw"] == RAKDEE.laser_id
    assert (
        results["card.laser"]["laser"]["header"] == LASER_LONG_HEADER.hex(" ").upper()
    )
    # The card offers the 0x17 bytes with 61 17, and GET RESPONSE fetches them.
    assert "00C0000017" in card.apdu_log
    assert "card.nhso" not in client.types()


def test_reads_off_send_nothing_to_those_applets(start_agent, slot0):
    agent = start_agent()
    card = SimulatedCard(RAKDEE)

    async def read_to_the_end():
        async with await WsClient.connect(agent.ws_url) as client:
            await client.receive()
            slot0.insert(card)
            await client.expect("card.photo", reader=READER0)
            # The optional reads would start after card.photo.
            await wait_for_read_end(client, agent.base_url, READER0)
            return client.types()

    types = run(read_to_the_end())
    assert selects_of(card, LASER_APPLET_AID) == []
    assert selects_of(card, NHSO_APPLET_AID) == []
    assert "card.laser" not in types
    assert "card.nhso" not in types
