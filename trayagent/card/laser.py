"""The laser ID printed on the back of the card, read from its own applet.

Runs on the thread that reads the card and accesses it only through
:class:`CardConnection`. :func:`read_laser_id` runs in a transaction of its
own: SELECT of the laser applet (``A0 00 00 00 84 06 00 02``), then the
command ``80 00 00 00 07``, with the bounded retries of
:class:`AppletSession`. It never touches the personal applet, whose own read
SELECTs it again.

A T=0 card responds to the command with ``61 xx``, and GET RESPONSE
requests the ``xx`` bytes offered, whatever Le the command carried. A T=1
card returns the data at once. Cards return one of two forms:

- short, 0x10 bytes: the 12 characters of the code, then NUL padding;
- long, 0x17 bytes: 7 bytes of version and state, the 12 characters of the
  code, then NUL padding.

NOTE: both layouts are inferred from public descriptions of other readers,
not from a specification: one reader decodes a 0x10-byte response as code
plus four NULs, and one takes the 12 characters at byte 7 of the 0x17-byte
response. The form is decided by content, not by length, because a card
may leave out the padding. See :func:`decode_laser_id`.
"""

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from trayagent.card.apdu import select_applet, transmit_chained
from trayagent.card.connection import CardConnection
from trayagent.card.errors import (
    ApduError,
    OptionalAppletMissingError,
    TransientCardError,
)
from trayagent.card.model import FieldWarning
from trayagent.card.session import DESELECTED_SWS, AppletSession, TimedConnection
from trayagent.card.sw import describe_sw
from trayagent.card.text import decode_tis620

logger = logging.getLogger(__name__)

LASER_AID = bytes.fromhex("A0 00 00 00 84 06 00 02")
LASER_ID_COMMAND = bytes.fromhex("80 00 00 00 07")

# Seconds the read may take, SELECT to the last byte of the code.
DEFAULT_TIMEOUT = 10.0

LONG_FORM_LENGTH = 0x17
# Version and state bytes before the code in the long form.
LONG_FORM_HEADER_LENGTH = 7
# Bytes below this are control characters. They never start a short-form
# code, but the long form's first byte, a version, is expected to be one.
_FIRST_PRINTABLE = 0x20

FIELD = "laser_id"
APPLET = "laser ID"
PART = "laser ID"
SELECT_WHAT = "SELECT laser applet"
COMMAND_WHAT = "laser ID command"

LaserForm = Literal["short", "long"]

# Two ASCII capital letters and ten ASCII digits, as printed on the card.
_CODE_PATTERN = re.compile(r"[A-Z]{2}[0-9]{10}", re.ASCII)


@dataclass(frozen=True)
class LaserId:
    """The laser ID as the card stores it, and its printed form.

    ``raw`` is the code's characters with the NUL and space padding cut.
    ``code`` is ``raw`` split as printed, ``AB1-2345678-90``: the letters and
    the first digit, seven digits, the last two digits. It is ``None`` when
    ``raw`` is not two capital letters and ten digits, and ``warnings`` then
    contains ``LASER_ID_INVALID``. ``form`` is the layout of the response.
    ``header`` is the long form's 7 version and state bytes, kept as the
    card sent them because their meaning is not known, and ``None`` in the
    short form.
    """

    raw: str = field(repr=False)
    code: str | None = field(repr=False)
    form: LaserForm
    warnings: tuple[FieldWarning, ...] = ()
    header: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        """Return ``{"code", "raw", "form", "header", "warnings"}``.

        ``header`` is upper-case hex with a space between bytes, or ``None``.
        """
        return {
            "code": self.code,
            "raw": self.raw,
            "form": self.form,
            "header": self.header.hex(" ").upper() if self.header is not None else None,
            "warnings": [warning.to_json() for warning in self.warnings],
        }


