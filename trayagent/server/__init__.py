"""The local server: WebSocket, REST API and test page.

This package is the only place that imports aiohttp. Its code runs on the
``ws-server`` thread, which owns the asyncio event loop.
"""
