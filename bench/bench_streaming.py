"""Streaming statistics over a dataset far bigger than its trace: 10,000 sequences × 100 steps × LSTM(256).

The full trace of that batch would hold ~6 GB per array; ``engine.streaming.dataset_stats`` runs it chunk by chunk
(each chunk over the cores) and keeps only per-unit running sums. This measures, each in a fresh process:
``Model.predict`` on the same batch (the reference time) and ``dataset_stats`` (time and peak resident memory,
``ru_maxrss``, which includes the interpreter, NumPy and the 32 MB input). The goal: peak ≤ 1 GB and time within 1.5×
of predict.

    python bench/bench_streaming.py [--batch 10000] [--steps 100] [--units 256] [--features 8] [--reps 2]
                                    [--cell lstm|gru|stack|bilstm]

``--cell`` swaps the LSTM for a GRU, two stacked LSTMs or a Bidirectional(LSTM) (same units), to see the other
layer kinds' ratios; the issue's goal is stated for the LSTM.
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


def write_model(path: str, units: int, T: int, F: int, cell: str = "lstm") -> None:
    """Sequential → Dense(1) around: ``lstm`` LSTM(units); ``gru`` GRU(units) (reset_after); ``stack`` two
    LSTM(units), the first returning sequences; ``bilstm`` Bidirectional(LSTM(units))."""
    import numpy as np

    rng = np.random.default_rng(0)

    def w(*shape):
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.3 / np.sqrt(shape[0]))

    def rnn(name, cls, n_in, seq=False, first=True):
        cfg = {"name": name, "units": units, "activation": "tanh", "recurrent_activation": "sigmoid",
               "return_sequences": seq}
        if first:
            cfg["batch_input_shape"] = [None, T, F]
        g = 4 if cls == "LSTM" else 3
        bias = w(g * units) if cls == "LSTM" else w(2, g * units)
        if cls == "GRU":
            cfg["reset_after"] = True
        arrays = [("kernel", w(n_in, g * units)), ("recurrent_kernel", w(units, g * units)), ("bias", bias)]
        return {"class_name": cls, "config": cfg}, arrays

    weights = {}
    if cell == "bilstm":
        inner, fw = rnn("lstm", "LSTM", F, first=False)
        _, bw = rnn("lstm", "LSTM", F, first=False)
        layers = [{"class_name": "Bidirectional", "config": {"name": "lstm", "layer": inner, "merge_mode": "concat",
                                                             "batch_input_shape": [None, T, F]}}]
        weights["lstm"] = [(f"forward_{n}", a) for n, a in fw] + [(f"backward_{n}", a) for n, a in bw]
        dense_in = 2 * units
    elif cell == "stack":
        l1, a1 = rnn("lstm_1", "LSTM", F, seq=True)
        l2, a2 = rnn("lstm", "LSTM", units, first=False)
        layers, weights["lstm_1"], weights["lstm"] = [l1, l2], a1, a2
        dense_in = units
    else:
        l1, a1 = rnn("lstm", "GRU" if cell == "gru" else "LSTM", F)
        layers, weights["lstm"] = [l1], a1
        dense_in = units
    layers.append({"class_name": "Dense", "config": {"name": "dense", "units": 1}})
    weights["dense"] = [("kernel", w(dense_in, 1)), ("bias", w(1))]
    write_sequential_h5(path, "s", layers, weights)


def child(mode: str, model_path: str, x_path: str) -> None:
    import numpy as np

    import engine
    from engine.streaming import dataset_stats, stats_chunk_size

    model = engine.load_model(model_path)
    x = np.load(x_path)
    t0 = time.perf_counter()
    if mode == "predict":
        model.predict(x)
        extra = {}
    else:
        stats = dataset_stats(model, x)
        h = (stats.get("lstm") or stats["lstm/forward"]).health()
        extra = {"chunk": stats_chunk_size(model, [x]), "f_mean": h.forget_mean, "dead": len(h.dead_units)}
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
    ap.add_argument("--cell", choices=("lstm", "gru", "stack", "bilstm"), default="lstm",
                    help="the recurrent layers: LSTM, GRU, 2 stacked LSTMs, Bidirectional(LSTM)")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "MODEL", "X"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    import numpy as np

    with tempfile.TemporaryDirectory() as d:
        mp, xp = os.path.join(d, "m.h5"), os.path.join(d, "x.npy")
        write_model(mp, a.units, a.steps, a.features, a.cell)
        np.save(xp, np.random.default_rng(1).standard_normal((a.batch, a.steps, a.features), dtype=np.float32))
        trace_gb = a.batch * a.steps * a.units * 4 / 1024 ** 3
        what = {"lstm": "LSTM", "gru": "GRU", "stack": "2 stacked LSTM", "bilstm": "Bidirectional LSTM"}[a.cell]
        print(f"{a.batch} × {a.steps} steps × {what}({a.units}), {a.features} features; one (batch, T, units) array "
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
