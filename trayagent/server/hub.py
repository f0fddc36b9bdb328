"""The event loop's view of readers and cards, and the fan-out to clients.

Runs on the ``ws-server`` thread only. The monitor's events arrive through
:meth:`Hub.handle` (scheduled with ``call_soon_threadsafe``); each becomes
at most a few protocol messages, encoded once and queued to every client.
The per-reader card cache lives here, in memory only, keyed by reader and
insertion, and is cleared on every removal so one patient's data is never
served for the next patient's card.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import events
from ..status import ReaderState, ReaderStatus, ServiceState
from . import messages
from .clients import Client
from .messages import Message

logger = logging.getLogger(__name__)


@dataclass
class ReaderRecord:
    """What the server knows of one reader and the card in it."""

    name: str
    state: ReaderState = ReaderState.EMPTY
    insertion: int | None = None
    atr: bytes | None = None
    error_code: str | None = None
    reading: bool = False  # from ReadStarted to ReadFinished
    read: int = 0  # the number of the latest read started
    expects_photo: bool = True  # the running read will fetch the photo
    # The running read sent card.photo, or card.error PHOTO_INVALID for it.
    photo_done: bool = False
    card: Message | None = None  # the cached card.read body
    photo: Message | None = None  # the cached card.photo body
    laser: Message | None = None  # the cached card.laser body
    nhso: Message | None = None  # the cached card.nhso body
    # Requests waiting for a read of this insertion: (client, id, read number).
    requests: list[tuple[Client, Any, int]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """Return the reader as it appears in ``hello`` and ``/api/status``."""
        return {
            "name": self.name,
            "state": self.state.value,
            "atr": _hex(self.atr) if self.insertion is not None else None,
            "error": self.error_code,
        }


class Hub:
    """Reader state, the card cache and the set of connected clients.

    :param on_change: called after every state change, on the loop thread,
        so the tray can be told.
    """

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self.readers: dict[str, ReaderRecord] = {}
        self.service = ServiceState.STARTING
        self.service_code: str | None = None
        self.clients: set[Client] = set()
        self._on_change = on_change

    # State for clients

    @property
    def service_state(self) -> str:
        """The protocol's service state: the PC/SC state, or ``no_readers``."""
        if self.service is ServiceState.AVAILABLE and not self.readers:
            return "no_readers"
        return self.service.value

    def service_message(self) -> Message:
        """Return a ``service`` message for the current state."""
        code = self.service_code
        if self.service_state == "no_readers":
            code = "NO_READER"
        fields: dict[str, Any] = {"state": self.service_state}
        if code is not None:
            fields.update(code=code, message=messages.error_message(code))
        return messages.message("service", **fields)

    def reader_statuses(self) -> tuple[ReaderStatus, ...]:
        """Return the readers for the tray."""
        return tuple(
            ReaderStatus(record.name, record.state, record.error_code)
            for record in self.readers.values()
        )

    def cards_for(self, client: Client | None) -> list[dict[str, Any]]:
        """Return each reader with its cached card, as ``hello`` lists them."""
        entries = []
        for record in self.readers.values():
            entry = record.snapshot()
            entry["card"] = record.card["card"] if record.card else None
            wants_photo = client is None or client.include_photo
            photo = record.photo if wants_photo else None
            entry["photo"] = photo["photo"] if photo else None
            for name in ("laser", "nhso"):
                cached = getattr(record, name)
                if cached is not None:
                    entry[name] = {
                        key: cached[key] for key in (name, "error") if key in cached
                    }
            entries.append(entry)
        return entries

    def present_card(self, reader: str | None) -> ReaderRecord | None:
        """Return the record of a read card: in ``reader``, or the only one."""
        if reader is not None:
            record = self.readers.get(reader)
            return record if record is not None and record.card else None
        read = [record for record in self.readers.values() if record.card]
        return read[0] if len(read) == 1 else None

    # Monitor events

    def handle(self, event: events.MonitorEvent) -> None:
        """Apply one monitor event and tell the clients; never raises."""
        try:
            self._dispatch(event)
        except Exception:
            logger.exception("Handling %s failed", type(event).__name__)
        self._on_change()

    def _dispatch(self, event: events.MonitorEvent) -> None:
        match event:
            case events.ServiceChanged():
                self._on_service(event)
            case events.MonitorFailed():
                self.broadcast(messages.error("error", "MONITOR_FAILED"))
            case events.ReaderAdded(reader=reader):
                self._on_reader_added(reader)
            case events.ReaderRemoved(reader=reader):
                self._on_reader_removed(reader)
            case events.CardInserted() | events.CardMute():
                self._on_inserted(event)
            case events.CardRemoved():
                self._on_removed(event)
            case _:
                self._on_read_event(event)

    def _on_service(self, event: events.ServiceChanged) -> None:
        before = self.service_state
        self.service, self.service_code = event.state, event.code
        if self.service_state != before:
            self.broadcast(self.service_message())

    def _on_reader_added(self, reader: str) -> None:
        before = self.service_state
        self.readers[reader] = ReaderRecord(reader)
        self.broadcast(messages.message("reader.added", reader=reader))
        if self.service_state != before:
            self.broadcast(self.service_message())

    def _on_reader_removed(self, reader: str) -> None:
        before = self.service_state
        record = self.readers.pop(reader, None)
        if record is None:
            return
        self.broadcast(messages.message("reader.removed", reader=reader))
        if self.service_state != before:
            self.broadcast(self.service_message())

    def _on_inserted(self, event: events.CardInserted | events.CardMute) -> None:
        record = self.readers.setdefault(event.reader, ReaderRecord(event.reader))
        record.insertion = event.insertion
        record.card = record.photo = record.laser = record.nhso = None
        record.reading = False
        record.requests.clear()
        if isinstance(event, events.CardMute):
            record.atr = b""
            record.state = ReaderState.MUTE
            record.error_code = "CARD_UNRESPONSIVE"
            self.broadcast(
                messages.error("card.error", "CARD_UNRESPONSIVE", reader=event.reader)
            )
            return
        record.atr = event.atr
        record.state = ReaderState.PRESENT
        record.error_code = None
        self.broadcast(
            messages.message("card.inserted", reader=event.reader, atr=_hex(event.atr))
        )

    def _on_removed(self, event: events.CardRemoved) -> None:
        record = self.readers.get(event.reader)
        if record is None or record.insertion != event.insertion:
            return
        if record.reading and not self._delivered(record):
            self._send_read_error(record, "CARD_REMOVED")
        record.reading = False
        record.requests.clear()
        record.insertion = None
        record.atr = None
        record.card = record.photo = record.laser = record.nhso = None
        record.state = ReaderState.EMPTY
        record.error_code = None
        self.broadcast(messages.message("card.removed", reader=event.reader))

    def _on_read_event(self, event: events.MonitorEvent) -> None:
        record = self.readers.get(event.reader)
        if record is None or record.insertion != event.insertion:
            # The insertion ended already: whatever its read produced belongs
            # to a card that is gone and must not reach anyone.
            logger.debug("Dropping %s of an ended insertion", type(event).__name__)
            return
        match event:
            case events.ReadStarted():
                record.reading = True
                record.read = event.read
                record.expects_photo = event.expects_photo
                record.photo_done = False
                record.state = ReaderState.READING
                record.error_code = None
            case events.CardRead():
                record.card = messages.message(
                    "card.read",
                    reader=record.name,
                    card=event.personal.to_json(),
                    duration_ms=round(event.seconds * 1000),
                )
                record.state = ReaderState.READ
                self._send_read_result(record, record.card, photo=False)
            case events.PhotoRead(error_code=None):
                record.photo = messages.message(
                    "card.photo",
                    reader=record.name,
                    photo=event.photo.to_json(),
                    duration_ms=round(event.seconds * 1000),
                )
                record.photo_done = True
                self._send_read_result(record, record.photo, photo=True)
            case events.PhotoRead():
                record.photo_done = True
                self._send_read_result(
                    record,
                    messages.error("card.error", event.error_code, reader=record.name),
                    photo=False,
                )
            case events.LaserRead() | events.NhsoRead():
                self._on_optional_read(record, event)
            case events.CardReadFailed():
                record.state = ReaderState.ERROR
                record.error_code = event.code
                self._send_read_error(record, event.code)
            case events.ReadFinished():
                # Requests for a newer read stay: a request can join a read
                # that started after this one ended but before this event
                # reached the loop.
                record.requests = [
                    entry for entry in record.requests if entry[2] > event.read
                ]
                if event.read != record.read:
                    return
                record.reading = False
                if record.state is ReaderState.READING:
                    record.state = ReaderState.PRESENT

    def _on_optional_read(
        self, record: ReaderRecord, event: events.LaserRead | events.NhsoRead
    ) -> None:
        name = "laser" if isinstance(event, events.LaserRead) else "nhso"
        data = event.laser if isinstance(event, events.LaserRead) else event.nhso
        fields: dict[str, Any] = {name: data.to_json() if data is not None else None}
        if event.error_code is not None:
            fields["error"] = {
                "code": event.error_code,
                "message": messages.error_message(event.error_code),
            }
        else:
            fields["duration_ms"] = round(event.seconds * 1000)
        body = messages.message(f"card.{name}", reader=record.name, **fields)
        # message() drops None values; the protocol sends an explicit null.
        body.setdefault(name, None)
        setattr(record, name, body)
        self._send_read_result(record, body, photo=False)

    @staticmethod
    def _delivered(record: ReaderRecord) -> bool:
        """Return whether the running read already sent all the card's data.

        The optional laser and NHSO reads come after; a removal during them
        is reported in their own messages, not as a failed card read. A photo
        that failed with PHOTO_INVALID counts as sent, because its error went
        out in place of card.photo.
        """
        photo_done = record.photo_done or not record.expects_photo
        return record.card is not None and photo_done

    def _send_read_error(self, record: ReaderRecord, code: str) -> None:
        body = messages.error("card.error", code, reader=record.name)
        self._send_read_result(record, body, photo=False)
        record.requests = [
            entry for entry in record.requests if entry[2] > record.read
        ]

    def _send_read_result(
        self, record: ReaderRecord, body: Message, *, photo: bool
    ) -> None:
        """Send a read's message to every client.

        A client that requested the running read gets one copy per request,
        each with that request's id; other clients get it once, without id.
        """
        request_ids: dict[Client, list[Any]] = {}
        for client, request_id, read in record.requests:
            if read == record.read:
                request_ids.setdefault(client, []).append(request_id)
        text = messages.encode(body)
        for client in list(self.clients):
            if photo and not client.include_photo:
                continue
            if client not in request_ids:
                client.deliver(body, text)
                continue
            for request_id in request_ids[client]:
                answer = messages.with_id(body, request_id)
                client.deliver(answer, messages.encode(answer))

    # Clients

    def add_client(self, client: Client) -> None:
        """Register a client that now receives broadcasts."""
        self.clients.add(client)

    def remove_client(self, client: Client) -> None:
        """Forget a client and any read requests it made."""
        self.clients.discard(client)
        for record in self.readers.values():
            record.requests = [
                entry for entry in record.requests if entry[0] is not client
            ]

    def broadcast(self, body: Message) -> None:
        """Encode a message once and queue it to every client."""
        if not self.clients:
            return
        text = messages.encode(body)
        for client in list(self.clients):
            client.deliver(body, text)

    def add_request(
        self, reader: str, client: Client, request_id: Any, read: int
    ) -> None:
        """Remember that ``client`` waits for read number ``read`` of ``reader``."""
        record = self.readers.get(reader)
        if record is not None:
            record.requests.append((client, request_id, read))


def _hex(data: bytes | None) -> str | None:
    return data.hex(" ").upper() if data is not None else None
