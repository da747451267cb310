"""Keras ConvLSTM1D / ConvLSTM2D / ConvLSTM3D: an LSTM whose products are convolutions. With ``*`` a convolution,
gates in Keras' order i | f | c | o along the kernels' last axis (``filters`` each)::

    z_t = (x_t * W + b) + h_{t-1} * U          x_t * W: the layer's strides, dilation and padding
    i = σ(z_i)   f = σ(z_f)   c̃ = act(z_c)   o = σ(z_o)        h_{t-1} * U: stride 1, "same", no dilation
    C_t = f ⊙ C_{t-1} + i ⊙ c̃              h_t = o ⊙ act(C_t)

Kernel (*k, in_channels, 4·filters), recurrent kernel (*k, filters, 4·filters), bias (4·filters,); σ is
``recurrent_activation``, act ``activation``. States and records are maps, (batch, *spatial, filters) — or
(batch, filters, *spatial) with ``data_format="channels_first"``, always in the layer's own layout, as Keras gives them.
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import register
from .conv import conv_options
from .recurrent import CellLayer, Records, RecurrentRun
from .spatial import conv_nd, data_format, output_size, to_channels_first

GATES = ("i", "f", "c", "o")


class ConvLSTM(CellLayer):
    rank = 2
    units_key = "filters"
    gate_names = GATES
    state_names = ("h", "c")  # Keras' return_state order: [output, h, c]
    record_names = ("x", "pre", "i", "f", "c~", "o", "C", "h")
    gate_record_names = ("i", "f", "c~", "o")
    state_record_names = ("h", "C")

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        n = self.rank
        self.filters = self.units
        self.channels_first = data_format(self)
        self.kernel_size, self.strides, self.dilation, self.padding = conv_options(self, n)
        self.act = self.activation("activation", "tanh")
        self.rec_act = self.activation("recurrent_activation", "sigmoid")
        self.use_bias = bool(config.get("use_bias", True))
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if not arrays or arrays[0].ndim != n + 2:
            raise FormatError(f"layer {name!r} ({class_name}) has no kernel in the file")
        F4 = 4 * self.filters
        shapes = [self.kernel_size + (arrays[0].shape[-2], F4), self.kernel_size + (self.filters, F4)]
        got = self.take_weights(ctx, shapes + ([(F4,)] if self.use_bias else []))
        self.kernel, self.recurrent_kernel = got[0], got[1]
        self.bias = got[2] if self.use_bias else None
        self.input_spatial: tuple[int, ...] | None = None  # learnt from the graph's shapes (static in Keras)

    # --- shapes ----------------------------------------------------------------------------------------------------
    @property
    def input_features(self) -> int:
        return self.kernel.shape[-2]

    def _spatial(self, shape) -> tuple:
        """The spatial dims of one step's input or state shape (no batch, no time)."""
        return tuple(shape[1:]) if self.channels_first else tuple(shape[:-1])

    def state_spatial(self, input_spatial) -> tuple:
        return tuple(output_size(v, k, s, d, self.padding)
                     for v, k, s, d in zip(input_spatial, self.kernel_size, self.strides, self.dilation))

    def state_shape(self, input_spatial) -> tuple:
        """One sample's state shape, in the layer's layout."""
        sp = self.state_spatial(input_spatial)
        return (self.filters,) + sp if self.channels_first else sp + (self.filters,)

    def channel(self, a: np.ndarray, k: int) -> np.ndarray:
        """Channel ``k`` of one sample's map (or of a stack of them: any leading axes), a view."""
        return a[..., k, *([slice(None)] * self.rank)] if self.channels_first else a[..., k]

    def kernel_tiles(self, matrix: str, gate: str, k: int) -> np.ndarray:
        """The kernels into filter ``k`` of one gate (matrix "W": from each input channel, "U": from each channel of
        h) as one 2-D picture, a tile per channel left to right, NaN between tiles: ConvLSTM2D tiles are rows ×
        columns of the kernel; ConvLSTM3D stacks the depth slices top to bottom; ConvLSTM1D has one row per channel
        (taps across)."""
        w = self.gate(matrix, gate)[..., k]  # (*taps, channels)
        c = w.shape[-1]
        if self.rank == 1:
            return np.ascontiguousarray(w.T, dtype=np.float32)
        slices = w if self.rank == 3 else w[None]  # (depth, rows, cols, channels)
        d, r, q = slices.shape[:3]
        out = np.full((d * (r + 1) - 1, c * (q + 1) - 1), np.nan, np.float32)
        for z in range(d):
            for j in range(c):
                out[z * (r + 1):z * (r + 1) + r, j * (q + 1):j * (q + 1) + q] = slices[z, :, :, j]
        return out

    def check_input(self, x: np.ndarray) -> None:
        c = x.shape[2] if self.channels_first else x.shape[-1]
        if x.ndim != self.rank + 3 or c != self.input_features:
            layout = "channels, spatial…" if self.channels_first else "spatial…, channels"
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs (batch, time, {layout}) with "
                                  f"{self.input_features} channels, got shape {x.shape}")

    def output_shape(self, input_shapes):
        s = tuple(input_shapes[0])
        spatial = self._spatial(s[2:])
        if all(isinstance(d, int) for d in spatial):
            self.input_spatial = spatial
        state = (s[0],) + self.state_shape(spatial)
        first = (s[0], s[1]) + state[1:] if self.return_sequences else state
        return [first] + ([state] * 2 if self.return_state else [])

    def describe(self):
        d = {"filters": str(self.filters), "kernel_size": str(self.kernel_size), "padding": self.padding}
        if max(self.strides) != 1:
            d["strides"] = str(self.strides)
        if max(self.dilation) != 1:
            d["dilation_rate"] = str(self.dilation)
        if self.channels_first:
            d["data_format"] = "channels_first"
        d.update((k, v) for k, v in super().describe().items() if k != "units")
        return d

    def start(self, batch, T, x_full=None, initial_state=None, record=False):
        return ConvLSTMRun(self, batch, T, x_full, initial_state, record)


