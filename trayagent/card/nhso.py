"""The NHSO health-insurance rights stored on the card, read from its own applet.

Runs on the thread that reads the card and accesses it only through
:class:`CardConnection`. The National Health Security Office applet
(``A0 00 00 00 54 48 00 83``) accepts the same READ BINARY as the personal
applet, so :func:`read_nhso` reads it with an :class:`AppletSession` of its
own: SELECT and every field in one transaction, with the same bounded
retries. It never touches the personal applet, whose own read SELECTs it
again.

Text is TIS-620 with its trailing spaces and NULs cut, and dates are
Buddhist Era ``YYYYMMDD`` decoded like the personal dates. A field whose
bytes are all 0xFF, as in a file that was never written, counts as empty.
"""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trayagent.card.apdu import select_applet
from trayagent.card.connection import CardConnection
from trayagent.card.dates import parse_date
from trayagent.card.errors import ApduError, OptionalAppletMissingError
from trayagent.card.layout import BinaryField
from trayagent.card.model import CardDate, FieldWarning
from trayagent.card.session import AppletSession, TimedConnection
from trayagent.card.text import decode_tis620

logger = logging.getLogger(__name__)

NHSO_AID = bytes.fromhex("A0 00 00 00 54 48 00 83")

# Seconds the read may take, SELECT to the last field.
DEFAULT_TIMEOUT = 10.0

MAIN_RIGHT = BinaryField("main_right", 0x0004, 60)
SUB_RIGHT = BinaryField("sub_right", 0x0040, 100)
MAIN_HOSPITAL = BinaryField("main_hospital", 0x00A4, 80)
SUB_HOSPITAL = BinaryField("sub_hospital", 0x00F4, 80)
PAID_TYPE = BinaryField("paid_type", 0x0144, 1)
ISSUE_DATE = BinaryField("issue_date", 0x0145, 8)
EXPIRY_DATE = BinaryField("expiry_date", 0x014D, 8)
UPDATE_DATE = BinaryField("update_date", 0x0155, 8)
HOSPITAL_CHANGES = BinaryField("hospital_changes", 0x015D, 1)

# Read in this order, each with one READ BINARY.
FIELDS = (
    MAIN_RIGHT,
    SUB_RIGHT,
    MAIN_HOSPITAL,
    SUB_HOSPITAL,
    PAID_TYPE,
    ISSUE_DATE,
    EXPIRY_DATE,
    UPDATE_DATE,
    HOSPITAL_CHANGES,
)

APPLET = "NHSO"
PART = "NHSO fields"
SELECT_WHAT = "SELECT NHSO applet"

ERASED_BYTE = 0xFF
# A change count byte below 0x20 is a binary count. Those bytes are control
# characters in TIS-620, so they cannot be text.
BINARY_COUNT_LIMIT = 0x20
ASCII_DIGITS = range(0x30, 0x3A)


