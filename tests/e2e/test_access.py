"""Origin and Host policy end to end: real WebSocket and HTTP clients
that set Origin and Host as browsers and attackers would."""

import asyncio
import json

import aiohttp
import pytest

from trayagent.server.clients import CLOSE_RATE_LIMITED
from trayagent.simcard import PEOPLE, SimulatedCard

from .support import WsClient, handshake_status, run
from .test_tray_agent import menu_driver  # noqa: F401 - a fixture

READER0 = "Test Reader 00 00"
CLINIC = "https://clinic.example"
JAIDEE = PEOPLE["jaidee"]

pytestmark = pytest.mark.pcsc


def test_allowed_origin_gets_card(start_agent, slot0):
    agent = start_agent(settings={"allowed_origins": [CLINIC]})

    async def scenario():
        async with await WsClient.connect(agent.ws_url, Origin=CLINIC) as client:
            hello = await client.receive()
            slot0.insert(SimulatedCard(JAIDEE))
            read = await client.expect("card.read", reader=READER0)
            return hello, read

    hello, read = run(scenario())
    assert hello["type"] == "hello"
    assert read["card"]["citizen_id"] == JAIDEE.citizen_id


def test_loopback_page_is_allowed_by_default(start_agent):
    agent = start_agent()
    for origin in (
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:5173",
    ):
        assert run(handshake_status(agent.ws_url, Origin=origin)) == 101


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "https://clinic.example.evil",
        "https://evil-clinic.example",
        "https://clinic.example:8443",
        "http://clinic.example",
        "https://evil.example",
        "file://",
        "https://localhost:3000",
        "not an origin",
    ],
)
def test_other_origins_are_rejected_headless(start_agent, origin):
    agent = start_agent(settings={"allowed_origins": [CLINIC]})
    assert run(handshake_status(agent.ws_url, Origin=origin)) == 403


def test_headless_rejection_logs_how_to_allow(start_agent):
    agent = start_agent()
    assert run(handshake_status(agent.ws_url, Origin="https://new.example")) == 403
    log = agent.log_text()
    assert "run 'trayagent origins allow https://new.example', which takes" in log
    assert "takes effect at once" in log
    assert "and restart trayagent" in log


def test_rest_from_other_origin_is_rejected(start_agent):
    agent = start_agent(settings={"allowed_origins": [CLINIC]})

    async def scenario():
        async with aiohttp.ClientSession() as session:
            results = {}
            for origin in (CLINIC, "https://evil.example"):
                async with session.get(
                    f"{agent.base_url}/api/status", headers={"Origin": origin}
                ) as response:
                    results[origin] = (
                        response.status,
                        response.headers.get("Access-Control-Allow-Origin"),
                    )
            async with session.options(
                f"{agent.base_url}/api/read",
                headers={
                    "Origin": CLINIC,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Private-Network": "true",
                },
            ) as response:
                preflight = (response.status, dict(response.headers))
            return results, preflight

    results, preflight = run(scenario())
    assert results[CLINIC] == (200, CLINIC)
    assert results["https://evil.example"] == (403, None)
    assert preflight[0] == 204
    assert preflight[1]["Access-Control-Allow-Origin"] == CLINIC
    assert preflight[1]["Access-Control-Allow-Private-Network"] == "true"


def test_cross_site_request_without_origin_is_rejected(start_agent):
    agent = start_agent()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            statuses = {}
            for site in ("cross-site", "same-site", "none", "same-origin"):
                async with session.get(
                    f"{agent.base_url}/api/card", headers={"Sec-Fetch-Site": site}
                ) as response:
                    statuses[site] = response.status
            return statuses

    statuses = run(scenario())
    assert statuses["cross-site"] == 403
    assert statuses["same-site"] == 403
    assert statuses["none"] == 404  # allowed: no card is in
    assert statuses["same-origin"] == 404


def test_rebinding_host_is_rejected_on_ws(start_agent):
    agent = start_agent()
    status = run(handshake_status(agent.ws_url, Host=f"clinic.example:{agent.port}"))
    assert status == 403


def test_unknown_origin_waits_then_gets_card_after_approval(menu_driver, slot0):  # noqa: F811
    driver = menu_driver()

    async def scenario():
        async with await WsClient.connect(driver.ws_url, Origin=CLINIC) as held:
            waiting = await held.receive()
            slot0.insert(SimulatedCard(JAIDEE))
            async with await WsClient.connect(driver.ws_url) as local:
                await local.expect("card.read", reader=READER0)
            await held.send({"type": "read", "id": 1})
            refused = await held.expect("error")
            types_before = held.types()
            driver.click("Allow always")  # in the submenu of the waiting site
            allowed = await held.expect("access")
            hello = await held.expect("hello")
            return waiting, refused, types_before, allowed, hello

    waiting, refused, types_before, allowed, hello = run(scenario())
    driver.click("Quit")
    driver.finish()
    assert waiting["type"] == "access"
    assert waiting["state"] == "pending"
    assert refused["code"] == "ORIGIN_PENDING"
    assert "card.read" not in types_before
    assert "card.inserted" not in types_before
    assert allowed["state"] == "allowed"
    entry = next(reader for reader in hello["readers"] if reader["name"] == READER0)
    assert entry["card"]["citizen_id"] == JAIDEE.citizen_id


