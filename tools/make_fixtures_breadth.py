"""Real-Keras fixtures for the breadth layers (GRU, SimpleRNN, Bidirectional, masking, conv, merges, nesting …).

Run with the TensorFlow venv:  /work/tfenv/bin/python tools/make_fixtures_breadth.py [name ... | legacy]

Each case is built twice: with Keras 2 (tf_keras, saved as ``k2h5/NAME.h5``) and with Keras 3 (saved as
``k3h5/NAME.h5`` and ``k3keras/NAME.keras``). Weights are randomised (biases, BatchNormalization statistics
included) so that mistakes show. Next to each model, ``NAME.npz`` holds ``x_<i>`` (inputs), ``y_<i>`` (Keras'
``predict``) and ``layer__<name>[__<k>]`` (every top-level, non-shared layer's Keras output). Entries are written to
``tests/fixtures/MANIFEST_breadth.json`` (tagged "breadth"); the core manifest is never touched.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_common import (  # noqa: E402
    keras_for, layer_outputs, merge_manifest, randomise, reset_states, run_workers, save_checked, seed_case,
)

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
MANIFEST = FIX / "MANIFEST_breadth.json"
B = 3  # batch


# --------------------------------------------------------------------------------------------------------------------
# Cases. Each takes the Keras module K and returns (model, [inputs]); ``major`` is 2 or 3.
# --------------------------------------------------------------------------------------------------------------------
def xs_float(*shapes, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randn(B, *s).astype("float32") for s in shapes]


def padded(T, F, seed=0):
    """Float input whose rows have zero (masked) steps: post-padding, pre-padding and a hole in the middle."""
    x = xs_float((T, F), seed=seed)[0]
    x[0, T - 2:] = 0.0
    x[1, :2] = 0.0
    x[2, 2] = 0.0
    return [x]


def c_gru_after(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.GRU(5, return_sequences=True, name="gru_1")(inp)
    h = K.layers.GRU(4, activation="softsign", recurrent_activation="hard_sigmoid", name="gru_2")(h)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), xs_float((6, 3))


def c_gru_before(K, major):
    inp = K.Input(shape=(5, 3), name="x")
    h = K.layers.GRU(4, reset_after=False, return_sequences=True, name="gru_a")(inp)
    h = K.layers.GRU(3, reset_after=False, activation="relu", go_backwards=True, name="gru_b")(h)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), xs_float((5, 3))


def c_gru_nobias(K, major):
    inp = K.Input(shape=(5, 2), name="x")
    h = K.layers.GRU(4, use_bias=False, return_sequences=True, name="gru_nb")(inp)
    h = K.layers.GRU(3, use_bias=False, reset_after=False, return_state=True, name="gru_nb2")(h)
    out = K.layers.Concatenate(name="cat")([h[0], h[1]])
    return K.Model(inp, out), xs_float((5, 2))


def c_simplernn(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.SimpleRNN(4, return_sequences=True, name="rnn_1")(inp)
    h = K.layers.SimpleRNN(3, activation="relu", go_backwards=True, return_sequences=True, name="rnn_2")(h)
    h = K.layers.SimpleRNN(3, use_bias=False, name="rnn_3")(h)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), xs_float((6, 3))


def c_bidi_concat(K, major):
    inp = K.Input(shape=(5, 3), name="x")
    h = K.layers.Bidirectional(K.layers.LSTM(4, return_sequences=True), name="bi_lstm")(inp)
    h = K.layers.LSTM(3, name="after")(h)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), xs_float((5, 3))


def c_bidi_sum(K, major):
    inp = K.Input(shape=(5, 3), name="x")
    h = K.layers.Bidirectional(K.layers.GRU(4, return_sequences=True), merge_mode="sum", name="bi_gru")(inp)
    h = K.layers.Bidirectional(K.layers.GRU(3, reset_after=False), merge_mode="sum", name="bi_gru2")(h)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), xs_float((5, 3))


def c_bidi_mul(K, major):
    inp = K.Input(shape=(5, 3), name="x")
    h = K.layers.Bidirectional(K.layers.SimpleRNN(4, return_sequences=True), merge_mode="mul", name="bi_rnn")(inp)
    out = K.layers.TimeDistributed(K.layers.Dense(2), name="td")(h)
    return K.Model(inp, out), xs_float((5, 3))


def c_bidi_ave(K, major):
    inp = K.Input(shape=(6, 2), name="x")
    h = K.layers.Bidirectional(K.layers.LSTM(4), merge_mode="ave", name="bi_lstm")(inp)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), xs_float((6, 2))


def c_bidi_none(K, major):
    inp = K.Input(shape=(5, 3), name="x")
    a, b = K.layers.Bidirectional(K.layers.GRU(3, return_sequences=True), merge_mode=None, name="bi_none")(inp)
    c, d = K.layers.Bidirectional(K.layers.LSTM(3), merge_mode=None, name="bi_none2")(inp)
    out = K.layers.Add(name="add")([c, d])
    return K.Model(inp, [a, b, out]), xs_float((5, 3))


def c_bidi_state(K, major):
    inp = K.Input(shape=(5, 3), name="x")
    y, hf, cf, hb, cb = K.layers.Bidirectional(K.layers.LSTM(3, return_state=True), name="bi_st")(inp)
    z = K.layers.Concatenate(name="cat")([y, hf, cf, hb, cb])
    g, gf, gb = K.layers.Bidirectional(K.layers.GRU(3, return_sequences=True, return_state=True), merge_mode="ave",
                                       name="bi_gst")(inp)
    out = K.layers.Dense(2, name="head")(z)
    return K.Model(inp, [out, g, gf, gb]), xs_float((5, 3))


def c_bidi_backward_layer(K, major):
    inp = K.Input(shape=(5, 3), name="x")
    fw = K.layers.LSTM(3, return_sequences=True, name="fw")
    bw = K.layers.GRU(3, return_sequences=True, go_backwards=True, name="bw")
    h = K.layers.Bidirectional(fw, backward_layer=bw, name="bi_mixed")(inp)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), xs_float((5, 3))


def c_timedist(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.Dense(4, activation="tanh", name="dense3d")(inp)
    h = K.layers.LSTM(4, return_sequences=True, name="lstm")(h)
    h = K.layers.TimeDistributed(K.layers.Dense(3, activation="relu"), name="td")(h)
    h = K.layers.Activation("sigmoid", name="act")(h)
    out = K.layers.TimeDistributed(K.layers.Dense(2), name="td_out")(h)
    return K.Model(inp, out), xs_float((6, 3))


def c_masking(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.Masking(0.0, name="mask")(inp)
    h = K.layers.LSTM(4, return_sequences=True, name="lstm_1")(h)
    h = K.layers.Dense(4, name="dense_seq")(h)
    h = K.layers.GRU(3, return_sequences=True, name="gru_2")(h)
    h = K.layers.SimpleRNN(3, name="rnn_3")(h)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), padded(6, 3)


def c_masking_bidi(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.Masking(0.0, name="mask")(inp)
    h = K.layers.Bidirectional(K.layers.GRU(3, return_sequences=True), name="bi_seq")(h)
    y = K.layers.Bidirectional(K.layers.LSTM(3), merge_mode="sum", name="bi_last")(h)
    out = K.layers.Dense(2, name="head")(y)
    return K.Model(inp, [out, h]), padded(6, 3, seed=1)


def c_masking_state(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.Masking(0.0, name="mask")(inp)
    y, hs, cs = K.layers.LSTM(3, return_state=True, go_backwards=True, name="lstm_bw")(h)
    s, st = K.layers.GRU(3, return_sequences=True, return_state=True, name="gru")(h)
    return K.Model(inp, [y, hs, cs, s, st]), padded(6, 3, seed=2)


def c_embedding(K, major):
    inp = K.Input(shape=(6,), dtype="int32", name="tokens")
    h = K.layers.Embedding(10, 4, mask_zero=True, name="emb")(inp)
    h = K.layers.LSTM(4, return_sequences=True, name="lstm")(h)
    h = K.layers.GRU(3, name="gru")(h)
    out = K.layers.Dense(2, name="head")(h)
    x = np.array([[3, 1, 4, 1, 0, 0], [0, 0, 5, 9, 2, 6], [5, 3, 0, 5, 8, 9]], dtype="int32")
    return K.Model(inp, out), [x]


def c_embedding_conv(K, major):
    inp = K.Input(shape=(8,), dtype="int32", name="tokens")
    h = K.layers.Embedding(12, 3, name="emb")(inp)
    h = K.layers.Conv1D(4, 3, padding="same", activation="relu", name="conv")(h)
    h = K.layers.LSTM(3, name="lstm")(h)
    out = K.layers.Dense(1, activation="sigmoid", name="head")(h)
    x = np.random.RandomState(3).randint(0, 12, size=(B, 8)).astype("int32")
    return K.Model(inp, out), [x]


def _conv_case(padding, **kw):
    def case(K, major):
        inp = K.Input(shape=(8, 3), name="x")
        h = K.layers.Conv1D(4, 3, padding=padding, name="conv", **kw)(inp)
        h = K.layers.Conv1D(3, 2, padding=padding, activation="tanh", use_bias=False, name="conv2")(h)
        h = K.layers.LSTM(3, name="lstm")(h)
        out = K.layers.Dense(2, name="head")(h)
        return K.Model(inp, out), xs_float((8, 3))
    return case


c_conv1d_valid = _conv_case("valid", strides=2)
c_conv1d_same = _conv_case("same", dilation_rate=2)
c_conv1d_causal = _conv_case("causal", dilation_rate=2, activation="relu")
c_conv1d_same_strided = _conv_case("same", strides=2)


def c_pool(K, major):
    inp = K.Input(shape=(8, 3), name="x")
    h = K.layers.MaxPooling1D(2, name="maxpool")(inp)
    h = K.layers.LSTM(4, return_sequences=True, name="lstm")(h)
    h = K.layers.AveragePooling1D(3, strides=1, padding="same", name="avgpool")(h)
    h = K.layers.MaxPooling1D(3, strides=2, padding="same", name="maxpool_same")(h)
    h = K.layers.AveragePooling1D(2, name="avgpool_valid")(h)
    out = K.layers.Flatten(name="flat")(h)
    return K.Model(inp, out), xs_float((8, 3))


def c_pool_global(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.LSTM(4, return_sequences=True, name="lstm")(inp)
    a = K.layers.GlobalAveragePooling1D(name="gap")(h)
    m = K.layers.GlobalMaxPooling1D(name="gmp")(h)
    out = K.layers.Concatenate(name="cat")([a, m])
    return K.Model(inp, out), xs_float((6, 3))


def c_flatten_reshape(K, major):
    inp = K.Input(shape=(12,), name="x")
    h = K.layers.Reshape((4, 3), name="reshape")(inp)
    h = K.layers.Permute((2, 1), name="permute")(h)
    h = K.layers.LSTM(4, return_sequences=True, name="lstm")(h)
    h = K.layers.Flatten(name="flat")(h)
    h = K.layers.Reshape((3, -1), name="reshape_auto")(h)
    out = K.layers.GRU(2, name="gru")(h)
    return K.Model(inp, out), [np.random.RandomState(0).randn(B, 12).astype("float32")]


def c_autoencoder(K, major):
    inp = K.Input(shape=(5, 2), name="x")
    h = K.layers.LSTM(4, name="enc")(inp)
    h = K.layers.RepeatVector(5, name="repeat")(h)
    h = K.layers.LSTM(4, return_sequences=True, name="dec")(h)
    out = K.layers.TimeDistributed(K.layers.Dense(2), name="recon")(h)
    return K.Model(inp, out), xs_float((5, 2))


def c_norms(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.BatchNormalization(name="bn_in")(inp)
    h = K.layers.LSTM(4, return_sequences=True, name="lstm")(h)
    h = K.layers.LayerNormalization(name="ln")(h)
    h = K.layers.GRU(4, name="gru")(h)
    h = K.layers.BatchNormalization(center=False, epsilon=0.01, name="bn_flat")(h)
    h = K.layers.LayerNormalization(scale=False, epsilon=1e-2, name="ln_noscale")(h)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(inp, out), xs_float((6, 3))


def c_norms_axis(K, major):
    inp = K.Input(shape=(6, 3), name="x")
    h = K.layers.BatchNormalization(axis=1, name="bn_time")(inp)
    h = K.layers.LayerNormalization(axis=[1, 2], name="ln_both")(h)
    out = K.layers.LSTM(3, name="lstm")(h)
    return K.Model(inp, out), xs_float((6, 3))


def c_multi_io(K, major):
    a = K.Input(shape=(5, 3), name="a")
    b = K.Input(shape=(5, 3), name="b")
    shared = K.layers.LSTM(4, return_sequences=True, name="shared")
    ha, hb = shared(a), shared(b)
    parts = [
        K.layers.Add(name="add")([ha, hb]),
        K.layers.Subtract(name="sub")([ha, hb]),
        K.layers.Multiply(name="mul")([ha, hb]),
        K.layers.Average(name="avg")([ha, hb]),
        K.layers.Maximum(name="max")([ha, hb]),
        K.layers.Minimum(name="min")([ha, hb]),
    ]
    cat = K.layers.Concatenate(name="cat")(parts)
    y1 = K.layers.GRU(3, name="gru")(cat)
    y2 = K.layers.Concatenate(axis=1, name="cat_time")([ha, hb])
    y2 = K.layers.SimpleRNN(2, name="rnn")(y2)
    out1 = K.layers.Dense(2, name="out1")(y1)
    out2 = K.layers.Dense(1, name="out2")(K.layers.Concatenate(name="cat2")([y1, y2]))
    return K.Model([a, b], [out1, out2]), xs_float((5, 3), (5, 3))


def c_enc_dec(K, major):
    enc_in = K.Input(shape=(5, 3), name="enc_in")
    dec_in = K.Input(shape=(4, 2), name="dec_in")
    _, h, c = K.layers.LSTM(4, return_state=True, name="encoder")(enc_in)
    d = K.layers.LSTM(4, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    _, g = K.layers.GRU(4, return_state=True, name="gru_enc")(enc_in)
    e = K.layers.GRU(4, return_sequences=True, name="gru_dec")(dec_in, initial_state=[g])
    s = K.layers.SimpleRNN(4, name="rnn_dec")(dec_in, initial_state=[g])
    out = K.layers.TimeDistributed(K.layers.Dense(2), name="proj")(K.layers.Concatenate(name="cat")([d, e]))
    return K.Model([enc_in, dec_in], [out, s]), xs_float((5, 3), (4, 2))


def c_bidi_enc_dec(K, major):
    enc_in = K.Input(shape=(5, 3), name="enc_in")
    dec_in = K.Input(shape=(4, 2), name="dec_in")
    _, hf, cf, hb, cb = K.layers.Bidirectional(K.layers.LSTM(3, return_state=True), name="bi_enc")(enc_in)
    h = K.layers.Concatenate(name="h")([hf, hb])
    c = K.layers.Concatenate(name="c")([cf, cb])
    d = K.layers.LSTM(6, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    out = K.layers.Dense(2, name="proj")(d)
    return K.Model([enc_in, dec_in], out), xs_float((5, 3), (4, 2))


def c_nested(K, major):
    inner = K.Sequential([K.Input(shape=(5, 3)), K.layers.LSTM(4, return_sequences=True, name="in_lstm"),
                          K.layers.Dense(3, name="in_dense")], name="inner_seq")
    fin = K.Input(shape=(5, 3), name="fx")
    f = K.layers.GRU(3, return_sequences=True, name="in_gru")(fin)
    f = K.layers.BatchNormalization(name="in_bn")(f)
    inner_f = K.Model(fin, f, name="inner_func")
    x = K.Input(shape=(5, 3), name="x")
    a = inner(x)
    b = inner_f(x)
    h = K.layers.Concatenate(name="cat")([a, b])
    h = K.layers.LSTM(3, name="top_lstm")(h)
    out = K.layers.Dense(2, name="head")(h)
    return K.Model(x, out), xs_float((5, 3))


def c_nested_seq(K, major):
    inner = K.Sequential([K.Input(shape=(5, 3)), K.layers.GRU(4, return_sequences=True, name="g"),
                          K.layers.Dense(3, name="d")], name="block")
    model = K.Sequential([K.Input(shape=(5, 3)), K.layers.Dense(3, name="pre"), inner, K.layers.SimpleRNN(2, name="r")],
                         name="outer")
    return model, xs_float((5, 3))


def c_nested_shared(K, major):
    """One nested model called on two inputs (shared), feeding merges."""
    fin = K.Input(shape=(4, 2), name="fx")
    enc = K.Model(fin, K.layers.LSTM(3, name="enc_lstm")(fin), name="encoder")
    a = K.Input(shape=(4, 2), name="a")
    b = K.Input(shape=(4, 2), name="b")
    ea, eb = enc(a), enc(b)
    out = K.layers.Dense(1, name="head")(K.layers.Concatenate(name="cat")([ea, eb, K.layers.Subtract(name="sub")([ea, eb])]))
    return K.Model([a, b], out), xs_float((4, 2), (4, 2))


def c_sequential_mix(K, major):
    model = K.Sequential([
        K.Input(shape=(8, 2)),
        K.layers.Conv1D(3, 2, padding="causal", name="conv"),
        K.layers.MaxPooling1D(2, name="pool"),
        K.layers.Bidirectional(K.layers.SimpleRNN(3, return_sequences=True), name="bi"),
        K.layers.Dropout(0.3, name="drop"),
        K.layers.GRU(3, name="gru"),
        K.layers.RepeatVector(3, name="rep"),
        K.layers.SimpleRNN(2, return_sequences=True, name="rnn"),
        K.layers.Flatten(name="flat"),
        K.layers.Dense(2, activation="softmax", name="head"),
    ], name="mix")
    return model, xs_float((8, 2))


def c_masking_init(K, major):
    """Masked decoder started from an encoder's states: a masked first step outputs zeros, not the initial h."""
    enc_in = K.Input(shape=(5, 3), name="enc_in")
    dec_in = K.Input(shape=(6, 2), name="dec_in")
    _, h, c = K.layers.LSTM(3, return_state=True, name="encoder")(enc_in)
    m = K.layers.Masking(0.0, name="mask")(dec_in)
    d = K.layers.LSTM(3, return_sequences=True, name="decoder")(m, initial_state=[h, c])
    g = K.layers.GRU(3, return_sequences=True, go_backwards=True, name="gru_bw")(m, initial_state=[h])
    return K.Model([enc_in, dec_in], [d, g]), xs_float((5, 3)) + padded(6, 2, seed=4)


