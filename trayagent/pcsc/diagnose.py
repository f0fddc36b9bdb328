"""PC/SC facts for ``trayagent doctor``: the service, the readers, one SELECT.

Runs on the thread that runs the doctor, never on the event loop thread,
because every call blocks on the PC/SC service. Each function opens and
releases a PC/SC context of its own and returns plain values. Result codes
are given by name (``"SCARD_E_NO_SERVICE"``), so the doctor can explain
them without importing pyscard.

The only command ever sent to a card is the SELECT of an application
identifier. A card is connected in shared mode and left powered
(``SCARD_LEAVE_CARD``), so a program reading it at the same time loses
nothing, and no personal field is read.
"""

import logging
import time
from dataclasses import dataclass

from smartcard import scard

from . import scard as pcsc
from .scard import PcscError

logger = logging.getLogger(__name__)

# PC/SC results after which the SELECT is tried again with a new connection:
# another program reset the card or held it in a transaction, or vpcd's
# presence polling crossed the exchange.
_TRANSIENT = frozenset(
    {
        scard.SCARD_E_NOT_TRANSACTED,
        scard.SCARD_E_SHARING_VIOLATION,
        scard.SCARD_W_RESET_CARD,
        scard.SCARD_E_COMM_DATA_LOST,
    }
)
SELECT_ATTEMPTS = 3
# Seconds between two attempts, so that another program's transaction,
# which the agent bounds at its read timeout, can end.
RETRY_DELAY = 0.2

_RESULT_PREFIXES = ("SCARD_S_", "SCARD_E_", "SCARD_W_", "SCARD_F_")
_STATE_FLAGS = (
    "UNKNOWN",
    "UNAVAILABLE",
    "EMPTY",
    "PRESENT",
    "EXCLUSIVE",
    "INUSE",
    "MUTE",
    "UNPOWERED",
)


@dataclass(frozen=True)
class ServiceProbe:
    """Whether a PC/SC context could be established.

    :param result: the PC/SC result name when it failed, else ``None``.
    :param message: the result code in hex with the platform's message.
    """

    reachable: bool
    result: str | None = None
    message: str = ""


@dataclass(frozen=True)
class ReaderProbe:
    """One reader's state as the service reports it.

    :param state: ``"empty"``, ``"card present"``, ``"mute card"`` (a card
        with no ATR), ``"in use"`` (another program connected to the card in
        exclusive mode) or ``"unavailable"``.
    :param flags: the ``SCARD_STATE_*`` names that are set, without prefix.
    """

    name: str
    state: str
    atr: bytes
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ReadersProbe:
    """The reader list, or the PC/SC result name that prevented listing it."""

    readers: tuple[ReaderProbe, ...] = ()
    result: str | None = None
    message: str = ""


@dataclass(frozen=True)
class SelectProbe:
    """The outcome of one SELECT sent to the card in a reader.

    :param sw: the status word, ``None`` when no response arrived.
    :param milliseconds: how long ``SCardTransmit`` took for the SELECT.
    :param protocol: ``"T=0"`` or ``"T=1"``, as the connection negotiated.
    :param result: the PC/SC result name when connecting or transmitting
        failed, else ``None``.
    :param attempts: how many SELECTs were sent, 1 unless a transient
        PC/SC failure made it try again.
    """

    reader: str
    atr: bytes = b""
    sw: int | None = None
    milliseconds: float | None = None
    protocol: str = ""
    result: str | None = None
    message: str = ""
    attempts: int = 0


def result_name(result: int) -> str:
    """Return the ``SCARD_*`` name of a PC/SC result code, or its hex value."""
    return _RESULT_NAMES.get(result & 0xFFFFFFFF, f"0x{result & 0xFFFFFFFF:08X}")


def probe_service() -> ServiceProbe:
    """Establish and release a user-scope PC/SC context."""
    try:
        context = pcsc.establish_context()
    except PcscError as error:
        return ServiceProbe(
            False, result_name(error.result), pcsc.describe(error.result)
        )
    pcsc.release_context(context)
    return ServiceProbe(True)


