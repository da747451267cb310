"""An axis over whole numbers (steps, units, samples, matrix rows and columns): ticks only where a value exists."""
from __future__ import annotations

import pyqtgraph as pg


class IntegerAxis(pg.AxisItem):
    """pyqtgraph's ticks, without the levels finer than 1 (no tick at t = 0.5)."""

    def tickSpacing(self, minVal, maxVal, size):
        levels = [(sp, off) for sp, off in super().tickSpacing(minVal, maxVal, size) if sp >= 1]
        return levels or [(1.0, 0.0)]


def integer_axes(*sides: str) -> dict[str, IntegerAxis]:
    """``axisItems`` for a PlotItem/PlotWidget: an IntegerAxis on each of ``sides``."""
    return {side: IntegerAxis(side) for side in sides}
