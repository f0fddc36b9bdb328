"""Drop-in endpoints that speak the protocols of other Thai ID card agents.

A clinic whose web app was written for go-thai-smartcard
(:mod:`.go_thai_smartcard`, port 9898) or for pythaiidcard's API server
(:mod:`.pythaiidcard`, port 8765) can replace that agent with trayagent and
keep its web app unchanged. Each module builds an aiohttp application that
shares the agent's hub, card source and origin policy, and whose clients
translate the agent's messages into the old format. Both are off unless the
settings turn them on. Their code runs on the ``ws-server`` thread, on the
same event loop as the hub.
"""
