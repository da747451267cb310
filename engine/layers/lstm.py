"""Keras LSTM: gates in Keras' column order i | f | c | o.

    z_t = x_t·W + h_{t-1}·U + b
    i_t = σ(z_i)   f_t = σ(z_f)   c̃_t = act(z_c)   o_t = σ(z_o)
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ c̃_t
    h_t = o_t ⊙ act(C_t)

σ is ``recurrent_activation`` and act is ``activation`` from the layer's config.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ..activations import activation_name, inplace, sigmoid, sigmoid_of_negated_
from ..errors import FormatError
from .base import register
from .recurrent import GateSlice, RecurrentLayer, RecurrentRun, time_major_inputs

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


# --- running -----------------------------------------------------------------------------------------------------
# The step (LSTMRun) is one GEMM and about ten in-place ufuncs on preallocated float32 buffers. Its buffers are
# (features, batch) so that each gate is a contiguous block of rows: NumPy's elementwise loops cost several times more
# per element on column blocks of a (batch, 4u) matrix. Big batches are split by units over a few threads, each
# doing its own GEMM and gates (see _Parallel), since NumPy's elementwise work runs on one core.

_WEIGHTS_CACHE = "_lstm_step_weights"


def step_weights(layer: LSTM, negate: bool, bounds: tuple[int, ...]) -> np.ndarray:
    """The matrix a step multiplies by, as its transpose W (F+u+1, 4u) float32 C-contiguous — the rows
    [kernel; recurrent_kernel; bias] (no bias row without a bias) — with the gate columns grouped by the unit ranges
    ``bounds`` (one per thread) and, within each range, by gate as i | f | o | c̃, so σ runs once over i f o; with
    ``negate`` the i, f, o columns are negated (exact), so σ(z) = 1/(1+exp(-z)) needs no negation of its own.

    A step uses ``W.T`` (a view: BLAS reads it transposed). Built by block copies, kept on the layer, rebuilt if
    the layer's arrays are replaced."""
    arrays = (layer.kernel, layer.recurrent_kernel, layer.bias)
    key = (negate, bounds)
    cached = layer.__dict__.get(_WEIGHTS_CACHE)
    if cached is not None and cached[1] == key and all(a is b for a, b in zip(cached[0], arrays)):
        return cached[2]
    u = layer.units
    sources = [layer.kernel, layer.recurrent_kernel] + ([layer.bias[None, :]] if layer.bias is not None else [])
    rows = sum(src.shape[0] for src in sources)
    w = np.empty((rows, 4 * u), np.float32)
    r0 = 0
    for src in sources:
        r1 = r0 + src.shape[0]
        col = 0
        for a, b in zip(bounds[:-1], bounds[1:]):
            for gate in (0, 1, 3, 2):  # Keras' column blocks are i f c o
                block = src[:, gate * u + a:gate * u + b]
                dst = w[r0:r1, col:col + b - a]
                if negate and gate != 2:
                    np.negative(block, out=dst)
                else:
                    np.copyto(dst, block)
                col += b - a
        r0 = r1
    layer.__dict__[_WEIGHTS_CACHE] = (arrays, key, w)
    return w


