"""Thai national ID card protocol: APDUs, the reading sequence and decoding.

Pure Python. Nothing here imports pyscard, aiohttp or pystray; the code runs on
whichever thread reads the card and sees the card only through
:class:`trayagent.card.connection.CardConnection`.
"""
