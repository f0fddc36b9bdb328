"""Encode a test person into the file image of the Thai ID personal applet.

The image is the byte string that READ BINARY reads from: text fields in
TIS-620 padded with spaces (0x20) to their length, the photo padded with
0x00 to its area, and 0x00 between fields. Tests build broken cards by
passing raw bytes for any field. Pure functions; any thread may call them.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from trayagent.simcard.people import Person

TEXT_ENCODING = "tis-620"
TEXT_PADDING = 0x20
PHOTO_PADDING = 0x00
GAP_FILL = 0x00

FILE_SIZE = 0x1700
"""Size of the simulated file in bytes; READ BINARY past it returns 6B00.

NOTE: the size of the file on real cards is not known here. This one ends
well after the last field (0x1627) so that a reader rounding its last photo
read up to 255 bytes still stays inside it.
"""


@dataclass(frozen=True)
class Field:
    """The position and padding of one field in the file image."""

    name: str
    offset: int
    length: int
    padding: int = TEXT_PADDING

    @property
    def end(self) -> int:
        """Offset just past the field."""
        return self.offset + self.length


FIELDS: tuple[Field, ...] = (
    Field("citizen_id", 0x0004, 13),
    Field("name_th", 0x0011, 100),
    Field("name_en", 0x0075, 100),
    Field("birth_date", 0x00D9, 8),
    Field("gender", 0x00E1, 1),
    Field("issuer", 0x00F6, 100),
    Field("issue_date", 0x0167, 8),
    Field("expiry_date", 0x016F, 8),
    Field("photo", 0x017B, 5118, PHOTO_PADDING),
    Field("address", 0x1579, 160),
    Field("card_number", 0x1619, 14),
)
FIELDS_BY_NAME: dict[str, Field] = {entry.name: entry for entry in FIELDS}


def encode_fields(person: Person) -> dict[str, bytes]:
    """Return each field of ``person`` as the unpadded bytes the card stores."""
    values = {
        entry.name: getattr(person, entry.name).encode(TEXT_ENCODING)
        for entry in FIELDS
        if entry.name != "photo"
    }
    values["photo"] = person.photo
    return values


def encode_person(person: Person, **overrides: bytes) -> bytes:
    """Return the file image of ``person``.

    :param overrides: raw bytes for any field by name, used as they are in
        place of the encoded value (and padded like it), to build broken cards.
    :raises ValueError: an override names no field or is longer than its field.
    """
    unknown = sorted(set(overrides) - set(FIELDS_BY_NAME))
    if unknown:
        raise ValueError(f"Unknown field names: {', '.join(unknown)}")
    return build_file({**encode_fields(person), **overrides})


def build_file(values: Mapping[str, bytes]) -> bytes:
    """Lay out raw field values in a file image, padding each to its length.

    Fields missing from ``values`` are left as padding.

    :raises ValueError: a value names no field or is longer than its field.
    """
    image = bytearray([GAP_FILL]) * FILE_SIZE
    for name, value in values.items():
        entry = FIELDS_BY_NAME.get(name)
        if entry is None:
            raise ValueError(f"Unknown field name: {name}")
        if len(value) > entry.length:
            raise ValueError(
                f"Value for {name} is too long: {len(value)} bytes, the field has "
                f"{entry.length}"
            )
        padding = bytes([entry.padding]) * (entry.length - len(value))
        image[entry.offset : entry.end] = value + padding
    for entry in FIELDS:
        if entry.name not in values:
            image[entry.offset : entry.end] = bytes([entry.padding]) * entry.length
    return bytes(image)


def field_bytes(image: bytes, name: str) -> bytes:
    """Return the padded bytes of field ``name`` from a file image."""
    entry = FIELDS_BY_NAME[name]
    return image[entry.offset : entry.end]
