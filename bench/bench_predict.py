"""Forward-pass speed of the engine against Keras, a textbook NumPy loop and the machine's matrix-multiply limit.

A script that prints figures, not a test. It needs real Keras (the ``keras`` extra), because it builds the model and
times Keras in the same process; the engine itself still imports only NumPy and h5py:

    pip install -e '.[keras]'
    python bench/bench_predict.py                      # about 1 minute on 2 cores
    python bench/bench_predict.py --batches 1,256 --reps 3
    python bench/bench_predict.py --rounds 3           # best of three rounds, on a shared machine

The model is LSTM(256, return_sequences=True) → LSTM(256) → Dense(1) over T=50 steps of 32 features, with random
weights, saved as .keras into a temporary directory (never kept). For each batch size it times

* ours: ``engine.load_model(path).predict(x)`` (the stepper run to the end; a big batch split over the cores, see
  engine/parallel.py; set LSTM_INSPECTOR_THREADS=1 for no split);
* Keras: ``model.predict(x, verbose=0)`` (its default batch_size of 32) and ``model(x)``, TensorFlow on the CPU;
* naive: the per-gate NumPy loop of the classic exercise, eight small dots per step (x@W_i, h@U_i, …), float32;
* GEMM bound: the model's FLOPs, 2·B·T·(F+u)·4u per LSTM layer plus the Dense, divided by the float32 matmul
  rate NumPy reaches in this run on each layer's own product at that batch, (B, F+u) @ (F+u, 4u) — the time the
  matrix multiplies alone would take; "peak bound" uses the best rate of all (1024³, 2048³, those shapes),

each the best of several runs (on a shared machine the slower runs measure the other processes), and checks the
largest absolute difference between ours and Keras' predict (the project's tolerance is 1e-5).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import fmt_time, load_note, sgemm_rates, timed  # noqa: E402

import numpy as np  # noqa: E402

import engine  # noqa: E402
from engine.parallel import cores  # noqa: E402

T, F, UNITS = 50, 32, 256


def build_keras_model(path: Path):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((T, F)),
        keras.layers.LSTM(UNITS, return_sequences=True),
        keras.layers.LSTM(UNITS),
        keras.layers.Dense(1),
    ])
    # random weights everywhere (Keras' initial biases are zeros and ones), scaled so the gates spread over (0, 1)
    rng = np.random.default_rng(1)
    weights = []
    for w in model.get_weights():
        fan_in = w.shape[0] if w.ndim == 2 else 4
        weights.append((rng.standard_normal(w.shape) / np.sqrt(fan_in)).astype(np.float32))
    model.set_weights(weights)
    model.save(path)
    return model


def naive_lstm_weights(model):
    """Per layer: (kind, arrays) with each LSTM's kernels split per gate, Keras' column order i f c o."""
    out = []
    for layer in model.layers:
        w = layer.get_weights()
        if layer.__class__.__name__ == "LSTM":
            W, U, b = w
            u = U.shape[0]
            gates = {g: (W[:, k * u:(k + 1) * u], U[:, k * u:(k + 1) * u], b[k * u:(k + 1) * u])
                     for k, g in enumerate("ifco")}
            out.append(("lstm", gates, layer.return_sequences))
        else:
            out.append(("dense", w, None))
    return out


def naive_predict(layers, x):
    """The classic exercise: per step, per gate, x_t·W_g + h·U_g + b_g, then the cell update."""
    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    seq = x
    for kind, w, return_sequences in layers:
        if kind == "dense":
            seq = seq @ w[0] + w[1]
            continue
        (Wi, Ui, bi), (Wf, Uf, bf), (Wc, Uc, bc), (Wo, Uo, bo) = (w[g] for g in "ifco")
        B = seq.shape[0]
        u = Ui.shape[0]
        h = np.zeros((B, u), np.float32)
        c = np.zeros((B, u), np.float32)
        hs = []
        for t in range(seq.shape[1]):
            xt = seq[:, t]
            i = sigmoid(np.dot(xt, Wi) + np.dot(h, Ui) + bi)
            f = sigmoid(np.dot(xt, Wf) + np.dot(h, Uf) + bf)
            g = np.tanh(np.dot(xt, Wc) + np.dot(h, Uc) + bc)
            o = sigmoid(np.dot(xt, Wo) + np.dot(h, Uo) + bo)
            c = f * c + i * g
            h = o * np.tanh(c)
            hs.append(h)
        seq = np.stack(hs, axis=1) if return_sequences else h
    return seq


def lstm_shapes(model) -> list[tuple[int, int]]:
    """(F+u, 4u) of each LSTM layer: the step's product is (B, F+u) @ (F+u, 4u)."""
    out = []
    for layer in model.layers:
        if layer.__class__.__name__ == "LSTM":
            w = layer.get_weights()
            out.append((w[0].shape[0] + w[1].shape[0], w[1].shape[1]))
    return out


def lstm_flops(batch: int, shapes) -> float:
    return sum(2.0 * batch * T * k * n for k, n in shapes)


