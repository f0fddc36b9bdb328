"""The card photo: locating the JPEG in the photo area.

Runs on whichever thread reads the card. The photo area is longer than any
photo and padded after it, so the JPEG ends at its EOI marker (FF D9). The
end is found by walking the JPEG's segments rather than by searching for
FF D9, because an Exif segment can contain a thumbnail with its own FF D9.
The padding after the photo need not be zero bytes either. The bytes are
binary and are never stripped like text.
"""

from trayagent.card.model import FieldWarning, Photo

FIELD = "photo"

SOI = b"\xff\xd8"
MARKER_PREFIX = 0xFF
EOI = 0xD9
SOS = 0xDA
# Markers with no length field after them: TEM and RST0 to RST7.
_STANDALONE_MARKERS = frozenset((0x01, *range(0xD0, 0xD8)))
# Byte values seen as padding in unused photo areas.
_PADDING = b"\x00\x20\xff"


def decode_photo(area: bytes) -> Photo:
    """Cut the JPEG out of the photo area.

    A JPEG with an end marker gives a complete photo cut just after it. A
    JPEG start with no reachable end marker gives the whole area, flagged
    incomplete with ``PHOTO_INCOMPLETE``. An area of padding only gives an
    empty photo with ``PHOTO_MISSING``, and any other bytes an empty photo
    with ``PHOTO_INVALID``.
    """
    if not area.startswith(SOI):
        return Photo(b"", complete=False, warnings=(_not_jpeg_warning(area),))
    end = find_jpeg_end(area)
    if end is None:
        warning = FieldWarning(
            FIELD, "PHOTO_INCOMPLETE", "The photo has no JPEG end marker"
        )
        return Photo(area, complete=False, warnings=(warning,))
    return Photo(area[:end], complete=True)


def find_jpeg_end(data: bytes) -> int | None:
    """Return the offset just past the EOI of the JPEG at the start of ``data``.

    Segments are skipped by their length field and entropy-coded data is
    scanned for the next marker, so an FF D9 inside a segment, such as the
    end of an embedded thumbnail, is not taken as the end. Returns ``None``
    when ``data`` does not start with SOI or ends before the EOI.
    """
    if not data.startswith(SOI):
        return None
    pos: int | None = len(SOI)
    while pos is not None:
        marker_pos = _skip_fill_bytes(data, pos)
        if marker_pos is None:
            return None
        marker = data[marker_pos]
        pos = marker_pos + 1
        if marker == EOI:
            return pos
        if marker not in _STANDALONE_MARKERS:
            pos = _skip_segment(data, pos, marker)
    return None


def _skip_fill_bytes(data: bytes, pos: int) -> int | None:
    """Return the position of the marker code after one or more FF bytes."""
    if pos >= len(data) or data[pos] != MARKER_PREFIX:
        return None
    while pos < len(data) and data[pos] == MARKER_PREFIX:
        pos += 1
    return pos if pos < len(data) else None


def _skip_segment(data: bytes, pos: int, marker: int) -> int | None:
    """Return the position after the segment whose length field is at ``pos``.

    After a start of scan (SOS) that is the position after the coded data.
    """
    if pos + 2 > len(data):
        return None
    length = int.from_bytes(data[pos : pos + 2], "big")
    # The length counts its own two bytes.
    if length < 2 or pos + length > len(data):
        return None
    if marker == SOS:
        return _skip_entropy_coded_data(data, pos + length)
    return pos + length


def _skip_entropy_coded_data(data: bytes, pos: int) -> int | None:
    """Return the position of the first marker after a scan's coded data.

    Inside coded data FF 00 is an escaped FF byte and FF D0 to FF D7 are
    restart markers. Any other FF starts the next marker.
    """
    while True:
        pos = data.find(MARKER_PREFIX, pos)
        if pos == -1 or pos + 1 >= len(data):
            return None
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == MARKER_PREFIX:
            pos += 1
        else:
            return pos


def _not_jpeg_warning(area: bytes) -> FieldWarning:
    if not area.strip(_PADDING):
        return FieldWarning(FIELD, "PHOTO_MISSING", "The photo area is empty")
    return FieldWarning(FIELD, "PHOTO_INVALID", "The photo is not a JPEG image")
