"""The PC/SC verdicts and fixes for each platform and state, from facts built here."""

from dataclasses import replace

import pytest

from pcsc_stack import report_unavailable

try:
    from smartcard import scard
except ImportError:
    report_unavailable("pyscard is not installed")

from trayagent.doctor.pcsc_checks import (  # noqa: E402 - after the pyscard check
    SELECT_PERSONAL,
    card_checks,
    pyscard_missing_check,
    readers_check,
    select_check,
    service_check,
)
from trayagent.doctor.pcscd import PcscdFacts  # noqa: E402
from trayagent.pcsc.diagnose import (  # noqa: E402
    ReaderProbe,
    ReadersProbe,
    SelectProbe,
    ServiceProbe,
    result_name,
)

ATR = bytes.fromhex("3B 78 18 00 00 00 73 C8 40 13 00 90 00")
READER = "ACS ACR39U ICC Reader 00 00"
NO_SERVICE = ServiceProbe(
    False, "SCARD_E_NO_SERVICE", "0x8010001D (Service not available)"
)
INSTALLED = PcscdFacts(binary="/usr/sbin/pcscd", version="1.9.9")


def reader(name: str = READER, state: str = "empty", atr: bytes = b"") -> ReaderProbe:
    return ReaderProbe(name, state, atr, ())


# Service


def test_service_reachable_on_linux():
    check = service_check("linux", ServiceProbe(True), INSTALLED)
    assert check.verdict == "ok"
    assert "pcsc-lite 1.9.9" in check.summary


@pytest.mark.parametrize(
    ("platform", "pcscd", "summary_part", "fix_part"),
    [
        ("linux", PcscdFacts(binary=None), "not installed", "apt-get install pcscd"),
        ("linux", INSTALLED, "not running", "systemctl enable --now pcscd.socket"),
        (
            "linux",
            PcscdFacts(binary="/usr/sbin/pcscd", socket_accepts=True),
            "running, but trayagent cannot connect",
            "second pcsc-lite library",
        ),
        (
            "linux",
            PcscdFacts(binary="/usr/sbin/pcscd", process_running=True),
            "running, but trayagent cannot connect",
            "restart pcscd",
        ),
        ("win32", None, "Smart Card service is not running", "Plug in the card reader"),
        ("win32", None, "Smart Card service is not running", "sc query SCardSvr"),
        ("darwin", None, "macOS smart card service", "Plug in the card reader"),
    ],
)
def test_service_unreachable_advice(platform, pcscd, summary_part, fix_part):
    check = service_check(platform, NO_SERVICE, pcscd)
    assert check.verdict == "problem"
    assert summary_part in check.summary
    assert fix_part in check.fix


def test_service_windows_stopped_after_last_reader():
    stopped = ServiceProbe(False, "SCARD_E_SERVICE_STOPPED", "")
    check = service_check("win32", stopped, None)
    assert "not running (SCARD_E_SERVICE_STOPPED)" in check.summary


def test_service_no_access_names_polkit_action():
    refused = ServiceProbe(False, "SCARD_E_NO_ACCESS", "")
    check = service_check("linux", refused, INSTALLED)
    assert check.verdict == "problem"
    assert "refuses this user" in check.summary
    assert "org.debian.pcsc-lite.access_pcsc" in check.fix
    assert "60-trayagent-pcscd.rules" in check.fix


def test_service_mismatch_names_libraries_and_version():
    pcscd = PcscdFacts(
        binary="/usr/sbin/pcscd",
        version="1.9.9",
        socket_accepts=True,
        loaded_libraries=("/usr/local/lib/libpcsclite.so.1.0.0",),
        installed_libraries=(
            "/usr/lib/x86_64-linux-gnu/libpcsclite.so.1.0.0",
            "/usr/local/lib/libpcsclite.so.1.0.0",
        ),
    )
    fix = service_check("linux", NO_SERVICE, pcscd).fix
    assert "trayagent loaded /usr/local/lib/libpcsclite.so.1.0.0" in fix
    assert "pcscd is version 1.9.9" in fix
    assert "This PC has several" in fix


