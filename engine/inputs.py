"""Reading input arrays for the CLI and the GUI: .npy, .npz (x_0, x_1, … or the only array) and .csv."""
from __future__ import annotations

import os
import warnings
import zipfile
from dataclasses import dataclass

import numpy as np

from .errors import ModelFileError
from .limits import DEFAULT, Limits
from .shape_budget import fmt_bytes

MAX_INPUT_BYTES = DEFAULT.max_input_bytes


def _npy_header(fh) -> tuple[tuple, np.dtype]:
    """The shape and dtype an .npy stream declares, read from its header alone (no data)."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise ValueError(f".npy format version {version} is not supported")
    return tuple(shape), np.dtype(dtype)


def _check_declared(spath: str, what: str, shape: tuple, dtype: np.dtype, limits: Limits, available: int | None) -> None:
    """Refuse an array whose header declares more than the budget, or more than the bytes that hold it."""
    if dtype.hasobject:
        raise ModelFileError(spath, f"cannot be read as an input array ({what} holds Python objects, never unpickled)")
    n = 1
    for d in shape:
        n *= int(d)
    nbytes = n * dtype.itemsize
    if nbytes > limits.max_input_bytes:
        raise ModelFileError(spath, f"{what} declares shape {shape} of {dtype}: {fmt_bytes(nbytes)}, more than the "
                                    f"{fmt_bytes(limits.max_input_bytes)} input budget")
    if available is not None and nbytes > available:
        raise ModelFileError(spath, f"{what} declares shape {shape} ({fmt_bytes(nbytes)}) but holds only "
                                    f"{fmt_bytes(available)}: the file is truncated or corrupt")


def _check_npy(spath: str, limits: Limits) -> None:
    size = os.path.getsize(spath)
    with open(spath, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            return  # not .npy (np.load then says what it is)
        fh.seek(0)
        shape, dtype = _npy_header(fh)
        _check_declared(spath, "the array", shape, dtype, limits, size - fh.tell())


def _check_npz(spath: str, limits: Limits) -> None:
    """Every member's declared size and compression ratio, and the array its header declares, before any member is
    decompressed (zipfile never inflates past a member's declared size, so these bound what np.load reads)."""
    with zipfile.ZipFile(spath) as z:
        infos = z.infolist()
        if len(infos) > 10_000:
            raise ModelFileError(spath, f"npz holds {len(infos)} members; refusing")
        total = 0
        for info in infos:
            total += info.file_size
            name = "member " + repr(info.filename[:60])
            if info.file_size > limits.max_input_bytes or total > 4 * limits.max_input_bytes:
                raise ModelFileError(spath, f"{name} declares {fmt_bytes(info.file_size)} decompressed, more than the "
                                            f"{fmt_bytes(limits.max_input_bytes)} input budget")
            if info.file_size > (64 << 20) and info.file_size > limits.max_input_ratio * max(info.compress_size, 1):
                raise ModelFileError(spath, f"{name} would expand {info.file_size // max(info.compress_size, 1)} times "
                                            f"(a zip bomb?); refusing")
            if info.filename.endswith(".npy"):
                with z.open(info) as fh:
                    head = fh.read(6)
                    if head != b"\x93NUMPY":
                        continue
                    stream = _Prefixed(head, fh)
                    shape, dtype = _npy_header(stream)
                    _check_declared(spath, name, shape, dtype, limits, info.file_size - stream.pos)


class _Prefixed:
    """A stream whose first bytes were already read (np.lib.format reads the magic again)."""

    def __init__(self, head: bytes, fh):
        self.head, self.fh, self.pos = head, fh, 0

    def read(self, n: int = -1) -> bytes:
        out = b""
        if self.pos < len(self.head):
            out = self.head[self.pos:self.pos + n if n >= 0 else None]
            self.pos += len(out)
            n = n - len(out) if n >= 0 else n
        if n != 0:
            rest = self.fh.read(n)
            self.pos += len(rest)
            out += rest
        return out


def _load_csv(spath: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "input contained no data" and the like: our one-line error, not NumPy's
        try:
            a = np.loadtxt(spath, delimiter=",", dtype=np.float32, ndmin=2)
        except UserWarning:
            raise ModelFileError(spath, "the CSV file holds no rows") from None
    if a.size == 0:
        raise ModelFileError(spath, "the CSV file holds no rows")
    return a


def load_inputs(path: str | os.PathLike, limits: Limits = DEFAULT) -> list[np.ndarray]:
    """Arrays from a file, never unpickling; errors are ModelFileError naming the file.

    Sizes are checked before anything is decoded: an .npy header, every .npz member's declared size, ratio and
    header, against ``limits.max_input_bytes``."""
    spath = os.fspath(path)
    if not os.path.isfile(spath):
        raise ModelFileError(spath, "no such file")
    if os.path.getsize(spath) > limits.max_input_bytes:
        raise ModelFileError(spath, f"input file is larger than the {fmt_bytes(limits.max_input_bytes)} input budget")
    ext = os.path.splitext(spath)[1].lower()
    try:
        if ext == ".csv":
            return [_load_csv(spath)[:, :, None]]  # (batch, time) of one feature
        with open(spath, "rb") as fh:
            is_zip = fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")  # what np.load takes for an .npz
        if ext == ".npz" or is_zip:
            _check_npz(spath, limits)
            if ext != ".npz":
                raise ModelFileError(spath, "is an .npz archive; name it .npz")
            with np.load(spath, allow_pickle=False) as z:
                keys = list(z.keys())
                xs = sorted((k for k in keys if k.startswith("x_")), key=lambda k: int(k[2:]) if k[2:].isdigit() else 0)
                if not xs:
                    xs = ["x"] if "x" in keys else keys[:1] if len(keys) == 1 else []
                if not xs:
                    raise ModelFileError(spath, f"npz has no arrays named x_0, x_1, … (has {keys[:5]})")
                return [np.asarray(z[k]) for k in xs]
        _check_npy(spath, limits)
        arr = np.load(spath, allow_pickle=False)
        return [np.asarray(arr)]
    except ModelFileError:
        raise
    except MemoryError:
        raise ModelFileError(spath, "not enough memory to read this input") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, NotImplementedError, RuntimeError) as e:
        detail = str(e).splitlines()[0][:100] if str(e) else type(e).__name__
        raise ModelFileError(spath, f"cannot be read as an input array ({detail})") from None


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


def load_dataset(path: str | os.PathLike, limits: Limits = DEFAULT) -> Dataset:
    """Like load_inputs, and also the targets and Keras' outputs: from an .npz by key (``TARGET_KEYS``,
    ``KERAS_KEYS`` or ``y_0``, ``y_1`` …), and next to an ``X….npy`` / ``.csv`` from ``y….npy`` (the truth) and
    ``y…_keras.npy`` (Keras' predictions), e.g. ``X_test.npy`` with ``y_test.npy`` and ``y_test_keras.npy``."""
    spath = os.fspath(path)
    if not spath.lower().endswith(".npz"):
        inputs = load_inputs(spath, limits)
        y_path = sibling_targets(spath)
        targets = keras = None
        if y_path is not None:
            targets = _one_array(y_path, limits)
            k_path = os.path.splitext(y_path)[0] + "_keras.npy"
            if os.path.isfile(k_path):
                keras = [_one_array(k_path, limits)]
        return Dataset(inputs, targets, keras, source=spath)
    try:
        if not os.path.isfile(spath):
            raise ModelFileError(spath, "no such file")
        _check_npz(spath, limits)
        with np.load(spath, allow_pickle=False) as z:
            keys = list(z.keys())
            inputs = next(([np.asarray(z[k])] for k in INPUT_KEYS if k in keys and "x_0" not in keys), None)
            targets = next((np.asarray(z[k]) for k in TARGET_KEYS if k in keys), None)
            keras = next(([np.asarray(z[k])] for k in KERAS_KEYS if k in keys), None)
            if keras is None:
                ys = sorted((k for k in keys if k.startswith("y_") and k[2:].isdigit()), key=lambda k: int(k[2:]))
                keras = [np.asarray(z[k]) for k in ys] or None
    except ModelFileError:
        raise
    except MemoryError:
        raise ModelFileError(spath, "not enough memory to read this input") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, NotImplementedError, RuntimeError) as e:
        raise ModelFileError(spath, f"cannot be read as an input array ({type(e).__name__})") from None
    if inputs is None:
        inputs = load_inputs(spath, limits)
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


