"""``python -m latcircle.cli``: the same as ``latcircle`` (and ``python -m latcircle``)."""

import sys

from latcircle.cli import main

sys.exit(main())
