"""Where the microseconds of one batch-1 step go: the product, the activations and other ufuncs, Python.

For the model of bench_predict.py (LSTM(256, return_sequences) → LSTM(256) → Dense, T = 50, 32 features, written
with h5py into a temporary directory; no Keras needed), at batch 1, with OpenBLAS on its threads and on one:

* a whole ``predict(x[:1])`` per step of both layers, and ``Stepper.step()`` (both layers, one step, as the window
  steps) per step;
* per layer, ``LSTMRun.step`` called in a loop (as predict now runs a stage: layer by layer), then its parts: the
  fused product ``W·[x; h; 1]`` alone, the nine ufuncs alone (σ over i f o, tanh over c̃, the cell update, h), and
  what is left (Python: the method call, the slot choice, argument passing);
* the two layers' products one after the other (as a step-by-step stepper does) against each alone (as layer by
  layer does): the weights of one layer fit a core's L2 cache, those of both do not.

Each figure is the best of many interleaved repetitions (the machine may be shared): compare within a run.

    python bench/profile_step.py              # ~20 s
    python bench/profile_step.py --units 100 --T 5 --features 1     # the demo's size
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import load_note, model_weights, write_h5  # noqa: E402

import numpy as np  # noqa: E402

import engine  # noqa: E402
from engine.parallel import cores  # noqa: E402


def best_of(fns: dict, n_inner: int, rounds: int) -> dict:
    """Best per-call time (µs) of each function, the functions interleaved round after round."""
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(n_inner):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t0) / n_inner * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--T", type=int, default=50)
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    T = args.T

    with tempfile.TemporaryDirectory(prefix="profile_step_") as tmp:
        path = Path(tmp) / "lstm2.h5"
        write_h5(path, args.units, T, args.features, model_weights(args.units, args.features, np.random.default_rng(0)))
        model = engine.load_model(path)
    x = np.random.default_rng(1).standard_normal((1, T, args.features), dtype=np.float32)
    n_layers = len(model.recurrent_layers)

    st = model.stepper(x, record=False, readout=False)
    st.step()
    runs = list(st.runs.values())

    def parts(run):
        """(step, product, ufuncs) of one fused LSTM run, repeating step 1 on the same slots."""
        z, z_ifo, ifo, z_g, g, if_, gc, o, c = run._views[1]
        w, xh, prod, halves, tc = run.w, run.xh[1], run.prod, run._prod_halves, run.tc
        h_next = run._h_rows[2 if run.per_step else 0]
        rec_act, act = run.rec_act, run.act

        def step():
            run.t = 1
            run.step(None if run.x_given else xin)

        def product():
            np.matmul(w, xh, out=z)

        def ufuncs():
            rec_act(z_ifo, ifo)
            act(z_g, g)
            np.multiply(if_, gc, out=prod)
            np.add(*halves, out=c)
            act(c, tc)
            np.multiply(o, tc, out=h_next)

        return step, product, ufuncs

    xin = np.ascontiguousarray(runs[0].seq[:, 0]) if runs[0].seq is not None else None
    c = cores()
    threads0 = c.blas_threads()
    print(f"2×LSTM({args.units}), T = {T}, {args.features} features, batch 1; {load_note()}")
    for threads in dict.fromkeys((threads0, 1)):
        if c.set is not None:
            c.set(threads)
        fns = {"predict / step": lambda: model.predict(x)}

        def stepper_run():
            s = model.stepper(x, record=False, readout=False)
            while s.step() is not None:
                pass

        fns["Stepper.step()"] = stepper_run
        per_layer = [parts(r) for r in runs]
        with np.errstate(over="ignore"):
            for k, (step, product, ufuncs) in enumerate(per_layer):
                fns[f"layer {k + 1}: LSTMRun.step"] = step
                fns[f"layer {k + 1}: product"] = product
                fns[f"layer {k + 1}: ufuncs"] = ufuncs
            if n_layers == 2:
                p1, p2 = per_layer[0][1], per_layer[1][1]
                fns["both products, one after the other"] = lambda: (p1(), p2())
            inner = {k: (1 if k in ("predict / step", "Stepper.step()") else 200) for k in fns}
            best = {}
            for k, fn in fns.items():
                best[k] = best_of({k: fn}, inner[k], 1)[k]
            for _ in range(args.rounds - 1):
                for k, fn in fns.items():
                    best[k] = min(best[k], best_of({k: fn}, inner[k], 1)[k])
        steps = st.total_steps()
        best["predict / step"] /= steps
        best["Stepper.step()"] /= steps
        print(f"\nOpenBLAS threads: {threads}")
        print(f"  predict(x[:1]), per step of all layers     {best['predict / step']:7.1f} µs")
        print(f"  Stepper.step(), both layers one step       {best['Stepper.step()']:7.1f} µs")
        for k in range(n_layers):
            s, p, u = (best[f"layer {k + 1}: {n}"] for n in ("LSTMRun.step", "product", "ufuncs"))
            print(f"  layer {k + 1}: LSTMRun.step {s:6.1f} µs = product {p:5.1f} ({p / s:4.0%}) + ufuncs {u:4.1f} "
                  f"({u / s:4.0%}) + Python {s - p - u:4.1f} ({(s - p - u) / s:4.0%})")
        if n_layers == 2:
            alone = best["layer 1: product"] + best["layer 2: product"]
            both = best["both products, one after the other"]
            print(f"  both products one after the other          {both:7.1f} µs (each alone: {alone:.1f} µs, "
                  f"{both / alone:.2f}x)")
    if c.set is not None:
        c.set(threads0)
    print(f"\n{load_note()}")


if __name__ == "__main__":
    main()
