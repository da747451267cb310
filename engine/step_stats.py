"""Per-unit statistics taken step by step, while each step's values are still in cache.

``StepStats.add`` takes the values of one step of a run (``RecurrentRun.last_step``: views of the step's own
buffers, which a run that does not record reuses two steps later) and adds them to running per-unit totals, so that
a dataset's statistics need no record of its steps (engine/streaming.py). The result is a ``UnitStats`` (see
engine/unit_stats.py) holding the same statistics ``UnitStats.update`` takes from the records of the same samples:
the same counts, minima and maxima, and float64 sums added in another order.

Per unit, over one part of the batch, for one layer or one direction of a Bidirectional:

* every tracked record: a float64 sum. Each step's values are made float64 (exact) and summed over the batch by
  one matrix-vector product with the batch's weights (ones, or the step's mask as 0/1), then added to the total;
* sigmoid gates: the saturated count. Each step compares into two bool buffers (< 0.05, > 0.95), whose bytes are
  added eight at a time (as uint64 words) to a byte counter per (unit, sample); a counter gains at most one per step
  (a value is not both), so they are folded into int64 totals every 255 steps, before a byte can overflow;
* h: the float64 sum of squares, and an elementwise running minimum and maximum per (unit, sample), reduced over
  the samples once at the end;
* the final |h| (after the run's last step) summed over the samples, all of them as in ``UnitStats.update``.

Masked steps (Keras masking: ``mask`` in the step's values) are left out: weight 0 in the sums and the counts,
and the running minimum and maximum keep their values there.
"""
from __future__ import annotations

import numpy as np

from .unit_stats import SAT_HI, SAT_LO, UnitStats, _Moments, record_kind

#: byte counters are folded into the totals after this many steps (one byte holds up to 255)
FOLD_STEPS = 255


class StepStats:
    """Running per-unit statistics of one layer (or direction) over a batch of ``batch`` samples, one step at a
    time: ``add`` after each step, ``result`` at the end."""

    def __init__(self, template: UnitStats, batch: int):
        self.template = template
        layer = template.layer
        u = layer.units
        self.batch = batch
        self.names = template.tracked()
        self.kinds = {name: record_kind(name) for name in self.names}
        self.n = 0  # (sample, step) pairs kept
        self.sums = {name: np.zeros(u) for name in self.names}
        self.ones = np.ones(batch)
        self.w = np.empty(batch)  # a masked step's weights
        self.x64 = np.empty((u, batch))  # the step's values of one record, float64
        self.dot = np.empty(u)  # one matrix-vector product
        self.sumsq = np.zeros(u)
        dtype = layer.dtype
        self.lo = np.full((u, batch), np.inf, dtype)
        self.hi = np.full((u, batch), -np.inf, dtype)
        words = -(-batch // 8)  # bool rows padded to whole uint64 words (the padding stays False)
        self.below = np.zeros((u, 8 * words), bool)
        self.above = np.zeros((u, 8 * words), bool)
        gates = [name for name in self.names if self.kinds[name] == "gate"]
        self.bytes = {g: np.zeros((u, words), np.uint64) for g in gates}
        self.sat = {g: np.zeros(u, np.int64) for g in gates}
        self.unfolded = 0  # steps added to the byte counters since the last fold
        self.final_abs: np.ndarray | None = None

    def add(self, values, prefix: str = "", last: bool = False) -> None:
        """One step's values (``RecurrentRun.last_step``: ``<prefix><name>`` → (batch, units)); ``last`` when it
        was the run's last step."""
        keep = values.get(prefix + "mask")
        if keep is not None and keep.all():
            keep = None
        n = self.batch if keep is None else int(np.count_nonzero(keep))
        if n:
            self._add(values, prefix, keep, n)
        if last:
            np.abs(values[prefix + "h"].T, out=self.x64)
            self.final_abs = np.matmul(self.x64, self.ones)

    def _add(self, values, prefix, keep, n) -> None:
        B = self.batch
        if keep is None:
            w = self.ones
        else:
            w = self.w
            np.copyto(w, keep)
        self.n += n
        x64, dot = self.x64, self.dot
        for name in self.names:
            v = values[prefix + name].T  # (units, batch)
            np.copyto(x64, v)
            np.matmul(x64, w, out=dot)
            np.add(self.sums[name], dot, out=self.sums[name])
            kind = self.kinds[name]
            if kind == "gate":
                below, above = self.below[:, :B], self.above[:, :B]
                np.less(v, SAT_LO, out=below)
                np.greater(v, SAT_HI, out=above)
                if keep is not None:
                    np.logical_and(below, keep, out=below)
                    np.logical_and(above, keep, out=above)
                counts = self.bytes[name]
                np.add(counts, self.below.view(np.uint64), out=counts)
                np.add(counts, self.above.view(np.uint64), out=counts)
            elif kind == "h":
                np.multiply(x64, x64, out=x64)
                np.matmul(x64, w, out=dot)
                np.add(self.sumsq, dot, out=self.sumsq)
                where = True if keep is None else keep
                np.minimum(self.lo, v, out=self.lo, where=where)
                np.maximum(self.hi, v, out=self.hi, where=where)
        self.unfolded += 1
        if self.unfolded == FOLD_STEPS:
            self._fold()

    def _fold(self) -> None:
        for g, counts in self.bytes.items():
            self.sat[g] += counts.view(np.uint8).sum(axis=1, dtype=np.int64)
            counts[:] = 0
        self.unfolded = 0

    def result(self) -> UnitStats:
        """The statistics so far, as a ``UnitStats`` of this part (to ``merge`` with others)."""
        self._fold()
        t = self.template
        out = UnitStats(t.name, t.layer, t.readout_kernel)
        for name in self.names:
            m = out.moments[name] = _Moments()
            if not self.n:
                continue
            kind = self.kinds[name]
            sq = lo = hi = sat = None
            if kind == "h":
                sq = self.sumsq.copy()
                lo = self.lo.min(axis=1).astype(np.float64)
                hi = self.hi.max(axis=1).astype(np.float64)
            elif kind == "gate":
                sat = self.sat[name].copy()
            m._combine(self.n, self.sums[name].copy(), sq, lo, hi, sat)
        out.final_abs = None if self.final_abs is None else self.final_abs.copy()
        out.samples = self.batch
        return out
