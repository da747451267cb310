"""Keras Bidirectional: a forward and a backward copy of a recurrent layer over the same input, merged.

Both directions advance together, one step per ``step()``: at processing step t the forward layer reads timestep
t and the backward layer timestep T−1−t. Keras flips the backward output sequence back into time order before
merging (``return_sequences``), so a merged output at time t needs the whole sequence: the layer is not causal
(the stepper feeds it the whole input) and its outputs are known only at the end (``steps_output = False``).

Records: ``forward/<name>`` and ``backward/<name>`` for every record of the wrapped layer, indexed by processing
step (so ``backward/h[:, t]`` is the backward state after reading timestep T−1−t); with a mask, ``mask`` is the
forward direction's (batch, T) mask in time order and ``backward/mask`` the backward one in its processing order.
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..weights import WeightGroup
from .base import LAYER_TYPES, BuildContext, Layer, register, unsupported
from .conv_lstm import ConvLSTM
from .recurrent import GateSlice, Records, RecurrentLayer, RecurrentRun

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _sub_spec(spec, what: str, name: str) -> tuple[str, dict]:
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) or not isinstance(spec.get("config"), dict):
        raise FormatError(f"layer {name!r} (Bidirectional) has no valid {what} config")
    return spec["class_name"], dict(spec["config"])


@register("Bidirectional")
class Bidirectional(RecurrentLayer):
    causal = False
    steps_output = False
    go_backwards = False

    def __init__(self, name, class_name, config, ctx: BuildContext):
        Layer.__init__(self, name, class_name, config, ctx)
        self.merge_mode = config.get("merge_mode", "concat")
        if self.merge_mode not in MERGE_MODES:
            raise FormatError(f"layer {name!r}: unknown merge_mode {self.merge_mode!r}")
        f_cls, f_cfg = _sub_spec(config.get("layer"), "layer", name)
        if config.get("backward_layer") is not None:
            b_cls, b_cfg = _sub_spec(config.get("backward_layer"), "backward_layer", name)
        else:
            b_cls, b_cfg = f_cls, dict(f_cfg)
            b_cfg["go_backwards"] = not bool(f_cfg.get("go_backwards", False))
        for c in (f_cls, b_cls):
            cls = LAYER_TYPES.get(c)
            # ConvLSTM: maps, not vectors, would have to be merged (not implemented: refused by name)
            if cls is None or not issubclass(cls, RecurrentLayer) or cls is Bidirectional or issubclass(cls, ConvLSTM):
                raise unsupported(f"Bidirectional({c})", name)
        arrays = ctx.weights.all_arrays()
        n_f = 2 + (1 if f_cfg.get("use_bias", True) else 0)
        # Keras forces zero outputs at masked steps of both directions when returning sequences
        for cfg in (f_cfg, b_cfg):
            cfg["zero_output_for_mask"] = bool(f_cfg.get("return_sequences", False))
        self.forward_layer: RecurrentLayer = LAYER_TYPES[f_cls](
            f"{name}/forward", f_cls, f_cfg, BuildContext(ctx.keras_version, WeightGroup("forward", arrays[:n_f])))
        self.backward_layer: RecurrentLayer = LAYER_TYPES[b_cls](
            f"{name}/backward", b_cls, b_cfg, BuildContext(ctx.keras_version, WeightGroup("backward", arrays[n_f:])))
        fw, bw = self.forward_layer, self.backward_layer
        if fw.return_sequences != bw.return_sequences or fw.return_state != bw.return_state:
            raise FormatError(f"layer {name!r}: forward and backward layers disagree on return_sequences/return_state")
        if self.merge_mode in ("sum", "mul", "ave") and fw.units != bw.units:
            # Keras fails there too, when it first calls the layer (the two outputs do not broadcast)
            raise FormatError(f"layer {name!r}: merge_mode {self.merge_mode!r} needs both directions to have the same "
                              f"units (forward {fw.units}, backward {bw.units})")
        self.return_sequences = fw.return_sequences
        self.return_state = fw.return_state
        self.stateful = fw.stateful or bw.stateful
        self.units = fw.units + bw.units if self.merge_mode == "concat" else fw.units
        self.zero_output_for_mask = self.return_sequences
        self.notes = tuple(dict.fromkeys(fw.notes + bw.notes))
        self.n_states = len(fw.state_names) + len(bw.state_names)
        self.n_outputs = (2 if self.merge_mode is None else 1) + (self.n_states if self.return_state else 0)
        self.gate_names = tuple(f"forward/{g}" for g in fw.gate_names) + tuple(f"backward/{g}" for g in bw.gate_names)
        self.record_names = tuple(f"forward/{r}" for r in fw.record_names) + tuple(f"backward/{r}" for r in bw.record_names)
        self.gate_record_names = tuple(f"forward/{g}" for g in fw.gate_record_names) + tuple(
            f"backward/{g}" for g in bw.gate_record_names)
        self.state_record_names = tuple(f"forward/{s}" for s in fw.state_record_names) + tuple(
            f"backward/{s}" for s in bw.state_record_names)
        self.state_names = tuple(f"forward/{s}" for s in fw.state_names) + tuple(f"backward/{s}" for s in bw.state_names)

    @property
    def input_features(self) -> int:
        return self.forward_layer.input_features

    def weight_arrays(self):
        return ([(f"forward/{n}", a) for n, a in self.forward_layer.weight_arrays()]
                + [(f"backward/{n}", a) for n, a in self.backward_layer.weight_arrays()])

    @property
    def dtype(self) -> np.dtype:
        return self.forward_layer.dtype

    def gate_slices(self) -> list[GateSlice]:
        return ([GateSlice(s.matrix, f"forward/{s.gate}", s.array) for s in self.forward_layer.gate_slices()]
                + [GateSlice(s.matrix, f"backward/{s.gate}", s.array) for s in self.backward_layer.gate_slices()])

    def describe(self):
        d = {"merge_mode": str(self.merge_mode), "forward": self.forward_layer.class_name,
             "backward": self.backward_layer.class_name, "units": str(self.forward_layer.units)}
        if self.return_sequences:
            d["return_sequences"] = "yes"
        if self.return_state:
            d["return_state"] = "yes"
        return d

    def output_shape(self, input_shapes):
        b, t = input_shapes[0][0], input_shapes[0][1]
        fu, bu = self.forward_layer.units, self.backward_layer.units
        def seq(u):
            return (b, t, u) if self.return_sequences else (b, u)
        outs = [seq(fu), seq(bu)] if self.merge_mode is None else [seq(fu + bu if self.merge_mode == "concat" else fu)]
        if self.return_state:
            outs += [(b, fu)] * len(self.forward_layer.state_names) + [(b, bu)] * len(self.backward_layer.state_names)
        return outs

    def compute_mask(self, inputs, masks):
        m = masks[0] if masks and self.return_sequences else None
        n_seq = 2 if self.merge_mode is None else 1
        return [m] * n_seq + [None] * (self.n_outputs - n_seq)

    def begin(self, batch, T, x_full=None, initial_state=None, record=False, mask=None, stepped_mask=False):
        return BidirectionalRun(self, batch, T, x_full, initial_state, record, mask)

    def start(self, batch, T, x_full=None, initial_state=None, record=False):
        return BidirectionalRun(self, batch, T, x_full, initial_state, record, None)

    def merge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        mode = self.merge_mode
        if mode == "concat":
            return np.concatenate([a, b], axis=-1)
        if mode == "sum":
            return a + b
        if mode == "mul":
            return a * b
        if mode == "ave":
            return ((a + b) / a.dtype.type(2)).astype(a.dtype, copy=False)
        raise AssertionError(mode)


class BidirectionalRun(RecurrentRun):
    def __init__(self, layer: Bidirectional, batch, T, x_full, initial_state, record, mask):
        if x_full is None:
            raise FormatError(f"layer {layer.name!r} (Bidirectional) needs its whole input sequence")
        self.layer = layer
        self.T = T
        fw, bw = layer.forward_layer, layer.backward_layer
        init_f = init_b = None
        if initial_state:
            n = len(fw.state_names)
            init_f, init_b = list(initial_state[:n]), list(initial_state[n:])
        self.fw = fw.begin(batch, T, x_full=x_full, initial_state=init_f, record=record, mask=mask)
        self.bw = bw.begin(batch, T, x_full=x_full, initial_state=init_b, record=record, mask=mask)
        self.seq = None
        self.records = None
        if record:
            self.records = Records()
            for prefix, run in (("forward", self.fw), ("backward", self.bw)):
                self.records.add_prefixed(prefix, run.records)
            if "forward/mask" in self.records:
                self.records["mask"] = self.records.pop("forward/mask")

    @property
    def t(self) -> int:
        return self.fw.t

    def step(self, x_t=None, mask_t=None):
        self.fw.step()
        self.bw.step()

    def states(self):
        return list(self.fw.states()) + list(self.bw.states())

    def last_step(self):
        """Both directions' (``RecurrentRun.last_step``), as ``forward/<name>`` and ``backward/<name>`` (masks
        included: ``forward/mask``, ``backward/mask``)."""
        f, b = self.fw.last_step(), self.bw.last_step()
        if f is None or b is None:
            return None
        return {**{f"forward/{k}": v for k, v in f.items()}, **{f"backward/{k}": v for k, v in b.items()}}

    def set_states(self, states):
        n = len(self.fw.states())
        self.fw.set_states(states[:n])
        self.bw.set_states(states[n:])

    def current_outputs(self):
        L = self.layer
        yf = self.fw.current_outputs()
        yb = self.bw.current_outputs()
        a, b = yf[0], yb[0]
        if L.return_sequences:
            b = b[:, ::-1]
        out = [a, np.ascontiguousarray(b)] if L.merge_mode is None else [L.merge(a, b)]
        if L.return_state:
            out += list(yf[1:]) + list(yb[1:])
        return out
