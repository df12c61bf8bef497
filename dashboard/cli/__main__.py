"""Run the command line as ``python -m dashboard.cli``."""

import sys

from dashboard.cli import main

sys.exit(main())
