"""Weights as a model file stores them, before any layer interprets them."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class WeightGroup:
    """The variables of one saved object (a layer, or a part of one such as an LSTM's cell).

    ``arrays`` are the object's own variables in saved order, each with the name the file gives it (``""`` when the
    format stores none). ``parts`` are named sub-objects (``cell``, ``forward_layer`` …); ``layers`` are the layers of
    a nested model, keyed by layer name.
    """

    name: str
    arrays: list[tuple[str, np.ndarray]] = field(default_factory=list)
    parts: dict[str, "WeightGroup"] = field(default_factory=dict)
    layers: dict[str, "WeightGroup"] = field(default_factory=dict)

    _PART_ORDER = ("cell", "forward_layer", "backward_layer")

    def all_arrays(self) -> list[tuple[str, np.ndarray]]:
        """Own variables, then those of the parts (cell first, forward before backward), depth first."""
        out = list(self.arrays)
        keys = sorted(self.parts, key=lambda k: (self._PART_ORDER.index(k) if k in self._PART_ORDER else 99, k))
        for k in keys:
            out.extend(self.parts[k].all_arrays())
        return out

    def sublayer(self, name: str) -> "WeightGroup":
        """The group of nested layer ``name``: a stored child, or the own variables named ``name/...`` (HDF5)."""
        if name in self.layers:
            return self.layers[name]
        arrays = self.all_arrays()
        # Keras 2 names a nested layer's variables "<layer>/…"; Keras 3 .h5 may prefix the nested model's own name
        # ("<model>/<layer>/…", e.g. for a nested Sequential), or a deeper path ending in "/<layer>/…".
        for prefix in (name + "/", f"{self.name}/{name}/"):
            picked = [(n[len(prefix):], a) for n, a in arrays if n.startswith(prefix)]
            if picked:
                return WeightGroup(name=name, arrays=picked)
        seg = f"/{name}/"
        picked = [(n[n.index(seg) + len(seg):], a) for n, a in arrays if seg in n]
        return WeightGroup(name=name, arrays=picked)

    def is_empty(self) -> bool:
        return not self.all_arrays() and not self.layers

    def nbytes(self) -> int:
        return sum(a.nbytes for _, a in self.all_arrays()) + sum(g.nbytes() for g in self.layers.values())
