"""A process that inserts and removes simulated cards on command.

``python -m bench.cardhost`` keeps the project's simulated cards
(:mod:`trayagent.simcard`) in the two vpcd slots, in a process of its own so
that the card's sleeps and socket work never share a GIL with the clients
that take the timestamps. Its main thread reads one command a line from
standard input and writes one reply a line to standard output. Each
inserted card is served on its ``vpcd-slot-PORT`` thread.

Commands: ``insert SLOT PROFILE PERSON``, ``remove SLOT`` and ``quit``.
Replies: ``ok`` or ``error MESSAGE``; after ``remove``, ``ok`` is followed by
a JSON object with what the card that left received and sent: its command
count by INS byte and its response bytes, status words included.

:class:`CardHost` starts the process and sends the commands, on the
caller's thread, one command at a time.
"""

import json
import logging
import subprocess
import sys
import threading
from collections import Counter
from typing import Any

from trayagent.simcard import PEOPLE, Exchange, SimulatedCard, VpcdError, VpcdSlot

from . import REPOSITORY
from .stack import SLOT_PORTS

logger = logging.getLogger(__name__)


def main() -> int:
    """Serve commands from standard input until ``quit`` or its end."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    slots = [VpcdSlot(port) for port in SLOT_PORTS]
    try:
        for line in sys.stdin:
            words = line.split()
            if words == ["quit"]:
                break
            print(_run_command(slots, words), flush=True)
    finally:
        for slot in slots:
            slot.remove()
    return 0


class _CountingCard(SimulatedCard):
    """A simulated card that counts the bytes of its responses."""

    response_bytes = 0

    def process(self, apdu: bytes) -> Exchange:
        exchange = super().process(apdu)
        if exchange.response is not None:
            self.response_bytes += len(exchange.response)
        return exchange

    def traffic(self) -> dict[str, Any]:
        """Return the commands by INS byte (hex) and the response bytes."""
        commands = Counter(apdu_hex[2:4] for apdu_hex in self.apdu_log)
        return {"commands": dict(commands), "response_bytes": self.response_bytes}


def _run_command(slots: list[VpcdSlot], words: list[str]) -> str:
    try:
        match words:
            case ["insert", slot, profile, person]:
                slots[int(slot)].insert(_CountingCard(PEOPLE[person], profile))
            case ["remove", slot]:
                return "ok " + json.dumps(_remove(slots[int(slot)]))
            case _:
                return f"error unknown command {' '.join(words)!r}"
    except (VpcdError, KeyError, IndexError, ValueError) as error:
        return f"error {type(error).__name__}: {error}"
    return "ok"


def _remove(slot: VpcdSlot) -> dict[str, Any]:
    card = slot.card if slot.is_inserted else None
    slot.remove()
    return card.traffic() if isinstance(card, _CountingCard) else {}


class CardHostError(Exception):
    """The card host rejected a command or exited."""


class CardHost:
    """The ``bench.cardhost`` process, driven over its standard input."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.cardhost"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=REPOSITORY,
        )
        self._lock = threading.Lock()

    def insert(self, slot: int, profile: str, person: str = "jaidee") -> None:
        """Insert a card of ``person`` with ``profile`` into ``slot`` (0 or 1)."""
        self._command(f"insert {slot} {profile} {person}")

    def remove(self, slot: int) -> dict[str, Any]:
        """Remove the card from ``slot``; return what it received and sent.

        An empty slot stays empty.
        """
        return json.loads(self._command(f"remove {slot}") or "{}")

    def close(self) -> None:
        """Remove every card and wait for the process to exit."""
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.write("quit\n")
            self._process.stdin.close()
            self._process.wait(10)

    def _command(self, command: str) -> str:
        """Send one command; return the reply's text after ``ok``."""
        assert self._process.stdin is not None and self._process.stdout is not None
        with self._lock:
            self._process.stdin.write(command + "\n")
            reply = self._process.stdout.readline().strip()
        status, _, details = reply.partition(" ")
        if status != "ok":
            raise CardHostError(f"Card host: {command!r} failed: {reply or 'exited'}")
        return details


if __name__ == "__main__":
    sys.exit(main())
