"""Per-step cost of the stepper the GUI drives, against predict's per-step cost, at batch 1.

The window steps one sample with ``model.stepper(x[:1], record=True, readout=True)``: every step keeps the gates and
states of each recurrent layer (views of the step's own buffers) and what the readout needs; the readouts (the
prediction as if the sequence ended there) are computed when read, and the window reads them after every step to
plot them. This prints, for the model of bench_predict.py (LSTM(256, return_sequences) → LSTM(256) → Dense(1), T=50,
32 features, written with h5py into a temporary directory, no Keras needed):

* ``predict(x[:1])`` divided by its number of steps (its set-up included);
* the window's step: ``step()`` then reading that step's readout, as playback does;
* ``step()`` alone (readouts read later, as after a seek), and a stepper that neither records nor reads out;
* the cost of making the window's stepper (once per sample or edit), and of a seek to the end and back.

    python3 bench/bench_stepper.py        # a few seconds
    python3 bench/bench_stepper.py --units 64 --T 200
    OPENBLAS_NUM_THREADS=1 python3 bench/bench_stepper.py    # as in the window, which holds OpenBLAS to one thread

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
from engine.parallel import cores  # noqa: E402


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
    steps = model.stepper(x, record=False, readout=False).total_steps()

    def predict():
        t0 = time.perf_counter()
        model.predict(x)
        return (time.perf_counter() - t0) / steps

    def stepper(record: bool, readout: bool, read_each_step: bool):
        st = model.stepper(x, record=record, readout=readout)
        t0 = time.perf_counter()
        if read_each_step:
            while st.step() is not None:
                st.readouts[-1]
        else:
            while st.step() is not None:
                pass
        return (time.perf_counter() - t0) / steps

    def make():
        t0 = time.perf_counter()
        model.stepper(x, record=True, readout=True)
        return time.perf_counter() - t0

    cases = {
        "predict(x[:1]) / steps": predict,
        "window: step() + read its readout": lambda: stepper(True, True, True),
        "window: step() alone": lambda: stepper(True, True, False),
        "stepper(record=False, readout=False).step()": lambda: stepper(False, False, False),
    }
    for f in cases.values():  # warm up (the stepped weights are built on first use)
        f()
    best = {k: float("inf") for k in cases}
    best_make = float("inf")
    for _ in range(args.reps):
        for k, f in cases.items():
            best[k] = min(best[k], f())
        best_make = min(best_make, make())

    print(f"2×LSTM({args.units}) → Dense(1), T={args.T}, batch 1, {steps} steps; OpenBLAS on {cores().blas_threads()} "
          f"thread(s); {load_note()}")
    width = max(len(k) for k in cases)
    ref = best["predict(x[:1]) / steps"]
    for k, v in best.items():
        print(f"  {k:{width}s}  {v * 1e6:7.1f} µs/step  ({v / ref:.2f}x predict's)")
    st = model.stepper(x, record=True, readout=True)
    t0 = time.perf_counter()
    st.seek(steps)
    st.readouts
    t_seek = time.perf_counter() - t0
    t0 = time.perf_counter()
    st.seek(steps // 2)
    st.readouts
    t_back = time.perf_counter() - t0
    print(f"  making the window's stepper {best_make * 1e6:.0f} µs; seek to the end and read every readout "
          f"{t_seek * 1e3:.1f} ms, back to the middle (replays from the start) {t_back * 1e3:.1f} ms")
    print(f"  stalls noticed: {cores().stalls}")


if __name__ == "__main__":
    main()