def model_flops(model, batch: int) -> float:
    total = 0.0
    for layer in model.layers:
        w = layer.get_weights()
        if layer.__class__.__name__ == "LSTM":
            fin, u = w[0].shape[0], w[1].shape[0]
            total += 2.0 * batch * T * (fin + u) * 4 * u
        else:
            total += 2.0 * batch * w[0].shape[0] * w[0].shape[1]
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", default="1,16,256,1024")
    ap.add_argument("--reps", type=int, default=5, help="runs per figure (Keras and the naive loop: fewer)")
    ap.add_argument("--rounds", type=int, default=1, help="repeat everything, keeping each figure's best")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    path = tmp / "lstm2x256.keras"
    kmodel = build_keras_model(path)
    ours = engine.load_model(path)
    shutil.rmtree(tmp)
    naive_layers = naive_lstm_weights(kmodel)

    layer_shapes = lstm_shapes(kmodel)  # (F+u, 4u) per LSTM layer
    shapes = [(1024, 1024, 1024), (2048, 2048, 2048)] + [(B, k, n) for B in batches for k, n in layer_shapes]
    rates: dict = {}

    def measure(which):
        # each rate is the best seen over the run (measured at the start, before its batch and at the end), so a
        # moment when other processes hold the CPUs does not make the bound look easy
        for shape, r in sgemm_rates(which).items():
            rates[shape] = max(r, rates.get(shape, 0.0))

    measure(shapes)
    first_peak = rates[(2048, 2048, 2048)]
    print(f"engine: {ours.format_label}, {ours.param_count():,} parameters; {load_note()}")

    rng = np.random.default_rng(2)
    xs = {B: rng.standard_normal((B, T, F), dtype=np.float32) for B in batches}
    best: dict = {}
    for rnd in range(args.rounds):
        for B in batches:
            x = xs[B]
            measure([(B, k, n) for k, n in layer_shapes])
            y_ours = ours.predict(x)
            time.sleep(0.2)  # let TensorFlow's threads from the previous batch go idle
            t_ours, med_ours = timed(lambda: ours.predict(x), reps=args.reps, min_total=1.0)
            y_keras = kmodel.predict(x, verbose=0)
            kmodel(x)
            k_reps = max(2, args.reps // 2)
            t_keras, _ = timed(lambda: kmodel.predict(x, verbose=0), reps=k_reps)
            t_call, _ = timed(lambda: kmodel(x), reps=k_reps)
            y_naive = naive_predict(naive_layers, x)
            t_naive, _ = timed(lambda: naive_predict(naive_layers, x), reps=2 if B >= 256 else k_reps)
            err = float(np.max(np.abs(y_ours - y_keras)))
            err_naive = float(np.max(np.abs(y_naive - y_keras)))
            new = [B, t_ours, med_ours, t_keras, t_call, t_naive, None, err, err_naive, None]
            old = best.get(B)
            if old is None:
                best[B] = new
            else:  # the best time of every column over the rounds; the worst parity
                for i in (1, 3, 4, 5):
                    old[i] = min(old[i], new[i])
                old[2] = min(old[2], med_ours)
                old[7], old[8] = max(old[7], err), max(old[8], err_naive)
            print(f"  round {rnd + 1}, batch {B}: done", flush=True)
    rows = [best[B] for B in batches]

    measure(shapes)
    peak = max(rates.values())
    for row in rows:
        B = row[0]
        flops = model_flops(kmodel, B)
        row[9] = flops / peak
        row[6] = sum(2.0 * B * T * k * n / rates[(B, k, n)] for k, n in layer_shapes)
        row[6] += (flops - lstm_flops(B, layer_shapes)) / peak  # the Dense
    print("NumPy sgemm GFLOP/s (best over the run): "
          + ", ".join(f"{m}x{k}x{n} {r / 1e9:.0f}" for (m, k, n), r in rates.items()))

    head = ("batch", "ours", "(median)", "Keras predict", "Keras model(x)", "naive loop", "GEMM bound",
            "predict/ours", "model(x)/ours", "naive/ours", "ours/bound", "ours/peak bound", "max|ours-Keras|")
    table = [head]
    for B, t, med, tk, tc, tn, tb, err, _, tp in rows:
        table.append((str(B), fmt_time(t), fmt_time(med), fmt_time(tk), fmt_time(tc), fmt_time(tn), fmt_time(tb),
                      f"{tk / t:.1f}x", f"{tc / t:.1f}x", f"{tn / t:.1f}x", f"{t / tb:.2f}", f"{t / tp:.2f}",
                      f"{err:.1e}"))
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    print()
    for k, r in enumerate(table):
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print(f"naive loop vs Keras: max abs difference {max(r[8] for r in rows):.1e}")
    worst = max(r[7] for r in rows)
    print(f"parity: max abs difference ours vs Keras predict {worst:.1e} ({'OK' if worst <= 1e-5 else 'OVER'} 1e-5)")
    print(f"sgemm 2048³ at the start {first_peak / 1e9:.0f} GFLOP/s, best {rates[(2048, 2048, 2048)] / 1e9:.0f} (far "
          f"apart: other processes held the CPUs for a while); {load_note()}")
    c = cores()
    first = next((b for b in range(2, 1 << 16) if len(c.batch_parts(b, ours.widest_recurrent())) > 1), None)
    print(f"engine: a batch of this model runs split over {c.threads} threads from {first} samples; stalls noticed "
          f"at batch 1: {c.stalls}")


if __name__ == "__main__":
    main()
