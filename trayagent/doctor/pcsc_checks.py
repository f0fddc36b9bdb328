"""The doctor's PC/SC checks: the service, the readers and the card in each.

Runs on the thread that runs the doctor. :func:`pcsc_checks` gathers the
facts through :mod:`trayagent.pcsc.diagnose`, imported only here and only
when the checks run, so the doctor still reports a missing pyscard instead
of failing to import. The functions that turn facts into a :class:`Check`
are pure, so each platform's advice can be tested on any platform.
"""

import functools
import logging
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..card.apdu import SW1_BYTES_AVAILABLE, select_apdu
from ..card.layout import PERSONAL_AID
from ..card.sw import SW, describe_sw
from .pcscd import PcscdFacts, current_user, gather_pcscd_facts
from .report import INFO, OK, PROBLEM, WARNING, Check, failed_check, run_guarded

if TYPE_CHECKING:
    from ..pcsc.diagnose import ReaderProbe, ReadersProbe, SelectProbe, ServiceProbe

logger = logging.getLogger(__name__)

SERVICE = "PC/SC service"
READERS = "Readers"
CARD = "Card"

SELECT_PERSONAL = select_apdu(PERSONAL_AID)

# A SELECT slower than this many milliseconds gets a warning. Real readers
# complete one in tens of milliseconds; this bound is an estimate with room.
SLOW_SELECT_MS = 1000.0

# Reader names that belong to a SAM slot, a virtual reader or a security
# key rather than a slot for ID cards.
_NOT_AN_ID_SLOT = re.compile(
    r"\bSAM\b|virtual|vpcd|vsmartcard|windows hello|yubikey|nitrokey", re.IGNORECASE
)

_CARD_STATES = frozenset({"card present", "in use"})
_REMOVED = frozenset({"SCARD_W_REMOVED_CARD", "SCARD_E_NO_SMARTCARD"})
_MUTE = frozenset({"SCARD_W_UNPOWERED_CARD", "SCARD_W_UNRESPONSIVE_CARD"})
_SERVICE_DOWN = frozenset({"SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED"})
# The results of SCardEstablishContext when pcscd closes the connection
# without a reply, as it does when polkit rejects the action access_pcsc:
# SCARD_W_SECURITY_VIOLATION from libpcsclite 1.9.9 on, SCARD_F_COMM_ERROR
# from older ones (pcsc-lite's changelog for 1.9.9).
_CONNECTION_CLOSED = frozenset({"SCARD_W_SECURITY_VIOLATION", "SCARD_F_COMM_ERROR"})
# The result of SCardConnect when polkit rejects the action access_card.
_CARD_REFUSED = "SCARD_W_SECURITY_VIOLATION"

POLKIT_RULE_PATH = "/etc/polkit-1/rules.d/60-trayagent-pcscd.rules"

_INSERT_PROPERLY = "Take the card out and insert it again, chip first and facing up."


def pcsc_checks() -> list[Check]:
    """Run the service, reader and card checks, in that order."""
    try:
        from ..pcsc import diagnose
    except ImportError as error:
        logger.warning("pyscard cannot be loaded: %s", error)
        return [
            pyscard_missing_check(sys.platform, f"{type(error).__name__}: {error}"),
            not_checked(READERS, "pyscard cannot be loaded"),
            not_checked(CARD, "pyscard cannot be loaded"),
        ]
    service = diagnose.probe_service()
    checks = run_guarded(
        SERVICE,
        lambda: service_check(sys.platform, service, _pcscd_facts(sys.platform)),
    )
    if not service.reachable:
        reason = "the PC/SC service is not reachable"
        return [*checks, not_checked(READERS, reason), not_checked(CARD, reason)]
    try:
        readers = diagnose.probe_readers()
    except Exception as error:
        logger.exception("The doctor could not list the readers")
        reason = "the readers could not be listed"
        return [
            *checks,
            failed_check(READERS, type(error).__name__),
            not_checked(CARD, reason),
        ]
    checks += run_guarded(READERS, lambda: readers_check(readers))
    checks += run_guarded(
        CARD, lambda: card_checks(readers.readers, diagnose.probe_select)
    )
    return checks