def test_service_mismatch_from_socket_override():
    pcscd = PcscdFacts(
        binary="/usr/sbin/pcscd", socket_accepts=True, socket_override="/tmp/nowhere"
    )
    fix = service_check("linux", NO_SERVICE, pcscd).fix
    assert "PCSCLITE_CSOCK_NAME is set to /tmp/nowhere" in fix


# pcscd closing the connection: polkit or something else


POLKIT_USER = PcscdFacts(
    binary="/usr/sbin/pcscd",
    version="2.0.3",
    socket_accepts=True,
    pcscd_arguments=("/usr/sbin/pcscd", "--foreground", "--auto-exit"),
    polkit_option=True,
    polkit_policy="/usr/share/polkit-1/actions/org.debian.pcsc-lite.policy",
    effective_uid=1000,
    user="reception",
    loaded_libraries=("/usr/lib/x86_64-linux-gnu/libpcsclite.so.1.0.0",),
    installed_libraries=("/usr/lib/x86_64-linux-gnu/libpcsclite.so.1.0.0",),
)
CLOSED_RESULTS = ["SCARD_W_SECURITY_VIOLATION", "SCARD_F_COMM_ERROR"]


def closed(result: str) -> ServiceProbe:
    return ServiceProbe(False, result, "")


@pytest.mark.parametrize("result", CLOSED_RESULTS)
def test_closed_connection_blames_polkit(result):
    check = service_check("linux", closed(result), POLKIT_USER)
    assert check.verdict == "problem"
    assert f"refused the connection of reception ({result})" in check.summary
    assert "polkit most likely refused it" in check.summary
    assert "/etc/polkit-1/rules.d/60-trayagent-pcscd.rules" in check.fix
    assert '"org.debian.pcsc-lite.access_pcsc"' in check.fix
    assert '"org.debian.pcsc-lite.access_card"' in check.fix
    assert 'subject.user == "reception"' in check.fix
    assert "journalctl -u pcscd" in check.fix
    assert "second pcsc-lite library" not in check.fix
    assert check.details["polkit_checked"] is True


def test_no_service_with_polkit_names_both_causes():
    # libpcsclite reports NO_SERVICE when pcscd hangs up before the library
    # has written anything, so polkit comes first and the library second.
    check = service_check("linux", NO_SERVICE, POLKIT_USER)
    assert "polkit most likely refused it" in check.summary
    assert "(SCARD_E_NO_SERVICE)" in check.summary
    assert check.fix.index("60-trayagent-pcscd.rules") < check.fix.index(
        "second pcsc-lite library"
    )


def test_no_service_without_polkit_blames_library():
    pcscd = replace(POLKIT_USER, effective_uid=0)
    check = service_check("linux", NO_SERVICE, pcscd)
    assert "running, but trayagent cannot connect" in check.summary
    assert "polkit" not in check.fix
    assert "second pcsc-lite library" in check.fix


def test_polkit_rule_is_one_line():
    fix = service_check("linux", closed(CLOSED_RESULTS[0]), POLKIT_USER).fix
    rule = fix[fix.index("polkit.addRule(") : fix.index("});") + 3]
    assert rule == (
        "polkit.addRule(function(action, subject) { if ((action.id == "
        '"org.debian.pcsc-lite.access_pcsc" || action.id == '
        '"org.debian.pcsc-lite.access_card") && subject.user == "reception") '
        "{ return polkit.Result.YES; } });"
    )


def test_polkit_rule_without_user_name_uses_group():
    pcscd = replace(POLKIT_USER, user=None)
    check = service_check("linux", closed(CLOSED_RESULTS[0]), pcscd)
    assert 'subject.isInGroup("GROUP")' in check.fix
    assert "refused the connection of this user" in check.summary


def test_closed_connection_polkit_and_second_library():
    pcscd = replace(
        POLKIT_USER,
        installed_libraries=(
            "/usr/lib/x86_64-linux-gnu/libpcsclite.so.1.0.0",
            "/usr/local/lib/libpcsclite.so.1.0.0",
        ),
    )
    check = service_check("linux", closed(CLOSED_RESULTS[0]), pcscd)
    assert "polkit most likely refused it" in check.summary
    assert check.fix.index("60-trayagent-pcscd.rules") < check.fix.index(
        "second pcsc-lite library"
    )
    assert "/usr/local/lib/libpcsclite.so.1.0.0" in check.fix


