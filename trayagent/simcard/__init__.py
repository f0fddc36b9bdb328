"""A simulated Thai national ID card for tests, served to pcscd through vpcd.

The card (:class:`SimulatedCard`) responds to APDUs from the data of one of
the fictional people in :mod:`trayagent.simcard.people`;
:class:`VpcdSlot` connects it to a slot of the vsmartcard ``vpcd`` reader
driver. ``python -m trayagent.simcard`` does both from the command line.
Nothing in the agent itself imports this package.
"""

from trayagent.simcard.applet import (
    LASER_APPLET_AID,
    NHSO_APPLET_AID,
    PERSONAL_APPLET_AID,
    SECOND_APPLET_AID,
    Exchange,
    SimulatedCard,
)
from trayagent.simcard.image import (
    FIELDS,
    NHSO_FIELDS,
    build_file,
    build_nhso_file,
    encode_nhso,
    encode_person,
    laser_response,
)
from trayagent.simcard.people import PEOPLE, NhsoRecord, Person
from trayagent.simcard.profiles import PROFILES, Profile, get_profile
from trayagent.simcard.vpcd import VpcdError, VpcdSlot

__all__ = [
    "FIELDS",
    "LASER_APPLET_AID",
    "NHSO_APPLET_AID",
    "NHSO_FIELDS",
    "PEOPLE",
    "PERSONAL_APPLET_AID",
    "PROFILES",
    "SECOND_APPLET_AID",
    "Exchange",
    "NhsoRecord",
    "Person",
    "Profile",
    "SimulatedCard",
    "VpcdError",
    "VpcdSlot",
    "build_file",
    "build_nhso_file",
    "encode_nhso",
    "encode_person",
    "get_profile",
    "laser_response",
]
