"""The bundled demo: the noisy-sine LSTM(100) → Dense(1) → Activation("linear") trained with real Keras 3.

    pip install -e '.[keras]'
    python tools/make_demo.py

Writes ``resources/demo/sine_lstm.keras`` and ``resources/demo/sine_data.npz`` with

* ``x_test`` (N, 5, 1) windows of sin(2πt/80 + U(-1,1)·0.05) from a series the model was not trained on,
* ``y_test`` (N, 1) the value that follows each window (the target),
* ``y_keras`` (N, 1) Keras' own ``model.predict(x_test)``, so the app can show its replay's difference to Keras,
* ``series`` the raw test series.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "demo"


def main() -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    import tensorflow as tf

    from make_fixtures import sine_windows, train_sine

    np.random.seed(80)
    tf.random.set_seed(80)
    keras.utils.set_random_seed(80)
    model = train_sine(keras, epochs=20, n_points=1000, seed=10)
    series, x_test, y_test = sine_windows(205, seed=11)
    y_keras = model.predict(x_test, verbose=0).astype("float32")
    OUT.mkdir(parents=True, exist_ok=True)
    model.save(str(OUT / "sine_lstm.keras"))
    reloaded = keras.models.load_model(str(OUT / "sine_lstm.keras"), compile=False)
    assert np.allclose(reloaded.predict(x_test, verbose=0), y_keras, atol=1e-6)
    np.savez_compressed(OUT / "sine_data.npz", x_test=x_test, y_test=y_test, y_keras=y_keras, series=series)
    mse = float(np.mean((y_keras - y_test) ** 2))
    print(f"demo written to {OUT.relative_to(ROOT)}: {len(x_test)} test windows, test MSE {mse:.5f}")


if __name__ == "__main__":
    main()