@pytest.mark.parametrize(
    "changes",
    [
        {"effective_uid": 0},
        {"pcscd_arguments": ("/usr/sbin/pcscd", "--disable-polkit")},
        {"polkit_option": False, "polkit_policy": None},
    ],
    ids=["root", "polkit-disabled", "built-without-polkit"],
)
@pytest.mark.parametrize("result", CLOSED_RESULTS)
def test_closed_connection_without_polkit(changes, result):
    pcscd = replace(POLKIT_USER, **changes)
    check = service_check("linux", closed(result), pcscd)
    assert check.summary == (
        f"pcscd is running but closed trayagent's connection before accepting "
        f"it ({result})."
    )
    assert "polkit" not in check.fix
    assert "second pcsc-lite library" not in check.fix
    assert "sudo systemctl restart pcscd.socket pcscd.service" in check.fix
    assert "journalctl -u pcscd" in check.fix


def test_closed_connection_root_with_second_library():
    pcscd = replace(
        POLKIT_USER,
        effective_uid=0,
        loaded_libraries=(
            "/usr/lib/x86_64-linux-gnu/libpcsclite.so.1.0.0",
            "/usr/local/lib/libpcsclite.so.1.0.0",
        ),
    )
    check = service_check("linux", closed("SCARD_F_COMM_ERROR"), pcscd)
    assert "cannot connect to it (SCARD_F_COMM_ERROR)" in check.summary
    assert "second pcsc-lite library" in check.fix
    assert "polkit" not in check.fix


def test_card_refused_by_polkit():
    probe = SelectProbe(READER, result="SCARD_W_SECURITY_VIOLATION")
    check = select_check(probe)
    assert check.verdict == "problem"
    assert "refused this user access to the card" in check.summary
    assert "org.debian.pcsc-lite.access_card" in check.fix
    assert "60-trayagent-pcscd.rules" in check.fix
    assert "insert it again" not in check.fix


def test_service_details_carry_facts():
    details = service_check("linux", NO_SERVICE, INSTALLED).details
    assert details["result"] == "SCARD_E_NO_SERVICE"
    assert details["pcscd_version"] == "1.9.9"


def test_pyscard_missing_is_problem():
    check = pyscard_missing_check("linux", "ImportError: no module")
    assert check.verdict == "problem"
    assert "libpcsclite-dev" in check.fix


# Readers


def test_no_reader_is_problem():
    check = readers_check(ReadersProbe())
    assert check.verdict == "problem"
    assert check.summary == "no card reader is connected."
    assert "CCID" in check.fix


def test_listing_failure_is_problem():
    check = readers_check(ReadersProbe(result="SCARD_F_INTERNAL_ERROR"))
    assert check.verdict == "problem"
    assert "SCARD_F_INTERNAL_ERROR" in check.summary


def test_readers_listed_with_state():
    probe = ReadersProbe((reader(state="card present", atr=ATR), reader("B 00 01")))
    check = readers_check(probe)
    assert check.verdict == "ok"
    assert check.summary == (f"2 readers: {READER} (card present), B 00 01 (empty).")
    assert (
        check.details["readers"][0]["atr"] == "3B 78 18 00 00 00 73 C8 40 13 00 90 00"
    )


def test_mute_slot_is_warning():
    check = readers_check(ReadersProbe((reader(state="mute card"),)))
    assert check.verdict == "warning"
    assert "chip first" in check.fix
    assert "SAM slot" in check.fix


@pytest.mark.parametrize(
    "name",
    [
        "Gemalto PC Twin Reader SAM 00 00",
        "Virtual PCD 00 00",
        "vpcd 00 01",
        "Windows Hello for Business 1",
        "Yubico YubiKey OTP+FIDO+CCID 00 00",
        "Microsoft Virtual Smart Card 0",
    ],
)
def test_not_an_id_slot_name_is_warning(name):
    check = readers_check(ReadersProbe((reader(name),)))
    assert check.verdict == "warning"
    assert "not a slot for ID cards" in check.fix


