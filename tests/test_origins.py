"""Parsing and normalizing web origins, and the reasons given for bad ones."""

import pytest

from trayagent.origins import (
    InvalidOrigin,
    is_loopback_origin,
    normalize_origin,
    parse_origin,
)


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("HTTPS://Clinic.Example:443/", "https://clinic.example"),
        ("http://clinic.example:80", "http://clinic.example"),
        ("https://clinic.example:8443", "https://clinic.example:8443"),
        ("  https://clinic.example  ", "https://clinic.example"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://clinic.example:65535", "https://clinic.example:65535"),
    ],
)
def test_origin_normalized(text, origin):
    assert parse_origin(text) == origin
    assert normalize_origin(text) == origin


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("https://*.clinic.example", "wildcards are not supported, because web"),
        ("https://*", "wildcards are not supported"),
        ("https://clinic.example:99999", "port 99999 is out of range 1-65535"),
        ("https://clinic.example:0", "port 0 is out of range 1-65535"),
        ("http://[::1]:70000", "port 70000 is out of range 1-65535"),
        ("https://clinic.example:8x", "port '8x' is not a number"),
        ("ftp://clinic.example", "it is not an http or https origin"),
        ("clinic.example", "it is not an http or https origin"),
        (
            "https://clinic.example/app",
            "no path, query or fragment; use https://clinic.example",
        ),
        ("https://staff:secret@clinic.example", "no user name or password"),
        ("http://[::1", "cannot be parsed as a URL"),
        ("null", "it is not a web site's origin"),
        ("", "it is not a web site's origin"),
    ],
)
def test_invalid_origin_reason(text, reason):
    with pytest.raises(InvalidOrigin) as raised:
        parse_origin(text)
    assert reason in str(raised.value)
    assert normalize_origin(text) is None


def test_wildcard_message_says_matching_is_exact():
    with pytest.raises(InvalidOrigin) as raised:
        parse_origin("https://*.clinic.example")
    assert "matched exactly; list each site" in str(raised.value)


@pytest.mark.parametrize(
    ("origin", "loopback"),
    [
        ("http://localhost:18150", True),
        ("http://127.0.0.1", True),
        ("http://[::1]:3000", True),
        ("https://localhost", False),
        ("http://clinic.example", False),
    ],
)
def test_loopback_origin_recognised(origin, loopback):
    assert is_loopback_origin(origin) is loopback
