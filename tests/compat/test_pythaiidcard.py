"""pythaiidcard compatibility: the translation, ``/ws`` and the REST API."""

import base64
import datetime

import aiohttp
import pytest

from trayagent.reading import ReadOptions
from trayagent.server.compat import pythaiidcard
from trayagent.server.compat.pythaiidcard import card_data, translate
from trayagent.simcard import PEOPLE
from trayagent.simulator import SIMULATED_READER

from .support import OldClient, recorded, run, running_agent, shape

READER = "Alcor Link AK9563 00 00"
TODAY = datetime.date(2026, 12, 3)
COMPAT = {"py": pythaiidcard.create_app}
PHOTO_PREFIX = "data:image/jpeg;base64,"


def with_reader(message: dict) -> dict:
    return {**message, "reader": READER}


def card_with_photo(messages: dict) -> dict:
    return {
        **with_reader(messages["card.read"]),
        "photo": messages["card.photo"]["photo"],
    }


def comparable(event: dict, expected: dict) -> dict:
    """Return ``event`` with the photo and the time taken from ``expected``."""
    data = dict(event["data"])
    if "photo_base64" in data:
        data["photo_base64"] = expected["data"]["photo_base64"]
    return {**event, "data": data, "timestamp": expected["timestamp"]}


# Translation


def test_card_matches_recorded_event(agent_messages):
    expected = recorded("pythaiidcard/card_read.json")

    [event] = translate(card_with_photo(agent_messages("jaidee")), today=TODAY)

    assert comparable(event, expected) == expected


def test_card_photo_is_a_jpeg_data_url(agent_messages):
    [event] = translate(card_with_photo(agent_messages("jaidee")), today=TODAY)
    photo = event["data"]["photo_base64"]

    assert photo.startswith(PHOTO_PREFIX)
    assert base64.b64decode(photo[len(PHOTO_PREFIX) :]) == PEOPLE["jaidee"].photo
    assert "photo" not in event["data"]


def test_card_without_photo_has_photo_none(agent_messages):
    [event] = translate(with_reader(agent_messages("jaidee")["card.read"]), today=TODAY)

    assert event["data"]["photo"] is None
    assert "photo_base64" not in event["data"]


@pytest.mark.parametrize(
    ("kind", "file"),
    [
        ("card.inserted", "card_inserted.json"),
        ("card.removed", "card_removed.json"),
        ("reader.added", "reader_status-connected.json"),
    ],
)
def test_events_match_recorded(agent_messages, kind, file):
    expected = recorded(f"pythaiidcard/{file}")

    [event] = translate(with_reader(agent_messages("jaidee")[kind]))

    assert {**event, "timestamp": expected["timestamp"]} == expected


def test_card_error_matches_recorded_shape(agent_messages):
    error = agent_messages("non-thai")["card.error"]
    expected = recorded("pythaiidcard/error-card-read.json")

    [event] = translate(error)

    assert shape(event) == shape(expected)
    assert event["error_code"] == "CARD_READ_ERROR"
    assert event["message"] == f"Failed to read card: {error['message']}"


@pytest.mark.parametrize("code", ["NO_CARD", "NO_READER"])
def test_read_request_without_card_is_no_reader_connection(code):
    expected = recorded("pythaiidcard/error-no-reader.json")

    [event] = translate({"type": "error", "code": code, "time": "t"})

    assert {**event, "timestamp": expected["timestamp"]} == expected


def test_no_readers_is_reader_status():
    expected = recorded("pythaiidcard/reader_status-no-readers.json")
    message = {"type": "service", "state": "no_readers", "time": "t"}

    [event] = translate(message)

    assert {**event, "timestamp": expected["timestamp"]} == expected


def test_pong_matches_recorded():
    expected = recorded("pythaiidcard/pong.json")

    [event] = translate({"type": "pong", "time": "t"})

    assert {**event, "timestamp": expected["timestamp"]} == expected


def test_event_time_is_the_agents_message_time():
    [event] = translate({"type": "pong", "time": "2026-12-03T14:05:09.412+07:00"})

    assert event["timestamp"] == "2026-12-03T14:05:09.412+07:00"


@pytest.mark.parametrize(
    "kind", ["hello", "card.photo", "settings", "reader.removed", "access"]
)
def test_messages_without_counterpart_give_nothing(kind):
    assert translate({"type": kind, "reader": READER}) == []


