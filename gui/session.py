"""The open document, and the one source of truth for everything the window shows.

It holds the model, the data (inputs, targets, Keras' outputs), the what-if edits of every sample, the choices
(sample, layer, direction, output and dimension, shown input, unit) and the engine's stepper over the selected
sample; every number a view draws is read from here (``predictions``, ``final``, ``readout_series``, ``records``,
``layer_times``, ``keras_difference``, …). Views subscribe to the signals, ask the session to change, and after any
change read it again (the napari pattern: one place changes, all views follow). No view keeps its own copy.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import QObject, Signal

import engine
from engine.activations import activation_name
from engine.compare import max_abs_diff
from engine.inputs import Dataset, InputSpec, input_specs
from engine.layers.conv_lstm import ConvLSTM
from engine.layers.recurrent import RecurrentLayer

from .loader import Loaded

F32_MAX = float(np.finfo(np.float32).max)


class Session(QObject):
    model_changed = Signal()
    data_changed = Signal()  # sample chosen, input edited or undone, new data, targets or Keras outputs, output chosen
    step_changed = Signal(int)  # steps done
    layer_changed = Signal()  # another layer chosen
    direction_changed = Signal()  # the other direction of a Bidirectional layer chosen
    unit_changed = Signal(int)  # highlighted unit, -1 for none
    unit_order_changed = Signal()  # the units' order (and top-N filter) every heatmap and table of the layer uses

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model: engine.Model | None = None
        self.data: Dataset | None = None
        self.batch_readouts = None  # engine.readouts.BatchReadouts of the data as shown, set by the window's task
        self.problem: str | None = None
        self.specs: list[InputSpec] = []
        self.sample = 0
        self.sample_inputs: list[np.ndarray] | None = None  # (1, T, F) inputs of the sample, edits included
        self.stepper: engine.Stepper | None = None
        self.node_id: int | None = None  # the recurrent layer call shown in plots and weights
        self.direction: str | None = None  # "forward" / "backward" of a Bidirectional layer, else None
        self.output = 0  # the model output the batch plots and the readout show
        self.dim = 0  # and its dimension (the class, for a softmax)
        self.input_index = 0  # the input shown in the table
        self.unit = -1
        #: the units shown, in the order shown (row/column r of every heatmap and table is unit unit_order[r]);
        #: None: every unit in Keras' order. Chosen in the Units × time tab, read by every view.
        self.unit_order: np.ndarray | None = None
        self._base: list[np.ndarray] | None = None  # predictions over the data as loaded (no edits)
        #: with the exact reference on (a float64 model): the float32 replay's outputs over the data as loaded,
        #: which are what is compared with Keras (Keras computes in float32)
        self._base32: list[np.ndarray] | None = None
        self._edits: dict[int, list[np.ndarray]] = {}  # sample -> its inputs with edits, (1, …) each
        self._edit_preds: dict[int, list[np.ndarray]] = {}  # sample -> its outputs for those inputs, (1, …) each

    # --- loading ------------------------------------------------------------------------------------------------
    def set_loaded(self, loaded: Loaded) -> None:
        self.model = loaded.model
        self.data = loaded.data
        self.problem = loaded.problem
        self.specs = input_specs(loaded.model.graph)
        self._base = None if loaded.predictions is None else [np.array(p, copy=True) for p in loaded.predictions]
        self._base32 = None
        self._edits.clear()
        self._edit_preds.clear()
        self.sample = 0
        self.unit = -1
        self.unit_order = None
        self.output = self.dim = 0
        rec = self.recurrent_nodes()
        self.node_id = rec[0] if rec else None
        self.direction = self._default_direction()
        self.input_index = max(self.layer_input_index(), 0)
        self._rebuild_sample()
        self.model_changed.emit()
        self.data_changed.emit()
        self.step_changed.emit(self.steps_done)

    def set_predictions(self, predictions: list[np.ndarray], predictions32: list[np.ndarray] | None = None) -> None:
        """The engine's predictions over the data as loaded (computed off the GUI thread); edits stay applied.
        With the exact reference on, ``predictions`` are the float64 ones and ``predictions32`` the float32 ones."""
        self._base = [np.array(p, copy=True) for p in predictions]
        self._base32 = None if predictions32 is None else [np.array(p, copy=True) for p in predictions32]
        self.data_changed.emit()

    @property
    def predictions32(self) -> list[np.ndarray] | None:
        """With the exact reference on: the float32 replay's outputs over the data as loaded (else None)."""
        return self._base32

    @property
    def exact(self) -> bool:
        """The replay runs in float64, as an exact reference."""
        return self.model is not None and self.model.dtype == np.float64

    def set_targets(self, targets: np.ndarray) -> None:
        """The truth for the batch (File ▸ Open targets…); raises FormatError when it does not fit the batch."""
        targets = np.asarray(targets)
        if self.data is None:
            return
        if targets.ndim == 0 or targets.shape[0] != self.batch:
            raise engine.FormatError(f"targets have shape {targets.shape}: the batch has {self.batch} samples")
        if targets.dtype.kind not in "fiub":
            raise engine.FormatError(f"targets are not numeric (dtype {targets.dtype})")
        self.data.targets = targets
        self.data_changed.emit()

    def set_keras_outputs(self, outputs: list[np.ndarray]) -> None:
        """Keras' own predictions for the batch (File ▸ Open Keras outputs…); raises FormatError when they do not
        match the model's outputs."""
        if self.data is None or self.model is None:
            return
        outputs = [np.asarray(o) for o in outputs]
        n = len(self.model.graph.outputs)
        if len(outputs) != n:
            raise engine.FormatError(f"{len(outputs)} arrays, the model has {n} output{'s' if n > 1 else ''}")
        for k, (o, shape) in enumerate(zip(outputs, self.model.output_shapes)):
            if o.ndim == 0 or o.shape[0] != self.batch:
                raise engine.FormatError(f"output {k} has shape {o.shape}: the batch has {self.batch} samples")
            if self._base is not None:  # the replay's own outputs say best what shape Keras' must have
                if o.shape != self._base[k].shape:
                    raise engine.FormatError(f"output {k} has shape {o.shape}, the model gives {self._base[k].shape}")
            elif shape is not None and (len(shape) != o.ndim or any(
                    want is not None and want != got for want, got in zip(shape[1:], o.shape[1:]))):
                raise engine.FormatError(f"output {k} has shape {o.shape}, the model gives {_fmt(shape)}")
        self.data.keras_outputs = outputs
        self.data_changed.emit()

    def recurrent_nodes(self) -> list[int]:
        if self.model is None:
            return []
        return [n.id for n in self.model.graph.nodes if isinstance(n.layer, RecurrentLayer)]

    # --- the selected sample and its edits ---------------------------------------------------------------------
    @property
    def batch(self) -> int:
        return 0 if self.data is None else self.data.batch

    @property
    def edited(self) -> bool:
        """Whether the selected sample has edits."""
        return self.sample in self._edits

    @property
    def edited_samples(self) -> list[int]:
        return sorted(self._edits)

    def edit_signature(self) -> tuple:
        """Which samples are edited and to what (hashes of their inputs): it changes whenever any edit does."""
        return tuple((i, tuple(hash(x.tobytes()) for x in xs)) for i, xs in sorted(self._edits.items()))

    def set_sample(self, i: int) -> None:
        """Another sample; the edits of every sample are kept (and come back with it)."""
        if self.data is None or not 0 <= i < self.batch or i == self.sample:
            return
        keep = self.steps_done
        self.sample = i
        self._rebuild_sample(keep)
        self.data_changed.emit()
        self.step_changed.emit(self.steps_done)

    def check_value(self, value, input_index: int | None = None) -> tuple[float | int | None, str | None]:
        """(the value as the input stores it, None) or (None, why it is refused): a float that float32 holds, or
        a token id in the Embedding's range."""
        k = self.input_index if input_index is None else input_index
        spec = self.specs[k] if k < len(self.specs) else None
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None, f"{value!r} is not a number"
        if not np.isfinite(v):
            return None, "NaN and infinity are not valid inputs"
        if spec is not None and spec.integer:
            if v != int(v):
                return None, f"{spec.name!r} holds integer token ids: {value} is not an integer"
            if spec.high is not None and not 0 <= v < spec.high:
                return None, f"token ids of {spec.name!r} are in [0, {spec.high - 1}]: {int(v)} is out of range"
            return int(v), None
        if abs(v) > F32_MAX:
            return None, f"{value} does not fit in float32 (largest {F32_MAX:.4g})"
        return v, None

    def set_input_value(self, t: int, f: int, value, input_index: int | None = None) -> str | None:
        """What-if: change one input value of the sample; the replay is redone up to the same step, and the
        sample's prediction follows. Returns why a value is refused (nothing changes then), else None."""
        if self.sample_inputs is None or self.problem is not None:
            return "no model to replay"
        k = self.input_index if input_index is None else input_index
        v, why = self.check_value(value, k)
        if why is not None:
            return why
        inputs = [x.copy() for x in self.sample_inputs]
        flat = inputs[k].reshape(1, inputs[k].shape[1], -1) if inputs[k].ndim > 1 else inputs[k].reshape(1, -1, 1)
        flat[0, t, f] = v
        try:
            y = self.model.predict(inputs)
        except engine.FormatError as e:
            return str(e)
        self._edits[self.sample] = inputs
        self._edit_preds[self.sample] = y if isinstance(y, list) else [y]
        self.sample_inputs = inputs
        self._restep(self.steps_done)
        self.data_changed.emit()
        self.step_changed.emit(self.steps_done)
        return None

    def reset_edits(self) -> None:
        """Undo the edits of the selected sample."""
        self._edits.pop(self.sample, None)
        self._edit_preds.pop(self.sample, None)
        self._rebuild_sample(self.steps_done)
        self.data_changed.emit()
        self.step_changed.emit(self.steps_done)

    def _rebuild_sample(self, keep_steps: int = 0) -> None:
        if self.data is None:
            self.sample_inputs = None
        elif self.sample in self._edits:
            self.sample_inputs = self._edits[self.sample]
        else:
            self.sample_inputs = [np.array(x[self.sample:self.sample + 1], copy=True) for x in self.data.inputs]
        self._restep(keep_steps)

    def _restep(self, keep_steps: int) -> None:
        self.stepper = None
        if self.model is not None and self.sample_inputs is not None and self.problem is None:
            self.stepper = self.model.stepper(self.sample_inputs, record=True, readout=True)
            self.stepper.seek(keep_steps)

    def current_inputs(self) -> list[np.ndarray] | None:
        """Every sample's inputs as the window replays them: the data with every sample's edits in place."""
        if self.data is None:
            return None
        if not self._edits:
            return list(self.data.inputs)
        xs = [np.array(x, copy=True) for x in self.data.inputs]
        for i, edited in self._edits.items():
            for x, e in zip(xs, edited):
                x[i] = e[0]
        return xs

    # --- predictions, truth and Keras' outputs over the batch ------------------------------------------------------
    @property
    def predictions(self) -> list[np.ndarray] | None:
        """The replay's outputs for every sample as shown (edits included), one array per model output; None until
        the batch prediction has come back."""
        if self._base is None:
            return None
        if not self._edit_preds:
            return self._base
        out = [np.array(p, copy=True) for p in self._base]
        for i, ys in self._edit_preds.items():
            for p, y in zip(out, ys):
                p[i] = y[0]
        return out

    def output_labels(self) -> list[str]:
        if self.model is None:
            return []
        labels = []
        for k, ((nid, _), shape) in enumerate(zip(self.model.graph.outputs, self.model.output_shapes)):
            labels.append(f"{k}: {self.model.graph.nodes[nid].layer.name} {_fmt(shape) if shape else ''}".strip())
        return labels

    def output_dims(self, output: int | None = None) -> int:
        """How many values the final prediction of an output has per sample (its dimensions, or classes)."""
        k = self.output if output is None else output
        preds = self.predictions
        if preds is not None and k < len(preds):
            return int(_final(preds[k]).shape[1])
        shape = self.model.output_shapes[k] if self.model is not None and k < len(self.model.output_shapes) else None
        if not shape:
            return 1
        rest = shape[2:] if len(shape) >= 3 else shape[1:]
        return int(np.prod([d or 1 for d in rest])) if rest else 1

    def output_is_softmax(self, output: int | None = None) -> bool:
        k = self.output if output is None else output
        if self.model is None or k >= len(self.model.graph.outputs):
            return False
        layer = self.model.graph.nodes[self.model.graph.outputs[k][0]].layer
        config = getattr(layer, "config", None)
        return isinstance(config, dict) and activation_name(config.get("activation")) == "softmax"

    def set_output(self, output: int, dim: int = 0) -> None:
        """Which output, and which of its dimensions (class), the batch plots and the readout show."""
        if self.model is None:
            return
        output = max(0, min(output, len(self.model.graph.outputs) - 1))
        dim = max(0, min(dim, self.output_dims(output) - 1))
        if (output, dim) != (self.output, self.dim):
            self.output, self.dim = output, dim
            self.data_changed.emit()
            self.step_changed.emit(self.steps_done)

    def final(self, arrays: list[np.ndarray] | None) -> np.ndarray | None:
        """(batch,) the chosen output and dimension at the last step (a sequence output's last timestep)."""
        if arrays is None or self.output >= len(arrays):
            return None
        y = _final(arrays[self.output])
        return y[:, self.dim] if self.dim < y.shape[1] else None

    def replay_final(self) -> np.ndarray | None:
        """(batch,) the replay's final prediction of the chosen output and dimension, edits included."""
        return self.final(self.predictions)

    def keras_final(self) -> np.ndarray | None:
        """(batch,) Keras' own final prediction of the chosen output and dimension, when the data carries it."""
        if self.data is None or not self.data.keras_outputs:
            return None
        ks = self.data.keras_outputs
        preds = self.predictions
        if preds is not None and (len(ks) != len(preds) or ks[self.output].shape != preds[self.output].shape):
            return None
        return self.final(ks)

    def target_final(self) -> np.ndarray | None:
        """(batch,) the truth for the chosen output and dimension, when targets are loaded and fit that output:
        shaped like the output (its last step is taken) or like its final prediction."""
        if self.data is None or self.data.targets is None:
            return None
        tg = np.asarray(self.data.targets)
        if tg.shape[0] != self.batch:
            return None
        preds = self.predictions
        shape = preds[self.output].shape if preds is not None and self.output < len(preds) else None
        if shape is not None and tg.shape == shape:
            y = _final(tg)
        else:
            y = tg.reshape(tg.shape[0], -1)
            if y.shape[1] != self.output_dims():
                return None
        return y[:, self.dim].astype(np.float32) if self.dim < y.shape[1] else None

    def target_of_sample(self) -> float | None:
        t = self.target_final()
        return None if t is None else float(t[self.sample])

    def keras_difference(self) -> float | None:
        """Max |replay − Keras| over every output and every sample without edits (an edited sample has no Keras
        output to compare with); None without Keras' outputs, or when every sample is edited. NaN where Keras has
        NaN counts as equal (a diverged model). With the exact reference on, the float32 replay's difference."""
        preds = self._base32 if self.exact else self.predictions
        if preds is None or self.data is None or not self.data.keras_outputs:
            return None
        return self._kept_difference(self.data.keras_outputs, preds)

    def _kept(self) -> np.ndarray | None:
        keep = np.ones(self.batch, bool)
        keep[list(self._edits)] = False
        return keep if keep.any() else None

    def _kept_difference(self, a: list[np.ndarray], b: list[np.ndarray]) -> float | None:
        """Max |a − b| over the samples without edits (NaN/inf equal where both hold the same)."""
        keep = self._kept()
        if keep is None or len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
            return None
        return max(max_abs_diff(x[keep], y[keep]) for x, y in zip(a, b))

    def exact_differences(self) -> tuple[float, float | None] | None:
        """With the exact reference on: (max |float32 replay − exact|, max |Keras − exact| or None without Keras'
        outputs), over the samples without edits: how much float32 rounding this model amplifies, in the replay
        and in Keras itself."""
        if not self.exact or self._base is None or self._base32 is None:
            return None
        mine = self._kept_difference(self._base32, self._base)
        if mine is None:
            return None
        ks = self.data.keras_outputs if self.data is not None else None
        return mine, (self._kept_difference(ks, self._base) if ks else None)

    def as_close_to_exact_as_keras(self) -> bool | None:
        """With the exact reference on and Keras' outputs at hand: is the float32 replay's rounding no worse than
        Keras' own (root mean square distance to exact within 1.5x)? On an ill-conditioned model the largest
        difference is one sample's luck; its typical size is what both float32 computations share."""
        ex = self.exact_differences()
        if ex is None or ex[1] is None:
            return None
        keep = self._kept()

        def rms(a, b):
            d = np.concatenate([(np.asarray(x[keep], np.float64) - y[keep]).ravel() for x, y in zip(a, b)])
            d = d[np.isfinite(d)]
            return float(np.sqrt(np.mean(d * d))) if d.size else 0.0

        return rms(self._base32, self._base) <= 1.5 * rms(self.data.keras_outputs, self._base) + 1e-12

    # --- moving -------------------------------------------------------------------------------------------------
    @property
    def steps_done(self) -> int:
        return 0 if self.stepper is None else self.stepper.step_index

    @property
    def total_steps(self) -> int:
        return 0 if self.stepper is None else self.stepper.total_steps()

    def seek(self, n: int) -> None:
        if self.stepper is None:
            return
        n = max(0, min(n, self.total_steps))
        if n == self.stepper.step_index:
            return
        self.stepper.seek(n)
        self.step_changed.emit(self.stepper.step_index)

    def step(self) -> None:
        self.seek(self.steps_done + 1)

    def back(self) -> None:
        self.seek(self.steps_done - 1)

    def reset(self) -> None:
        self.seek(0)

    def to_end(self) -> None:
        self.seek(self.total_steps)

    # --- selection ----------------------------------------------------------------------------------------------
    def set_node(self, node_id: int) -> None:
        if node_id != self.node_id and node_id in self.recurrent_nodes():
            self.node_id = node_id
            self.unit = -1
            self.unit_order = None  # another layer's units
            self.direction = self._default_direction()
            k = self.layer_input_index()
            if k >= 0:
                self.input_index = k  # the table shows the input this layer reads, with its row marked
            self.layer_changed.emit()
            self.data_changed.emit()
            self.step_changed.emit(self.steps_done)

    def directions(self) -> list[str]:
        layer = self.layer
        return [d for d in ("forward", "backward") if hasattr(layer, f"{d}_layer")]

    def _default_direction(self) -> str | None:
        ds = self.directions()
        return ds[0] if ds else None

    def set_direction(self, direction: str) -> None:
        if direction != self.direction and direction in self.directions():
            self.direction = direction
            self.unit_order = None  # the other direction's statistics order its units anew
            self.direction_changed.emit()
            self.step_changed.emit(self.steps_done)

    def set_input_index(self, k: int) -> None:
        if self.data is not None and 0 <= k < len(self.data.inputs) and k != self.input_index:
            self.input_index = k
            self.data_changed.emit()
            self.step_changed.emit(self.steps_done)

    def set_unit(self, unit: int) -> None:
        if unit != self.unit:
            self.unit = unit
            self.unit_changed.emit(unit)

    def set_unit_order(self, order) -> None:
        """Show the units ``order`` (real unit indices, a permutation or its first N), or None for all in Keras'
        order. An order that does not fit the shown layer is ignored."""
        units = self.shown_units_count()
        if order is not None:
            order = np.asarray(order, np.int64)
            if order.ndim != 1 or (order.size and (order.min() < 0 or order.max() >= units)) \
                    or len(np.unique(order)) != order.size:
                return
            if order.size == units and np.array_equal(order, np.arange(units)):
                order = None
        same = (order is None and self.unit_order is None) or (
            order is not None and self.unit_order is not None and np.array_equal(order, self.unit_order))
        if not same:
            self.unit_order = None if order is None else order.copy()
            self.unit_order_changed.emit()

    def shown_units_count(self) -> int:
        layer = self.shown_layer
        return int(getattr(layer, "units", 0) or 0) if layer is not None else 0

    def units_shown(self, units: int | None = None) -> np.ndarray:
        """The units every view shows, in order (row r is unit ``units_shown()[r]``)."""
        n = self.shown_units_count() if units is None else units
        o = self.unit_order
        if o is None or (o.size and o.max() >= n):
            return np.arange(n)
        return o

    @property
    def layer(self) -> RecurrentLayer | None:
        if self.model is None or self.node_id is None:
            return None
        return self.model.graph.nodes[self.node_id].layer

    @property
    def shown_layer(self):
        """The layer whose units the plots show: one direction of a Bidirectional layer, else the layer."""
        layer = self.layer
        return getattr(layer, f"{self.direction}_layer", layer) if self.direction else layer

    @property
    def prefix(self) -> str:
        """Record-name prefix of the shown direction ("backward/"), empty for a plain layer."""
        return f"{self.direction}/" if self.direction else ""

    @property
    def shows_maps(self) -> bool:
        """Whether the selected layer's gates and states are maps (ConvLSTM), shown by the Maps tab."""
        return isinstance(self.layer, ConvLSTM)

    def gate_names(self) -> tuple[str, ...]:
        if self.shows_maps:
            return ()
        names = tuple(getattr(self.layer, "gate_record_names", ())) if self.layer is not None else ()
        return tuple(n for n in names if n.startswith(self.prefix))

    def state_names(self) -> tuple[str | None, str | None]:
        """(cell state, hidden state) record names of the shown layer or direction; None where it has none."""
        if self.shows_maps:
            return None, None
        names = set(getattr(self.layer, "state_record_names", ())) if self.layer is not None else set()
        p = self.prefix
        return (p + "C" if p + "C" in names else None), (p + "h" if p + "h" in names else None)

    def records(self) -> Mapping[str, np.ndarray] | None:
        """The selected layer's per-step arrays for the sample (batch axis dropped), or None before it starts.
        Each is read from the run when asked for (a view; LSTM's ``pre`` is gathered then)."""
        if self.stepper is None or self.node_id is None:
            return None
        run = self.stepper.runs.get(self.node_id)
        if run is None or run.records is None:
            return None
        return _FirstSample(run.records)

    # --- time: one notion of t ----------------------------------------------------------------------------------
    def layer_input_index(self) -> int:
        """Which model input the selected layer's step t reads (through per-timestep layers such as Masking or
        Dropout only), so that input rows and the layer's t correspond; -1 when it reads something else."""
        if self.model is None or self.node_id is None:
            return -1
        nodes = self.model.graph.nodes
        ref = nodes[self.node_id].inputs[0]
        while not nodes[ref[0]].is_input:
            layer = nodes[ref[0]].layer
            if not layer.timewise or layer.recurrent:
                return -1
            ref = nodes[ref[0]].inputs[0]
        return self.model.graph.inputs.index(ref[0])

    def layer_reads_model_input(self) -> bool:
        return self.layer_input_index() >= 0

    def layer_steps_done(self) -> int:
        if self.stepper is None or self.node_id is None:
            return 0
        run = self.stepper.runs.get(self.node_id)
        return 0 if run is None else run.t

    def layer_T(self) -> int:
        """Length of the selected layer's input sequence (known once its stage starts, else from the input)."""
        if self.stepper is not None and self.node_id in self.stepper.runs:
            return int(self.stepper.runs[self.node_id].T)
        x = self.sample_inputs[0] if self.sample_inputs else None
        return int(x.shape[1]) if x is not None and x.ndim > 1 else 0

    @property
    def backwards(self) -> bool:
        """Whether the shown layer (or direction) reads its input from the last timestep to the first."""
        return bool(getattr(self.shown_layer, "go_backwards", False))

    def layer_times(self) -> np.ndarray:
        """t of each step the shown layer has done, in processing order: t is the timestep of the layer's input
        sequence it read (T−1, T−2, … for go_backwards and the backward direction), the same t as the input
        table's rows and the status bar."""
        n = self.layer_steps_done() if self.records() is not None else 0
        k = np.arange(n)
        return (self.layer_T() - 1 - k) if self.backwards else k

    def current_t(self) -> int:
        """The t the shown layer read at its latest step; -1 before its first step."""
        times = self.layer_times()
        return int(times[-1]) if times.size else -1

    def current_row(self) -> int:
        """The row of the shown input table being read, -1 when the layer does not read that input."""
        return self.current_t() if self.layer_input_index() == self.input_index else -1

    def masked_times(self) -> np.ndarray:
        """t of the steps the shown layer skipped (Keras masking), in input order."""
        rec = self.records()
        steps = self.layer_steps_done()
        mask = None if rec is None else rec.get(self.prefix + "mask", rec.get("mask"))
        if mask is None:
            return np.zeros(0, np.int64)
        k = np.flatnonzero(~np.asarray(mask[:steps], bool))
        return (self.layer_T() - 1 - k) if self.backwards else k

    def masked_steps(self) -> np.ndarray:
        """Global step indices (0-based, as the readout's x axis) of the steps the shown layer skipped."""
        rec = self.records()
        steps = self.layer_steps_done()
        mask = None if rec is None else rec.get(self.prefix + "mask", rec.get("mask"))
        if mask is None or self.stepper is None:
            return np.zeros(0, np.int64)
        k = np.flatnonzero(~np.asarray(mask[:steps], bool))
        stage = self.stepper.schedule.final_stage.get(self.node_id, 1)
        offset = sum(st.T for st in self.stepper.stages if st.index < stage)
        return k + offset

    def step_detail(self) -> str:
        """What the status bar says about the step: the stage, and the t the shown layer read (with its order)."""
        st = self.stepper
        if st is None:
            return ""
        n = self.steps_done
        many = len(st.stages) > 1
        stage = st.stage_log[n - 1][0] if n > 0 and st.stage_log else None
        head = f"stage {stage}, " if many and stage is not None else ""
        if n == 0:
            return head + "before the first step"
        t = self.current_t()
        if t < 0:
            return head + f"{self.layer.name} has not started"
        order = " (backwards)" if self.backwards else ""
        return head + f"t = {t}{order}"

    # --- readout ------------------------------------------------------------------------------------------------
    def readout_series(self, output: int | None = None) -> np.ndarray | None:
        """(steps, dims) of output ``output`` (default: the chosen one) read out after each step so far, NaN where
        undefined."""
        k = self.output if output is None else output
        if self.stepper is None or not self.stepper.readouts:
            return None
        vals = [r[k] if k < len(r) else None for r in self.stepper.readouts]
        dims = next((v.reshape(-1).size for v in vals if v is not None), None)
        if dims is None:
            return None
        out = np.full((len(vals), dims), np.nan, np.float32)
        for i, v in enumerate(vals):
            if v is not None and v.reshape(-1).size == dims:
                out[i] = v.reshape(-1)
        return out

    # --- traces --------------------------------------------------------------------------------------------------
    def trace_inputs(self, whole_batch: bool) -> list[np.ndarray] | None:
        """What a trace export replays: the sample as shown (edits included), or every sample with its edits."""
        if self.model is None or self.problem is not None or self.sample_inputs is None:
            return None
        if not whole_batch:
            return [x.copy() for x in self.sample_inputs]
        return [np.array(x, copy=True) for x in self.current_inputs()]

    def trace_bytes(self, whole_batch: bool) -> int:
        """About how big a trace of the sample, or of the whole batch, is: the sample's records times the batch."""
        if self.stepper is None:
            return 0
        per_sample = sum(a.nbytes for run in self.stepper.runs.values() if run.records is not None
                         for a in dict(run.records).values())
        return per_sample * (self.batch if whole_batch else 1)


def _final(y: np.ndarray) -> np.ndarray:
    """(batch, values) of an output at its last step: a sequence output's (batch, T, …) last timestep."""
    y = np.asarray(y)
    if y.ndim >= 3:
        y = y[:, -1]
    return y.reshape(y.shape[0], -1)


def _fmt(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


class _FirstSample(Mapping):
    """A run's records with the batch axis dropped (the session's stepper holds one sample), read when asked for."""

    def __init__(self, records: Mapping[str, np.ndarray]):
        self._records = records

    def __getitem__(self, name: str) -> np.ndarray:
        return self._records[name][0]

    def __iter__(self):
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)
