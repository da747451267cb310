"""Any replayed value taken apart down to the weights and inputs that made it.

For a recurrent layer (LSTM, GRU, SimpleRNN, each direction of a Bidirectional), a sample, a step t (in the order
the layer processes its steps), a gate or state and a unit j::

    gate    pre = Σ_k W[k,j]·x_t[k] + Σ_k U[k,j]·h_{t-1}[k] + b[j]      value = act(pre)
    GRU h̃   reset_after: the recurrent terms are r[j]·U[k,j]·h_{t-1}[k] and r[j]·bU[j];
            classic:     U[k,j]·(r[k]·h_{t-1}[k])
    LSTM C  C_t = f⊙C_{t-1} ("kept") + i⊙c̃ ("written")
    LSTM h  h_t = o ⊙ act(C_t): pre is C_t (kept + written), the factor is o
    GRU h   h_t = z⊙h_{t-1} ("kept") + (1−z)⊙h̃ ("written")
    readout y = act(Σ_k W_dense[k,o]·h_t[k] + b[o]) for a Dense that reads the layer's h directly

A ConvLSTM value sits at a position p of the layer's output grid and a channel (filter) j; its gate's pre is split per
channel, one term per input channel k and one per channel k of h_{t-1}, each a sum over the kernel taps::

    x[k] = Σ_tap W[tap,k,j]·x_t[p·stride + tap·dilation − pad, k]      (zero outside the input: padding)
    h[k] = Σ_tap U[tap,k,j]·h_{t-1}[p + tap − pad, k]                    (stride 1, "same")
    pre  = Σ_k x[k] + Σ_k h[k] + b[j]       C and h as LSTM's, at (p, j)

Every term is a float64 product of the float32 operands the replay used, so ``bias + Σ terms`` is ``pre`` to
float64 rounding, and ``act(pre)`` is the replayed float32 value to float32 rounding (tests/engine/test_explain.py).
The operands come from a recording stepper's records: nothing is recomputed but the one sum being explained.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .activations import activation_name
from .layers.bidirectional import Bidirectional
from .layers.conv_lstm import ConvLSTM
from .layers.core import Dense, Identity
from .layers.gru import GRU
from .layers.lstm import LSTM
from .layers.recurrent import RecurrentLayer
from .layers.simple_rnn import SimpleRNN
from .layers.spatial import window_padding

#: what can be explained, per layer kind: gates, then states ("y": a Dense readout of h, when there is one)
TARGETS = {
    "LSTM": ("i", "f", "c", "o", "C", "h"),
    "GRU": ("z", "r", "hh", "h"),
    "SimpleRNN": ("h",),
    "ConvLSTM": ("i", "f", "c", "o", "C", "h"),
}
LONG_NAMES = {
    ("LSTM", "i"): "input gate", ("LSTM", "f"): "forget gate", ("LSTM", "c"): "candidate c̃",
    ("LSTM", "o"): "output gate", ("LSTM", "C"): "cell state", ("LSTM", "h"): "hidden state",
    ("GRU", "z"): "update gate", ("GRU", "r"): "reset gate", ("GRU", "hh"): "candidate h̃",
    ("GRU", "h"): "hidden state", ("SimpleRNN", "h"): "hidden state",
    ("ConvLSTM", "i"): "input gate", ("ConvLSTM", "f"): "forget gate", ("ConvLSTM", "c"): "candidate c̃",
    ("ConvLSTM", "o"): "output gate", ("ConvLSTM", "C"): "cell state", ("ConvLSTM", "h"): "hidden state",
}
#: how a target is written in an equation
SYMBOLS = {"c": "c̃", "hh": "h̃"}
#: the record holding each target's replayed value
_RECORD = {("LSTM", "c"): "c~", ("GRU", "hh"): "h~", ("ConvLSTM", "c"): "c~"}


class ExplainError(ValueError):
    """A request that names no explainable value (unknown layer, gate, step or unit)."""


@dataclass(frozen=True)
class Window:
    """Where a ConvLSTM term reads its map: per spatial axis the index of the first tap (negative in the padding)
    and the distance between taps; ``inside`` (*kernel) says which taps fall on the map (the others read zeros)."""

    origin: tuple[int, ...]
    spacing: tuple[int, ...]
    inside: np.ndarray

    def span(self, axis: int) -> tuple[int, int]:
        """The first and last index read along ``axis`` (either may lie outside the map)."""
        n = self.inside.shape[axis]
        return self.origin[axis], self.origin[axis] + (n - 1) * self.spacing[axis]


@dataclass(frozen=True)
class Explanation:
    """One value and the terms it is made of. ``pre == bias + Σ terms`` (float64) and ``value`` is the replayed
    float32 value (``act(pre)``, times ``factor`` when there is one; ``pre`` itself for a plain sum)."""

    layer: str  # the recurrent layer ("bidi/forward" for a direction)
    kind: str  # LSTM, GRU, SimpleRNN or ConvLSTM
    sample: int
    step: int  # processing step
    unit: int
    gate: str  # i f c o C h | z r hh h | h | y
    value: float
    pre: float
    activation: str  # the name of act ("linear" for a plain sum)
    bias: float
    #: W[k,j]·x_t[k] per input feature k (empty for states); ConvLSTM: per input channel, summed over the taps
    x_terms: np.ndarray
    #: U[k,j]·h_{t-1}[k] per unit k (for the readout: W_dense[k,o]·h_t[k]); ConvLSTM: per channel of h, over the taps
    h_terms: np.ndarray
    #: the other named terms: GRU's r·bU, a state's kept and written parts
    other: tuple[tuple[str, float], ...] = ()
    #: the operands of the x and h terms: weights (W[:, j], U[:, j]) and values (x_t, h_{t-1}); ConvLSTM: the
    #: kernels into channel j, (*kernel, channels), and the windows of x_t and h_{t-1} they meet (zeros in padding)
    x_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    x_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    h_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    h_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: what the h terms' values are: h_(t-1), (r⊙h_(t-1)) for classic GRU's h̃, h_t for the readout
    h_label: str = "h_(t-1)"
    #: a factor every h term carries besides weight × value: r[j] for GRU's h̃ with reset_after
    h_scale: float | None = None
    factor: float | None = None  # LSTM h: o_t[j]
    masked: bool = False  # a step Keras' mask skipped: the state is carried over
    #: ConvLSTM: the position on the layer's output grid (None for the other layers), and the windows read
    at: tuple[int, ...] | None = None
    x_window: Window | None = None
    h_window: Window | None = None
    act: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def long_name(self) -> str:
        if self.gate == "y":
            return "readout"
        return LONG_NAMES.get((self.kind, self.gate), self.gate)

    @property
    def symbol(self) -> str:
        return SYMBOLS.get(self.gate, self.gate)

    @property
    def x_name(self) -> str:
        return "x"

    @property
    def h_name(self) -> str:
        return "h"

    @property
    def where(self) -> str:
        """The value's index: ``3`` for unit 3, ``(2,4), 3`` for ConvLSTM's channel 3 at position (2, 4)."""
        if self.at is None:
            return str(self.unit)
        return f"({','.join(map(str, self.at))}), {self.unit}"

    def tap_terms(self, matrix: str) -> np.ndarray:
        """The terms per weight row of ``matrix`` ("W" or "U"): the x or h terms, or for ConvLSTM one per
        (tap, channel) in the kernel's order (taps first), each weight times the value it met."""
        terms, w, v = ((self.x_terms, self.x_weights, self.x_values) if matrix == "W"
                       else (self.h_terms, self.h_weights, self.h_values))
        if self.at is None or w.size == 0:
            return terms
        return (w * v).reshape(-1)

    def terms(self) -> list[tuple[str, float]]:
        """Every term, named: ``x[k]``, ``h[k]``, then the others, in that order."""
        out = [(f"x[{k}]", float(v)) for k, v in enumerate(self.x_terms)]
        out += [(f"h[{k}]", float(v)) for k, v in enumerate(self.h_terms)]
        return out + [(n, float(v)) for n, v in self.other]

    def top(self, n: int = 8) -> tuple[list[tuple[str, float]], tuple[int, float]]:
        """The n terms of largest magnitude, sorted by signed value (largest first), and (count, sum) of the rest."""
        terms = self.terms()
        order = sorted(range(len(terms)), key=lambda i: -abs(terms[i][1]))
        keep = sorted((terms[i] for i in order[:n]), key=lambda t: -t[1])
        rest = [terms[i][1] for i in order[n:]]
        return keep, (len(rest), float(np.sum(rest, dtype=np.float64)) if rest else 0.0)

    def sums(self) -> tuple[float, float, float]:
        """Σ input terms, Σ recurrent terms, Σ other terms."""
        return (float(np.sum(self.x_terms, dtype=np.float64)), float(np.sum(self.h_terms, dtype=np.float64)),
                float(sum(v for _, v in self.other)))

    def equation(self) -> str:
        """The equation with the numbers: ``i_t[3] = sigmoid(0.41 + -1.3 + 0.22) = sigmoid(-0.67) = 0.34``."""
        lhs = f"{self.symbol}_t[{self.where}]"
        if self.masked:
            return f"{lhs} = {self.symbol}_(t-1)[{self.where}] = {_g(self.value)}   (masked step: carried over)"
        sx, sh, so = self.sums()
        parts = [f"b {_g(self.bias)}"] if self.bias else []
        if len(self.x_terms):
            parts.append(f"Σx {_g(sx)}")
        if len(self.h_terms):
            parts.append(f"Σh {_g(sh)}")
        parts += [f"{n} {_g(v)}" for n, v in self.other]
        inner = " + ".join(parts) if parts else "0"
        if self.activation == "linear" and self.factor is None:
            return f"{lhs} = {inner} = {_g(self.value)}"
        act = self.activation
        if self.factor is not None:
            return (f"{lhs} = o[{self.where}]·{act}({inner}) = {_g(self.factor)}·{act}({_g(self.pre)}) "
                    f"= {_g(self.value)}")
        return f"{lhs} = {act}({inner}) = {act}({_g(self.pre)}) = {_g(self.value)}"

    def as_json(self) -> dict:
        return {
            "layer": self.layer, "kind": self.kind, "sample": self.sample, "step": self.step, "unit": self.unit,
            "gate": self.gate, "at": None if self.at is None else list(self.at), "value": self.value,
            "pre": self.pre, "activation": self.activation,
            "factor": self.factor, "masked": self.masked, "bias": self.bias,
            "terms": [{"name": n, "value": v} for n, v in self.terms()],
        }


