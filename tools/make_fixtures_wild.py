"""Real-Keras fixtures for what real users' files need (issue 11, part A): masks in Keras 3 Sequential models,
advanced activation layers, diverged (NaN/inf) weights, tf.keras's own ``.keras`` layout (also as written on
Windows, with backslashes in the weight paths) and a Keras 3 model saved before it was built.

Run with the ``keras`` extra installed:  python tools/make_fixtures_wild.py [name ...]

Each case is built with Keras 2 (tf_keras, saved as ``k2h5/NAME.h5`` and, in tf.keras's own .keras layout,
``k2keras/NAME.keras``) and with Keras 3 (``k3h5/NAME.h5``, ``k3keras/NAME.keras``), where that Keras has the layer
and can reload its own file. ``NAME.npz`` next to each model holds ``x_<i>``, ``y_<i>`` (Keras' ``predict``) and
``layer__<name>`` (Keras' per-layer outputs). Entries go to ``tests/fixtures/MANIFEST_wild.json`` (tag "wild").

``k2keras/NAME_win.keras`` mirror the layout tf.keras 2.15 wrote on Windows (``layers\\dense/vars/0``: one group
per path, backslashes in its name), made from tf_keras' own archive by renaming the weight groups; their expected
outputs are that same Keras model's.

``k3keras/wild_unbuilt.keras`` (not in the manifest: there is nothing to run) is a Keras 3 Sequential model saved
before it was built: no input shape, no weights. ``wild_illcond_gru`` (not in the manifest either: float32 cannot be
held to 1e-5 on it) is an ill-conditioned model whose ``.npz`` also holds ``y64_0``, the same model rebuilt by Keras
in float64.
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_common import (  # noqa: E402
    keras_for, layer_outputs, merge_manifest, randomise, reset_states, run_workers, seed_case,
)

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
MANIFEST = FIX / "MANIFEST_wild.json"
PREFIX = "wild_"
B = 3


def xs_float(*shapes, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randn(B, *s).astype("float32") for s in shapes]


def padded(T, F, pre: bool, seed=0):
    """Rows with zero (masked) steps: pre- or post-padded by 1, 2 and 3 steps, and a hole in one row."""
    x = xs_float((T, F), seed=seed)[0]
    for b, n in enumerate((1, 2, 3)):
        if pre:
            x[b, :n] = 0.0
        else:
            x[b, T - n:] = 0.0
    x[0, T // 2] = 0.0
    return [x]


def tokens(T, vocab, pre: bool, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randint(1, vocab, size=(B, T)).astype("int32")
    for b, n in enumerate((0, 2, 3)):
        if n:
            if pre:
                x[b, :n] = 0
            else:
                x[b, T - n:] = 0
    return [x]


def seq(K, layers, shape, dtype="float32"):
    return K.Sequential([K.Input(shape=shape, dtype=dtype)] + layers)


# --- 1. masks in Sequential models ----------------------------------------------------------------------------------
def c_seq_mask_lstm_post(K, major):
    return seq(K, [K.layers.Masking(0.0), K.layers.LSTM(4, return_sequences=True), K.layers.LSTM(3),
                   K.layers.Dense(2)], (7, 3)), padded(7, 3, pre=False)


def c_seq_mask_gru_pre(K, major):
    return seq(K, [K.layers.Masking(0.0), K.layers.GRU(4, return_sequences=True), K.layers.Dense(3),
                   K.layers.GRU(3), K.layers.Dense(2)], (7, 3)), padded(7, 3, pre=True)


def c_seq_mask_simplernn(K, major):
    return seq(K, [K.layers.Masking(0.0), K.layers.SimpleRNN(4, return_sequences=True),
                   K.layers.SimpleRNN(3, go_backwards=True), K.layers.Dense(2)], (6, 2)), padded(6, 2, pre=False)


def c_seq_mask_bidi(K, major):
    return seq(K, [K.layers.Masking(0.0), K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=True)),
                   K.layers.Bidirectional(K.layers.GRU(2), merge_mode="sum"), K.layers.Dense(2)], (6, 3)), \
        padded(6, 3, pre=True)


def c_seq_embed_gru_pre(K, major):
    return seq(K, [K.layers.Embedding(20, 4, mask_zero=True), K.layers.GRU(5), K.layers.Dense(2)],
               (8,), "int32"), tokens(8, 20, pre=True)


def c_seq_embed_lstm_post(K, major):
    return seq(K, [K.layers.Embedding(20, 4, mask_zero=True), K.layers.LSTM(4, return_sequences=True),
                   K.layers.Dense(3, activation="tanh"), K.layers.SimpleRNN(3), K.layers.Dense(1)],
               (8,), "int32"), tokens(8, 20, pre=False)


# --- 3. advanced activation layers ------------------------------------------------------------------------------------
def c_act_leaky_elu(K, major):
    leaky = K.layers.LeakyReLU(**({"alpha": 0.15} if major == 2 else {"negative_slope": 0.15}))
    return seq(K, [K.layers.LSTM(5, return_sequences=True), leaky, K.layers.LSTM(4), K.layers.Dense(3),
                   K.layers.ELU(alpha=0.7), K.layers.Dense(2), K.layers.LeakyReLU()], (6, 3)), xs_float((6, 3))


def c_act_relu_options(K, major):
    inp = K.Input(shape=(6, 3))
    h = K.layers.GRU(5, return_sequences=True)(inp)
    a = K.layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2)(h)
    b = K.layers.ReLU(max_value=6.0)(K.layers.Dense(5)(h))
    c = K.layers.ReLU(negative_slope=0.25)(h)
    d = K.layers.ReLU(threshold=0.3)(h)
    m = K.layers.Concatenate()([a, b, c, d])
    out = K.layers.Dense(2)(K.layers.LSTM(3)(m))
    return K.Model(inp, out), [x * 3 for x in xs_float((6, 3))]


def c_act_prelu(K, major):
    return seq(K, [K.layers.LSTM(4, return_sequences=True), K.layers.PReLU(shared_axes=[1]), K.layers.LSTM(3),
                   K.layers.Dense(4), K.layers.PReLU(), K.layers.Dense(2)], (5, 3)), xs_float((5, 3))


def c_act_prelu_per_step(K, major):
    """PReLU with one alpha per timestep and unit (no shared axes): it needs the whole sequence."""
    return seq(K, [K.layers.LSTM(4, return_sequences=True), K.layers.PReLU(), K.layers.GRU(3),
                   K.layers.Dense(2)], (5, 3)), xs_float((5, 3))


def c_act_softmax(K, major):
    inp = K.Input(shape=(6, 3))
    h = K.layers.LSTM(4, return_sequences=True)(inp)
    a = K.layers.Softmax()(h)
    b = K.layers.Softmax(axis=1)(h)
    m = K.layers.Add()([a, b])
    out = K.layers.Softmax()(K.layers.Dense(3)(K.layers.SimpleRNN(4)(m)))
    return K.Model(inp, out), xs_float((6, 3))


def c_act_thresholded(K, major):
    if major != 2:
        raise Skip("ThresholdedReLU is Keras 2 only")
    return seq(K, [K.layers.LSTM(4, return_sequences=True), K.layers.ThresholdedReLU(theta=0.2), K.layers.LSTM(3),
                   K.layers.Dense(2)], (5, 3)), xs_float((5, 3))


# --- 2. diverged models ------------------------------------------------------------------------------------------------
def _poison(model, layer_name, index, where, value):
    layer = model.get_layer(layer_name)
    ws = layer.get_weights()
    ws[index][where] = value
    layer.set_weights(ws)


def c_nan_lstm_gate(K, major):
    """A NaN in one unit's forget-gate input weight: every output NaN after the recurrence mixes it in."""
    m = seq(K, [K.layers.LSTM(4, return_sequences=True, name="lstm_a"), K.layers.LSTM(3, name="lstm_b"),
                K.layers.Dense(2, name="head")], (5, 3))
    return m, xs_float((5, 3)), [("lstm_a", 0, (1, 4 + 2), np.nan)]


