"""Batch-1 predict while another process keeps a core busy: what the stall guard (engine/parallel.py) is for.

OpenBLAS spreads a batch-1 step's matrix-vector product over its threads; when another process holds a core, its
worker can wait a whole time slice. This prints the distribution of ``predict(x[:1])`` for the model of
bench_predict.py (2×LSTM(256) → Dense(1), T=50, written with h5py, no Keras) in three settings: the machine as it
is, one core busy and both cores busy (busy = a Python process spinning, started and stopped by this script, 10 s at
most each), each with the guard (the engine as shipped), without it (OpenBLAS's threads always) and with OpenBLAS
held to one thread.

    python3 bench/bench_contention.py          # about 30 s
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import load_note, model_weights, write_h5  # noqa: E402

import numpy as np  # noqa: E402

import engine  # noqa: E402
from engine import parallel  # noqa: E402

SPIN = "import time\nend = time.time() + 10\nwhile time.time() < end:\n    pass\n"


def distribution(model, x, n=150) -> str:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        model.predict(x)
        ts.append(time.perf_counter() - t0)
    p = np.percentile(np.array(ts) * 1e3, [50, 90, 99])
    return f"median {p[0]:5.2f} ms  p90 {p[1]:5.2f}  p99 {p[2]:6.2f}  max {max(ts) * 1e3:6.1f}"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_contention_"))
    path = tmp / "lstm2.h5"
    write_h5(path, 256, 50, 32, model_weights(256, 32, np.random.default_rng(0)))
    model = engine.load_model(path)
    path.unlink()
    tmp.rmdir()
    x = np.random.default_rng(1).standard_normal((1, 50, 32), dtype=np.float32)
    c = parallel.cores()
    if c.blas_threads() < 2:
        print("OpenBLAS runs one thread here (OPENBLAS_NUM_THREADS=1?): nothing to guard")
        return
    threads = c.blas_threads()
    make = parallel.StallGuard.make
    print(f"predict(x[:1]), 2×LSTM(256), T=50; {load_note()}")
    for busy in (0, 1, 2):
        spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(busy)]
        try:
            time.sleep(0.3)
            for label in ("guard (as shipped)", "OpenBLAS threads, no guard", "OpenBLAS on one thread"):
                c.stalled_until = 0.0
                stalls = c.stalls
                parallel.StallGuard.make = make if label.startswith("guard") else staticmethod(lambda batch: None)
                c.set(1 if "one thread" in label else threads)
                model.predict(x)
                line = distribution(model, x)
                extra = f"  ({c.stalls - stalls} stall(s) noticed)" if label.startswith("guard") else ""
                print(f"  {busy} core(s) busy, {label:27s} {line}{extra}", flush=True)
        finally:
            parallel.StallGuard.make = make
            c.set(threads)
            for p in spinners:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
