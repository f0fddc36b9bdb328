"""Which requests the server answers: the Host check and the Origin policy.

Runs on the ``ws-server`` thread. A page on another site can reach
``127.0.0.1`` from the receptionist's browser, so every HTTP request and
WebSocket upgrade is checked here before any data is served. Browsers do not
apply CORS to WebSocket handshakes, so the ``Origin`` header is checked by
the server itself.
"""

import logging
import urllib.parse

logger = logging.getLogger(__name__)

# Loopback pages on any port are allowed by default: a developer's own dev
# server runs there, and only programs on this PC can serve them.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(port: int) -> frozenset[str]:
    """Return the ``Host`` header values a request to the agent may carry.

    Anything else means the request did not come from a page or program
    that addressed the agent by a loopback name, for example a DNS
    rebinding page whose own name now points at 127.0.0.1.
    """
    return frozenset(f"{host}:{port}" for host in LOOPBACK_HOSTS)


def normalize_origin(origin: str) -> str | None:
    """Return an origin as ``scheme://host[:port]`` in lower case.

    Default ports are dropped (``https://a.example:443`` becomes
    ``https://a.example``). Returns ``None`` for ``null`` and for anything
    that is not an http or https origin.
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
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
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
    return parts.scheme == "http" and parts.hostname in (
        "localhost",
        "127.0.0.1",
        "::1",
    )