@dataclass(frozen=True)
class NhsoData:
    """The decoded NHSO applet. Every field is left out of ``repr``.

    Text fields are ``""`` when the card leaves them empty. ``paid_type`` is
    the card's one character as it is. ``hospital_changes`` is the number of
    times the registered hospital was changed, or ``None`` when the byte is
    neither a binary count nor an ASCII digit. ``warnings`` lists what could
    not be decoded cleanly, in reading order.
    """

    main_right: str = field(repr=False)
    sub_right: str = field(repr=False)
    main_hospital: str = field(repr=False)
    sub_hospital: str = field(repr=False)
    paid_type: str = field(repr=False)
    issue_date: CardDate = field(repr=False)
    expiry_date: CardDate = field(repr=False)
    update_date: CardDate = field(repr=False)
    hospital_changes: int | None = field(repr=False)
    warnings: tuple[FieldWarning, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        """Return the NHSO JSON object that clients receive."""
        return {
            "main_right": self.main_right,
            "sub_right": self.sub_right,
            "main_hospital": self.main_hospital,
            "sub_hospital": self.sub_hospital,
            "paid_type": self.paid_type,
            "issue_date": self.issue_date.to_json(),
            "expiry_date": self.expiry_date.to_json(),
            "update_date": self.update_date.to_json(),
            "hospital_changes": self.hospital_changes,
            "warnings": [warning.to_json() for warning in self.warnings],
        }


def read_nhso(
    conn: CardConnection,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
) -> NhsoData:
    """Read and decode the NHSO applet in a transaction of its own.

    :param timeout: the seconds after which the read stops between two APDUs.
    :param clock: a monotonic clock in seconds, for the timeout and retries.
    :raises OptionalAppletMissingError: the card rejected the SELECT of the
        NHSO applet, and nothing else was sent.
    :raises CardRemovedError: the card left the reader.
    :raises CardReadTimeoutError: the read took longer than ``timeout``.
    :raises ApduError: a READ BINARY failed with a status word that a retry
        cannot help.
    :raises CardError: any other failure, including retries running out.
    """
    timed = TimedConnection(conn, clock, timeout)
    session = AppletSession(timed, _select_nhso_applet, clock)
    raw: dict[str, bytes] = {}
    try:
        session.run(PART, lambda: _read_fields(session, raw))
    except ApduError as error:
        # Only the first SELECT's rejection leaves the session unchanged.
        if error.what != SELECT_WHAT:
            raise
        raise OptionalAppletMissingError(APPLET, error.sw) from error
    logger.debug("NHSO fields read in %.3f s", timed.elapsed())
    return decode_nhso_data(raw)


def decode_nhso_data(fields: Mapping[str, bytes]) -> NhsoData:
    """Decode the raw NHSO fields, keyed by the names in :data:`FIELDS`.

    Each field must be present and may still carry its padding.

    :raises KeyError: a field of :data:`FIELDS` is missing.
    """
    warnings: list[FieldWarning] = []

    def text(entry: BinaryField) -> str:
        data = fields[entry.name]
        if _is_erased(data):
            return ""
        decoded = decode_tis620(data)
        if decoded.undecodable:
            warnings.append(_undecodable_warning(entry.name))
        return decoded.text

    def date(entry: BinaryField, *, allow_lifetime: bool = False) -> CardDate:
        value, found = parse_date(
            text(entry), entry.name, allow_lifetime=allow_lifetime
        )
        warnings.extend(found)
        return value

    main_right = text(MAIN_RIGHT)
    sub_right = text(SUB_RIGHT)
    main_hospital = text(MAIN_HOSPITAL)
    sub_hospital = text(SUB_HOSPITAL)
    paid_type = text(PAID_TYPE)
    issue_date = date(ISSUE_DATE)
    expiry_date = date(EXPIRY_DATE, allow_lifetime=True)
    update_date = date(UPDATE_DATE)
    hospital_changes, found = parse_hospital_changes(fields[HOSPITAL_CHANGES.name])
    warnings.extend(found)
    return NhsoData(
        main_right=main_right,
        sub_right=sub_right,
        main_hospital=main_hospital,
        sub_hospital=sub_hospital,
        paid_type=paid_type,
        issue_date=issue_date,
        expiry_date=expiry_date,
        update_date=update_date,
        hospital_changes=hospital_changes,
        warnings=tuple(warnings),
    )


def parse_hospital_changes(raw: bytes) -> tuple[int | None, list[FieldWarning]]:
    """Decode the change count byte, which cards store in one of two ways.

    A byte below 0x20 is a binary count (0 to 31), and an ASCII digit ``0``
    to ``9`` (0x30 to 0x39) is that digit. No byte, an erased byte (0xFF) and
    any other byte (a space, a letter) give ``None`` and a
    ``HOSPITAL_CHANGES_INVALID`` warning.
    """
    if len(raw) != 1 or _is_erased(raw):
        return None, [_changes_warning("The number of hospital changes is missing")]
    value = raw[0]
    if value < BINARY_COUNT_LIMIT:
        return value, []
    if value in ASCII_DIGITS:
        return value - ASCII_DIGITS.start, []
    return None, [
        _changes_warning(
            "The number of hospital changes is neither a binary count below 32 "
            "nor an ASCII digit"
        )
    ]


def _read_fields(session: AppletSession, raw: dict[str, bytes]) -> None:
    """Read the fields missing from ``raw`` into it, in :data:`FIELDS` order."""
    for entry in FIELDS:
        if entry.name not in raw:
            raw[entry.name] = session.read_binary(
                entry.name, entry.offset, entry.length
            )


def _select_nhso_applet(conn: CardConnection) -> None:
    logger.debug("Selecting NHSO applet")
    select_applet(conn, NHSO_AID, what=SELECT_WHAT)


def _is_erased(data: bytes) -> bool:
    return bool(data) and all(byte == ERASED_BYTE for byte in data)


def _undecodable_warning(name: str) -> FieldWarning:
    return FieldWarning(
        name,
        "TEXT_UNDECODABLE",
        "The field contains bytes that are not TIS-620 and were replaced with U+FFFD",
    )


def _changes_warning(message: str) -> FieldWarning:
    return FieldWarning(HOSPITAL_CHANGES.name, "HOSPITAL_CHANGES_INVALID", message)
