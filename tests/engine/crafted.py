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


# --- hostile files: each breaks one rule a Keras file never breaks -------------------------------------------------

KERNEL = "model_weights/lstm/lstm/lstm_cell/kernel:0"


def _replace_dataset(path, where, make):
    """Delete dataset ``where`` of an existing file and create it again with ``make(f, where, data)``."""
    with h5py.File(path, "r+") as f:
        data = f[where][()]
        del f[where]
        make(f, where, data)
    return path


def h5_external_storage(path, secret):
    """The LSTM kernel's bytes are declared to live in another file (``secret``): HDF5 external storage."""
    tiny_h5(path)
    n = FEATURES * 4 * UNITS * 4
    return _replace_dataset(path, KERNEL, lambda f, w, d: f.create_dataset(w, shape=d.shape, dtype=d.dtype,
                                                                            external=[(str(secret), 0, n)]))


def h5_external_link(path, other):
    """``model_weights/dense`` is an external link to the same group in another (valid) file."""
    tiny_h5(other)
    tiny_h5(path)
    with h5py.File(path, "r+") as f:
        del f["model_weights/dense"]
        f["model_weights/dense"] = h5py.ExternalLink(str(other), "/model_weights/dense")
    return path


def h5_soft_link(path):
    tiny_h5(path)
    with h5py.File(path, "r+") as f:
        f.move("model_weights/dense", "model_weights/dense_real")
        f["model_weights/dense"] = h5py.SoftLink("/model_weights/dense_real")
    return path


def h5_virtual_kernel(path, source_file=None):
    """The kernel is a virtual dataset mapping another file's dataset, or (``source_file=None``) itself."""
    tiny_h5(path)

    def make(f, where, data):
        layout = h5py.VirtualLayout(shape=data.shape, dtype=data.dtype)
        layout[...] = h5py.VirtualSource(str(source_file) if source_file else ".", where, shape=data.shape)
        f.create_virtual_dataset(where, layout, fillvalue=0)

    return _replace_dataset(path, KERNEL, make)


def h5_dataset(path, where=KERNEL, **kwargs):
    """Dataset ``where`` written again with h5py's create_dataset options (chunks, filters, dtype, maxshape)."""
    tiny_h5(path)
    dtype = kwargs.pop("dtype", None)
    return _replace_dataset(path, where, lambda f, w, d: f.create_dataset(w, data=d.astype(dtype or d.dtype), **kwargs))


def h5_linked_twice(path):
    """The dense layer's group is hard-linked under a second name, and layer_names lists both."""
    w = tiny_weights()
    tiny_h5(path)
    with h5py.File(path, "r+") as f:
        g = f["model_weights"]
        g["dense_again"] = g["dense"]
        g.attrs["layer_names"] = np.array([n.encode() for n in w] + [b"dense_again"], dtype="S")
    return path


def keras_members_with_weights(edit):
    """tiny_keras_members() with ``edit(h5py.File)`` applied to model.weights.h5."""
    members = tiny_keras_members()
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        edit(f)
    members["model.weights.h5"] = buf.getvalue()
    return members


def hardlink_chain(f, depth=40):
    """Inside the LSTM layer's group, ``depth`` groups each reachable twice from the one above (2^depth paths)."""
    groups = [f.create_group(f"chain/{i}") for i in range(depth + 1)]
    for a, b in zip(groups, groups[1:]):
        a["left"] = b
        a["right"] = b
    f["layers/lstm/chain"] = groups[0]
    del f["chain"]


def hardlink_cycle(f):
    f["layers/lstm/cell/loop"] = f["layers/lstm"]


def flipped(path, out, offset, xor):
    """A copy of ``path`` with one byte changed (``tools/find_crashers.py`` finds offsets worth flipping)."""
    raw = bytearray(open(path, "rb").read())
    raw[offset] ^= xor
    with open(out, "wb") as fh:
        fh.write(bytes(raw))
    return out


# --- zip oddities: patched bytes of a valid archive ----------------------------------------------------------------

def _central(raw: bytes, name: bytes) -> int:
    i = raw.index(b"PK\x01\x02")
    while True:
        if raw[i + 46:i + 46 + len(name)] == name:
            return i
        i = raw.index(b"PK\x01\x02", i + 4)


def _local(raw: bytes, name: bytes) -> int:
    cd = _central(raw, name)
    return int.from_bytes(raw[cd + 42:cd + 46], "little")


def patch_zip(path, name: str, central: dict | None = None, local: dict | None = None):
    """Overwrite fields of member ``name``'s central directory entry / local header: {offset: bytes}."""
    raw = bytearray(open(path, "rb").read())
    cd, lh = _central(raw, name.encode()), _local(raw, name.encode())
    for off, b in (central or {}).items():
        raw[cd + off:cd + off + len(b)] = b
    for off, b in (local or {}).items():
        raw[lh + off:lh + off + len(b)] = b
    with open(path, "wb") as fh:
        fh.write(bytes(raw))
    return path


