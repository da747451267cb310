"""The diverging colour map shared by the weight tables and heatmaps (blue − white + red), as a 256-entry table."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

N = 256
_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_RGB = np.array([[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]], dtype=float)


def lut() -> np.ndarray:
    """(256, 3) uint8 RGB."""
    x = np.linspace(0, 1, N)
    return np.stack([np.interp(x, _STOPS, _RGB[:, k]) for k in range(3)], axis=1).round().astype(np.uint8)


LUT = lut()
QCOLORS = [QColor(int(r), int(g), int(b)) for r, g, b in LUT]
# black or white text, whichever reads better on each background (relative luminance)
TEXT = [QColor(0, 0, 0) if (0.2126 * r + 0.7152 * g + 0.0722 * b) > 140 else QColor(255, 255, 255) for r, g, b in LUT]


# NaN/inf cells of a diverged model: outside the diverging map, so they cannot be read as a value
NONFINITE_BG = QColor(0, 0, 0)
NONFINITE_FG = QColor(255, 214, 0)


def colormap() -> pg.ColorMap:
    return pg.ColorMap(_STOPS, _RGB.astype(np.uint8))


def lut_indices(a: np.ndarray, limit: float) -> np.ndarray:
    """Each value's entry in the table for the range [-limit, +limit]; uint8, same shape as ``a``."""
    scaled = (np.asarray(a, dtype=np.float32) / np.float32(limit) + 1) * 0.5 * (N - 1)
    return np.clip(np.rint(scaled), 0, N - 1).astype(np.uint8)
