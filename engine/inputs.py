"""Reading input arrays for the CLI and the GUI: .npy, .npz (x_0, x_1, … or the only array) and .csv."""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import numpy as np

from .errors import ModelFileError

MAX_INPUT_BYTES = 4 * 1024**3


def load_inputs(path: str | os.PathLike) -> list[np.ndarray]:
    """Arrays from a file, never unpickling; errors are ModelFileError naming the file."""
    spath = os.fspath(path)
    if not os.path.isfile(spath):
        raise ModelFileError(spath, "no such file")
    if os.path.getsize(spath) > MAX_INPUT_BYTES:
        raise ModelFileError(spath, "input file is larger than 4 GB")
    ext = os.path.splitext(spath)[1].lower()
    try:
        if ext == ".csv":
            a = np.loadtxt(spath, delimiter=",", dtype=np.float32, ndmin=2)
            return [a[:, :, None]]  # (batch, time) of one feature
        if ext == ".npz":
            with np.load(spath, allow_pickle=False) as z:
                keys = list(z.keys())
                xs = sorted((k for k in keys if k.startswith("x_")), key=lambda k: int(k[2:]) if k[2:].isdigit() else 0)
                if not xs:
                    xs = ["x"] if "x" in keys else keys[:1] if len(keys) == 1 else []
                if not xs:
                    raise ModelFileError(spath, f"npz has no arrays named x_0, x_1, … (has {keys[:5]})")
                return [np.asarray(z[k]) for k in xs]
        arr = np.load(spath, allow_pickle=False)
        if isinstance(arr, np.lib.npyio.NpzFile):
            arr.close()
            raise ModelFileError(spath, "is an .npz archive; name it .npz")
        return [np.asarray(arr)]
    except ModelFileError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ModelFileError(spath, f"cannot be read as an input array ({str(e).splitlines()[0][:100] if str(e) else type(e).__name__})") from None


class Dataset:
    """Inputs for a model, with the truth (targets) and Keras' own outputs when the file carries them."""

    def __init__(self, inputs: list[np.ndarray], targets: np.ndarray | None = None, keras_outputs: list[np.ndarray] | None = None,
                 source: str = ""):
        self.inputs = inputs
        self.targets = targets
        self.keras_outputs = keras_outputs
        self.source = source

    @property
    def batch(self) -> int:
        return int(self.inputs[0].shape[0])


