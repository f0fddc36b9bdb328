"""Bad client input over WebSocket and REST, and the errors it gets.

The agent's application runs on a real aiohttp server on 127.0.0.1 (see
``serving`` in test_limits); the clients are real aiohttp WebSocket clients.
"""

import asyncio
import json
import logging

import aiohttp
from test_limits import (
    CLINIC,
    Agent,
    receive_close_code,
    receive_json,
    serving,
    wait_until,
)

from trayagent import events
from trayagent.errors import ERROR_MESSAGES, INVALID_FIELD_MESSAGES
from trayagent.server.clients import CLOSE_RATE_LIMITED, MAX_DROPPED_MESSAGES

# A JSON escape that decodes to a lone surrogate, which UTF-8 cannot encode.
LONE_SURROGATE = "\\udc00"


async def connect_after_hello(agent: Agent) -> aiohttp.ClientWebSocketResponse:
    """Connect as a page of an allowed site and read the ``hello``."""
    socket = await agent.connect(CLINIC)
    await receive_json(socket)
    return socket


async def reply_to(socket: aiohttp.ClientWebSocketResponse, text: str) -> dict:
    await socket.send_str(text)
    return await receive_json(socket)


def test_lone_surrogate_id_and_reader_are_invalid():
    async def scenario():
        async with serving() as agent:
            socket = await connect_after_hello(agent)
            by_id = await reply_to(
                socket, '{"type": "ping", "id": "%s"}' % LONE_SURROGATE
            )
            by_reader = await reply_to(
                socket, '{"type": "read", "reader": "%s", "id": 4}' % LONE_SURROGATE
            )
            pong = await reply_to(socket, '{"type": "ping", "id": "ok"}')
            await socket.close()
            return by_id, by_reader, pong

    by_id, by_reader, pong = asyncio.run(scenario())
    assert by_id["code"] == "INVALID_MESSAGE"
    assert by_id["message"] == INVALID_FIELD_MESSAGES["id"]
    assert "id" not in by_id
    assert by_reader["code"] == "INVALID_MESSAGE"
    assert by_reader["message"] == INVALID_FIELD_MESSAGES["reader"]
    assert by_reader["id"] == 4
    assert pong == {**pong, "type": "pong", "id": "ok"}


def test_surrogate_pair_id_is_echoed():
    async def scenario():
        async with serving() as agent:
            socket = await connect_after_hello(agent)
            pong = await reply_to(socket, '{"type": "ping", "id": "\\ud83d\\ude00"}')
            await socket.close()
            return pong

    pong = asyncio.run(scenario())
    assert pong["type"] == "pong"
    assert pong["id"] == "\U0001f600"


def test_unsendable_message_drops_client(caplog):
    """A message that cannot be sent is logged and its client dropped."""

    async def scenario():
        async with serving() as agent:
            socket = await connect_after_hello(agent)
            await wait_until(lambda: len(agent.hub.clients) == 1)
            # A reader name with a lone surrogate makes the reader.added
            # broadcast impossible to send as UTF-8.
            agent.hub.handle(events.ReaderAdded("Reader \udc00"))
            code = await receive_close_code(socket)
            await wait_until(lambda: not agent.hub.clients)
            return code

    caplog.set_level(logging.DEBUG, "trayagent")
    code = asyncio.run(scenario())
    assert code == aiohttp.WSCloseCode.INTERNAL_ERROR
    assert "sending a message failed with UnicodeEncodeError" in caplog.text
    assert f"({CLINIC})" in caplog.text
    assert "reader.added" not in caplog.text


def test_non_standard_json_constants_are_invalid():
    async def scenario():
        async with serving() as agent:
            socket = await connect_after_hello(agent)
            replies = []
            for text in (
                '{"type": "ping", "id": NaN}',
                '{"type": "ping", "id": Infinity}',
                '{"type": "ping", "id": -Infinity}',
                '{"type": "ping", "id": 1e999}',
            ):
                await socket.send_str(text)
                frame = await socket.receive()
                replies.append(frame.data)
            await socket.close()
            return replies

    replies = asyncio.run(scenario())
    # Each reply must be standard JSON, which json.loads alone does not check.
    bodies = [json.loads(reply, parse_constant=lambda name: 1 / 0) for reply in replies]
    assert [body["code"] for body in bodies] == [
        "INVALID_JSON",
        "INVALID_JSON",
        "INVALID_JSON",
        "INVALID_MESSAGE",
    ]
    assert bodies[3]["message"] == INVALID_FIELD_MESSAGES["id"]


def test_json_string_or_null_is_invalid_message():
    async def scenario():
        async with serving() as agent:
            socket = await connect_after_hello(agent)
            replies = [
                await reply_to(socket, text)
                for text in ('"read"', "null", '"INVALID_JSON"', "7")
            ]
            await socket.send_bytes(b"\x00")
            binary = await receive_json(socket)
            await socket.close()
            return replies, binary

    replies, binary = asyncio.run(scenario())
    for reply in replies:
        assert reply["code"] == "INVALID_MESSAGE"
        assert reply["message"] == INVALID_FIELD_MESSAGES["body"]
    assert binary["code"] == "BINARY_FRAME"


def test_invalid_reader_message_names_field():
    async def scenario():
        async with serving() as agent:
            socket = await connect_after_hello(agent)
            reply = await reply_to(socket, '{"type": "read", "reader": 123}')
            missing_type = await reply_to(socket, '{"id": 1}')
            await socket.close()
            return reply, missing_type

    reply, missing_type = asyncio.run(scenario())
    assert reply["code"] == "INVALID_MESSAGE"
    assert "'reader'" in reply["message"]
    assert missing_type["message"] == ERROR_MESSAGES["INVALID_MESSAGE"]


def test_flooding_client_gets_replies_then_4029(caplog):
    floods = MAX_DROPPED_MESSAGES + 100

    async def scenario():
        async with serving() as agent:
            socket = await connect_after_hello(agent)
            for number in range(floods):
                try:
                    await socket.send_str(json.dumps({"type": "ping", "id": number}))
                except aiohttp.ClientConnectionResetError:
                    break
            replies = []
            while True:
                frame = await asyncio.wait_for(socket.receive(), 10)
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                replies.append(json.loads(frame.data))
            await wait_until(lambda: not agent.hub.clients)
            return replies, socket.close_code

    caplog.set_level(logging.WARNING, "trayagent")
    replies, close_code = asyncio.run(scenario())
    pongs = [reply for reply in replies if reply["type"] == "pong"]
    assert close_code == CLOSE_RATE_LIMITED
    assert len(pongs) >= 40
    assert replies[-1]["code"] == "RATE_LIMITED"
    assert "it keeps flooding" in caplog.text
