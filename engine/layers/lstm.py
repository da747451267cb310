"""Keras LSTM: gates in Keras' column order i | f | c | o.

    z_t = x_t·W + h_{t-1}·U + b
    i_t = σ(z_i)   f_t = σ(z_f)   c̃_t = act(z_c)   o_t = σ(z_o)
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ c̃_t
    h_t = o_t ⊙ act(C_t)

σ is ``recurrent_activation`` and act is ``activation`` from the layer's config.
"""
from __future__ import annotations

import numpy as np

from ..activations import inplace, sigmoid, sigmoid_of_negated_
from .base import register
from .recurrent import CellLayer, Records, RecurrentRun, time_major_inputs

GATES = ("i", "f", "c", "o")


@register("LSTM", "LSTMV1")
class LSTM(CellLayer):
    gate_names = GATES
    state_names = ("h", "c")  # Keras' return_state order: [output, h, c]
    record_names = ("x", "pre", "i", "f", "c~", "o", "C", "h")  # pre: z_t = x·W + h·U + b, all four gates
    gate_record_names = ("i", "f", "c~", "o")
    state_record_names = ("h", "C")

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.act = self.activation("activation", "tanh")
        self.rec_act = self.activation("recurrent_activation", "sigmoid")
        self.read_cell_weights(ctx)

    def start(self, batch, T, x_full=None, initial_state=None, record=False):
        return LSTMRun(self, batch, T, x_full, initial_state, record)


# --- running -----------------------------------------------------------------------------------------------------
# A step (LSTMRun) is one GEMM and nine ufuncs on preallocated float32 buffers; it allocates nothing. The buffers are
# slots, one per step where the steps are kept, so a run records by computing: its records are views of the slots.
# Callers step runs under np.errstate(over="ignore") (the stepper does, once per step): exp(-z) overflows to inf for a
# saturated gate, whose σ is then exactly 0.

_WEIGHTS_CACHE = "_lstm_step_weights"
FUSED_ORDER = (0, 1, 3, 2)  # the fused step's gate blocks i f o c̃, as Keras' blocks (i f c o)


def step_weights(layer: LSTM, negate: bool) -> np.ndarray:
    """The matrix a fused step multiplies by: [kernel; recurrent_kernel; bias] transposed, (4u, F+u+1) float32
    C-contiguous (no bias column without a bias), its gate rows reordered i | f | o | c̃ so that σ runs once over
    i f o; with ``negate`` those rows are negated (exact), so σ(z) = 1/(1+exp(-z)) needs no negation of its own.
    C-contiguous rows make OpenBLAS take its dot-product matrix-vector kernel at batch 1, which reads the weights
    once and splits the gates over its threads (2×LSTM(256)'s second layer, 2.1 MB: 13 µs a step on two threads
    against 21 µs for the transposed layout; bench/profile_step.py). Kept on the layer, rebuilt if the layer's
    arrays are replaced."""
    arrays = (layer.kernel, layer.recurrent_kernel, layer.bias)
    cached = layer.__dict__.get(_WEIGHTS_CACHE)
    if cached is not None and cached[1] == negate and all(a is b for a, b in zip(cached[0], arrays)):
        return cached[2]
    u = layer.units
    sources = [layer.kernel, layer.recurrent_kernel] + ([layer.bias[None, :]] if layer.bias is not None else [])
    w = np.empty((4 * u, sum(src.shape[0] for src in sources)), layer.kernel.dtype)
    r0 = 0
    for src in sources:
        r1 = r0 + src.shape[0]
        for k, gate in enumerate(FUSED_ORDER):
            block = src[:, gate * u:(gate + 1) * u].T
            dst = w[k * u:(k + 1) * u, r0:r1]
            if negate and gate != 2:
                np.negative(block, out=dst)
            else:
                np.copyto(dst, block)
        r0 = r1
    layer.__dict__[_WEIGHTS_CACHE] = (arrays, negate, w)
    return w