@pytest.mark.parametrize(
    ("key", "field", "expected"),
    [
        ("jaidee", "date_of_birth", "1987-01-15"),
        ("sukjai", "date_of_birth", None),  # year only: not a date
        ("sukjai", "age", None),
        ("mankhong", "expire_date", None),  # lifetime card
        ("mankhong", "is_expired", False),
        ("mankhong", "days_until_expiry", None),
        ("rakdee", "gender_text", "Female"),
        ("rakdee", "english_fullname", "Miss Sommut Tuaklang Rakdee"),
    ],
)
def test_card_fields_of_people(agent_messages, key, field, expected):
    data = card_data(agent_messages(key)["card.read"]["card"], today=TODAY)

    assert data[field] == expected


@pytest.mark.parametrize(
    ("today", "age", "expired", "days"),
    [
        (datetime.date(2029, 1, 14), 41, False, 0),
        (datetime.date(2029, 1, 15), 42, True, -1),
        (datetime.date(2027, 1, 14), 39, False, 731),
    ],
)
def test_age_and_expiry_count_from_today(agent_messages, today, age, expired, days):
    # jaidee: born 1987-01-15, card expires 2029-01-14.
    data = card_data(agent_messages("jaidee")["card.read"]["card"], today=today)

    assert data["age"] == age
    assert data["is_expired"] is expired
    assert data["days_until_expiry"] == days


def test_rural_address_info(agent_messages):
    data = card_data(agent_messages("rakdee")["card.read"]["card"], today=TODAY)

    assert data["address_info"] == {
        "house_no": "45",
        "moo": "3",
        "soi": "",
        "street": "",
        "subdistrict": "หนองหาร",
        "district": "สันทราย",
        "province": "เชียงใหม่",
        "address": "45 หมู่ที่ 3 ตำบลหนองหาร อำเภอสันทราย จังหวัดเชียงใหม่",
    }


# The WebSocket


def test_endpoint_greets_then_sends_card_events():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("py", "/ws", "ws")) as client:
                await client.expect("type", "connected")
                await agent.insert("jaidee")
                await client.expect("type", "card_read")
                await agent.read_finished()
                await agent.remove()
                await client.expect("type", "card_removed")
                return client.messages

    messages = run(scenario())

    expected = recorded("pythaiidcard/connected.json")
    assert {**messages[0], "timestamp": expected["timestamp"]} == expected
    assert [m["type"] for m in messages] == [
        "connected",
        "card_inserted",
        "card_read",
        "card_removed",
    ]
    data = messages[2]["data"]
    assert data["cid"] == PEOPLE["jaidee"].citizen_id
    assert data["photo_base64"].startswith(PHOTO_PREFIX)
    assert messages[2]["reader"] == SIMULATED_READER


def test_read_card_command_reads():
    async def scenario():
        async with running_agent(COMPAT, options=ReadOptions(auto_read=False)) as agent:
            async with OldClient.connect(agent.url("py", "/ws", "ws")) as client:
                await agent.insert("mankhong")
                await client.expect("type", "card_inserted")
                await client.send({"type": "read_card", "include_photo": True})
                return await client.expect("type", "card_read")

    data = run(scenario())["data"]

    assert data["cid"] == PEOPLE["mankhong"].citizen_id
    assert data["expire_date"] is None


def test_read_card_without_card_is_error():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("py", "/ws", "ws")) as client:
                await client.send({"type": "read_card"})
                return await client.expect("type", "error")

    event = run(scenario())

    assert event["error_code"] == "NO_READER_CONNECTION"


def test_ping_gets_pong_and_others_are_ignored():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("py", "/ws", "ws")) as client:
                await client.expect("type", "connected")
                await client.send({"type": "subscribe", "events": ["card_read"]})
                await client.send({"type": "unknown"})
                await client.socket.send_str("{not json")
                await client.send({"type": "ping"})
                return await client.receive()

    assert run(scenario())["type"] == "pong"


def test_read_error_card_gives_error_event():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("py", "/ws", "ws")) as client:
                await agent.insert("read-error")
                return await client.expect("type", "error")

    event = run(scenario())

    assert event["error_code"] == "CARD_READ_ERROR"
    assert event["message"].startswith("Failed to read card: ")


