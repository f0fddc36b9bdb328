"""trayagent's benchmark suite: the agent's costs measured against their floors.

``python -m bench`` runs every part (``--only`` picks some) and writes one
JSON file a part to ``bench/results/``. ``python -m bench.report`` turns
them into the tables and plots of ``docs/performance.md``. The suite drives
the agent as a user would, in a subprocess, against the project's
simulated card behind a private pcscd with the vpcd driver.
"""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPOSITORY / "bench" / "results"
WORK_DIR = REPOSITORY / "bench" / ".work"
