"""The bundled demo (trained with real Keras 3) replays to Keras' own predictions."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import engine

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def test_demo_matches_keras():
    m = engine.load_model(DEMO / "sine_lstm.keras")
    d = np.load(DEMO / "sine_data.npz")
    y = m.predict(d["x_test"])
    assert y.shape == d["y_keras"].shape == d["y_test"].shape
    assert float(np.max(np.abs(y - d["y_keras"]))) <= 1e-5
    # and the model learned the sine: far better than predicting the last value of each window
    assert np.mean((y - d["y_test"]) ** 2) < np.mean((d["x_test"][:, -1] - d["y_test"]) ** 2)


def test_demo_is_lstm100_dense_activation():
    m = engine.load_model(DEMO / "sine_lstm.keras")
    assert [l.class_name for l in m.layers] == ["LSTM", "Dense", "Activation"]
    lstm = m.recurrent_layers[0]
    assert lstm.units == 100 and lstm.gate("W", "f").shape == (1, 100) and lstm.gate("U", "c").shape == (100, 100)
