"""The aiohttp application: its routes, shared state and ``hello``.

Runs on the ``ws-server`` thread. Card reads happen on the card source's
threads; handlers only await their futures, so no card ever blocks the loop.
"""

import logging
import socket
from importlib import resources

from aiohttp import web

from . import access, messages, rest, websocket
from .context import CONFIG, HUB, SETTINGS, SOURCE, CardSource, ServerConfig
from .hub import Hub

logger = logging.getLogger(__name__)


_STATIC_FILES = {
    "/": ("index.html", "text/html"),
    "/client.js": ("client.js", "text/javascript"),
}


__all__ = ["CardSource", "ServerConfig", "announce_settings", "create_app"]


def create_app(
    hub: Hub,
    source: CardSource,
    config: ServerConfig,
    policy: access.OriginPolicy | None = None,
) -> web.Application:
    """Build the application with its routes and access checks."""
    app = web.Application(
        middlewares=[access.access_middleware, rest.api_error_middleware],
        client_max_size=rest.MAX_BODY_SIZE,
    )
    app[HUB] = hub
    app[SOURCE] = source
    app[CONFIG] = config
    app[SETTINGS] = {"auto_read": True, "include_photo": True}
    app[access.POLICY] = policy or access.OriginPolicy()
    for path in _STATIC_FILES:
        app.router.add_get(path, _static_file)
    websocket.init_app(app)
    app.router.add_get("/ws", websocket.handle)
    rest.add_routes(app)
    app.on_shutdown.append(_close_clients)
    return app


def announce_settings(app: web.Application, settings: dict[str, bool]) -> None:
    """Store the client-visible settings and tell every client."""
    # Changed in place, because aiohttp (3.14 here) deprecates assigning a
    # key of an application that has started.
    stored = app[SETTINGS]
    stored.clear()
    stored.update(settings)
    app[HUB].broadcast(messages.message("settings", settings=dict(settings)))


def family_supported(family: socket.AddressFamily) -> bool:
    """Return whether this machine can bind a socket of ``family`` on loopback."""
    address = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


async def _static_file(request: web.Request) -> web.StreamResponse:
    name, content_type = _STATIC_FILES[request.path]
    body = resources.files("trayagent.server").joinpath("static", name).read_bytes()
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


async def _close_clients(app: web.Application) -> None:
    await websocket.close_all(app)
