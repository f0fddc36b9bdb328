"""Scriptable fakes of :class:`CardConnection` for the card unit tests.

:class:`FakeConnection` records every APDU, reconnect and transaction, and
gets each response from a responder: a :class:`Script` of exact command and
response hex, or a :class:`FakeThaiCard` that serves a card image the way a
T=0 or T=1 Thai ID card does. Both raise AssertionError on a command they do
not expect, so a wrong APDU fails the test at once. Faults (an exception or a
status word at the Nth APDU) are injected at the connection.
"""

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager

from trayagent.card.layout import PERSONAL_AID

# ATRs in the style of Thai ID cards, all T=0.
ATR_T0 = bytes.fromhex("3B7818000073C84013009000")
ATR_3B67 = bytes.fromhex("3B6700002920006F789000")

Response = str | BaseException
Responder = Callable[[bytes], bytes]


def compact(hex_text: str) -> str:
    """Return ``hex_text`` upper-case and without spaces, as ``sent`` stores it."""
    return hex_text.replace(" ", "").upper()


class FakeClock:
    """A monotonic clock that moves only when a test or the card moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Script:
    """Expected command APDUs in order, each with its response or an exception.

    A response is hex of data followed by SW1 SW2. A command out of order, or
    one after the script ran out, raises AssertionError.
    """

    def __init__(self, exchanges: Iterable[tuple[str, Response]]) -> None:
        self._pending = deque(
            (compact(command), answer) for command, answer in exchanges
        )

    def __call__(self, apdu: bytes) -> bytes:
        sent = apdu.hex().upper()
        assert self._pending, f"unexpected APDU {sent}: the script has ended"
        expected, answer = self._pending.popleft()
        assert sent == expected, f"unexpected APDU {sent}, expected {expected}"
        if isinstance(answer, BaseException):
            raise answer
        return bytes.fromhex(answer)

    @property
    def remaining(self) -> int:
        """The number of exchanges not yet sent."""
        return len(self._pending)


class FakeThaiCard:
    """A Thai ID card that serves READ BINARY from a file image.

    :param image: the personal applet's file.
    :param t1: answer READ BINARY with data and 9000 directly instead of 61xx.
    :param get_response_p2: the only P2 that GET RESPONSE accepts; others get
        6B00, as cards whose ATR starts ``3B 67`` reject P2 ``00``.
    :param offered_length: answer READ BINARY with ``61 xx`` for this many
        bytes whatever length was requested.
    """

    def __init__(
        self,
        image: bytes,
        *,
        t1: bool = False,
        get_response_p2: int = 0x00,
        offered_length: int | None = None,
    ) -> None:
        self.image = image
        self.t1 = t1
        self.get_response_p2 = get_response_p2
        self.offered_length = offered_length
        self.selected = False
        self._pending = b""

    def deselect(self) -> None:
        """Behave as if another program had selected another applet."""
        self.selected = False

    def __call__(self, apdu: bytes) -> bytes:
        if apdu == bytes.fromhex("00A4040008") + PERSONAL_AID:
            self.selected = True
            return b"\x61\x0a"
        if apdu[:2] == b"\x80\xb0":
            return self._read_binary(apdu)
        if apdu[:3] == b"\x00\xc0\x00" and len(apdu) == 5:
            return self._get_response(apdu)
        raise AssertionError(f"unexpected APDU {apdu.hex().upper()}")

    def _read_binary(self, apdu: bytes) -> bytes:
        assert len(apdu) == 7, f"malformed READ BINARY {apdu.hex().upper()}"
        assert apdu[4:6] == b"\x02\x00", f"malformed READ BINARY {apdu.hex().upper()}"
        if not self.selected:
            return b"\x69\x86"
        offset = int.from_bytes(apdu[2:4], "big")
        length = self.offered_length or apdu[6]
        data = self.image[offset : offset + length]
        if self.t1:
            return data + b"\x90\x00"
        self._pending = data
        return bytes((0x61, len(data)))

    def _get_response(self, apdu: bytes) -> bytes:
        if apdu[3] != self.get_response_p2:
            return b"\x6b\x00"
        if not self._pending:
            return b"\x69\x85"
        if apdu[4] != len(self._pending):
            return bytes((0x6C, len(self._pending)))
        data, self._pending = self._pending, b""
        return data + b"\x90\x00"


class FakeConnection:
    """A :class:`CardConnection` whose responses come from a responder.

    :param faults: exceptions to raise instead of answering, keyed by the
        1-based number of the APDU; the responder never sees that APDU.
    :param status_words: status words to answer instead of the responder,
        keyed the same way.
    :param clock: advanced by ``seconds_per_apdu`` on every APDU.
    :param reconnect_errors: exceptions that successive reconnects raise.
    """

    def __init__(
        self,
        responder: Responder,
        *,
        atr: bytes = ATR_T0,
        faults: Mapping[int, BaseException] | None = None,
        status_words: Mapping[int, int] | None = None,
        clock: FakeClock | None = None,
        seconds_per_apdu: float = 0.0,
        reconnect_errors: Iterable[BaseException] = (),
    ) -> None:
        self.responder = responder
        self._atr = atr
        self._faults = dict(faults or {})
        self._status_words = dict(status_words or {})
        self._clock = clock
        self._seconds_per_apdu = seconds_per_apdu
        self._reconnect_errors = deque(reconnect_errors)
        self.sent: list[str] = []
        self.events: list[str] = []
        self.in_transaction = False

    @property
    def atr(self) -> bytes:
        return self._atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu.hex().upper())
        self.events.append(apdu.hex().upper())
        if self._clock is not None:
            self._clock.advance(self._seconds_per_apdu)
        step = len(self.sent)
        if step in self._faults:
            raise self._faults[step]
        if step in self._status_words:
            return b"", self._status_words[step]
        response = self.responder(apdu)
        return response[:-2], int.from_bytes(response[-2:], "big")

    def reconnect(self) -> None:
        self.events.append("reconnect")
        if self._reconnect_errors:
            raise self._reconnect_errors.popleft()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        assert not self.in_transaction, "transaction opened inside a transaction"
        self.events.append("begin")
        self.in_transaction = True
        try:
            yield
        finally:
            self.in_transaction = False
            self.events.append("end")
