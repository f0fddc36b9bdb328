"""The ``ws-server`` thread: an asyncio loop running the aiohttp server.

The tray owns the main thread, so the server runs with ``AppRunner`` and
``TCPSite`` on a loop of its own in this thread (``web.run_app`` only works
on the main thread). Other threads reach the loop only through
:meth:`ServerThread.call_soon`.
"""

import asyncio
import errno
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .app import family_supported

logger = logging.getLogger(__name__)

# Seconds the server may take to close its clients and sockets on stop.
SHUTDOWN_TIMEOUT = 1.5


class PortInUseError(OSError):
    """Another program listens on the agent's port."""

    def __init__(self, port: int) -> None:
        self.port = port
        super().__init__(
            errno.EADDRINUSE, f"Port {port} on 127.0.0.1 is already in use"
        )


class ServerThread:
    """Run an aiohttp application on 127.0.0.1 and ::1 in a thread of its own.

    :param make_app: builds the application; called on the server thread,
        inside the running loop.
    :param port: the TCP port; the same on both addresses.
    """

    def __init__(self, make_app: Callable[[], web.Application], port: int) -> None:
        self._make_app = make_app
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._extra: list[tuple[str, Callable[[], web.Application], int]] = []
        self._extra_runners: list[web.AppRunner] = []
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ws-server")

    def add_app(
        self, name: str, make_app: Callable[[], web.Application], port: int
    ) -> None:
        """Serve another application on its own port; call before :meth:`start`.

        A port that cannot be bound is logged and skipped: the agent's own
        server matters more than a compatibility endpoint.
        """
        self._extra.append((name, make_app, port))

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and wait until the server listens.

        :raises PortInUseError: the port is taken on 127.0.0.1.
        :raises OSError: the server could not listen for another reason.
        """
        self._thread.start()
        if not self._ready.wait(timeout):
            raise OSError(f"The server did not start within {timeout:.0f} s")
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        """Schedule ``callback(*args)`` on the server's loop; safe from any thread."""
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            logger.debug("Loop closed; dropped a call to %s", callback)

    def run_coroutine(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop; return a concurrent future."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def stop(self) -> None:
        """Close every client and socket, stop the loop and join the thread."""
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        try:
            future.result(SHUTDOWN_TIMEOUT)
        except Exception:
            logger.warning("The server did not shut down cleanly", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(SHUTDOWN_TIMEOUT)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._listen())
        except Exception as error:  # noqa: BLE001 - start() re-raises it
            self._start_error = error
            self._ready.set()
            self.loop.run_until_complete(self._cleanup())
            self.loop.close()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()
            logger.info("Server stopped")

    async def _listen(self) -> None:
        self.app = self._make_app()
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await _serve_on_loopback(self._runner, self.port)
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                raise PortInUseError(self.port) from error
            raise
        logger.info("Listening on ws://127.0.0.1:%d/ws", self.port)
        for name, make_app, port in self._extra:
            runner = web.AppRunner(make_app(), access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            try:
                await _serve_on_loopback(runner, port)
            except OSError as error:
                logger.error(
                    "The %s endpoint cannot listen on port %d: %s. Stop the "
                    "program that uses it (often the agent it replaces).",
                    name,
                    port,
                    error,
                )
                await runner.cleanup()
                continue
            self._extra_runners.append(runner)
            logger.info("Listening for %s on ws://127.0.0.1:%d/ws", name, port)

    async def _shutdown(self) -> None:
        await self._cleanup()

    async def _cleanup(self) -> None:
        for runner in self._extra_runners:
            await runner.cleanup()
        self._extra_runners.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def _serve_on_loopback(runner: web.AppRunner, port: int) -> None:
    """Listen on 127.0.0.1 and, where the machine has it, on ::1.

    :raises OSError: 127.0.0.1 cannot be bound; ::1 failing is only logged.
    """
    await web.TCPSite(runner, "127.0.0.1", port).start()
    if not family_supported(socket.AF_INET6):
        logger.info("IPv6 loopback is not available; listening on 127.0.0.1 only")
        return
    try:
        await web.TCPSite(runner, "::1", port).start()
    except OSError as error:
        logger.warning("Not listening on [::1]:%d: %s", port, error)
