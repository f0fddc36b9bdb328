"""The reading sequence of the Thai ID personal applet.

Runs on the thread that reads the card, typically the PC/SC monitor thread,
and sees the card only through :class:`CardConnection`. A card counts as a
Thai ID card when it accepts the SELECT of the personal applet; its ATR is
logged but never decides, because each card generation has a new ATR.

The sequence: SELECT and every text field in one transaction, then
``on_personal`` outside any transaction, then SELECT and the photo in a
second transaction. Text fields come first so a web app can fill its form
while the photo, 43 of the 64 APDUs of a full read, is still being read.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from trayagent.card import layout
from trayagent.card.apdu import select_applet
from trayagent.card.connection import CardConnection
from trayagent.card.errors import ApduError, CardError, NotThaiIdCardError
from trayagent.card.ids import is_valid_citizen_id
from trayagent.card.model import PersonalData, Photo
from trayagent.card.personal import decode_personal_data
from trayagent.card.photo import decode_photo
from trayagent.card.session import AppletSession, TimedConnection
from trayagent.card.sw import describe_sw
from trayagent.card.text import decode_tis620

logger = logging.getLogger(__name__)

# Seconds a whole read may take, SELECT to the last photo piece.
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class CardReadResult:
    """A finished read: the personal data, and the photo when it was asked for."""

    personal: PersonalData
    photo: Photo | None


def read_card(
    conn: CardConnection,
    *,
    include_photo: bool,
    on_personal: Callable[[PersonalData], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
) -> CardReadResult:
    """Read and decode the personal applet of a Thai ID card.

    ``on_personal`` is called with the decoded text fields as soon as they
    are read, before the photo and outside any transaction. An exception
    from it ends the read. A photo
    that is not a JPEG gives a :class:`Photo` with a warning, never an error,
    so the personal data still arrives.

    :param include_photo: read the photo as well.
    :param timeout: the seconds after which the read stops between two APDUs.
    :param clock: a monotonic clock in seconds, for the timeout and retries.
    :raises NotThaiIdCardError: the card rejected the SELECT, and nothing
        else was sent.
    :raises CardRemovedError: the card left the reader. ``on_personal`` has
        not been called unless the text fields were complete.
    :raises CardReadTimeoutError: the read took longer than ``timeout``.
    :raises ApduError: a READ BINARY failed with a status word that a retry
        cannot help.
    :raises CardError: any other failure, including retries running out.
    """
    logger.debug("Card ATR: %s", conn.atr.hex(" ").upper())
    timed = TimedConnection(conn, clock, timeout)
    session = AppletSession(timed, select_personal_applet, clock)

    personal = _read_personal_data(session)
    if on_personal is not None:
        on_personal(personal)

    photo = _read_photo(session) if include_photo else None
    logger.debug("Card read in %.3f s", timed.elapsed())
    return CardReadResult(personal, photo)


def select_personal_applet(conn: CardConnection) -> None:
    """SELECT the personal applet (AID ``A0 00 00 00 54 48 00 01``).

    :raises NotThaiIdCardError: the card returned a status word other than
        9000 or 61xx, so it is not a Thai ID card.
    """
    logger.debug("Selecting personal applet")
    try:
        select_applet(conn, layout.PERSONAL_AID, what="SELECT personal applet")
    except ApduError as error:
        raise NotThaiIdCardError(
            f"The card rejected the Thai ID personal applet: {describe_sw(error.sw)}"
        ) from error


def _read_personal_data(session: AppletSession) -> PersonalData:
    raw: dict[str, bytes] = {}
    session.run("text fields", lambda: _read_text_fields(session, raw))
    return decode_personal_data(raw)


def _read_text_fields(session: AppletSession, raw: dict[str, bytes]) -> None:
    """Read the text fields missing from ``raw`` into it, in layout order.

    A citizen ID that fails its checksum is read once more, because a bad
    checksum usually means a bad read. The second value is kept either way,
    and decoding reports it if it still fails.
    """
    for field in layout.TEXT_FIELDS:
        if field.name in raw:
            continue
        data = _read_field(session, field)
        if field is layout.CITIZEN_ID and not _has_valid_checksum(data):
            logger.debug("Citizen ID fails its checksum; reading it once more")
            data = _read_field(session, field)
        raw[field.name] = data


def _read_field(session: AppletSession, field: layout.BinaryField) -> bytes:
    return session.read_binary(field.name, field.offset, field.length)


def _has_valid_checksum(citizen_id: bytes) -> bool:
    return is_valid_citizen_id(decode_tis620(citizen_id).text)


def _read_photo(session: AppletSession) -> Photo:
    area = bytearray()
    session.run("photo", lambda: _read_photo_area(session, area))
    return decode_photo(bytes(area))


def _read_photo_area(session: AppletSession, area: bytearray) -> None:
    """Append the photo area to ``area`` from where it stops, 255 bytes a read.

    The next read starts after the bytes received, so a card that returns a
    short piece leaves no gap.

    :raises CardError: the card returned no data for a piece.
    """
    while len(area) < layout.PHOTO.length:
        offset = layout.PHOTO.offset + len(area)
        length = min(layout.MAX_READ_LENGTH, layout.PHOTO.length - len(area))
        piece = session.read_binary(f"photo at 0x{offset:04X}", offset, length)
        if not piece:
            raise CardError(
                f"READ BINARY of the photo at 0x{offset:04X} returned no data"
            )
        area += piece
