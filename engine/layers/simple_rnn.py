"""Keras SimpleRNN: ``h_t = act(x_t·W + b + h_{t-1}·U)``; one "gate", h."""
from __future__ import annotations

import numpy as np

from .base import register
from .recurrent import CellLayer, Records, RecurrentRun, initial_states, time_major_inputs


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


class SimpleRNNRun(RecurrentRun):
    def __init__(self, layer: SimpleRNN, batch, T, x_full, initial_state, record):
        self.layer = layer
        self.T = T
        self.t = 0
        (self.h,) = initial_states(layer, batch, initial_state)
        self.x_full = self.proj = None
        if x_full is not None:
            xt = time_major_inputs(layer, x_full)
            self.x_full = xt
            proj = (xt.reshape(T * batch, -1) @ layer.kernel).reshape(T, batch, layer.units)
            if layer.bias is not None:
                proj += layer.bias
            self.proj = proj
        self.seq = np.zeros((batch, T, layer.units), np.float32) if layer.return_sequences else None
        self.records = None
        if record:
            self.records = Records({"x": np.zeros((batch, T, layer.input_features), np.float32),
                                    "h": np.zeros((batch, T, layer.units), np.float32)})

    def step(self, x_t=None):
        L = self.layer
        t = self.t
        if t >= self.T:
            raise IndexError("run is complete")
        if self.proj is not None:
            a = self.proj[t]
            x_t = self.x_full[t]
        else:
            a = x_t @ L.kernel
            if L.bias is not None:
                a = a + L.bias
        h = L.act(a + self.h @ L.recurrent_kernel).astype(np.float32, copy=False)
        self.h = h
        if self.seq is not None:
            self.seq[:, t] = h
        if self.records is not None:
            self.records["x"][:, t] = x_t
            self.records["h"][:, t] = h
        self.t = t + 1

    def states(self):
        return [self.h]

    def set_states(self, states):
        self.h = np.array(states[0], dtype=np.float32)

    def current_outputs(self):
        first = self.seq if self.seq is not None else self.h
        return [first] + ([self.h] if self.layer.return_state else [])