class LSTMRun(RecurrentRun):
    """One LSTM pass over a batch, one step per ``step()``. Everything is allocated here.

    The buffers are slots of (rows, batch), feature-major so that each gate is a block of contiguous rows:

    * ``xh[s]`` = [x; h; 1] (F+u+1 rows): the product's right-hand side. Step t reads slot t (x_t and h_{t-1}) and
      writes h_t into the h rows of slot t+1.
    * ``a[s]`` = the gates and the cell state, [i f o c̃ | C] (unfused: [i f c̃ o | C]), 5u rows. Step t activates
      z_t into slot t's gate rows, reads C_{t-1} from its C rows and writes C_t into the C rows of slot t+1.
    * ``z[t]``, when recording: z_t = x_t·W + h_{t-1}·U + b, 4u rows, kept for the ``pre`` record. Otherwise z_t is
      computed into a[t]'s gate rows and activated in place.

    ``xh`` has a slot per step with ``return_sequences`` or recording (``seq`` is then a view of its h rows), ``a``
    one when recording; otherwise two slots take turns (slot t & 1). Every record is a view of the slots, but
    ``pre``, which is gathered from ``z`` in Keras' gate order when read.

    Two ways to compute a step, chosen from the sizes (the same for a given layer on every machine):

    * fused (usual): ``w @ xh[t]`` is z_t in one GEMM (``step_weights``: the ones row adds the bias). The recurrent
      activation runs once over i f o (negated rows for σ), the activation over c̃; C_{t-1} sits right after c̃,
      so [i; f] ⊙ [c̃; C_{t-1}] is one multiply and C_t the sum of its halves; h_t = o ⊙ act(C_t);
    * unfused, for weights too big to copy cheaply (≥ UNFUSED_MIN_BYTES): x·W + h·U + b straight from the layer's
      arrays into batch-major slots, gates in Keras' order. Such steps are bound by reading the weights, which both
      ways read once, and no copy of the weights is made (it would double their memory and delay the first step).

    ``h`` and ``c`` are (batch, units) views of the carried states; ``states()`` returns copies.
    """

    UNFUSED_MIN_BYTES = 32 * 1024 ** 2
    VIEWS_MAX_T = 4096

    def __init__(self, layer: LSTM, batch: int, T: int, x_full, initial_state, record: bool):
        self.layer = layer
        self.T = T
        self.t = 0
        u = self.u = layer.units
        F = self.F = layer.input_features
        f32 = layer.kernel.dtype.type  # float32, or float64 for an exact reference run
        K = F + u + (1 if layer.bias is not None else 0)
        self.unfused = 16 * K * u >= self.UNFUSED_MIN_BYTES
        self.recording = bool(record)
        self.per_step = layer.return_sequences or self.recording
        n_xh = T + 1 if self.per_step else 2
        n_a = T + 1 if self.recording else 2
        # batch-major storage, seen as (slot, rows, batch) like the rest: the unfused products write (batch, 4u)
        batch_major = self.unfused or self._batch_major(batch, u)

        def slots(n, rows):
            if batch_major:
                return np.zeros((n, batch, rows), f32).transpose(0, 2, 1)
            return np.zeros((n, rows, batch), f32)

        self.xh = np.zeros((n_xh, K, batch), f32)
        if layer.bias is not None:
            self.xh[:, F + u] = 1
        self._x_rows = self.xh[:, :F]
        self._h_rows = self.xh[:, F:F + u]
        self.x_src = None  # (T, F, batch) when known and not already in the slots
        self.x_given = x_full is not None
        if x_full is not None:
            xt = time_major_inputs(layer, x_full).transpose(0, 2, 1)  # (T, F, batch) in processing order
            if self.per_step:
                self._x_rows[:T] = xt
            else:
                self.x_src = np.ascontiguousarray(xt)
        self.seq = self._h_rows[1:].transpose(2, 0, 1) if layer.return_sequences else None
        self.a = slots(n_a, 5 * u)
        self.z = slots(T, 4 * u) if self.recording else None
        self._c_rows = self.a[:, 4 * u:]
        self.act = inplace(layer.act)
        self.tc = slots(1, u)[0]  # act(C_t)
        if self.unfused:
            self.negated = False
            self.rec_act = inplace(layer.rec_act)
            self.w = None
            self._wub = (np.asarray(layer.kernel, f32), np.asarray(layer.recurrent_kernel, f32),
                         None if layer.bias is None else np.asarray(layer.bias, f32))
            self._zt = np.zeros((batch, 4 * u), f32)
            self._ig = np.zeros((batch, u), f32)
            self.gate_rows = {"i": 0, "f": 1, "c~": 2, "o": 3}
        else:
            self.negated = layer.rec_act is sigmoid
            self.rec_act = sigmoid_of_negated_ if self.negated else inplace(layer.rec_act)
            self.w = step_weights(layer, self.negated)  # (4u, F+u+1)
            self.prod = slots(1, 2 * u)[0]  # [i ⊙ c̃; f ⊙ C_{t-1}]
            self._prod_halves = (self.prod[:u], self.prod[u:])
            self.gate_rows = {"i": 0, "f": 1, "o": 2, "c~": 3}
            a = self.a
            z = a[:, :4 * u] if self.z is None else self.z
            # what a fused step works on, by role, each indexed by the step's slot: z, z's i f o and c̃ rows, the
            # activated i f o and c̃ rows, [i; f], [c̃; C_{t-1}], o; then C_t's rows, indexed by the next slot
            self._roles = (z, z[:, :3 * u], a[:, :3 * u], z[:, 3 * u:4 * u], a[:, 3 * u:4 * u], a[:, :2 * u],
                           a[:, 3 * u:5 * u], a[:, 2 * u:3 * u])
            # the views of every step made once: two alternating slots, or a slot per step when recording (for
            # runs of up to VIEWS_MAX_T steps; longer ones make each step's views as it comes)
            if not self.recording:
                self._views = [self._fused_views(s, s ^ 1) for s in (0, 1)]
            elif T <= self.VIEWS_MAX_T:
                self._views = [self._fused_views(s, s + 1) for s in range(T)]
            else:
                self._views = None
        if initial_state:
            self.set_states(initial_state)
        self.records = self._make_records(batch) if self.recording else None

    @staticmethod
    def _batch_major(batch: int, units: int) -> bool:
        """Batch-major gate slots let BLAS write z as (batch, 4u), which it does up to 1.7x faster for weights far
        bigger than the caches (measured: 2×LSTM(2048) 1.5-1.6x faster at batch 8 to 256, LSTM(1024) at batch 8);
        feature-major ones keep each gate contiguous, which NumPy's elementwise loops need when rows are short (few
        units) and many (big batch): 10-20% faster for 256 units from batch 4 up, for 512 units from batch 64."""
        return units >= 512 and batch * 128 * 128 <= units * units

    def _fused_views(self, cur: int, nxt: int) -> tuple:
        """The views a fused step works on (``_roles`` at slot ``cur``, then C_t's rows at slot ``nxt``)."""
        z, z_ifo, ifo, z_g, g, if_, gc, o = self._roles
        return (z[cur], z_ifo[cur], ifo[cur], z_g[cur], g[cur], if_[cur], gc[cur], o[cur], self._c_rows[nxt])

    def _slot(self, t: int) -> int:
        return t if self.per_step else t & 1

    def _a_slot(self, t: int) -> int:
        return t if self.recording else t & 1

    # --- the step ------------------------------------------------------------------------------------------------
    def step(self, x_t=None):
        t = self.t
        if t >= self.T:
            raise IndexError("run is complete")
        if self.per_step:
            cur, nxt = t, t + 1
        else:
            cur = t & 1
            nxt = cur ^ 1
        if not self.x_given:
            np.copyto(self._x_rows[cur], x_t.T)
        elif self.x_src is not None:
            np.copyto(self._x_rows[cur], self.x_src[t])
        if self.unfused:
            self._step_unfused(t, cur, nxt)
        else:
            if self._views is None:
                views = self._fused_views(t, t + 1)
            else:
                views = self._views[t if self.recording else t & 1]
            z, z_ifo, ifo, z_g, g, if_, gc, o, c = views
            np.matmul(self.w, self.xh[cur], out=z)
            self.rec_act(z_ifo, ifo)
            self.act(z_g, g)
            prod = self.prod
            np.multiply(if_, gc, out=prod)  # [i ⊙ c̃; f ⊙ C_{t-1}]
            np.add(*self._prod_halves, out=c)
            self.act(c, self.tc)
            np.multiply(o, self.tc, out=self._h_rows[nxt])
        self.t = t + 1

    def _step_unfused(self, t, cur, nxt):
        W, U, bias = self._wub
        u, F = self.u, self.F
        a = self.a[self._a_slot(t)].T  # (batch, 5u): [i f c̃ o | C_{t-1}]
        c_new = self._c_rows[self._a_slot(t + 1)].T
        z = a[:, :4 * u] if self.z is None else self.z[t].T
        slot = self.xh[cur]
        np.matmul(slot[:F].T, W, out=z)
        np.matmul(slot[F:F + u].T, U, out=self._zt)
        np.add(z, self._zt, out=z)
        if bias is not None:
            np.add(z, bias, out=z)
        self.rec_act(z[:, :2 * u], a[:, :2 * u])
        self.rec_act(z[:, 3 * u:4 * u], a[:, 3 * u:4 * u])
        self.act(z[:, 2 * u:3 * u], a[:, 2 * u:3 * u])
        np.multiply(a[:, u:2 * u], a[:, 4 * u:], out=c_new)  # f ⊙ C_{t-1}
        np.multiply(a[:, :u], a[:, 2 * u:3 * u], out=self._ig)  # i ⊙ c̃
        np.add(c_new, self._ig, out=c_new)
        tc = self.tc.T
        self.act(c_new, tc)
        np.multiply(a[:, 3 * u:4 * u], tc, out=self._h_rows[nxt].T)

    # --- records: views of the slots ---------------------------------------------------------------------------
    def _make_records(self, batch) -> Records:
        u, T = self.u, self.T

        def rows(arr, k, n=1):  # rows k·u … (k+n)·u of slots (S, rows, batch) as (batch, S, u·n)
            return arr[:, k * u:(k + n) * u].transpose(2, 0, 1)

        a = self.a
        r = Records({"x": self._x_rows[:T].transpose(2, 0, 1)})
        if self.unfused:
            r["pre"] = rows(self.z, 0, 4)  # already Keras' order, never negated
        else:
            r.set_lazy("pre", self._pre_record)
        for name in ("i", "f", "c~", "o"):
            r[name] = rows(a[:T], self.gate_rows[name])
        r["C"] = rows(a[1:], 4)
        r["h"] = self._h_rows[1:].transpose(2, 0, 1)
        return r

    def _pre_record(self) -> np.ndarray:
        """z_t for every step (zeros for steps not done), (batch, T, 4u) in Keras' gate order i f c o, un-negated."""
        u, z = self.u, self.z
        out = np.empty((z.shape[2], self.T, 4 * u), z.dtype)
        for keras_k, k in enumerate(FUSED_ORDER):
            src = z[:, k * u:(k + 1) * u].transpose(2, 0, 1)
            dst = out[:, :, keras_k * u:(keras_k + 1) * u]
            if self.negated and keras_k != 2:
                np.negative(src, out=dst)
            else:
                np.copyto(dst, src)
        return out

    # --- states --------------------------------------------------------------------------------------------------
    @property
    def h(self) -> np.ndarray:
        """h after the steps done, (batch, units) view."""
        return self._h_rows[self._slot(self.t)].T

    @property
    def c(self) -> np.ndarray:
        """C after the steps done, (batch, units) view."""
        return self._c_rows[self._a_slot(self.t)].T

    def states(self):
        return [self.h.copy(), self.c.copy()]

    def last_step(self):
        """The step just done's gates (its slot of ``a``) and states, as views, recording or not (see
        ``RecurrentRun.last_step``)."""
        if self.t == 0:
            return None
        u, a = self.u, self.a[self._a_slot(self.t - 1)]
        out = {name: a[k * u:(k + 1) * u].T for name, k in self.gate_rows.items()}
        out["C"], out["h"] = self.c, self.h
        return out

    def set_states(self, states):
        u = self.u
        batch = self.xh.shape[2]
        h = np.asarray(states[0], dtype=self.xh.dtype).reshape(batch, u)
        c = np.asarray(states[1], dtype=self.xh.dtype).reshape(batch, u)
        np.copyto(self._h_rows[self._slot(self.t)], h.T)
        np.copyto(self._c_rows[self._a_slot(self.t)], c.T)

    def current_outputs(self):
        first = self.seq if self.seq is not None else self.h.copy()
        return [first] + (self.states() if self.layer.return_state else [])

    def output_history(self, k):
        if self.records is None or (k == 0 and self.seq is not None):
            return None
        return self.records["C" if k == 2 else "h"]  # outputs: [h or seq] + [h, C] with return_state