def member_data_range(path, name: str):
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    raw = open(path, "rb").read()
    head = raw[info.header_offset:info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
    return start, start + info.compress_size


def chain_config(n: int, reverse: bool = False, class_name: str = "Activation", extra: dict | None = None):
    """A Functional model: an input, then ``n`` weightless layers each fed by the previous one (Keras 2 style);
    ``reverse`` lists the layers last first, so every layer appears before the one that feeds it."""
    layers = [{"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
               "config": {"name": "in", "batch_input_shape": [None, 4, FEATURES], "dtype": "float32"}}]
    prev = "in"
    for i in range(n):
        name = f"a{i}"
        cfg = {"name": name, "activation": "linear", **(extra or {})}
        layers.append({"class_name": class_name, "name": name, "config": cfg, "inbound_nodes": [[[prev, 0, 0, {}]]]})
        prev = name
    if reverse:
        layers = layers[:1] + layers[:0:-1]
    return {"class_name": "Functional", "config": {"name": "chain", "layers": layers,
                                                   "input_layers": [["in", 0, 0]], "output_layers": [[prev, 0, 0]]}}


def weightless_h5(path, config, keras_version="2.21.0"):
    """A Keras 2 full-model file whose layers have no weights (a config-only test)."""
    return tiny_h5(path, config=config, weights={}, keras_version=keras_version)


# --- bounds: sizes a config or an input controls ----------------------------------------------------------------------
def repeat_config(*ns):
    """LSTM(3) → RepeatVector(n0) → Flatten → RepeatVector(n1) → …: each stage multiplies the output size (no Dense:
    its kernel would have to match the amplified width). Use with ``lstm_only_weights()``."""
    extra = []
    for k, n in enumerate(ns):
        if k:
            extra.append({"class_name": "Flatten", "config": {"name": f"flat{k}"}})
        extra.append({"class_name": "RepeatVector", "config": {"name": f"rep{k}", "n": n}})
    cfg = tiny_config(extra)
    cfg["config"]["layers"].pop()
    return cfg


def lstm_only_weights():
    return {"lstm": tiny_weights()["lstm"]}


def npy_with_header(path, shape, payload=b"\0" * 64, descr="<f4"):
    """An .npy whose header declares ``shape`` whatever the bytes after it."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
        f.write(payload)
    return path


def npz_bomb(path, mbytes=192):
    """An .npz whose x_0.npy is ``mbytes`` MB of zeros, deflated ~1000 times."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("x_0.npy", "w", force_zip64=True) as m:
        np.lib.format.write_array_header_1_0(m, {"descr": "<f4", "fortran_order": False,
                                                 "shape": (mbytes * 1024**2 // 4,)})
        for _ in range(mbytes // 16):
            m.write(bytes(1 << 24))
    return path


def bidirectional_config(merge_mode, bw_units, fw_units=UNITS):
    """Bidirectional with an explicit backward layer of ``bw_units`` (Keras allows it under concat only)."""
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Bidirectional", "config": {
            "name": "bi", "merge_mode": merge_mode, "batch_input_shape": [None, 4, FEATURES],
            "layer": {"class_name": "LSTM", "config": {"name": "f", "units": fw_units}},
            "backward_layer": {"class_name": "LSTM", "config": {"name": "b", "units": bw_units, "go_backwards": True}}}}]}}


def bidirectional_weights(bw_units, fw_units=UNITS):
    rng = np.random.RandomState(0)
    arrays = []
    for u in (fw_units, bw_units):
        arrays += [(f"k{u}", rng.randn(FEATURES, 4 * u).astype("f4")), (f"r{u}", rng.randn(u, 4 * u).astype("f4")),
                   (f"b{u}", rng.randn(4 * u).astype("f4"))]
    return {"bi": arrays}


def keras3_op_model(path, op_class, op_config):
    """A .keras whose Functional config applies one keras.ops operation to its (None, 4, 2) input; no weights."""
    def tensor(name):
        return {"class_name": "__keras_tensor__", "config": {"shape": [None, 4, FEATURES], "dtype": "float32",
                                                             "keras_history": [name, 0, 0]}}

    layers = [
        {"module": "keras.layers", "class_name": "InputLayer", "name": "in", "inbound_nodes": [],
         "config": {"name": "in", "batch_shape": [None, 4, FEATURES], "dtype": "float32"}},
        {"module": "keras.src.ops.numpy", "class_name": op_class, "name": "op", "config": {"name": "op", **op_config},
         "inbound_nodes": [{"args": [tensor("in")], "kwargs": {}}]},
    ]
    cfg = {"class_name": "Functional", "config": {"name": "m", "layers": layers, "input_layers": [["in", 0, 0]],
                                                  "output_layers": [["op", 0, 0]]}}
    buf = io.BytesIO()
    with h5py.File(buf, "w"):
        pass
    members = tiny_keras_members()
    members["config.json"] = json.dumps(cfg).encode()
    members["model.weights.h5"] = buf.getvalue()
    return keras_zip(path, members)
