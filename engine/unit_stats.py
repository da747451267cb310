"""Per-unit statistics of a recurrent layer over many samples, accumulated chunk by chunk (bounded memory), and what
they say: gate health (saturated fraction, dead units, forget-gate mean and the memory length it implies) and unit
orders (by variance over time, final |h|, saturation, contribution to a Dense readout).

``UnitStats.update(records)`` takes one chunk's records (a run's ``Records``: arrays (batch, T, units) in processing
order, with ``mask`` when Keras masking applies; masked steps are left out); ``merge`` adds another accumulator
(another chunk or another core's part). Sums are float64, so the order of chunks changes results only by rounding.
``engine.streaming.dataset_stats`` takes the same statistics step by step instead (engine/step_stats.py), without
keeping the records.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: gates whose values live in [0, 1] (a recurrent activation): their saturation is counted
SIGMOID_GATES = ("i", "f", "o", "z", "r")
SAT_LO, SAT_HI = 0.05, 0.95
#: a unit whose h moves less than this over every sample and step is "dead"
DEAD_RANGE = 1e-6
ORDER_KEYS = ("variance", "final", "saturation", "contribution")


def record_kind(name: str) -> str:
    """What is counted of a record (see ``_Moments.add``): "gate" for sigmoid gates, "h", else "sum"."""
    return "gate" if name in SIGMOID_GATES else "h" if name == "h" else "sum"


@dataclass
class _Moments:
    n: int = 0  # (sample, step) pairs counted
    sum: np.ndarray | None = None
    sumsq: np.ndarray | None = None  # these three for h only
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    sat: np.ndarray | None = None  # per unit: values < SAT_LO or > SAT_HI

    def add(self, a: np.ndarray, keep: np.ndarray | None, kind: str) -> None:
        """``a`` (batch, T, u); ``keep`` (batch, T) bool or None. ``kind``: "gate" (sums and saturation counts),
        "h" (sums, squares, min and max) or "sum" (sums only): each pass over a chunk costs about as much as a
        step of the replay, so only what the health and the orders read is counted."""
        if keep is not None:
            a = a[keep]  # (kept, u)
            n = a.shape[0]
            axes = (0,)
        else:
            n = a.shape[0] * a.shape[1]
            axes = (0, 1)
        if n == 0:
            return
        s = np.sum(a, axis=axes, dtype=np.float64)
        sq = lo = hi = sat = None
        if kind == "h":
            sq = np.einsum("ku,ku->u" if a.ndim == 2 else "btu,btu->u", a, a, dtype=np.float64)
            lo, hi = np.min(a, axis=axes).astype(np.float64), np.max(a, axis=axes).astype(np.float64)
        elif kind == "gate":
            sat = np.count_nonzero(a < SAT_LO, axis=axes) + np.count_nonzero(a > SAT_HI, axis=axes)
        self._combine(n, s, sq, lo, hi, sat)

    def _combine(self, n, s, sq, lo, hi, sat) -> None:
        if self.n == 0:
            self.n, self.sum, self.sumsq, self.lo, self.hi = n, s, sq, lo, hi
            self.sat = None if sat is None else sat.astype(np.int64)
            return
        self.n += n
        self.sum = self.sum + s
        if sq is not None:
            self.sumsq = self.sumsq + sq
            self.lo = np.minimum(self.lo, lo)
            self.hi = np.maximum(self.hi, hi)
        if sat is not None:
            self.sat = self.sat + sat

    def merge(self, other: "_Moments") -> None:
        if other.n:
            self._combine(other.n, other.sum, other.sumsq, other.lo, other.hi, other.sat)

    @property
    def mean(self) -> np.ndarray:
        return self.sum / max(self.n, 1)

    @property
    def var(self) -> np.ndarray | None:
        if self.sumsq is None:
            return None
        return np.maximum(self.sumsq / max(self.n, 1) - self.mean ** 2, 0.0)


@dataclass
class GateHealth:
    layer: str
    samples: int
    saturated: dict[str, float]  # per sigmoid gate: fraction of values < 0.05 or > 0.95
    dead_units: list[int]  # h never changes (over every sample and step)
    forget_mean: float | None  # LSTM: mean f; GRU: mean z (the share of h_{t-1} kept)
    gate_means: dict[str, float] = field(default_factory=dict)

    @property
    def memory_steps(self) -> float | None:
        """1 / (1 − forget mean): the number of steps over which the kept share decays by e (roughly)."""
        if self.forget_mean is None:
            return None
        return float("inf") if self.forget_mean >= 1 else 1.0 / (1.0 - self.forget_mean)

    def lines(self) -> list[str]:
        sat = ", ".join(f"{g} {100 * v:.1f}%" for g, v in self.saturated.items()) or "no sigmoid gates"
        out = [f"{self.layer}: over {self.samples} samples", f"  saturated (<{SAT_LO} or >{SAT_HI}): {sat}"]
        dead = self.dead_units
        out.append(f"  dead units (h never changes): {len(dead)}" + (f" ({', '.join(map(str, dead[:12]))}"
                                                                   f"{', …' if len(dead) > 12 else ''})" if dead else ""))
        if self.forget_mean is not None:
            g = "f" if "f" in self.gate_means else "z"
            out.append(f"  {g} mean {self.forget_mean:.3f}: memory ≈ {self.memory_steps:.3g} steps")
        return out


class UnitStats:
    """Running per-unit statistics of one recurrent layer (or one direction of a Bidirectional)."""

    def __init__(self, name: str, layer, readout_kernel: np.ndarray | None = None):
        self.name = name
        self.layer = layer
        self.readout_kernel = readout_kernel  # (units, outputs) of a Dense that reads h, for "contribution"
        self.samples = 0
        self.moments: dict[str, _Moments] = {}
        self.final_abs: np.ndarray | None = None  # Σ over samples of |h| after the last step

    def tracked(self) -> list[str]:
        return list(getattr(self.layer, "gate_record_names", ())) + list(self.layer.state_record_names)

    def update(self, records) -> None:
        """One chunk's records (batch, T, u) of this layer or direction."""
        names = self.tracked()
        keep = None
        if "mask" in records:
            m = np.asarray(records["mask"], bool)
            keep = None if m.all() else m
        for name in names:
            self.moments.setdefault(name, _Moments()).add(records[name], keep, record_kind(name))
        h = records["h"]
        fa = np.sum(np.abs(h[:, -1]), axis=0, dtype=np.float64)
        self.final_abs = fa if self.final_abs is None else self.final_abs + fa
        self.samples += h.shape[0]

    def merge(self, other: "UnitStats") -> None:
        for k, m in other.moments.items():
            self.moments.setdefault(k, _Moments()).merge(m)
        if other.final_abs is not None:
            self.final_abs = other.final_abs if self.final_abs is None else self.final_abs + other.final_abs
        self.samples += other.samples

    # --- what they say ---------------------------------------------------------------------------------------------
    def health(self) -> GateHealth:
        sat = {g: float(self.moments[g].sat.sum() / (self.moments[g].n * self.layer.units))
               for g in SIGMOID_GATES if g in self.moments and self.moments[g].n}
        h = self.moments.get("h")
        dead = [] if h is None or not h.n else [int(j) for j in np.flatnonzero(h.hi - h.lo < DEAD_RANGE)]
        means = {g: float(m.mean.mean()) for g, m in self.moments.items() if m.n}
        forget = means.get("f", means.get("z"))
        return GateHealth(self.name, self.samples, sat, dead, forget, means)

    def score(self, key: str) -> np.ndarray | None:
        """Per unit, larger first when ordering: variance of h, mean final |h|, saturated share, contribution."""
        u = self.layer.units
        if key == "variance":
            h = self.moments.get("h")
            return None if h is None or not h.n else h.var
        if key == "final":
            return None if self.final_abs is None else self.final_abs / max(self.samples, 1)
        if key == "saturation":
            gates = [self.moments[g] for g in SIGMOID_GATES if g in self.moments and self.moments[g].n]
            if not gates:
                return None
            return sum(m.sat for m in gates) / float(sum(m.n for m in gates))
        if key == "contribution":
            if self.readout_kernel is None or self.final_abs is None:
                return None
            w = np.mean(np.abs(np.asarray(self.readout_kernel, np.float64)), axis=1)
            return self.final_abs / max(self.samples, 1) * w[:u]
        raise KeyError(key)

    def order(self, key: str) -> np.ndarray | None:
        """Units sorted by ``score(key)``, largest first (ties keep unit order)."""
        s = self.score(key)
        return None if s is None else np.argsort(-s, kind="stable")
