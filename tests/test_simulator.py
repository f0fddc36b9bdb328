"""The simulated reader: its cards, its events and its reads through the card layer."""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from trayagent import events
from trayagent.card.ids import is_valid_citizen_id
from trayagent.reading import ReadOptions
from trayagent.simcard import PEOPLE, SimulatedCard
from trayagent.simulator import SIMULATED_READER, TEST_CARDS, SimulatedReader
from trayagent.status import ServiceState

WAIT_SECONDS = 10.0
PCSC_READER = "Test Reader 00 00"
PEOPLE_KEYS = sorted(PEOPLE)


@dataclass
class Recorder:
    """Collects published events and lets the test wait for one."""

    events: list = field(default_factory=list)
    condition: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, event) -> None:
        with self.condition:
            self.events.append(event)
            self.condition.notify_all()

    def wait_for(self, kind: type, **fields) -> object:
        """Return the first event of ``kind`` with ``fields``, waiting for it."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self.condition:
            while True:
                for event in self.events:
                    if isinstance(event, kind) and all(
                        getattr(event, name) == value for name, value in fields.items()
                    ):
                        return event
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {kind.__name__} in {self.kinds()}"
                self.condition.wait(remaining)

    def kinds(self) -> list[str]:
        with self.condition:
            return [type(event).__name__ for event in self.events]

    def clear(self) -> None:
        with self.condition:
            self.events.clear()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_reader(recorder) -> Iterator[Callable[..., SimulatedReader]]:
    readers: list[SimulatedReader] = []

    def make(
        profile: str = "fast", options: ReadOptions | None = None
    ) -> SimulatedReader:
        reader = SimulatedReader(
            recorder.publish, lambda: options or ReadOptions(), profile=profile
        )
        reader.start()
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.stop()


def test_start_announces_service_and_reader(make_reader, recorder):
    make_reader()

    assert recorder.events == [
        events.ServiceChanged(ServiceState.AVAILABLE, None),
        events.ReaderAdded(SIMULATED_READER),
    ]


@pytest.mark.parametrize("key", PEOPLE_KEYS)
def test_person_card_is_read(make_reader, recorder, key):
    reader = make_reader()
    recorder.clear()
    person = PEOPLE[key]

    reader.insert(key)
    finished = recorder.wait_for(events.ReadFinished)

    assert recorder.kinds() == [
        "CardInserted",
        "ReadStarted",
        "CardRead",
        "PhotoRead",
        "ReadFinished",
    ]
    inserted, _started, read, photo, _finished = recorder.events
    assert inserted.insertion == finished.insertion
    assert inserted.atr == bytes.fromhex("3B 78 18 00 00 00 73 C8 40 13 00 90 00")
    assert read.personal.citizen_id == person.citizen_id
    assert read.personal.citizen_id_valid
    assert read.personal.warnings == ()
    assert photo.photo.jpeg == person.photo
    assert photo.error_code is None


def test_people_cover_the_documented_cases(make_reader, recorder):
    reader = make_reader()
    decoded = {}
    for key in PEOPLE_KEYS:
        recorder.clear()
        reader.insert(key)
        decoded[key] = recorder.wait_for(events.CardRead).personal

    assert decoded["jaidee"].address.province == "กรุงเทพมหานคร"
    assert decoded["jaidee"].address.subdistrict.startswith("แขวง")
    assert decoded["rakdee"].name_en.middle != ""
    assert decoded["sukjai"].birth_date.precision == "year"
    assert decoded["mankhong"].expiry_date.lifetime
    assert all(data.name_th.first and data.name_en.first for data in decoded.values())


def test_remove_ends_the_insertion(make_reader, recorder):
    reader = make_reader()
    reader.insert("rakdee")
    inserted = recorder.wait_for(events.CardInserted)
    recorder.wait_for(events.ReadFinished)

    reader.remove()

    removed = recorder.wait_for(events.CardRemoved)
    assert removed == events.CardRemoved(SIMULATED_READER, inserted.insertion)
    assert reader.inserted is None
    assert reader.readers_with_card() == []


def test_insert_replaces_the_card_in(make_reader, recorder):
    reader = make_reader(options=ReadOptions(auto_read=False))
    reader.insert("jaidee")
    first = recorder.wait_for(events.CardInserted)
    recorder.clear()

    reader.insert("sukjai")

    assert recorder.kinds() == ["CardRemoved", "CardInserted"]
    removed, second = recorder.events
    assert removed.insertion == first.insertion
    assert second.insertion > first.insertion
    assert reader.inserted == "sukjai"


def test_insertions_are_unique_across_readers(make_reader, recorder):
    options = ReadOptions(auto_read=False)
    first, second = make_reader(options=options), make_reader(options=options)
    for reader in (first, second, first, second):
        reader.insert("jaidee")

    numbers = [
        e.insertion for e in recorder.events if isinstance(e, events.CardInserted)
    ]
    assert len(numbers) == 4
    assert len(set(numbers)) == 4


def test_read_error_card_fails_with_read_failed(make_reader, recorder):
    reader = make_reader()

    reader.insert("read-error")

    failed = recorder.wait_for(events.CardReadFailed)
    assert failed.code == "READ_FAILED"
    assert "CardRead" not in recorder.kinds()


def test_read_error_card_fails_every_read(make_reader, recorder):
    reader = make_reader(options=ReadOptions(auto_read=False))
    reader.insert("read-error")

    codes = [
        reader.request_read(SIMULATED_READER).result(WAIT_SECONDS).code for _ in "ab"
    ]

    assert codes == ["READ_FAILED", "READ_FAILED"]


def test_non_thai_card_fails_with_not_thai(make_reader, recorder):
    reader = make_reader()

    reader.insert("non-thai")

    failed = recorder.wait_for(events.CardReadFailed)
    assert failed.code == "NOT_THAI_ID_CARD"
    assert recorder.kinds()[-1] == "ReadFinished"


def test_mute_card_is_never_read(make_reader, recorder):
    reader = make_reader()
    recorder.clear()

    reader.insert("mute")
    outcome = reader.request_read(SIMULATED_READER).result(WAIT_SECONDS)

    assert recorder.kinds() == ["CardMute"]
    assert outcome.code == "CARD_UNRESPONSIVE"
    assert reader.readers_with_card() == []
    assert reader.inserted == "mute"


def test_auto_read_off_only_inserts(make_reader, recorder):
    reader = make_reader(options=ReadOptions(auto_read=False))
    recorder.clear()

    reader.insert("jaidee")

    assert recorder.kinds() == ["CardInserted"]
    assert reader.readers_with_card() == [SIMULATED_READER]


def test_request_during_read_joins_it(make_reader, recorder):
    reader = make_reader(profile="real", options=ReadOptions(auto_read=False))
    reader.insert("jaidee")

    first = reader.request_read(SIMULATED_READER)
    second = reader.request_read(SIMULATED_READER)
    outcome = first.result(WAIT_SECONDS)

    assert second is first
    assert outcome.code is None
    assert recorder.kinds().count("ReadStarted") == 1


def test_request_after_read_reads_again(make_reader, recorder):
    reader = make_reader()
    reader.insert("jaidee")
    recorder.wait_for(events.ReadFinished)

    outcome = reader.request_read(SIMULATED_READER).result(WAIT_SECONDS)

    assert outcome.code is None
    assert recorder.kinds().count("CardRead") == 2


def test_removal_mid_read_ends_with_card_removed(make_reader, recorder):
    reader = make_reader(profile="real")
    reader.insert("mankhong")
    inserted = recorder.wait_for(events.CardInserted)
    future = reader.request_read(SIMULATED_READER)
    recorder.wait_for(events.ReadStarted)

    reader.remove()
    outcome = future.result(WAIT_SECONDS)
    recorder.wait_for(events.ReadFinished)

    assert outcome.code == "CARD_REMOVED"
    kinds = recorder.kinds()
    assert kinds.index("CardRemoved") < kinds.index("CardReadFailed")
    failed = recorder.wait_for(events.CardReadFailed)
    assert failed == events.CardReadFailed(
        SIMULATED_READER, inserted.insertion, "CARD_REMOVED"
    )
    assert "PhotoRead" not in kinds


@pytest.mark.parametrize(
    ("reader_name", "card", "code"),
    [
        (SIMULATED_READER, None, "NO_CARD"),
        ("Another Reader", "jaidee", "UNKNOWN_READER"),
    ],
)
def test_read_that_cannot_start(make_reader, reader_name, card, code):
    reader = make_reader(options=ReadOptions(auto_read=False))
    if card is not None:
        reader.insert(card)

    outcome = reader.request_read(reader_name).result(WAIT_SECONDS)

    assert outcome.code == code


def test_unknown_card_raises_value_error(make_reader, recorder):
    reader = make_reader()
    recorder.clear()

    with pytest.raises(ValueError, match="Unknown test card 'nobody'"):
        reader.insert("nobody")
    assert recorder.events == []


def test_read_before_start_is_unknown_reader(recorder):
    reader = SimulatedReader(recorder.publish, ReadOptions, profile="fast")

    outcome = reader.request_read(SIMULATED_READER).result(WAIT_SECONDS)

    assert outcome.code == "UNKNOWN_READER"


def test_stop_joins_the_read_threads(recorder):
    reader = SimulatedReader(recorder.publish, ReadOptions, profile="real")
    reader.start()
    reader.insert("mankhong")
    recorder.wait_for(events.ReadStarted)

    reader.stop(timeout=2.0)

    names = [thread.name for thread in threading.enumerate()]
    assert not any(name.startswith("card-read-") for name in names)
    assert recorder.kinds()[-1] == "ReadFinished"


def test_read_threads_are_named_by_insertion(make_reader, recorder):
    reader = make_reader(profile="real")

    reader.insert("jaidee")
    inserted = recorder.wait_for(events.CardInserted)
    recorder.wait_for(events.ReadStarted)
    names = [thread.name for thread in threading.enumerate()]

    assert f"card-read-{inserted.insertion}" in names


def test_available_cards_list_every_card(make_reader):
    cards = make_reader().available_cards()

    keys = [card["key"] for card in cards]
    assert keys == [*PEOPLE, "non-thai", "read-error", "mute"]
    assert all(set(card) == {"key", "description"} for card in cards)


def test_cards_carry_no_personal_data(make_reader):
    text = repr(make_reader().available_cards())

    leaked = [
        value
        for person in PEOPLE.values()
        for value in (person.citizen_id, *person.name_th.split("#")[1:2])
        if value in text
    ]
    assert leaked == []


def test_people_are_fictional_with_valid_ids():
    # The people are the project's own fictional test people, and every
    # test card is built from one of them.
    assert all(is_valid_citizen_id(person.citizen_id) for person in PEOPLE.values())
    assert {card.person for card in TEST_CARDS.values()} <= set(PEOPLE)


def test_logs_carry_no_personal_data(make_reader, recorder, caplog):
    caplog.set_level(logging.DEBUG)
    reader = make_reader()
    for key in [*PEOPLE_KEYS, "non-thai", "read-error", "mute"]:
        recorder.clear()
        reader.insert(key)
        if key != "mute":
            recorder.wait_for(events.ReadFinished)
    reader.remove()

    values = [
        value
        for person in PEOPLE.values()
        for value in (
            person.citizen_id,
            person.birth_date,
            *(part for part in person.name_th.split("#") if len(part) > 3),
            *(part for part in person.name_en.split("#") if len(part) > 3),
        )
    ]
    leaked = [value for value in values if value in caplog.text]
    assert leaked == []


@pytest.mark.pcsc
@pytest.mark.parametrize("key", PEOPLE_KEYS)
def test_simulated_read_equals_pcsc_read(slot0, make_reader, recorder, key):
    """The simulated reader gives exactly what PC/SC gives for the same card."""
    from trayagent.pcsc.monitor import Monitor

    pcsc = Recorder()
    monitor = Monitor(pcsc.publish, ReadOptions)
    monitor.start()
    try:
        slot0.insert(SimulatedCard(PEOPLE[key]))
        pcsc_read = pcsc.wait_for(events.CardRead, reader=PCSC_READER)
        pcsc_photo = pcsc.wait_for(events.PhotoRead, reader=PCSC_READER)
    finally:
        monitor.stop()

    make_reader().insert(key)
    read = recorder.wait_for(events.CardRead)
    photo = recorder.wait_for(events.PhotoRead)

    assert read.personal.to_json() == pcsc_read.personal.to_json()
    assert photo.photo.to_json() == pcsc_photo.photo.to_json()
