"""The open document: model, data, the selected sample, and the engine's stepper over that sample.

Views subscribe to the signals and read from here; they ask the session to move, the session asks the engine's
stepper, and every view follows ``step_changed`` (the napari pattern: one place changes, all views follow).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import QObject, Signal

import engine
from engine.inputs import Dataset
from engine.layers.recurrent import RecurrentLayer

from .loader import Loaded


class Session(QObject):
    model_changed = Signal()
    data_changed = Signal()  # sample chosen, input edited, or new data
    step_changed = Signal(int)  # steps done
    layer_changed = Signal()
    unit_changed = Signal(int)  # highlighted unit, -1 for none

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model: engine.Model | None = None
        self.data: Dataset | None = None
        self.predictions: list[np.ndarray] | None = None
        self.problem: str | None = None
        self.sample = 0
        self.sample_inputs: list[np.ndarray] | None = None  # (1, T, F) copies; edits go here
        self.stepper: engine.Stepper | None = None
        self.node_id: int | None = None  # the recurrent layer call shown in plots and weights
        self.unit = -1
        self.edited = False

    # --- loading ------------------------------------------------------------------------------------------------
    def set_loaded(self, loaded: Loaded) -> None:
        self.model = loaded.model
        self.data = loaded.data
        self.predictions = loaded.predictions
        self.problem = loaded.problem
        self.sample = 0
        self.unit = -1
        rec = self.recurrent_nodes()
        self.node_id = rec[0] if rec else None
        self._rebuild_sample()
        self.model_changed.emit()
        self.data_changed.emit()
        self.step_changed.emit(self.steps_done)

    def set_predictions(self, predictions: list[np.ndarray]) -> None:
        self.predictions = [np.array(p, copy=True) for p in predictions]
        if self.edited and self.sample_inputs is not None:  # keep a what-if edit made while predicting
            y = self.model.predict(self.sample_inputs)
            for k, yk in enumerate(y if isinstance(y, list) else [y]):
                self.predictions[k][self.sample] = yk[0]
        self.data_changed.emit()

    def recurrent_nodes(self) -> list[int]:
        if self.model is None:
            return []
        return [n.id for n in self.model.graph.nodes if isinstance(n.layer, RecurrentLayer)]

    # --- the selected sample ------------------------------------------------------------------------------------
    @property
    def batch(self) -> int:
        return 0 if self.data is None else self.data.batch

    def set_sample(self, i: int) -> None:
        if self.data is None or not 0 <= i < self.batch or i == self.sample:
            return
        keep = self.steps_done
        self.sample = i
        self._rebuild_sample(keep)
        self.data_changed.emit()
        self.step_changed.emit(self.steps_done)

    def set_input_value(self, t: int, f: int, value: float, input_index: int = 0) -> None:
        """What-if: change one input value of the sample; the replay is redone up to the same step."""
        if self.sample_inputs is None:
            return
        x = self.sample_inputs[input_index]
        # f counts the flattened features of step t (an image sequence's step is a whole frame, as the table shows it)
        x[(0, t) + np.unravel_index(f, x.shape[2:])] = value
        self.edited = True
        keep = self.steps_done
        self._restep(keep)
        if self.predictions is not None and self.model is not None and self.problem is None:
            y = self.model.predict(self.sample_inputs)
            for k, yk in enumerate(y if isinstance(y, list) else [y]):
                self.predictions[k][self.sample] = yk[0]
        self.data_changed.emit()
        self.step_changed.emit(self.steps_done)

    def reset_edits(self) -> None:
        self.edited = False
        if self.data is not None and self.model is not None and self.problem is None:
            y = self.model.predict(self.data.inputs)
            self.predictions = y if isinstance(y, list) else [y]
        self._rebuild_sample(self.steps_done)
        self.data_changed.emit()
        self.step_changed.emit(self.steps_done)

    def _rebuild_sample(self, keep_steps: int = 0) -> None:
        self.edited = False
        if self.data is None:
            self.sample_inputs = None
        else:
            self.sample_inputs = [np.array(x[self.sample:self.sample + 1], copy=True) for x in self.data.inputs]
        self._restep(keep_steps)

    def _restep(self, keep_steps: int) -> None:
        self.stepper = None
        if self.model is not None and self.sample_inputs is not None and self.problem is None:
            self.stepper = self.model.stepper(self.sample_inputs, record=True, readout=True)
            self.stepper.seek(keep_steps)

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
            self.layer_changed.emit()
            self.step_changed.emit(self.steps_done)

    def set_unit(self, unit: int) -> None:
        if unit != self.unit:
            self.unit = unit
            self.unit_changed.emit(unit)

    @property
    def layer(self) -> RecurrentLayer | None:
        if self.model is None or self.node_id is None:
            return None
        return self.model.graph.nodes[self.node_id].layer

    def records(self) -> Mapping[str, np.ndarray] | None:
        """The selected layer's per-step arrays for the sample (batch axis dropped), or None before it starts.
        Each is read from the run when asked for (a view; LSTM's ``pre`` is gathered then)."""
        if self.stepper is None or self.node_id is None:
            return None
        run = self.stepper.runs.get(self.node_id)
        if run is None or run.records is None:
            return None
        return _FirstSample(run.records)

    # --- traces --------------------------------------------------------------------------------------------------
    def trace_inputs(self, whole_batch: bool) -> list[np.ndarray] | None:
        """What a trace export replays: the sample as shown (edits included), or every sample of the data with
        the sample's edits in place."""
        if self.model is None or self.problem is not None or self.sample_inputs is None:
            return None
        if not whole_batch:
            return [x.copy() for x in self.sample_inputs]
        xs = [np.array(x, copy=True) for x in self.data.inputs]
        for x, edited in zip(xs, self.sample_inputs):
            x[self.sample] = edited[0]
        return xs

    def trace_bytes(self, whole_batch: bool) -> int:
        """About how big a trace of the sample, or of the whole batch, is: the sample's records times the batch."""
        if self.stepper is None:
            return 0
        per_sample = sum(a.nbytes for run in self.stepper.runs.values() if run.records is not None
                         for a in dict(run.records).values())
        return per_sample * (self.batch if whole_batch else 1)

    def layer_reads_model_input(self) -> bool:
        """Whether the selected layer's step t reads the model input's timestep t (through per-timestep layers
        such as Masking or Dropout only), so input rows and layer steps correspond."""
        if self.model is None or self.node_id is None:
            return False
        nodes = self.model.graph.nodes
        ref = nodes[self.node_id].inputs[0]
        while not nodes[ref[0]].is_input:
            layer = nodes[ref[0]].layer
            if not layer.timewise or layer.recurrent:
                return False
            ref = nodes[ref[0]].inputs[0]
        return True

    def layer_steps_done(self) -> int:
        if self.stepper is None or self.node_id is None:
            return 0
        run = self.stepper.runs.get(self.node_id)
        return 0 if run is None else run.t

    def readout_series(self, output: int = 0) -> np.ndarray | None:
        """(steps, dims) of output ``output`` read out after each step so far, NaN where undefined."""
        if self.stepper is None or not self.stepper.readouts:
            return None
        vals = [r[output] for r in self.stepper.readouts]
        dims = next((v.reshape(-1).size for v in vals if v is not None), None)
        if dims is None:
            return None
        out = np.full((len(vals), dims), np.nan, np.float32)
        for k, v in enumerate(vals):
            if v is not None and v.reshape(-1).size == dims:
                out[k] = v.reshape(-1)
        return out

    def keras_difference(self) -> float | None:
        """Max |replay − Keras| over the batch, when the data carries Keras' own outputs (and inputs are unedited)."""
        if self.predictions is None or self.data is None or not self.data.keras_outputs:
            return None
        ks = self.data.keras_outputs
        if len(ks) != len(self.predictions) or any(a.shape != b.shape for a, b in zip(ks, self.predictions)):
            return None
        return float(max(np.max(np.abs(a - b)) for a, b in zip(ks, self.predictions)))


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
