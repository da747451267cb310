"""Real-Keras fixtures for image models and ConvLSTM: TimeDistributed(Conv2D / pooling / Flatten / Dropout) ahead of an
LSTM (the LRCN pattern), Conv2D/Conv3D with their options, the 2-D/3-D pooling, global pooling, ZeroPadding and
Cropping layers in both data formats, and ConvLSTM1D/2D/3D.

Run with the ``keras`` extra installed:  python tools/make_fixtures_conv.py [name ...]

Each case is built with Keras 2 (tf_keras, ``k2h5/NAME.h5``) and Keras 3 (``k3h5/NAME.h5``, ``k3keras/NAME.keras``),
each flavour in its own process; a format Keras itself cannot run or reload (e.g. Keras 2's channels_first
convolutions on a CPU) gets no fixture, and the run says so. ``NAME.npz`` holds ``x_<i>``, ``y_<i>`` (Keras'
predict), ``layer__<name>[__<k>]`` (every top-level layer's output) and, for every LSTM and ConvLSTM fed causally
from the model input, ``hseq__<layer>`` / ``cseq__<layer>`` (batch, T, …): h and C after each step in processing
order, from Keras itself: a copy of the layer with ``return_state=True`` run on every prefix of its input (the
suffix for ``go_backwards``). Entries go to ``tests/fixtures/MANIFEST_conv.json`` (tagged "conv").
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

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
MANIFEST = FIX / "MANIFEST_conv.json"
PREFIX = "cv_"
B = 2
STATEFUL_CLASSES = ("LSTM", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")


def xs_float(*shapes, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randn(B, *s).astype("float32") for s in shapes]


# --- cases: each takes the Keras module K and returns (model, [inputs]) ------------------------------------------------
def c_lrcn(K, major):
    """The LRCN activity-recognition pattern, small."""
    L, TD = K.layers, K.layers.TimeDistributed
    model = K.Sequential([
        K.Input(shape=(5, 10, 10, 3)),
        TD(L.Conv2D(4, (3, 3), padding="same", activation="relu"), name="td_conv1"),
        TD(L.MaxPooling2D((2, 2)), name="td_pool1"),
        TD(L.Dropout(0.25), name="td_drop"),
        TD(L.Conv2D(3, (2, 3), strides=(1, 2), padding="valid", use_bias=False, activation="tanh"), name="td_conv2"),
        TD(L.AveragePooling2D((2, 2), padding="same"), name="td_avg"),
        TD(L.Flatten(), name="td_flat"),
        L.LSTM(4, name="lstm"),
        L.Dense(3, activation="softmax", name="head"),
    ], name="lrcn")
    return model, xs_float((5, 10, 10, 3))


def c_lrcn_global(K, major):
    """TimeDistributed global pooling and padding/cropping ahead of stacked LSTMs (functional)."""
    L, TD = K.layers, K.layers.TimeDistributed
    inp = K.Input(shape=(4, 7, 6, 2), name="frames")
    h = TD(L.ZeroPadding2D(((1, 0), (2, 1))), name="td_pad")(inp)
    h = TD(L.Conv2D(3, 3, dilation_rate=2, padding="same", activation="elu"), name="td_dil")(h)
    h = TD(L.Cropping2D(((1, 1), (0, 2))), name="td_crop")(h)
    h = TD(L.MaxPooling2D(3, strides=2, padding="same"), name="td_maxsame")(h)
    a = TD(L.GlobalAveragePooling2D(), name="td_gap")(h)
    m = TD(L.GlobalMaxPooling2D(), name="td_gmp")(h)
    h = L.Concatenate(name="cat")([a, m])
    h = L.LSTM(4, return_sequences=True, name="lstm_1")(h)
    out = L.LSTM(3, name="lstm_2")(h)
    return K.Model(inp, out), xs_float((4, 7, 6, 2))


def c_lrcn_bn(K, major):
    """Per-frame BatchNormalization (both data formats) and SpatialDropout2D, as LRCN models often have."""
    L, TD = K.layers, K.layers.TimeDistributed
    inp = K.Input(shape=(4, 8, 8, 3), name="frames")
    h = TD(L.Conv2D(4, 3, padding="same"), name="td_conv")(inp)
    h = TD(L.BatchNormalization(), name="td_bn")(h)
    h = TD(L.Activation("relu"), name="td_relu")(h)
    h = TD(L.SpatialDropout2D(0.3), name="td_sdrop")(h)
    h = TD(L.Conv2D(3, 3, data_format="channels_first"), name="td_conv_cf")(h)
    h = TD(L.BatchNormalization(axis=1), name="td_bn_cf")(h)
    h = TD(L.GlobalAveragePooling2D(data_format="channels_first"), name="td_gap")(h)
    out = L.LSTM(3, name="lstm")(h)
    return K.Model(inp, out), xs_float((4, 8, 8, 3))


def c_conv2d_options(K, major):
    """Conv2D and pooling options on plain images: strides, dilation, padding, the pooling strides, keepdims."""
    L = K.layers
    inp = K.Input(shape=(11, 9, 2), name="img")
    h = L.Conv2D(4, (3, 2), strides=(2, 1), padding="same", activation="sigmoid", name="conv_s")(inp)
    h = L.Conv2D(3, 3, dilation_rate=(2, 1), padding="valid", name="conv_d")(h)
    h = L.AveragePooling2D((2, 3), strides=(1, 2), padding="valid", name="avg")(h)
    h = L.ZeroPadding2D(2, name="pad")(h)
    h = L.MaxPooling2D(2, strides=1, padding="valid", name="maxp")(h)
    h = L.Cropping2D(1, name="crop")(h)
    g = L.GlobalAveragePooling2D(keepdims=True, name="gap_keep")(h)
    out = L.Flatten(name="flat")(L.Multiply(name="mul")([h, g]))
    return K.Model(inp, out), xs_float((11, 9, 2))


def c_channels_first(K, major):
    """data_format="channels_first" through every image layer, then an LSTM."""
    L, TD = K.layers, K.layers.TimeDistributed
    cf = "channels_first"
    inp = K.Input(shape=(3, 2, 8, 7), name="frames")
    h = TD(L.Conv2D(3, 3, padding="same", data_format=cf, activation="relu"), name="td_conv")(inp)
    h = TD(L.ZeroPadding2D(((0, 1), (1, 0)), data_format=cf), name="td_pad")(h)
    h = TD(L.MaxPooling2D(2, data_format=cf), name="td_pool")(h)
    h = TD(L.AveragePooling2D(2, strides=1, padding="same", data_format=cf), name="td_avg")(h)
    h = TD(L.Cropping2D(((1, 0), (0, 1)), data_format=cf), name="td_crop")(h)
    a = TD(L.GlobalMaxPooling2D(data_format=cf), name="td_gmp")(h)
    f = TD(L.Flatten(data_format=cf), name="td_flat")(h)
    h = L.Concatenate(name="cat")([a, f])
    out = L.LSTM(3, name="lstm")(h)
    return K.Model(inp, out), xs_float((3, 2, 8, 7))


def c_conv3d(K, major):
    L = K.layers
    inp = K.Input(shape=(6, 5, 6, 2), name="vol")
    h = L.Conv3D(3, (3, 2, 3), padding="same", activation="tanh", name="conv3")(inp)
    h = L.MaxPooling3D(2, padding="same", name="pool3")(h)
    h = L.AveragePooling3D((1, 2, 2), name="avg3")(h)
    a = L.GlobalAveragePooling3D(name="gap3")(h)
    m = L.GlobalMaxPooling3D(name="gmp3")(h)
    out = L.Concatenate(name="cat")([a, m])
    return K.Model(inp, out), xs_float((6, 5, 6, 2))


def c_convlstm2d(K, major):
    """Stacked ConvLSTM2D: "same" with return_sequences, then valid + strides, hard_sigmoid, go_backwards."""
    L = K.layers
    inp = K.Input(shape=(4, 6, 6, 2), name="frames")
    h = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="clstm_1")(inp)
    h = L.ConvLSTM2D(2, (2, 3), strides=2, padding="valid", recurrent_activation="hard_sigmoid", go_backwards=True,
                     name="clstm_2")(h)
    out = L.Dense(2, name="head")(L.Flatten(name="flat")(h))
    return K.Model(inp, out), xs_float((4, 6, 6, 2))


def c_convlstm2d_options(K, major):
    """Dilation, no bias, relu activation, return_state, and a ConvLSTM fed through TimeDistributed pooling."""
    L = K.layers
    inp = K.Input(shape=(5, 7, 6, 1), name="frames")
    s, hs, cs = L.ConvLSTM2D(2, 3, dilation_rate=2, padding="same", activation="relu", use_bias=False,
                             return_sequences=True, return_state=True, name="clstm_dil")(inp)
    p = L.TimeDistributed(L.MaxPooling2D(2), name="td_pool")(s)
    q = L.ConvLSTM2D(3, 2, padding="same", recurrent_activation="tanh", name="clstm_after")(p)
    out = L.Concatenate(name="cat")([L.Flatten(name="f1")(hs), L.Flatten(name="f2")(cs), L.Flatten(name="f3")(q)])
    return K.Model(inp, out), xs_float((5, 7, 6, 1))


def c_convlstm1d(K, major):
    L = K.layers
    inp = K.Input(shape=(5, 9, 2), name="seq_of_rows")
    h = L.ConvLSTM1D(3, 3, padding="same", return_sequences=True, name="clstm1_a")(inp)
    h = L.ConvLSTM1D(2, 2, strides=2, name="clstm1_b")(h)
    out = L.Dense(2, name="head")(L.Flatten(name="flat")(h))
    return K.Model(inp, out), xs_float((5, 9, 2))


def c_convlstm2d_cf(K, major):
    L = K.layers
    inp = K.Input(shape=(3, 2, 6, 5), name="frames")
    h = L.ConvLSTM2D(3, 3, padding="same", data_format="channels_first", return_sequences=True, name="clstm_cf")(inp)
    h = L.ConvLSTM2D(2, 2, data_format="channels_first", name="clstm_cf2")(h)
    out = L.Flatten(name="flat")(h)
    return K.Model(inp, out), xs_float((3, 2, 6, 5))


def c_convlstm3d(K, major):
    L = K.layers
    inp = K.Input(shape=(3, 4, 5, 4, 1), name="volumes")
    h = L.ConvLSTM3D(2, 2, padding="same", return_sequences=True, name="clstm3")(inp)
    h = L.ConvLSTM3D(2, 3, padding="valid", name="clstm3_b")(h)
    out = L.Flatten(name="flat")(h)
    return K.Model(inp, out), xs_float((3, 4, 5, 4, 1))


def c_convlstm2d_enc_dec(K, major):
    """The video-prediction pattern: a decoder ConvLSTM started from an encoder's final maps (initial_state)."""
    L = K.layers
    past = K.Input(shape=(3, 5, 5, 2), name="past")
    future = K.Input(shape=(2, 5, 5, 2), name="future")
    _, h, c = L.ConvLSTM2D(3, 3, padding="same", return_state=True, name="encoder")(past)
    d = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="decoder")(future, initial_state=[h, c])
    out = L.TimeDistributed(L.Conv2D(1, 1, activation="sigmoid"), name="frame")(d)
    return K.Model([past, future], out), xs_float((3, 5, 5, 2), (2, 5, 5, 2))


