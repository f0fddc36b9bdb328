"""ISO 7816-4 status words as one 16-bit integer.

Runs on whichever thread reads the card. :class:`SW` names the status words
this package acts on. Any other value still converts, keeps its number and
prints in hex, so an unexpected status word from a card never raises here.
"""

from enum import IntEnum


class SW(IntEnum):
    """A status word (SW1 SW2 as one integer)."""

    OK = 0x9000
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED = 0x6986
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    INCORRECT_PARAMETERS = 0x6A86
    WRONG_P1_P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00

    @classmethod
    def _missing_(cls, value: object) -> "SW | None":
        if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            return None
        member = int.__new__(cls, value)
        member._name_ = f"0x{value:04X}"
        member._value_ = value
        return member

    @property
    def sw1(self) -> int:
        """The first byte, which gives the group (0x61, 0x6C, 0x90, ...)."""
        return self.value >> 8

    @property
    def sw2(self) -> int:
        """The second byte, a byte count after 0x61 and 0x6C."""
        return self.value & 0xFF

    def __str__(self) -> str:
        if self.name == f"0x{self.value:04X}":
            return f"SW=0x{self.value:04X}"
        return f"SW=0x{self.value:04X} ({self.name})"


def describe_sw(sw: int) -> str:
    """Format a status word for logs and messages: ``SW=0x6A82 (FILE_NOT_FOUND)``."""
    return str(SW(sw))
