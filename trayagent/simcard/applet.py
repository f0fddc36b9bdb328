"""The simulated Thai ID card: an APDU processor with fault injection.

:class:`SimulatedCard` responds to SELECT, READ BINARY and GET RESPONSE the
way the personal and NHSO applets of a Thai national ID card do, from file
images built by :mod:`trayagent.simcard.image`, and to the laser applet's
``80 00 00 00 Le`` with the laser ID. The vpcd slot thread calls
:meth:`SimulatedCard.process`; tests set faults and read the APDU log from
their own thread, so the card's state is guarded by a lock.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from trayagent.simcard.image import encode_nhso, encode_person, laser_response
from trayagent.simcard.people import JAIDEE, Person
from trayagent.simcard.profiles import Profile, get_profile

logger = logging.getLogger(__name__)

PERSONAL_APPLET_AID = bytes.fromhex("A0 00 00 00 54 48 00 01")
SECOND_APPLET_AID = bytes.fromhex("A0 00 00 00 54 48 00 83")
"""The NHSO applet, which other programs may select. READ BINARY returns the
person's NHSO file, or 0xFF bytes for a person without NHSO data, so a
reader that reads it by mistake gets no personal fields."""
NHSO_APPLET_AID = SECOND_APPLET_AID
LASER_APPLET_AID = bytes.fromhex("A0 00 00 00 84 06 00 02")
"""The laser applet, which has no file and responds to one command."""

FCI = bytes.fromhex("6F 08 84 06 A0 00 00 00 54 48")
"""Ten bytes returned after selecting an applet. Readers do not parse them."""

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_GET_RESPONSE = 0xC0
INS_LASER_ID = 0x00
SELECT_BY_AID = 0x04

SW_OK = 0x9000
SW_BYTES_AVAILABLE = 0x6100
SW_WRONG_LENGTH = 0x6700
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_COMMAND_NOT_ALLOWED = 0x6986
SW_FILE_NOT_FOUND = 0x6A82
SW_INCORRECT_P1_P2 = 0x6A86
SW_WRONG_PARAMETERS = 0x6B00
SW_CORRECT_LENGTH = 0x6C00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00

MAX_READ_LENGTH = 255


@dataclass(frozen=True)
class Exchange:
    """The card's reaction to one command APDU."""

    response: bytes | None
    """Response APDU (data then SW1 SW2), or ``None`` when the card leaves
    the reader before responding."""
    remove: bool = False
    """The card leaves the reader right after sending ``response``."""


@dataclass
class _StatusOverride:
    sw: int
    at: int | None
    prefix: bytes | None

    def matches(self, index: int, apdu: bytes) -> bool:
        if self.at is not None and self.at != index:
            return False
        return self.prefix is None or apdu.startswith(self.prefix)


@dataclass
class _Faults:
    remove_after: int | None = None
    remove_at_offset: int | None = None
    applet_switches: dict[int, bytes | None] = field(default_factory=dict)
    status_overrides: list[_StatusOverride] = field(default_factory=list)


