"""The simulator's REST routes, on the agent's app served in this process."""

import aiohttp
import pytest
from compat.support import run, running_agent

from trayagent.simulator import TEST_CARDS


async def call(agent, method: str, path: str, **options) -> tuple[int, object]:
    async with aiohttp.ClientSession() as session:
        url = agent.url("agent", path)
        async with session.request(method, url, **options) as response:
            body = await response.json() if response.content_length else None
            return response.status, body


def run_with_agent(scenario):
    async def main():
        async with running_agent({}) as agent:
            return await scenario(agent)

    return run(main())


def test_state_lists_cards_and_inserted_card():
    async def scenario(agent):
        before = await call(agent, "GET", "/api/simulator")
        inserted = await call(
            agent, "POST", "/api/simulator/insert", json={"card": "sukjai"}
        )
        after = await call(agent, "GET", "/api/simulator")
        removed = await call(agent, "POST", "/api/simulator/remove")
        empty = await call(agent, "GET", "/api/simulator")
        return before, inserted, after, removed, empty

    before, inserted, after, removed, empty = run_with_agent(scenario)

    assert before[0] == 200
    assert [card["key"] for card in before[1]["cards"]] == list(TEST_CARDS)
    assert before[1]["inserted"] is None
    assert inserted == (204, None)
    assert after[1]["inserted"] == "sukjai"
    assert removed == (204, None)
    assert empty[1]["inserted"] is None


def test_insert_without_body_inserts_default_card():
    async def scenario(agent):
        await call(agent, "POST", "/api/simulator/insert")
        return await call(agent, "GET", "/api/simulator")

    assert run_with_agent(scenario)[1]["inserted"] == "jaidee"


def test_insert_replaces_card_in():
    async def scenario(agent):
        await call(agent, "POST", "/api/simulator/insert", json={"card": "jaidee"})
        await call(agent, "POST", "/api/simulator/insert", json={"card": "mute"})
        return await call(agent, "GET", "/api/simulator")

    assert run_with_agent(scenario)[1]["inserted"] == "mute"


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"json": {"card": "nobody"}}, "UNKNOWN_TEST_CARD"),
        ({"data": b"{not json"}, "INVALID_JSON"),
        ({"json": {"card": 7}}, "INVALID_MESSAGE"),
        ({"json": ["jaidee"]}, "INVALID_MESSAGE"),
    ],
)
def test_bad_insert_is_400(options, code):
    async def scenario(agent):
        return await call(agent, "POST", "/api/simulator/insert", **options)

    status, body = run_with_agent(scenario)

    assert status == 400
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_routes_pass_the_access_checks():
    async def scenario(agent):
        host = await call(
            agent, "POST", "/api/simulator/insert", headers={"Host": "evil.example"}
        )
        origin = await call(
            agent,
            "POST",
            "/api/simulator/insert",
            headers={"Origin": "https://evil.example"},
        )
        state = await call(agent, "GET", "/api/simulator")
        return host, origin, state

    host, origin, state = run_with_agent(scenario)

    assert host[0] == 403
    assert origin[0] == 403
    assert state[1]["inserted"] is None


def test_routes_exist_only_when_added():
    async def main():
        async with running_agent({"plain": plain_app}) as agent:
            async with aiohttp.ClientSession() as session:
                url = agent.url("plain", "/api/simulator")
                async with session.get(url) as response:
                    return response.status

    assert run(main()) == 404


def plain_app(hub, source, config, policy):
    from trayagent.server.app import create_app

    return create_app(hub, source, config, policy)
