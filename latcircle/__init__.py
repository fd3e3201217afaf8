"""latcircle: how much of a metro lies inside the 1 ms latency circle of its compute sites."""

from __future__ import annotations

__version__ = "0.1.0"
