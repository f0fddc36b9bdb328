"""Entry script of the frozen app: run the ``trayagent`` command line.

PyInstaller runs its entry script as ``__main__`` outside any package, so
``trayagent/__main__.py`` with its relative import cannot serve here.
"""

import sys

from trayagent.cli import main

sys.exit(main())
