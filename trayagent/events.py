"""Facts the card source (the PC/SC monitor or the simulated reader) publishes.

The monitor and card-read threads create these frozen values and hand them
to the event loop thread with ``call_soon_threadsafe``. The simulated reader
also creates them on the thread that inserts or removes its card. The only
other value that crosses from these threads to the loop is the
:class:`~trayagent.reading.ReadOutcome` that ends a requested read's future.

``insertion`` numbers every card insertion in the process, so data read
from one insertion can never be mistaken for the next.
"""

from dataclasses import dataclass, field

from .card.laser import LaserId
from .card.model import PersonalData, Photo
from .card.nhso import NhsoData
from .status import ServiceState


@dataclass(frozen=True)
class ServiceChanged:
    """The PC/SC service became reachable, unreachable or refused access."""

    state: ServiceState
    code: str | None = None


@dataclass(frozen=True)
class MonitorFailed:
    """The monitor hit an unexpected error, dropped its context and goes on.

    :param error_type: the exception's class name; its text stays in the log.
    """

    error_type: str


@dataclass(frozen=True)
class ReaderAdded:
    """A reader appeared in the PC/SC reader list."""

    reader: str


@dataclass(frozen=True)
class ReaderRemoved:
    """A reader left the PC/SC reader list."""

    reader: str


@dataclass(frozen=True)
class CardInserted:
    """A card that answers with an ATR arrived in a reader."""

    reader: str
    insertion: int
    atr: bytes


@dataclass(frozen=True)
class CardMute:
    """A card arrived in a reader but gave no ATR."""

    reader: str
    insertion: int


@dataclass(frozen=True)
class ReadStarted:
    """The agent began to read the card of an insertion.

    :param expects_photo: whether this read will also fetch the photo.
    :param read: the read's number, unique in the process.
    """

    reader: str
    insertion: int
    expects_photo: bool = True
    read: int = 0


@dataclass(frozen=True)
class CardRead:
    """The text fields of a card were read and decoded."""

    reader: str
    insertion: int
    personal: PersonalData = field(repr=False)
    seconds: float


@dataclass(frozen=True)
class PhotoRead:
    """The photo of a card was read; ``photo`` is ``None`` when it was invalid."""

    reader: str
    insertion: int
    photo: Photo | None = field(repr=False)
    seconds: float
    error_code: str | None = None


@dataclass(frozen=True)
class LaserRead:
    """The laser code was read, or ``laser`` is ``None`` and ``error_code`` says why."""

    reader: str
    insertion: int
    laser: LaserId | None = field(repr=False)
    seconds: float
    error_code: str | None = None


@dataclass(frozen=True)
class NhsoRead:
    """The NHSO data was read, or ``nhso`` is ``None`` and ``error_code`` says why."""

    reader: str
    insertion: int
    nhso: NhsoData | None = field(repr=False)
    seconds: float
    error_code: str | None = None


@dataclass(frozen=True)
class CardReadFailed:
    """Reading the card of an insertion failed with a stable error code."""

    reader: str
    insertion: int
    code: str


@dataclass(frozen=True)
class ReadFinished:
    """A read of an insertion ended, successfully or not; ``read`` is its number."""

    reader: str
    insertion: int
    read: int = 0


@dataclass(frozen=True)
class CardRemoved:
    """The card of an insertion left its reader."""

    reader: str
    insertion: int


MonitorEvent = (
    ServiceChanged
    | MonitorFailed
    | ReaderAdded
    | ReaderRemoved
    | CardInserted
    | CardMute
    | ReadStarted
    | CardRead
    | PhotoRead
    | LaserRead
    | NhsoRead
    | CardReadFailed
    | ReadFinished
    | CardRemoved
)