def _g(v: float) -> str:
    return f"{v:.4g}"


# --- where the operands come from --------------------------------------------------------------------------------
class CellSource:
    """One cell layer's run (or one direction of a Bidirectional run): its layer, records and initial states."""

    def __init__(self, name: str, layer: RecurrentLayer, records: Mapping, initial: list[np.ndarray] | None):
        self.name = name
        self.layer = layer
        self._records = records
        self._cache: dict[str, np.ndarray] = {}
        self.initial = initial
        self.steps_done = 0  # set by cell_sources: the run's steps done

    @property
    def records(self) -> Mapping:
        """The run's records of this layer or direction, by their own names (h, C, i …)."""
        return self._records

    def record(self, name: str) -> np.ndarray:
        """A record, read once (LSTM's ``pre`` is made when read)."""
        a = self._cache.get(name)
        if a is None:
            a = self._cache[name] = self._records[name]
        return a

    def has(self, name: str) -> bool:
        return name in self._records

    def state_before(self, which: int, b: int, t: int) -> np.ndarray:
        """State ``which`` (0: h, 1: C) after step t-1, the initial state (or zeros) at t = 0 (ConvLSTM: a map, in
        the layer's layout)."""
        rec = self.record(self.layer.state_record_names[which])
        if t > 0:
            return rec[b, t - 1]
        if self.initial:
            return np.asarray(self.initial[which], np.float32)[b]
        return np.zeros(rec.shape[2:], np.float32)

    def masked(self, b: int, t: int) -> bool:
        return self.has("mask") and not bool(self.record("mask")[b, t])


