"""go-thai-smartcard compatibility: the translation and the ``/ws`` endpoint."""

import base64

import aiohttp
import pytest

from trayagent.reading import ReadOptions
from trayagent.server.compat import go_thai_smartcard
from trayagent.server.compat.go_thai_smartcard import format_date, translate
from trayagent.simcard import PEOPLE

from .support import OldClient, recorded, run, running_agent

READER = "Identive CLOUD 2700 R Smart Card Reader"
CLINIC = "https://clinic.example"
COMPAT = {"go": go_thai_smartcard.create_app}


def with_reader(message: dict) -> dict:
    return {**message, "reader": READER}


def card_with_photo(messages: dict) -> dict:
    return {
        **with_reader(messages["card.read"]),
        "photo": messages["card.photo"]["photo"],
    }


def without_photo(event: dict) -> dict:
    """Return an smc-data event with its photo fields replaced by a marker."""
    personal = dict(event["payload"]["personal"])
    personal["face_image"] = personal["base64_img"] = "JPEG-BASE64"
    return {**event, "payload": {**event["payload"], "personal": personal}}


# Translation


def test_card_matches_recorded_data(agent_messages):
    [event] = translate(card_with_photo(agent_messages("jaidee")))

    assert without_photo(event) == recorded("go-thai-smartcard/smc-data.json")


def test_card_photo_is_plain_base64_jpeg(agent_messages):
    [event] = translate(card_with_photo(agent_messages("jaidee")))
    personal = event["payload"]["personal"]

    assert base64.b64decode(personal["face_image"]) == PEOPLE["jaidee"].photo
    assert personal["base64_img"] == personal["face_image"]


def test_card_without_photo_has_empty_image(agent_messages):
    [event] = translate(with_reader(agent_messages("jaidee")["card.read"]))

    assert event["payload"]["personal"]["face_image"] == ""
    assert event["payload"]["personal"]["base64_img"] == ""


@pytest.mark.parametrize(
    ("kind", "file"),
    [
        ("card.inserted", "smc-inserted.json"),
        ("card.removed", "smc-removed.json"),
    ],
)
def test_card_events_match_recorded(agent_messages, kind, file):
    assert translate(with_reader(agent_messages("jaidee")[kind])) == [
        recorded(f"go-thai-smartcard/{file}")
    ]


def test_card_error_is_smc_error(agent_messages):
    error = agent_messages("non-thai")["card.error"]

    [event] = translate(error)

    assert event["event"] == "smc-error"
    assert event["payload"] == {"message": error["message"]}


def test_unavailable_service_is_smc_error():
    message = {"type": "service", "state": "unavailable", "message": "No service."}

    assert translate(message) == [
        {"event": "smc-error", "payload": {"message": "No service."}}
    ]


@pytest.mark.parametrize(
    "kind",
    ["hello", "card.photo", "settings", "pong", "reader.added", "reader.removed"],
)
def test_messages_without_counterpart_give_nothing(kind):
    assert translate({"type": kind, "reader": READER}) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25300115", "1987-01-15"),
        ("25201100", "1977-11-00"),  # month known, day not
        ("25200000", "1977-00-00"),  # year only
        ("99999999", "9456-99-99"),  # lifetime expiry
        ("00000000", "-543-00-00"),
        ("2530011", ""),
        ("abcd0115", ""),
        ("", ""),
    ],
)
def test_dates_formatted_as_go_thai_smartcard(raw, expected):
    assert format_date(raw) == expected


@pytest.mark.parametrize(
    ("key", "field", "expected"),
    [
        ("jaidee", "dob", "1987-01-15"),
        ("sukjai", "dob", "1977-00-00"),
        ("mankhong", "expire_date", "9456-99-99"),
    ],
)
def test_card_dates_of_people(agent_messages, key, field, expected):
    [event] = translate(agent_messages(key)["card.read"])

    assert event["payload"]["personal"][field] == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("jaidee", "Mr.Test Jaidee"),
        ("rakdee", "MissSommut Tuaklang Rakdee"),
    ],
)
def test_english_full_name_has_prefix_against_first(agent_messages, key, expected):
    [event] = translate(agent_messages(key)["card.read"])

    assert event["payload"]["personal"]["name_eng"]["full_name"] == expected