class _Parallel:
    """Threads for big batches. Each thread takes a range of units: its own GEMM (the weight rows of its units) and
    its own gates, so the elementwise work — single-threaded in NumPy, and on big batches as long as the GEMM — runs
    on every core too.

    Used only where OpenBLAS's thread count can be set (the OpenBLAS in NumPy's wheels and most system builds):
    during a threaded step OpenBLAS is set to one thread (and set back after), each of our threads calling it on its
    own part; left multi-threaded, its workers would spin on the cores our threads need. Elsewhere, or with
    ``LSTM_INSPECTOR_THREADS=1`` in the environment (which also caps the threads), every step runs on one thread.

    Caveat: for ~0.1 s after some other code's multi-threaded BLAS call, OpenBLAS's idle workers still spin and
    slow the threaded steps down; a run on a big batch makes up for it, which is why the threshold is high."""

    MIN_BATCH_UNITS = 2 ** 16  # batch × units from which a step is split over threads (batch 256 at 256 units)

    def __init__(self):
        self.lock = threading.Lock()
        self.depth = 0
        self.saved = 1
        self.pool = None
        self.pool_pid = 0
        self.get = self.set = None
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            n = os.cpu_count() or 1
        try:
            n = min(n, int(os.environ.get("LSTM_INSPECTOR_THREADS", n)))
        except ValueError:
            pass
        self.threads = max(1, min(n, 8))
        if self.threads > 1:
            try:
                self.get, self.set = _openblas_thread_functions()
            except Exception:  # any surprise from ctypes: stay single-threaded
                self.get = self.set = None
            if self.set is None:
                self.threads = 1

    def parts_for(self, batch: int, units: int) -> int:
        """How many unit ranges (threads) a run of this size uses; 1 below the threshold. The same for every layer
        of a model at a given batch when their widths are equal, so one layer's multi-threaded BLAS calls do not
        leave spinning workers in the way of the next layer's threads."""
        if self.threads < 2 or batch * units < self.MIN_BATCH_UNITS:
            return 1
        return max(1, min(self.threads, units // 16))

    def executor(self):
        if self.pool is None or self.pool_pid != os.getpid():  # a forked child has none of the parent's threads
            with self.lock:
                if self.pool is None or self.pool_pid != os.getpid():
                    self.pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="lstm-step")
                    self.pool_pid = os.getpid()
        return self.pool

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.saved = self.get()
                if self.saved != 1:
                    self.set(1)
            self.depth += 1

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.saved != 1:
                self.set(self.saved)


def _openblas_thread_functions():
    """(get, set) for the number of OpenBLAS threads of the OpenBLAS this process has loaded, or (None, None)."""
    import ctypes

    candidates = []
    np_dir = os.path.dirname(np.__file__)
    for d in (np_dir + ".libs", os.path.join(np_dir, ".dylibs"), os.path.join(np_dir, "..", "numpy.libs")):
        if os.path.isdir(d):
            candidates += [os.path.join(d, f) for f in sorted(os.listdir(d)) if "openblas" in f.lower()]
    try:
        with open("/proc/self/maps") as fh:
            candidates += sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line})
    except OSError:
        pass
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    setter.argtypes, setter.restype = [ctypes.c_int], None
                    getter.argtypes, getter.restype = [], ctypes.c_int
                    return getter, setter
    return None, None


_parallel: _Parallel | None = None


def _parallel_control() -> _Parallel:
    global _parallel
    if _parallel is None:
        _parallel = _Parallel()
    return _parallel


