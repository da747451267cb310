"""Opening a model (and its input data) off the GUI thread: a QRunnable whose small QObject carries the signals."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Signal

import engine
from engine.inputs import Dataset, input_specs, load_dataset, random_dataset
from engine.limits import DEFAULT, Limits


@dataclass
class Loaded:
    model: engine.Model
    data: Dataset
    predictions: list[np.ndarray] | None  # model.predict over the whole batch, None if the model cannot run
    problem: str | None  # why the model cannot run (unsupported layer), shown in the window


def open_model(model_path: str, input_path: str | None = None, cancel=None, limits: Limits = DEFAULT,
               dtype=np.float32) -> Loaded:
    """What opening needs before the first paint: the model and its inputs. Raises ModelFileError.

    The file is read in a child process (the window never runs libhdf5 on it); ``cancel.is_set()`` kills that
    process. Predictions over the whole batch come after (``predict_batch``), so a large model paints first.
    ``dtype`` float64 opens the model as an exact reference (the whole replay in float64). ``limits``: the window's
    memory budget (File ▸ Memory budget)."""
    model = engine.load_model(model_path, strict=False, limits=limits, cancel=cancel, dtype=dtype)
    if model.graph.unbuilt:  # no input shape: nothing to draw inputs for, nothing to run
        return Loaded(model, Dataset([np.zeros((1, 0), np.float32)], source="none"), None, model.unbuilt_reason)
    data = load_dataset(input_path, limits) if input_path else random_data(model)
    return _finish(model, data)


def _finish(model: engine.Model, data: Dataset) -> Loaded:
    problem = None
    if model.graph.unbuilt:
        problem = model.unbuilt_reason
    elif model.unsupported:
        bad = model.unsupported[0]
        problem = f"layer {bad.name!r}: {bad.reason}"
    else:
        try:  # the shapes are checked here, in the worker, so a wrong input file is refused like a bad model;
            # over the whole batch, so that a message names the file's shape, not one sample's
            engine.stepper.check_inputs(model.graph, data.inputs)
            for spec, x in zip(input_specs(model.graph), data.inputs):
                if spec.high is not None and x.size and (x.min() < 0 or x.max() >= spec.high):
                    raise engine.FormatError(f"input {spec.name!r} holds token ids {x.min():g}..{x.max():g}; the "
                                             f"Embedding it feeds takes ids in [0, {spec.high - 1}]")
        except engine.FormatError as e:
            raise engine.ModelFileError(data.source or "input", str(e)) from None
    return Loaded(model, data, None, problem)


def reopen(model: engine.Model, data: Dataset, dtype, limits: Limits = DEFAULT) -> Loaded:
    """The open model again, computing in ``dtype`` (float64: the exact reference), over the same data."""
    return _finish(engine.load_model(model.path, strict=False, dtype=dtype, limits=limits), data)


def predict_batch(model: engine.Model, data: Dataset) -> list[np.ndarray]:
    """The model's outputs for every sample (the batch plots and the comparison with Keras)."""
    y = model.predict(data.inputs)
    return y if isinstance(y, list) else [y]


def predict_batches(model: engine.Model, data: Dataset) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """``predict_batch``; for an exact-reference (float64) model also the float32 replay's outputs, which are what
    is compared with Keras (and with the exact ones: how much rounding this model amplifies)."""
    preds = predict_batch(model, data)
    if model.dtype == np.float32:
        return preds, None
    return preds, predict_batch(engine.load_model(model.path, strict=False), data)


def write_trace(model: engine.Model, inputs: list[np.ndarray], path: str) -> str:
    """Replay ``inputs`` recording every step and write the trace to ``path`` (.npz); returns the path."""
    trace = model.trace(inputs)
    try:
        trace.save_npz(path)
    except OSError as e:
        raise engine.ModelFileError(path, f"cannot write ({e.strerror or e})") from None
    return path


def write_trace_h5(model: engine.Model, inputs: list[np.ndarray], path: str, chunk: int | None = None,
                   progress=None, cancelled=None) -> str | None:
    """The trace of every sample written to an HDF5 file chunk by chunk (engine/streaming.py: memory stays one
    chunk; progress and cancel between chunks); returns the path, or None when cancelled (no file is left)."""
    from engine.streaming import Cancelled, trace_to_h5

    try:
        return trace_to_h5(model, inputs, path, chunk=chunk, progress=progress, cancelled=cancelled)
    except Cancelled:
        return None
    except OSError as e:
        raise engine.ModelFileError(path, f"cannot write ({e.strerror or e})") from None


class _Signals(QObject):
    finished = Signal(object)  # Loaded
    failed = Signal(str)  # one-line message


class LoadTask(QRunnable):
    """Runs ``fn(*args)`` on a worker thread; the result or the one-line error comes back as a signal."""

    def __init__(self, fn, *args):
        super().__init__()
        self.fn = fn
        self.args = args
        self.signals = _Signals()
        self.setAutoDelete(True)

    def run(self):
        try:
            result = self.fn(*self.args)
        except engine.ModelFileError as e:
            self.signals.failed.emit(str(e))
        except engine.FormatError as e:
            self.signals.failed.emit(str(e))
        except MemoryError:
            self.signals.failed.emit("not enough memory to open this model")
        except Exception as e:  # a bug, not bad input: still never kill the window
            self.signals.failed.emit(f"unexpected error: {type(e).__name__}: {e}")
        else:
            try:
                self.signals.finished.emit(result)
            except RuntimeError:  # the window that asked has been closed and deleted: nobody to tell
                pass


def open_data(model: engine.Model, input_path: str | None, limits: Limits = DEFAULT) -> Loaded:
    """New input data for an open model (a file, or random when no path)."""
    data = load_dataset(input_path, limits) if input_path else random_data(model, seed=np.random.randint(1 << 30))
    return _finish(model, data)


def random_data(model: engine.Model, seed: int = 0) -> Dataset:
    """Random inputs of the model's own kinds: floats, or token ids in [0, vocabulary) for an Embedding."""
    return random_dataset(model.input_shapes, seed=seed, specs=input_specs(model.graph))
