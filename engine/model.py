"""The loaded model: layers, weights, and the forward pass (through the stepper)."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np

from .errors import FormatError, ModelFileError, ModelRunError
from .graph import Graph, UnsupportedLayer, build_graph
from .layers.recurrent import RecurrentLayer
from .limits import DEFAULT, Limits
from .model_file import FORMAT_LABELS, read_model_file
from .nonfinite import NonFinite, nonfinite_weights
from .parallel import cores
from .reader_process import Cancel, read_isolated
from .shape_budget import check_run
from .stepper import Schedule, Stepper, check_inputs, make_schedule
from .trace import Trace, build_trace, concatenate_traces


@dataclass
class Model:
    path: str
    format: str
    keras_version: str
    graph: Graph
    #: the float type the replay computes in: float32 as Keras, or float64 for an exact reference
    dtype: np.dtype = np.dtype(np.float32)
    limits: Limits = DEFAULT

    def __post_init__(self):
        self._schedule: Schedule | None = None
        self._within_budget: set = set()

    # --- description -------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.format, self.format)

    @property
    def layers(self):
        return self.graph.layers

    @property
    def recurrent_layers(self) -> list[RecurrentLayer]:
        return [l for l in self.layers if isinstance(l, RecurrentLayer)]

    @property
    def unsupported(self) -> list[UnsupportedLayer]:
        return [l for l in self.layers if isinstance(l, UnsupportedLayer)]

    @property
    def input_shapes(self) -> list[tuple]:
        return [self.graph.nodes[i].layer.shape for i in self.graph.inputs]

    @property
    def output_shapes(self) -> list:
        return [self.graph.nodes[n].output_shapes[k] if self.graph.nodes[n].output_shapes else None for n, k in self.graph.outputs]

    def layer(self, name: str):
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)

    @property
    def nonfinite(self) -> list[NonFinite]:
        """Weight blocks holding NaN or ±inf (a diverged model), per layer and gate; empty for a sound model."""
        if not hasattr(self, "_nonfinite"):
            self._nonfinite = nonfinite_weights(self.layers)
        return self._nonfinite

    def param_count(self) -> int:
        return sum(l.param_count() for l in self.layers)

    # --- running -----------------------------------------------------------------------------------------------
    @property
    def unbuilt_reason(self) -> str | None:
        """Why nothing can run when the file holds the architecture only (saved before it was built)."""
        from .graph import UnbuiltLayer

        return UnbuiltLayer.REASON if self.graph.unbuilt else None

    def _check_runnable(self) -> None:
        if self.graph.unbuilt:
            raise FormatError(self.unbuilt_reason)
        bad = self.unsupported
        if bad:
            raise bad[0].error

    @property
    def schedule(self) -> Schedule:
        if self._schedule is None:
            self._schedule = make_schedule(self.graph)
        return self._schedule

    def _inputs(self, x, record: bool = False) -> list[np.ndarray]:
        """The inputs checked against the model's input shapes, and every layer output they imply against the
        activation budget (before anything is allocated)."""
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        xs = check_inputs(self.graph, xs, self.dtype)
        key = (tuple(x.shape for x in xs), record)
        if key not in self._within_budget:  # shapes alone decide: checked once per input shape
            check_run(self.graph, xs, record=record, limits=self.limits, item=self.dtype.itemsize)
            self._within_budget.add(key)
        return xs

    def stepper(self, x, record: bool = True, readout: bool = True) -> Stepper:
        self._check_runnable()
        xs = self._inputs(x, record)
        with _run_errors():
            return Stepper(self.graph, xs, record=record, readout=readout, schedule=self.schedule)

    def widest_recurrent(self) -> int:
        """Units of the widest recurrent layer (0 without any): what decides whether a batch is split."""
        return max((l.units for l in self.recurrent_layers), default=0)

    def _run_parts(self, xs: list[np.ndarray], record: bool):
        """Run to the end over ``xs``; a big batch is cut into parts run side by side (engine/parallel.py).
        Returns one finished stepper per part, in batch order."""
        self._check_runnable()
        c = cores()
        parts = c.batch_parts(xs[0].shape[0], self.widest_recurrent())

        def run(a: int, b: int) -> Stepper:
            part = xs if len(parts) == 1 else [x[a:b] for x in xs]
            st = Stepper(self.graph, part, record=record, readout=record, schedule=self.schedule)
            st.run()
            return st

        return c.run_parts(run, parts)

    def predict(self, x):
        """What Keras' ``model.predict(x)`` returns: an array, or a list of arrays for several outputs.

        The stepper run to the end; a big batch runs as parts on every core, each part the same stepper."""
        self._check_runnable()
        xs = self._inputs(x)
        with _run_errors():
            steppers = self._run_parts(xs, record=False)
        if len(steppers) == 1:
            outs = steppers[0].outputs()
        else:
            outs = [np.concatenate(ys) for ys in zip(*(st.outputs() for st in steppers))]
        return outs[0] if len(outs) == 1 else outs

    def trace(self, x) -> Trace:
        """Every recurrent layer's gates and states at every step, and the readouts, for the whole batch ``x``
        (batch × T × units per array: trace the samples you want to see)."""
        self._check_runnable()
        xs = self._inputs(x, record=True)
        with _run_errors():
            steppers = self._run_parts(xs, record=True)
        return concatenate_traces([build_trace(st) for st in steppers])


@contextlib.contextmanager
def _run_errors():
    """A config value that passed every check at load can still make NumPy fail while running (an axis out of range
    for the actual rank, shapes that do not broadcast): one line naming the error, never a traceback."""
    try:
        yield
    except FormatError:
        raise
    except (ValueError, IndexError, TypeError, ArithmeticError, KeyError) as e:
        detail = " ".join(str(e).split())[:160]
        raise ModelRunError(f"the model cannot run on this input ({type(e).__name__}: {detail})") from None


def load_model(path: str | os.PathLike, strict: bool = True, *, limits: Limits = DEFAULT, cancel: Cancel | None = None,
               isolated: bool = True, dtype=np.float32) -> Model:
    """Open a Keras model file. Any problem raises ModelFileError whose message is ``<path>: <reason>``.

    With ``strict=False`` unsupported layers become placeholders (shown, never run) instead of errors.
    The file is read in a child process under ``limits`` (engine/reader_process.py); ``cancel.is_set()`` kills it.
    ``isolated=False`` reads it in this process instead: only for files known to be sound (the reader's own tests).
    ``dtype=np.float64`` runs the whole model in float64 (the weights as stored, widened exactly): an exact
    reference for how far float32 rounding moves this model's outputs.
    ``limits`` also bounds what the config, and later the inputs, may make the engine allocate (engine/limits.py).
    """
    spath = os.fspath(path)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, not {dtype}")
    try:
        raw = read_isolated(spath, limits, cancel) if isolated else read_model_file(spath, limits)
        if dtype != np.float32:
            _widen(raw.weights.values(), dtype)
        graph = build_graph(raw.config, raw.weights, raw.keras_version, strict=strict, limits=limits)
    except FormatError as e:
        raise ModelFileError(spath, str(e)) from None
    except RecursionError:
        raise ModelFileError(spath, "model config is nested too deeply") from None
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
        raise ModelFileError(spath, f"malformed model config ({type(e).__name__}: {str(e)[:80]})") from None
    except MemoryError:
        raise ModelFileError(spath, "not enough memory to read the weights") from None
    return Model(path=spath, format=raw.format, keras_version=raw.keras_version, graph=graph, dtype=dtype, limits=limits)


def _widen(groups, dtype: np.dtype) -> None:
    """Every float weight as ``dtype``, in place in the (not yet interpreted) weight groups."""
    for g in groups:
        g.arrays = [(n, a.astype(dtype) if a.dtype.kind == "f" else a) for n, a in g.arrays]
        _widen(g.parts.values(), dtype)
        _widen(g.layers.values(), dtype)
