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
