"""End-to-end reading: pcscd + vpcd + the simulated card + the agent + WebSockets."""

import base64
import collections
import contextlib
import threading

import aiohttp
import pytest

from pcsc_stack import held_transaction, scard, wait_for_empty
from trayagent.simcard import PEOPLE, SimulatedCard

from .support import WsClient, run

READER0 = "Test Reader 00 00"
READER1 = "Test Reader 00 01"
JAIDEE = PEOPLE["jaidee"]
RAKDEE = PEOPLE["rakdee"]
MANKHONG = PEOPLE["mankhong"]

pytestmark = pytest.mark.pcsc


def photo_bytes(message: dict) -> bytes:
    prefix = "data:image/jpeg;base64,"
    data_url = message["photo"]["data_url"]
    assert data_url.startswith(prefix)
    return base64.b64decode(data_url[len(prefix) :])


def assert_nothing_read_twice(apdu_log: list[str]) -> None:
    """Check that each READ BINARY was sent once and SELECT once per transaction.

    GET RESPONSE commands repeat by nature: each 255-byte photo piece is
    fetched with the same ``00 C0 00 00 FF``.
    """
    reads = [apdu for apdu in apdu_log if apdu.startswith("80B0")]
    repeated = [apdu for apdu, count in collections.Counter(reads).items() if count > 1]
    assert repeated == []
    selects = [apdu for apdu in apdu_log if apdu.startswith("00A40400")]
    assert len(selects) == 2  # one for the text fields, one for the photo


async def connect(agent, **headers) -> WsClient:
    client = await WsClient.connect(agent.ws_url, **headers)
    hello = await client.receive()
    assert hello["type"] == "hello"
    return client


def test_card_read_end_to_end(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE)
            slot0.insert(card)
            inserted = await client.expect("card.inserted", reader=READER0)
            read = await client.expect("card.read", reader=READER0)
            photo = await client.expect("card.photo", reader=READER0)
            slot0.remove()
            await client.expect("card.removed", reader=READER0)
            return card, inserted, read, photo

    card, inserted, read, photo = run(scenario())
    assert inserted["atr"] == card.atr.hex(" ").upper()
    assert read["card"]["citizen_id"] == JAIDEE.citizen_id
    assert read["card"]["citizen_id_valid"] is True
    assert read["card"]["name_th"]["full"] == "นายทดสอบ ใจดี"
    assert read["card"]["name_en"]["full"] == "Mr. Test Jaidee"
    assert read["card"]["birth_date"]["date"] == "1987-01-15"
    assert read["card"]["address"]["province"] == "กรุงเทพมหานคร"
    assert read["card"]["address"]["district"] == "เขตพระโขนง"
    assert photo_bytes(photo) == JAIDEE.photo
    assert photo["photo"]["complete"] is True
    assert_nothing_read_twice(card.apdu_log)


