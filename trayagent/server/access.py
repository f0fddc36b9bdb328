"""Which requests the server answers: the Host check and the Origin policy.

Runs on the ``ws-server`` thread. A page on any web site can reach
``127.0.0.1`` from the receptionist's browser, so every HTTP request and
WebSocket upgrade passes :func:`access_middleware` before any data is
served. Browsers do not apply CORS to WebSocket handshakes, so the server
checks ``Origin`` itself, by exact match after normalization.

The policy, in order:

1. ``Host`` must be ``127.0.0.1``, ``[::1]`` or ``localhost`` with the port
   the connection arrived on; anything else (a DNS rebinding page) gets 403.
2. A request with an ``Origin`` comes from a browser page. ``null`` and
   malformed origins are rejected. Pages on this PC (``http://localhost``,
   ``http://127.0.0.1``, ``http://[::1]`` on any port, the agent's own test
   page among them) and origins on the allow-list are served; origins on
   the block-list are rejected. Any other origin waits for staff to allow
   or block it in the tray (a WebSocket is held open, a REST request gets
   403); without a tray, or when ``MAX_PENDING_ORIGINS`` sites wait
   already, it is rejected and the log names the command that allows it.
3. A request without ``Origin`` comes from a program on this PC, or from a
   browser navigating or loading a subresource. Browsers mark the latter
   with ``Sec-Fetch-Site``: values other than ``none`` (typed or bookmarked
   by the user) and ``same-origin`` are rejected, so a page cannot strip
   its Origin to get past rule 2. Programs, which send no
   ``Sec-Fetch-Site``, are served.
"""

import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from ..errors import error_message
from ..origins import LOOPBACK_HOSTS, is_loopback_origin, normalize_origin

logger = logging.getLogger(__name__)


# Seconds between two log lines about the same rejected origin.
REJECTION_LOG_INTERVAL = 60.0

# Sites waiting for staff at once. Each is a menu entry in the tray, and a
# page can make up many origins (one per subdomain), so further unknown
# sites are rejected, as without a tray, until staff decide on some.
MAX_PENDING_ORIGINS = 20

# Seconds a browser may cache a CORS preflight answer.
PREFLIGHT_MAX_AGE = 600


class Verdict(enum.Enum):
    """What the policy decided for one request."""

    ALLOWED = "allowed"
    PENDING = "pending"  # unknown origin, waiting for staff in the tray
    BLOCKED = "blocked"  # on the block-list
    REJECTED = "rejected"  # malformed, null, or unknown without a tray


class OriginPolicy:
    """The allow-list, the block-list, and the origins waiting for a decision.

    :param interactive: whether a tray can ask staff about unknown origins.
    :param on_pending: called with an origin the first time it waits.
    """

    def __init__(
        self,
        allowed: Iterable[str] = (),
        blocked: Iterable[str] = (),
        *,
        interactive: bool = False,
        on_pending: Callable[[str], None] = lambda origin: None,
    ) -> None:
        self.allowed: set[str] = {o for o in map(normalize_origin, allowed) if o}
        self.blocked: set[str] = {o for o in map(normalize_origin, blocked) if o}
        self.pending: set[str] = set()
        self.interactive = interactive
        self._on_pending = on_pending
        self._last_logged: dict[str, float] = {}

    def check(self, origin: str | None) -> Verdict:
        """Return the verdict for a normalized origin (``None`` if invalid)."""
        if origin is None:
            return Verdict.REJECTED
        if is_loopback_origin(origin) or origin in self.allowed:
            return Verdict.ALLOWED
        if origin in self.blocked:
            return Verdict.BLOCKED
        if not self.interactive:
            return Verdict.REJECTED
        if origin not in self.pending:
            if self.pending_full:
                return Verdict.REJECTED
            self.pending.add(origin)
            self._on_pending(origin)
        return Verdict.PENDING

    @property
    def pending_full(self) -> bool:
        """Whether ``MAX_PENDING_ORIGINS`` sites wait already."""
        return len(self.pending) >= MAX_PENDING_ORIGINS

    def allow(self, origin: str) -> None:
        """Put an origin on the allow-list."""
        self.pending.discard(origin)
        self.blocked.discard(origin)
        self.allowed.add(origin)

    def block(self, origin: str) -> None:
        """Put an origin on the block-list."""
        self.pending.discard(origin)
        self.allowed.discard(origin)
        self.blocked.add(origin)

    def forget(self, origin: str) -> None:
        """Take an origin off both lists; it will be asked about again."""
        self.allowed.discard(origin)
        self.blocked.discard(origin)

    def should_log(self, origin: str) -> bool:
        """Return whether a rejection of ``origin`` is due for a log line."""
        now = time.monotonic()
        last = self._last_logged.get(origin)
        if last is not None and now - last < REJECTION_LOG_INTERVAL:
            return False
        self._last_logged[origin] = now
        return True


