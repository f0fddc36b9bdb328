"""The benchmark's parts, one module each, every one an ``async def run(rig)``.

Each part runs on the benchmark's event loop with its own pcscd and card
host, and returns a JSON-ready dictionary of raw values and summaries.
"""
