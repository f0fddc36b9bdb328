"""Web origins as the settings file and the access policy compare them.

Pure functions, safe on any thread.
"""

import urllib.parse

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
LOOPBACK_HOSTNAMES = ("localhost", "127.0.0.1", "::1")


def normalize_origin(origin: str) -> str | None:
    """Return an origin as ``scheme://host[:port]`` in lower case.

    Default ports are dropped (``https://a.example:443`` becomes
    ``https://a.example``). Returns ``None`` for ``null`` and for anything
    that is not a bare http or https origin.
    """
    origin = origin.strip()
    if not origin or origin == "null":
        return None
    try:
        parts = urllib.parse.urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    if ":" in host:
        host = f"[{host}]"
    default_port = 443 if scheme == "https" else 80
    if port is None or port == default_port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def is_loopback_origin(origin: str) -> bool:
    """Return whether a normalized origin is an http page on this PC."""
    parts = urllib.parse.urlsplit(origin)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTNAMES
