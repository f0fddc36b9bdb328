"""Encode a test person into the data of the Thai ID card's applets.

A file image is the byte string that READ BINARY reads from: text fields in
TIS-620 padded with spaces (0x20) to their length, the photo padded with
0x00 to its area, and 0x00 between fields. The personal applet and the NHSO
applet each have one. The laser applet has no file: its one command returns
the laser ID in a short or a long form. Tests build broken cards by passing
raw bytes for any field. Pure functions; any thread may call them.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from trayagent.simcard.people import NhsoRecord, Person
from trayagent.simcard.profiles import LaserForm

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

NHSO_FILE_SIZE = 0x0200
"""Size of the simulated NHSO file in bytes; READ BINARY past it returns 6B00.

NOTE: the size of the file on real cards is not known here. This one ends
well after the last field (0x015E).
"""

NHSO_FIELDS: tuple[Field, ...] = (
    Field("main_right", 0x0004, 60),
    Field("sub_right", 0x0040, 100),
    Field("main_hospital", 0x00A4, 80),
    Field("sub_hospital", 0x00F4, 80),
    Field("paid_type", 0x0144, 1),
    Field("issue_date", 0x0145, 8),
    Field("expiry_date", 0x014D, 8),
    Field("update_date", 0x0155, 8),
    Field("hospital_changes", 0x015D, 1),
)
NHSO_FIELDS_BY_NAME: dict[str, Field] = {entry.name: entry for entry in NHSO_FIELDS}

LASER_SHORT_LENGTH = 0x10
LASER_LONG_LENGTH = 0x17
LASER_PADDING = 0x00
LASER_LONG_HEADER = bytes.fromhex("01 00 00 00 00 00 0C")
"""The 7 bytes before the code in the long form.

NOTE: real cards put version and state bytes here whose meaning is not known;
these values are arbitrary, and readers must not interpret them.
"""


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
    return _lay_out(values, FIELDS, FILE_SIZE)


def encode_nhso(record: NhsoRecord, **overrides: bytes) -> bytes:
    """Return the NHSO file image of ``record``.

    :param overrides: raw bytes for any NHSO field by name, used as they are
        in place of the encoded value (and padded like it), for broken cards.
    :raises ValueError: an override names no field or is longer than its field.
    """
    values = {
        entry.name: getattr(record, entry.name).encode(TEXT_ENCODING)
        for entry in NHSO_FIELDS
        if entry.name != "hospital_changes"
    }
    values["hospital_changes"] = record.hospital_changes
    return build_nhso_file({**values, **overrides})


def build_nhso_file(values: Mapping[str, bytes]) -> bytes:
    """Lay out raw NHSO field values in a file image, like :func:`build_file`.

    :raises ValueError: a value names no field or is longer than its field.
    """
    return _lay_out(values, NHSO_FIELDS, NHSO_FILE_SIZE)


def laser_response(code: str | bytes, form: LaserForm = "short") -> bytes:
    """Return the laser applet's response data for ``code``.

    The short form is the code padded with NULs to 0x10 bytes. The long form
    is :data:`LASER_LONG_HEADER`, then the code padded with NULs to 0x17
    bytes in all.

    :param code: the code as text (ASCII) or as raw bytes, for broken cards.
    :raises ValueError: the code does not fit the form.
    """
    raw = code.encode("ascii") if isinstance(code, str) else code
    if form == "long":
        head, length = LASER_LONG_HEADER, LASER_LONG_LENGTH
    else:
        head, length = b"", LASER_SHORT_LENGTH
    data = head + raw
    if len(data) > length:
        raise ValueError(
            f"Laser ID of {len(raw)} bytes does not fit the {form} form "
            f"of {length} bytes"
        )
    return data.ljust(length, bytes([LASER_PADDING]))


def _lay_out(
    values: Mapping[str, bytes], fields: tuple[Field, ...], size: int
) -> bytes:
    by_name = {entry.name: entry for entry in fields}
    image = bytearray([GAP_FILL]) * size
    for name, value in values.items():
        entry = by_name.get(name)
        if entry is None:
            raise ValueError(f"Unknown field name: {name}")
        if len(value) > entry.length:
            raise ValueError(
                f"Value for {name} is too long: {len(value)} bytes, the field has "
                f"{entry.length}"
            )
        padding = bytes([entry.padding]) * (entry.length - len(value))
        image[entry.offset : entry.end] = value + padding
    for entry in fields:
        if entry.name not in values:
            image[entry.offset : entry.end] = bytes([entry.padding]) * entry.length
    return bytes(image)


def field_bytes(image: bytes, name: str) -> bytes:
    """Return the padded bytes of field ``name`` from a file image."""
    entry = FIELDS_BY_NAME[name]
    return image[entry.offset : entry.end]
