"""``trayagent --simulate``: the same protocol from a built-in simulated reader."""

import aiohttp
from e2e.support import AgentProcess, WsClient, run

from trayagent.simcard import PEOPLE

READER = "trayagent Simulated Reader"


def test_simulated_card_over_the_protocol(tmp_path):
    agent = AgentProcess(tmp_path, "--simulate").start()
    try:

        async def scenario():
            async with await WsClient.connect(agent.ws_url) as client:
                hello = await client.receive()
                async with aiohttp.ClientSession() as session:
                    url = f"{agent.base_url}/api/simulator/insert"
                    async with session.post(url, json={"card": "sukjai"}) as response:
                        inserted = response.status
                    async with session.post(url, json={"card": "nobody"}) as response:
                        unknown = (response.status, await response.json())
                read = await client.expect("card.read", reader=READER)
                photo = await client.expect("card.photo", reader=READER)
                async with aiohttp.ClientSession() as session:
                    url = f"{agent.base_url}/api/simulator/remove"
                    async with session.post(url) as response:
                        removed = response.status
                await client.expect("card.removed", reader=READER)
                return hello, inserted, unknown, read, photo, removed

        hello, inserted, unknown, read, photo, removed = run(scenario())
    finally:
        status = agent.stop()
    assert status == 0
    assert hello["simulated"] is True
    assert [reader["name"] for reader in hello["readers"]] == [READER]
    assert inserted == 204
    assert unknown[0] == 400
    assert unknown[1]["error"]["code"] == "UNKNOWN_TEST_CARD"
    assert read["card"]["citizen_id"] == PEOPLE["sukjai"].citizen_id
    assert read["card"]["birth_date"]["date"] == "1977"
    assert photo["photo"]["complete"] is True
    assert removed == 204
    assert PEOPLE["sukjai"].citizen_id not in agent.log_text()


def test_simulator_routes_absent_without_simulate(tmp_path, monkeypatch):
    agent = AgentProcess(tmp_path).start()
    try:

        async def scenario():
            async with aiohttp.ClientSession() as session:
                url = f"{agent.base_url}/api/simulator/insert"
                async with session.post(url, json={"card": "sukjai"}) as response:
                    return response.status

        status_code = run(scenario())
    finally:
        agent.stop()
    assert status_code == 404


def test_status_reports_simulated(tmp_path):
    agent = AgentProcess(tmp_path, "--simulate").start()
    try:

        async def status():
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{agent.base_url}/api/status") as response:
                    return await response.json()

        body = run(status())
    finally:
        assert agent.stop() == 0
    assert body["simulated"] is True
    assert [reader["name"] for reader in body["readers"]] == [READER]


def test_photo_off_on_websocket_and_rest(tmp_path):
    agent = AgentProcess(tmp_path, "--simulate").start()
    try:

        async def scenario():
            async with (
                await WsClient.connect(agent.ws_url) as with_photo,
                await WsClient.connect(f"{agent.ws_url}?photo=0") as without_photo,
            ):
                await with_photo.receive()  # hello
                await without_photo.receive()  # hello
                async with aiohttp.ClientSession() as session:
                    url = f"{agent.base_url}/api/simulator/insert"
                    async with session.post(url, json={"card": "jaidee"}) as response:
                        assert response.status == 204
                    await with_photo.expect("card.photo", reader=READER)
                    # The photo went to every client that wants it before
                    # this ping is answered, so its absence here is final.
                    await without_photo.send({"type": "ping", "id": 1})
                    await without_photo.expect("pong", id=1)
                    async with session.get(f"{agent.base_url}/api/card") as response:
                        card = await response.json()
                    url = f"{agent.base_url}/api/card?photo=0"
                    async with session.get(url) as response:
                        card_without_photo = await response.json()
                async with await WsClient.connect(
                    f"{agent.ws_url}?photo=0"
                ) as late_client:
                    late_hello = await late_client.receive()
                return without_photo.types(), card, card_without_photo, late_hello

        types, card, card_without_photo, late_hello = run(scenario())
    finally:
        assert agent.stop() == 0
    assert "card.read" in types
    assert "card.photo" not in types
    assert card["photo"]["data_url"].startswith("data:image/jpeg;base64,")
    assert card_without_photo["card"]["citizen_id"] == PEOPLE["jaidee"].citizen_id
    assert "photo" not in card_without_photo
    assert late_hello["readers"][0]["card"] is not None
    assert late_hello["readers"][0]["photo"] is None