def c_masking_merge(K, major):
    """Masks through TimeDistributed, Concatenate (features and time) and a mask-aware GlobalAveragePooling1D."""
    inp = K.Input(shape=(6, 3), name="x")
    m = K.layers.Masking(0.0, name="mask")(inp)
    a = K.layers.LSTM(4, return_sequences=True, name="lstm")(m)
    b = K.layers.TimeDistributed(K.layers.Dense(2), name="td")(m)
    cat = K.layers.Concatenate(name="cat")([a, b])
    g = K.layers.GlobalAveragePooling1D(name="gap")(cat)
    t = K.layers.Concatenate(axis=1, name="cat_time")([a, a])
    r = K.layers.SimpleRNN(3, name="rnn")(t)
    return K.Model(inp, [g, r]), padded(6, 3, seed=5)


def c_stateful(K, major):
    inp = K.Input(shape=(5, 3), batch_size=B, name="x")
    h = K.layers.GRU(4, stateful=True, return_sequences=True, name="gru_st")(inp)
    out = K.layers.LSTM(3, stateful=True, name="lstm_st")(h)
    return K.Model(inp, out), xs_float((5, 3))


def c_bidi_init(K, major):
    a = K.Input(shape=(5, 3), name="x")
    s = K.Input(shape=(3,), name="s")
    y = K.layers.Bidirectional(K.layers.GRU(3, return_sequences=True), name="bi_init")(a, initial_state=[s, s])
    return K.Model([a, s], y), xs_float((5, 3), (3,))