def c_nan_dense_inf(K, major):
    """An inf in the head's kernel and a NaN in its bias: NaN/inf in some outputs only."""
    m = seq(K, [K.layers.GRU(4, name="gru_a"), K.layers.Dense(3, name="head")], (5, 3))
    return m, xs_float((5, 3)), [("head", 0, (1, 0), np.inf), ("head", 1, (2,), np.nan)]


class Skip(Exception):
    pass


# --- float64: an ill-conditioned model (not in the manifest: float32 cannot be held to 1e-5 on it) ---------------------
def illcond_model(K):
    """A wide GRU with large weights over 40 steps: float32 rounding is amplified far beyond 1e-5."""
    return K.Sequential([K.Input(shape=(40, 6)), K.layers.GRU(48, return_sequences=True), K.layers.GRU(48),
                         K.layers.Dense(4)])  # the input in floatx: float64 for the rebuild


def set_floatx(K, major, value):
    if major == 2:
        K.backend.set_floatx(value)
    else:
        K.config.set_floatx(value)
        K.config.set_dtype_policy(value)


def illcond(K, tf, major):
    """``wild_illcond_gru`` in each format: ``y_0`` from Keras in float32, ``y64_0`` from the same model rebuilt by
    Keras in float64 with the same weights."""
    seed = 4242 + major
    K.utils.set_random_seed(seed)
    rng = np.random.RandomState(seed)
    x = rng.randn(64, 40, 6).astype("float32")  # many samples: rounding is compared by its typical size, not a max
    model = illcond_model(K)
    ws = [(rng.randn(*w.shape) * 0.62).astype("float32") for w in model.get_weights()]
    model.set_weights(ws)
    y32 = model.predict(x, verbose=0)
    set_floatx(K, major, "float64")
    try:
        m64 = illcond_model(K)
        m64.set_weights([w.astype("float64") for w in ws])
        y64 = m64.predict(x.astype("float64"), verbose=0)
    finally:
        set_floatx(K, major, "float32")
    kf = float(np.max(np.abs(y32.astype("float64") - y64)))
    print(f"keras{major} wild_illcond_gru: Keras float32 is {kf:.2e} from float64", flush=True)
    data = {"x_0": x, "y_0": y32.astype("float32"), "y64_0": y64}
    formats = [("k2h5", ".h5")] if major == 2 else [("k3keras", ".keras"), ("k3h5", ".h5")]
    for fmt, ext in formats:
        path = FIX / fmt / ("wild_illcond_gru" + ext)
        save_checked(K, model, path, [x], [y32])
        np.savez_compressed(FIX / fmt / "wild_illcond_gru.npz", **data)