class _Sub(Mapping):
    """A Bidirectional run's records of one direction, without the ``forward/`` or ``backward/`` prefix."""

    def __init__(self, records: Mapping, prefix: str):
        self._r = records
        self._p = prefix

    def __getitem__(self, k):
        return self._r[self._p + k]

    def __iter__(self):
        return (k[len(self._p):] for k in self._r if k.startswith(self._p))

    def __len__(self):
        return sum(1 for _ in self)


def find_node(graph, layer: str):
    """The first call of the recurrent layer named ``layer`` (its node's qualified name or the layer's name)."""
    for node in graph.nodes:
        if isinstance(node.layer, RecurrentLayer) and (node.qualname == layer or node.layer.name == layer):
            return node
    names = [n.qualname for n in graph.nodes if isinstance(n.layer, RecurrentLayer)]
    raise ExplainError(f"no recurrent layer {layer!r} (recurrent layers: {', '.join(names) or 'none'})")


def cell_sources(stepper, node) -> dict[str, CellSource]:
    """The layer call's run as explainable sources: {"": …} for a cell layer, {"forward": …, "backward": …} for a
    Bidirectional. The stepper must record; values are read as they are now (the steps done so far)."""
    run = stepper.runs.get(node.id)
    if run is None or run.records is None:
        raise ExplainError(f"layer {node.qualname!r} has not started, or the replay does not record")
    L = node.layer
    init = [stepper.env[r] for r in node.inputs[1:]] or None
    if isinstance(L, Bidirectional):
        n = len(L.forward_layer.state_names)
        out = {}
        for d, sub, part, recs in (("forward", L.forward_layer, init[:n] if init else None, _ForwardRecords(run.records)),
                                   ("backward", L.backward_layer, init[n:] if init else None,
                                    _Sub(run.records, "backward/"))):
            out[d] = CellSource(f"{node.qualname}/{d}", sub, recs, part)
            out[d].steps_done = run.t
        return out
    src = CellSource(node.qualname, L, run.records, init)
    src.steps_done = run.t
    return {"": src}


