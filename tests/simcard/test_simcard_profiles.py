"""Profiles of the simulated card: ATRs and timing."""

from functools import reduce

import pytest

from trayagent.simcard.profiles import (
    MUTE_ATR_PAYLOAD,
    PROFILES,
    get_profile,
)

MAX_ATR_SIZE = 33


def atr_layout(atr: bytes) -> tuple[int, set[int], bool]:
    """Return (expected length, protocols named by TDi, TCK present) of an ATR."""
    position, protocols, indicator = 1, set(), atr[1]
    while True:
        interface_bytes = bin(indicator >> 4).count("1")
        has_td = bool(indicator & 0x80)
        position += interface_bytes
        if not has_td:
            break
        indicator = atr[position]
        protocols.add(indicator & 0x0F)
    historical = atr[1] & 0x0F
    has_tck = bool(protocols - {0})
    return position + 1 + historical + int(has_tck), protocols or {0}, has_tck


@pytest.mark.parametrize(
    ("name", "protocol"),
    [("fast", 0), ("real", 0), ("non-thai", 0), ("atr-3b67", 0), ("t1", 1)],
)
def test_atr_well_formed(name, protocol):
    atr = PROFILES[name].atr
    length, protocols, has_tck = atr_layout(atr)
    assert atr[0] == 0x3B
    assert len(atr) == length
    assert protocols == {protocol}
    assert PROFILES[name].protocol == protocol
    if has_tck:
        assert reduce(lambda left, right: left ^ right, atr[1:]) == 0


def test_default_atr_prefix():
    assert PROFILES["fast"].atr.hex().upper().startswith("3B7818")


def test_atr_3b67_prefix():
    assert PROFILES["atr-3b67"].atr[:2] == bytes.fromhex("3B67")
    assert PROFILES["atr-3b67"].get_response_p2 == 0x01


def test_mute_payload_too_long_for_pcscd():
    assert PROFILES["mute"].atr_payload == MUTE_ATR_PAYLOAD
    assert len(MUTE_ATR_PAYLOAD) > MAX_ATR_SIZE
    assert PROFILES["mute"].atr == b""


def test_fast_has_no_delay():
    assert PROFILES["fast"].response_delay(257) == 0


def test_real_delay_per_byte():
    delay = PROFILES["real"].response_delay(257)
    assert delay == pytest.approx(0.015 + 257 * 0.000090)


def test_get_profile_unknown():
    with pytest.raises(KeyError, match="known: fast, real"):
        get_profile("slow")
