"""The hub's card cache and fan-out, driven with monitor events directly."""

import json

import pytest

from trayagent import events
from trayagent.card.model import Photo
from trayagent.server.hub import Hub
from trayagent.status import ReaderState, ServiceState

READER = "Reader A"


class RecordingClient:
    """Stands in for a WebSocket client: the hub only calls ``deliver``."""

    def __init__(self, include_photo: bool = True) -> None:
        self.include_photo = include_photo
        self.sent: list[dict] = []

    def deliver(self, body: dict, text: str) -> None:
        assert json.loads(text) == body
        self.sent.append(body)

    def types(self) -> list[str]:
        return [message["type"] for message in self.sent]


class FakePersonal:
    """Stands in for PersonalData, whose only use here is ``to_json``."""

    def __init__(self, citizen_id: str) -> None:
        self.citizen_id = citizen_id

    def to_json(self) -> dict:
        return {"citizen_id": self.citizen_id}


@pytest.fixture
def hub():
    hub = Hub()
    hub.handle(events.ServiceChanged(ServiceState.AVAILABLE))
    hub.handle(events.ReaderAdded(READER))
    return hub


def insert_and_read(hub, insertion, citizen_id):
    hub.handle(events.CardInserted(READER, insertion, b"\x3b\x78"))
    hub.handle(events.ReadStarted(READER, insertion))
    hub.handle(events.CardRead(READER, insertion, FakePersonal(citizen_id), 0.2))


def test_read_is_cached_until_removal(hub):
    insert_and_read(hub, 1, "1101700203450")
    assert hub.present_card(READER).card["card"]["citizen_id"] == "1101700203450"
    hub.handle(events.CardRemoved(READER, 1))
    assert hub.present_card(READER) is None
    assert hub.readers[READER].state is ReaderState.EMPTY


def test_stale_read_of_ended_insertion_is_dropped(hub):
    client = RecordingClient()
    hub.add_client(client)
    hub.handle(events.CardInserted(READER, 1, b"\x3b"))
    hub.handle(events.ReadStarted(READER, 1))
    hub.handle(events.CardRemoved(READER, 1))
    hub.handle(events.CardInserted(READER, 2, b"\x3b"))
    hub.handle(events.CardRead(READER, 1, FakePersonal("1101700203450"), 0.2))
    assert "card.read" not in client.types()
    assert hub.present_card(READER) is None


def test_removal_during_read_sends_error_then_removed(hub):
    client = RecordingClient()
    hub.add_client(client)
    hub.handle(events.CardInserted(READER, 1, b"\x3b"))
    hub.handle(events.ReadStarted(READER, 1))
    hub.handle(events.CardRemoved(READER, 1))
    hub.handle(events.CardReadFailed(READER, 1, "CARD_REMOVED"))
    assert client.types() == ["card.inserted", "card.error", "card.removed"]
    assert client.sent[1]["code"] == "CARD_REMOVED"


def test_photo_skipped_for_client_without_photo(hub):
    with_photo, without_photo = RecordingClient(), RecordingClient(include_photo=False)
    hub.add_client(with_photo)
    hub.add_client(without_photo)
    insert_and_read(hub, 1, "1101700203450")
    hub.handle(events.PhotoRead(READER, 1, Photo(b"\xff\xd8\xff\xd9", True), 0.9))
    assert "card.photo" in with_photo.types()
    assert "card.photo" not in without_photo.types()
    assert hub.cards_for(without_photo)[0]["photo"] is None
    assert hub.cards_for(with_photo)[0]["photo"]["size"] == 4


def test_requester_gets_its_id(hub):
    requester, other = RecordingClient(), RecordingClient()
    hub.add_client(requester)
    hub.add_client(other)
    hub.handle(events.CardInserted(READER, 1, b"\x3b"))
    hub.add_request(READER, requester, "r1", 7)
    hub.handle(events.ReadStarted(READER, 1, read=7))
    hub.handle(events.CardRead(READER, 1, FakePersonal("1101700203450"), 0.2))
    assert requester.sent[-1]["id"] == "r1"
    assert "id" not in other.sent[-1]


def test_joined_requests_each_get_reply(hub):
    client = RecordingClient()
    hub.add_client(client)
    hub.handle(events.CardInserted(READER, 1, b"\x3b"))
    hub.handle(events.ReadStarted(READER, 1, read=7))
    hub.add_request(READER, client, "a", 7)
    hub.add_request(READER, client, "b", 7)
    hub.handle(events.CardRead(READER, 1, FakePersonal("1101700203450"), 0.2))
    hub.handle(events.ReadFinished(READER, 1, read=7))
    read_ids = [m.get("id") for m in client.sent if m["type"] == "card.read"]
    assert read_ids == ["a", "b"]


