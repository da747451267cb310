"""Per-step cost of the stepper the GUI drives, against predict's per-step cost, at batch 1.

The GUI steps one sample with ``model.stepper(x[:1], record=True, readout=True)``: every step records the gates and
states of each LSTM layer and computes the readout (the prediction as if the sequence ended there). This prints the
cost of one such ``step()`` next to ``predict(x[:1])`` divided by its number of steps, and the steps without
recording or readout, for the same model as bench_predict.py (LSTM(256, return_sequences) → LSTM(256) → Dense(1),
T=50, 32 features), written with h5py into a temporary directory (no Keras needed):

    python3 bench/bench_stepper.py        # a few seconds
    python3 bench/bench_stepper.py --units 64 --T 200

Each figure is the best over many interleaved repetitions (the machine may be shared).
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--T", type=int, default=50)
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--reps", type=int, default=60)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_stepper_"))
    path = tmp / "lstm2.h5"
    write_h5(path, args.units, args.T, args.features, model_weights(args.units, args.features, np.random.default_rng(0)))
    model = engine.load_model(path)
    path.unlink()
    tmp.rmdir()
    x = np.random.default_rng(1).standard_normal((1, args.T, args.features), dtype=np.float32)

    def stepper(record: bool, readout: bool):
        st = model.stepper(x, record=record, readout=readout)
        n = 0
        t0 = time.perf_counter()
        while st.step() is not None:
            n += 1
        return (time.perf_counter() - t0) / n, n

    def predict():
        t0 = time.perf_counter()
        model.predict(x)
        return (time.perf_counter() - t0) / steps, steps

    steps = model.stepper(x, record=False, readout=False).total_steps()
    cases = {
        "predict(x[:1]) / steps": predict,
        "stepper(record=True, readout=True).step()  [GUI]": lambda: stepper(True, True),
        "stepper(record=True, readout=False).step()": lambda: stepper(True, False),
        "stepper(record=False, readout=True).step()": lambda: stepper(False, True),
        "stepper(record=False, readout=False).step()": lambda: stepper(False, False),
    }
    for f in cases.values():  # warm up (the stepped weights are built on first use)
        f()
    best = {k: float("inf") for k in cases}
    for _ in range(args.reps):
        for k, f in cases.items():
            best[k] = min(best[k], f()[0])

    print(f"2×LSTM({args.units}) → Dense(1), T={args.T}, batch 1, {steps} steps; {load_note()}")
    width = max(len(k) for k in cases)
    ref = best["predict(x[:1]) / steps"]
    for k, v in best.items():
        print(f"  {k:{width}s}  {v * 1e6:7.1f} µs/step  ({v / ref:.2f}x predict's)")
    st = model.stepper(x, record=True, readout=True)
    t0 = time.perf_counter()
    st.seek(steps)
    t_seek = time.perf_counter() - t0
    t0 = time.perf_counter()
    st.seek(steps // 2)
    t_back = time.perf_counter() - t0
    print(f"  seek to the end {t_seek * 1e3:.1f} ms, back to the middle (replays from the start) {t_back * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
