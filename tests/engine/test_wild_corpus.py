"""The corpus of real users' Keras files in ``../shared/wild`` (or ``$LSTM_INSPECTOR_WILD``), judged as its
``run.py`` judges it: every model with a reference matches Keras' ``predict`` to 1e-5 (NaN where Keras has NaN
counts as equal), or, on an ill-conditioned model, is at least as close to Keras' float64 rebuild as Keras' own
float32 output is (within 1.5x); a model without one is described by ``info`` or refused in one clean line. The
float64 replay is held to Keras' float64 rebuild. Skipped, with the reason, where the corpus is absent: its files
keep their authors' licences and are never copied into the project."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.compare import max_abs_diff
from engine.inputs import load_inputs
from lstm_inspector import cli
from tests.engine.helpers import TOL

ROOT = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path | None:
    env = os.environ.get("LSTM_INSPECTOR_WILD")
    if env:
        return Path(env)
    for up in (ROOT.parent, ROOT.parent.parent):  # a checkout's ../shared/wild, or a worktree's ../../shared/wild
        p = up / "shared" / "wild"
        if (p / "models").is_dir():
            return p
    return None


WILD = corpus_dir()
MODELS = sorted(n for n in os.listdir(WILD / "models") if n.endswith((".h5", ".hdf5", ".keras"))) \
    if WILD is not None and (WILD / "models").is_dir() else []
needs_corpus = pytest.mark.skipif(not MODELS, reason="no real-world corpus: neither $LSTM_INSPECTOR_WILD nor "
                                                     "../shared/wild holds models/ (it is not part of the project)")


def files(name: str) -> dict:
    base = WILD / "models" / os.path.splitext(name)[0]
    found = {}
    for kind in ("x", "y", "y64"):
        for ext in (".npy", ".npz"):
            p = Path(f"{base}.{kind}{ext}")
            if p.exists():
                found[kind] = p
    ref = Path(f"{base}.ref.json")
    found["meta"] = json.loads(ref.read_text()) if ref.exists() else {}
    return found


def arrays(path: Path) -> list[np.ndarray]:
    if path.suffix == ".npz":
        with np.load(path) as d:
            return [d[f"output_{i}"] for i in range(len(d.files))]
    return [np.load(path)]


def outputs(model, xs) -> list[np.ndarray]:
    y = model.predict(xs)
    return y if isinstance(y, list) else [y]


@needs_corpus
def test_corpus_found():
    assert len(MODELS) >= 40


@needs_corpus
@pytest.mark.parametrize("name", MODELS)
def test_wild_model_matches_keras(name, capsys):
    f = files(name)
    path = WILD / "models" / name
    if "y" not in f or "x" not in f:  # no reference: info describes it, or refuses in one clean line
        rc = cli.main(["info", str(path)])
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert rc == 0 or (rc == 2 and len(lines) == 1 and lines[0].startswith("error:")), err
        return
    model = engine.load_model(path)
    xs = load_inputs(str(f["x"]))
    got = outputs(model, xs)
    refs = arrays(f["y"])
    assert [g.shape for g in got] == [r.shape for r in refs]
    err = max(max_abs_diff(g, r) for g, r in zip(got, refs))
    if err <= TOL:
        return
    kf = f["meta"].get("keras_f32_vs_f64")
    assert "y64" in f and kf is not None, f"max abs error {err:.3g} against Keras"
    e64 = max(max_abs_diff(g, r) for g, r in zip(got, arrays(f["y64"])))
    assert e64 <= max(1.5 * kf, TOL), f"max abs error {err:.3g}; vs float64 {e64:.3g}, Keras' own float32 {kf:.3g}"


@needs_corpus
@pytest.mark.parametrize("name", MODELS)
def test_wild_model_float64_matches_keras_float64(name):
    f = files(name)
    if "y64" not in f or "x" not in f:
        pytest.skip("no float64 reference")
    model = engine.load_model(WILD / "models" / name, dtype=np.float64)
    got = outputs(model, load_inputs(str(f["x"])))
    assert all(g.dtype == np.float64 for g in got)
    err = max(max_abs_diff(g, r) for g, r in zip(got, arrays(f["y64"])))
    assert err <= 1e-9, f"float64 replay {err:.3g} from Keras' float64 rebuild"
