"""What every recurrent layer shares: options, the run protocol the stepper drives, and per-gate weight views."""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Callable, ClassVar, Iterator

import numpy as np

from ..activations import activation_name
from ..errors import FormatError, InputShapeError
from .base import BuildContext, Layer


@dataclass(frozen=True)
class GateSlice:
    """One gate's block of a weight matrix, as a view into the layer's array (no copy)."""

    matrix: str  # "W" (kernel), "U" (recurrent kernel) or "b" (bias)
    gate: str  # e.g. "i", "f", "c", "o"
    array: np.ndarray


class Records(MutableMapping):
    """A run's per-step arrays by name, (batch, T, …) in processing order. Most are views of the run's own step
    buffers, so a step records by computing; a few are made from those buffers when read (``set_lazy``), e.g.
    LSTM's ``pre`` (its buffers hold the gates in another order). Read them as a dict: ``dict(records)``."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None):
        self._items: dict[str, np.ndarray | Callable[[], np.ndarray]] = dict(arrays or {})

    def set_lazy(self, name: str, make: Callable[[], np.ndarray]) -> None:
        self._items[name] = make

    def add_prefixed(self, prefix: str, other: "MutableMapping[str, np.ndarray] | None") -> None:
        """Every entry of ``other`` as ``<prefix>/<name>``, lazy ones staying lazy (Bidirectional's directions)."""
        if other is None:
            return
        raw = other._items if isinstance(other, Records) else dict(other)
        for name, v in raw.items():
            self._items[f"{prefix}/{name}"] = v

    def __getitem__(self, name: str) -> np.ndarray:
        v = self._items[name]
        return v() if callable(v) else v

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self._items[name] = value

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Records({list(self._items)})"


class RecurrentRun:
    """One pass of a recurrent layer over a batch, advanced one timestep per ``step()``.

    ``x_full`` (batch, T, features) is given when the whole input sequence is known when the run starts; the run
    may then project all timesteps at once. Otherwise each ``step`` receives that step's input ``x_t`` (batch,
    features), already in processing order. ``record`` keeps every step's gates and states in ``records``
    (a ``Records`` of arrays of shape (batch, T, …), indexed by processing step).
    """

    layer: "RecurrentLayer"
    t: int  # steps done
    T: int

    def step(self, x_t: np.ndarray | None = None) -> None:
        raise NotImplementedError

    def states(self) -> list[np.ndarray]:
        raise NotImplementedError

    def current_outputs(self) -> list[np.ndarray]:
        """The layer's outputs as if the sequence ended after the steps done so far."""
        raise NotImplementedError

    def set_states(self, states: list[np.ndarray]) -> None:
        """Replace the carried states (same order as ``states()``); used by masking to carry states over."""
        raise NotImplementedError

    def output_history(self, k: int) -> np.ndarray | None:
        """(batch, T, …) whose [:, t] is ``current_outputs()[k]`` after step t, where the run keeps it anyway (its
        records); None otherwise. Lets the stepper's readouts read a step's values later instead of copying them."""
        return None

    def last_step(self) -> dict[str, np.ndarray] | None:
        """The gates and states of the step just done, by record name (the layer's ``gate_record_names`` and
        ``state_record_names``; ``mask`` (batch,) too under masking), each equal to ``records[name][:, t-1]``:
        (batch, …) views of the run's buffers, valid until its next step. Lets a caller take per-step statistics
        while the step's values are still in cache, without recording every step (engine/step_stats.py).
        This default reads the records: None when the run does not record or has not stepped. Runs that keep
        the latest step in their own buffers say so by overriding it, recording or not."""
        r = self.records
        if r is None or self.t == 0:
            return None
        L = self.layer
        return {name: r[name][:, self.t - 1] for name in (*L.gate_record_names, *L.state_record_names)}


class MaskedRun(RecurrentRun):
    """Keras' masking around any run (``keras.backend.rnn``): at a masked step the states are carried over
    unchanged and the output is the previous step's output (zeros before the first kept step), or zeros when the
    layer has ``zero_output_for_mask`` (Bidirectional forces it when returning sequences).

    ``mask`` (batch, T) bool in processing order when known at the start; otherwise each ``step`` gets ``mask_t``.
    Records gain ``mask`` (batch, T) bool, and the state records show the carried states.
    """

    def __init__(self, inner: RecurrentRun, batch: int, mask: np.ndarray | None, zero_output: bool):
        self.inner = inner
        self.layer = inner.layer
        self.T = inner.T
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.zero_output = zero_output
        shape = inner.states()[0].shape[1:]  # (units,), or a ConvLSTM's (*spatial, filters)
        dtype = inner.states()[0].dtype  # float32, or float64 for an exact reference run
        self.out = np.zeros((batch,) + shape, dtype)
        self.seq = np.zeros((batch, self.T) + shape, dtype) if inner.seq is not None else None
        self.masks_seen = np.ones((batch, self.T), bool)
        if inner.records is not None:
            inner.records["mask"] = self.masks_seen

    @property
    def t(self) -> int:
        return self.inner.t

    @property
    def records(self):
        return self.inner.records

    def __getattr__(self, name):  # the wrapped run's own state (h, c …) stays visible
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def step(self, x_t=None, mask_t=None):
        t = self.inner.t
        m = self.mask[:, t] if self.mask is not None else mask_t
        if m is None:
            self.inner.step(x_t)
            new = self.inner.states()
            out = new[0]
        else:
            m = np.asarray(m, dtype=bool)
            prev = [np.array(s, copy=True) for s in self.inner.states()]
            self.inner.step(x_t)
            new = self.inner.states()
            keep = m.reshape((-1,) + (1,) * (self.out.ndim - 1))
            states = [np.where(keep, n, p).astype(p.dtype, copy=False) for n, p in zip(new, prev)]
            self.inner.set_states(states)
            dt = self.out.dtype
            out = np.where(keep, new[0], dt.type(0) if self.zero_output else self.out).astype(dt, copy=False)
            self.masks_seen[:, t] = m
            r = self.inner.records
            if r is not None:
                for name, value in zip(self.layer.state_record_names, states):
                    if name in r:
                        r[name][:, t] = value
        self.out = np.array(out, copy=True)
        if self.seq is not None:
            self.seq[:, t] = out

    def states(self):
        return self.inner.states()

    def set_states(self, states):
        self.inner.set_states(states)

    def last_step(self):
        """The wrapped run's (whose states are the carried ones at a masked step), with the step's ``mask``."""
        out = self.inner.last_step()
        if out is not None:
            out["mask"] = self.masks_seen[:, self.inner.t - 1]
        return out

    def current_outputs(self):
        first = self.seq if self.seq is not None else self.out
        return [first] + (list(self.inner.states()) if self.layer.return_state else [])


class RecurrentLayer(Layer):
    recurrent = True
    timewise = False
    gate_names: ClassVar[tuple[str, ...]] = ()
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    #: names of the per-step arrays a recording run keeps, in display order
    record_names: ClassVar[tuple[str, ...]] = ()
    #: the records holding each state of ``state_names`` (masking rewrites them with the carried states)
    state_record_names: ClassVar[tuple[str, ...]] = ("h",)
    #: the records holding gate activations, one (batch, T, units) array each, for plots of the gates
    gate_record_names: ClassVar[tuple[str, ...]] = ()
    #: recurrent layers map their input mask to their sequence output
    uses_mask = True
    #: each step's output is final once the step is done (not so for Bidirectional, which merges both ends)
    steps_output: ClassVar[bool] = True
    #: the config key of the state width ("filters" for ConvLSTM)
    units_key: ClassVar[str] = "units"

    def __init__(self, name, class_name, config, ctx: BuildContext):
        super().__init__(name, class_name, config, ctx)
        self.units = self.int_option(self.units_key)
        self.return_sequences = bool(config.get("return_sequences", False))
        self.return_state = bool(config.get("return_state", False))
        self.go_backwards = bool(config.get("go_backwards", False))
        self.stateful = bool(config.get("stateful", False))
        if config.get("time_major", False):
            raise FormatError(f"layer {name!r}: time_major=True inputs are not supported")
        notes = []
        if self.stateful:
            notes.append("stateful layer: replayed from a zero initial state")
        self.notes = tuple(notes)
        self.n_outputs = 1 + (len(self.state_names) if self.return_state else 0)
        self.zero_output_for_mask = bool(config.get("zero_output_for_mask", False))

    @property
    def input_features(self) -> int:
        raise NotImplementedError

    @property
    def dtype(self) -> np.dtype:
        """The float type the layer computes in: its weights' (float32, or float64 for an exact reference run)."""
        k = getattr(self, "kernel", None)
        return k.dtype if isinstance(k, np.ndarray) and k.dtype.kind == "f" else np.dtype(np.float32)

    def gate_slices(self) -> list[GateSlice]:
        raise NotImplementedError

    def start(self, batch: int, T: int, x_full: np.ndarray | None = None, initial_state: list[np.ndarray] | None = None,
              record: bool = False) -> RecurrentRun:
        raise NotImplementedError

    def begin(self, batch: int, T: int, x_full: np.ndarray | None = None, initial_state: list[np.ndarray] | None = None,
              record: bool = False, mask: np.ndarray | None = None, stepped_mask: bool = False) -> RecurrentRun:
        """``start`` with Keras masking: ``mask`` (batch, T) in time order, or ``stepped_mask`` when each step will
        bring its own ``mask_t``. Without either it is exactly ``start``."""
        run = self.start(batch, T, x_full=x_full, initial_state=initial_state, record=record)
        if mask is None and not stepped_mask:
            return run
        if mask is not None:
            mask = np.asarray(mask, dtype=bool).reshape(batch, T)
            if self.go_backwards:
                mask = mask[:, ::-1]
        return MaskedRun(run, batch, mask, self.zero_output_for_mask)

    def compute_mask(self, inputs, masks):
        m = masks[0] if masks else None
        return [m if self.return_sequences else None] + [None] * (self.n_outputs - 1)

    def check_input(self, x: np.ndarray) -> None:
        if x.ndim != 3:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs a 3-D input (batch, time, features), got shape {x.shape}")
        if x.shape[-1] != self.input_features:
            raise InputShapeError(
                f"layer {self.name!r} ({self.class_name}) gets {x.shape[-1]} features per step, its kernel expects {self.input_features}"
            )

    def call(self, inputs, masks=None):
        """Whole-sequence call, for use outside the stepper (tests, nested evaluation)."""
        x = inputs[0]
        self.check_input(x)
        mask = masks[0] if masks else None
        run = self.begin(x.shape[0], x.shape[1], x_full=x, initial_state=list(inputs[1:]) or None, mask=mask)
        with np.errstate(over="ignore"):  # a saturated σ gate: exp(-z) is inf, σ exactly 0
            for _ in range(x.shape[1]):
                run.step()
        return run.current_outputs()

    def output_shape(self, input_shapes):
        b, t = input_shapes[0][0], input_shapes[0][1]
        first = (b, t, self.units) if self.return_sequences else (b, self.units)
        return [first] + ([(b, self.units)] * len(self.state_names) if self.return_state else [])

    def describe(self):
        d = {"units": str(self.units)}
        if self.return_sequences:
            d["return_sequences"] = "yes"
        if self.return_state:
            d["return_state"] = "yes"
        if self.go_backwards:
            d["go_backwards"] = "yes"
        if self.stateful:
            d["stateful"] = "yes (replayed from zero state)"
        return d


def time_major_inputs(layer: RecurrentLayer, x_full: np.ndarray) -> np.ndarray:
    """(T, batch, features) float32 in processing order (reversed for ``go_backwards``), contiguous."""
    layer.check_input(x_full)
    xt = x_full.transpose(1, 0, 2)
    if layer.go_backwards:
        xt = xt[::-1]
    return np.ascontiguousarray(xt, dtype=layer.dtype)


def initial_states(layer: RecurrentLayer, batch: int, initial_state: list[np.ndarray] | None) -> list[np.ndarray]:
    """The layer's starting states: given ones (checked), or zeros."""
    n = len(layer.state_names)
    if not initial_state:
        return [np.zeros((batch, layer.units), layer.dtype) for _ in range(n)]
    if len(initial_state) != n:
        raise InputShapeError(f"layer {layer.name!r} ({layer.class_name}) gets {len(initial_state)} initial states, needs {n}")
    return [np.array(s, dtype=layer.dtype).reshape(batch, layer.units) for s in initial_state]


class CellLayer(RecurrentLayer):
    """A recurrent layer whose weights are Keras' kernel (F, n·u), recurrent_kernel (u, n·u) and bias, with the n
    gates side by side in ``gate_names`` column order (LSTM i|f|c|o, GRU z|r|h, SimpleRNN h)."""

    def read_cell_weights(self, ctx: BuildContext, bias_shape: tuple[int, ...] | None = None) -> None:
        """Sets kernel, recurrent_kernel, bias from the file, checked against the config (``use_bias``, units)."""
        self.use_bias = bool(self.config.get("use_bias", True))
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if not arrays or arrays[0].ndim != 2:
            raise FormatError(f"layer {self.name!r} ({self.class_name}) has no kernel in the file")
        width = len(self.gate_names) * self.units
        bias_shape = (width,) if bias_shape is None else bias_shape
        shapes = [(arrays[0].shape[0], width), (self.units, width)] + ([bias_shape] if self.use_bias else [])
        got = self.take_weights(ctx, shapes)
        self.kernel, self.recurrent_kernel = got[0], got[1]
        self.bias = got[2] if self.use_bias else None

    @property
    def input_features(self) -> int:
        return self.kernel.shape[0]

    def weight_arrays(self):
        out = [("kernel", self.kernel), ("recurrent_kernel", self.recurrent_kernel)]
        return out + ([("bias", self.bias)] if self.bias is not None else [])

    def bias_blocks(self) -> list[tuple[str, np.ndarray]]:
        """The bias vectors to slice per gate, named as matrices ("b"; GRU with reset_after adds "bU")."""
        return [] if self.bias is None else [("b", self.bias)]

    def gate_slices(self) -> list[GateSlice]:
        u = self.units
        out = []
        for k, g in enumerate(self.gate_names):
            cols = slice(k * u, (k + 1) * u)
            out.append(GateSlice("W", g, self.kernel[..., cols]))  # the gates are the last axis (also ConvLSTM's)
            out.append(GateSlice("U", g, self.recurrent_kernel[..., cols]))
            out.extend(GateSlice(name, g, vec[cols]) for name, vec in self.bias_blocks())
        return out

    def gate(self, matrix: str, gate: str) -> np.ndarray:
        """W_i, U_f, b_o … as views into the layer's arrays: ``layer.gate("W", "i")``."""
        for s in self.gate_slices():
            if s.matrix == matrix and s.gate == gate:
                return s.array
        raise KeyError(f"{matrix}_{gate}")

    def describe(self):
        d = super().describe()
        d["activation"] = activation_name(self.config.get("activation", "tanh"))
        if hasattr(self, "rec_act"):
            d["recurrent_activation"] = activation_name(self.config.get("recurrent_activation", "sigmoid"))
        if not self.use_bias:
            d["use_bias"] = "no"
        return d
