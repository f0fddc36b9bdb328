"""Offsets and lengths of the fields in the Thai ID personal applet.

Constants only, shared by the reading sequence and the tests. Offsets and
lengths are in bytes, as READ BINARY takes them in P1 P2 and its data.
"""

from dataclasses import dataclass

PERSONAL_AID = bytes.fromhex("A000000054480001")

# READ BINARY takes its length in one byte.
MAX_READ_LENGTH = 255


@dataclass(frozen=True)
class BinaryField:
    """A run of bytes in an applet's file, read with READ BINARY."""

    name: str
    offset: int
    length: int

    @property
    def end(self) -> int:
        """The offset just past the field."""
        return self.offset + self.length


CITIZEN_ID = BinaryField("citizen_id", 0x0004, 13)
NAME_TH = BinaryField("name_th", 0x0011, 100)
NAME_EN = BinaryField("name_en", 0x0075, 100)
BIRTH_DATE = BinaryField("birth_date", 0x00D9, 8)
GENDER = BinaryField("gender", 0x00E1, 1)
ISSUER = BinaryField("issuer", 0x00F6, 100)
ISSUE_DATE = BinaryField("issue_date", 0x0167, 8)
EXPIRY_DATE = BinaryField("expiry_date", 0x016F, 8)
# The whole area up to the address. Twenty reads of 255 bytes would stop
# 18 bytes short of it and cut the largest photos.
PHOTO = BinaryField("photo", 0x017B, 5118)
# Many readers take only 100 bytes and cut long rural addresses.
ADDRESS = BinaryField("address", 0x1579, 160)
# The number printed under the photo.
CARD_NUMBER = BinaryField("card_number", 0x1619, 14)

# Read in this order, all before the photo.
TEXT_FIELDS = (
    CITIZEN_ID,
    NAME_TH,
    NAME_EN,
    BIRTH_DATE,
    GENDER,
    ISSUER,
    ISSUE_DATE,
    EXPIRY_DATE,
    ADDRESS,
    CARD_NUMBER,
)