class _ForwardRecords(_Sub):
    def __init__(self, records):
        super().__init__(records, "forward/")

    def __getitem__(self, k):
        return self._r["mask"] if k == "mask" else self._r[self._p + k]

    def __contains__(self, k):
        return (k == "mask" and "mask" in self._r) or (self._p + k) in self._r


def source_for(stepper, layer: str) -> tuple[object, CellSource]:
    """(node, source) for a layer name, ``name/forward`` or ``name/backward`` for a Bidirectional's direction."""
    base, _, direction = layer.rpartition("/") if layer.endswith(("/forward", "/backward")) else (layer, "", "")
    node = find_node(stepper.graph, base)
    sources = cell_sources(stepper, node)
    if "" in sources:
        if direction:
            raise ExplainError(f"layer {base!r} is not Bidirectional")
        return node, sources[""]
    if not direction:
        raise ExplainError(f"layer {base!r} is Bidirectional: name a direction, {base}/forward or {base}/backward")
    return node, sources[direction]


# --- the decomposition -------------------------------------------------------------------------------------------
def _kind(layer) -> str:
    for cls, kind in ((LSTM, "LSTM"), (GRU, "GRU"), (SimpleRNN, "SimpleRNN"), (ConvLSTM, "ConvLSTM")):
        if isinstance(layer, cls):
            return kind
    raise ExplainError(f"layer {layer.name!r} ({layer.class_name}) cannot be explained")


def explainable(layer) -> bool:
    """A layer of units: LSTM, GRU, SimpleRNN, or a Bidirectional around them (what the unit statistics and the
    units × time views cover). A ConvLSTM is explained too, per position: see ``has_positions``."""
    if isinstance(layer, Bidirectional):
        return explainable(layer.forward_layer) and explainable(layer.backward_layer)
    return isinstance(layer, (LSTM, GRU, SimpleRNN))