def test_large_photo_and_long_address(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            slot0.insert(SimulatedCard(MANKHONG))
            read = await client.expect("card.read", reader=READER0)
            photo = await client.expect("card.photo", reader=READER0)
            return read, photo

    read, photo = run(scenario())
    assert photo_bytes(photo) == MANKHONG.photo
    assert len(MANKHONG.photo) > 5100
    assert read["card"]["address"]["raw"] == MANKHONG.address
    assert read["card"]["expiry_date"]["lifetime"] is True


def test_late_client_gets_card_in_hello(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as first:
            slot0.insert(SimulatedCard(RAKDEE))
            await first.expect("card.photo", reader=READER0)
        async with await WsClient.connect(agent.ws_url) as late:
            return await late.receive()

    hello = run(scenario())
    entry = next(reader for reader in hello["readers"] if reader["name"] == READER0)
    assert entry["state"] == "read"
    assert entry["card"]["citizen_id"] == RAKDEE.citizen_id
    assert base64.b64decode(entry["photo"]["data_url"].split(",", 1)[1]) == RAKDEE.photo


def test_two_readers_at_once(start_agent, slot0, slot1):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            slot0.insert(SimulatedCard(JAIDEE, "real"))
            slot1.insert(SimulatedCard(RAKDEE))
            second = await client.expect("card.read", reader=READER1)
            first = await client.expect("card.read", reader=READER0)
            return first, second

    first, second = run(scenario())
    assert first["card"]["citizen_id"] == JAIDEE.citizen_id
    assert second["card"]["citizen_id"] == RAKDEE.citizen_id


def test_card_pulled_mid_read(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE)
            card.remove_after(6)
            slot0.insert(card)
            error = await client.expect("card.error", reader=READER0)
            await client.expect("card.removed", reader=READER0)
            return client, error

    client, error = run(scenario())
    assert error["code"] == "CARD_REMOVED"
    assert "card.read" not in client.types()


def test_swapped_card_never_shows_first_card(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            slot0.insert(SimulatedCard(JAIDEE, "real"))
            await client.expect("card.inserted", reader=READER0)
            slot0.remove()
            wait_for_empty(READER0)
            slot0.insert(SimulatedCard(RAKDEE, "real"))
            read = await client.expect("card.read", reader=READER0, timeout=20)
            return client, read

    client, read = run(scenario())
    assert read["card"]["citizen_id"] == RAKDEE.citizen_id
    reads = [m for m in client.messages if m["type"] == "card.read"]
    assert [m["card"]["citizen_id"] for m in reads] == [RAKDEE.citizen_id]
    lifecycle = [
        m["type"]
        for m in client.messages
        if m["type"] in ("card.inserted", "card.removed")
    ]
    assert lifecycle == ["card.inserted", "card.removed", "card.inserted"]


def test_non_thai_card(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE, "non-thai")
            slot0.insert(card)
            error = await client.expect("card.error", reader=READER0)
            await client.send({"type": "ping", "id": "after"})
            await client.expect("pong", id="after")
            return client, card, error

    client, card, error = run(scenario())
    assert error["code"] == "NOT_THAI_ID_CARD"
    assert [m["type"] for m in client.messages].count("card.error") == 1
    assert len(card.apdu_log) == 1
    assert card.apdu_log[0].startswith("00A40400")


def test_non_thai_card_read_again_from_memory(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with await connect(agent) as client:
                card = SimulatedCard(JAIDEE, "non-thai")
                slot0.insert(card)
                await client.expect("card.error", reader=READER0)
                await client.send({"type": "read", "id": "again"})
                again = await client.expect("card.error", id="again")
            async with session.post(f"{agent.base_url}/api/read", json={}) as response:
                rest = (response.status, await response.json())
            return card, again, rest

    card, again, rest = run(scenario())
    assert again["code"] == "NOT_THAI_ID_CARD"
    assert again["reader"] == READER0
    assert rest[0] == 422
    assert rest[1]["error"]["code"] == "NOT_THAI_ID_CARD"
    assert len(card.apdu_log) == 1  # the first SELECT, nothing after it


def test_mute_card(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            slot0.insert(SimulatedCard(JAIDEE, "mute"))
            return await client.expect("card.error", reader=READER0)

    error = run(scenario())
    assert error["code"] == "CARD_UNRESPONSIVE"
    assert "inserted the right way" in error["message"]


def test_atr_3b67_card(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(RAKDEE, "atr-3b67")
            slot0.insert(card)
            read = await client.expect("card.read", reader=READER0)
            await client.expect("card.photo", reader=READER0)
            return card, read

    card, read = run(scenario())
    assert read["card"]["citizen_id"] == RAKDEE.citizen_id
    get_responses = [apdu for apdu in card.apdu_log if apdu.startswith("00C0")]
    assert get_responses
    assert all(apdu.startswith("00C00001") for apdu in get_responses)


def test_t1_card(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE, "t1")
            slot0.insert(card)
            read = await client.expect("card.read", reader=READER0)
            photo = await client.expect("card.photo", reader=READER0)
            return card, read, photo

    card, read, photo = run(scenario())
    assert read["card"]["citizen_id"] == JAIDEE.citizen_id
    assert photo_bytes(photo) == JAIDEE.photo
    assert not any(apdu.startswith("00C0") for apdu in card.apdu_log[1:])


def test_foreign_select_mid_read(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE)
            card.switch_applet_at(8, aid=None)
            slot0.insert(card)
            read = await client.expect("card.read", reader=READER0)
            photo = await client.expect("card.photo", reader=READER0)
            return card, read, photo

    card, read, photo = run(scenario())
    assert read["card"]["citizen_id"] == JAIDEE.citizen_id
    assert photo_bytes(photo) == JAIDEE.photo
    selects = [apdu for apdu in card.apdu_log if apdu.startswith("00A40400")]
    assert len(selects) == 3  # one more after the foreign SELECT


def test_auto_read_off_waits_for_read(start_agent, slot0):
    agent = start_agent("--no-auto-read")

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE)
            slot0.insert(card)
            await client.expect("card.inserted", reader=READER0)
            await client.send({"type": "ping", "id": 1})
            await client.expect("pong", id=1)
            before = list(card.apdu_log)
            await client.send({"type": "read", "reader": READER0, "id": "r1"})
            read = await client.expect("card.read", reader=READER0)
            photo = await client.expect("card.photo", reader=READER0)
            return client, before, read, photo

    client, before, read, photo = run(scenario())
    assert before == []
    assert read["id"] == "r1"
    assert photo["id"] == "r1"
    assert read["card"]["citizen_id"] == JAIDEE.citizen_id


def test_no_photo_option(start_agent, slot0):
    agent = start_agent("--no-photo")

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE)
            slot0.insert(card)
            await client.expect("card.read", reader=READER0)
            slot0.remove()
            await client.expect("card.removed", reader=READER0)
            return client, card

    client, card = run(scenario())
    assert "card.photo" not in client.types()
    photo_reads = [
        apdu
        for apdu in card.apdu_log
        if apdu.startswith("80B0") and 0x017B <= int(apdu[4:8], 16) < 0x1579
    ]
    assert photo_reads == []


def test_pcscd_restart_recovers(start_agent, pcsc_stack, slot0):
    agent = start_agent()

    async def scenario():
        async with await connect(agent) as client:
            pcsc_stack.stop()
            service = await client.expect("service", state="unavailable")
            removed = await client.expect("reader.removed", reader=READER0)
            pcsc_stack.start()
            await client.expect("reader.added", reader=READER0, timeout=15)
            slot0.insert(SimulatedCard(RAKDEE))
            read = await client.expect("card.read", reader=READER0)
            return service, removed, read, client.messages

    service, _removed, read, messages = run(scenario())
    assert service["code"] == "SERVICE_UNAVAILABLE"
    assert read["card"]["citizen_id"] == RAKDEE.citizen_id
    states = [message["state"] for message in messages if message["type"] == "service"]
    assert "no_readers" not in states


def test_fifty_cycles_lose_nothing(start_agent, slot0):
    agent = start_agent("--no-photo")
    cycles = 50

    async def scenario():
        async with await connect(agent) as client:
            for _ in range(cycles):
                slot0.insert(SimulatedCard(JAIDEE))
                await client.expect("card.read", reader=READER0)
                slot0.remove()
                await client.expect("card.removed", reader=READER0)
                client._unread.clear()
            return client

    client = run(scenario())
    counts = collections.Counter(client.types())
    assert counts["card.inserted"] == cycles
    assert counts["card.read"] == cycles
    assert counts["card.removed"] == cycles
    assert counts["card.error"] == 0


def test_malformed_client_messages(start_agent):
    agent = start_agent()
    cases = [
        ("not json", "INVALID_JSON"),
        ("[1, 2]", "INVALID_MESSAGE"),
        ('{"id": 1}', "INVALID_MESSAGE"),
        ('{"type": 5}', "INVALID_MESSAGE"),
        ('{"type": "ping", "id": {"a": 1}}', "INVALID_MESSAGE"),
        ('{"type": "launch"}', "UNKNOWN_TYPE"),
        ('{"type": "read", "reader": 7}', "INVALID_MESSAGE"),
        ('{"type": "read", "reader": "\\udc00"}', "INVALID_MESSAGE"),
        ('{"type": "ping", "id": "\\udc00"}', "INVALID_MESSAGE"),
        ('{"type": "ping", "id": NaN}', "INVALID_JSON"),
        ('"read"', "INVALID_MESSAGE"),
        ("null", "INVALID_MESSAGE"),
        ('{"type": "read", "reader": "No Such Reader"}', "UNKNOWN_READER"),
        ('{"type": "read"}', "NO_CARD"),
        ("x" * (64 * 1024 + 1), "MESSAGE_TOO_LARGE"),
    ]

    async def scenario():
        async with await connect(agent) as client:
            codes = []
            for text, _expected in cases:
                await client.socket.send_str(text)
                codes.append((await client.expect("error"))["code"])
                client._unread.clear()
            await client.socket.send_bytes(b"\x00\x01")
            codes.append((await client.expect("error"))["code"])
            await client.send({"type": "ping", "id": 9})
            pong = await client.expect("pong", id=9)
            return codes, pong

    codes, pong = run(scenario())
    assert codes == [expected for _text, expected in cases] + ["BINARY_FRAME"]
    assert pong["id"] == 9


def test_rest_api(start_agent, slot0):
    agent = start_agent()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{agent.base_url}/api/card") as response:
                empty = response.status
            async with await connect(agent) as client:
                slot0.insert(SimulatedCard(RAKDEE))
                await client.expect("card.photo", reader=READER0)
            async with session.get(f"{agent.base_url}/api/card") as response:
                card = (response.status, await response.json())
            async with session.post(f"{agent.base_url}/api/read", json={}) as response:
                again = (response.status, await response.json())
            async with session.get(f"{agent.base_url}/api/status") as response:
                status = await response.json()
            return empty, card, again, status

    empty, card, again, status = run(scenario())
    assert empty == 404
    assert card[0] == 200
    assert card[1]["card"]["citizen_id"] == RAKDEE.citizen_id
    assert again[0] == 200
    assert again[1]["card"]["citizen_id"] == RAKDEE.citizen_id
    assert RAKDEE.citizen_id not in str(status)
    assert [reader["name"] for reader in status["readers"]] == [READER0, READER1]


def test_rebinding_host_is_rejected(start_agent):
    agent = start_agent()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            statuses = []
            for path in ("/api/card", "/api/status", "/ws", "/"):
                headers = {"Host": f"evil.example:{agent.port}"}
                async with session.get(
                    f"{agent.base_url}{path}", headers=headers
                ) as response:
                    statuses.append(response.status)
            return statuses

    assert run(scenario()) == [403, 403, 403, 403]


def test_debug_log_has_no_personal_data(start_agent, slot0):
    agent = start_agent("--log-level", "DEBUG")

    async def scenario():
        async with await connect(agent) as client:
            for person in (JAIDEE, MANKHONG):
                slot0.insert(SimulatedCard(person))
                await client.expect("card.photo", reader=READER0)
                slot0.remove()
                await client.expect("card.removed", reader=READER0)
                client._unread.clear()

    run(scenario())
    log = agent.log_text()
    assert "READ BINARY" in log or "80 B0" in log or "SW=" in log
    # start_agent checks every agent's log for the people's details at teardown.


def test_read_timeout(start_agent, slot0):
    agent = start_agent(settings={"read_timeout": 1})

    async def scenario():
        async with await connect(agent) as client:
            slot0.insert(SimulatedCard(MANKHONG, "real"))
            return await client.expect("card.error", reader=READER0)

    error = run(scenario())
    assert error["code"] == "READ_TIMEOUT"


def test_read_timeout_while_another_program_holds_card(start_agent, slot0):
    agent = start_agent("--no-auto-read", settings={"read_timeout": 1})
    other_program = contextlib.ExitStack()

    async def scenario():
        async with await connect(agent) as client:
            slot0.insert(SimulatedCard(JAIDEE))
            await client.expect("card.inserted", reader=READER0)
            other_program.enter_context(held_transaction(READER0))
            await client.send({"type": "read", "id": "held"})
            return await client.expect("card.error", reader=READER0)

    with other_program:
        error = run(scenario())
        # The read thread is still blocked in PC/SC; the agent must exit anyway.
        status = agent.stop()
    assert error["code"] == "READ_TIMEOUT"
    assert error["id"] == "held"
    assert status == 0


def test_read_request_joins_running_read(start_agent, slot0):
    agent = start_agent("--no-auto-read")

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE, "real")
            slot0.insert(card)
            await client.expect("card.inserted", reader=READER0)
            await client.send({"type": "read", "id": "a"})
            await client.send({"type": "read", "id": "b"})
            first = await client.expect("card.read", id="a")
            second = await client.expect("card.read", id="b")
            await client.expect("card.photo", id="b")
            return card, first, second

    card, first, second = run(scenario())
    assert first["card"]["citizen_id"] == JAIDEE.citizen_id
    assert second["card"]["citizen_id"] == JAIDEE.citizen_id
    assert_nothing_read_twice(card.apdu_log)


def foreign_select(reader: str, started: threading.Event) -> None:
    """SELECT another applet through PC/SC, as other software on the PC would."""
    started.wait(10)
    _result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    try:
        result, card, protocol = scard.SCardConnect(
            context, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0
        )
        assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
        select_nhso = list(bytes.fromhex("00A4040008A000000054480083"))
        result, _response = scard.SCardTransmit(card, protocol, select_nhso)
        assert result == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(result)
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
    finally:
        scard.SCardReleaseContext(context)


def test_foreign_select_from_another_program(start_agent, slot0):
    agent = start_agent()
    started = threading.Event()
    other_program = threading.Thread(target=foreign_select, args=(READER0, started))
    other_program.start()

    def on_command(apdu: str) -> None:
        if apdu.startswith("80B0000402"):  # the first READ BINARY, citizen ID
            started.set()

    async def scenario():
        async with await connect(agent) as client:
            card = SimulatedCard(JAIDEE, "real", on_command=on_command)
            slot0.insert(card)
            read = await client.expect("card.read", reader=READER0)
            photo = await client.expect("card.photo", reader=READER0)
            return card, read, photo

    try:
        card, read, photo = run(scenario())
    finally:
        started.set()
        other_program.join(10)
    assert read["card"]["citizen_id"] == JAIDEE.citizen_id
    assert photo_bytes(photo) == JAIDEE.photo
    assert "00A4040008A000000054480083" in card.apdu_log
