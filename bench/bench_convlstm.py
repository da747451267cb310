"""What a ConvLSTM model costs in the engine: predict, and the window's step (step, then that step's readout).

The model, written with h5py into a temporary directory (Keras 2 HDF5 layout, no Keras needed): frames (T, S, S, C)
→ ConvLSTM2D(F1, 3×3, "same", return_sequences) → ConvLSTM2D(F2, 3×3, "same") → Flatten → Dense(1).

    python3 bench/bench_convlstm.py                         # T=10 frames of 32×32×8, filters 32 and 16
    python3 bench/bench_convlstm.py --size 64 --f1 64 --f2 32

Each figure is the best over several interleaved repetitions (the machine may be shared).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import fmt_time, load_note, timed, write_sequential_h5  # noqa: E402

import numpy as np  # noqa: E402


def write_model(path, T: int, S: int, C: int, f1: int, f2: int, rng) -> None:
    def conv(name, filters, seq, first=False):
        cfg = {"name": name, "filters": filters, "kernel_size": [3, 3], "padding": "same", "return_sequences": seq,
               "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True}
        if first:
            cfg["batch_input_shape"] = [None, T, S, S, C]
        return {"class_name": "ConvLSTM2D", "config": cfg}

    layers = [conv("clstm_1", f1, True, first=True), conv("clstm_2", f2, False),
              {"class_name": "Flatten", "config": {"name": "flat"}},
              {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]

    def w(*shape):
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    weights = {
        "clstm_1": [("kernel", w(3, 3, C, 4 * f1)), ("recurrent_kernel", w(3, 3, f1, 4 * f1)), ("bias", w(4 * f1))],
        "clstm_2": [("kernel", w(3, 3, f1, 4 * f2)), ("recurrent_kernel", w(3, 3, f2, 4 * f2)), ("bias", w(4 * f2))],
        "flat": [],
        "dense": [("kernel", w(S * S * f2, 1)), ("bias", w(1))],
    }
    write_sequential_h5(path, "conv", layers, weights)


def model_options(ap: argparse.ArgumentParser) -> None:
    """The options of ``write_model``'s model: frames, their size and channels, the two layers' filters."""
    ap.add_argument("--T", type=int, default=10)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--f1", type=int, default=32)
    ap.add_argument("--f2", type=int, default=16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    model_options(ap)
    a = ap.parse_args()
    import engine

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conv.h5"
        write_model(path, a.T, a.size, a.channels, a.f1, a.f2, rng)
        model = engine.load_model(path)
    x = rng.standard_normal((8, a.T, a.size, a.size, a.channels)).astype(np.float32)
    print(f"ConvLSTM2D({a.f1}) → ConvLSTM2D({a.f2}) → Dense(1) over {a.T} frames of {a.size}×{a.size}×{a.channels}; "
          f"{load_note()}")
    for batch in (1, 8):
        best, med = timed(lambda: model.predict(x[:batch]), reps=5)
        print(f"  predict, batch {batch}: {fmt_time(best)} (median {fmt_time(med)}), {fmt_time(best / a.T)} per step")

    def window_steps():
        st = model.stepper(x[:1], record=True, readout=True)
        while st.step() is not None:
            st.readouts  # noqa: B018  (the window reads the step's readout to plot it)

    best, med = timed(window_steps, reps=5)
    print(f"  the window's stepper, every step with its readout: {fmt_time(best)} (median {fmt_time(med)}), "
          f"{fmt_time(best / a.T)} per step")


if __name__ == "__main__":
    main()