def read_laser_id(
    conn: CardConnection,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
) -> LaserId:
    """Read and decode the laser ID in a transaction of its own.

    :param timeout: the seconds after which the read stops between two APDUs.
    :param clock: a monotonic clock in seconds, for the timeout and retries.
    :raises OptionalAppletMissingError: the card rejected the SELECT of the
        laser applet, and nothing else was sent.
    :raises CardRemovedError: the card left the reader.
    :raises CardReadTimeoutError: the read took longer than ``timeout``.
    :raises ApduError: the command failed with a status word that a retry
        cannot help.
    :raises CardError: any other failure, including retries running out.
    """
    timed = TimedConnection(conn, clock, timeout)
    session = _LaserSession(timed, _select_laser_applet, clock)
    response = bytearray()

    def fetch() -> None:
        response[:] = session.transmit(COMMAND_WHAT, LASER_ID_COMMAND)

    try:
        session.run(PART, fetch)
    except ApduError as error:
        # Only the first SELECT's rejection leaves the session unchanged.
        if error.what != SELECT_WHAT:
            raise
        raise OptionalAppletMissingError(APPLET, error.sw) from error
    laser_id = decode_laser_id(bytes(response))
    logger.debug(
        "Laser ID read in %.3f s: %d bytes, %s form",
        timed.elapsed(),
        len(response),
        laser_id.form,
    )
    return laser_id


def decode_laser_id(response: bytes) -> LaserId:
    """Decode the response data of the laser ID command, status word removed.

    The form follows from the content. A valid code at byte 0 is the short
    form, one at byte 7 the long form. Without a valid code, a response
    that starts with a printable character is the short form, because that
    character is the code's first letter. One that starts with a control
    byte is the long form, whose first byte is a version. Only a response
    of padding alone is judged by its length.
    """
    form = _detect_form(response)
    if form == "long":
        header = response[:LONG_FORM_HEADER_LENGTH]
        area = response[LONG_FORM_HEADER_LENGTH:]
    else:
        header, area = None, response
    raw = decode_tis620(area).text
    if _CODE_PATTERN.fullmatch(raw):
        code = f"{raw[:3]}-{raw[3:10]}-{raw[10:]}"
        return LaserId(raw, code, form, header=header)
    return LaserId(raw, None, form, (_invalid_warning(raw),), header)


def _detect_form(response: bytes) -> LaserForm:
    if _is_laser_code(response):
        return "short"
    if _is_laser_code(response[LONG_FORM_HEADER_LENGTH:]):
        return "long"
    if not decode_tis620(response).text:
        return "long" if len(response) >= LONG_FORM_LENGTH else "short"
    return "short" if response[0] >= _FIRST_PRINTABLE else "long"


def _is_laser_code(data: bytes) -> bool:
    return _CODE_PATTERN.fullmatch(decode_tis620(data).text) is not None


def _invalid_warning(raw: str) -> FieldWarning:
    if not raw:
        return FieldWarning(FIELD, "LASER_ID_INVALID", "The laser ID is empty")
    return FieldWarning(
        FIELD,
        "LASER_ID_INVALID",
        "The laser ID is not two capital letters and ten digits",
    )


def _select_laser_applet(conn: CardConnection) -> None:
    logger.debug("Selecting laser applet")
    select_applet(conn, LASER_AID, what=SELECT_WHAT)


class _LaserSession(AppletSession):
    """An :class:`AppletSession` that sends a command other than READ BINARY."""

    def transmit(self, what: str, apdu: bytes) -> bytes:
        """Send ``apdu`` with response chaining and return its data.

        Like :meth:`AppletSession.read_binary`, it names ``what`` in retry
        logs and turns a status word showing a deselected applet into
        :class:`TransientCardError`.

        :raises ApduError: the card rejected the command.
        """
        self._step = what
        try:
            data = transmit_chained(
                self._conn, apdu, what=what, get_response_p2=self._get_response_p2
            )
        except ApduError as error:
            if error.sw in DESELECTED_SWS:
                raise TransientCardError(
                    f"{what}: {describe_sw(error.sw)} shows the applet was deselected"
                ) from error
            raise
        logger.debug("%s: %d bytes, SW=9000", what, len(data))
        return data
