"""Real-Keras fixtures for explaining ConvLSTM values: a ConvLSTM2D with more channels than the Explain panel's bar
chart shows (8 input channels, 12 filters: 20 terms per gate value, so the top N and "rest" are exercised), "same"
padding (its border positions read zeros). Built as tools/make_fixtures_conv.py builds its cases (the same ``hseq``
/ ``cseq`` per-step states from Keras), written to ``tests/fixtures/MANIFEST_explain_conv.json`` (tags "conv",
"convlstm").

Run with the ``keras`` extra installed:  python tools/make_fixtures_explain_conv.py [name ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures_conv as conv  # noqa: E402
from fixture_common import (  # noqa: E402
    keras_for, layer_outputs, merge_manifest, randomise, run_workers, save_checked, seed_case,
)

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
MANIFEST = FIX / "MANIFEST_explain_conv.json"
PREFIX = "xc_"


def c_convlstm2d_wide(K, major):
    """8 input channels into 12 filters, 3×3 "same", on a 5×5 grid, 3 steps."""
    L = K.layers
    inp = K.Input(shape=(3, 5, 5, 8))
    h = L.ConvLSTM2D(12, 3, padding="same", return_sequences=True, name="clstm_wide")(inp)
    return K.Model(inp, h), conv.xs_float((3, 5, 5, 8), seed=7)


CASES = {name[2:]: fn for name, fn in dict(globals()).items() if name.startswith("c_") and callable(fn)}


def generate(major: int, names: list[str]) -> list[dict]:
    K, tf = keras_for(major)
    entries = []
    for name in names:
        seed = seed_case(K, tf, PREFIX + name, major)
        model, xs = CASES[name](K, major)
        randomise(model, np.random.RandomState(seed))
        ys = model.predict(xs, verbose=0)
        ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
        data = {f"x_{i}": x for i, x in enumerate(xs)}
        data.update({f"y_{i}": np.asarray(y, dtype="float32") for i, y in enumerate(ys)})
        data.update(layer_outputs(K, model, xs, major))
        data.update(conv.rnn_states(K, model, xs))
        fname = PREFIX + name
        formats = [("k2h5", ".h5")] if major == 2 else [("k3keras", ".keras"), ("k3h5", ".h5")]
        for fmt, ext in formats:
            d = FIX / fmt
            d.mkdir(parents=True, exist_ok=True)
            save_checked(K, model, d / (fname + ext), xs, ys)
            np.savez_compressed(d / (fname + ".npz"), **data)
            entries.append({"name": fname, "format": fmt, "model": f"{fmt}/{fname}{ext}",
                            "data": f"{fmt}/{fname}.npz", "tags": ["conv", "convlstm"], "keras": K.__version__})
        print(f"keras{major} {fname}: ok", flush=True)
    return entries


def main(argv):
    if argv and argv[0] == "--worker":
        Path(argv[2]).write_text(json.dumps(generate(int(argv[1]), argv[3:])))
        return
    names = argv or sorted(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; known: {sorted(CASES)}")
    merge_manifest(MANIFEST, run_workers(__file__, (2, 3), names))


if __name__ == "__main__":
    main(sys.argv[1:])