# .npz keys, first match wins (documented in the README)
INPUT_KEYS = ("x_test", "x")  # or x_0, x_1, … for several inputs, or the only array of the archive
TARGET_KEYS = ("y_true", "y_test", "y", "targets")
KERAS_KEYS = ("y_keras",)  # or y_0, y_1, … (one per model output, as the test fixtures store them)


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Like load_inputs, and also the targets and Keras' outputs: from an .npz by key (``TARGET_KEYS``,
    ``KERAS_KEYS`` or ``y_0``, ``y_1`` …), and next to an ``X….npy`` / ``.csv`` from ``y….npy`` (the truth) and
    ``y…_keras.npy`` (Keras' predictions), e.g. ``X_test.npy`` with ``y_test.npy`` and ``y_test_keras.npy``."""
    spath = os.fspath(path)
    if not spath.lower().endswith(".npz"):
        inputs = load_inputs(spath)
        y_path = sibling_targets(spath)
        targets = keras = None
        if y_path is not None:
            targets = _one_array(y_path)
            k_path = os.path.splitext(y_path)[0] + "_keras.npy"
            if os.path.isfile(k_path):
                keras = [_one_array(k_path)]
        return Dataset(inputs, targets, keras, source=spath)
    try:
        with np.load(spath, allow_pickle=False) as z:
            keys = list(z.keys())
            inputs = next(([np.asarray(z[k])] for k in INPUT_KEYS if k in keys and "x_0" not in keys), None)
            targets = next((np.asarray(z[k]) for k in TARGET_KEYS if k in keys), None)
            keras = next(([np.asarray(z[k])] for k in KERAS_KEYS if k in keys), None)
            if keras is None:
                ys = sorted((k for k in keys if k.startswith("y_") and k[2:].isdigit()), key=lambda k: int(k[2:]))
                keras = [np.asarray(z[k]) for k in ys] or None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ModelFileError(spath, f"cannot be read as an input array ({type(e).__name__})") from None
    if inputs is None:
        inputs = load_inputs(spath)
    return Dataset(inputs, targets, keras, source=spath)


def sibling_targets(path: str) -> str | None:
    """``y.npy`` next to ``X.npy`` (``X_test.npy`` → ``y_test.npy``, ``x.csv`` → ``y.npy``), if it exists."""
    folder, name = os.path.split(path)
    stem = os.path.splitext(name)[0]
    if not stem or stem[0] not in "xX" or (len(stem) > 1 and stem[1] not in "_-."):
        return None
    for first in ("y", "Y"):
        cand = os.path.join(folder, first + stem[1:] + ".npy")
        if os.path.isfile(cand):
            return cand
    return None


def _one_array(path: str) -> np.ndarray:
    arrays = load_inputs(path)
    return arrays[0]


def load_targets(path: str | os.PathLike) -> np.ndarray:
    """The truth for a batch: an .npy, a .csv (one row per sample), or an .npz by ``TARGET_KEYS`` (or its only
    array)."""
    spath = os.fspath(path)
    if spath.lower().endswith(".npz"):
        arrays = _npz_arrays(spath)
        for k in TARGET_KEYS:
            if k in arrays:
                return arrays[k]
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        raise ModelFileError(spath, f"npz has no array named {', '.join(TARGET_KEYS)} (has {list(arrays)[:5]})")
    if spath.lower().endswith(".csv"):
        return load_inputs(spath)[0][:, :, 0]
    return _one_array(spath)


def load_keras_outputs(path: str | os.PathLike) -> list[np.ndarray]:
    """Keras' own predictions, one array per model output: an .npy (one output), or an .npz with ``y_keras``,
    ``y_0``, ``y_1`` … or ``output_0``, ``output_1`` … (what ``predict`` writes), or its only array."""
    spath = os.fspath(path)
    if not spath.lower().endswith(".npz"):
        return [_one_array(spath)]
    arrays = _npz_arrays(spath)
    if "y_keras" in arrays:
        return [arrays["y_keras"]]
    for prefix in ("y_", "output_"):
        ks = sorted((k for k in arrays if k.startswith(prefix) and k[len(prefix):].isdigit()),
                    key=lambda k: int(k[len(prefix):]))
        if ks:
            return [arrays[k] for k in ks]
    if len(arrays) == 1:
        return list(arrays.values())
    raise ModelFileError(spath, f"npz has no arrays named y_keras, y_0, … or output_0, … (has {list(arrays)[:5]})")


def _npz_arrays(spath: str) -> dict[str, np.ndarray]:
    if not os.path.isfile(spath):
        raise ModelFileError(spath, "no such file")
    if os.path.getsize(spath) > MAX_INPUT_BYTES:
        raise ModelFileError(spath, "file is larger than 4 GB")
    try:
        with np.load(spath, allow_pickle=False) as z:
            return {k: np.asarray(z[k]) for k in z.keys()}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ModelFileError(spath, f"cannot be read as arrays ({type(e).__name__})") from None


@dataclass
class InputSpec:
    """What values an input takes: floats, or integer token ids in [0, high) when it feeds an Embedding."""

    name: str
    shape: tuple
    dtype: str
    high: int | None = None  # token ids: one past the largest (the smallest vocabulary of the Embeddings fed)

    @property
    def integer(self) -> bool:
        return self.high is not None or "int" in self.dtype


def input_specs(graph) -> list[InputSpec]:
    """Each model input's shape, dtype and, when it feeds an Embedding directly, the range of its token ids."""
    specs = []
    for nid in graph.inputs:
        layer = graph.nodes[nid].layer
        vocab = [int(n.layer.input_dim) for n in graph.nodes
                 if not n.is_input and getattr(n.layer, "class_name", "") == "Embedding"
                 and any(r[0] == nid for r in n.inputs)]
        specs.append(InputSpec(layer.name, tuple(layer.shape), str(layer.dtype), min(vocab) if vocab else None))
    return specs


def random_dataset(input_shapes: list[tuple], batch: int = 8, steps: int = 20, seed: int = 0,
                   specs: list[InputSpec] | None = None) -> Dataset:
    """Inputs shaped for the model (``steps`` where the time axis is free): standard-normal floats, or token ids
    drawn uniformly from [1, high) (0 is Keras' padding id) for an input that feeds an Embedding."""
    rng = np.random.RandomState(seed)
    xs = []
    for k, shape in enumerate(input_shapes):
        dims = [batch] + [steps if d is None else d for d in shape[1:]]
        spec = specs[k] if specs is not None else None
        if spec is not None and spec.integer:
            high = spec.high if spec.high is not None else 10
            lo = 1 if high > 1 else 0
            dtype = np.dtype(spec.dtype) if "int" in spec.dtype else np.dtype(np.int32)
            xs.append(rng.randint(lo, high, size=dims).astype(dtype))
        else:
            xs.append(rng.standard_normal(dims).astype(np.float32))
    return Dataset(xs, source="random")
