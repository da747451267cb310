"""The headless CLI: info / predict / trace succeed with exit 0; any bad input is one stderr line and exit 2."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from tests.engine.helpers import run_cli

from . import crafted

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def model_path(tmp_path):
    return str(crafted.tiny_h5(tmp_path / "model.h5"))


@pytest.fixture
def x_path(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, np.random.RandomState(1).randn(3, 4, 2).astype("f4"))
    return str(p)


def test_info(model_path, capsys):
    rc, out, err = run_cli(["info", model_path], capsys)
    assert rc == 0 and err == ""
    assert "LSTM" in out and "W_i (2, 3)" in out and "U_o (3, 3)" in out and "b_f (3,)" in out
    assert "Keras 2.21.0" in out


def test_predict_npy(model_path, x_path, tmp_path, capsys):
    out_path = tmp_path / "y.npy"
    rc, _, err = run_cli(["predict", model_path, "--input", x_path, "--output", str(out_path)], capsys)
    assert rc == 0 and err == ""
    y = np.load(out_path)
    np.testing.assert_array_equal(y, engine.load_model(model_path).predict(np.load(x_path)))


def test_predict_csv(model_path, tmp_path, capsys):
    cfg = crafted.tiny_config()
    cfg["config"]["layers"][0]["config"]["batch_input_shape"] = [None, 4, 1]
    w = crafted.tiny_weights()
    w["lstm"][0] = (w["lstm"][0][0], w["lstm"][0][1][:1])
    mp = crafted.tiny_h5(tmp_path / "one.h5", config=cfg, weights=w)
    csv = tmp_path / "x.csv"
    csv.write_text("0.1,0.2,0.3,0.4\n0.5,0.6,0.7,0.8\n")
    rc, _, err = run_cli(["predict", str(mp), "--input", str(csv), "--output", str(tmp_path / "y.npy")], capsys)
    assert rc == 0, err
    x = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], "f4")[:, :, None]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), engine.load_model(mp).predict(x))


def test_trace(model_path, x_path, tmp_path, capsys):
    out_path = tmp_path / "t.npz"
    rc, _, err = run_cli(["trace", model_path, "--input", x_path, "--output", str(out_path)], capsys)
    assert rc == 0 and err == ""
    with np.load(out_path) as t:
        assert t["lstm/C"].shape == (3, 4, 3) and t["lstm/i"].shape == (3, 4, 3)
        np.testing.assert_array_equal(t["y_0"], engine.load_model(model_path).predict(np.load(x_path)))
        np.testing.assert_array_equal(t["readout_0"][:, -1], t["y_0"])


def _bad_cases(tmp_path, model_path, x_path):
    text = tmp_path / "text.h5"
    text.write_text("not a model")
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    wrong_x = tmp_path / "wrong.npy"
    np.save(wrong_x, np.zeros((2, 4, 5), "f4"))
    pickled = tmp_path / "obj.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return [
        (["info", str(text)], str(text), "neither an HDF5"),
        (["predict", str(empty), "--input", x_path, "--output", "OUT.npy"], str(empty), "is empty"),
        (["predict", model_path, "--input", str(wrong_x), "--output", "OUT.npy"], str(wrong_x), "expects (None, 4, 2)"),
        (["predict", model_path, "--input", str(tmp_path / "missing.npy"), "--output", "OUT.npy"], "missing.npy", "no such file"),
        (["trace", model_path, "--input", str(pickled), "--output", "OUT.npz"], str(pickled), "cannot be read"),
        (["trace", model_path, "--input", x_path, "--output", "OUT.npy"], "OUT.npy", "written as .npz"),
    ]


def test_bad_inputs_one_line_exit_2(model_path, x_path, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv, who, needle in _bad_cases(tmp_path, model_path, x_path):
        rc, out, err = run_cli(argv, capsys)
        assert rc == 2, argv
        assert err.startswith("error: ") and who in err and needle in err, err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert not (tmp_path / "OUT.npy").exists() and not (tmp_path / "OUT.npz").exists()


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 50)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "info", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: cannot be read as HDF5"), r.stderr
    assert r.stdout == ""


def test_info_lists_unsupported_layer_and_refuses(tmp_path, capsys):
    cfg = crafted.with_layer(crafted.tiny_config(), 1, {"class_name": "Lambda", "config": {"name": "lam", "function": "x"}})
    p = crafted.tiny_h5(tmp_path / "lam.h5", config=cfg)
    rc, out, err = run_cli(["info", str(p)], capsys)
    assert rc == 2
    assert "lam" in out and "UNSUPPORTED" in out and "lstm" in out  # every layer listed
    assert err.count("\n") == 1 and "Lambda" in err and str(p) in err
