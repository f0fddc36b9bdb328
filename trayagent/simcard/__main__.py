"""Run the simulated card from the command line; see :mod:`trayagent.simcard.cli`."""

from trayagent.simcard.cli import main

raise SystemExit(main())