def not_checked(name: str, reason: str) -> Check:
    """Return the check of a step that could not run, and why."""
    return Check(name, INFO, f"not checked, because {reason}.")


def pyscard_missing_check(platform: str, error: str) -> Check:
    """Return the service check when pyscard, the PC/SC binding, fails to load."""
    fix = "Reinstall trayagent."
    if platform.startswith("linux"):
        fix += (
            " When running from source, install the pcsc-lite library and "
            "pyscard's build tools (sudo apt-get install libpcsclite1 "
            "libpcsclite-dev gcc), then run: pip install --force-reinstall pyscard"
        )
    return Check(
        SERVICE,
        PROBLEM,
        "pyscard, the library that connects trayagent to the PC/SC service, "
        "cannot be loaded.",
        fix,
        {"error": error},
    )


def service_check(
    platform: str, service: "ServiceProbe", pcscd: PcscdFacts | None
) -> Check:
    """Judge whether the PC/SC service is reachable, with the platform's remedy.

    :param pcscd: facts about pcscd on Linux and the BSDs, else ``None``.
    """
    details = {
        "platform": platform,
        "result": service.result,
        "message": service.message,
    }
    if pcscd is not None:
        details.update(_pcscd_details(pcscd))
    if service.reachable:
        return Check(SERVICE, OK, _reachable_summary(platform, pcscd), None, details)
    if service.result == "SCARD_E_NO_ACCESS":
        summary, fix = _no_access_advice(platform)
    elif platform == "win32":
        summary, fix = _windows_advice(service.result)
    elif platform == "darwin":
        summary, fix = _macos_advice(service.result)
    else:
        summary, fix = _pcscd_advice(service.result, pcscd or PcscdFacts(binary=None))
    return Check(SERVICE, PROBLEM, summary, fix, details)


def readers_check(readers: "ReadersProbe") -> Check:
    """Judge the reader list: none is a problem; odd slots and names are warnings."""
    if readers.result is not None:
        return Check(
            READERS,
            PROBLEM,
            f"listing the readers failed ({readers.result}).",
            "Run the doctor again. If it fails again, restart the PC, which "
            "restarts the smart card service.",
            {"result": readers.result, "message": readers.message},
        )
    details = {"readers": [_reader_details(reader) for reader in readers.readers]}
    if not readers.readers:
        return Check(
            READERS, PROBLEM, "no card reader is connected.", _NO_READER_FIX, details
        )
    notes = [note for reader in readers.readers for note in _reader_notes(reader)]
    described = ", ".join(
        f"{reader.name} ({reader.state})" for reader in readers.readers
    )
    count = len(readers.readers)
    summary = f"{count} reader{'s' if count > 1 else ''}: {described}."
    if notes:
        return Check(READERS, WARNING, summary, " ".join(notes), details)
    return Check(READERS, OK, summary, None, details)


def card_checks(
    readers: "tuple[ReaderProbe, ...]", select: Callable[[str, bytes], "SelectProbe"]
) -> list[Check]:
    """Send the Thai ID SELECT to the card in each reader with a card.

    :param select: sends one command APDU to a reader's card, normally
        :func:`trayagent.pcsc.diagnose.probe_select`.
    """
    holding = [reader for reader in readers if reader.state in _CARD_STATES]
    if not holding:
        return [
            Check(
                CARD,
                INFO,
                "no card that answers is in a reader; insert a Thai national ID "
                "card and run the doctor again to test it.",
            )
        ]
    checks: list[Check] = []
    for reader in holding:
        checks += run_guarded(
            f"{CARD} in {reader.name}",
            functools.partial(_select_card, reader.name, select),
        )
    return checks


def _select_card(reader: str, select: Callable[[str, bytes], "SelectProbe"]) -> Check:
    return select_check(select(reader, SELECT_PERSONAL))


