"""Run the agent with ``python -m trayagent``."""

import sys

from .cli import main

sys.exit(main())
