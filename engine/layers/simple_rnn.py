"""Keras SimpleRNN: ``h_t = act(x_t·W + b + h_{t-1}·U)``; one "gate", h."""
from __future__ import annotations

import numpy as np

from ..activations import activation_name
from ..errors import FormatError
from .base import register
from .recurrent import GateSlice, RecurrentLayer, RecurrentRun, initial_states, time_major_inputs


@register("SimpleRNN")
class SimpleRNN(RecurrentLayer):
    gate_names = ("h",)
    state_names = ("h",)
    record_names = ("x", "h")
    state_record_names = ("h",)

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.act = self.activation("activation", "tanh")
        self.use_bias = bool(config.get("use_bias", True))
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if not arrays or arrays[0].ndim != 2:
            raise FormatError(f"layer {name!r} (SimpleRNN) has no kernel in the file")
        u = self.units
        shapes = [(arrays[0].shape[0], u), (u, u)] + ([(u,)] if self.use_bias else [])
        got = self.take_weights(ctx, shapes)
        self.kernel, self.recurrent_kernel = got[0], got[1]
        self.bias = got[2] if self.use_bias else None

    @property
    def input_features(self) -> int:
        return self.kernel.shape[0]

    def weight_arrays(self):
        out = [("kernel", self.kernel), ("recurrent_kernel", self.recurrent_kernel)]
        return out + ([("bias", self.bias)] if self.bias is not None else [])

    def gate_slices(self):
        out = [GateSlice("W", "h", self.kernel), GateSlice("U", "h", self.recurrent_kernel)]
        return out + ([GateSlice("b", "h", self.bias)] if self.bias is not None else [])

    def describe(self):
        d = super().describe()
        d["activation"] = activation_name(self.config.get("activation", "tanh"))
        if not self.use_bias:
            d["use_bias"] = "no"
        return d

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
            self.records = {"x": np.zeros((batch, T, layer.input_features), np.float32),
                            "h": np.zeros((batch, T, layer.units), np.float32)}

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
