"""Hand-crafted Keras-like files for the error paths (valid files for parity come from real Keras, see fixtures).

``tiny_h5`` writes the Keras 2 full-model HDF5 outline around a small LSTM→Dense model; tests then break one thing.
"""
from __future__ import annotations

import copy
import io
import json
import zipfile

import h5py
import numpy as np

UNITS, FEATURES, OUT = 3, 2, 1


def tiny_config(extra_layers=()):
    layers = [
        {"class_name": "LSTM", "config": {"name": "lstm", "units": UNITS, "batch_input_shape": [None, 4, FEATURES],
                                         "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True}},
        *extra_layers,
        {"class_name": "Dense", "config": {"name": "dense", "units": OUT, "activation": "linear", "use_bias": True}},
    ]
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


def tiny_weights():
    rng = np.random.RandomState(0)
    return {
        "lstm": [("lstm/lstm_cell/kernel:0", rng.randn(FEATURES, 4 * UNITS).astype("f4")),
                 ("lstm/lstm_cell/recurrent_kernel:0", rng.randn(UNITS, 4 * UNITS).astype("f4")),
                 ("lstm/lstm_cell/bias:0", rng.randn(4 * UNITS).astype("f4"))],
        "dense": [("dense/kernel:0", rng.randn(UNITS, OUT).astype("f4")), ("dense/bias:0", rng.randn(OUT).astype("f4"))],
    }


def tiny_h5(path, config=None, weights=None, model_config_text=None, keras_version="2.21.0"):
    config = tiny_config() if config is None else config
    weights = tiny_weights() if weights is None else weights
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = keras_version
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = model_config_text if model_config_text is not None else json.dumps(config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([n.encode() for n in weights], dtype="S")
        for lname, arrays in weights.items():
            lg = g.create_group(lname)
            lg.attrs["weight_names"] = np.array([n.encode() for n, _ in arrays], dtype="S")
            for n, a in arrays:
                lg.create_dataset(n, data=a)
    return path


def keras_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def tiny_keras_members():
    """config.json / metadata.json / model.weights.h5 for a Keras 3 Sequential LSTM→Dense."""
    cfg = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4, FEATURES], "dtype": "float32", "name": "input_layer"}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": UNITS, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True}},
        {"class_name": "Dense", "config": {"name": "dense", "units": OUT, "activation": "linear", "use_bias": True}},
    ]}}
    buf = io.BytesIO()
    w = tiny_weights()
    with h5py.File(buf, "w") as f:
        for key, lname in (("lstm", "lstm"), ("dense", "dense")):
            grp = f.create_group(f"layers/{key}/cell/vars" if key == "lstm" else f"layers/{key}/vars")
            grp.attrs["name"] = lname
            for i, (_, a) in enumerate(w[lname]):
                grp.create_dataset(str(i), data=a)
    return {"metadata.json": json.dumps({"keras_version": "3.15.1"}).encode(), "config.json": json.dumps(cfg).encode(),
            "model.weights.h5": buf.getvalue()}


def with_layer(config, index, layer):
    cfg = copy.deepcopy(config)
    cfg["config"]["layers"].insert(index, layer)
    return cfg