CASES = {name[2:]: fn for name, fn in dict(globals()).items() if name.startswith("c_") and callable(fn)}
EXTRA = ("unbuilt", "illcond")  # fixtures outside the manifest, for their own tests
TAGS = {n: ["mask"] for n in CASES if "mask" in n or "embed" in n}
TAGS.update({n: ["activation"] for n in CASES if n.startswith("act_")})
TAGS.update({n: ["nonfinite"] for n in CASES if n.startswith("nan_")})


# ------------------------------------------------------------------------------------------------------------------------
def _same(a, b):
    return np.allclose(a, b, atol=1e-6, equal_nan=True)


def save_checked(K, model, mpath, xs, ys):
    """Save, reload with Keras itself, check the reloaded model predicts the same (NaN where NaN)."""
    if mpath.exists():
        mpath.unlink()
    model.save(str(mpath))
    re = K.models.load_model(str(mpath), compile=False)
    reset_states(re)
    ry = re.predict(xs, verbose=0)
    ry = list(ry) if isinstance(ry, (list, tuple)) else [ry]
    for a, b in zip(ry, ys):
        assert _same(a, b), f"{mpath.name}: reloaded model differs"


def windows_layout(src: Path, dst: Path) -> None:
    """The same archive with the weights member rewritten as tf.keras 2.15 wrote it on Windows: every group that
    holds variables is a root group named with backslashes (``layers\\lstm\\cell``), its ``vars`` inside."""
    import h5py

    zin = zipfile.ZipFile(src)
    raw = zin.read("model.weights.h5")
    groups = {}
    with h5py.File(io.BytesIO(raw), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Group) and "vars" in obj:
                groups[name] = {k: obj["vars"][k][()] for k in obj["vars"]}
        f.visititems(visit)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as g:
        g.create_group("vars")  # the root's own (empty), as tf.keras writes it
        for name, arrays in groups.items():
            grp = g.create_group(name.replace("/", "\\"))
            v = grp.create_group("vars")
            for k, a in arrays.items():
                v.create_dataset(k, data=a)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = buf.getvalue() if info.filename == "model.weights.h5" else zin.read(info.filename)
            zout.writestr(info.filename, data)


