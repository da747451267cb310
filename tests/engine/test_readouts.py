"""The readout after every step for every sample, checked against Keras: the last step is Keras' prediction, and
every step is the model's head applied to Keras' own h_t of that step (from the fixtures, made with real Keras)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from engine.readouts import batch_readouts
from tests.engine.helpers import TOL, load_fixture

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def load(name, fmt):
    return load_fixture(name, fmt)[:2]


@pytest.mark.parametrize("name,fmt", [("toy_tanh_sigmoid", "k3keras"), ("sine", "k2h5"), ("sine", "k3h5")])
def test_every_step_is_the_head_on_keras_states(name, fmt):
    model, d = load(name, fmt)
    r = batch_readouts(model, [d["x_0"]])
    batch, T = d["x_0"].shape[:2]
    assert r.values.shape == (batch, T, d["y_0"].reshape(batch, -1).shape[1])
    np.testing.assert_allclose(r.values[:, -1], d["y_0"].reshape(batch, -1), atol=TOL)
    head = [layer for layer in model.layers if layer.class_name in ("Dense", "Activation")]
    for t in range(T):
        y = d["hseq__lstm"][:, t]
        for layer in head:
            y = layer.call([y])[0]
        np.testing.assert_allclose(r.values[:, t], y.reshape(batch, -1), atol=TOL)


def test_demo_last_step_is_keras_prediction():
    model = engine.load_model(DEMO / "sine_lstm.keras")
    d = np.load(DEMO / "sine_data.npz")
    r = batch_readouts(model, [d["x_test"]])
    assert r.values.shape == (200, 5, 1) and [t for _, t in r.steps] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(r.values[:, -1], d["y_keras"], atol=TOL)
    # the readout changes over the window: the picture is about the warm-up, not a constant
    assert np.abs(r.values[:, 0] - r.values[:, -1]).max() > 0.1


def test_encoder_steps_have_no_readout():
    model, d = load("br_enc_dec", "k3keras")
    r = batch_readouts(model, [d["x_0"], d["x_1"]], output=0)
    enc = [k for k, (stage, _) in enumerate(r.steps) if stage == r.steps[0][0]]
    assert np.isnan(r.values[:, enc]).all()
    assert set(r.defined_steps) == set(range(len(r.steps))) - set(enc)
    np.testing.assert_allclose(r.values[:, -1], d["y_0"][:, -1], atol=TOL)
