"""Targets and Keras' outputs from the files people have: X.npy with y.npy next to it, documented .npz keys, and
random inputs that respect an input's kind (token ids for an Embedding)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from engine.inputs import input_specs, load_dataset, load_keras_outputs, load_targets, random_dataset
from tests.fixture_index import FIXTURES, find

ROOT = Path(__file__).resolve().parents[2]


def test_x_npy_finds_y_npy_and_keras_outputs_next_to_it(tmp_path):
    x = np.zeros((4, 5, 1), np.float32)
    y = np.arange(4, dtype=np.float32)[:, None]
    for stem in ("X", "x_test", "X-val"):
        np.save(tmp_path / f"{stem}.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "y_test.npy", y + 1)
    np.save(tmp_path / "y_test_keras.npy", y + 2)
    d = load_dataset(tmp_path / "X.npy")
    np.testing.assert_array_equal(d.targets, y) and d.keras_outputs is None
    d = load_dataset(tmp_path / "x_test.npy")
    np.testing.assert_array_equal(d.targets, y + 1)
    np.testing.assert_array_equal(d.keras_outputs[0], y + 2)
    assert load_dataset(tmp_path / "X-val.npy").targets is None  # no y-val.npy
    np.save(tmp_path / "xylophone.npy", x)  # not an X… name
    assert load_dataset(tmp_path / "xylophone.npy").targets is None


def test_npz_keys(tmp_path):
    x = np.ones((3, 2, 1), np.float32)
    np.savez(tmp_path / "a.npz", x=x, y_true=x[:, 0], y_keras=x[:, 0] * 2)
    d = load_dataset(tmp_path / "a.npz")
    assert d.inputs[0].shape == (3, 2, 1) and d.targets.shape == (3, 1) and d.keras_outputs[0][0, 0] == 2
    np.savez(tmp_path / "b.npz", x_0=x, x_1=x * 3, y_0=x[:, 0], y_1=x[:, 1])
    d = load_dataset(tmp_path / "b.npz")
    assert len(d.inputs) == 2 and d.inputs[1][0, 0, 0] == 3 and len(d.keras_outputs) == 2 and d.targets is None


def test_load_targets_and_keras_outputs_files(tmp_path):
    y = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.save(tmp_path / "y.npy", y)
    np.savetxt(tmp_path / "y.csv", y, delimiter=",")
    np.savez(tmp_path / "t.npz", y_test=y)
    np.savez(tmp_path / "k.npz", output_0=y, output_1=y[:, :1])
    np.testing.assert_array_equal(load_targets(tmp_path / "y.npy"), y)
    np.testing.assert_array_equal(load_targets(tmp_path / "y.csv"), y)
    np.testing.assert_array_equal(load_targets(tmp_path / "t.npz"), y)
    ks = load_keras_outputs(tmp_path / "k.npz")
    assert len(ks) == 2 and ks[1].shape == (3, 1)
    np.savez(tmp_path / "many.npz", a=y, b=y)
    with pytest.raises(engine.ModelFileError, match="no array named"):
        load_targets(tmp_path / "many.npz")
    with pytest.raises(engine.ModelFileError, match="no such file"):
        load_keras_outputs(tmp_path / "none.npz")


def test_random_inputs_respect_token_ids():
    e = find("br_embedding", "k3keras")
    model = engine.load_model(FIXTURES / e["model"])
    specs = input_specs(model.graph)
    assert specs[0].integer and specs[0].high is not None
    x = random_dataset(model.input_shapes, specs=specs, seed=3).inputs[0]
    assert x.dtype.kind == "i" and 0 <= x.min() and x.max() < specs[0].high
    model.predict(x)  # token ids the Embedding takes
    demo = engine.load_model(ROOT / "resources/demo/sine_lstm.keras")
    assert not input_specs(demo.graph)[0].integer
    assert random_dataset(demo.input_shapes, specs=input_specs(demo.graph)).inputs[0].dtype == np.float32
