"""TIS-620 text fields: padding removal and strict decoding.

Runs on whichever thread reads the card. TIS-620 (TIS 620-2533) assigns
0xA1 to 0xDA and 0xDF to 0xFB to Thai characters and leaves 0x80 to 0xA0,
0xDB to 0xDE and 0xFC to 0xFF unassigned. Python's ``tis_620`` codec rejects
all of those except 0x80 to 0x9F, which it maps to C1 control characters,
so those are rejected here as well. Each rejected byte becomes U+FFFD.
"""

import re
from dataclasses import dataclass

# Cards pad text fields with spaces, and some with zero bytes.
PADDING = b" \x00"

_C1_CONTROLS = re.compile("[\u0080-\u009f]")


@dataclass(frozen=True)
class DecodedText:
    """A decoded field; ``undecodable`` is true if any byte became U+FFFD."""

    text: str
    undecodable: bool


def strip_padding(raw: bytes) -> bytes:
    """Cut trailing spaces and zero bytes, keeping every byte before them."""
    return raw.rstrip(PADDING)


def decode_tis620(raw: bytes) -> DecodedText:
    """Decode a text field as strict TIS-620 after cutting its padding.

    A byte that TIS-620 does not assign becomes U+FFFD instead of failing the
    field, and sets ``undecodable``.
    """
    text = strip_padding(raw).decode("tis_620", errors="replace")
    text = _C1_CONTROLS.sub("\ufffd", text)
    # TIS-620 has no U+FFFD of its own, so any in the text is a replacement.
    return DecodedText(text, "\ufffd" in text)
