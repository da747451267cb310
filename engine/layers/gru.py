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

from ..activations import inplace
from ..errors import FormatError
from .base import register
from .projected_run import ProjectedRun
from .recurrent import CellLayer

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


class GRURun(ProjectedRun):
    """One GRU pass over a batch (see ``ProjectedRun`` for the buffers). A step is one product h_{t-1}·U (reset_after;
    two without it, the second on r ⊙ h_{t-1}) and a dozen ufuncs into preallocated buffers; it allocates nothing.

    Gate slots ``g`` (slots, 3u, batch) hold [z; r; h̃] of a step, a slot per step when recording (the ``z``,
    ``r`` and ``h~`` records are views of them), else one. z and r are activated together (one call over 2u)."""

    n_gates = 3

    def __init__(self, layer: GRU, batch, T, x_full, initial_state, record):
        super().__init__(layer, batch, T, x_full, initial_state, record, layer.input_bias)
        u = self.u
        f32 = layer.dtype.type  # float32, or float64 for an exact reference run
        self.U_t = np.asarray(layer.recurrent_kernel, f32).T  # (3u, u), a view: BLAS reads it transposed
        # the recurrent bias repeated over the batch: adding a (3u, 1) column would make NumPy buffer each call
        self.rec_bias = None if layer.recurrent_bias is None else np.repeat(
            np.asarray(layer.recurrent_bias, f32)[:, None], batch, axis=1)
        self.rec_act = inplace(layer.rec_act)
        self.act = inplace(layer.act)
        self.g = np.zeros((T if self.recording else 1, 3 * u, batch), f32)
        if layer.reset_after:
            self.mh = np.zeros((3 * u, batch), f32)  # h_{t-1}·U + b_rec
        else:
            self.U_zr_t, self.U_h_t = self.U_t[:2 * u], self.U_t[2 * u:]
            self.mh = np.zeros((2 * u, batch), f32)  # h_{t-1}·U_zr
            self.rh = np.zeros((u, batch), f32)  # r ⊙ h_{t-1}
        self.tmp = np.zeros((u, batch), f32)
        self.tmp2 = np.zeros((u, batch), f32)
        if self.recording:
            r = self._base_records()
            for k, name in enumerate(("z", "r", "h~")):
                r[name] = self.g[:, k * u:(k + 1) * u].transpose(2, 0, 1)
            self.records = r

    def last_step(self):
        """h and the step just done's gate slot [z; r; h̃], as views (see ``RecurrentRun.last_step``)."""
        out = super().last_step()
        if out is not None:
            u, g = self.u, self.g[self.t - 1 if self.recording else 0]
            for k, name in enumerate(("z", "r", "h~")):
                out[name] = g[k * u:(k + 1) * u].T
        return out

    def _cell(self, t, cur, nxt, mx):
        u = self.u
        g = self.g[t if self.recording else 0]
        h_prev, h = self.hs[cur], self.hs[nxt]
        zr, z, r, hh = g[:2 * u], g[:u], g[u:2 * u], g[2 * u:]
        mh, tmp = self.mh, self.tmp
        if self.layer.reset_after:
            np.matmul(self.U_t, h_prev, out=mh)
            if self.rec_bias is not None:
                np.add(mh, self.rec_bias, out=mh)
            np.add(mx[:2 * u], mh[:2 * u], out=zr)
            self.rec_act(zr, zr)
            np.multiply(r, mh[2 * u:], out=tmp)  # r ⊙ (h_{t-1}·U_h + b_rec_h)
        else:
            np.matmul(self.U_zr_t, h_prev, out=mh)
            np.add(mx[:2 * u], mh, out=zr)
            self.rec_act(zr, zr)
            np.multiply(r, h_prev, out=self.rh)
            np.matmul(self.U_h_t, self.rh, out=tmp)  # (r ⊙ h_{t-1})·U_h
        np.add(mx[2 * u:], tmp, out=hh)
        self.act(hh, hh)
        # h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃, in Keras' order
        np.multiply(z, h_prev, out=tmp)
        np.subtract(_ONE, z, out=self.tmp2)
        np.multiply(self.tmp2, hh, out=self.tmp2)
        np.add(tmp, self.tmp2, out=h)


_ONE = np.array(1, np.float32)