CASES = {name[2:]: fn for name, fn in dict(globals()).items() if name.startswith("c_") and callable(fn)}
PREFIX = "br_"
TAGS = {"masking": ["mask"], "masking_bidi": ["mask"], "masking_state": ["mask"], "embedding": ["mask"],
        "masking_init": ["mask"], "masking_merge": ["mask"]}


# --------------------------------------------------------------------------------------------------------------------
def generate(major: int, names: list[str]) -> list[dict]:
    K, tf = keras_for(major)

    entries = []
    for name in names:
        try:
            entries.extend(generate_one(K, tf, major, name))
        except Exception as e:  # report and go on with the other cases
            print(f"keras{major} {PREFIX + name}: FAILED {type(e).__name__}: {str(e)[:300]}", flush=True)
    return entries


def generate_one(K, tf, major, name):
    fn = CASES[name]
    seed = seed_case(K, tf, name, major)
    model, xs = fn(K, major)
    randomise(model, np.random.RandomState(seed))
    ys = model.predict(xs, verbose=0)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    data = {f"x_{i}": x for i, x in enumerate(xs)}
    data.update({f"y_{i}": np.asarray(y, dtype="float32") for i, y in enumerate(ys)})
    data.update(layer_outputs(K, model, xs, major))
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
                        "tags": ["breadth"] + TAGS.get(name, []), "keras": K.__version__})
    print(f"keras{major} {fname}: ok", flush=True)
    return entries


