"""Warnings about limits that clients hit, at most one a minute per limit.

Runs on the ``ws-server`` thread. A page that leaks connections or sends
oversized messages hits the same limit many times a second. The first hit
is logged. The next line about that limit, a minute later at the
earliest, also gives the number of hits not logged in between. Lines carry the
limit, counts and the client's address and origin, never message content.
"""

import logging
import time

# Seconds between two warnings about the same limit.
LIMIT_LOG_INTERVAL = 60.0

# Limits remembered at once. The key of a limit may contain an origin, so
# a page cycling through many origins cannot grow the table without end.
MAX_REMEMBERED_LIMITS = 256


class LimitLog:
    """Rate-limited warnings, one per limit key.

    :param logger: the logger that writes the warnings.
    """

    def __init__(
        self, logger: logging.Logger, interval: float = LIMIT_LOG_INTERVAL
    ) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def warning(self, key: str, text: str, *args: object) -> None:
        """Log ``text % args`` unless a warning for ``key`` went out recently.

        :param key: the limit, with the origin when it applies per site.
        """
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._unlogged[key] = self._unlogged.get(key, 0) + 1
            return
        if len(self._last) >= MAX_REMEMBERED_LIMITS:
            self._last.clear()
            self._unlogged.clear()
        self._last[key] = now
        unlogged = self._unlogged.pop(key, 0)
        if unlogged:
            text += " (%d more times since the last such line)"
            args = (*args, unlogged)
        self.logger.warning(text, *args)