def _one_array(path: str, limits: Limits = DEFAULT) -> np.ndarray:
    arrays = load_inputs(path, limits)
    return arrays[0]


def load_targets(path: str | os.PathLike, limits: Limits = DEFAULT) -> np.ndarray:
    """The truth for a batch: an .npy, a .csv (one row per sample), or an .npz by ``TARGET_KEYS`` (or its only
    array)."""
    spath = os.fspath(path)
    if spath.lower().endswith(".npz"):
        arrays = _npz_arrays(spath, limits)
        for k in TARGET_KEYS:
            if k in arrays:
                return arrays[k]
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        raise ModelFileError(spath, f"npz has no array named {', '.join(TARGET_KEYS)} (has {list(arrays)[:5]})")
    if spath.lower().endswith(".csv"):
        return load_inputs(spath, limits)[0][:, :, 0]
    return _one_array(spath, limits)


def load_keras_outputs(path: str | os.PathLike, limits: Limits = DEFAULT) -> list[np.ndarray]:
    """Keras' own predictions, one array per model output: an .npy (one output), or an .npz with ``y_keras``,
    ``y_0``, ``y_1`` … or ``output_0``, ``output_1`` … (what ``predict`` writes), or its only array."""
    spath = os.fspath(path)
    if not spath.lower().endswith(".npz"):
        return [_one_array(spath, limits)]
    arrays = _npz_arrays(spath, limits)
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


def _npz_arrays(spath: str, limits: Limits = DEFAULT) -> dict[str, np.ndarray]:
    if not os.path.isfile(spath):
        raise ModelFileError(spath, "no such file")
    if os.path.getsize(spath) > limits.max_input_bytes:
        raise ModelFileError(spath, f"file is larger than the {fmt_bytes(limits.max_input_bytes)} input budget")
    try:
        _check_npz(spath, limits)  # declared sizes, ratios and headers before anything is decompressed
        with np.load(spath, allow_pickle=False) as z:
            return {k: np.asarray(z[k]) for k in z.keys()}
    except ModelFileError:
        raise
    except MemoryError:
        raise ModelFileError(spath, "not enough memory to read this input") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, NotImplementedError, RuntimeError) as e:
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