# --------------------------------------------------------------------------------------------------------------------
# Legacy files, crafted with h5py in the layouts old Keras wrote (no Keras left that writes them). The expected
# outputs come from real Keras 2: a tf_keras model of the modern equivalent layers loads the crafted file with
# ``load_weights``, so Keras' own converters (preprocess_weights_for_loading: Keras 1 → 2, _convert_rnn_weights:
# CuDNN → LSTM/GRU) turn the crafted weights into the weights Keras then predicts with.
# --------------------------------------------------------------------------------------------------------------------
def _write_legacy_h5(path, model_config, weights, keras_version):
    import h5py

    with h5py.File(path, "w") as f:
        if keras_version is not None:
            f.attrs["keras_version"] = keras_version.encode()
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        g = f.create_group("model_weights")
        if keras_version is not None:
            g.attrs["keras_version"] = keras_version.encode()
        g.attrs["backend"] = b"tensorflow"
        g.attrs["layer_names"] = np.array([n.encode() for n in weights], dtype="S")
        for lname, arrays in weights.items():
            lg = g.create_group(lname)
            lg.attrs["weight_names"] = np.array([n.encode() for n, _ in arrays], dtype="S")
            for n, a in arrays:
                lg.create_dataset(n, data=a)


def legacy_keras1(rng):
    """Keras 1: Sequential config as a list, output_dim/inner_activation, LSTM as 12 arrays (i, c, f, o), GRU as 9."""
    T, F, U1, U2 = 5, 3, 4, 3
    common = {"activation": "tanh", "inner_activation": "hard_sigmoid", "go_backwards": False, "stateful": False,
              "unroll": False, "consume_less": "cpu", "init": "glorot_uniform", "inner_init": "orthogonal",
              "W_regularizer": None, "U_regularizer": None, "b_regularizer": None, "dropout_W": 0.0, "dropout_U": 0.0,
              "trainable": True}
    config = {"class_name": "Sequential", "config": [
        {"class_name": "LSTM", "config": dict(common, name="lstm_1", output_dim=U1, return_sequences=True,
                                              batch_input_shape=[None, T, F], input_dim=F, input_length=T,
                                              forget_bias_init="one", input_dtype="float32")},
        {"class_name": "GRU", "config": dict(common, name="gru_1", output_dim=U2, return_sequences=False)},
        {"class_name": "Dense", "config": {"name": "dense_1", "output_dim": 2, "activation": "linear", "bias": True,
                                           "init": "glorot_uniform", "input_dim": None, "trainable": True}},
    ]}
    r = lambda *s: (rng.randn(*s) * 0.6).astype("float32")  # noqa: E731
    weights = {
        "lstm_1": [(f"lstm_1_{m}_{g}:0", r(*shape)) for g in "icfo" for m, shape in (("W", (F, U1)), ("U", (U1, U1)), ("b", (U1,)))],
        "gru_1": [(f"gru_1_{m}_{g}:0", r(*shape)) for g in "zrh" for m, shape in (("W", (U1, U2)), ("U", (U2, U2)), ("b", (U2,)))],
        "dense_1": [("dense_1_W:0", r(U2, 2)), ("dense_1_b:0", r(2))],
    }

    def reference(K):
        return K.Sequential([K.Input(shape=(T, F)),
                             K.layers.LSTM(U1, recurrent_activation="hard_sigmoid", return_sequences=True, name="lstm_1"),
                             K.layers.GRU(U2, recurrent_activation="hard_sigmoid", reset_after=False, name="gru_1"),
                             K.layers.Dense(2, name="dense_1")])
    return config, weights, None, reference, (T, F)


