"""Named behaviours of the simulated card: ATR, transport, timing, applets.

A profile is frozen data read by the card and by the vpcd slot thread.
Tests combine behaviours with :func:`dataclasses.replace`, for example the
``real`` timing on the ``atr-3b67`` profile.
"""

from dataclasses import dataclass
from typing import Literal

LaserForm = Literal["short", "long"]

ATR_T0 = bytes.fromhex("3B 78 18 00 00 00 73 C8 40 13 00 90 00")
"""T=0 ATR in the style of Thai ID cards: TA1 TB1 TC1, eight historical bytes."""

ATR_3B67 = bytes.fromhex("3B 67 00 00 73 C8 40 13 00 90 00")
"""T=0 ATR of the card generation whose GET RESPONSE carries P2 = 01."""

ATR_T1 = bytes.fromhex("3B 88 01 00 73 C8 40 13 00 90 00 F1")
"""T=1 ATR: TD1 names T=1 only, so the last byte is the TCK checksum."""

MUTE_ATR_PAYLOAD = bytes(34)
"""The payload a mute card sends when vpcd requests the ATR.

vpcd 3.3 treats any non-empty response as "card present", but it rejects an
ATR longer than 33 bytes (pcsc-lite's MAX_ATR_SIZE) when pcscd powers the
card up. pcscd 1.9.9 then reports the reader as SCARD_STATE_PRESENT |
SCARD_STATE_MUTE with no ATR, and SCardConnect fails with
SCARD_W_UNPOWERED_CARD, as for a card inserted the wrong way round. An
empty response does not work: vpcd takes it as the card leaving.
"""


@dataclass(frozen=True)
class Profile:
    """The behaviour of one kind of simulated card."""

    name: str
    atr: bytes
    protocol: int = 0
    """Transmission protocol, 0 or 1. With T=0 data comes through
    61xx and GET RESPONSE; with T=1 it comes with the command's response."""
    get_response_p2: int = 0x00
    apdu_delay: float = 0.0
    """Seconds the card takes for each command APDU."""
    byte_delay: float = 0.0
    """Seconds the card takes for each byte of response, status word included."""
    has_thai_applets: bool = True
    """The card has the Thai ID applets. ``False`` rejects every SELECT,
    regardless of the two flags below."""
    mute: bool = False
    """Present in the reader but sends no usable ATR."""
    has_laser_applet: bool = True
    has_nhso_applet: bool = True
    laser_form: LaserForm = "short"
    """The laser applet's response: ``"short"`` (0x10 bytes) or ``"long"``
    (0x17 bytes, with version and state bytes before the code)."""

    def response_delay(self, response_length: int) -> float:
        """Return the seconds to wait before sending a response of that length."""
        return self.apdu_delay + self.byte_delay * response_length

    @property
    def atr_payload(self) -> bytes:
        """The bytes sent when vpcd requests the ATR."""
        return MUTE_ATR_PAYLOAD if self.mute else self.atr


REAL_APDU_DELAY = 0.015
REAL_BYTE_DELAY = 0.000090
"""Estimates of a real card in a USB reader: about 15 ms per APDU plus 90 µs
per response byte, which gives about 1.5 s for a complete read."""

PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("fast", ATR_T0),
        Profile("real", ATR_T0, apdu_delay=REAL_APDU_DELAY, byte_delay=REAL_BYTE_DELAY),
        Profile("non-thai", ATR_T0, has_thai_applets=False),
        Profile("mute", b"", mute=True),
        Profile("atr-3b67", ATR_3B67, get_response_p2=0x01),
        Profile("t1", ATR_T1, protocol=1),
        Profile(
            "no-optional-applets",
            ATR_T0,
            has_laser_applet=False,
            has_nhso_applet=False,
        ),
        Profile("laser-long", ATR_T0, laser_form="long"),
    )
}
"""Every profile by name; ``fast`` is the default."""


def get_profile(name: str) -> Profile:
    """Return the profile called ``name``.

    :raises KeyError: no profile has that name; the message lists the names.
    """
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise KeyError(f"Unknown card profile {name!r}; known: {known}") from None
