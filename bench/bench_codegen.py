"""What the code ``export-code`` writes costs against the engine's predict: ConvLSTM models.

Two models: every ConvLSTM fixture in tests/fixtures (their own data, a few frames of a few pixels), and the
ConvLSTM2D → ConvLSTM2D → Dense model of bench_convlstm.py (written with h5py into a temporary directory). For each,
the generated script's ``predict`` (imported, as a user would) and ``model.predict``, and the largest difference.

    python3 bench/bench_codegen.py                         # T=10 frames of 32×32×8, filters 32 and 16
    python3 bench/bench_codegen.py --size 64 --f1 64 --f2 32

Each figure is the best over several repetitions (the machine may be shared).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _util import fmt_time, load_note, timed  # noqa: E402
from bench_convlstm import model_options, write_model  # noqa: E402

import numpy as np  # noqa: E402


def load_script(py: str, tag: str):
    spec = importlib.util.spec_from_file_location(f"bench_exported_{tag}", py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compare(model, xs, tmp: Path, tag: str, reps: int) -> tuple[float, float, float]:
    from engine.codegen import write_code

    py, _ = write_code(model, tmp / tag, tag)
    mod = load_script(py, tag)
    arg = xs if len(xs) > 1 else xs[0]
    gen, _ = timed(lambda: mod.predict(arg), reps=reps)
    eng, _ = timed(lambda: model.predict(arg), reps=reps)
    a, b = mod.predict(arg), model.predict(arg)
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
    diff = max(float(np.max(np.abs(p - q))) for p, q in zip(a, b))
    return gen, eng, diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    model_options(ap)
    a = ap.parse_args()
    import engine
    from tests.fixture_index import FIXTURES, cases

    print(f"generated predict vs engine predict; {load_note()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for e in cases(include_tags=["convlstm"]):
            if e["format"] != "k3keras":
                continue
            model = engine.load_model(FIXTURES / e["model"])
            data = np.load(FIXTURES / e["data"], allow_pickle=False)
            xs = [data[f"x_{i}"] for i in range(len(model.graph.inputs))]
            gen, eng, diff = compare(model, xs, tmp, e["name"], reps=5)
            print(f"  {e['name']:<28} {str(xs[0].shape):<22} generated {fmt_time(gen):>9}   engine {fmt_time(eng):>9}"
                  f"   max diff {diff:.2g}")
        path = tmp / "conv.h5"
        rng = np.random.default_rng(0)
        write_model(path, a.T, a.size, a.channels, a.f1, a.f2, rng)
        model = engine.load_model(path)
        x = rng.standard_normal((8, a.T, a.size, a.size, a.channels)).astype(np.float32)
        print(f"ConvLSTM2D({a.f1}) → ConvLSTM2D({a.f2}) → Dense(1) over {a.T} frames of {a.size}×{a.size}×{a.channels}:")
        for batch in (1, 8):
            gen, eng, diff = compare(model, [x[:batch]], tmp, f"big_b{batch}", reps=3)
            print(f"  batch {batch}: generated {fmt_time(gen)}, engine {fmt_time(eng)} ({gen / eng:.1f}×), "
                  f"max diff {diff:.2g}")


if __name__ == "__main__":
    main()