@register("ConvLSTM1D")
class ConvLSTM1D(ConvLSTM):
    rank = 1


@register("ConvLSTM2D")
class ConvLSTM2D(ConvLSTM):
    rank = 2


@register("ConvLSTM3D")
class ConvLSTM3D(ConvLSTM):
    rank = 3


class ConvLSTMRun(RecurrentRun):
    """One ConvLSTM pass, one step per ``step()``. Everything is computed channels_last; what leaves the run
    (``seq``, states, records) is a view in the layer's layout.

    ``h``/``c`` hold a slot per step and one for the start (slot t is the state after t steps) when the steps are
    kept (return_sequences or recording), else two that take turns. With the whole input known, x * W + b is
    computed for every step at once.
    """

    def __init__(self, layer: ConvLSTM, batch: int, T: int, x_full, initial_state, record: bool):
        self.layer = layer
        self.T = T
        self.t = 0
        cf = layer.channels_first
        if x_full is not None:
            layer.check_input(x_full)
            in_spatial = layer._spatial(x_full.shape[2:])
        elif layer.input_spatial is not None:
            in_spatial = layer.input_spatial
        else:
            raise InputShapeError(f"layer {layer.name!r} ({layer.class_name}): the spatial size of its input is unknown")
        self.in_spatial = tuple(in_spatial)
        sp = layer.state_spatial(in_spatial)
        if any(v is None or v <= 0 for v in sp):
            raise InputShapeError(f"layer {layer.name!r} ({layer.class_name}): input {in_spatial} is smaller than the kernel")
        F = layer.filters
        f32 = layer.kernel.dtype.type  # float32, or float64 for an exact reference run
        self.recording = bool(record)
        self.per_step = layer.return_sequences or self.recording
        n = T + 1 if self.per_step else 2
        self._h = np.zeros((n, batch) + sp + (F,), f32)  # slot-major: slot s is (batch, *sp, F), contiguous
        self._c = np.zeros((n, batch) + sp + (F,), f32)
        self.xz = None  # (T, batch, *sp, 4F): x * W + b for every step, in processing order
        self._x = None  # (T, batch, *in_spatial, C) channels_last, kept for the x record
        if x_full is not None:
            xt = np.moveaxis(np.asarray(x_full, f32), 1, 0)  # (T, batch, …) in the layer's layout
            if layer.go_backwards:
                xt = xt[::-1]
            xl = np.moveaxis(xt, 2, -1) if cf else xt  # channels last
            xl = np.ascontiguousarray(xl)
            self._x = xl
            flat = xl.reshape((T * batch,) + xl.shape[2:])
            self.xz = self._input_conv(flat).reshape((T, batch) + sp + (4 * F,))
        if self.recording:
            self._z = np.zeros((T, batch) + sp + (4 * F,), f32)  # pre-activations, Keras' gate order
            self._a = np.zeros((T, batch) + sp + (4 * F,), f32)  # activated gates i f c̃ o
            if self._x is None:
                self._x = np.zeros((T, batch) + tuple(in_spatial) + (layer.input_features,), f32)
        else:
            self._z = np.zeros((1, batch) + sp + (4 * F,), f32)
            self._a = np.zeros((1, batch) + sp + (4 * F,), f32)
        if initial_state:
            self.set_states(initial_state)
        out = self._out
        self.seq = out(np.moveaxis(self._h[1:], 0, 1), time=True) if layer.return_sequences else None
        self.records = None
        if self.recording:
            bt = lambda a: out(np.moveaxis(a, 0, 1), time=True)  # noqa: E731  (T, batch, …) → (batch, T, …)
            r = Records({"x": bt(self._x), "pre": bt(self._z)})
            for k, name in enumerate(("i", "f", "c~", "o")):
                r[name] = bt(self._a[..., k * F:(k + 1) * F])
            r["C"] = bt(self._c[1:])
            r["h"] = bt(self._h[1:])
            self.records = r

    def _out(self, a: np.ndarray, time: bool = False) -> np.ndarray:
        """A channels_last array, (batch, *spatial, C) or with ``time`` (batch, T, *spatial, C), seen in the layer's
        layout (a view)."""
        if not self.layer.channels_first:
            return a
        return np.moveaxis(a, -1, 2) if time else to_channels_first(a)

    def _input_conv(self, x: np.ndarray) -> np.ndarray:
        L = self.layer
        z = conv_nd(x, L.kernel, L.strides, L.dilation, L.padding)
        if L.bias is not None:
            z += L.bias
        return z

    def _slot(self, t: int) -> int:
        return t if self.per_step else t & 1

    def step(self, x_t=None):
        t = self.t
        if t >= self.T:
            raise IndexError("run is complete")
        L = self.layer
        F = L.filters
        cur, nxt = self._slot(t), self._slot(t + 1)
        k = t if self.recording else 0
        z, a = self._z[k], self._a[k]
        if self.xz is not None:
            xz = self.xz[t]
        else:
            xl = np.asarray(x_t, self._h.dtype)
            xl = np.moveaxis(xl, 1, -1) if L.channels_first else xl
            if self.recording:
                self._x[t] = xl
            xz = self._input_conv(np.ascontiguousarray(xl))
        h_prev, c_prev = self._h[cur], self._c[cur]
        np.add(xz, conv_nd(h_prev, L.recurrent_kernel, (1,) * L.rank, (1,) * L.rank, "same"), out=z)
        a[..., :2 * F] = L.rec_act(z[..., :2 * F])
        a[..., 2 * F:3 * F] = L.act(z[..., 2 * F:3 * F])
        a[..., 3 * F:] = L.rec_act(z[..., 3 * F:])
        i, f, g, o = (a[..., j * F:(j + 1) * F] for j in range(4))
        c = self._c[nxt]
        np.multiply(f, c_prev, out=c)
        c += i * g
        np.multiply(o, L.act(c), out=self._h[nxt])
        self.t = t + 1

    # --- states --------------------------------------------------------------------------------------------------
    @property
    def h(self) -> np.ndarray:
        return self._out(self._h[self._slot(self.t)])

    @property
    def c(self) -> np.ndarray:
        return self._out(self._c[self._slot(self.t)])

    def states(self):
        return [self.h.copy(), self.c.copy()]

    def set_states(self, states):
        cf = self.layer.channels_first
        s = self._slot(self.t)
        for buf, v in zip((self._h, self._c), states):
            v = np.asarray(v, buf.dtype)
            v = np.moveaxis(v, 1, -1) if cf else v
            if v.shape != buf.shape[1:]:
                raise InputShapeError(f"layer {self.layer.name!r} ({self.layer.class_name}): a state of shape "
                                      f"{v.shape} does not fit its maps {buf.shape[1:]}")
            np.copyto(buf[s], v)

    def current_outputs(self):
        first = self.seq if self.seq is not None else self.h.copy()
        return [first] + (self.states() if self.layer.return_state else [])

    def output_history(self, k):
        if self.records is None or (k == 0 and self.seq is not None):
            return None
        return self.records["C" if k == 2 else "h"]