def test_blocked_origin_is_closed_and_remembered(menu_driver, tmp_path):  # noqa: F811
    driver = menu_driver()
    evil = "https://evil.example"

    async def scenario():
        async with aiohttp.ClientSession() as session:
            socket = await session.ws_connect(driver.ws_url, headers={"Origin": evil})
            waiting = json.loads((await socket.receive()).data)
            driver.click("Block")
            closing = await socket.receive()
            again = await handshake_status(driver.ws_url, Origin=evil)
            return waiting, closing, socket.close_code, again

    waiting, closing, close_code, again = run(scenario())
    driver.click("Quit")
    driver.finish()
    saved = json.loads((tmp_path / "config" / "settings.json").read_text())
    assert waiting["state"] == "pending"
    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert close_code == 1008
    assert again == 403
    assert saved["blocked_origins"] == [evil]


def test_program_can_allow_origin_without_restart(start_agent):
    agent = start_agent()

    async def scenario():
        before = await handshake_status(agent.ws_url, Origin=CLINIC)
        async with aiohttp.ClientSession() as session:
            body = {"origin": CLINIC, "action": "allow"}
            async with session.post(
                f"{agent.base_url}/api/origins", json=body
            ) as response:
                lists = await response.json()
            async with session.post(
                f"{agent.base_url}/api/origins",
                json={"origin": "https://evil.example", "action": "allow"},
                headers={"Origin": "https://evil.example"},
            ) as response:
                from_page = response.status
        after = await handshake_status(agent.ws_url, Origin=CLINIC)
        return before, lists, from_page, after

    before, lists, from_page, after = run(scenario())
    assert before == 403
    assert lists["allowed"] == [CLINIC]
    assert from_page == 403
    assert after == 101


def test_connection_limit(start_agent):
    agent = start_agent()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            sockets = []
            for _ in range(32):
                sockets.append(await session.ws_connect(agent.ws_url))
            extra = await handshake_status(agent.ws_url)
            await sockets.pop().close()
            await asyncio.sleep(0.2)
            after_one_left = await handshake_status(agent.ws_url)
            for socket in sockets:
                await socket.close()
            return extra, after_one_left

    extra, after_one_left = run(scenario())
    assert extra == 503
    assert after_one_left == 101
    assert "connections already open" in agent.log_text()


def test_flooding_client_is_limited_then_closed(start_agent):
    agent = start_agent()

    async def receive_until_quiet(socket, quiet=0.5):
        replies = []
        while True:
            try:
                frame = await asyncio.wait_for(socket.receive(), quiet)
            except TimeoutError:
                return replies
            if frame.type != aiohttp.WSMsgType.TEXT:
                return replies
            replies.append(json.loads(frame.data))

    async def scenario():
        async with aiohttp.ClientSession() as session:
            socket = await session.ws_connect(agent.ws_url)
            await socket.receive()  # hello
            for number in range(50):
                await socket.send_str(json.dumps({"type": "ping", "id": number}))
            burst = await receive_until_quiet(socket)
            for number in range(300):
                try:
                    await socket.send_str(json.dumps({"type": "ping", "id": number}))
                except aiohttp.ClientConnectionResetError:
                    # The agent may cut the connection before all 300 are out.
                    break
            last = None
            while (frame := await asyncio.wait_for(socket.receive(), 10)).type in (
                aiohttp.WSMsgType.TEXT,
            ):
                last = json.loads(frame.data)
            other = await handshake_status(agent.ws_url)
            return burst, last, socket.close_code, other

    burst, last, close_code, other = run(scenario())
    pongs = [reply for reply in burst if reply["type"] == "pong"]
    limited = [reply for reply in burst if reply.get("code") == "RATE_LIMITED"]
    # A burst of 40 passes; the bucket refills at 20 a second while the 50
    # messages arrive, so a slow machine lets a few more through.
    assert 40 <= len(pongs) < 50
    assert len(limited) == 1
    # The agent sends what it queued, a last RATE_LIMITED, and closes with
    # 4029. On a loaded machine the flooding client is still writing when
    # the close frame is due, and the agent cuts the connection after
    # CLOSE_TIMEOUT, which the client sees as 1006.
    assert close_code in (CLOSE_RATE_LIMITED, 1006)
    if close_code == CLOSE_RATE_LIMITED:
        assert last["code"] == "RATE_LIMITED"
    assert other == 101
    assert "sends more than 20 messages a second" in agent.log_text()
    assert "it keeps flooding" in agent.log_text()
