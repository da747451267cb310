"""Real-Keras ground truth for the engine's core tests: LSTM models saved by Keras in all three formats, with Keras'
own outputs and per-step LSTM states.

Install the optional extra and run with that Python (TensorFlow is never needed to run the app or its tests):

    pip install -e '.[keras]'            # tensorflow-cpu 2.21 + tf-keras 2.21 (+ Keras 3)
    python tools/make_fixtures.py [NAME ...]

Each case is built twice: with Keras 2 (tf_keras; saved as ``k2h5/NAME.h5``) and with Keras 3 (saved as
``k3h5/NAME.h5`` and ``k3keras/NAME.keras``), each flavour in its own process. Next to each model ``NAME.npz`` holds

* ``x_<i>``: the inputs; ``y_<i>``: Keras' ``model.predict`` outputs;
* ``layer__<name>[__<k>]``: every top-level layer's output, computed by Keras;
* ``hseq__<lstm>`` / ``cseq__<lstm>`` (batch, T, units): the LSTM's h and C after each step, in processing order,
  computed by Keras: a copy of the layer with ``return_state=True`` run on every prefix of its input (for
  ``go_backwards`` the suffix: a backwards layer fed x[T-1-k:] ends on the state after its k-th step).

Entries go to ``tests/fixtures/MANIFEST.json``; tools/make_fixtures_breadth.py writes the breadth layers' fixtures.
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
MANIFEST = FIX / "MANIFEST.json"

ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign", "softplus", "elu", "selu", "swish",
               "silu", "gelu", "exponential", "relu6", "leaky_relu", "mish", "hard_silu"]


def toy_x():
    return [(np.arange(24).reshape(4, 3, 2) * 0.1).astype("float32")]


def rand_x(*shape, seed=0, scale=1.0):
    return [(np.random.RandomState(seed).randn(*shape) * scale).astype("float32")]


# --- noisy sine (the exercise the app comes from) -------------------------------------------------------------------
def sine_windows(n_points, seed, window=5):
    rng = np.random.RandomState(seed)
    t = np.arange(n_points)
    series = np.sin(2 * np.pi * t / 80 + rng.uniform(-1, 1, n_points) * 0.05).astype("float32")
    x = np.stack([series[i:i + window] for i in range(n_points - window)])[:, :, None]
    y = series[window:, None]
    return series, x.astype("float32"), y.astype("float32")


def sine_model(K, units=100):
    return K.Sequential([K.Input(shape=(5, 1)), K.layers.LSTM(units, name="lstm"), K.layers.Dense(1, name="dense"),
                         K.layers.Activation("linear", name="activation")])


def train_sine(K, epochs, n_points, seed):
    _, x, y = sine_windows(n_points, seed)
    model = sine_model(K)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, shuffle=False)
    clean = sine_model(K)  # uncompiled copy: no optimizer state in the saved file
    clean.set_weights(model.get_weights())
    return clean


def c_sine(K, major):
    model = train_sine(K, epochs=3, n_points=300, seed=1)
    _, x, _ = sine_windows(100, seed=2)
    return model, [x[:16]], False


# --- toy LSTM(8) → Dense(2, softmax) with swapped activations ----------------------------------------------------------
def _toy(act, rec):
    def case(K, major):
        model = K.Sequential([K.Input(shape=(3, 2)),
                              K.layers.LSTM(8, activation=act, recurrent_activation=rec, name="lstm"),
                              K.layers.Dense(2, activation="softmax", name="dense")])
        return model, toy_x(), True
    return case


def _act(name, recurrent):
    def case(K, major):
        K.activations.get(name)  # raises where this Keras has no such activation
        kw = {"recurrent_activation": name} if recurrent else {"activation": name, "recurrent_activation": "sigmoid"}
        model = K.Sequential([K.Input(shape=(6, 3)), K.layers.LSTM(4, name="lstm", **kw), K.layers.Dense(3, name="dense")])
        # exponential in the cell loop grows fast: smaller weights keep the values in a range float32 compares well
        return model, rand_x(4, 6, 3, seed=3, scale=0.5), 0.15 if name == "exponential" else True
    return case


def c_nobias(K, major):
    model = K.Sequential([K.Input(shape=(6, 3)), K.layers.LSTM(5, use_bias=False, name="lstm"), K.layers.Dense(1, name="dense")])
    return model, rand_x(4, 6, 3, seed=4), True


def c_backwards(K, major):
    model = K.Sequential([K.Input(shape=(6, 3)), K.layers.LSTM(5, go_backwards=True, name="lstm"),
                          K.layers.Dense(2, name="dense")])
    return model, rand_x(4, 6, 3, seed=5), True


def c_stack_seq(K, major):
    model = K.Sequential([K.Input(shape=(7, 3)),
                          K.layers.LSTM(6, return_sequences=True, name="lstm_1"),
                          K.layers.LSTM(5, return_sequences=True, name="lstm_2"),
                          K.layers.LSTM(4, name="lstm_3"),
                          K.layers.Dense(2, name="dense")])
    return model, rand_x(4, 7, 3, seed=6), True


def c_seq_out(K, major):
    model = K.Sequential([K.Input(shape=(6, 3)), K.layers.LSTM(5, return_sequences=True, name="lstm")])
    return model, rand_x(4, 6, 3, seed=7), True


def c_seq_dense3d(K, major):
    model = K.Sequential([K.Input(shape=(6, 3)), K.layers.LSTM(5, return_sequences=True, name="lstm"),
                          K.layers.Dense(2, name="dense")])
    return model, rand_x(4, 6, 3, seed=8), True


def c_func_state(K, major):
    inp = K.Input(shape=(7, 3), name="seq_in")
    h = K.layers.LSTM(6, return_sequences=True, name="lstm_1")(inp)
    out, sh, sc = K.layers.LSTM(5, return_state=True, name="lstm_2")(h)
    y = K.layers.Dense(2, activation="softmax", name="dense")(out)
    return K.Model(inp, [y, sh, sc]), rand_x(4, 7, 3, seed=9), True


def c_dropout_etc(K, major):
    model = K.Sequential([K.Input(shape=(6, 3)),
                          K.layers.GaussianNoise(0.1, name="noise"),
                          K.layers.SpatialDropout1D(0.2, name="sdrop"),
                          K.layers.LSTM(5, dropout=0.2, recurrent_dropout=0.1, name="lstm"),
                          K.layers.Dropout(0.5, name="drop"),
                          K.layers.Dense(4, name="dense"),
                          K.layers.Activation("softmax", name="softmax")])
    return model, rand_x(4, 6, 3, seed=10), True


def c_lambda(K, major):
    model = K.Sequential([K.Input(shape=(4, 2)), K.layers.Lambda(lambda t: t * 2, name="double"),
                          K.layers.LSTM(3, name="lstm"), K.layers.Dense(1, name="dense")])
    return model, rand_x(2, 4, 2, seed=11), True


def c_big_lstm256(K, major):
    model = K.Sequential([K.Input(shape=(50, 32)),
                          K.layers.LSTM(256, return_sequences=True, name="lstm_1"),
                          K.layers.LSTM(256, name="lstm_2"),
                          K.layers.Dense(1, name="dense")])
    return model, rand_x(4, 50, 32, seed=12), False


CASES = {
    "sine": c_sine,
    "toy_tanh_sigmoid": _toy("tanh", "sigmoid"),
    "toy_relu_sigmoid": _toy("relu", "sigmoid"),
    "toy_tanh_relu": _toy("tanh", "relu"),
    "toy_tanh_hardsigmoid": _toy("tanh", "hard_sigmoid"),
    "nobias": c_nobias,
    "backwards": c_backwards,
    "stack_seq": c_stack_seq,
    "seq_out": c_seq_out,
    "seq_dense3d": c_seq_dense3d,
    "func_state": c_func_state,
    "dropout_etc": c_dropout_etc,
    "lambda": c_lambda,
    "big_lstm256": c_big_lstm256,
}
for _a in ACTIVATIONS:
    CASES[f"act_{_a}"] = _act(_a, recurrent=False)
    CASES[f"ract_{_a}"] = _act(_a, recurrent=True)

TAGS = {"lambda": ["refuse"], "big_lstm256": ["bench"], "sine": ["trained"]}
ONLY_FORMATS = {"big_lstm256": ("k2h5", "k3keras"), "lambda": ("k2h5", "k3keras")}


# --- per-step states from Keras ----------------------------------------------------------------------------------------
def lstm_states(K, model, xs):
    """hseq/cseq for each top-level LSTM whose input is causal (plain forward chain from the model input)."""
    out = {}
    causal = True
    for layer in model.layers:
        cls = layer.__class__.__name__
        if cls != "LSTM":
            continue
        if not causal:
            break
        feed = K.Model(model.inputs, layer.input)
        u = np.asarray(feed.predict(xs, verbose=0), dtype="float32")
        cfg = layer.get_config()
        cfg.update(return_state=True, return_sequences=False, name=layer.name + "_states")
        probe_in = K.Input(shape=(None, u.shape[-1]))
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
        # a go_backwards layer's sequence output is not causal for a layer stacked on it
        causal = not layer.go_backwards
    return out


def generate(major: int, names: list[str]) -> list[dict]:
    K, tf = keras_for(major)

    entries = []
    for name in names:
        seed = seed_case(K, tf, name, major)
        try:
            model, xs, random_weights = CASES[name](K, major)
        except (ValueError, AttributeError, KeyError) as e:
            print(f"keras{major} {name}: SKIPPED ({type(e).__name__}: {str(e)[:120]})", flush=True)
            continue
        if random_weights:
            randomise(model, np.random.RandomState(seed))
            if random_weights is not True:
                model.set_weights([w * np.float32(random_weights) for w in model.get_weights()])
        ys = model.predict(xs, verbose=0)
        ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
        data = {f"x_{i}": x for i, x in enumerate(xs)}
        data.update({f"y_{i}": np.asarray(y, dtype="float32") for i, y in enumerate(ys)})
        if name != "lambda":
            data.update(layer_outputs(K, model, xs, major))
            if name != "big_lstm256":
                data.update(lstm_states(K, model, xs))
        formats = [("k2h5", ".h5")] if major == 2 else [("k3keras", ".keras"), ("k3h5", ".h5")]
        for fmt, ext in formats:
            if fmt not in ONLY_FORMATS.get(name, (fmt,)):
                continue
            d = FIX / fmt
            d.mkdir(parents=True, exist_ok=True)
            mpath = d / (name + ext)
            if name == "lambda":
                model.save(str(mpath))  # Keras 3 refuses to reload a lambda without safe_mode=False: no check
            else:
                save_checked(K, model, mpath, xs, ys)
            np.savez_compressed(d / (name + ".npz"), **data)
            entries.append({"name": name, "format": fmt, "model": f"{fmt}/{name}{ext}", "data": f"{fmt}/{name}.npz",
                            "keras_version": K.__version__, "tags": TAGS.get(name, []),
                            "lstm_layers": [l.name for l in model.layers if l.__class__.__name__ == "LSTM"]})
        print(f"keras{major} {name}: ok", flush=True)
    return entries


def main(argv):
    if argv and argv[0] == "--worker":
        Path(argv[2]).write_text(json.dumps(generate(int(argv[1]), argv[3:])))
        return
    names = argv or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; known: {sorted(CASES)}")
    all_entries = run_workers(__file__, (2, 3), names)
    merge_manifest(MANIFEST, all_entries)


if __name__ == "__main__":
    main(sys.argv[1:])
