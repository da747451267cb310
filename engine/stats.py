"""Summary statistics of weight blocks, for the per-gate lines under the weight tables."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BlockStats:
    min: float
    max: float
    mean: float
    std: float
    norm: float  # Frobenius (L2 for a bias vector)
    nonfinite: int = 0  # NaN/inf values (a diverged model); the other figures are over the finite ones

    def line(self) -> str:
        text = (f"min {self.min:+.4g}   max {self.max:+.4g}   mean {self.mean:+.4g}   "
                f"std {self.std:.4g}   ‖·‖ {self.norm:.4g}")
        return text + (f"   ⚠ {self.nonfinite} NaN/inf" if self.nonfinite else "")


def block_stats(a: np.ndarray) -> BlockStats:
    a64 = np.asarray(a, dtype=np.float64)
    fin = np.isfinite(a64)
    bad = int(a64.size - np.count_nonzero(fin))
    if bad:
        a64 = a64[fin]
    if a64.size == 0:
        return BlockStats(0.0, 0.0, 0.0, 0.0, 0.0, bad)
    return BlockStats(float(a64.min()), float(a64.max()), float(a64.mean()), float(a64.std()),
                      float(np.sqrt(np.sum(a64 * a64))), bad)


def symmetric_limit(a: np.ndarray) -> float:
    """The colour range ±limit for a diverging map centred on zero; never 0."""
    a = np.asarray(a)
    fin = np.isfinite(a)
    if not fin.all():  # a diverged model's NaN/inf are marked apart; the colours span the finite values
        a = a[fin]
    lim = float(np.max(np.abs(a))) if a.size else 0.0
    return lim if lim > 0 and np.isfinite(lim) else 1.0
