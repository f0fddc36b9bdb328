"""A scripted card with the personal, NHSO and laser ID applets, for unit tests.

:class:`FakeAppletCard` is a responder for :class:`tests.card.fakes.FakeConnection`
that SELECTs applets by AID and responds to each the way a T=0 or T=1 Thai
ID card does. A command it does not expect raises AssertionError. The NHSO data
here is fictional.
"""

from trayagent.card import nhso
from trayagent.card.laser import LASER_AID
from trayagent.card.layout import PERSONAL_AID
from trayagent.card.nhso import NHSO_AID

SELECT_PERSONAL = "00A4040008" + PERSONAL_AID.hex().upper()
SELECT_NHSO = "00A4040008" + NHSO_AID.hex().upper()
SELECT_LASER = "00A4040008" + LASER_AID.hex().upper()
LASER_COMMAND = "8000000007"

NHSO_FILE_SIZE = 0x0200

# Fictional NHSO fields as the card stores them, before padding.
TEST_NHSO = {
    "main_right": "UCS".encode("tis_620"),
    "sub_right": "ผู้มีสิทธิทดสอบ".encode("tis_620"),
    "main_hospital": "โรงพยาบาลทดสอบ".encode("tis_620"),
    "sub_hospital": "สถานีอนามัยทดลอง".encode("tis_620"),
    "paid_type": b"1",
    "issue_date": b"25650801",
    "expiry_date": b"25690930",
    "update_date": b"25660102",
    "hospital_changes": b"\x02",
}

TEST_LASER = "JT1234567890"


def build_nhso_image(
    overrides: dict[str, bytes] | None = None, *, padding: bytes = b" "
) -> bytes:
    """Build an NHSO file from :data:`TEST_NHSO`, each field padded to its length.

    ``overrides`` replaces a field's bytes by name, for broken cards.
    """
    image = bytearray(NHSO_FILE_SIZE)
    values = {**TEST_NHSO, **(overrides or {})}
    for entry in nhso.FIELDS:
        value = values[entry.name]
        assert len(value) <= entry.length, f"{entry.name} does not fit"
        image[entry.offset : entry.end] = value.ljust(entry.length, padding)
    return bytes(image)


def short_laser(code: str = TEST_LASER) -> bytes:
    """Return the 0x10-byte laser response: the code, then NUL padding."""
    return code.encode("ascii").ljust(0x10, b"\x00")


def long_laser(code: str = TEST_LASER) -> bytes:
    """Return the 0x17-byte laser response: 7 header bytes, code, NUL padding."""
    return (bytes.fromhex("01 00 00 00 00 00 0C") + code.encode("ascii")).ljust(
        0x17, b"\x00"
    )


class FakeAppletCard:
    """A Thai ID card with any of the personal, NHSO and laser ID applets.

    :param files: READ BINARY files by AID.
    :param laser: the laser applet's response data; ``None`` for no applet.
    :param t1: return data with 9000 directly instead of 61xx.
    :param get_response_p2: the only P2 that GET RESPONSE accepts.
    """

    def __init__(
        self,
        files: dict[bytes, bytes],
        *,
        laser: bytes | None = None,
        t1: bool = False,
        get_response_p2: int = 0x00,
    ) -> None:
        self.files = files
        self.laser = laser
        self.t1 = t1
        self.get_response_p2 = get_response_p2
        self.selected: bytes | None = None
        self._pending = b""

    def __call__(self, apdu: bytes) -> bytes:
        if apdu[:5] == bytes.fromhex("00A4040008") and len(apdu) == 13:
            return self._select(apdu[5:])
        if apdu[:2] == b"\x80\xb0":
            return self._read_binary(apdu)
        if apdu[:4] == b"\x80\x00\x00\x00" and len(apdu) == 5:
            return self._laser_id()
        if apdu[:3] == b"\x00\xc0\x00" and len(apdu) == 5:
            return self._get_response(apdu)
        raise AssertionError(f"unexpected APDU {apdu.hex().upper()}")

    def _select(self, aid: bytes) -> bytes:
        known = aid in self.files or (aid == LASER_AID and self.laser is not None)
        self.selected = aid if known else None
        if not known:
            return b"\x6a\x82"
        return b"\x90\x00" if self.t1 else b"\x61\x0a"

    def _read_binary(self, apdu: bytes) -> bytes:
        assert len(apdu) == 7, f"malformed READ BINARY {apdu.hex().upper()}"
        assert apdu[4:6] == b"\x02\x00", f"malformed READ BINARY {apdu.hex().upper()}"
        file = self.files.get(self.selected or b"")
        if file is None:
            return b"\x69\x86"
        offset = int.from_bytes(apdu[2:4], "big")
        return self._respond(file[offset : offset + apdu[6]])

    def _laser_id(self) -> bytes:
        if self.selected != LASER_AID or self.laser is None:
            return b"\x6d\x00"
        return self._respond(self.laser)

    def _respond(self, data: bytes) -> bytes:
        if self.t1:
            return data + b"\x90\x00"
        self._pending = data
        return bytes((0x61, len(data)))

    def _get_response(self, apdu: bytes) -> bytes:
        if apdu[3] != self.get_response_p2:
            return b"\x6b\x00"
        if not self._pending:
            return b"\x69\x85"
        if apdu[4] != len(self._pending):
            return bytes((0x6C, len(self._pending)))
        data, self._pending = self._pending, b""
        return data + b"\x90\x00"
