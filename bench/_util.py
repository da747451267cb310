"""Shared helpers of the engine benchmarks: timing, the sgemm rate, machine load, the path to the engine."""
from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import h5py  # noqa: E402
import numpy as np  # noqa: E402


def timed(fn, reps: int = 5, min_total: float = 0.0) -> tuple[float, float]:
    """(best, median) wall time of ``fn()`` in seconds over ``reps`` runs (more while under ``min_total`` seconds).

    The best run is the figure to compare: on a shared machine the others only add other processes' noise."""
    times = []
    t_start = time.perf_counter()
    while len(times) < reps or (time.perf_counter() - t_start < min_total and len(times) < 1000):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def sgemm_rates(shapes) -> dict[tuple[int, int, int], float]:
    """FLOP/s NumPy reaches for float32 (m, k) @ (k, n) into a preallocated output, best of several runs."""
    rng = np.random.default_rng(0)
    out = {}
    for m, k, n in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        flops = 2.0 * m * k * n
        inner = max(1, int(2e8 // flops))
        best, _ = timed(lambda: [np.matmul(a, b, out=c) for _ in range(inner)], reps=5, min_total=0.5)
        out[(m, k, n)] = flops * inner / best
    return out


def load_note() -> str:
    """The 1-minute load average and the CPUs: numbers taken while other processes run are slower."""
    try:
        la = os.getloadavg()[0]
    except OSError:
        return ""
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:
        ncpu = os.cpu_count()
    return f"load average {la:.2f} on {ncpu} CPUs"


def fmt_time(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


# --- a 2-layer LSTM model written with h5py alone (no Keras), as Keras 2 .h5 or Keras 3 .keras ---------------
def model_weights(units: int, F: int, rng) -> dict[str, list[tuple[str, np.ndarray]]]:
    def w(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02))

    u4 = 4 * units
    return {
        "lstm_1": [("kernel", w(F, u4)), ("recurrent_kernel", w(units, u4)), ("bias", w(u4))],
        "lstm_2": [("kernel", w(units, u4)), ("recurrent_kernel", w(units, u4)), ("bias", w(u4))],
        "dense": [("kernel", w(units, 1)), ("bias", w(1))],
    }


def lstm_config(name: str, units: int, return_sequences: bool) -> dict:
    return {"name": name, "units": units, "return_sequences": return_sequences, "activation": "tanh",
            "recurrent_activation": "sigmoid", "use_bias": True}


def write_h5(path, units: int, T: int, F: int, weights) -> None:
    """Keras 2 / tf.keras full-model HDF5: model_config + model_weights/<layer>/<layer>/<var>:0."""
    layers = [
        {"class_name": "LSTM", "config": dict(lstm_config("lstm_1", units, True), batch_input_shape=[None, T, F])},
        {"class_name": "LSTM", "config": lstm_config("lstm_2", units, False)},
        {"class_name": "Dense", "config": {"name": "dense", "units": 1}},
    ]
    write_sequential_h5(path, "big", layers, weights)


def write_sequential_h5(path, name: str, layers: list, weights: dict) -> None:
    """A Keras 2 full-model HDF5 of a Sequential config: model_config + model_weights/<layer>/<layer>/<var>:0."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.21.0"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": name, "layers": layers}})
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([n.encode() for n in weights], dtype="S")
        for lname, arrays in weights.items():
            lg = g.create_group(lname)
            names = [f"{lname}/{n}:0" for n, _ in arrays]
            lg.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")
            for n, (_, a) in zip(names, arrays):
                lg.create_dataset(n, data=a)


def write_keras(path, units: int, T: int, F: int, weights) -> None:
    """Keras 3 .keras zip (members stored, as Keras writes them): config.json, metadata.json, model.weights.h5."""
    def layer(cls, cfg):
        return {"module": "keras.layers", "class_name": cls, "config": cfg, "registered_name": None}

    config = {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {
        "name": "big", "trainable": True, "layers": [
            layer("InputLayer", {"batch_shape": [None, T, F], "dtype": "float32", "name": "input"}),
            layer("LSTM", lstm_config("lstm_1", units, True)),
            layer("LSTM", lstm_config("lstm_2", units, False)),
            layer("Dense", {"name": "dense", "units": 1, "activation": "linear", "use_bias": True}),
        ]}}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for key, (lname, arrays) in zip(("lstm", "lstm_1", "dense"), weights.items()):
            lg = f.create_group(f"layers/{key}")
            lg.create_group("vars").attrs["name"] = lname
            vg = lg.create_group("cell/vars") if lname.startswith("lstm") else lg["vars"]
            if lname.startswith("lstm"):
                vg.attrs["name"] = "lstm_cell"
            for i, (_, a) in enumerate(arrays):
                vg.create_dataset(str(i), data=a)
        f.create_group("vars").attrs["name"] = "big"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", buf.getvalue())
