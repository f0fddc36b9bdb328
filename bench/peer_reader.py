"""The peer's read: pythaiidcard's ``read_card`` on each insertion.

Run by the Python of the peer's own venv (``bench/.work/peer-venv``), which
has pythaiidcard and pyscard but not trayagent, so this file imports
neither trayagent nor the rest of ``bench``. It speaks the observer's
protocol: one JSON line per state change of the reader, with the
``time.monotonic()`` of the wake-up, and on an insertion the seconds until
``read_card`` returned, as ``done``. Runs on the main thread of its process.

NOTE: pythaiidcard 0.3.0 needs Python 3.13 or later, so this file has not
run on a machine with Python 3.11 only.
"""

import json
import sys
import time

from pythaiidcard import ThaiIDCardReader
from smartcard import scard
from smartcard.System import readers


def main() -> int:
    """Watch the reader named by the first argument and read each card."""
    reader_name = sys.argv[1]
    index = [str(reader) for reader in readers()].index(reader_name)
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if result != scard.SCARD_S_SUCCESS:
        print(json.dumps({"error": scard.SCardGetErrorMessage(result)}), flush=True)
        return 1
    states = [(reader_name, scard.SCARD_STATE_UNAWARE, [])]
    present = None
    initial = True
    while True:
        result, states = scard.SCardGetStatusChange(context, scard.INFINITE, states)
        woke = time.monotonic()
        if result != scard.SCARD_S_SUCCESS:
            print(json.dumps({"error": scard.SCardGetErrorMessage(result)}), flush=True)
            return 1
        now_present = bool(states[0][1] & scard.SCARD_STATE_PRESENT)
        if now_present != present:
            record = {"t": woke, "present": now_present, "initial": initial}
            if now_present and not initial:
                record.update(_read(index, woke))
            print(json.dumps(record), flush=True)
            present = now_present
        initial = False
        states = [(n, s & ~scard.SCARD_STATE_CHANGED, a) for n, s, a in states]


def _read(index: int, woke: float) -> dict:
    reader = ThaiIDCardReader(reader_index=index, skip_system_check=True)
    try:
        with reader.card_session():
            card = reader.read_card(include_photo=True)
    except Exception as error:  # noqa: BLE001 - any failure is reported, by type
        return {"peer_error": type(error).__name__}
    photo = getattr(card, "photo", None)
    return {"done": time.monotonic() - woke, "photo_bytes": len(photo or b"")}


if __name__ == "__main__":
    sys.exit(main())
