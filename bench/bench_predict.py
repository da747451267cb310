"""Forward-pass speed of the engine against ONNX Runtime on the same weights, and against the machine's GEMM limit.

A script that prints figures, not a test. It needs real Keras (the ``keras`` extra) to build the models and check
parity, and onnx + onnxruntime (the ``bench`` extra); the engine itself still imports only NumPy and h5py:

    pip install -e '.[keras,bench]'
    python bench/bench_predict.py                        # every model, 3 rounds: a few minutes on 2 cores
    python bench/bench_predict.py --rounds 5 --models lstm --batches 1,256
    python bench/bench_predict.py --keras                # Keras' own model.predict as a column too

The models (random weights, saved as .keras into a temporary directory that is removed at once):

* ``lstm``: LSTM(256, return_sequences) → LSTM(256) → Dense(10), T = 50, 32 features (issue 14's model);
* ``gru``: the same with GRU(256) (reset_after, Keras' default);
* ``seed``: LSTM(100) → Dense(1), T = 5, 1 feature (the size of the bundled noisy-sine demo).

ONNX Runtime runs a graph built with the ``onnx`` helper from the Keras model's own weights (bench/_onnx.py: the
ONNX LSTM's gate order is i o f c, Keras' i f c o), with its default session options (its own thread pool). Both
are checked against Keras' ``model.predict`` before anything is timed.

For each model and batch, each round times ours (``engine.load_model(path).predict(x)``) and ORT
(``session.run``) in alternating blocks of back-to-back runs with a pause between blocks (``interleaved``: ORT's
pool threads spin after a run and would otherwise slow the next run of ours), so that both see the same load; a
round's figure is the best of its timed runs, and the ratio ours/ORT is taken within the round. The table shows the median over the rounds and, in
brackets, the spread (smallest–largest) over the rounds. "GEMM bound": the recurrent layers' FLOPs (2·B·T·K·N per
layer, (B, K) @ (K, N) with K = features + units, N = gates · units) at the float32 matmul rate NumPy reaches in
this run on that very product, with all its threads: the time the matrix multiplies alone would take. The load
average is printed with each round: on a shared machine, compare ratios, not times.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import fmt_time, load_note, sgemm_rates  # noqa: E402

import numpy as np  # noqa: E402

import engine  # noqa: E402
from engine.parallel import cores  # noqa: E402


@dataclass
class Spec:
    key: str
    label: str
    cell: str  # "LSTM" or "GRU"
    units: tuple[int, ...]
    T: int
    F: int
    out: int
    batches: tuple[int, ...]


SPECS = {
    "lstm": Spec("lstm", "LSTM(256) → LSTM(256) → Dense(10), T = 50, 32 features", "LSTM", (256, 256), 50, 32, 10,
                 (1, 16, 256, 1024)),
    "gru": Spec("gru", "GRU(256) → GRU(256) → Dense(10), T = 50, 32 features", "GRU", (256, 256), 50, 32, 10,
                (1, 16, 256)),
    "seed": Spec("seed", "LSTM(100) → Dense(1), T = 5, 1 feature (the demo's size)", "LSTM", (100,), 5, 1, 1,
                 (1, 16, 256)),
}


def build_keras_model(spec: Spec, path: Path):
    import keras

    keras.utils.set_random_seed(0)
    cell = getattr(keras.layers, spec.cell)
    layers = [keras.Input((spec.T, spec.F))]
    for k, u in enumerate(spec.units):
        layers.append(cell(u, return_sequences=k < len(spec.units) - 1))
    layers.append(keras.layers.Dense(spec.out))
    model = keras.Sequential(layers)
    # random weights everywhere (Keras' initial biases are zeros and ones), scaled so the gates spread over (0, 1)
    rng = np.random.default_rng(1)
    weights = []
    for w in model.get_weights():
        fan_in = w.shape[0] if w.ndim == 2 and w.shape[0] > 2 else 4
        weights.append((rng.standard_normal(w.shape) / np.sqrt(fan_in)).astype(np.float32))
    model.set_weights(weights)
    model.save(path)
    return model


def layer_products(spec: Spec) -> list[tuple[int, int]]:
    """(K, N) of each recurrent layer's step product: (B, K) @ (K, N)."""
    gates = 4 if spec.cell == "LSTM" else 3
    out, fin = [], spec.F
    for u in spec.units:
        out.append((fin + u, gates * u))
        fin = u
    return out