def legacy_cudnn(rng):
    """Keras 2 CuDNNLSTM / CuDNNGRU (also inside Bidirectional): cuDNN weight layout, biases of 8·u and 6·u."""
    T, F, U1, U2 = 6, 3, 4, 3
    r = lambda *s: (rng.randn(*s) * 0.5).astype("float32")  # noqa: E731
    gru_cfg = {"name": "cu_dnngru_1", "trainable": True, "units": U2, "return_sequences": False, "return_state": False,
               "stateful": False, "go_backwards": False}
    config = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
        {"class_name": "CuDNNLSTM", "config": {"name": "cu_dnnlstm_1", "trainable": True, "batch_input_shape": [None, T, F],
                                               "dtype": "float32", "units": U1, "unit_forget_bias": True,
                                               "return_sequences": True, "return_state": False, "stateful": False,
                                               "go_backwards": False}},
        {"class_name": "Bidirectional", "config": {"name": "bidirectional_1", "trainable": True, "merge_mode": "concat",
                                                   "layer": {"class_name": "CuDNNGRU", "config": gru_cfg}}},
        {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True, "units": 2, "activation": "linear",
                                           "use_bias": True}},
    ]}}
    weights = {
        "cu_dnnlstm_1": [("cu_dnnlstm_1/kernel:0", r(F, 4 * U1)), ("cu_dnnlstm_1/recurrent_kernel:0", r(U1, 4 * U1)),
                         ("cu_dnnlstm_1/bias:0", r(8 * U1))],
        "bidirectional_1": [(f"bidirectional_1/{d}_cu_dnngru_1/{n}:0", r(*s)) for d in ("forward", "backward")
                            for n, s in (("kernel", (U1, 3 * U2)), ("recurrent_kernel", (U2, 3 * U2)), ("bias", (6 * U2,)))],
        "dense_1": [("dense_1/kernel:0", r(2 * U2, 2)), ("dense_1/bias:0", r(2))],
    }

    def reference(K):
        return K.Sequential([K.Input(shape=(T, F)), K.layers.LSTM(U1, return_sequences=True, name="cu_dnnlstm_1"),
                             K.layers.Bidirectional(K.layers.GRU(U2, reset_after=True), name="bidirectional_1"),
                             K.layers.Dense(2, name="dense_1")])
    return config, weights, "2.2.4", reference, (T, F)