def has_positions(layer) -> bool:
    """A ConvLSTM: its values are maps, so explaining one needs a position on the layer's output grid."""
    return isinstance(layer, ConvLSTM)


def can_explain(layer) -> bool:
    """Whether ``explain`` takes this layer's values apart (a ConvLSTM's with a position)."""
    return explainable(layer) or has_positions(layer)


def targets(layer) -> tuple[str, ...]:
    """What ``explain`` takes apart for this layer: its gates, then its states."""
    if isinstance(layer, Bidirectional):
        return targets(layer.forward_layer)
    return TARGETS[_kind(layer)]


def grid(src: CellSource) -> tuple[int, ...]:
    """A ConvLSTM's output grid (its maps' spatial shape); () for a layer of units."""
    L = src.layer
    if not has_positions(L):
        return ()
    shape = src.record("h").shape[2:]
    return tuple(shape[1:]) if L.channels_first else tuple(shape[:-1])


def _check(src: CellSource, b: int, t: int, j: int, at=None) -> tuple[int, ...] | None:
    """Refuses what is not there; returns the position as a tuple of ints (None for a layer of units)."""
    x = src.record("x")
    L = src.layer
    if not 0 <= b < x.shape[0]:
        raise ExplainError(f"sample {b} is outside the batch (0…{x.shape[0] - 1})")
    if not 0 <= t < src.steps_done:
        raise ExplainError(f"step {t} is not done (steps done: {src.steps_done}, of {x.shape[1]})")
    what = "channel" if has_positions(L) else "unit"
    if not 0 <= j < L.units:
        raise ExplainError(f"{what} {j} is outside the layer (0…{L.units - 1})")
    if not has_positions(L):
        if at is not None:
            raise ExplainError(f"layer {src.name!r} ({L.class_name}) has no spatial positions: a position (--at) "
                               f"is for ConvLSTM layers")
        return None
    g = grid(src)
    axes = ("x",) if len(g) == 1 else ("y,x" if len(g) == 2 else "z,y,x",)
    if at is None:
        raise ExplainError(f"{L.class_name} layer {src.name!r} needs a position ({axes[0]}) on its {_shape(g)} grid")
    at = tuple(int(v) for v in at)
    if len(at) != len(g):
        raise ExplainError(f"position {_shape(at, ',')} has {len(at)} coordinate{'s' * (len(at) > 1)}; "
                           f"{src.name!r} is a {L.class_name}: {axes[0]} on its {_shape(g)} grid")
    if not all(0 <= v < n for v, n in zip(at, g)):
        raise ExplainError(f"position {_shape(at, ',')} is outside the {_shape(g)} grid of {src.name!r} "
                           f"({axes[0]}, 0-based)")
    return at


def _shape(v, sep="×") -> str:
    return sep.join(map(str, v))


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def explain(src: CellSource, sample: int, step: int, unit: int, gate: str, at=None) -> Explanation:
    """The decomposition of one value of ``src``'s layer (see the module's docstring); ``at`` is the position of a
    ConvLSTM's value on its output grid (and must be None for the other layers)."""
    L = src.layer
    kind = _kind(L)
    if gate not in TARGETS[kind]:
        raise ExplainError(f"{kind} layer {src.name!r} has no gate {gate!r} (choose from {', '.join(TARGETS[kind])})")
    b, t, j = sample, step, unit
    at = _check(src, b, t, j, at)
    if at is not None:
        return _conv(src, b, t, j, gate, at)
    base = dict(layer=src.name, kind=kind, sample=b, step=t, unit=j, gate=gate)
    state = (kind == "LSTM" and gate in ("C", "h")) or (kind == "GRU" and gate == "h") or kind == "SimpleRNN"

    def pick(a: np.ndarray) -> float:  # one sample-step's values at unit j
        return float(a[j])

    if state and src.masked(b, t):
        return _carried(src, base, b, t, gate, pick)
    if kind == "LSTM" and gate in ("C", "h"):
        return _lstm_state(src, base, b, t, gate, pick)
    if kind == "GRU" and gate == "h":
        z = float(src.record("z")[b, t, j])
        hh = float(src.record("h~")[b, t, j])
        hp = float(src.state_before(0, b, t)[j])
        kept, written = z * hp, (1.0 - z) * hh
        return Explanation(**base, value=float(src.record("h")[b, t, j]), pre=kept + written, activation="linear",
                           bias=0.0, x_terms=np.zeros(0), h_terms=np.zeros(0),
                           other=(("kept z⊙h_(t-1)", kept), ("written (1-z)⊙h̃", written)))
    return _gate(src, base, kind, b, t, j, gate)


