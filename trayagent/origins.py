"""Web origins as the settings file and the access policy compare them.

Pure functions, safe on any thread.
"""

import urllib.parse

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
LOOPBACK_HOSTNAMES = ("localhost", "127.0.0.1", "::1")

# The reason pages on this PC need no entry on either list, for messages.
LOOPBACK_ALWAYS_ALLOWED = (
    "Pages on this PC (http://localhost:*, http://127.0.0.1:* and "
    "http://[::1]:*, on any port) are always allowed. The agent listens on "
    "this PC only, and any program here can reach it without a browser, so "
    "blocking these pages would protect nothing."
)


class InvalidOrigin(ValueError):
    """An origin that cannot be allowed or blocked; its message gives the reason."""


def parse_origin(text: str) -> str:
    """Return an origin as ``scheme://host[:port]`` in lower case.

    Default ports are dropped (``https://a.example:443`` becomes
    ``https://a.example``).

    :raises InvalidOrigin: ``text`` is not a bare http or https origin; the
        message names the part that is wrong, for the user.
    """
    text = text.strip()
    if not text or text == "null":
        raise InvalidOrigin(
            "it is not a web site's origin; use scheme://host[:port], "
            "e.g. https://clinic.example"
        )
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError as error:
        raise InvalidOrigin(f"it cannot be parsed as a URL ({error})") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise InvalidOrigin(
            "it is not an http or https origin (scheme://host[:port], no path)"
        )
    if "*" in host:
        raise InvalidOrigin(
            "wildcards are not supported, because web sites are matched "
            "exactly; list each site, e.g. https://a.clinic.example"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidOrigin("an origin has no user name or password")
    port = _port(parts.netloc)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidOrigin(
            "an origin has no path, query or fragment; use "
            f"{scheme}://{parts.netloc.lower()}"
        )
    if ":" in host:
        host = f"[{host}]"
    default_port = 443 if scheme == "https" else 80
    if port is None or port == default_port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def normalize_origin(origin: str) -> str | None:
    """Return an origin as :func:`parse_origin` does, or ``None`` if it is invalid.

    ``None`` covers ``null`` and anything that is not a bare http or https
    origin.
    """
    try:
        return parse_origin(origin)
    except InvalidOrigin:
        return None


def is_loopback_origin(origin: str) -> bool:
    """Return whether a normalized origin is an http page on this PC."""
    parts = urllib.parse.urlsplit(origin)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTNAMES


def _port(netloc: str) -> int | None:
    """Return the port written in ``netloc``, or ``None`` when there is none.

    urllib's own ``port`` property reports an out-of-range port only as
    "Port out of range 0-65535", and accepts port 0.
    """
    host_and_port = netloc.rpartition("@")[2]
    if host_and_port.startswith("["):
        port_text = host_and_port.partition("]")[2].removeprefix(":")
    else:
        port_text = host_and_port.partition(":")[2]
    if not port_text:
        return None
    if not port_text.isascii() or not port_text.isdigit():
        raise InvalidOrigin(f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise InvalidOrigin(f"port {port} is out of range 1-65535")
    return port
