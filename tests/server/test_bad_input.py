"""Bad client input over WebSocket and REST, and the errors it gets.

The agent's application runs on a real aiohttp server on 127.0.0.1 (see
``serving`` in test_limits); the clients are real aiohttp WebSocket and HTTP
clients. Card states are reached by handing the hub the monitor events a
real read produces.
"""

import asyncio
import json
import logging
from typing import Any

import aiohttp
from test_limits import (
    CLINIC,
    UNKNOWN,
    Agent,
    receive_close_code,
    receive_json,
    serving,
    wait_until,
)

from trayagent import events
from trayagent.errors import ERROR_MESSAGES, INVALID_FIELD_MESSAGES
from trayagent.server.access import OriginPolicy
from trayagent.server.clients import CLOSE_RATE_LIMITED, MAX_DROPPED_MESSAGES
from trayagent.status import ServiceState

READER = "ACS ACR39U ICC Reader 00 00"
# A JSON escape that decodes to a lone surrogate, which UTF-8 cannot encode.
LONE_SURROGATE = "\\udc00"


class Person:
    """The card data of a read, as the hub takes it from ``CardRead``."""

    def to_json(self) -> dict[str, str]:
        return {"citizen_id": "1101700203450"}


async def connect_after_hello(agent: Agent) -> aiohttp.ClientWebSocketResponse:
    """Connect as a page of an allowed site and read the ``hello``."""
    socket = await agent.connect(CLINIC)
    await receive_json(socket)
    return socket


async def reply_to(socket: aiohttp.ClientWebSocketResponse, text: str) -> dict:
    await socket.send_str(text)
    return await receive_json(socket)


async def request(
    agent: Agent,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    data: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """Return the status, the JSON body (or text) and headers of a request."""
    url = f"http://127.0.0.1:{agent.port}{path}"
    async with agent.session.request(
        method, url, headers=headers, data=data
    ) as response:
        text = await response.text()
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        return response.status, body, dict(response.headers)


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


def test_unknown_api_path_is_json_404():
    async def scenario():
        async with serving() as agent:
            api = await request(agent, "GET", "/api/nothing")
            page = await request(agent, "GET", "/nothing")
            return api, page

    (status, body, headers), (page_status, _page, _headers) = asyncio.run(scenario())
    assert status == 404
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["error"]["message"] == ERROR_MESSAGES["NOT_FOUND"]
    assert headers["Content-Type"].startswith("application/json")
    assert page_status == 404


def test_wrong_api_method_is_json_405():
    async def scenario():
        async with serving() as agent:
            return [
                await request(agent, "DELETE", "/api/card"),
                await request(agent, "POST", "/api/status"),
                await request(agent, "GET", "/api/read", headers={"Origin": CLINIC}),
            ]

    results = asyncio.run(scenario())
    for status, body, headers in results:
        assert status == 405
        assert body["error"]["code"] == "METHOD_NOT_ALLOWED"
        assert "Allow" in headers
    assert "GET" in results[1][2]["Allow"].split(",")
    assert "POST" not in results[1][2]["Allow"].split(",")
    assert results[2][2]["Access-Control-Allow-Origin"] == CLINIC


def test_api_errors_keep_access_checks_first():
    blocked = {"Origin": "https://blocked.example"}
    foreign_host = {"Host": "attacker.example"}

    async def scenario():
        policy = OriginPolicy([CLINIC], ["https://blocked.example"])
        async with serving(policy=policy) as agent:
            return [
                await request(agent, "GET", "/api/nothing", headers=blocked),
                await request(agent, "DELETE", "/api/card", headers=blocked),
                await request(agent, "GET", "/api/nothing", headers=foreign_host),
            ]

    results = asyncio.run(scenario())
    codes = [(status, body["error"]["code"]) for status, body, _ in results]
    assert codes == [
        (403, "FORBIDDEN_ORIGIN"),
        (403, "FORBIDDEN_ORIGIN"),
        (403, "FORBIDDEN_HOST"),
    ]


# REST bodies with one invalid field, and the field the message names.
INVALID_REST_BODIES = [
    ("/api/read", '{"reader": 123}', "reader"),
    ("/api/read", '{"reader": "%s"}' % LONE_SURROGATE, "reader"),
    ("/api/read", "[1]", "body"),
    ("/api/origins", json.dumps({"origin": UNKNOWN, "action": "nuke"}), "action"),
    ("/api/origins", json.dumps({"origin": "no origin", "action": "allow"}), "origin"),
]


def test_rest_invalid_fields_are_named():
    json_type = {"Content-Type": "application/json"}

    async def scenario():
        async with serving() as agent:
            invalid = [
                await request(agent, "POST", path, json_type, data)
                for path, data, _field in INVALID_REST_BODIES
            ]
            nan = await request(agent, "POST", "/api/read", json_type, '{"x": NaN}')
            return invalid, nan

    invalid, nan = asyncio.run(scenario())
    for (path, _data, field), (status, body, _headers) in zip(
        INVALID_REST_BODIES, invalid, strict=True
    ):
        assert status == 400, path
        assert body["error"]["code"] == "INVALID_MESSAGE", path
        assert body["error"]["message"] == INVALID_FIELD_MESSAGES[field], path
    assert nan[0] == 400
    assert nan[1]["error"]["code"] == "INVALID_JSON"


def test_card_being_read_is_card_reading():
    async def scenario():
        async with serving() as agent:
            hub = agent.hub
            hub.handle(events.ServiceChanged(ServiceState.AVAILABLE))
            hub.handle(events.ReaderAdded(READER))
            empty = await request(agent, "GET", "/api/card")
            hub.handle(events.CardInserted(READER, 1, b"\x3b\x67"))
            hub.handle(events.ReadStarted(READER, 1))
            reading = await request(agent, "GET", "/api/card")
            named = await request(agent, "GET", f"/api/card?reader={READER}")
            hub.handle(events.CardRead(READER, 1, Person(), 0.2))
            read = await request(agent, "GET", "/api/card")
            return empty, reading, named, read

    empty, reading, named, read = asyncio.run(scenario())
    assert empty[:2] == (404, {"error": {**empty[1]["error"], "code": "NO_CARD"}})
    for status, body, _headers in (reading, named):
        assert status == 409
        assert body["error"]["code"] == "CARD_READING"
        assert body["error"]["message"] == ERROR_MESSAGES["CARD_READING"]
    assert read[0] == 200
    assert read[1]["reader"] == READER


def test_origins_from_allowed_site_is_programs_only():
    async def scenario():
        async with serving() as agent:
            page = await request(agent, "GET", "/api/origins", {"Origin": CLINIC})
            program = await request(agent, "GET", "/api/origins")
            return page, program

    (status, body, _headers), program = asyncio.run(scenario())
    assert status == 403
    assert body["error"]["code"] == "PROGRAMS_ONLY"
    assert body["error"]["message"] == ERROR_MESSAGES["PROGRAMS_ONLY"]
    assert program[0] == 200