def _gate(src, base, kind, b, t, j, gate) -> Explanation:
    L = src.layer
    x = _f64(src.record("x")[b, t])
    hp = _f64(src.state_before(0, b, t))
    g = "h" if gate == "hh" else gate
    w = _f64(L.gate("W", g)[:, j])
    u = _f64(L.gate("U", g)[:, j])
    bias = float(L.gate("b", g)[j]) if L.bias is not None else 0.0
    x_terms = w * x
    other: list[tuple[str, float]] = []
    h_vals = hp
    h_label, h_scale = "h_(t-1)", None
    if kind == "GRU" and gate == "hh":
        r = _f64(src.record("r")[b, t])
        if L.reset_after:  # h̃ = act(x·W_h + b_h + r ⊙ (h·U_h + bU_h))
            h_terms = r[j] * (u * hp)
            h_scale = float(r[j])
            if L.recurrent_bias is not None:
                other.append(("r⊙bU", float(r[j] * float(L.recurrent_bias[2 * L.units + j]))))
        else:  # h̃ = act(x·W_h + b_h + (r ⊙ h)·U_h)
            h_vals = r * hp
            h_terms = u * h_vals
            h_label = "(r⊙h_(t-1))"
    else:
        h_terms = u * hp
        if kind == "GRU" and L.reset_after and L.recurrent_bias is not None:
            other.append(("bU", float(L.gate("bU", g)[j])))
    pre = bias + float(np.sum(x_terms)) + float(np.sum(h_terms)) + sum(v for _, v in other)
    key = "recurrent_activation" if gate in ("i", "f", "o", "z", "r") else "activation"
    act = L.rec_act if key == "recurrent_activation" else L.act
    value = float(src.record(_RECORD.get((kind, gate), gate))[b, t, j])
    return Explanation(**base, value=value, pre=pre, activation=activation_name(L.config.get(key, _DEFAULTS[key])),
                       bias=bias, x_terms=x_terms, h_terms=h_terms, other=tuple(other), x_weights=w, x_values=x,
                       h_weights=u, h_values=h_vals, h_label=h_label, h_scale=h_scale, act=act)


_DEFAULTS = {"activation": "tanh", "recurrent_activation": "sigmoid"}


def _carried(src, base, b, t, gate, pick) -> Explanation:
    """A state at a masked step: the previous one, carried over. ``pick`` takes the value's element of one
    sample-step's array (unit j; a ConvLSTM's (position, channel))."""
    v = pick(src.record("C" if gate == "C" else "h")[b, t])
    prev = pick(src.state_before(1 if gate == "C" else 0, b, t))
    return Explanation(**base, value=v, pre=prev, activation="linear", bias=0.0, x_terms=np.zeros(0),
                       h_terms=np.zeros(0), other=(("carried", prev),), masked=True)