def test_rural_address_parts_lose_prefixes(agent_messages):
    [event] = translate(agent_messages("rakdee")["card.read"])
    address = event["payload"]["personal"]["address"]

    assert address["moo"] == "3"
    assert address["subdistrict"] == "หนองหาร"
    assert address["district"] == "สันทราย"
    assert address["province"] == "เชียงใหม่"
    assert address["street"] == ""


def test_street_joins_trok_and_road(agent_messages):
    [event] = translate(agent_messages("mankhong")["card.read"])
    address = event["payload"]["personal"]["address"]

    assert address["street"] == "ตรอกวัดป่าเลไลยก์ ถนนเลียบคลองชลประทานฝั่งซ้ายสายใหม่"
    assert address["soi"] == "ประชาสามัคคีพัฒนาร่วมใจ 3"


# The endpoint


def test_endpoint_sends_card_events():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await agent.insert("jaidee")
                await client.expect("event", "smc-data")
                await agent.read_finished()
                await agent.remove()
                await client.expect("event", "smc-removed")
                return client.messages

    messages = run(scenario())

    assert [m["event"] for m in messages] == ["smc-inserted", "smc-data", "smc-removed"]
    personal = messages[1]["payload"]["personal"]
    assert base64.b64decode(personal["face_image"]) == PEOPLE["jaidee"].photo
    assert personal["cid"] == PEOPLE["jaidee"].citizen_id
    assert messages[1]["payload"]["reader"] == agent_reader()


def agent_reader() -> str:
    from trayagent.simulator import SIMULATED_READER

    return SIMULATED_READER


def test_endpoint_without_photo_sends_card_at_once():
    async def scenario():
        options = ReadOptions(include_photo=False)
        async with running_agent(COMPAT, options=options) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await agent.insert("rakdee")
                return await client.expect("event", "smc-data", timeout=2.0)

    event = run(scenario())

    assert event["payload"]["personal"]["face_image"] == ""
    assert event["payload"]["personal"]["cid"] == PEOPLE["rakdee"].citizen_id


def test_read_now_reads_the_card():
    async def scenario():
        options = ReadOptions(auto_read=False)
        async with running_agent(COMPAT, options=options) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await agent.insert("sukjai")
                await client.expect("event", "smc-inserted")
                await client.nothing_within(0.3)
                await client.send({"action": "read-now"})
                return await client.expect("event", "smc-data")

    event = run(scenario())

    assert event["payload"]["personal"]["dob"] == "1977-00-00"


def test_read_now_without_card_is_smc_error():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await client.send({"action": "read-now"})
                return await client.expect("event", "smc-error")

    assert run(scenario())["payload"] == {"message": "There is no card in the reader."}


@pytest.mark.parametrize("action", ["get-status", "refresh-readers"])
def test_status_actions_send_smc_status(action):
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await agent.insert("jaidee")
                await client.expect("event", "smc-data")
                await client.send({"action": action})
                return await client.expect("event", "smc-status")

    event = run(scenario())
    expected = recorded("go-thai-smartcard/smc-status.json")

    assert event["payload"] == {**expected["payload"], "readers": [agent_reader()]}


def test_unknown_action_is_smc_error():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await client.send({"action": "set-reader"})
                return await client.expect("event", "smc-error")

    assert run(scenario())["payload"] == {"message": "unknown action: set-reader"}


def test_frames_that_are_not_actions_are_ignored():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await client.socket.send_str("close")
                await client.send(["not", "an", "object"])
                await client.nothing_within(0.3)
                await agent.insert("jaidee")
                return await client.expect("event", "smc-inserted")

    assert run(scenario())["event"] == "smc-inserted"


def test_non_thai_card_gives_error_after_insert():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await agent.insert("non-thai")
                await client.expect("event", "smc-error")
                return client.messages

    messages = run(scenario())

    assert [m["event"] for m in messages] == ["smc-inserted", "smc-error"]


def test_native_clients_are_served_beside():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            async with aiohttp.ClientSession() as session:
                native = await session.ws_connect(agent.url("agent", "/ws", "ws"))
                async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                    await agent.insert("jaidee")
                    await client.expect("event", "smc-data")
                    types = []
                    while "card.photo" not in types:
                        message = await native.receive_json(timeout=5)
                        types.append(message["type"])
                await native.close()
                return types

    assert run(scenario())[:4] == ["hello", "card.inserted", "card.read", "card.photo"]