class SimulatedCard:
    """A Thai national ID card that responds to command APDUs from a file image.

    Command APDUs are numbered from 1 in the order the card receives them,
    over the whole life of the object. Fault methods take these numbers.

    :param person: the card holder; ignored when ``image`` is given.
    :param profile: a :class:`Profile` or the name of one in ``PROFILES``.
    :param image: a file image to serve instead of the person's, for
        broken cards (see :func:`trayagent.simcard.image.build_file`).
    :param nhso_image: an NHSO file image to serve instead of the person's
        (see :func:`trayagent.simcard.image.build_nhso_file`).
    :param on_command: called with each command APDU as upper-case hex,
        on the thread that calls :meth:`process`.
    """

    def __init__(
        self,
        person: Person = JAIDEE,
        profile: Profile | str = "fast",
        *,
        image: bytes | None = None,
        nhso_image: bytes | None = None,
        on_command: Callable[[str], None] | None = None,
    ) -> None:
        self.person = person
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self._files: dict[bytes, bytes] = {}
        self._laser_response: bytes | None = None
        if self.profile.has_thai_applets:
            personal = image if image is not None else encode_person(person)
            self._files[PERSONAL_APPLET_AID] = personal
            if self.profile.has_nhso_applet:
                self._files[NHSO_APPLET_AID] = _nhso_file(person, nhso_image, personal)
            if self.profile.has_laser_applet:
                self._laser_response = laser_response(
                    person.laser_id, self.profile.laser_form
                )
        self._on_command = on_command
        self._lock = threading.Lock()
        self._log: list[str] = []
        self._faults = _Faults()
        self._selected: bytes | None = None
        self._pending: bytes | None = None

    def __repr__(self) -> str:
        return f"SimulatedCard({self.person!r}, profile={self.profile.name!r})"

    @property
    def atr(self) -> bytes:
        """The card's ATR; empty for a mute card."""
        return self.profile.atr

    @property
    def apdu_log(self) -> list[str]:
        """Every command APDU received so far, as upper-case hex, in order."""
        with self._lock:
            return list(self._log)

    @property
    def selected_aid(self) -> bytes | None:
        """The AID of the selected applet, or ``None``."""
        with self._lock:
            return self._selected

    def reset(self) -> None:
        """Forget the selected applet and any pending response, as at power-up."""
        with self._lock:
            self._selected = None
            self._pending = None

    def remove_after(self, count: int) -> None:
        """Leave the reader right after responding to command APDU number ``count``."""
        with self._lock:
            self._faults.remove_after = count

    def remove_on_offset(self, offset: int) -> None:
        """Leave the reader, with no response, at the first READ BINARY of `offset`."""
        with self._lock:
            self._faults.remove_at_offset = offset

    def switch_applet_at(
        self, index: int, aid: bytes | None = SECOND_APPLET_AID
    ) -> None:
        """Select ``aid`` just before command APDU ``index``, as another program would.

        ``None`` leaves no applet selected. Either way a pending response is lost.
        """
        with self._lock:
            self._faults.applet_switches[index] = aid

    def answer_once(
        self, sw: int, *, at: int | None = None, prefix: bytes | None = None
    ) -> None:
        """Answer one command APDU with status word ``sw`` alone.

        The override applies to the first APDU that is number ``at`` (when
        given) and starts with ``prefix`` (when given), then is dropped.
        """
        with self._lock:
            self._faults.status_overrides.append(_StatusOverride(sw, at, prefix))

    def process(self, apdu: bytes) -> Exchange:
        """Answer one command APDU, applying any fault set for it."""
        with self._lock:
            self._log.append(apdu.hex().upper())
            index = len(self._log)
            exchange = self._exchange(index, apdu)
        if self._on_command is not None:
            self._on_command(apdu.hex().upper())
        if exchange.response is None:
            logger.debug("APDU %d: card leaves the reader without a response", index)
        else:
            logger.debug(
                "APDU %d: INS %02X, SW %s, %d response bytes",
                index,
                apdu[1] if len(apdu) > 1 else 0,
                exchange.response[-2:].hex().upper(),
                len(exchange.response),
            )
        return exchange

    def _exchange(self, index: int, apdu: bytes) -> Exchange:
        if index in self._faults.applet_switches:
            self._selected = self._faults.applet_switches.pop(index)
            self._pending = None
        if self._reads_removal_offset(apdu):
            self._faults.remove_at_offset = None
            return Exchange(None)
        override = self._take_status_override(index, apdu)
        if override is not None:
            self._pending = None
            response = _status(override.sw)
        else:
            response = self._dispatch(apdu)
        remove_after = self._faults.remove_after
        remove = remove_after is not None and index >= remove_after
        return Exchange(response, remove=remove)

    def _reads_removal_offset(self, apdu: bytes) -> bool:
        offset = self._faults.remove_at_offset
        read = _parse_read_binary(apdu)
        if offset is None or read is None:
            return False
        start, length = read
        return start <= offset < start + length

    def _take_status_override(self, index: int, apdu: bytes) -> _StatusOverride | None:
        for override in self._faults.status_overrides:
            if override.matches(index, apdu):
                self._faults.status_overrides.remove(override)
                return override
        return None

    def _dispatch(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return _status(SW_WRONG_LENGTH)
        cla, ins = apdu[0], apdu[1]
        if ins == INS_GET_RESPONSE and cla == CLA_ISO:
            return self._get_response(apdu)
        self._pending = None
        if ins == INS_SELECT and cla == CLA_ISO:
            return self._select(apdu)
        if ins == INS_READ_BINARY and cla == CLA_PROPRIETARY:
            return self._read_binary(apdu)
        if ins == INS_LASER_ID and cla == CLA_PROPRIETARY:
            return self._laser_id(apdu)
        if ins in (INS_SELECT, INS_READ_BINARY, INS_GET_RESPONSE):
            return _status(SW_CLA_NOT_SUPPORTED)
        return _status(SW_INS_NOT_SUPPORTED)

    def _select(self, apdu: bytes) -> bytes:
        """Handle ``00 A4 04 00 Lc AID [Le]``."""
        if apdu[2] != SELECT_BY_AID or apdu[3] != 0x00:
            return _status(SW_INCORRECT_P1_P2)
        if len(apdu) < 5 or len(apdu) not in (5 + apdu[4], 6 + apdu[4]):
            return _status(SW_WRONG_LENGTH)
        aid = apdu[5 : 5 + apdu[4]]
        if not self._has_applet(aid):
            self._selected = None
            return _status(SW_FILE_NOT_FOUND)
        self._selected = aid
        return self._respond(FCI)

    def _read_binary(self, apdu: bytes) -> bytes:
        """Handle ``80 B0 P1 P2 02 00 LL``: LL bytes from offset P1P2."""
        if self._selected is None:
            return _status(SW_COMMAND_NOT_ALLOWED)
        read = _parse_read_binary(apdu)
        if read is None:
            return _status(SW_WRONG_LENGTH)
        offset, length = read
        if not 1 <= length <= MAX_READ_LENGTH:
            return _status(SW_WRONG_LENGTH)
        file = self._files.get(self._selected)
        if file is None:
            return _status(SW_COMMAND_NOT_ALLOWED)
        if offset + length > len(file):
            return _status(SW_WRONG_PARAMETERS)
        return self._respond(file[offset : offset + length])

    def _laser_id(self, apdu: bytes) -> bytes:
        """Handle ``80 00 00 00 Le``: the laser ID, whatever Le requests.

        Only the laser applet accepts the command; the others return 6D00.
        """
        if self._selected != LASER_APPLET_AID or self._laser_response is None:
            return _status(SW_INS_NOT_SUPPORTED)
        if len(apdu) != 5:
            return _status(SW_WRONG_LENGTH)
        if apdu[2] != 0x00 or apdu[3] != 0x00:
            return _status(SW_WRONG_PARAMETERS)
        return self._respond(self._laser_response)

    def _has_applet(self, aid: bytes) -> bool:
        if aid == LASER_APPLET_AID:
            return self._laser_response is not None
        return aid in self._files

    def _get_response(self, apdu: bytes) -> bytes:
        """Handle ``00 C0 00 P2 LL``; P2 must match the profile's."""
        if len(apdu) != 5:
            return _status(SW_WRONG_LENGTH)
        if self._pending is None:
            return _status(SW_CONDITIONS_NOT_SATISFIED)
        if apdu[2] != 0x00 or apdu[3] != self.profile.get_response_p2:
            return _status(SW_WRONG_PARAMETERS)
        expected = apdu[4] or 256
        if expected != len(self._pending):
            return _status(SW_CORRECT_LENGTH | (len(self._pending) & 0xFF))
        data, self._pending = self._pending, None
        return data + _status(SW_OK)

    def _respond(self, data: bytes) -> bytes:
        """Return ``data`` the way the profile's protocol carries it."""
        if self.profile.protocol == 1:
            return data + _status(SW_OK)
        self._pending = data
        return _status(SW_BYTES_AVAILABLE | (len(data) & 0xFF))


def _parse_read_binary(apdu: bytes) -> tuple[int, int] | None:
    """Return (offset, length) of a READ BINARY, or ``None`` for another command.

    A trailing Le byte after the two length bytes is accepted.
    """
    if len(apdu) not in (7, 8) or apdu[0] != CLA_PROPRIETARY:
        return None
    if apdu[1] != INS_READ_BINARY or apdu[4] != 2:
        return None
    return int.from_bytes(apdu[2:4], "big"), int.from_bytes(apdu[5:7], "big")


def _nhso_file(person: Person, nhso_image: bytes | None, personal: bytes) -> bytes:
    """Return the NHSO file: the override, the person's data, or 0xFF bytes."""
    if nhso_image is not None:
        return nhso_image
    if person.nhso is not None:
        return encode_nhso(person.nhso)
    return b"\xff" * len(personal)


def _status(sw: int) -> bytes:
    return sw.to_bytes(2, "big")
