"""Limits and access checks that both compatibility endpoints share.

The endpoints run in process beside the agent's own app, with one hub, on
real aiohttp servers; the clients are real aiohttp WebSocket clients.
"""

import json
import logging

import aiohttp
import pytest

from trayagent.server.compat import go_thai_smartcard, pythaiidcard
from trayagent.server.websocket import MAX_CONNECTIONS

from .support import OldClient, run, running_agent

COMPAT = {"go": go_thai_smartcard.create_app, "py": pythaiidcard.create_app}

# Per old format: a request it replies to, the key and value that mark
# the reply, and the value of the same key that marks an error.
REQUESTS = {
    "go": ({"action": "get-status"}, "event", "smc-status", "smc-error"),
    "py": ({"type": "ping"}, "type", "pong", "error"),
}


async def receive_all(client: OldClient) -> list[dict]:
    """Return the messages that arrive until none comes for half a second."""
    messages = []
    while True:
        try:
            messages.append(await client.receive(0.5))
        except TimeoutError:
            return messages


@pytest.mark.parametrize("name", ["go", "py"])
def test_rate_limit_error_in_old_format(name):
    request, key, answer, error = REQUESTS[name]

    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url(name, "/ws", "ws")) as client:
                for _ in range(60):
                    await client.send(request)
                return await receive_all(client)

    messages = run(scenario())
    answers = [message for message in messages if message.get(key) == answer]
    errors = [message for message in messages if message.get(key) == error]

    # A burst of 40 passes. The bucket refills at 20 a second while the 60
    # messages arrive, so a slow machine lets a few more through.
    assert 40 <= len(answers) < 60
    assert len(errors) == 1
    assert "Too many messages" in json.dumps(errors[0])
    assert all(message.get("code") != "RATE_LIMITED" for message in messages)


def test_pythaiidcard_rate_limit_error_fields():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("py", "/ws", "ws")) as client:
                await client.expect("type", "connected")
                for _ in range(60):
                    await client.send({"type": "ping"})
                return await client.expect("type", "error")

    error = run(scenario())
    assert error["error_code"] == "RATE_LIMITED"
    assert "Too many messages" in error["message"]


@pytest.mark.parametrize("name", ["go", "py"])
def test_oversized_and_nested_messages(name, caplog):
    request, key, answer, _ = REQUESTS[name]

    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url(name, "/ws", "ws")) as client:
                await client.socket.send_str("x" * 70_000)
                await client.socket.send_str("[" * 60_000)
                await client.send(request)
                return await client.expect(key, answer)

    caplog.set_level(logging.WARNING, "trayagent")
    reply = run(scenario())
    assert reply[key] == answer
    assert "sent a 70000-byte message; the limit is 65536 bytes" in caplog.text


@pytest.mark.parametrize("name", ["go", "py"])
def test_lone_surrogates_and_nan_keep_connection(name):
    """Frames that cannot be echoed or are not standard JSON are ignored."""
    request, key, answer, _ = REQUESTS[name]
    command = "action" if name == "go" else "type"

    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url(name, "/ws", "ws")) as client:
                await client.socket.send_str('{"%s": "\\udc00"}' % command)
                await client.socket.send_str('{"%s": NaN}' % command)
                await client.send(request)
                return await client.expect(key, answer)

    reply = run(scenario())
    assert reply[key] == answer


@pytest.mark.parametrize(
    "path, scheme",
    [("/ws", "ws"), ("/api/card/current", "http"), ("/api/status", "http")],
)
def test_pythaiidcard_rejects_foreign_host(path, scheme):
    async def scenario():
        async with running_agent(COMPAT) as agent:
            url = agent.url("py", path, scheme)
            async with aiohttp.ClientSession() as session:
                async with session.get(
                    url.replace("ws://", "http://"), headers={"Host": "evil.example"}
                ) as response:
                    return response.status, await response.text()

    status, text = run(scenario())
    assert status == 403
    assert "FORBIDDEN_HOST" in text


def test_compat_shares_admitted_connection_limit():
    async def scenario():
        async with running_agent(COMPAT, interactive=True) as agent:
            async with aiohttp.ClientSession() as session:
                native = [
                    await session.ws_connect(agent.url("agent", "/ws", "ws"))
                    for _ in range(MAX_CONNECTIONS - 1)
                ]
                held = await session.ws_connect(
                    agent.url("agent", "/ws", "ws"),
                    headers={"Origin": "https://unknown.example"},
                )
                compat = await session.ws_connect(agent.url("py", "/ws", "ws"))
                try:
                    await session.ws_connect(agent.url("go", "/ws", "ws"))
                    over = 101
                except aiohttp.WSServerHandshakeError as error:
                    over = error.status
                for socket in [*native, held, compat]:
                    await socket.close()
                return over

    assert run(scenario()) == 503