# Access checks


async def handshake(url: str, **headers: str) -> tuple[int, int | None]:
    """Return the handshake status and, when it succeeded, the close code."""
    async with aiohttp.ClientSession() as session:
        try:
            socket = await session.ws_connect(url, headers=headers)
        except aiohttp.WSServerHandshakeError as error:
            return error.status, None
        frame = await socket.receive(timeout=2)
        code = socket.close_code if frame.type == aiohttp.WSMsgType.CLOSE else None
        await socket.close()
        return 101, code


def test_allowed_site_connects():
    async def scenario():
        async with running_agent(COMPAT, allowed=(CLINIC,)) as agent:
            async with OldClient.connect(
                agent.url("go", "/ws", "ws"), Origin=CLINIC
            ) as client:
                await agent.insert("jaidee")
                return await client.expect("event", "smc-inserted")

    assert run(scenario())["event"] == "smc-inserted"


def test_blocked_site_is_rejected():
    async def scenario():
        async with running_agent(COMPAT, blocked=(CLINIC,)) as agent:
            return await handshake(agent.url("go", "/ws", "ws"), Origin=CLINIC)

    assert run(scenario()) == (403, None)


def test_site_waiting_for_staff_is_closed_with_1008():
    async def scenario():
        async with running_agent(COMPAT, interactive=True) as agent:
            result = await handshake(agent.url("go", "/ws", "ws"), Origin=CLINIC)
            return result, agent.policy.pending

    result, pending = run(scenario())

    assert result == (101, 1008)
    assert pending == {CLINIC}


def test_foreign_host_is_rejected():
    async def scenario():
        async with running_agent(COMPAT) as agent:
            return await handshake(agent.url("go", "/ws", "ws"), Host="evil.example")

    assert run(scenario()) == (403, None)


# Laser code and NHSO data

ALL_PARTS = ReadOptions(read_laser_id=True, read_nhso=True)


def test_laser_and_nhso_map_to_card_and_nhso(agent_messages):
    messages = agent_messages("rakdee", ALL_PARTS)
    card = {
        **card_with_photo(messages),
        "laser": messages["card.laser"]["laser"],
        "nhso": messages["card.nhso"]["nhso"],
    }

    [event] = translate(card)
    payload = event["payload"]

    assert list(payload) == ["personal", "card", "nhso", "reader"]
    assert payload["card"] == {"laser_id": "ME0123456789"}
    assert payload["nhso"] == {
        "main_inscl": "UCS",
        "sub_inscl": "ผู้มีสิทธิทั่วไป",
        "main_hospital": "โรงพยาบาลสันทรายทดสอบ",
        "sub_hospital": "โรงพยาบาลส่งเสริมสุขภาพตำบลหนองหารทดสอบ",
        "paid_type": "1",
        "issue_date": "2022-08-01",
        "expire_date": "2026-09-30",
        "update_date": format_date(messages["card.nhso"]["nhso"]["update_date"]["raw"]),
        "change_hospital_amount": str(
            messages["card.nhso"]["nhso"]["hospital_changes"]
        ),
    }


def test_lifetime_nhso_expiry_is_formatted_as_card_dates(agent_messages):
    nhso = agent_messages("mankhong", ALL_PARTS)["card.nhso"]["nhso"]

    [event] = translate({**agent_messages("mankhong")["card.read"], "nhso": nhso})

    assert event["payload"]["nhso"]["expire_date"] == "9456-99-99"


def test_endpoint_sends_one_card_with_every_part():
    async def scenario():
        async with running_agent(COMPAT, options=ALL_PARTS) as agent:
            async with OldClient.connect(agent.url("go", "/ws", "ws")) as client:
                await agent.insert("mankhong")
                await client.expect("event", "smc-data")
                await agent.read_finished()
                await agent.remove()
                await client.expect("event", "smc-removed")
                return client.messages

    messages = run(scenario())

    assert [m["event"] for m in messages] == ["smc-inserted", "smc-data", "smc-removed"]
    payload = messages[1]["payload"]
    assert payload["card"] == {"laser_id": "KB3456789012"}
    assert payload["nhso"]["main_inscl"] == "สิทธิข้าราชการ"
    assert payload["personal"]["face_image"] != ""
