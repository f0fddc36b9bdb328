"""The independent observer, and the floor read, in a process of their own.

``python -m bench.observer READER`` blocks in a raw pyscard
``SCardGetStatusChange`` on one reader, the same call the agent's monitor
makes, and writes one JSON line to standard output per state change, with
``time.monotonic()`` taken right after the call returns. CLOCK_MONOTONIC is
system-wide on Linux, so those times compare with the client's.

With ``--read`` it is also the floor of a card read. On each insertion it
connects and sends the least APDU sequence that reads every text field and
the photo: SELECT, then READ BINARY and GET RESPONSE per field and per
255-byte photo piece. It uses no transaction, no second SELECT and no
decoding, and reports when the text fields and the photo were complete.

Everything there runs on the main thread of that process.
:class:`ObserverProcess` starts it from the benchmark's event loop and
queues its records.
"""

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from smartcard import scard

from trayagent.card import layout

from . import REPOSITORY

GET_RESPONSE = bytes.fromhex("00C00000")
SELECT_PERSONAL = bytes.fromhex("00A4040008") + layout.PERSONAL_AID
PHOTO_PIECE = layout.MAX_READ_LENGTH
# Attempts per READ BINARY and GET RESPONSE pair: vpcd 3.3 lets its presence
# poll cross an exchange now and then, which fails with SCARD_E_NOT_TRANSACTED.
MAX_ATTEMPTS = 4


class FloorError(Exception):
    """A PC/SC call of the floor read failed."""


def main(argv: list[str] | None = None) -> int:
    """Watch the reader until standard output closes or pcscd goes away."""
    parser = argparse.ArgumentParser(prog="python -m bench.observer")
    parser.add_argument("reader")
    parser.add_argument("--read", action="store_true", help="run the floor read")
    arguments = parser.parse_args(argv)
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if result != scard.SCARD_S_SUCCESS:
        print(json.dumps({"error": scard.SCardGetErrorMessage(result)}), flush=True)
        return 1
    try:
        return _watch(context, arguments.reader, arguments.read)
    finally:
        scard.SCardReleaseContext(context)


def _watch(context: int, reader: str, read: bool) -> int:
    states = [(reader, scard.SCARD_STATE_UNAWARE, [])]
    initial = True
    present = None
    while True:
        result, states = scard.SCardGetStatusChange(context, scard.INFINITE, states)
        woke = time.monotonic()
        if result != scard.SCARD_S_SUCCESS:
            _emit({"error": scard.SCardGetErrorMessage(result), "t": woke})
            return 1
        _name, event_state, _atr = states[0]
        now_present = bool(event_state & scard.SCARD_STATE_PRESENT)
        if now_present != present:
            record = {
                "t": woke,
                "present": now_present,
                "counter": (event_state >> 16) & 0xFFFF,
                "initial": initial,
            }
            if read and now_present and not initial:
                record.update(_floor_read(context, reader, woke))
            _emit(record)
            present = now_present
        initial = False
        states = [
            (name, state & ~scard.SCARD_STATE_CHANGED, atr)
            for name, state, atr in states
        ]


def _emit(record: dict) -> None:
    try:
        print(json.dumps(record), flush=True)
    except BrokenPipeError:
        sys.exit(0)


def _floor_read(context: int, reader: str, woke: float) -> dict:
    """Read every text field and the photo; return the times in seconds."""
    try:
        card, protocol = _connect(context, reader)
    except FloorError as error:
        return {"floor_error": str(error)}
    session = _FloorSession(card, protocol)
    try:
        connected = time.monotonic()
        session.transmit(SELECT_PERSONAL)
        text_bytes = 0
        for field in layout.TEXT_FIELDS:
            text_bytes += len(session.read(field.offset, field.length))
        text_done = time.monotonic()
        photo = bytearray()
        while len(photo) < layout.PHOTO.length:
            length = min(PHOTO_PIECE, layout.PHOTO.length - len(photo))
            photo += session.read(layout.PHOTO.offset + len(photo), length)
        photo_done = time.monotonic()
    except FloorError as error:
        return {"floor_error": str(error), "retries": session.retries}
    finally:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
    return {
        "connected": connected - woke,
        "text_done": text_done - woke,
        "photo_done": photo_done - woke,
        "text_bytes": text_bytes,
        "photo_bytes": len(photo),
        "retries": session.retries,
    }


def _connect(context: int, reader: str) -> tuple[int, int]:
    result, card, protocol = scard.SCardConnect(
        context,
        reader,
        scard.SCARD_SHARE_SHARED,
        scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
    )
    if result != scard.SCARD_S_SUCCESS:
        raise FloorError("SCardConnect: " + scard.SCardGetErrorMessage(result))
    return card, protocol


class _FloorSession:
    """A connected card and the count of READ BINARY pairs sent again."""

    def __init__(self, card: int, protocol: int) -> None:
        self.card = card
        self.protocol = protocol
        self.retries = 0

    def read(self, offset: int, length: int) -> bytes:
        """READ BINARY then GET RESPONSE; the pair is sent again after a failure."""
        command = bytes((0x80, 0xB0, offset >> 8, offset & 0xFF, 0x02, 0x00, length))
        attempt = 1
        while True:
            try:
                self.transmit(command)
                return self.transmit(GET_RESPONSE + bytes((length,)))
            except FloorError:
                if attempt >= MAX_ATTEMPTS:
                    raise
            attempt += 1
            self.retries += 1

    def transmit(self, apdu: bytes) -> bytes:
        """Send one APDU; return its data when the status word is 9000 or 61xx."""
        result, response = scard.SCardTransmit(self.card, self.protocol, list(apdu))
        if result != scard.SCARD_S_SUCCESS:
            raise FloorError("SCardTransmit: " + scard.SCardGetErrorMessage(result))
        if len(response) < 2 or response[-2] not in (0x90, 0x61):
            raise FloorError(f"unexpected status word {bytes(response[-2:]).hex()}")
        return bytes(response[:-2])


class ObserverProcess:
    """A running ``bench.observer`` and the records it has written.

    :param read: run the floor read on each insertion.
    :param command: run this program instead; it must write the same records.
    """

    def __init__(
        self, reader: str, read: bool = False, command: list[str] | None = None
    ) -> None:
        options = ["--read"] if read else []
        self.command = command or [
            sys.executable,
            "-m",
            "bench.observer",
            reader,
            *options,
        ]
        self.records: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the observer and wait for its first record, the current state."""
        self._process = await asyncio.create_subprocess_exec(
            *self.command,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPOSITORY,
        )
        self._task = asyncio.create_task(self._collect())
        first = await self.next(timeout=10.0)
        if not first.get("initial"):
            raise RuntimeError(f"The observer started with {first}")

    async def next(self, timeout: float = 10.0) -> dict[str, Any]:
        """Return the next state change.

        :raises RuntimeError: the observer reported an error.
        :raises TimeoutError: no change came within ``timeout`` seconds.
        """
        record = await asyncio.wait_for(self.records.get(), timeout)
        if "error" in record:
            raise RuntimeError(f"The observer failed: {record['error']}")
        return record

    async def expect(self, present: bool, timeout: float = 10.0) -> dict[str, Any]:
        """Return the next state change, which must show ``present``."""
        record = await self.next(timeout)
        if record["present"] is not present:
            raise RuntimeError(f"The observer saw {record}, expected present={present}")
        return record

    async def stop(self) -> None:
        """Stop the observer process."""
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        if self._task is not None:
            await self._task

    async def _collect(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            await self.records.put(json.loads(line))


if __name__ == "__main__":
    sys.exit(main())