def probe_readers() -> ReadersProbe:
    """List every reader with its current state, without waiting for a change."""
    try:
        context = pcsc.establish_context()
    except PcscError as error:
        return ReadersProbe(result=result_name(error.result), message=str(error))
    try:
        names = pcsc.list_readers(context)
        if not names:
            return ReadersProbe()
        states = [(name, scard.SCARD_STATE_UNAWARE) for name in names]
        events = pcsc.get_status_change(context, 0, states)
    except PcscError as error:
        return ReadersProbe(result=result_name(error.result), message=str(error))
    finally:
        pcsc.release_context(context)
    return ReadersProbe(tuple(_reader_probe(event) for event in events))


def probe_select(reader: str, apdu: bytes) -> SelectProbe:
    """Send one SELECT command APDU to the card in ``reader``; read nothing else.

    A status word of 61xx is returned as it is: the response data it offers
    is never fetched with GET RESPONSE. A transient PC/SC failure is tried
    again, up to ``SELECT_ATTEMPTS`` SELECTs in all.
    """
    try:
        context = pcsc.establish_context()
    except PcscError as error:
        return _failed(reader, error.result, 0)
    try:
        for attempt in range(1, SELECT_ATTEMPTS + 1):
            probe = _select_once(context, reader, apdu, attempt)
            if probe.result not in _TRANSIENT_NAMES:
                return probe
            logger.debug("SELECT in %s: %s; trying again", reader, probe.message)
            time.sleep(RETRY_DELAY)
        return probe
    finally:
        pcsc.release_context(context)


def _select_once(context: int, reader: str, apdu: bytes, attempt: int) -> SelectProbe:
    result, card, protocol = scard.SCardConnect(
        context, reader, scard.SCARD_SHARE_SHARED, pcsc.PROTOCOLS
    )
    if result != scard.SCARD_S_SUCCESS:
        # Connecting sends no command, so this attempt did not count.
        return _failed(reader, result, attempt - 1)
    try:
        atr = _atr(card)
        started = time.perf_counter()
        result, response = scard.SCardTransmit(card, protocol, list(apdu))
        milliseconds = (time.perf_counter() - started) * 1000
    finally:
        disconnected = scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        if disconnected != scard.SCARD_S_SUCCESS:
            logger.debug("SCardDisconnect: %s", pcsc.describe(disconnected))
    protocol_name = "T=1" if protocol == scard.SCARD_PROTOCOL_T1 else "T=0"
    if result != scard.SCARD_S_SUCCESS:
        failed = _failed(reader, result, attempt)
        return SelectProbe(
            reader,
            atr,
            protocol=protocol_name,
            result=failed.result,
            message=failed.message,
            attempts=attempt,
        )
    sw = (response[-2] << 8) | response[-1] if len(response) >= 2 else None
    logger.debug("SELECT in %s: SW %s in %.1f ms", reader, sw, milliseconds)
    return SelectProbe(reader, atr, sw, milliseconds, protocol_name, attempts=attempt)


def _atr(card: int) -> bytes:
    result, _reader, _state, _protocol, atr = scard.SCardStatus(card)
    return bytes(atr) if result == scard.SCARD_S_SUCCESS else b""


def _failed(reader: str, result: int, attempts: int) -> SelectProbe:
    return SelectProbe(
        reader,
        result=result_name(result),
        message=pcsc.describe(result),
        attempts=attempts,
    )


def _reader_probe(event: pcsc.ReaderEvent) -> ReaderProbe:
    flags = tuple(
        flag
        for flag in _STATE_FLAGS
        if event.state & getattr(scard, f"SCARD_STATE_{flag}")
    )
    if pcsc.is_gone(event):
        state = "unavailable"
    elif not pcsc.is_present(event):
        state = "empty"
    elif pcsc.is_mute(event):
        state = "mute card"
    elif event.state & scard.SCARD_STATE_EXCLUSIVE:
        state = "in use"
    else:
        state = "card present"
    return ReaderProbe(event.reader, state, event.atr, flags)


def _result_names() -> dict[int, str]:
    names: dict[int, str] = {}
    for name in sorted(dir(scard)):
        value = getattr(scard, name)
        if name.startswith(_RESULT_PREFIXES) and isinstance(value, int):
            names.setdefault(value & 0xFFFFFFFF, name)
    return names


_RESULT_NAMES = _result_names()
_TRANSIENT_NAMES = frozenset(result_name(result) for result in _TRANSIENT)
