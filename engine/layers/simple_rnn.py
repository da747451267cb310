"""Keras SimpleRNN: ``h_t = act(x_t·W + b + h_{t-1}·U)``; one "gate", h."""
from __future__ import annotations

import numpy as np

from ..activations import inplace
from .base import register
from .projected_run import ProjectedRun
from .recurrent import CellLayer


@register("SimpleRNN")
class SimpleRNN(CellLayer):
    gate_names = ("h",)
    state_names = ("h",)
    record_names = ("x", "h")
    state_record_names = ("h",)

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.act = self.activation("activation", "tanh")
        self.read_cell_weights(ctx)

    def start(self, batch, T, x_full=None, initial_state=None, record=False):
        return SimpleRNNRun(self, batch, T, x_full, initial_state, record)


class SimpleRNNRun(ProjectedRun):
    """One SimpleRNN pass over a batch (see ``ProjectedRun``): a step is h_{t-1}·U into h_t's slot, + (x_t·W + b),
    then the activation in place; it allocates nothing."""

    n_gates = 1

    def __init__(self, layer: SimpleRNN, batch, T, x_full, initial_state, record):
        super().__init__(layer, batch, T, x_full, initial_state, record, layer.bias)
        self.U_t = np.asarray(layer.recurrent_kernel, layer.dtype).T  # (u, u), a view: BLAS reads it transposed
        self.act = inplace(layer.act)
        if self.recording:
            self.records = self._base_records()

    def _cell(self, t, cur, nxt, mx):
        h = self.hs[nxt]
        np.matmul(self.U_t, self.hs[cur], out=h)
        np.add(mx, h, out=h)  # Keras: (x·W + b) + h·U
        self.act(h, h)
