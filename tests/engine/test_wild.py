"""Real users' kinds of files (issue 11, part A): diverged weights, advanced activation layers, tf.keras 2.13–2.15
.keras archives (Windows backslash paths too), Keras 3 models saved before they were built, and ``info`` on a file
with one unsupported layer. Parity of every wild_* fixture with Keras runs in test_parity.py and test_cli_fixtures.py."""
from __future__ import annotations

import io
import json
import zipfile

import h5py
import numpy as np
import pytest

import engine
from tests.engine.helpers import TOL, max_err, run_cli
from tests.fixture_index import FIXTURES, case_id, cases, find, manifest

from . import crafted

ALL4 = ("k2h5", "k2keras", "k3h5", "k3keras")
EXPECTED = {
    "wild_seq_mask_lstm_post": ALL4, "wild_seq_mask_gru_pre": ALL4, "wild_seq_mask_simplernn": ALL4,
    "wild_seq_mask_bidi": ALL4, "wild_seq_embed_gru_pre": ALL4, "wild_seq_embed_lstm_post": ALL4,
    "wild_act_leaky_elu": ALL4, "wild_act_relu_options": ALL4, "wild_act_prelu": ALL4, "wild_act_prelu_per_step": ALL4,
    "wild_act_softmax": ALL4, "wild_act_thresholded": ("k2h5", "k2keras"),
    "wild_nan_lstm_gate": ALL4, "wild_nan_dense_inf": ALL4,
}


def test_wild_fixtures_exist():
    have = {(e["name"], e["format"]) for e in manifest()}
    missing = [f"{fmt}/{name}" for name, fmts in EXPECTED.items() for fmt in fmts if (name, fmt) not in have]
    missing += [f"k2keras/{name}_win" for name in EXPECTED if (name + "_win", "k2keras") not in have]
    assert not missing, f"missing fixtures (run tools/make_fixtures_wild.py): {missing}"


# --- diverged models --------------------------------------------------------------------------------------------------
def test_diverged_model_names_layer_and_gate():
    e = find("wild_nan_lstm_gate", "k3keras")
    m = engine.load_model(FIXTURES / e["model"])
    assert [(b.layer, b.block, b.nan) for b in m.nonfinite] == [("lstm_a", "W_f", 1)]
    from engine.describe import describe_model

    text = describe_model(m)
    assert "non-finite weights" in text and "lstm_a (W_f)" in text and "W_f: 1 NaN of 12" in text


def test_diverged_crafted_model_opens_and_replays_nan(tmp_path, capsys):
    w = crafted.tiny_weights()
    w["dense"][0][1][1, 0] = np.inf
    p = crafted.tiny_h5(tmp_path / "m.h5", weights=w)
    m = engine.load_model(p)
    assert [str(b) for b in m.nonfinite] == ["kernel: 1 inf of 3"]
    y = m.predict(np.random.RandomState(0).randn(2, 4, 2).astype("f4"))
    assert not np.isfinite(y).any()
    rc, out, err = run_cli(["info", str(p)], capsys)
    assert rc == 0 and "NON-FINITE: kernel: 1 inf of 3" in out
    assert err.startswith("warning:") and "dense (kernel)" in err and err.count("\n") == 1


def test_inputs_with_nan_are_still_refused(tmp_path):
    m = engine.load_model(crafted.tiny_h5(tmp_path / "m.h5"))
    x = np.zeros((1, 4, 2), "f4")
    x[0, 1, 1] = np.nan
    with pytest.raises(engine.FormatError, match="NaN"):
        m.predict(x)


# --- info with one unsupported layer --------------------------------------------------------------------------------
def test_info_describes_unsupported_layer_and_exits_0(tmp_path, capsys):
    cfg = crafted.with_layer(crafted.tiny_config(), 1, {"class_name": "FancyAttention", "config": {"name": "fancy"}})
    p = crafted.tiny_h5(tmp_path / "m.h5", config=cfg)
    rc, out, err = run_cli(["info", str(p)], capsys)
    assert rc == 0
    assert "fancy" in out and "UNSUPPORTED" in out and "W_i (2, 3)" in out and "dense" in out
    assert err.count("\n") == 1 and err.startswith("warning:") and "FancyAttention" in err
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 4, 2), "f4"))
    for cmd in ("predict", "trace"):
        rc, out, err = run_cli([cmd, str(p), "-i", str(x), "-o", str(tmp_path / "y.npz")], capsys)
        assert rc == 2 and err.count("\n") == 1 and err.startswith(f"error: {p}:") and "FancyAttention" in err
    assert not (tmp_path / "y.npz").exists()


# --- a Keras 3 model saved before it was built ------------------------------------------------------------------------
UNBUILT = FIXTURES / "k3keras" / "wild_unbuilt.keras"


def test_unbuilt_model_info_shows_architecture(capsys):
    rc, out, err = run_cli(["info", str(UNBUILT)], capsys)
    assert rc == 0
    assert "weights:  NONE" in out and "saved before it was built" in out
    assert "LSTM" in out and "units=4" in out and "GRU" in out and "Dense" in out
    assert err.count("\n") == 1 and err.startswith("warning:") and "no weights" in err