def generate(major: int, names: list[str]) -> list[dict]:
    K, tf = keras_for(major)

    entries = []
    for name in names:
        if name in EXTRA:
            continue
        try:
            entries.extend(generate_one(K, tf, major, name))
        except Skip as e:
            print(f"keras{major} {PREFIX + name}: skipped ({e})", flush=True)
        except Exception as e:  # report and go on with the other cases
            print(f"keras{major} {PREFIX + name}: FAILED {type(e).__name__}: {str(e)[:300]}", flush=True)
    if major == 3 and "unbuilt" in names:
        unbuilt(K)
    if "illcond" in names:
        illcond(K, tf, major)
    return entries


def unbuilt(K):
    m = K.Sequential([K.layers.LSTM(4, return_sequences=True), K.layers.GRU(3), K.layers.Dense(2)], name="unbuilt")
    path = FIX / "k3keras" / (PREFIX + "unbuilt.keras")
    m.save(str(path))
    print(f"keras3 {path.name}: ok (unbuilt)", flush=True)


def generate_one(K, tf, major, name):
    fn = CASES[name]
    seed = seed_case(K, tf, name, major)
    made = fn(K, major)
    model, xs = made[0], made[1]
    randomise(model, np.random.RandomState(seed))
    for lname, idx, where, value in (made[2] if len(made) > 2 else []):
        _poison(model, lname, idx, where, value)
    ys = model.predict(xs, verbose=0)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    data = {f"x_{i}": x for i, x in enumerate(xs)}
    data.update({f"y_{i}": np.asarray(y, dtype="float32") for i, y in enumerate(ys)})
    data.update(layer_outputs(K, model, xs, major))
    fname = PREFIX + name
    formats = [("k2h5", ".h5"), ("k2keras", ".keras")] if major == 2 else [("k3keras", ".keras"), ("k3h5", ".h5")]
    entries = []
    tags = ["wild"] + TAGS.get(name, [])
    for fmt, ext in formats:
        d = FIX / fmt
        d.mkdir(parents=True, exist_ok=True)
        mpath = d / (fname + ext)
        try:
            save_checked(K, model, mpath, xs, ys)
        except Exception as e:  # Keras cannot round-trip this model in this format: no fixture for it
            print(f"keras{major} {fmt}/{fname}: SKIPPED, Keras itself fails: {type(e).__name__}: {str(e)[:200]}", flush=True)
            for leftover in (mpath, d / (fname + ".npz")):
                if leftover.exists():
                    leftover.unlink()
            continue
        np.savez_compressed(d / (fname + ".npz"), **data)
        entries.append({"name": fname, "format": fmt, "model": f"{fmt}/{fname}{ext}", "data": f"{fmt}/{fname}.npz",
                        "tags": tags, "keras": K.__version__})
        if fmt == "k2keras":
            wname = fname + "_win"
            windows_layout(mpath, d / (wname + ext))
            np.savez_compressed(d / (wname + ".npz"), **data)
            entries.append({"name": wname, "format": fmt, "model": f"{fmt}/{wname}{ext}", "data": f"{fmt}/{wname}.npz",
                            "tags": tags + ["crafted", "windows"], "keras": K.__version__})
    print(f"keras{major} {fname}: ok", flush=True)
    return entries


def main(argv):
    if argv and argv[0] == "--worker":
        major, out, names = int(argv[1]), argv[2], argv[3:]
        Path(out).write_text(json.dumps(generate(major, names)))
        return
    names = argv or sorted(CASES) + list(EXTRA)
    for n in names:
        if n not in CASES and n not in EXTRA:
            raise SystemExit(f"unknown case {n}; known: {sorted(CASES)} and {', '.join(EXTRA)}")
    all_entries = run_workers(__file__, (2, 3), names)
    merge_manifest(MANIFEST, all_entries)


if __name__ == "__main__":
    main(sys.argv[1:])
