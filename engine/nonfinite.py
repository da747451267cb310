"""Non-finite weights (NaN, ±inf): where a diverged model holds them, per layer and per gate.

Keras opens such a model and predicts NaN from it; so does the engine. This says where the non-finite values are,
so the model panel, ``info`` and the weights view can point at them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers.recurrent import RecurrentLayer


@dataclass(frozen=True)
class NonFinite:
    layer: str  # the layer's name
    block: str  # "W_i", "U_forward/f", "b_c" for a recurrent layer's gate, else the weight's name ("kernel")
    nan: int
    inf: int
    size: int

    def __str__(self) -> str:
        parts = [f"{self.nan} NaN" if self.nan else "", f"{self.inf} inf" if self.inf else ""]
        return f"{self.block}: {' and '.join(p for p in parts if p)} of {self.size}"


def nonfinite_blocks(layer) -> list[NonFinite]:
    """The weight blocks of ``layer`` that hold NaN or ±inf (gate by gate for recurrent layers)."""
    if isinstance(layer, RecurrentLayer):
        blocks = [(f"{s.matrix}_{s.gate}", s.array) for s in layer.gate_slices()]
    else:
        try:
            blocks = list(layer.weight_arrays())
        except Exception:  # a placeholder for an unsupported layer has none
            blocks = []
    out = []
    for name, a in blocks:
        if a.dtype.kind != "f":
            continue
        nan = int(np.count_nonzero(np.isnan(a)))
        inf = int(np.count_nonzero(np.isinf(a)))
        if nan or inf:
            out.append(NonFinite(layer.name, name, nan, inf, int(a.size)))
    return out


def nonfinite_weights(layers) -> list[NonFinite]:
    """Every non-finite block of every layer, in layer order."""
    return [b for layer in layers for b in nonfinite_blocks(layer)]


def summary(blocks: list[NonFinite]) -> str:
    """One line: which layers and gates hold non-finite weights."""
    by_layer: dict[str, list[str]] = {}
    for b in blocks:
        by_layer.setdefault(b.layer, []).append(b.block)
    return "; ".join(f"{name} ({', '.join(bl)})" for name, bl in by_layer.items())