def select_check(probe: "SelectProbe") -> Check:
    """Judge the card's response to the SELECT of the Thai ID personal applet."""
    name = f"{CARD} in {probe.reader}"
    details = {
        "reader": probe.reader,
        "atr": _hex(probe.atr),
        "protocol": probe.protocol,
        "command": _hex(SELECT_PERSONAL),
        "sw": f"{probe.sw:04X}" if probe.sw is not None else None,
        "select_ms": (
            round(probe.milliseconds, 1) if probe.milliseconds is not None else None
        ),
        "attempts": probe.attempts,
        "result": probe.result,
    }
    if probe.result is not None:
        return _connection_failure(name, probe, details)
    atr = f"ATR {_hex(probe.atr)}"
    if probe.sw is None:
        return Check(
            name,
            PROBLEM,
            f"the card sent no status word in response to SELECT; {atr}.",
            _INSERT_PROPERLY,
            details,
        )
    if not _selected(probe.sw):
        return Check(
            name,
            PROBLEM,
            "not a Thai national ID card: the SELECT of the Thai ID applet "
            f"returned {describe_sw(probe.sw)}; {atr}.",
            "Insert a Thai national ID card. Other cards, such as bank, "
            "hospital or staff cards, cannot be read by trayagent.",
            details,
        )
    milliseconds = probe.milliseconds or 0.0
    summary = (
        f"Thai national ID card: the personal applet answered the SELECT "
        f"({describe_sw(probe.sw)}) in {milliseconds:.1f} ms; {atr}."
    )
    if milliseconds > SLOW_SELECT_MS:
        return Check(
            name,
            WARNING,
            summary,
            "The reader responds slowly, so reading a card takes long. Plug it "
            "directly into the PC rather than through a hub, or try another reader.",
            details,
        )
    return Check(name, OK, summary, None, details)


def _selected(sw: int) -> bool:
    # The rule of trayagent.card.apdu.select_applet: 9000 or 61xx.
    return sw == SW.OK or sw >> 8 == SW1_BYTES_AVAILABLE


def _connection_failure(name: str, probe: "SelectProbe", details: dict) -> Check:
    result = probe.result
    if result in _REMOVED:
        return Check(
            name, INFO, "the card was removed during the check.", None, details
        )
    if result in _MUTE:
        return Check(
            name,
            PROBLEM,
            f"the card does not answer ({result}).",
            _INSERT_PROPERLY,
            details,
        )
    if result == _CARD_REFUSED:
        return Check(
            name,
            PROBLEM,
            f"the smart card service refused this user access to the card ({result}).",
            "On Linux, pcscd asks polkit whether a user may use a card (the "
            "action org.debian.pcsc-lite.access_card), and polkit refuses it. "
            + polkit_fix(current_user()),
            details,
        )
    if result == "SCARD_E_SHARING_VIOLATION":
        return Check(
            name,
            PROBLEM,
            "another program holds the card exclusively, so trayagent cannot read it.",
            "Close other card reader programs, such as another Thai ID card "
            "reader, then take the card out and insert it again.",
            details,
        )
    return Check(
        name,
        PROBLEM,
        f"talking to the card failed ({result}).",
        f"{_INSERT_PROPERLY} If it fails again, try another card: when every "
        "card fails, the reader is at fault.",
        details,
    )


def _reader_notes(reader: "ReaderProbe") -> list[str]:
    notes = []
    if _NOT_AN_ID_SLOT.search(reader.name):
        notes.append(
            f"{reader.name} looks like a SAM slot, a virtual reader or a security "
            "key, not a slot for ID cards; insert ID cards in another reader."
        )
    if reader.state == "mute card":
        notes.append(
            f"The card in {reader.name} gives no ATR. {_INSERT_PROPERLY} A slot "
            "that always shows a card with no ATR is a SAM slot, which "
            "trayagent ignores."
        )
    elif reader.state == "unavailable":
        notes.append(f"{reader.name} is unavailable: unplug it and plug it in again.")
    elif reader.state == "in use":
        notes.append(
            f"Another program holds the card in {reader.name} exclusively: close "
            "other card reader programs."
        )
    return notes