def _lstm_state(src, base, b, t, gate, pick) -> Explanation:
    """LSTM's (and ConvLSTM's) C = kept f⊙C_(t-1) + written i⊙c̃, and h = o·act(C); ``pick`` as in ``_carried``."""
    L = src.layer
    f, i, cc = (pick(src.record(r)[b, t]) for r in ("f", "i", "c~"))
    cp = pick(src.state_before(1, b, t))
    kept, written = f * cp, i * cc
    other = (("kept f⊙C_(t-1)", kept), ("written i⊙c̃", written))
    if gate == "C":
        return Explanation(**base, value=pick(src.record("C")[b, t]), pre=kept + written, activation="linear",
                           bias=0.0, x_terms=np.zeros(0), h_terms=np.zeros(0), other=other)
    return Explanation(**base, value=pick(src.record("h")[b, t]), pre=kept + written,
                       activation=activation_name(L.config.get("activation", "tanh")), bias=0.0,
                       x_terms=np.zeros(0), h_terms=np.zeros(0), other=other, factor=pick(src.record("o")[b, t]),
                       act=L.act)


# --- ConvLSTM: a value at a position and a channel --------------------------------------------------------------
def _conv(src: CellSource, b: int, t: int, j: int, gate: str, at: tuple[int, ...]) -> Explanation:
    L = src.layer
    cf = L.channels_first

    def value(a: np.ndarray) -> float:  # one sample-step's map at (at, j), in the layer's layout
        return float(a[(j,) + at] if cf else a[at + (j,)])

    base = dict(layer=src.name, kind="ConvLSTM", sample=b, step=t, unit=j, gate=gate, at=at)
    if gate in ("C", "h"):
        return (_carried if src.masked(b, t) else _lstm_state)(src, base, b, t, gate, value)
    x = src.record("x")[b, t]  # (*in_spatial, C) or (C, *in_spatial)
    hp = src.state_before(0, b, t)
    if cf:
        x, hp = np.moveaxis(x, 0, -1), np.moveaxis(hp, 0, -1)
    one = (1,) * L.rank
    xv, xw_ = _window(x, at, L.kernel_size, L.strides, L.dilation, L.padding)
    hv, hw_ = _window(hp, at, L.kernel_size, one, one, "same")
    w = _f64(L.gate("W", gate)[..., j])  # (*kernel, in channels)
    u = _f64(L.gate("U", gate)[..., j])  # (*kernel, filters)
    taps = tuple(range(L.rank))
    x_terms = np.sum(w * xv, axis=taps)
    h_terms = np.sum(u * hv, axis=taps)
    bias = float(L.gate("b", gate)[j]) if L.bias is not None else 0.0
    pre = bias + float(np.sum(x_terms)) + float(np.sum(h_terms))
    key = "activation" if gate == "c" else "recurrent_activation"
    return Explanation(**base, value=value(src.record(_RECORD.get(("ConvLSTM", gate), gate))[b, t]), pre=pre,
                       activation=activation_name(L.config.get(key, _DEFAULTS[key])), bias=bias, x_terms=x_terms,
                       h_terms=h_terms, x_weights=w, x_values=xv, h_weights=u, h_values=hv, x_window=xw_,
                       h_window=hw_, act=L.act if gate == "c" else L.rec_act)


def _window(a: np.ndarray, at, kernel, strides, dilation, padding) -> tuple[np.ndarray, Window]:
    """The taps of a channels_last map ``a`` (*spatial, C) that the output position ``at`` reads, float64
    (*kernel, C), zeros where a tap falls in the padding."""
    pads, _ = window_padding(a.shape[:-1], kernel, strides, dilation, padding)
    index, inside, origin = [], [], []
    for p, k, s, d, (lo, _hi), n in zip(at, kernel, strides, dilation, pads, a.shape[:-1]):
        i = p * s - lo + d * np.arange(k)
        origin.append(int(i[0]))
        inside.append((i >= 0) & (i < n))
        index.append(np.clip(i, 0, n - 1))
    vals = _f64(a[np.ix_(*index, np.arange(a.shape[-1]))])
    ok = np.ones((), bool)
    for m in inside:
        ok = np.multiply.outer(ok, m)
    vals[~ok] = 0.0
    return vals, Window(tuple(origin), tuple(int(d) for d in dilation), ok)


