"""Command APDUs and the one place where T=0 response chaining happens.

Runs on whichever thread reads the card. :func:`transmit_chained` turns the
status words 61xx and 6Cxx into GET RESPONSE and a repeated command, so the
applet code above it sees only data or an :class:`ApduError`. Log lines show
the command header, lengths and the status word, never response data.
"""

import logging

from trayagent.card.connection import CardConnection
from trayagent.card.errors import ApduError
from trayagent.card.sw import SW, describe_sw

logger = logging.getLogger(__name__)

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_GET_RESPONSE = 0xC0

# The Thai ID applets use a proprietary class byte for READ BINARY.
CLA_ISO = 0x00
CLA_THAI_READ_BINARY = 0x80

SW1_BYTES_AVAILABLE = 0x61
SW1_WRONG_LE = 0x6C

# Each GET RESPONSE returns at most 256 bytes, so this bounds a response at
# 16 KiB, far above the 255 bytes that one READ BINARY of the Thai applets requests.
MAX_GET_RESPONSE_ROUNDS = 64


def build_apdu(
    cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None
) -> bytes:
    """Build a short command APDU.

    :param le: the expected response length, 1 to 256, where 256 is encoded as
        ``00``; ``None`` leaves Le out.
    :raises ValueError: a header byte, the data or Le does not fit a short APDU.
    """
    if len(data) > 255:
        raise ValueError(f"command data of {len(data)} bytes exceeds 255")
    if le is not None and not 1 <= le <= 256:
        raise ValueError(f"Le {le} is outside 1 to 256")
    apdu = bytearray((cla, ins, p1, p2))
    if data:
        apdu.append(len(data))
        apdu += data
    if le is not None:
        apdu.append(le & 0xFF)
    return bytes(apdu)


def select_apdu(aid: bytes) -> bytes:
    """Build SELECT by application identifier (``00 A4 04 00 Lc AID``)."""
    return build_apdu(CLA_ISO, INS_SELECT, 0x04, 0x00, aid)


def read_binary_apdu(offset: int, length: int) -> bytes:
    """Build the Thai applets' READ BINARY, ``80 B0 P1 P2 02 00 LL``.

    The offset goes in P1 P2 and the length in the two data bytes, not in Le.

    :raises ValueError: the offset exceeds 0x7FFF or the length is not 1 to 255.
    """
    if not 0 <= offset <= 0x7FFF:
        raise ValueError(f"offset 0x{offset:X} is outside 0 to 0x7FFF")
    if not 1 <= length <= 255:
        raise ValueError(f"length {length} is outside 1 to 255")
    p1, p2 = offset.to_bytes(2, "big")
    return build_apdu(CLA_THAI_READ_BINARY, INS_READ_BINARY, p1, p2, bytes((0, length)))


def get_response_apdu(le: int, p2: int = 0x00) -> bytes:
    """Build GET RESPONSE (``00 C0 00 P2 Le``); ``le`` 0 means 256 bytes."""
    return build_apdu(CLA_ISO, INS_GET_RESPONSE, 0x00, p2, le=le or 256)


def get_response_p2(atr: bytes) -> int:
    """Return the P2 that GET RESPONSE needs for the card with this ATR.

    Thai ID cards whose ATR starts ``3B 67`` accept GET RESPONSE only with
    P2 ``01``. Every other card, and an ATR too short to tell, gets ``00``.
    """
    return 0x01 if atr[:2] == b"\x3b\x67" else 0x00


def with_le(apdu: bytes, le: int) -> bytes:
    """Return the short command APDU with its Le set to ``le``, added if absent.

    :raises ValueError: ``apdu`` is not a well-formed short APDU.
    """
    if len(apdu) < 4:
        raise ValueError(f"APDU of {len(apdu)} bytes is shorter than a header")
    le_byte = bytes((le & 0xFF,))
    if len(apdu) == 4:
        return apdu + le_byte
    if len(apdu) == 5:
        return apdu[:4] + le_byte
    body_end = 5 + apdu[4]
    if len(apdu) == body_end:
        return apdu + le_byte
    if len(apdu) == body_end + 1:
        return apdu[:body_end] + le_byte
    raise ValueError(f"APDU of {len(apdu)} bytes does not match its Lc {apdu[4]}")


def transmit_chained(
    conn: CardConnection, apdu: bytes, *, what: str, get_response_p2: int = 0x00
) -> bytes:
    """Send a command and return its complete response data, status word removed.

    After 61xx it sends GET RESPONSE for exactly the ``xx`` bytes the card
    offered, again while the card offers more. 6Cxx sends the last command
    again, once, with Le ``xx``. Data with 9000 is returned as it came.

    :param what: the command or field, used in log lines and errors.
    :param get_response_p2: P2 for GET RESPONSE, see :func:`get_response_p2`.
    :raises ApduError: the final status word is not 9000, or the card asked for
        a second repeat or for more GET RESPONSE rounds than any Thai applet
        needs.
    """
    response = bytearray()
    repeated = False
    for _ in range(MAX_GET_RESPONSE_ROUNDS):
        data, sw = _transmit_logged(conn, apdu, what)
        response += data
        status = SW(sw)
        if status == SW.OK:
            return bytes(response)
        if status.sw1 == SW1_BYTES_AVAILABLE:
            apdu = get_response_apdu(status.sw2, get_response_p2)
        elif status.sw1 == SW1_WRONG_LE and not repeated:
            repeated = True
            apdu = with_le(apdu, status.sw2)
        else:
            raise ApduError(sw, what)
    raise ApduError(sw, what)


def _transmit_logged(conn: CardConnection, apdu: bytes, what: str) -> tuple[bytes, int]:
    data, sw = conn.transmit(apdu)
    logger.debug(
        "APDU %s for %s: %d bytes sent, %d bytes received, %s",
        apdu[:4].hex(" ").upper(),
        what,
        len(apdu),
        len(data),
        describe_sw(sw),
    )
    return data, sw


def select_applet(conn: CardConnection, aid: bytes, *, what: str) -> None:
    """SELECT an applet by its AID.

    9000 and 61xx both mean the card selected it. A 61xx response (the FCI)
    is not fetched, because nothing here uses it and a T=0 card drops a
    pending response when the next command is not GET RESPONSE. That saves an
    exchange and keeps SELECT free of the GET RESPONSE P2 quirk.

    :raises ApduError: the card returned any other status word.
    """
    _, sw = _transmit_logged(conn, select_apdu(aid), what)
    status = SW(sw)
    if status != SW.OK and status.sw1 != SW1_BYTES_AVAILABLE:
        raise ApduError(sw, what)
