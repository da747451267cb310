"""Keras LSTM: gates in Keras' column order i | f | c | o.

    z_t = x_t·W + h_{t-1}·U + b
    i_t = σ(z_i)   f_t = σ(z_f)   c̃_t = act(z_c)   o_t = σ(z_o)
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ c̃_t
    h_t = o_t ⊙ act(C_t)

σ is ``recurrent_activation`` and act is ``activation`` from the layer's config.
"""
from __future__ import annotations

import numpy as np

from ..activations import activation_name
from ..errors import FormatError
from .base import register
from .recurrent import GateSlice, RecurrentLayer, RecurrentRun

GATES = ("i", "f", "c", "o")


@register("LSTM", "LSTMV1")
class LSTM(RecurrentLayer):
    gate_names = GATES
    state_names = ("h", "c")  # Keras' return_state order: [output, h, c]
    record_names = ("x", "pre", "i", "f", "c~", "o", "C", "h")  # pre: z_t = x·W + h·U + b, all four gates
    gate_record_names = ("i", "f", "c~", "o")
    state_record_names = ("h", "C")

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.act = self.activation("activation", "tanh")
        self.rec_act = self.activation("recurrent_activation", "sigmoid")
        self.use_bias = bool(config.get("use_bias", True))
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if not arrays or arrays[0].ndim != 2:
            raise FormatError(f"layer {name!r} (LSTM) has no kernel in the file")
        u4 = 4 * self.units
        shapes = [(arrays[0].shape[0], u4), (self.units, u4)] + ([(u4,)] if self.use_bias else [])
        got = self.take_weights(ctx, shapes)
        self.kernel, self.recurrent_kernel = got[0], got[1]
        self.bias = got[2] if self.use_bias else None

    @property
    def input_features(self) -> int:
        return self.kernel.shape[0]

    def weight_arrays(self):
        out = [("kernel", self.kernel), ("recurrent_kernel", self.recurrent_kernel)]
        return out + ([("bias", self.bias)] if self.bias is not None else [])

    def gate_slices(self) -> list[GateSlice]:
        u = self.units
        out = []
        for k, g in enumerate(GATES):
            cols = slice(k * u, (k + 1) * u)
            out.append(GateSlice("W", g, self.kernel[:, cols]))
            out.append(GateSlice("U", g, self.recurrent_kernel[:, cols]))
            if self.bias is not None:
                out.append(GateSlice("b", g, self.bias[cols]))
        return out

    def gate(self, matrix: str, gate: str) -> np.ndarray:
        """W_i, U_f, b_o … as views: ``layer.gate("W", "i")``."""
        for s in self.gate_slices():
            if s.matrix == matrix and s.gate == gate:
                return s.array
        raise KeyError(f"{matrix}_{gate}")

    def describe(self):
        d = super().describe()
        d["activation"] = activation_name(self.config.get("activation", "tanh"))
        d["recurrent_activation"] = activation_name(self.config.get("recurrent_activation", "sigmoid"))
        if not self.use_bias:
            d["use_bias"] = "no"
        return d

    def start(self, batch, T, x_full=None, initial_state=None, record=False):
        return LSTMRun(self, batch, T, x_full, initial_state, record)


class LSTMRun(RecurrentRun):
    def __init__(self, layer: LSTM, batch: int, T: int, x_full, initial_state, record: bool):
        self.layer = layer
        self.T = T
        self.t = 0
        u = layer.units
        dtype = np.float32
        if initial_state:
            self.h = np.array(initial_state[0], dtype=dtype).reshape(batch, u)
            self.c = np.array(initial_state[1], dtype=dtype).reshape(batch, u)
        else:
            self.h = np.zeros((batch, u), dtype)
            self.c = np.zeros((batch, u), dtype)
        self.proj = None
        self.x_full = None
        if x_full is not None:
            layer.check_input(x_full)
            # Processing order, time-major, contiguous: one GEMM projects every timestep at once.
            xt = x_full.transpose(1, 0, 2)
            if layer.go_backwards:
                xt = xt[::-1]
            xt = np.ascontiguousarray(xt, dtype=dtype)
            self.x_full = xt
            proj = (xt.reshape(T * batch, -1) @ layer.kernel).reshape(T, batch, 4 * u)
            if layer.bias is not None:
                proj += layer.bias
            self.proj = proj
        self.z = np.empty((batch, 4 * u), dtype)
        self.tmp = np.empty((batch, 4 * u), dtype)
        self.seq = np.zeros((batch, T, u), dtype) if layer.return_sequences else None
        self.records = None
        if record:
            F = layer.input_features
            self.records = {"x": np.zeros((batch, T, F), dtype), "pre": np.zeros((batch, T, 4 * u), dtype)}
            for name in ("i", "f", "c~", "o", "C", "h"):
                self.records[name] = np.zeros((batch, T, u), dtype)

    def step(self, x_t=None):
        L = self.layer
        t = self.t
        if t >= self.T:
            raise IndexError("run is complete")
        z = self.z
        np.matmul(self.h, L.recurrent_kernel, out=z)
        if self.proj is not None:
            z += self.proj[t]
            if self.records is not None:
                x_t = self.x_full[t]
        else:
            np.matmul(x_t, L.kernel, out=self.tmp)
            z += self.tmp
            if L.bias is not None:
                z += L.bias
        u = L.units
        i = L.rec_act(z[:, :u])
        f = L.rec_act(z[:, u:2 * u])
        g = L.act(z[:, 2 * u:3 * u])
        o = L.rec_act(z[:, 3 * u:])
        c = f * self.c + i * g
        h = o * L.act(c)
        self.c, self.h = c, h
        if self.seq is not None:
            self.seq[:, t] = h
        r = self.records
        if r is not None:
            r["x"][:, t] = x_t
            r["pre"][:, t] = z
            r["i"][:, t] = i
            r["f"][:, t] = f
            r["c~"][:, t] = g
            r["o"][:, t] = o
            r["C"][:, t] = c
            r["h"][:, t] = h
        self.t = t + 1

    def states(self):
        return [self.h, self.c]

    def set_states(self, states):
        self.h = np.array(states[0], dtype=np.float32)
        self.c = np.array(states[1], dtype=np.float32)

    def current_outputs(self):
        first = self.seq if self.seq is not None else self.h
        return [first] + (self.states() if self.layer.return_state else [])