def test_mute_card_gives_error():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("py", "/ws", "ws")) as client:
                await client.expect("type", "connected")
                await agent.insert("mute")
                return await client.expect("type", "error")

    assert run(scenario())["error_code"] == "CARD_READ_ERROR"


# REST


async def get_json(url: str, method: str = "GET", **headers: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, headers=headers) as response:
            return response.status, await response.json()


def test_rest_without_card():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            base = agent.url("py", "")
            return {
                path: await get_json(base + path)
                for path in (
                    "/api/status",
                    "/api/readers",
                    "/api/card/current",
                    "/api/health",
                )
            }

    answers = run(scenario())

    assert answers["/api/card/current"][0] == 200
    expected = recorded("pythaiidcard/rest-card-none.json")
    current = answers["/api/card/current"][1]
    assert {**current, "timestamp": expected["timestamp"]} == expected
    assert shape(answers["/api/health"][1]) == shape(
        recorded("pythaiidcard/rest-health.json")
    )
    status = answers["/api/status"][1]
    assert status["card_detected"] is False
    assert status["readers_available"] == 1
    assert answers["/api/readers"][1]["readers"][0]["connected"] is False


def test_rest_with_card():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("py", "/ws", "ws")) as client:
                await agent.insert("jaidee")
                await client.expect("type", "card_read")
            base = agent.url("py", "")
            return {
                path: await get_json(base + path)
                for path in ("/api/status", "/api/readers", "/api/card/current")
            }

    answers = run(scenario())

    status = answers["/api/status"][1]
    assert shape(status) == shape(recorded("pythaiidcard/rest-status.json"))
    assert status["card_detected"] is True
    assert status["reader_name"] == SIMULATED_READER
    readers = answers["/api/readers"][1]
    assert shape(readers) == shape(recorded("pythaiidcard/rest-readers.json"))
    assert readers["readers"][0]["atr"] == "3B 78 18 00 00 00 73 C8 40 13 00 90 00"
    current = answers["/api/card/current"][1]
    expected = dict(recorded("pythaiidcard/card_read.json")["data"])
    del expected["photo_base64"]
    assert current["success"] is True
    assert current["error"] is None
    assert set(current["data"]) == set(expected)
    assert current["data"]["cid"] == expected["cid"]
    assert current["data"]["address_info"] == expected["address_info"]


def test_rest_read_reads_the_card():
    async def scenario():
        async with running_agent(COMPAT, options=ReadOptions(auto_read=False)) as agent:
            none = await get_json(agent.url("py", "/api/card/read"), "POST")
            await agent.insert("rakdee")
            read = await get_json(agent.url("py", "/api/card/read"), "POST")
            return none, read

    (none_status, none), (read_status, read) = run(scenario())

    assert none_status == 200
    assert none["success"] is False
    assert none["error"] == "No card detected in reader"
    assert read_status == 200
    assert read["success"] is True
    assert read["data"]["cid"] == PEOPLE["rakdee"].citizen_id
    assert "photo_base64" not in read["data"]


def test_rest_read_of_failing_card():
    async def scenario():
        async with running_agent(COMPAT, options=ReadOptions(auto_read=False)) as agent:
            await agent.insert("non-thai")
            return await get_json(agent.url("py", "/api/card/read"), "POST")

    status, body = run(scenario())

    assert status == 200
    assert body["success"] is False
    assert body["error"] == "Card read failed"


def test_rest_for_allowed_site_has_cors_headers():
    origin = "https://clinic.example"

    async def scenario():
        async with running_agent(COMPAT, allowed=(origin,)) as agent:
            async with aiohttp.ClientSession() as session:
                url = agent.url("py", "/api/status")
                async with session.get(url, headers={"Origin": origin}) as response:
                    get = (
                        response.status,
                        response.headers.get("Access-Control-Allow-Origin"),
                    )
                headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
                async with session.options(url, headers=headers) as response:
                    preflight = response.status
                async with session.get(
                    url, headers={"Origin": "https://other.example"}
                ) as response:
                    other = response.status
                return get, preflight, other

    get, preflight, other = run(scenario())

    assert get == (200, origin)
    assert preflight == 204
    assert other == 403
