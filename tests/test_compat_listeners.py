"""The compatibility endpoints, switched on in the settings of a real agent."""

import json
import socket
import time

import aiohttp
from e2e.support import START_TIMEOUT, AgentProcess, free_port, run

from trayagent.simcard import PEOPLE


def start_agent(tmp_path, settings):
    """Start a simulated agent and wait for the listeners its settings add.

    ``AgentProcess.start`` returns once the agent's own port listens; the
    compatibility listeners start after it.
    """
    agent = AgentProcess(tmp_path, "--simulate")
    agent.config_dir.mkdir(parents=True)
    (agent.config_dir / "settings.json").write_text(json.dumps(settings))
    agent.start()
    ports = [value for key, value in settings.items() if key.endswith("_port")]
    deadline = time.monotonic() + START_TIMEOUT
    for port in ports:
        while not port_listens(port):
            assert time.monotonic() < deadline, f"port {port} does not listen"
            time.sleep(0.05)
    return agent


def port_listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def insert_test_card(agent, card="jaidee"):
    async with aiohttp.ClientSession() as session:
        url = f"{agent.base_url}/api/simulator/insert"
        async with session.post(url, json={"card": card}) as response:
            assert response.status == 204


async def events_until(socket, key, value, limit=20):
    seen = []
    for _ in range(limit):
        message = json.loads((await socket.receive(timeout=10)).data)
        seen.append(message)
        if message.get(key) == value:
            return seen
    raise AssertionError(f"no {key}={value} in {seen}")


def test_go_thai_smartcard_endpoint(tmp_path):
    port = free_port()
    agent = start_agent(
        tmp_path,
        {"compat_go_thai_smartcard": True, "compat_go_thai_smartcard_port": port},
    )
    try:

        async def scenario():
            async with aiohttp.ClientSession() as session:
                socket = await session.ws_connect(f"ws://127.0.0.1:{port}/ws")
                await insert_test_card(agent)
                seen = await events_until(socket, "event", "smc-data")
                rejected = None
                try:
                    await session.ws_connect(
                        f"ws://127.0.0.1:{port}/ws",
                        headers={"Origin": "https://evil.example"},
                    )
                except aiohttp.WSServerHandshakeError as error:
                    rejected = error.status
                await socket.close()
                return seen, rejected

        seen, rejected = run(scenario())
    finally:
        assert agent.stop() == 0
    assert [m["event"] for m in seen][-1] == "smc-data"
    assert "smc-inserted" in [m["event"] for m in seen]
    assert PEOPLE["jaidee"].citizen_id in json.dumps(seen[-1], ensure_ascii=False)
    assert rejected == 403
    assert (
        f"Listening for go-thai-smartcard on ws://127.0.0.1:{port}/ws"
        in agent.log_text()
    )


def test_pythaiidcard_endpoint(tmp_path):
    port = free_port()
    agent = start_agent(
        tmp_path, {"compat_pythaiidcard": True, "compat_pythaiidcard_port": port}
    )
    try:

        async def scenario():
            async with aiohttp.ClientSession() as session:
                socket = await session.ws_connect(f"ws://127.0.0.1:{port}/ws")
                await insert_test_card(agent)
                seen = await events_until(socket, "type", "card_read")
                await socket.close()
                return seen

        seen = run(scenario())
    finally:
        assert agent.stop() == 0
    assert seen[-1]["type"] == "card_read"
    assert PEOPLE["jaidee"].citizen_id in json.dumps(seen[-1], ensure_ascii=False)


def test_compat_port_taken_keeps_agent_running(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        agent = start_agent(
            tmp_path,
            {"compat_go_thai_smartcard": True, "compat_go_thai_smartcard_port": port},
        )
        try:
            log = agent.log_text()
        finally:
            assert agent.stop() == 0
    assert f"cannot listen on port {port}" in log
