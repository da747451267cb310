"""Keras GRU: gates in Keras' column order z | r | h (update, reset, candidate).

reset_after=True (Keras' default since TF 2; bias shape (2, 3·units): input bias, recurrent bias)::

    x_z, x_r, x_h = x_t·W + b_in            u_z, u_r, u_h = h_{t-1}·U + b_rec
    z = σ(x_z + u_z)   r = σ(x_r + u_r)   h̃ = act(x_h + r ⊙ u_h)

reset_after=False (bias shape (3·units,))::

    x_z, x_r, x_h = x_t·W + b
    z = σ(x_z + h_{t-1}·U_z)   r = σ(x_r + h_{t-1}·U_r)   h̃ = act(x_h + (r ⊙ h_{t-1})·U_h)

and in both ``h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃``. σ is ``recurrent_activation``, act is ``activation``.
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError
from .base import register
from .recurrent import CellLayer, Records, RecurrentRun, initial_states, time_major_inputs

GATES = ("z", "r", "h")


@register("GRU", "GRUV1")
class GRU(CellLayer):
    gate_names = GATES
    state_names = ("h",)
    record_names = ("x", "z", "r", "h~", "h")
    gate_record_names = ("z", "r", "h~")
    state_record_names = ("h",)

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.act = self.activation("activation", "tanh")
        self.rec_act = self.activation("recurrent_activation", "sigmoid")
        self.reset_after = bool(config.get("reset_after", False))
        if config.get("implementation") not in (None, 0, 1, 2):
            raise FormatError(f"layer {name!r}: unknown GRU implementation {config.get('implementation')!r}")
        u3 = 3 * self.units
        self.read_cell_weights(ctx, (2, u3) if self.reset_after else (u3,))
        if self.reset_after:
            self.input_bias = self.bias[0] if self.bias is not None else None
            self.recurrent_bias = self.bias[1] if self.bias is not None else None
        else:
            self.input_bias = self.bias
            self.recurrent_bias = None

    def bias_blocks(self):
        """b_g is the input bias; with reset_after, bU_g is the recurrent bias."""
        out = [] if self.input_bias is None else [("b", self.input_bias)]
        return out + ([] if self.recurrent_bias is None else [("bU", self.recurrent_bias)])

    def describe(self):
        d = super().describe()
        d["reset_after"] = "yes" if self.reset_after else "no"
        return d

    def start(self, batch, T, x_full=None, initial_state=None, record=False):
        return GRURun(self, batch, T, x_full, initial_state, record)


class GRURun(RecurrentRun):
    def __init__(self, layer: GRU, batch, T, x_full, initial_state, record):
        self.layer = layer
        self.T = T
        self.t = 0
        u = layer.units
        (self.h,) = initial_states(layer, batch, initial_state)
        self.x_full = None
        self.proj = None
        if x_full is not None:
            xt = time_major_inputs(layer, x_full)
            self.x_full = xt
            proj = (xt.reshape(T * batch, -1) @ layer.kernel).reshape(T, batch, 3 * u)
            if layer.input_bias is not None:
                proj += layer.input_bias
            self.proj = proj
        self.seq = np.zeros((batch, T, u), np.float32) if layer.return_sequences else None
        self.records = None
        if record:
            self.records = Records({"x": np.zeros((batch, T, layer.input_features), np.float32)})
            for name in ("z", "r", "h~", "h"):
                self.records[name] = np.zeros((batch, T, u), np.float32)

    def step(self, x_t=None):
        L = self.layer
        t = self.t
        if t >= self.T:
            raise IndexError("run is complete")
        u = L.units
        if self.proj is not None:
            mx = self.proj[t]
            x_t = self.x_full[t]
        else:
            mx = x_t @ L.kernel
            if L.input_bias is not None:
                mx = mx + L.input_bias
        h_prev = self.h
        if L.reset_after:
            mi = h_prev @ L.recurrent_kernel
            if L.recurrent_bias is not None:
                mi = mi + L.recurrent_bias
            z = L.rec_act(mx[:, :u] + mi[:, :u])
            r = L.rec_act(mx[:, u:2 * u] + mi[:, u:2 * u])
            hh = L.act(mx[:, 2 * u:] + r * mi[:, 2 * u:])
        else:
            U = L.recurrent_kernel
            z = L.rec_act(mx[:, :u] + h_prev @ U[:, :u])
            r = L.rec_act(mx[:, u:2 * u] + h_prev @ U[:, u:2 * u])
            hh = L.act(mx[:, 2 * u:] + (r * h_prev) @ U[:, 2 * u:])
        h = (z * h_prev + (1 - z) * hh).astype(np.float32, copy=False)
        self.h = h
        if self.seq is not None:
            self.seq[:, t] = h
        rec = self.records
        if rec is not None:
            rec["x"][:, t] = x_t
            rec["z"][:, t] = z
            rec["r"][:, t] = r
            rec["h~"][:, t] = hh
            rec["h"][:, t] = h
        self.t = t + 1

    def states(self):
        return [self.h]

    def set_states(self, states):
        self.h = np.array(states[0], dtype=np.float32)

    def current_outputs(self):
        first = self.seq if self.seq is not None else self.h
        return [first] + ([self.h] if self.layer.return_state else [])
