"""Load speed of a large model: ``engine.load_model`` on 2×LSTM(2048) → Dense(1) (about 50 M float32 weights,
~200 MB), as Keras 2 HDF5 (.h5) and as Keras 3 native (.keras), both written with h5py into a temporary directory
(never kept; no Keras needed). The GUI's goal is first paint within 1.5 s of opening, so loading should take well
under a second.

    python3 bench/bench_load.py          # about half a minute, most of it writing the files
    python3 bench/bench_load.py --units 1024

Figures are the best of several loads with the file in the OS page cache (the usual case right after saving or
copying a model); the first load is printed too. The peak extra memory of a load is reported from tracemalloc's
view of NumPy allocations (an isolated load's weights live in shared memory mapped from the reader process, which
tracemalloc does not see). Each file is loaded the way a user's file is (in the reader process,
engine/reader_process.py) and, for the cost of that isolation, in this process (``isolated=False``).
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import fmt_time, load_note, model_weights, write_h5, write_keras  # noqa: E402

import numpy as np  # noqa: E402

import engine  # noqa: E402

T, F = 20, 32


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", type=int, default=2048)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_load_"))
    weights = model_weights(args.units, F, np.random.default_rng(0))
    files = {".h5": tmp / "big.h5", ".keras": tmp / "big.keras"}
    t0 = time.perf_counter()
    write_h5(files[".h5"], args.units, T, F, weights)
    write_keras(files[".keras"], args.units, T, F, weights)
    print(f"wrote 2×LSTM({args.units}) in {time.perf_counter() - t0:.1f} s; {load_note()}")

    for (kind, path), isolated in ((kp, iso) for kp in files.items() for iso in (True, False)):
        size = path.stat().st_size / 1e6
        times = []
        for _ in range(args.reps):
            gc.collect()
            t = time.perf_counter()
            m = engine.load_model(path, isolated=isolated)
            times.append(time.perf_counter() - t)
            del m
        gc.collect()
        tracemalloc.start()
        m = engine.load_model(path, isolated=isolated)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ok = all(np.array_equal(m.layer(n).kernel, weights[n][0][1]) for n in weights)
        # what the GUI does next: a stepper on one sample and its first step (builds each LSTM's step weights)
        x1 = np.zeros((1, T, F), np.float32)
        t = time.perf_counter()
        m.stepper(x1, record=True, readout=True).step()
        t_first = time.perf_counter() - t
        print(f"{kind:7s} {'isolated' if isolated else 'in-process':10s} {size:6.0f} MB  load best {fmt_time(min(times))}, first {fmt_time(times[0])}, "
              f"median {fmt_time(sorted(times)[len(times) // 2])};  peak traced memory {peak / 1e6:.0f} MB "
              f"({peak / (path.stat().st_size):.1f}x the file); weights {'match' if ok else 'DIFFER'}; "
              f"{m.param_count():,} parameters; then stepper + first step {fmt_time(t_first)}")
        del m
    for p in files.values():
        p.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