POLICY = web.AppKey("origin_policy", OriginPolicy)
SETTINGS_PATH = web.AppKey("settings_path", str)

# What the middleware decided, stored on the request for the handlers.
VERDICT = web.RequestKey("verdict", Verdict)
ORIGIN = web.RequestKey("origin", str)


def request_verdict(request: web.Request) -> Verdict | None:
    """Return the access verdict the middleware stored on ``request``."""
    return request.get(VERDICT)


def request_origin(request: web.Request) -> str | None:
    """Return the normalized Origin of ``request``, or ``None`` without one."""
    return request.get(ORIGIN)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def access_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Apply the Host check and the Origin policy; see the module docstring."""
    port = _local_port(request)
    host = request.headers.get("Host", "")
    if host.lower() not in allowed_hosts(port):
        logger.warning(
            "Rejected %s %s: Host %r", request.method, request.path, host[:100]
        )
        return error_response("FORBIDDEN_HOST", 403)

    raw_origin = request.headers.get("Origin")
    if raw_origin is None:
        site = request.headers.get("Sec-Fetch-Site")
        if site not in (None, "none", "same-origin"):
            logger.warning(
                "Rejected %s %s: no Origin but Sec-Fetch-Site %r",
                request.method,
                request.path,
                site[:40],
            )
            return error_response("FORBIDDEN_ORIGIN", 403)
        request[VERDICT] = Verdict.ALLOWED
        request[ORIGIN] = None
        return await handler(request)

    policy = request.app[POLICY]
    origin = normalize_origin(raw_origin)
    verdict = policy.check(origin)
    request[VERDICT] = verdict
    request[ORIGIN] = origin
    shown = origin or raw_origin[:200]
    if verdict is Verdict.ALLOWED:
        if request.method == "OPTIONS":
            return _preflight_response(request, origin)
        response = await handler(request)
        if origin is not None and not is_same_agent(origin, port):
            _add_cors_headers(response, origin)
        return response
    if verdict is Verdict.PENDING and request.path == "/ws":
        return await handler(request)  # the handler holds the connection
    if policy.should_log(shown):
        _log_rejection(request, shown, verdict)
    return error_response("FORBIDDEN_ORIGIN", 403)


def allowed_hosts(port: int) -> frozenset[str]:
    """Return the ``Host`` header values a request on ``port`` may carry."""
    return frozenset(f"{host}:{port}" for host in LOOPBACK_HOSTS)


def is_same_agent(origin: str, port: int) -> bool:
    """Return whether an origin is the agent's own pages on ``port``."""
    return origin in {f"http://{host}:{port}" for host in LOOPBACK_HOSTS}


def error_response(
    code: str,
    status: int,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Return a JSON error body with the code's fixed message.

    :param field: for ``INVALID_MESSAGE``, the request field at fault.
    :param headers: more headers, such as ``Allow`` for a 405.
    """
    return web.json_response(
        {"error": {"code": code, "message": error_message(code, field)}},
        status=status,
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        },
    )


def _local_port(request: web.Request) -> int:
    sockname = (
        request.transport.get_extra_info("sockname") if request.transport else None
    )
    return int(sockname[1]) if sockname else 0


def _preflight_response(request: web.Request, origin: str | None) -> web.Response:
    response = web.Response(status=204)
    if origin is not None:
        _add_cors_headers(response, origin)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    if request.headers.get("Access-Control-Request-Private-Network") == "true":
        response.headers["Access-Control-Allow-Private-Network"] = "true"
    return response


def _add_cors_headers(response: web.StreamResponse, origin: str) -> None:
    if response.prepared:
        return  # a WebSocket: CORS does not apply
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"


def _log_rejection(request: web.Request, origin: str, verdict: Verdict) -> None:
    if verdict is Verdict.BLOCKED:
        logger.warning("Rejected %s from blocked origin %s", request.path, origin)
        return
    settings_path = request.app.get(SETTINGS_PATH, "the settings file")
    policy = request.app[POLICY]
    valid = normalize_origin(origin) is not None
    if valid and policy.interactive and policy.pending_full:
        logger.warning(
            "Rejected %s from origin %s: %d sites already wait for approval in "
            "the tray. Allow or block some of them, or run 'trayagent origins "
            "allow %s'.",
            request.path,
            origin,
            MAX_PENDING_ORIGINS,
            origin,
        )
        return
    logger.warning(
        "Rejected %s from origin %s: it is not allowed. To allow it, run "
        "'trayagent origins allow %s', which takes effect at once, or add it "
        'to "allowed_origins" in %s and restart trayagent.',
        request.path,
        origin,
        origin,
        settings_path,
    )
