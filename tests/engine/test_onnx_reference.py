"""The ONNX graph bench_predict.py times ONNX Runtime on (bench/_onnx.py) computes the Keras model: built from the
weights of real-Keras fixtures, ORT's outputs equal Keras' to 1e-5. Skipped without the ``bench`` extra."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.engine.helpers import load_case
from tests.fixture_index import case_id, cases

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _onnx import engine_layers, onnx_model, ort_predict, ort_session  # noqa: E402

# plain Sequential stacks of LSTM (tanh / sigmoid, bias) → Dense, the kind the benchmark builds
NAMES = ("sine", "stack_seq", "big_lstm256", "act_tanh", "ract_sigmoid")
CASES = [e for e in cases() if e["format"] == "k3keras" and e["name"] in NAMES]


def test_cases_found():
    assert len(CASES) == len(NAMES)


@pytest.mark.parametrize("e", CASES, ids=case_id)
def test_ort_matches_keras(e):
    model, data, _ = load_case(e)
    sess = ort_session(onnx_model(engine_layers(model), None, model.input_shapes[0][-1]))
    np.testing.assert_allclose(ort_predict(sess, data["x_0"].astype(np.float32)), data["y_0"], rtol=0, atol=1e-5)


def test_lstm_gate_order_matters():
    """Keras' i f c o as ONNX's i o f c: the same weights in Keras' order give another answer."""
    e = next(e for e in CASES if e["name"] == "stack_seq")
    model, data, _ = load_case(e)
    import _onnx

    layers = engine_layers(model)
    good = ort_predict(ort_session(onnx_model(layers, None, model.input_shapes[0][-1])), data["x_0"])
    saved = _onnx.LSTM_KERAS_TO_ONNX
    try:
        _onnx.LSTM_KERAS_TO_ONNX = (0, 1, 2, 3)
        bad = ort_predict(ort_session(onnx_model(layers, None, model.input_shapes[0][-1])), data["x_0"])
    finally:
        _onnx.LSTM_KERAS_TO_ONNX = saved
    assert np.abs(good - data["y_0"]).max() <= 1e-5 < np.abs(bad - data["y_0"]).max()
