"""``python -m latcircle``: the command line."""

import sys

from latcircle.cli import main

sys.exit(main())