class LSTMRun(RecurrentRun):
    """One LSTM pass over a batch, one step per ``step()``. Everything is allocated here; a step allocates nothing
    and is the same code with or without recording (records are copies made after the math, or views).

    Slots ``xh[s]`` = [x; h; 1] (F+u+1, batch), feature-major: step t reads slot ``cur`` (x_t, h_{t-1}) and writes
    h_t into the h rows of slot ``nxt``. With ``return_sequences`` there is a slot per step (cur = t, nxt = t+1):
    a known input is written in once, ``seq`` is a view of the h rows and the records ``x`` and ``h`` are views
    too; otherwise two slots take turns. Threads never write a slot another one still reads.

    Two ways to compute a step, chosen from the sizes (the same for a given layer, batch and machine):

    * fused (usual): ``w @ xh[cur]`` is z_t in one GEMM (``step_weights``: the ones row adds the bias). Per unit
      range (one per thread; a single one below _Parallel's threshold) a buffer [i; f; o; c̃; C] (5·units, batch)
      takes z's rows: the recurrent activation runs once over i f o (on negated rows for the sigmoid), the
      activation over c̃; C sits right after c̃, so [i; f] ⊙ [c̃; C_{t-1}] is one multiply and C_t the sum of its
      halves, written back in place; h_t = o ⊙ act(C_t) lands in slot ``nxt``;
    * unfused, for one thread and weights too big to copy cheaply (≥ UNFUSED_MIN_BYTES): x·W + h·U + b straight
      from the layer's arrays, gates in Keras' order. Such steps are bound by reading the weights, which both ways
      read once, and no copy of the weights is made (it would double their memory and delay the first step).

    ``h`` and ``c`` are (batch, units) views of the carried states; ``states()`` returns copies.
    """

    UNFUSED_MIN_BYTES = 32 * 1024 ** 2

    def __init__(self, layer: LSTM, batch: int, T: int, x_full, initial_state, record: bool):
        self.layer = layer
        self.T = T
        self.t = 0
        u = layer.units
        F = layer.input_features
        self.F = F
        f32 = np.float32
        K = F + u + (1 if layer.bias is not None else 0)
        par = _parallel_control()
        n = par.parts_for(batch, u)
        self.par = par if n > 1 else None
        # Batch 1 holds OpenBLAS to one thread during its steps: a matrix-vector product is bound by reading the
        # weights and gains next to nothing from a second thread (measured: 4.5 vs 4.7 ms per predict of
        # 2×LSTM(256)), while with another process busy on a core, OpenBLAS's spinning workers wait for it and
        # made the same predict 10-40x slower (median 190 ms against 6 ms on one thread).
        self.blas1 = par if n == 1 and batch == 1 and par.set is not None else None
        self.unfused = n == 1 and 16 * K * u >= self.UNFUSED_MIN_BYTES
        self.per_step = layer.return_sequences
        self.xh = np.zeros((T + 1 if self.per_step else 2, K, batch), f32)
        if layer.bias is not None:
            self.xh[:, F + u] = 1
        self.x_src = None  # (T, F, batch) when known and not already in the slots
        self.x_given = x_full is not None
        if x_full is not None:
            xt = time_major_inputs(layer, x_full).transpose(0, 2, 1)  # (T, F, batch) in processing order
            if self.per_step:
                self.xh[:T, :F] = xt
            else:
                self.x_src = np.ascontiguousarray(xt)
        self.seq = self.xh[1:, F:F + u].transpose(2, 0, 1) if self.per_step else None
        act = inplace(layer.act)
        self._parts = []
        if self.unfused:
            self.negated = False
            self.w = None
            zc = np.zeros((batch, 5 * u), f32)  # [i f c̃ o | C]: Keras' gate order, then C
            z = zc[:, :4 * u]
            self._zc = zc
            self._c_view = zc[:, 4 * u:]
            b = None if layer.bias is None else np.asarray(layer.bias, f32)
            self._unfused = (np.asarray(layer.kernel, f32), np.asarray(layer.recurrent_kernel, f32), b, z,
                             np.zeros((batch, 4 * u), f32), z[:, :2 * u], z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u],
                             z[:, 3 * u:], self._c_view, np.zeros((batch, u), f32), np.zeros((batch, u), f32),
                             inplace(layer.rec_act), act)
        else:
            bounds = tuple(int(v) for v in np.linspace(0, u, n + 1).round())
            self.negated = layer.rec_act is sigmoid
            self.w = step_weights(layer, self.negated, bounds).T  # (4u, F+u+1), a view
            rec_act = sigmoid_of_negated_ if self.negated else inplace(layer.rec_act)
            # Gate buffers are (rows, batch): contiguous per gate (feature-major), or transposed views of
            # (batch, rows) arrays (batch-major) — see _batch_major.
            if self._batch_major(batch, u):
                def zeros(rows):
                    return np.zeros((batch, rows), f32).T
            else:
                def zeros(rows):
                    return np.zeros((rows, batch), f32)
            # recording one range with the sigmoid: 3u more rows to un-negate i f o into, for the ``pre`` record
            extra = 3 * u if record and n == 1 and self.negated else 0
            for a, b in zip(bounds[:-1], bounds[1:]):
                k = b - a
                buf = zeros(5 * k + extra)
                prod = zeros(2 * k)
                self._parts.append((a, b, self.w[4 * a:4 * b], buf[:4 * k], buf[:3 * k], buf[3 * k:4 * k],
                                    buf[:2 * k], buf[3 * k:5 * k], prod, prod[:k], prod[k:], buf[4 * k:5 * k],
                                    zeros(k), buf[2 * k:3 * k], rec_act, act, buf[:5 * k]))
            self._buf0 = buf
        if initial_state:
            self.set_states(initial_state)
        self.records = None
        if record:
            self._init_records(batch, T, x_full is not None)

    @staticmethod
    def _batch_major(batch: int, units: int) -> bool:
        """Batch-major gate buffers let BLAS write z as (batch, 4u), which it does up to 1.7x faster for weights far
        bigger than the caches (measured: 2×LSTM(2048) 1.5-1.6x faster at batch 8 to 256, LSTM(1024) at batch 8);
        feature-major ones keep each gate contiguous, which NumPy's elementwise loops need when rows are short (few
        units) and many (big batch): 10-20% faster for 256 units from batch 4 up, for 512 units from batch 64."""
        return units >= 512 and batch * 128 * 128 <= units * units

    def _slot(self, t: int) -> int:
        return t if self.per_step else t & 1

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
            np.copyto(self.xh[cur, :self.F], x_t.T)
        elif self.x_src is not None:
            np.copyto(self.xh[cur, :self.F], self.x_src[t])
        if self.par is not None:
            self._step_parallel(cur, nxt, t)
        elif self.blas1 is not None:
            self._step_one_blas_thread(cur, nxt, t)
        elif self.unfused:
            self._step_unfused(cur, nxt, t)
        else:
            self._step_part(self._parts[0], cur, nxt, t)
        if self.records is not None:
            self._record(t, x_t, nxt)
        self.t = t + 1

    def _step_part(self, part, cur, nxt, t):
        (a, b, w, z, ifo, g, if_, gc, prod, ig, fc, c, tc, o, rec_act, act, buf) = part
        xh = self.xh
        with np.errstate(over="ignore"):  # exp(-z) may overflow to inf for a saturated gate: σ is then exactly 0
            np.matmul(w, xh[cur], out=z)
            if self.records is not None:
                self._record_pre(t, a, b, z)
            rec_act(ifo, ifo)
            act(g, g)
            np.multiply(if_, gc, out=prod)  # [i ⊙ c̃; f ⊙ C_{t-1}]
            np.add(ig, fc, out=c)
            act(c, tc)
            np.multiply(o, tc, out=xh[nxt, self.F + a:self.F + b])

    def _step_one_blas_thread(self, cur, nxt, t):
        par = self.blas1
        par.enter()
        try:
            if self.unfused:
                self._step_unfused(cur, nxt, t)
            else:
                self._step_part(self._parts[0], cur, nxt, t)
        finally:
            par.leave()

    def _step_parallel(self, cur, nxt, t):
        par = self.par
        par.enter()
        try:
            pool = par.executor()
            futures = [pool.submit(self._step_part, part, cur, nxt, t) for part in self._parts[1:]]
            try:
                self._step_part(self._parts[0], cur, nxt, t)
            finally:
                wait(futures)  # never leave a part running behind
            for f in futures:
                f.result()
        finally:
            par.leave()

    def _step_unfused(self, cur, nxt, t):
        W, U, bias, z, zt, if_, i, f, g, o, c, ig, tc, rec_act, act = self._unfused
        F, F_u = self.F, self.F + c.shape[1]
        slot = self.xh[cur]
        with np.errstate(over="ignore"):
            np.matmul(slot[:F].T, W, out=z)
            np.matmul(slot[F:F_u].T, U, out=zt)
            np.add(z, zt, out=z)
            if bias is not None:
                np.add(z, bias, out=z)
            if self.records is not None:
                self._pre[:, t] = z
            rec_act(if_, if_)
            rec_act(o, o)
            act(g, g)
            np.multiply(f, c, out=c)
            np.multiply(i, g, out=ig)
            np.add(c, ig, out=c)
            act(c, tc)
            np.multiply(o, tc, out=self.xh[nxt, F:F_u].T)

    # --- recording -----------------------------------------------------------------------------------------------
    def _init_records(self, batch, T, x_known):
        u, F, f32 = self.layer.units, self.F, np.float32
        r = {}
        if self.per_step:  # views of the slots: filled by the steps themselves
            r["x"] = self.xh[:T, :F].transpose(2, 0, 1)
        else:
            r["x"] = np.zeros((batch, T, F), f32)
            if x_known:
                r["x"][...] = self.x_src.transpose(2, 0, 1)
        r["pre"] = np.zeros((batch, T, 4 * u), f32)
        self._acts = None
        if self.unfused:
            # the step's [i f c̃ o C] buffer is one row of ``acts``: one copy records them all
            self._acts = a5 = np.zeros((batch, T, 5 * u), f32)
            self._acts_src = self._zc
            r.update({"i": a5[:, :, :u], "f": a5[:, :, u:2 * u], "c~": a5[:, :, 2 * u:3 * u],
                      "o": a5[:, :, 3 * u:4 * u], "C": a5[:, :, 4 * u:]})
        elif len(self._parts) == 1:
            # likewise for [i f o c̃ C]
            self._acts = a5 = np.zeros((batch, T, 5 * u), f32)
            self._acts_src = self._parts[0][-1].T
            r.update({"i": a5[:, :, :u], "f": a5[:, :, u:2 * u], "c~": a5[:, :, 3 * u:4 * u],
                      "o": a5[:, :, 2 * u:3 * u], "C": a5[:, :, 4 * u:]})
            # the rows of z (i f o c̃; i f o negated, and un-negated in the extra rows) in Keras' order i f c o
            buf = self._buf0
            if self.negated:
                self._pre_take = (buf, buf[:3 * u], buf[5 * u:], np.r_[5 * u:7 * u, 3 * u:4 * u, 7 * u:8 * u])
            else:
                self._pre_take = (buf, None, None, np.r_[0:2 * u, 3 * u:4 * u, 2 * u:3 * u])
        else:
            r.update({name: np.zeros((batch, T, u), f32) for name in ("i", "f", "c~", "o", "C")})
        r["h"] = self.seq if self.per_step else np.zeros((batch, T, u), f32)
        self.records = {name: r[name] for name in ("x", "pre", "i", "f", "c~", "o", "C", "h")}
        self._pre = r["pre"]
        # what a step copies besides the gates: x (stepped input, not in the slots) and h (not in the slots)
        self._rec_copies = (r["x"] if not x_known and not self.per_step else None,
                            None if self.per_step else r["h"],
                            None if self.per_step else [xh[F:F + u] for xh in self.xh])

    def _record_pre(self, t, a, b, z):
        """z_t of units a:b, un-negated, into the ``pre`` record in Keras' gate order i f c o."""
        pre = self._pre[:, t]
        if self._acts is not None:  # one range: un-negate i f o into the extra rows, then one gather
            buf, neg_src, neg_dst, rows = self._pre_take
            if neg_src is not None:
                np.negative(neg_src, out=neg_dst)
            buf.take(rows, 0, pre.T, "clip")
            return
        u, k = self.layer.units, b - a
        for gate, lo in ((0, 0), (1, 1), (3, 2), (2, 3)):  # internal row blocks are i f o c̃
            dst = pre[:, gate * u + a:gate * u + b]
            if self.negated and gate != 2:
                np.negative(z[lo * k:(lo + 1) * k].T, out=dst)
            else:
                np.copyto(dst, z[lo * k:(lo + 1) * k].T)

    def _record(self, t, x_t, nxt):
        x_rec, h_rec, h_rows = self._rec_copies
        if x_rec is not None:
            x_rec[:, t] = x_t
        if self._acts is not None:
            self._acts[:, t] = self._acts_src
        else:
            r = self.records
            for part in self._parts:
                a, b, buf = part[0], part[1], part[-1]
                k = b - a
                for name, lo in (("i", 0), ("f", 1), ("o", 2), ("c~", 3), ("C", 4)):
                    np.copyto(r[name][:, t, a:b], buf[lo * k:(lo + 1) * k].T)
        if h_rec is not None:
            h_rec[:, t] = h_rows[nxt].T

    # --- states --------------------------------------------------------------------------------------------------
    @property
    def h(self) -> np.ndarray:
        """h after the steps done, (batch, units) view."""
        return self.xh[self._slot(self.t), self.F:self.F + self.layer.units].T

    @property
    def c(self) -> np.ndarray:
        """C after the steps done, (batch, units): a view with one unit range, else a copy."""
        if self.unfused:
            return self._c_view
        if len(self._parts) == 1:
            return self._parts[0][11].T
        return np.concatenate([p[11] for p in self._parts], axis=0).T

    def states(self):
        return [self.h.copy(), self.c.copy()]

    def set_states(self, states):
        u = self.layer.units
        batch = self.xh.shape[2]
        h = np.asarray(states[0], dtype=np.float32).reshape(batch, u)
        c = np.asarray(states[1], dtype=np.float32).reshape(batch, u)
        np.copyto(self.xh[self._slot(self.t), self.F:self.F + u], h.T)
        if self.unfused:
            np.copyto(self._c_view, c)
        for part in self._parts:
            np.copyto(part[11], c[:, part[0]:part[1]].T)

    def current_outputs(self):
        first = self.seq if self.seq is not None else self.h.copy()
        return [first] + (self.states() if self.layer.return_state else [])
