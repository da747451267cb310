"""What the fixture generators share: randomised weights, Keras' own per-layer outputs, save-and-reload checks.

Used by tools/make_fixtures.py and tools/make_fixtures_breadth.py (run with the ``keras`` extra installed).
"""
from __future__ import annotations

import numpy as np


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