@dataclass
class Cell:
    """One (model, batch): each round's best times and ratio."""
    ours: list[float] = field(default_factory=list)
    ort: list[float] = field(default_factory=list)
    keras: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)
    bound: float = 0.0


#: runs of one runtime back to back in a block (the first of each block untimed), and the pause between blocks
BLOCK = 4
SETTLE = 0.2


def unheld() -> None:
    """Start a measurement with OpenBLAS's own threads: a stall noticed at batch 1 holds it to one thread for
    STALL_COOLDOWN seconds (engine/parallel.py), which would otherwise carry into the next batch's first runs
    (2×LSTM(256) at batch 16: 17 ms on one thread against 10 ms)."""
    from engine.parallel import STALL_COOLDOWN

    c = cores()
    t_end = time.monotonic() + STALL_COOLDOWN
    while c.stalled() and time.monotonic() < t_end:
        time.sleep(0.05)
    c.release_if_due()


def interleaved(fns, reps: int, min_total: float) -> list[float]:
    """Best time of each of ``fns``, in alternating blocks: each block runs one of them BLOCK times back to back
    and times all but the first, then pauses SETTLE seconds; ``reps`` blocks each (more while under ``min_total``
    s). Blocks, not single runs, alternate: ONNX Runtime's pool threads spin for a while after each run, so a run of
    ours straight after one of ORT's shared the cores with them (2×LSTM(256) at batch 16: 17 ms instead of 10.6),
    and ORT's own run after a pause pays for waking them (6 ms back to back, up to 15 ms after a pause); and at batch
    1 those spinning threads made our stall guard hold OpenBLAS to one thread. Each runtime is timed in its own
    steady state, as a user calling it in a loop would see it; alternating the blocks still shares the load."""
    best = [float("inf")] * len(fns)
    t_start = time.perf_counter()
    n = 0
    while n < reps or (time.perf_counter() - t_start < min_total and n < 500):
        for k, fn in enumerate(fns):
            fn()
            for _ in range(BLOCK - 1):
                t0 = time.perf_counter()
                fn()
                best[k] = min(best[k], time.perf_counter() - t0)
            time.sleep(SETTLE)
        n += 1
    return best


def spread(values: list[float], fmt) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