def _reader_details(reader: "ReaderProbe") -> dict:
    return {
        "name": reader.name,
        "state": reader.state,
        "atr": _hex(reader.atr),
        "flags": list(reader.flags),
    }


_NO_READER_FIX = (
    "Plug the card reader into a USB port of this PC, directly rather than "
    "through a hub, and check its cable. If it still does not appear, install "
    "its driver: most readers use the standard CCID driver, which Windows and "
    "macOS include (on Linux: sudo apt-get install libccid, then plug the "
    "reader in again); other readers need the maker's driver."
)


def _reachable_summary(platform: str, pcscd: PcscdFacts | None) -> str:
    if platform == "win32":
        return "the Windows Smart Card service (SCardSvr) is running."
    if platform == "darwin":
        return "the macOS smart card service responds."
    version = f" (pcsc-lite {pcscd.version})" if pcscd and pcscd.version else ""
    return f"pcscd is running and accepts connections{version}."


def _no_access_advice(platform: str) -> tuple[str, str]:
    if platform.startswith("linux"):
        return (
            "pcscd refuses this user (SCARD_E_NO_ACCESS).",
            polkit_fix(current_user()),
        )
    return (
        "the smart card service refuses this user (SCARD_E_NO_ACCESS).",
        "Ask the administrator to allow smart card access for this user.",
    )


def _windows_advice(result: str | None) -> tuple[str, str]:
    if result in _SERVICE_DOWN:
        return (
            f"the Windows Smart Card service is not running ({result}).",
            "Plug in the card reader: Windows starts the Smart Card service "
            "only once a reader has been attached. To see its state, run "
            "sc query SCardSvr in a Command Prompt. If it stays stopped with "
            "the reader plugged in, set its startup type to Automatic in "
            "services.msc and start it.",
        )
    return (
        f"the Windows Smart Card service did not respond ({result}).",
        "Unplug the reader and plug it in again. If that does not help, "
        "restart the PC.",
    )


def _macos_advice(result: str | None) -> tuple[str, str]:
    return (
        f"the macOS smart card service did not respond ({result}).",
        "Plug in the card reader and run the doctor again. If that does not "
        "help, restart the Mac.",
    )


def _pcscd_advice(result: str | None, pcscd: PcscdFacts) -> tuple[str, str]:
    if pcscd.binary is None:
        return (
            f"pcscd, the smart card service, is not installed ({result}).",
            "Install it and start it: sudo apt-get install pcscd (Debian, "
            "Ubuntu) or sudo dnf install pcsc-lite (Fedora), then "
            "sudo systemctl enable --now pcscd.socket",
        )
    if pcscd.running and result in _CONNECTION_CLOSED:
        return _connection_closed_advice(result, pcscd)
    if pcscd.running and result in _SERVICE_DOWN and pcscd.polkit_checked:
        # A library that looks for pcscd elsewhere gets SCARD_E_NO_SERVICE,
        # but so does libpcsclite 1.9.9 when pcscd closes the connection
        # before the library has sent its first message, as a polkit refusal
        # can. So the fix names both causes, polkit first.
        summary, fix = _connection_closed_advice(result, pcscd)
        if not pcscd.mismatch_evidence:
            fix += " If polkit allows it and this stays, " + _mismatch_fix(pcscd)
        return summary, fix
    if pcscd.running:
        return _mismatch_advice(result, pcscd)
    return (
        f"pcscd is installed but not running ({result}).",
        "Start it, and have it start on demand after every boot: sudo "
        "systemctl enable --now pcscd.socket (without systemd, run sudo pcscd).",
    )


