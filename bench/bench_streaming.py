"""Streaming statistics over a dataset far bigger than its trace: 10,000 sequences × 100 steps × LSTM(256).

The full trace of that batch would hold ~6 GB per array; ``engine.streaming.dataset_stats`` runs it chunk by chunk
(each chunk over the cores) and keeps only per-unit running sums. This measures, each in a fresh process:
``Model.predict`` on the same batch (the reference time) and ``dataset_stats`` (time and peak resident memory,
``ru_maxrss``, which includes the interpreter, NumPy and the 32 MB input). The goal: peak ≤ 1 GB and time within 1.5×
of predict.

    python bench/bench_streaming.py [--batch 10000] [--steps 100] [--units 256] [--features 8] [--reps 2]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from _util import ROOT, fmt_time, load_note, write_sequential_h5  # noqa: F401  (puts the checkout on sys.path)


def write_model(path: str, units: int, T: int, F: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)

    def w(*shape):
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.3 / np.sqrt(shape[0]))

    layers = [{"class_name": "LSTM", "config": {"name": "lstm", "units": units, "batch_input_shape": [None, T, F],
                                               "activation": "tanh", "recurrent_activation": "sigmoid"}},
              {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]
    weights = {"lstm": [("kernel", w(F, 4 * units)), ("recurrent_kernel", w(units, 4 * units)), ("bias", w(4 * units))],
               "dense": [("kernel", w(units, 1)), ("bias", w(1))]}
    write_sequential_h5(path, "s", layers, weights)


def child(mode: str, model_path: str, x_path: str) -> None:
    import numpy as np

    import engine
    from engine.streaming import chunk_size, dataset_stats

    model = engine.load_model(model_path)
    x = np.load(x_path)
    t0 = time.perf_counter()
    if mode == "predict":
        model.predict(x)
        extra = {}
    else:
        stats = dataset_stats(model, x)
        h = stats["lstm"].health()
        extra = {"chunk": chunk_size(model, [x]), "f_mean": h.forget_mean, "dead": len(h.dead_units)}
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"time": dt, "peak": rss, **extra}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--child", nargs=3, metavar=("MODE", "MODEL", "X"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    import numpy as np

    with tempfile.TemporaryDirectory() as d:
        mp, xp = os.path.join(d, "m.h5"), os.path.join(d, "x.npy")
        write_model(mp, a.units, a.steps, a.features)
        np.save(xp, np.random.default_rng(1).standard_normal((a.batch, a.steps, a.features), dtype=np.float32))
        trace_gb = a.batch * a.steps * a.units * 4 / 1024 ** 3
        print(f"{a.batch} × {a.steps} steps × LSTM({a.units}), {a.features} features; one (batch, T, units) array "
              f"of the trace would be {trace_gb:.1f} GB; {load_note()}")
        results = {"predict": [], "stats": []}
        for _ in range(a.reps):
            for mode in ("predict", "stats"):
                r = subprocess.run([sys.executable, __file__, "--child", mode, mp, xp], capture_output=True, text=True,
                                   check=True)
                results[mode].append(json.loads(r.stdout))
        p = min(results["predict"], key=lambda r: r["time"])
        s = min(results["stats"], key=lambda r: r["time"])
        peak_stats = max(r["peak"] for r in results["stats"])
        print(f"predict:        {fmt_time(p['time'])} (best of {a.reps}), peak RSS {p['peak'] / 1024 ** 2:.0f} MB")
        print(f"dataset_stats:  {fmt_time(s['time'])} (best of {a.reps}), peak RSS {peak_stats / 1024 ** 2:.0f} MB, "
              f"chunks of {s['chunk']} samples; f mean {s['f_mean']:.3f}, {s['dead']} dead units")
        print(f"ratio stats / predict: {s['time'] / p['time']:.2f}x   (goal ≤ 1.5x; peak goal ≤ 1024 MB)")
        print(load_note())


if __name__ == "__main__":
    main()