CASES = {name[2:]: fn for name, fn in dict(globals()).items() if name.startswith("c_") and callable(fn)}
TAGS = {n: ["convlstm"] for n in CASES if n.startswith("convlstm")}


# --- per-step states from Keras -------------------------------------------------------------------------------------
def rnn_states(K, model, xs):
    """hseq/cseq of each top-level LSTM/ConvLSTM whose input is causal (no go_backwards layer before it)."""
    out = {}
    causal = True
    for layer in model.layers:
        if layer.__class__.__name__ not in STATEFUL_CLASSES:
            continue
        if not causal:
            break
        if isinstance(layer.input, (list, tuple)):  # called with initial_state: its sequence output is h per step
            continue
        u = np.asarray(K.Model(model.inputs, layer.input).predict(xs, verbose=0), dtype="float32")
        cfg = layer.get_config()
        cfg.update(return_state=True, return_sequences=False, name=layer.name + "_states")
        probe_in = K.Input(shape=(None,) + u.shape[2:])
        probe_layer = layer.__class__.from_config(cfg)
        probe = K.Model(probe_in, probe_layer(probe_in))
        probe_layer.set_weights(layer.get_weights())
        T = u.shape[1]
        hs, cs = [], []
        for k in range(T):
            part = u[:, T - 1 - k:] if layer.go_backwards else u[:, :k + 1]
            _, h, c = probe.predict(part, verbose=0)
            hs.append(h)
            cs.append(c)
        out[f"hseq__{layer.name}"] = np.stack(hs, axis=1).astype("float32")
        out[f"cseq__{layer.name}"] = np.stack(cs, axis=1).astype("float32")
        causal = not layer.go_backwards
    return out


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
                        "tags": ["conv"] + TAGS.get(name, []), "keras": K.__version__})
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
