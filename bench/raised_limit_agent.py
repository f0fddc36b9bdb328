"""The agent with its WebSocket connection limit raised, for one fan-out run.

``python -m bench.raised_limit_agent --headless --port N`` sets
``trayagent.server.websocket.MAX_CONNECTIONS`` to ``BENCH_MAX_CONNECTIONS``
and runs the agent's own command line, unchanged otherwise. The fan-out
part uses it to measure what 100 clients would cost if the limit allowed
them; no user starts the agent this way.
"""

import os
import sys

from trayagent.cli import main
from trayagent.server import websocket

websocket.MAX_CONNECTIONS = int(os.environ["BENCH_MAX_CONNECTIONS"])
sys.exit(main())