def test_late_read_finished_keeps_newer_requests(hub):
    client = RecordingClient()
    hub.add_client(client)
    hub.handle(events.CardInserted(READER, 1, b"\x3b"))
    hub.handle(events.ReadStarted(READER, 1, read=7))
    # Read 7 ended in the source and read 8 started for this request before
    # read 7's ReadFinished reached the loop.
    hub.add_request(READER, client, "next", 8)
    hub.handle(events.ReadFinished(READER, 1, read=7))
    hub.handle(events.ReadStarted(READER, 1, read=8))
    hub.handle(events.CardReadFailed(READER, 1, "READ_TIMEOUT"))
    error = client.sent[-1]
    assert error["type"] == "card.error"
    assert error["id"] == "next"


def test_late_read_finished_keeps_newer_read_running(hub):
    hub.handle(events.CardInserted(READER, 1, b"\x3b"))
    hub.handle(events.ReadStarted(READER, 1, read=8))
    hub.handle(events.ReadFinished(READER, 1, read=7))
    assert hub.readers[READER].reading is True
    assert hub.readers[READER].state is ReaderState.READING


def test_service_loss_sends_only_unavailable(hub):
    client = RecordingClient()
    hub.add_client(client)
    hub.handle(events.CardInserted(READER, 1, b"\x3b\x78"))
    hub.handle(events.ServiceChanged(ServiceState.UNAVAILABLE, "SERVICE_UNAVAILABLE"))
    hub.handle(events.CardRemoved(READER, 1))
    hub.handle(events.ReaderRemoved(READER))
    states = [
        message["state"] for message in client.sent if message["type"] == "service"
    ]
    assert states == ["unavailable"]


def test_monitor_failure_reaches_every_client(hub):
    clients = [RecordingClient(), RecordingClient()]
    for client in clients:
        hub.add_client(client)
    hub.handle(events.MonitorFailed("RuntimeError"))
    for client in clients:
        assert client.sent[-1]["type"] == "error"
        assert client.sent[-1]["code"] == "MONITOR_FAILED"


def test_no_readers_is_its_own_service_state(hub):
    client = RecordingClient()
    hub.add_client(client)
    hub.handle(events.ReaderRemoved(READER))
    assert client.sent[-1]["type"] == "service"
    assert client.sent[-1]["state"] == "no_readers"
    assert client.sent[-1]["code"] == "NO_READER"


def test_failing_handler_does_not_raise(hub, caplog):
    hub.handle(events.CardRead(READER, 99, None, 0.1))
    hub.handle(events.CardInserted(READER, 3, b"\x3b"))
    hub.handle(events.ReadStarted(READER, 3))
    hub.handle(events.CardRead(READER, 3, None, 0.1))  # to_json fails on None
    assert "Handling CardRead failed" in caplog.text


def test_removal_after_everything_arrived_is_no_error(hub):
    client = RecordingClient()
    hub.add_client(client)
    insert_and_read(hub, 1, "1101700203450")
    hub.handle(events.PhotoRead(READER, 1, Photo(b"\xff\xd8\xff\xd9", True), 0.9))
    hub.handle(events.CardRemoved(READER, 1))
    assert "card.error" not in client.types()


def test_removal_before_photo_is_an_error(hub):
    client = RecordingClient()
    hub.add_client(client)
    insert_and_read(hub, 1, "1101700203450")
    hub.handle(events.CardRemoved(READER, 1))
    assert client.types()[-2:] == ["card.error", "card.removed"]


def test_removal_after_text_without_photo_is_no_error(hub):
    client = RecordingClient()
    hub.add_client(client)
    hub.handle(events.CardInserted(READER, 1, b"\x3b"))
    hub.handle(events.ReadStarted(READER, 1, expects_photo=False))
    hub.handle(events.CardRead(READER, 1, FakePersonal("1101700203450"), 0.2))
    hub.handle(events.CardRemoved(READER, 1))
    assert "card.error" not in client.types()


def test_removal_after_invalid_photo_is_no_error(hub):
    client = RecordingClient()
    hub.add_client(client)
    insert_and_read(hub, 1, "1101700203450")
    hub.handle(events.PhotoRead(READER, 1, None, 0.9, "PHOTO_INVALID"))
    hub.handle(events.CardRemoved(READER, 1))
    errors = [message for message in client.sent if message["type"] == "card.error"]
    assert [error["code"] for error in errors] == ["PHOTO_INVALID"]
    assert client.types()[-1] == "card.removed"


def test_next_read_waits_for_its_own_photo(hub):
    client = RecordingClient()
    hub.add_client(client)
    insert_and_read(hub, 1, "1101700203450")
    hub.handle(events.PhotoRead(READER, 1, None, 0.9, "PHOTO_INVALID"))
    hub.handle(events.ReadFinished(READER, 1))
    hub.handle(events.ReadStarted(READER, 1))
    hub.handle(events.CardRemoved(READER, 1))
    assert client.types()[-2:] == ["card.error", "card.removed"]
    assert client.sent[-2]["code"] == "CARD_REMOVED"