def test_unbuilt_model_refuses_to_run(tmp_path, capsys):
    m = engine.load_model(UNBUILT)
    assert m.graph.unbuilt and m.param_count() == 0
    with pytest.raises(engine.FormatError, match="no weights"):
        m.predict(np.zeros((1, 5, 3), "f4"))
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 5, 3), "f4"))
    rc, _, err = run_cli(["predict", str(UNBUILT), "-i", str(x), "-o", str(tmp_path / "y.npy")], capsys)
    assert rc == 2 and err.count("\n") == 1 and err.startswith(f"error: {UNBUILT}:") and "no weights" in err


# --- tf.keras 2.13–2.15 .keras ------------------------------------------------------------------------------------------
def test_windows_archive_has_backslash_groups_and_reads():
    e = find("wild_seq_mask_lstm_post_win", "k2keras")
    with zipfile.ZipFile(FIXTURES / e["model"]) as z:
        meta = json.loads(z.read("metadata.json"))
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            roots = list(f.keys())
    assert meta["keras_version"].startswith("2.")
    assert "layers\\lstm\\cell" in roots and "layers" not in roots  # as tf.keras 2.15 wrote it on Windows
    m = engine.load_model(FIXTURES / e["model"])
    assert m.format_label.startswith("tf.keras 2.13")
    assert len(m.recurrent_layers) == 2


def test_unknown_weights_layout_says_what_is_there(tmp_path):
    members = crafted.tiny_keras_members()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("weights/lstm/vars/0", data=np.zeros((2, 12), "f4"))
    members["model.weights.h5"] = buf.getvalue()
    p = crafted.keras_zip(tmp_path / "odd.keras", members)
    with pytest.raises(engine.ModelFileError) as ei:
        engine.load_model(p)
    assert "holds weights under weights" in str(ei.value) and "not known" in str(ei.value)


# --- float64 replay ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("e", cases(), ids=case_id)
def test_float64_replay_of_every_fixture(e):
    """The whole model in float64: float64 out of every layer, and on these well-conditioned models as close to
    Keras' float32 output as the float32 replay is held (1e-5); stepping to the end is predict, in float64 too."""
    m = engine.load_model(FIXTURES / e["model"], dtype=np.float64)
    data = np.load(FIXTURES / e["data"])
    xs = [data[f"x_{i}"] for i in range(len(m.graph.inputs))]
    y = m.predict(xs)
    ys = y if isinstance(y, list) else [y]
    for i, yi in enumerate(ys):
        assert yi.dtype == np.float64
        assert max_err(yi, data[f"y_{i}"].astype(np.float64)) <= TOL
    st = m.stepper(xs, record=True, readout=False)
    for a, b in zip(st.run(), ys):
        np.testing.assert_array_equal(a, b)
    for run in st.runs.values():
        assert all(v.dtype == np.float64 for k, v in run.records.items() if not k.endswith("mask"))


def test_float64_cli(tmp_path, capsys):
    e = find("wild_seq_mask_gru_pre", "k3keras")
    data = np.load(FIXTURES / e["data"])
    x = tmp_path / "x.npy"
    np.save(x, data["x_0"])
    rc, _, err = run_cli(["predict", str(FIXTURES / e["model"]), "-i", str(x), "-o", str(tmp_path / "y.npy"), "--float64"], capsys)
    assert rc == 0 and err == ""
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.float64 and max_err(y, data["y_0"].astype(np.float64)) <= TOL
    rc, _, err = run_cli(["trace", str(FIXTURES / e["model"]), "-i", str(x), "-o", str(tmp_path / "t.npz"), "--float64"], capsys)
    assert rc == 0 and err == ""
    with np.load(tmp_path / "t.npz") as t:
        assert t["y_0"].dtype == np.float64 and all(t[k].dtype == np.float64 for k in t.files if k.endswith("/h"))


def test_load_model_refuses_other_dtypes():
    e = find("wild_act_prelu", "k3keras")
    with pytest.raises(ValueError):
        engine.load_model(FIXTURES / e["model"], dtype=np.float16)


@pytest.mark.parametrize("fmt,ext", [("k2h5", ".h5"), ("k3h5", ".h5"), ("k3keras", ".keras")])
def test_ill_conditioned_model_as_close_to_float64_as_keras(fmt, ext):
    """A model where Keras' own float32 output is far beyond 1e-5 from the same model in float64 (Keras' float64
    rebuild, ``y64_0``): the float32 replay rounds no worse than Keras does (its typical distance to float64, over 64
    samples, within 1.5x of Keras'), and the float64 replay is Keras' float64 rebuild."""
    path = FIXTURES / fmt / f"wild_illcond_gru{ext}"
    d = np.load(FIXTURES / fmt / "wild_illcond_gru.npz")
    x, k32, k64 = d["x_0"], d["y_0"].astype(np.float64), d["y64_0"]
    assert float(np.median(np.abs(k32 - k64))) > TOL  # truly out of reach of float32
    ours = engine.load_model(path).predict(x).astype(np.float64)
    e_ours, e_keras = np.abs(ours - k64), np.abs(k32 - k64)
    assert np.median(e_ours) <= 1.5 * np.median(e_keras)
    assert np.sqrt(np.mean(e_ours ** 2)) <= 1.5 * np.sqrt(np.mean(e_keras ** 2))
    exact = engine.load_model(path, dtype=np.float64).predict(x)
    assert max_err(exact, k64) <= 1e-9