def polkit_fix(user: str | None) -> str:
    """Return the fix for polkit refusing ``user`` the PC/SC actions."""
    subject = f'subject.user == "{user}"' if user else 'subject.isInGroup("GROUP")'
    rule = (
        "polkit.addRule(function(action, subject) { if ((action.id == "
        '"org.debian.pcsc-lite.access_pcsc" || action.id == '
        f'"org.debian.pcsc-lite.access_card") && {subject}) '
        "{ return polkit.Result.YES; } });"
    )
    who = f"user {user}" if user else "a group of users (replace GROUP)"
    return (
        "polkit allows smart cards by default only to the user logged in at "
        "the PC itself, not to SSH, remote desktop or service sessions. Log "
        f"in at the PC itself, or have the administrator allow {who} by "
        f"creating the file {POLKIT_RULE_PATH} with this one line: {rule} "
        "polkit reads new rule files without a restart; then quit and start "
        "trayagent again. To confirm the cause, look for NOT authorized in "
        "pcscd's log: sudo journalctl -u pcscd | grep 'NOT authorized'"
    )


def _connection_closed_advice(result: str, pcscd: PcscdFacts) -> tuple[str, str]:
    """Advise on pcscd closing the connection before accepting this process."""
    if pcscd.polkit_checked:
        user = pcscd.user or "this user"
        summary = (
            f"pcscd is running but refused the connection of {user} ({result}); "
            "pcscd asks polkit about each program, so polkit most likely "
            "refused it."
        )
        fix = polkit_fix(pcscd.user)
        if pcscd.mismatch_evidence:
            fix += " If polkit allows it and this stays, " + _mismatch_fix(pcscd)
        return summary, fix
    if pcscd.mismatch_evidence:
        return _mismatch_advice(result, pcscd)
    summary = (
        f"pcscd is running but closed trayagent's connection before accepting "
        f"it ({result})."
    )
    return summary, (
        "Restart pcscd: sudo systemctl restart pcscd.socket pcscd.service, then "
        "run the doctor again. If it fails again, pcscd's log says why: sudo "
        "journalctl -u pcscd -n 50"
    )


def _mismatch_advice(result: str | None, pcscd: PcscdFacts) -> tuple[str, str]:
    """Advise on pcscd that runs while this process cannot connect to it."""
    summary = f"pcscd is running, but trayagent cannot connect to it ({result})."
    return summary, _mismatch_fix(pcscd)


def _mismatch_fix(pcscd: PcscdFacts) -> str:
    if pcscd.socket_override:
        return (
            f"PCSCLITE_CSOCK_NAME is set to {pcscd.socket_override}, so the "
            f"pcsc-lite library looks for pcscd there instead of at "
            f"{pcscd.socket}. Remove that variable from trayagent's environment."
        )
    loaded = ", ".join(pcscd.loaded_libraries) or "an unknown pcsc-lite library"
    version = pcscd.version or "unknown"
    fix = (
        f"The usual cause is a second pcsc-lite library that does not match "
        f"the running pcscd: trayagent loaded {loaded}, and pcscd is version "
        f"{version}."
    )
    if len(pcscd.installed_libraries) > 1:
        fix += f" This PC has several: {', '.join(pcscd.installed_libraries)}."
    fix += (
        " Keep only the library installed with pcscd (remove one built from "
        "source, often under /usr/local/lib), then restart pcscd: sudo "
        "systemctl restart pcscd.socket pcscd.service"
    )
    return fix


def _pcscd_facts(platform: str) -> PcscdFacts | None:
    if platform in ("win32", "darwin"):
        return None
    return gather_pcscd_facts()


def _pcscd_details(pcscd: PcscdFacts) -> dict:
    return {
        "pcscd": pcscd.binary,
        "pcscd_version": pcscd.version,
        "socket": pcscd.socket,
        "socket_accepts": pcscd.socket_accepts,
        "pcscd_process": pcscd.process_running,
        "loaded_libraries": list(pcscd.loaded_libraries),
        "installed_libraries": list(pcscd.installed_libraries),
        "socket_override": pcscd.socket_override,
        "pcscd_arguments": (
            list(pcscd.pcscd_arguments) if pcscd.pcscd_arguments is not None else None
        ),
        "pcscd_polkit_option": pcscd.polkit_option,
        "polkit_policy": pcscd.polkit_policy,
        "effective_uid": pcscd.effective_uid,
        "polkit_checked": pcscd.polkit_checked,
    }


def _hex(data: bytes) -> str:
    return data.hex(" ").upper()
