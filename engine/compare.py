"""Comparing a replay with Keras' own outputs, the way the parity checks do."""
from __future__ import annotations

import numpy as np


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Max |a − b| over the finite values; NaN or ±inf count as equal where both sides hold the same one (a
    diverged model predicts NaN where Keras does), and make the difference inf where they do not agree."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not (fa.all() and fb.all()):
        if (fa != fb).any() or not np.array_equal(a[~fa], b[~fb], equal_nan=True):
            return float("inf")
    fin = fa & fb
    return float(np.max(np.abs(a[fin] - b[fin]))) if fin.any() else 0.0
