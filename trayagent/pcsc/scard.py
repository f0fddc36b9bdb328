"""Thin helpers over pyscard's ``smartcard.scard`` calls.

Every function returns plain values or raises :class:`PcscError` carrying the
PC/SC result code. They run on whichever thread calls them; each thread uses
a PC/SC context of its own, as pcsc-lite asks.
"""

import logging
from dataclasses import dataclass

from smartcard import scard

logger = logging.getLogger(__name__)

PNP_NOTIFICATION = "\\\\?PnP?\\Notification"
PROTOCOLS = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1

# The service is gone or was restarted: the context must be established again.
SERVICE_LOST = frozenset(
    {
        scard.SCARD_E_NO_SERVICE,
        scard.SCARD_E_SERVICE_STOPPED,
        scard.SCARD_F_COMM_ERROR,
        scard.SCARD_E_INVALID_HANDLE,
    }
)
NO_READERS = frozenset({scard.SCARD_E_NO_READERS_AVAILABLE})


class PcscError(Exception):
    """A PC/SC call returned an error.

    :param operation: the PC/SC function, for example ``"SCardConnect"``.
    :param result: the PC/SC result code.
    """

    def __init__(self, operation: str, result: int) -> None:
        self.operation = operation
        self.result = result
        super().__init__(f"{operation} failed: {describe(result)}")


@dataclass(frozen=True)
class ReaderEvent:
    """One reader's entry in the answer of ``SCardGetStatusChange``."""

    reader: str
    state: int
    atr: bytes

    @property
    def counter(self) -> int:
        """The reader's event counter, kept by the service in the upper 16 bits."""
        return (self.state >> 16) & 0xFFFF


def describe(result: int) -> str:
    """Return a PC/SC result code as hex with the platform's message."""
    try:
        message = scard.SCardGetErrorMessage(result)
    except Exception:  # noqa: BLE001 - an odd code must not hide the first error
        message = "unknown error"
    return f"0x{result & 0xFFFFFFFF:08X} ({message.strip().rstrip('.')})"


def establish_context() -> int:
    """Establish a user-scope PC/SC context."""
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _check("SCardEstablishContext", result)
    return context


def release_context(context: int) -> None:
    """Release a context, logging rather than raising on failure."""
    result = scard.SCardReleaseContext(context)
    if result != scard.SCARD_S_SUCCESS:
        logger.debug("SCardReleaseContext: %s", describe(result))


def cancel(context: int) -> None:
    """Wake a ``SCardGetStatusChange`` blocked on this context."""
    result = scard.SCardCancel(context)
    if result != scard.SCARD_S_SUCCESS:
        logger.debug("SCardCancel: %s", describe(result))


def list_readers(context: int) -> list[str]:
    """Return the reader names, empty when the service reports none.

    Some services answer "no readers" with an error, others with an empty
    list or a list holding one empty name; all three become ``[]``.
    """
    result, readers = scard.SCardListReaders(context, [])
    if result in NO_READERS:
        return []
    _check("SCardListReaders", result)
    return [name for name in readers if name]


def get_status_change(
    context: int, timeout_ms: int, states: list[tuple[str, int]]
) -> list[ReaderEvent]:
    """Wait until a reader's state differs from the state given for it."""
    result, answer = scard.SCardGetStatusChange(context, timeout_ms, states)
    _check("SCardGetStatusChange", result)
    return [ReaderEvent(name, state, bytes(atr)) for name, state, atr in answer]


def read_state(context: int, reader: str) -> ReaderEvent:
    """Return a reader's state at once, without waiting for a change."""
    events = get_status_change(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
    return events[0]


def is_present(event: ReaderEvent) -> bool:
    """Return whether the reader reports a card."""
    return bool(event.state & scard.SCARD_STATE_PRESENT)


def is_mute(event: ReaderEvent) -> bool:
    """Return whether the card in the reader gave no ATR."""
    return bool(event.state & scard.SCARD_STATE_MUTE) or not event.atr


def is_gone(event: ReaderEvent) -> bool:
    """Return whether the reader itself is unknown or unavailable."""
    return bool(
        event.state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE)
    )


def _check(operation: str, result: int) -> None:
    if result != scard.SCARD_S_SUCCESS:
        raise PcscError(operation, result)
