"""What GRU and SimpleRNN runs share: the input projection x·W + b, the slots of h, the x and h records.

A run allocates everything when it starts and nothing per step (the steps write into its buffers with ``out=``):

* Buffers are feature-major, (rows, batch), as LSTM's: each gate is then a block of contiguous rows, which NumPy's
  ufuncs walk without buffering (on strided (batch, rows) slices they allocate ~100 KB of iterator buffers a call).
* ``hs`` (slots, u, batch): h_{t-1} is read from slot ``t`` and h_t written into slot ``t+1``. A slot per step
  with ``return_sequences`` or recording (``seq`` and the ``h`` record are then views of ``hs[1:]``), otherwise two
  slots taking turns.
* The input projection x_t·W + b (``gates`` · u wide): when the whole input is known at the start and small enough
  (``PROJ_MAX_BYTES``), it is one GEMM over every step (T·batch rows) before the first step, and a step reads its
  row block; otherwise (a stepped input, as in a stack of layers, or a long big batch) each step multiplies its
  x_t into a buffer. Either way the step then has one product of its own with the recurrent kernel.
* ``x`` record: a view of the whole input, or of a buffer the stepped inputs are copied into (when recording).

Steps run under ``np.errstate(over="ignore")`` (the stepper and ``RecurrentLayer.call`` see to it).
"""
from __future__ import annotations

import numpy as np

from .recurrent import CellLayer, Records, RecurrentRun, initial_states, time_major_inputs


class ProjectedRun(RecurrentRun):
    """Base of ``GRURun`` and ``SimpleRNNRun``: subclasses set ``n_gates`` and implement ``_cell(t, cur, nxt, mx)``
    (``mx`` = x_t·W + b of step t, (batch, n_gates·u); read h_{t-1} from ``hs[cur]``, write h_t into ``hs[nxt]``)."""

    n_gates = 1
    #: a projection of every step at once is made only up to this size (beyond it, each step projects its x_t)
    PROJ_MAX_BYTES = 64 * 1024 ** 2

    def __init__(self, layer: CellLayer, batch: int, T: int, x_full, initial_state, record: bool, input_bias):
        self.layer = layer
        self.T = T
        self.t = 0
        self.u = u = layer.units
        self.batch = batch
        f32 = layer.dtype.type  # float32, or float64 for an exact reference run
        width = self.n_gates * u
        self.recording = bool(record)
        self.per_step = layer.return_sequences or self.recording
        self.hs = np.zeros((T + 1 if self.per_step else 2, u, batch), f32)
        (h0,) = initial_states(layer, batch, initial_state)
        self.hs[0] = h0.T
        self.seq = self.hs[1:].transpose(2, 0, 1) if layer.return_sequences else None
        self.kernel = np.asarray(layer.kernel, f32)
        self.kernel_t = self.kernel.T  # (width, F), a view
        self.input_bias = None if input_bias is None else np.asarray(input_bias, f32)[:, None]
        self.x_src = None  # (T, batch, F) when the whole input is known
        self.proj = None  # (T, width, batch): x·W + b of every step
        self.mx = None  # (width, batch): x_t·W + b of the current step, when not projected beforehand
        if x_full is not None:
            self.x_src = time_major_inputs(layer, x_full)
            if T * batch * width * 4 <= self.PROJ_MAX_BYTES:
                proj = np.matmul(self.x_src.reshape(T * batch, -1), self.kernel).reshape(T, batch, width)
                proj = np.ascontiguousarray(proj.transpose(0, 2, 1))
                if self.input_bias is not None:
                    np.add(proj, self.input_bias, out=proj)
                self.proj = proj
        if self.proj is None:
            self.mx = np.zeros((width, batch), f32)
            if self.input_bias is not None:  # repeated over the batch: a (width, 1) column would make NumPy buffer
                self.input_bias = np.repeat(self.input_bias, batch, axis=1)
        self.x_rec = None
        if self.recording and self.x_src is None:
            self.x_rec = np.zeros((T, batch, layer.input_features), f32)
        self.records = None

    def _base_records(self) -> Records:
        x = self.x_src if self.x_rec is None else self.x_rec
        return Records({"x": x.transpose(1, 0, 2), "h": self.hs[1:].transpose(2, 0, 1)})

    def _slot(self, t: int) -> int:
        return t if self.per_step else t & 1

    def step(self, x_t=None):
        t = self.t
        if t >= self.T:
            raise IndexError("run is complete")
        if self.per_step:
            cur, nxt = t, t + 1
        else:
            cur = t & 1
            nxt = cur ^ 1
        if self.proj is not None:
            mx = self.proj[t]
        else:
            mx = self.mx
            if x_t is None:
                x_t = self.x_src[t]
            np.matmul(self.kernel_t, x_t.T, out=mx)
            if self.input_bias is not None:
                np.add(mx, self.input_bias, out=mx)
            if self.x_rec is not None:
                self.x_rec[t] = x_t
        self._cell(t, cur, nxt, mx)
        self.t = t + 1

    def _cell(self, t: int, cur: int, nxt: int, mx: np.ndarray) -> None:
        raise NotImplementedError

    # --- states --------------------------------------------------------------------------------------------------
    @property
    def h(self) -> np.ndarray:
        """The carried state, a (batch, u) view of its slot."""
        return self.hs[self._slot(self.t)].T

    def states(self):
        return [self.h.copy()]

    def last_step(self):
        """h after the step just done, a view, recording or not (see ``RecurrentRun.last_step``)."""
        return None if self.t == 0 else {"h": self.h}

    def set_states(self, states):
        np.copyto(self.hs[self._slot(self.t)], np.asarray(states[0], dtype=self.hs.dtype).reshape(self.batch, self.u).T)

    def current_outputs(self):
        first = self.seq if self.seq is not None else self.h.copy()
        return [first] + ([self.h.copy()] if self.layer.return_state else [])

    def output_history(self, k):
        if self.records is None or (k == 0 and self.seq is not None):
            return None
        return self.records["h"]
