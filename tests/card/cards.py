"""Fictional card holders, personal applet images and JPEG bytes for tests.

Nothing here describes a real person; every citizen ID passes its checksum.
"""

from dataclasses import dataclass

from trayagent.card import layout

APPLET_SIZE = layout.CARD_NUMBER.end


@dataclass(frozen=True)
class Person:
    """A fictional card holder, with every field as the card stores it."""

    citizen_id: str
    name_th: str
    name_en: str
    birth_date: str
    gender: str
    issuer: str
    issue_date: str
    expiry_date: str
    address: str
    card_number: str


TEST_PERSON = Person(
    citizen_id="1234567890121",
    name_th="นาย#ทดสอบ##ใจดี",
    name_en="Mr.#Test##Jaidee",
    birth_date="25200515",
    gender="1",
    issuer="ที่ว่าการอำเภอเมืองทดสอบ/ทดสอบ",
    issue_date="25640101",
    expiry_date="25720514",
    address="12/3#หมู่ที่ 4####ตำบลบ้านทดสอบ#อำเภอเมืองทดสอบ#จังหวัดทดสอบ",
    card_number="12345678901234",
)


def build_jpeg(size: int, *, thumbnail: bool = False) -> bytes:
    """Build a structurally valid JPEG of exactly ``size`` bytes.

    The coded data contains an escaped FF (FF 00), a restart marker and many
    0x20 bytes. With ``thumbnail``, an APP1 segment carries a small JPEG with
    its own FF D8 ... FF D9 before the main image.
    """
    head = bytearray(b"\xff\xd8")
    head += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if thumbnail:
        inner = b"\xff\xd8" + _segment(0xDB, bytes(65)) + b"\xff\xd9"
        head += _segment(0xE1, b"Exif\x00\x00" + inner + b"\x20\x20")
    head += _segment(0xDB, bytes(65))
    head += _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    tail = b"\xff\xd9"
    coded_length = size - len(head) - len(tail)
    assert coded_length >= 8, f"a JPEG of {size} bytes is too short to build"
    coded = bytearray(b"\x12\xff\x00\x34\xff\xd0\x56\x78")
    pattern = b"\x20\x20\x41\x20\x7f\x20"
    while len(coded) < coded_length:
        coded += pattern
    return bytes(head + coded[:coded_length] + tail)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def text_field(value: str, field: layout.BinaryField) -> bytes:
    """Encode ``value`` in TIS-620 and pad it with spaces to the field length."""
    encoded = value.encode("tis_620")
    assert len(encoded) <= field.length, f"{field.name} does not fit"
    return encoded.ljust(field.length, b" ")


def build_image(
    person: Person,
    photo: bytes = b"",
    *,
    overrides: dict[str, bytes] | None = None,
) -> bytes:
    """Build the personal applet's file for ``person``.

    Text is padded with spaces and the photo area with zero bytes.
    ``overrides`` replaces a field's raw bytes by name, for broken cards.
    """
    image = bytearray(b"\x00" * APPLET_SIZE)
    raw = {
        field.name: text_field(getattr(person, field.name), field)
        for field in layout.TEXT_FIELDS
    }
    raw[layout.PHOTO.name] = photo.ljust(layout.PHOTO.length, b"\x00")
    raw.update(overrides or {})
    for field in (*layout.TEXT_FIELDS, layout.PHOTO):
        value = raw[field.name]
        assert len(value) <= field.length, f"{field.name} does not fit"
        image[field.offset : field.offset + len(value)] = value
    return bytes(image)
