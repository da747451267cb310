"""What the fixture generators share: randomised weights, Keras' own per-layer outputs, save-and-reload checks.

Used by tools/make_fixtures*.py (run with the ``keras`` extra installed), which share their plumbing from here too:
each Keras major version runs in a worker process of its own (``keras_for``, ``seed_case``, ``run_workers``) and the
entries the workers return are merged into the script's manifest (``merge_manifest``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def keras_for(major: int):
    """(Keras, TensorFlow) for Keras 2 (tf_keras) or Keras 3; a process can hold only one of the two Keras."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if major == 2:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras as K
    else:
        import keras as K
    import tensorflow as tf

    return K, tf


def seed_case(K, tf, name: str, major: int) -> int:
    """Seeds NumPy, TensorFlow and Keras from the case's name and Keras version (the fixtures are reproducible)."""
    s = sum(map(ord, name)) * 7 + major
    np.random.seed(s)
    tf.random.set_seed(s)
    K.utils.set_random_seed(s)
    return s


def run_workers(script, majors, names) -> list[dict]:
    """Runs ``script --worker MAJOR OUT NAME...`` once per Keras major version (each in a fresh interpreter) and
    returns the manifest entries the workers wrote to OUT."""
    entries = []
    for major in majors:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
            tmp = fh.name
        subprocess.run([sys.executable, str(script), "--worker", str(major), tmp, *names], check=True)
        entries.extend(json.loads(Path(tmp).read_text()))
        os.unlink(tmp)
    return entries


def merge_manifest(manifest: Path, entries: list[dict]) -> None:
    """The new entries replace the old ones of the same (name, format); the others are kept; sorted by both."""
    old = json.loads(manifest.read_text()) if manifest.exists() else []
    done = {(e["name"], e["format"]) for e in entries}
    merged = sorted([e for e in old if (e["name"], e["format"]) not in done] + entries,
                    key=lambda e: (e["name"], e["format"]))
    manifest.write_text(json.dumps(merged, indent=1) + "\n")
    print(f"{len(entries)} fixtures written; {manifest.relative_to(ROOT)} has {len(merged)} entries")


def randomise(model, rng):
    vals = []
    for w in model.weights:
        name = str(getattr(w, "path", None) or w.name)
        shape = tuple(int(d) for d in w.shape)
        if "moving_variance" in name:
            v = rng.uniform(0.5, 2.0, shape)
        elif "gamma" in name:
            v = rng.uniform(0.6, 1.4, shape)
        else:
            v = rng.randn(*shape) * 0.5
        vals.append(v.astype("float32"))
    model.set_weights(vals)


def reset_states(model):
    """Stateful layers start every predict from zero states, as the engine replays them."""
    for layer in model.layers:
        if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
            layer.reset_states()


def layer_outputs(K, model, xs, major):
    out = {}
    for layer in model.layers:
        cls = layer.__class__.__name__
        if cls == "InputLayer" or cls in ("Sequential", "Functional", "Model"):
            continue
        try:
            nodes = layer._inbound_nodes
            if len(nodes) != 1:
                continue
            t = layer.output
        except Exception:
            continue
        sub = K.Model(model.inputs, t)
        reset_states(model)
        ys = sub.predict(xs, verbose=0)
        if isinstance(ys, (list, tuple)):
            for k, y in enumerate(ys):
                out[f"layer__{layer.name}__{k}"] = np.asarray(y, dtype="float32")
        else:
            out[f"layer__{layer.name}"] = np.asarray(ys, dtype="float32")
    return out


def save_checked(K, model, mpath, xs, ys):
    """Save, then reload with Keras itself and check the saved file reproduces predict."""
    if mpath.exists():
        mpath.unlink()
    model.save(str(mpath))
    re = K.models.load_model(str(mpath), compile=False)
    reset_states(re)
    ry = re.predict(xs, verbose=0)
    ry = list(ry) if isinstance(ry, (list, tuple)) else [ry]
    for a, b in zip(ry, ys):
        assert np.allclose(a, b, atol=1e-6), f"{mpath.name}: reloaded model differs"
