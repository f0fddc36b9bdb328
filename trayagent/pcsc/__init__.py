"""The PC/SC side of the agent: the pyscard adapter and the monitor thread.

This package is the only place that imports ``smartcard``. No pyscard
exception leaves it: failures become :mod:`trayagent.card.errors` classes or
events for the event loop.
"""
