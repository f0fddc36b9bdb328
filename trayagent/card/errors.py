"""Errors raised while talking to a card.

Each class carries a stable ``code`` that clients receive. Messages name
fields, commands and status words, never the content of a personal field.
"""

from trayagent.card.sw import describe_sw


class CardError(Exception):
    """Base class for failures of a card operation."""

    code = "READ_FAILED"


class ApduError(CardError):
    """A command answered with a status word that the sequence cannot accept.

    :param sw: the 16-bit status word.
    :param what: the command or field concerned, for example ``"citizen_id"``.
    """

    def __init__(self, sw: int, what: str) -> None:
        self.sw = sw
        self.what = what
        super().__init__(f"{what} failed: {describe_sw(sw)}")


class NotThaiIdCardError(CardError):
    """The card rejected the SELECT of the Thai ID personal applet."""

    code = "NOT_THAI_ID_CARD"


class CardRemovedError(CardError):
    """The card left the reader before the operation finished."""

    code = "CARD_REMOVED"


class CardUnresponsiveError(CardError):
    """The card is present but does not answer (no ATR), often inserted upside down."""

    code = "CARD_UNRESPONSIVE"


class TransientCardError(CardError):
    """A failure worth retrying after a reconnect and a fresh SELECT.

    Raised for a card reset by another program, a failed transaction, lost
    communication data, or a status word showing that another program's SELECT
    replaced our applet.
    """


class CardReadTimeoutError(CardError):
    """The read did not finish within its time limit."""

    code = "READ_TIMEOUT"


class OptionalAppletMissingError(CardError):
    """The card rejected the SELECT of an optional applet, so it lacks that applet.

    Older cards have neither the laser ID nor the NHSO applet. Nothing else
    was sent to the card after the rejected SELECT.

    :param applet: the applet's name, for example ``"laser ID"``.
    :param sw: the status word that the SELECT returned.
    """

    code = "APPLET_NOT_FOUND"

    def __init__(self, applet: str, sw: int) -> None:
        self.applet = applet
        self.sw = sw
        super().__init__(f"The card has no {applet} applet: {describe_sw(sw)}")