def ratio_fmt(r: float) -> str:
    return f"{r:.2f}x"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="lstm,gru,seed", help="any of " + ", ".join(SPECS))
    ap.add_argument("--batches", default=None, help="instead of each model's own, e.g. 1,256")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; each figure is the median of their bests")
    ap.add_argument("--reps", type=int, default=5, help="runs of each per round (more for fast ones)")
    ap.add_argument("--keras", action="store_true", help="time Keras' model.predict too (slow)")
    args = ap.parse_args()

    import onnxruntime

    from _onnx import keras_layers, onnx_model, ort_predict, ort_session

    specs = [SPECS[k] for k in args.models.split(",")]
    print(f"NumPy {np.__version__}, ONNX Runtime {onnxruntime.__version__}; engine threads {cores().threads}; "
          f"{load_note()}", flush=True)
    setups = []
    rng = np.random.default_rng(2)
    for spec in specs:
        batches = tuple(int(b) for b in args.batches.split(",")) if args.batches else spec.batches
        tmp = Path(tempfile.mkdtemp(prefix="bench_predict_"))
        try:
            path = tmp / f"{spec.key}.keras"
            kmodel = build_keras_model(spec, path)
            ours = engine.load_model(path)
        finally:
            shutil.rmtree(tmp)
        sess = ort_session(onnx_model(keras_layers(kmodel), spec.T, spec.F))
        xs = {B: rng.standard_normal((B, spec.T, spec.F), dtype=np.float32) for B in batches}
        # parity first: ours and ORT against Keras on every batch
        errs = {}
        for B, x in xs.items():
            yk = kmodel.predict(x, verbose=0)
            errs[B] = (float(np.max(np.abs(ours.predict(x) - yk))), float(np.max(np.abs(ort_predict(sess, x) - yk))))
        setups.append((spec, batches, kmodel, ours, sess, xs, errs))
        worst = max(max(e) for e in errs.values())
        print(f"{spec.key}: parity with Keras' predict: ours {max(e[0] for e in errs.values()):.1e}, ORT "
              f"{max(e[1] for e in errs.values()):.1e} ({'OK' if worst <= 1e-5 else 'OVER'} 1e-5)", flush=True)

    # sgemm rate of every layer's product at every batch (best seen over the run)
    rates: dict = {}

    def measure(shapes):
        for shape, r in sgemm_rates(shapes).items():
            rates[shape] = max(r, rates.get(shape, 0.0))

    all_shapes = sorted({(B, k, n) for spec, batches, *_ in setups for B in batches for k, n in layer_products(spec)})
    measure(all_shapes)

    cells = {(spec.key, B): Cell() for spec, batches, *_ in setups for B in batches}
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}/{args.rounds}: {load_note()}", flush=True)
        for spec, batches, kmodel, ours, sess, xs, _ in setups:
            for B in batches:
                x = xs[B]
                c = cells[(spec.key, B)]
                unheld()
                ours.predict(x)  # warm: the step weights are built on first use; ORT's arena on its first run
                ort_predict(sess, x)
                t_ours, t_ort = interleaved([lambda: ours.predict(x), lambda: ort_predict(sess, x)],
                                            reps=args.reps, min_total=1.0)
                c.ours.append(t_ours)
                c.ort.append(t_ort)
                c.ratio.append(t_ours / t_ort)
                if args.keras:
                    (t_k,) = interleaved([lambda: kmodel.predict(x, verbose=0)], reps=max(2, args.reps // 2),
                                         min_total=0.0)
                    c.keras.append(t_k)
        measure(all_shapes)
    print(f"after the rounds: {load_note()}")
    print("NumPy sgemm GFLOP/s (best over the run): "
          + ", ".join(f"{m}x{k}x{n} {r / 1e9:.0f}" for (m, k, n), r in sorted(rates.items())))

    for spec, batches, _, ours, _, _, errs in setups:
        print()
        print(f"### {spec.label}")
        print()
        head = ["batch", "ours", "ONNX Runtime", "ours / ORT", "GEMM bound", "ours / bound", "max abs(ours − Keras)",
                "max abs(ORT − Keras)"]
        if args.keras:
            head[3:3] = ["Keras predict"]
        rows = [head]
        for B in batches:
            c = cells[(spec.key, B)]
            bound = sum(2.0 * B * spec.T * k * n / rates[(B, k, n)] for k, n in layer_products(spec))
            row = [str(B), spread(c.ours, fmt_time), spread(c.ort, fmt_time), spread(c.ratio, ratio_fmt),
                   fmt_time(bound), spread([t / bound for t in c.ours], lambda r: f"{r:.2f}"),
                   f"{errs[B][0]:.1e}", f"{errs[B][1]:.1e}"]
            if args.keras:
                row[3:3] = [spread(c.keras, fmt_time)]
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for k, r in enumerate(rows):
            print("| " + " | ".join(v.rjust(w) for v, w in zip(r, widths)) + " |")
            if k == 0:
                print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
        first = next((b for b in range(2, 1 << 16) if len(cores().batch_parts(b, ours.widest_recurrent())) > 1), None)
        print(f"\n(median of {args.rounds} rounds' bests, (smallest–largest); the batch is split over "
              f"{cores().threads} threads from {first} samples; stalls noticed at batch 1: {cores().stalls})")


if __name__ == "__main__":
    main()
