"""Reading input arrays for the CLI and the GUI: .npy, .npz (x_0, x_1, … or the only array) and .csv."""
from __future__ import annotations

import os
import zipfile

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


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Like load_inputs, and from an .npz also the targets (``y_test``/``y``/``targets``) and Keras' outputs
    (``y_keras``, or ``y_0``, ``y_1`` … as the test fixtures store them)."""
    spath = os.fspath(path)
    if not spath.lower().endswith(".npz"):
        return Dataset(load_inputs(spath), source=spath)
    try:
        with np.load(spath, allow_pickle=False) as z:
            keys = list(z.keys())
            if "x_test" in keys:
                inputs = [np.asarray(z["x_test"])]
            else:
                inputs = None
            targets = next((np.asarray(z[k]) for k in ("y_test", "y", "targets") if k in keys), None)
            if "y_keras" in keys:
                keras = [np.asarray(z["y_keras"])]
            else:
                ys = sorted((k for k in keys if k.startswith("y_") and k[2:].isdigit()), key=lambda k: int(k[2:]))
                keras = [np.asarray(z[k]) for k in ys] or None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ModelFileError(spath, f"cannot be read as an input array ({type(e).__name__})") from None
    if inputs is None:
        inputs = load_inputs(spath)
    return Dataset(inputs, targets, keras, source=spath)


def random_dataset(input_shapes: list[tuple], batch: int = 8, steps: int = 20, seed: int = 0) -> Dataset:
    """Standard-normal inputs shaped for the model (``steps`` where the time axis is free)."""
    rng = np.random.RandomState(seed)
    xs = []
    for shape in input_shapes:
        dims = [batch] + [steps if d is None else d for d in shape[1:]]
        xs.append(rng.standard_normal(dims).astype(np.float32))
    return Dataset(xs, source="random")