LEGACY = {"legacy_keras1": legacy_keras1, "legacy_cudnn": legacy_cudnn}


def generate_legacy() -> list[dict]:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras as K

    entries = []
    for name, fn in LEGACY.items():
        rng = np.random.RandomState(sum(map(ord, name)))
        config, weights, version, reference, (T, F) = fn(rng)
        fname = PREFIX + name
        d = FIX / "k2h5"
        d.mkdir(parents=True, exist_ok=True)
        path = d / (fname + ".h5")
        _write_legacy_h5(path, config, weights, version)
        model = reference(K)
        model.load_weights(str(path))  # Keras' own conversion of the crafted weights
        xs = [np.random.RandomState(1).randn(B, T, F).astype("float32")]
        data = {"x_0": xs[0], "y_0": model.predict(xs, verbose=0).astype("float32")}
        data.update(layer_outputs(K, model, xs, 2))
        np.savez_compressed(d / (fname + ".npz"), **data)
        entries.append({"name": fname, "format": "k2h5", "model": f"k2h5/{fname}.h5", "data": f"k2h5/{fname}.npz",
                        "tags": ["breadth", "legacy", "crafted"], "keras": K.__version__})
        print(f"legacy {fname}: ok", flush=True)
    return entries


def main(argv):
    if argv and argv[0] == "--worker":
        major = int(argv[1])
        out = argv[2]
        names = argv[3:]
        entries = generate_legacy() if major == 1 else generate(major, names)
        Path(out).write_text(json.dumps(entries))
        return
    names = argv or sorted(CASES) + ["legacy"]
    for n in names:
        if n not in CASES and n != "legacy":
            raise SystemExit(f"unknown case {n}; known: {sorted(CASES)} and legacy")
    cases_ = [n for n in names if n != "legacy"]
    majors = ((2, 3) if cases_ else ()) + ((1,) if "legacy" in names else ())
    all_entries = run_workers(__file__, majors, cases_)
    merge_manifest(MANIFEST, all_entries)


if __name__ == "__main__":
    main(sys.argv[1:])