@pytest.mark.parametrize(
    "name",
    [
        "ACS ACR39U ICC Reader 00 00",
        "Samsung Reader 00 00",
        "Identiv uTrust 2700 R Smart Card Reader 0",
    ],
)
def test_ordinary_reader_name_is_ok(name):
    assert readers_check(ReadersProbe((reader(name),))).verdict == "ok"


# Card


def test_no_card_is_info():
    checks = card_checks((reader(),), select=_never_called)
    assert [check.verdict for check in checks] == ["info"]


def test_mute_card_gets_no_select():
    checks = card_checks((reader(state="mute card"),), select=_never_called)
    assert [check.name for check in checks] == ["Card"]


def test_card_checks_select_each_card():
    sent = []

    def select(name, apdu):
        sent.append((name, apdu))
        return SelectProbe(name, ATR, 0x610A, 2.0, "T=0", attempts=1)

    readers = (
        reader("A", "card present", ATR),
        reader("B"),
        reader("C", "card present", ATR),
    )
    checks = card_checks(readers, select)
    assert [check.name for check in checks] == ["Card in A", "Card in C"]
    assert sent == [("A", SELECT_PERSONAL), ("C", SELECT_PERSONAL)]


def test_select_is_thai_applet():
    assert SELECT_PERSONAL.hex(" ").upper() == "00 A4 04 00 08 A0 00 00 00 54 48 00 01"


@pytest.mark.parametrize("sw", [0x9000, 0x610A, 0x6120])
def test_thai_card_answers_select(sw):
    check = select_check(SelectProbe(READER, ATR, sw, 12.34, "T=0", attempts=1))
    assert check.verdict == "ok"
    assert check.summary.startswith("Thai national ID card")
    assert "12.3 ms" in check.summary
    assert "ATR 3B 78 18" in check.summary
    assert check.details["select_ms"] == 12.3


@pytest.mark.parametrize(
    ("sw", "shown"),
    [
        (0x6A82, "SW=0x6A82 (FILE_NOT_FOUND)"),
        (0x6D00, "SW=0x6D00"),
        (0x6E00, "SW=0x6E00"),
    ],
)
def test_other_card_rejects_select(sw, shown):
    check = select_check(SelectProbe(READER, ATR, sw, 3.0, "T=0", attempts=1))
    assert check.verdict == "problem"
    assert check.summary.startswith("not a Thai national ID card")
    assert shown in check.summary
    assert check.details["sw"] == f"{sw:04X}"


def test_slow_select_is_warning():
    check = select_check(SelectProbe(READER, ATR, 0x9000, 1500.0, "T=1", attempts=1))
    assert check.verdict == "warning"
    assert "slowly" in check.fix


def test_no_status_word_is_problem():
    check = select_check(SelectProbe(READER, ATR, None, 3.0, "T=0", attempts=1))
    assert check.verdict == "problem"
    assert "no status word" in check.summary


@pytest.mark.parametrize(
    ("result", "verdict", "summary_part"),
    [
        ("SCARD_W_REMOVED_CARD", "info", "removed during the check"),
        ("SCARD_W_UNPOWERED_CARD", "problem", "does not answer"),
        ("SCARD_W_UNRESPONSIVE_CARD", "problem", "does not answer"),
        ("SCARD_E_SHARING_VIOLATION", "problem", "holds the card exclusively"),
        ("SCARD_F_COMM_ERROR", "problem", "talking to the card failed"),
    ],
)
def test_connection_failure(result, verdict, summary_part):
    check = select_check(SelectProbe(READER, result=result))
    assert check.verdict == verdict
    assert summary_part in check.summary


def _never_called(name, apdu):
    raise AssertionError(f"SELECT sent to {name}")


@pytest.mark.parametrize(
    "name",
    [
        "SCARD_E_NO_SERVICE",
        "SCARD_E_SERVICE_STOPPED",
        "SCARD_E_NO_ACCESS",
        "SCARD_E_SHARING_VIOLATION",
        "SCARD_E_NO_SMARTCARD",
        "SCARD_W_REMOVED_CARD",
        "SCARD_W_UNPOWERED_CARD",
        "SCARD_W_UNRESPONSIVE_CARD",
    ],
)
def test_result_name_of_code(name):
    assert result_name(getattr(scard, name)) == name


def test_result_name_of_unknown_code():
    assert result_name(0x12345678) == "0x12345678"
