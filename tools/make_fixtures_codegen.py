"""Real-Keras fixtures for the layer options the conv fixtures (make_fixtures_conv.py) leave out, so that the code
``export-code`` writes for them is checked against Keras too: ZeroPadding1D/3D and Cropping1D/3D, Conv3D and the 3-D
pooling layers in channels_first, SpatialDropout3D, TimeDistributed around 1-D layers, ConvLSTM1D/3D in
channels_first, a ConvLSTM2D going backwards over its whole sequence, and (Keras 3) a ConvLSTM2D given a mask.

Run with the ``keras`` extra installed:  python tools/make_fixtures_codegen.py [name ...]

As make_fixtures_conv.py: each case is built with Keras 2 (tf_keras, ``k2h5/NAME.h5``) and Keras 3 (``k3h5/NAME.h5``,
``k3keras/NAME.keras``), each flavour in its own process; a case or format Keras itself cannot build, run or reload
gets no fixture, and the run says so. ``NAME.npz`` holds ``x_<i>``, ``y_<i>`` (Keras' predict), ``layer__<name>[__<k>]``
and ``hseq__`` / ``cseq__`` for ConvLSTMs fed causally. Entries go to ``tests/fixtures/MANIFEST_codegen.json``
(tagged "conv", "codegen").
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_common import (  # noqa: E402
    keras_for, layer_outputs, merge_manifest, randomise, run_workers, save_checked, seed_case,
)
from make_fixtures_conv import rnn_states  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
MANIFEST = FIX / "MANIFEST_codegen.json"
PREFIX = "cg_"
B = 2


def xs_float(*shapes, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randn(B, *s).astype("float32") for s in shapes]


# --- cases: each takes the Keras module K and returns (model, [inputs]) ------------------------------------------------
def c_pad_crop_1d(K, major):
    """ZeroPadding1D / Cropping1D around a Conv1D on a sequence, and the same per frame through TimeDistributed."""
    L, TD = K.layers, K.layers.TimeDistributed
    seq = K.Input(shape=(7, 3), name="seq")
    h = L.ZeroPadding1D((2, 1), name="pad1")(seq)
    h = L.Conv1D(4, 3, activation="tanh", name="conv1")(h)
    h = L.Cropping1D((1, 2), name="crop1")(h)
    a = L.LSTM(3, name="lstm_a")(h)
    frames = K.Input(shape=(4, 6, 2), name="rows")
    g = TD(L.ZeroPadding1D(1), name="td_pad1")(frames)
    g = TD(L.Conv1D(3, 3, strides=2), name="td_conv1")(g)
    g = TD(L.Cropping1D((0, 1)), name="td_crop1")(g)
    g = TD(L.GlobalAveragePooling1D(), name="td_gap1")(g)
    b = L.LSTM(2, name="lstm_b")(g)
    return K.Model([seq, frames], L.Concatenate(name="cat")([a, b])), xs_float((7, 3), (4, 6, 2))


def c_volumes(K, major):
    """ZeroPadding3D, Conv3D with strides, SpatialDropout3D, Cropping3D, "same" 3-D pooling, GlobalMaxPooling3D."""
    L = K.layers
    inp = K.Input(shape=(6, 5, 4, 2), name="vol")
    h = L.ZeroPadding3D(((1, 0), (0, 1), (1, 1)), name="pad3")(inp)
    h = L.Conv3D(3, 2, strides=(2, 1, 1), activation="relu", name="conv3")(h)
    h = L.SpatialDropout3D(0.4, name="sdrop3")(h)
    h = L.Cropping3D(((0, 1), (1, 0), (0, 0)), name="crop3")(h)
    h = L.AveragePooling3D(2, strides=1, padding="same", name="avg3")(h)
    h = L.MaxPooling3D((1, 2, 2), padding="same", name="max3")(h)
    g = L.GlobalMaxPooling3D(name="gmp3")(h)
    out = L.Concatenate(name="cat")([L.Flatten(name="flat")(h), g])
    return K.Model(inp, out), xs_float((6, 5, 4, 2))


def c_volumes_cf(K, major):
    """The 3-D layers in channels_first."""
    L = K.layers
    cf = "channels_first"
    inp = K.Input(shape=(2, 5, 6, 4), name="vol")
    h = L.ZeroPadding3D((1, 0, 1), data_format=cf, name="pad3")(inp)
    h = L.Conv3D(3, (2, 3, 2), dilation_rate=(1, 2, 1), padding="same", activation="tanh", data_format=cf,
                 name="conv3")(h)
    h = L.Cropping3D(((1, 0), (0, 0), (1, 1)), data_format=cf, name="crop3")(h)
    h = L.MaxPooling3D(2, strides=1, data_format=cf, name="max3")(h)
    h = L.AveragePooling3D(2, padding="same", data_format=cf, name="avg3")(h)
    a = L.GlobalAveragePooling3D(data_format=cf, name="gap3")(h)
    out = L.Concatenate(name="cat")([L.Flatten(data_format=cf, name="flat")(h), a])
    return K.Model(inp, out), xs_float((2, 5, 6, 4))


def c_convlstm1d_cf(K, major):
    """ConvLSTM1D in channels_first: going backwards with its sequence, then one returning its states."""
    L = K.layers
    cf = "channels_first"
    inp = K.Input(shape=(4, 2, 8), name="rows")
    h = L.ConvLSTM1D(3, 3, padding="same", data_format=cf, return_sequences=True, go_backwards=True,
                     name="clstm1_cf")(inp)
    o, hs, cs = L.ConvLSTM1D(2, 2, strides=2, data_format=cf, return_state=True, name="clstm1_cf2")(h)
    out = L.Concatenate(name="cat")([L.Flatten(name="f1")(o), L.Flatten(name="f2")(cs)])
    return K.Model(inp, out), xs_float((4, 2, 8))


def c_convlstm3d_cf(K, major):
    L = K.layers
    inp = K.Input(shape=(3, 1, 4, 3, 4), name="volumes")
    h = L.ConvLSTM3D(2, 2, padding="same", data_format="channels_first", return_sequences=True, name="clstm3_cf")(inp)
    out = L.Flatten(name="flat")(h)
    return K.Model(inp, out), xs_float((3, 1, 4, 3, 4))


def c_convlstm2d_backwards_seq(K, major):
    """go_backwards with return_sequences (the sequence comes out in processing order), valid padding with strides,
    then per-frame global pooling into an LSTM."""
    L, TD = K.layers, K.layers.TimeDistributed
    inp = K.Input(shape=(4, 7, 6, 2), name="frames")
    h = L.ConvLSTM2D(3, (3, 2), strides=(2, 1), padding="valid", go_backwards=True, return_sequences=True,
                     activation="softsign", name="clstm_back")(inp)
    g = TD(L.GlobalMaxPooling2D(), name="td_gmp")(h)
    out = L.LSTM(2, name="lstm")(g)
    return K.Model(inp, out), xs_float((4, 7, 6, 2))


def c_convlstm2d_masked(K, major):
    """Keras 3: a ConvLSTM2D given a mask (the frames that are not all zeros), carrying its states over the others;
    the next ConvLSTM2D gets the mask passed along."""
    if major == 2:
        raise RuntimeError("a ConvLSTM mask built from operations is a Keras 3 case")
    L, ops = K.layers, K.ops
    inp = K.Input(shape=(5, 4, 4, 2), name="frames")
    mask = ops.any(ops.not_equal(inp, 0.0), axis=(2, 3, 4))
    h = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="clstm_m1")(inp, mask=mask)
    h = L.ConvLSTM2D(2, 3, padding="same", name="clstm_m2")(h, mask=mask)
    out = L.Flatten(name="flat")(h)
    x = xs_float((5, 4, 4, 2))[0]
    x[0, 1] = 0.0
    x[1, 3:] = 0.0
    return K.Model(inp, out), [x]


CASES = {name[2:]: fn for name, fn in dict(globals()).items() if name.startswith("c_") and callable(fn)}
TAGS = {n: ["convlstm"] for n in CASES if n.startswith("convlstm")}


def generate(major: int, names: list[str]) -> list[dict]:
    K, tf = keras_for(major)
    entries = []
    for name in names:
        try:
            entries.extend(generate_one(K, tf, major, name))
        except Exception as e:  # Keras cannot build or run this case: report and go on
            print(f"keras{major} {PREFIX + name}: FAILED {type(e).__name__}: {str(e)[:300]}", flush=True)
    return entries


def generate_one(K, tf, major, name):
    seed = seed_case(K, tf, name, major)
    model, xs = CASES[name](K, major)
    randomise(model, np.random.RandomState(seed))
    ys = model.predict(xs, verbose=0)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    data = {f"x_{i}": x for i, x in enumerate(xs)}
    data.update({f"y_{i}": np.asarray(y, dtype="float32") for i, y in enumerate(ys)})
    data.update(layer_outputs(K, model, xs, major))
    if name != "convlstm2d_masked":  # the per-prefix probes would drop the mask
        data.update(rnn_states(K, model, xs))
    fname = PREFIX + name
    formats = [("k2h5", ".h5")] if major == 2 else [("k3keras", ".keras"), ("k3h5", ".h5")]
    entries = []
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
                        "tags": ["conv", "codegen"] + TAGS.get(name, []), "keras": K.__version__})
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
    all_entries = run_workers(__file__, (2, 3), names)
    merge_manifest(MANIFEST, all_entries)


if __name__ == "__main__":
    main(sys.argv[1:])
