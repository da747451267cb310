"""Config values that used to escape as tracebacks (or be accepted silently) give one-line refusals."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.errors import ModelFileError
from lstm_inspector import cli

from . import crafted


def load_error(path) -> str:
    with pytest.raises(ModelFileError) as ei:
        engine.load_model(path)
    msg = str(ei.value)
    assert msg.startswith(str(path) + ": ") and "\n" not in msg, msg
    return msg


def test_duplicate_layer_names_in_a_sequential_keras2_file(tmp_path):
    # tf_keras 2.21 refuses this file: "All layers added to a Sequential model should have unique names"
    cfg = crafted.tiny_config([{"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "linear"}}])
    msg = load_error(crafted.tiny_h5(tmp_path / "dup.h5", config=cfg))
    assert "two layers are named 'dense'" in msg


def test_duplicate_layer_names_in_a_functional_file(tmp_path):
    cfg = crafted.chain_config(3)
    layers = cfg["config"]["layers"]
    layers[3]["name"] = layers[3]["config"]["name"] = "a1"
    layers[3]["inbound_nodes"] = [[["a1", 0, 0, {}]]]
    cfg["config"]["output_layers"] = [["a1", 0, 0]]
    assert "two layers are named 'a1'" in load_error(crafted.weightless_h5(tmp_path / "dup.h5", cfg))


@pytest.mark.parametrize("mode", ["sum", "mul", "ave"])
def test_bidirectional_halves_with_different_units(tmp_path, mode):
    p = crafted.tiny_h5(tmp_path / "bi.h5", config=crafted.bidirectional_config(mode, 5), weights=crafted.bidirectional_weights(5))
    assert f"merge_mode '{mode}' needs both directions to have the same units (forward 3, backward 5)" in load_error(p)


def test_bidirectional_concat_with_different_units_runs(tmp_path):
    p = crafted.tiny_h5(tmp_path / "bi.h5", config=crafted.bidirectional_config("concat", 5), weights=crafted.bidirectional_weights(5))
    assert engine.load_model(p).predict(np.ones((2, 4, 2), "f4")).shape == (2, 8)


def test_out_of_range_axis_is_one_line_against_the_model(tmp_path, capsys):
    p = crafted.keras3_op_model(tmp_path / "axis.keras", "Any", {"axis": 7, "keepdims": False})
    x = tmp_path / "x.npy"
    np.save(x, np.ones((2, 4, 2), "f4"))
    rc = cli.main(["predict", str(p), "--input", str(x), "--output", str(tmp_path / "y.npy")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {p}: the model cannot run on this input (AxisError: axis 7 is out of bounds")
    assert not (tmp_path / "y.npy").exists()


def test_layer_called_without_inputs(tmp_path):
    cfg = crafted.chain_config(2)
    cfg["config"]["layers"][2]["inbound_nodes"] = [[]]
    assert "layer 'a1' is called without any input" in load_error(crafted.weightless_h5(tmp_path / "n.h5", cfg))


def test_numpy_warnings_never_reach_stderr(tmp_path):
    # a Masking value that overflows float32 used to print NumPy's two-line RuntimeWarning before the result
    cfg = crafted.tiny_config()
    cfg["config"]["layers"].insert(0, {"class_name": "Masking", "config": {
        "name": "mask", "mask_value": 1e300, "batch_input_shape": [None, 4, 2]}})
    p = crafted.tiny_h5(tmp_path / "m.h5", config=cfg)
    x = tmp_path / "x.npy"
    np.save(x, np.ones((2, 4, 2), "f4"))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([sys.executable, "main.py", "predict", str(p), "--input", str(x), "--output",
                        str(tmp_path / "y.npy")], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == ""


def test_kernel_that_does_not_fit_the_previous_layer(tmp_path):
    # found by tools/fuzz.py: a mutated Concatenate axis fed 8 features to a SimpleRNN whose kernel reads 4; the
    # replay failed in a matrix product. Refused at load, naming the layer.
    w = crafted.tiny_weights()
    w["dense"] = [("dense/kernel:0", np.ones((5, 1), "f4")), ("dense/bias:0", np.zeros(1, "f4"))]
    msg = load_error(crafted.tiny_h5(tmp_path / "k.h5", weights=w))
    assert "layer 'dense' (Dense) gets 3 features, its kernel expects 5" in msg