# --- the readout ---------------------------------------------------------------------------------------------------
def readout_dense(graph, node):
    """The Dense node that reads this recurrent layer call's h directly (through identity layers such as Dropout),
    or None. Only a cell layer's first output counts (a Bidirectional's merged output is not one unit's h)."""
    if isinstance(node.layer, (Bidirectional, ConvLSTM)):  # a merged output or maps: not one unit's h
        return None
    ref = (node.id, 0)
    for _ in range(len(graph.nodes)):
        nxt = [n for n in graph.nodes if n.inputs and n.inputs[0] == ref and len(n.inputs) == 1]
        dense = [n for n in nxt if isinstance(n.layer, Dense)]
        if dense:
            return dense[0]
        ident = [n for n in nxt if isinstance(n.layer, Identity)]
        if not ident:
            return None
        ref = (ident[0].id, 0)
    return None


def readout_output(graph, dense) -> int | None:
    """Which model output the readout Dense ``dense`` is, directly or through layers that keep its units in place
    (Dropout-like, Activation, Softmax, ReLU, …): output k's dimension j is then the Dense's unit j before those
    activations. None when the Dense feeds no model output that way."""
    from .layers.advanced_activations import PReLU, Softmax, _ActivationLayer
    from .layers.core import Activation

    keep = (Identity, Activation, _ActivationLayer, Softmax, PReLU)
    ref = (dense.id, 0)
    for _ in range(len(graph.nodes) + 1):
        if ref in graph.outputs:
            return graph.outputs.index(ref)
        nxt = [n for n in graph.nodes if n.inputs and n.inputs[0] == ref and len(n.inputs) == 1
               and isinstance(n.layer, keep)]
        if not nxt:
            return None
        ref = (nxt[0].id, 0)
    return None


def explain_readout(stepper, node, sample: int, step: int, unit: int) -> Explanation:
    """Output ``unit`` of the Dense that reads the layer's h, after step t: each unit k's W[k,o]·h_t[k]."""
    dense = readout_dense(stepper.graph, node)
    if dense is None:
        raise ExplainError(f"no Dense layer reads the h of {node.qualname!r} directly")
    src = cell_sources(stepper, node)[""]
    _check(src, sample, step, 0)
    D = dense.layer
    if not 0 <= unit < D.units:
        raise ExplainError(f"output unit {unit} is outside {D.name!r} (0…{D.units - 1})")
    h = src.record("h")[sample, step]
    w = _f64(D.kernel[:, unit])
    h_terms = w * _f64(h)
    bias = float(D.bias[unit]) if D.bias is not None else 0.0
    value = float(D.call([np.ascontiguousarray(h[None, :], dtype=np.float32)])[0][0, unit])
    return Explanation(layer=src.name, kind=_kind(node.layer), sample=sample, step=step, unit=unit, gate="y",
                       value=value, pre=bias + float(np.sum(h_terms)),
                       activation=activation_name(D.config.get("activation")), bias=bias, x_terms=np.zeros(0),
                       h_terms=h_terms, h_weights=w, h_values=_f64(h), h_label="h_t", act=D.act)


def explain_value(stepper, layer: str, sample: int, step: int, unit: int, gate: str, at=None) -> Explanation:
    """``explain`` by names: the layer (``name/forward`` for a direction) and the gate, or ``y`` for the readout;
    ``at`` the position of a ConvLSTM's value."""
    node, src = source_for(stepper, layer)
    if gate == "y" and not has_positions(src.layer):  # (a ConvLSTM has no gate y: explain refuses it)
        if at is not None:
            _check(src, sample, step, 0, at)
        return explain_readout(stepper, node, sample, step, unit)
    return explain(src, sample, step, unit, gate, at)


def activation_curve(e: Explanation, n: int = 201) -> tuple[np.ndarray, np.ndarray] | None:
    """The activation around the operating point (``pre``): (z, act(z)), wide enough to show saturation."""
    if e.act is None:
        return None
    half = max(4.0, 1.5 * abs(e.pre))
    z = np.linspace(-half, half, n).astype(np.float32)
    with np.errstate(over="ignore"):
        return z, np.asarray(e.act(z), dtype=np.float32)
