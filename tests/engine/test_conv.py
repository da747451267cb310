"""Image models and ConvLSTM (tools/make_fixtures_conv.py). test_parity.py replays every one of these fixtures against
Keras (outputs, every layer, and the per-step h and C of each ConvLSTM); here: the fixtures exist in every format,
each ConvLSTM fixture does carry Keras' per-step states, ConvLSTM's gates are views sliced like LSTM's and its
records obey the cell's equations, and what is not supported is refused by name."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import engine
from engine.describe import describe_model
from engine.errors import InputShapeError
from engine.layers.conv_lstm import ConvLSTM
from engine.layers.spatial import conv_nd
from tests.engine.helpers import load_fixture, node
from tests.fixture_index import FIXTURES, find, manifest

ALL = ("k2h5", "k3h5", "k3keras")
EXPECTED = {n: ALL for n in ("cv_lrcn", "cv_lrcn_global", "cv_lrcn_bn", "cv_conv2d_options", "cv_channels_first", "cv_conv3d",
                             "cv_convlstm2d", "cv_convlstm2d_options", "cv_convlstm1d", "cv_convlstm2d_cf",
                             "cv_convlstm3d", "cv_convlstm2d_enc_dec")}
CONVLSTM = [n for n in EXPECTED if n.startswith("cv_convlstm")]
ROOT = Path(__file__).resolve().parents[2]
# ../shared/wild from the project root (a checkout in /work/main), or from a worktree's parent (/work/wt/NAME)
WILD = next((p for p in (ROOT.parent / "shared" / "wild", ROOT.parent.parent / "shared" / "wild") if p.is_dir()),
            ROOT.parent / "shared" / "wild")


def test_conv_fixtures_exist():
    have = {(e["name"], e["format"]) for e in manifest()}
    missing = [f"{fmt}/{name}" for name, fmts in EXPECTED.items() for fmt in fmts if (name, fmt) not in have]
    assert not missing, f"missing fixtures (run tools/make_fixtures_conv.py): {missing}"


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize("name", CONVLSTM)
def test_every_convlstm_step_is_checked_against_keras(name, fmt):
    """The parity test compares records with Keras' per-step states: every ConvLSTM fed causally has them."""
    m, d, xs = load_fixture(name, fmt)
    st = m.stepper(xs, record=True, readout=False)
    st.run()
    convs = [n for n in m.graph.nodes if isinstance(n.layer, ConvLSTM)]
    assert convs
    first = convs[0].qualname
    assert f"hseq__{first}" in d.files and f"cseq__{first}" in d.files
    for n in convs:
        key = f"hseq__{n.qualname}"
        if key in d.files:
            rec = st.runs[n.id].records
            assert rec["h"].shape == d[key].shape
            assert float(np.max(np.abs(rec["h"] - d[key]))) <= 1e-5
            assert float(np.max(np.abs(rec["C"] - d[f"cseq__{n.qualname}"]))) <= 1e-5


@pytest.mark.parametrize("fmt", ("k2h5", "k3keras"))
def test_convlstm_gates_are_views_in_keras_order(fmt):
    m, _, _ = load_fixture("cv_convlstm2d", fmt)
    L = m.layer("clstm_1")
    F = L.filters
    assert L.gate_names == ("i", "f", "c", "o") and L.kernel.shape == (3, 3, 2, 4 * F)
    np.testing.assert_array_equal(L.gate("W", "f"), L.kernel[..., F:2 * F])
    np.testing.assert_array_equal(L.gate("U", "o"), L.recurrent_kernel[..., 3 * F:])
    np.testing.assert_array_equal(L.gate("b", "c"), L.bias[2 * F:3 * F])
    assert all(np.shares_memory(s.array, {"W": L.kernel, "U": L.recurrent_kernel, "b": L.bias}[s.matrix])
               for s in L.gate_slices())
    assert [s.array.shape for s in L.gate_slices()][:3] == [(3, 3, 2, F), (3, 3, F, F), (F,)]


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("fmt", ("k2h5", "k3keras"))
def test_convlstm_records_follow_the_cell(fmt):
    """pre = (x * W + b) + h_{t-1} * U; the gates are its activations; C and h follow; and the records hold maps
    (batch, T, *spatial, filters), processing order (go_backwards reads the last frame first)."""
    m, d, xs = load_fixture("cv_convlstm2d", fmt)
    st = m.stepper(xs, record=True, readout=False)
    st.run()
    L = m.layer("clstm_1")
    F = L.filters
    rec = st.runs[node(m, "clstm_1").id].records
    assert rec["h"].shape == (2, 4, 6, 6, F) and rec["pre"].shape == (2, 4, 6, 6, 4 * F)
    h_prev = np.concatenate([np.zeros_like(rec["h"][:, :1]), rec["h"][:, :-1]], axis=1)
    c_prev = np.concatenate([np.zeros_like(rec["C"][:, :1]), rec["C"][:, :-1]], axis=1)
    for t in range(4):
        z = conv_nd(xs[0][:, t], L.kernel, (1, 1), (1, 1), "same") + L.bias \
            + conv_nd(h_prev[:, t], L.recurrent_kernel, (1, 1), (1, 1), "same")
        np.testing.assert_allclose(rec["pre"][:, t], z, atol=1e-5)
    pre = rec["pre"]
    # Keras 2's ConvLSTM2D defaults to hard_sigmoid, Keras 3's to sigmoid: the file's own choice applies
    rec_act = L.rec_act
    assert rec_act(np.float32([3.0]))[0] == (1.0 if fmt == "k2h5" else np.float32(_sigmoid(np.float32(3.0))))
    np.testing.assert_allclose(rec["i"], rec_act(pre[..., :F]), atol=1e-6)
    np.testing.assert_allclose(rec["f"], rec_act(pre[..., F:2 * F]), atol=1e-6)
    np.testing.assert_allclose(rec["o"], rec_act(pre[..., 3 * F:]), atol=1e-6)
    np.testing.assert_allclose(rec["c~"], np.tanh(pre[..., 2 * F:3 * F]), atol=1e-6)
    np.testing.assert_allclose(rec["C"], rec["f"] * c_prev + rec["i"] * rec["c~"], atol=1e-6)
    np.testing.assert_allclose(rec["h"], rec["o"] * np.tanh(rec["C"]), atol=1e-6)
    np.testing.assert_allclose(rec["h"], d["hseq__clstm_1"], atol=1e-5)
    back = m.layer("clstm_2")
    assert back.go_backwards
    rb = st.runs[node(m, "clstm_2").id].records
    np.testing.assert_array_equal(rb["x"][:, 0], st.env[(node(m, "clstm_1").id, 0)][:, -1])  # the last frame first


def test_convlstm_channels_first_records_in_its_layout():
    m, d, xs = load_fixture("cv_convlstm2d_cf", "k3keras")
    st = m.stepper(xs, record=True, readout=False)
    st.run()
    L = m.layer("clstm_cf")
    rec = st.runs[node(m, "clstm_cf").id].records
    assert rec["h"].shape == d["hseq__clstm_cf"].shape == (2, 3, 3, 6, 5)  # (batch, T, filters, rows, cols)
    np.testing.assert_array_equal(L.channel(rec["h"][0, 1], 2), rec["h"][0, 1, 2])
    L2 = load_fixture("cv_convlstm2d", "k3keras")[0].layer("clstm_1")  # channels_last
    a = np.arange(6 * 6 * 3, dtype=np.float32).reshape(6, 6, 3)
    np.testing.assert_array_equal(L2.channel(a, 1), a[..., 1])


def test_stepped_convlstm_is_one_stage_with_its_source():
    """A ConvLSTM on another one's sequence steps with it (one stage), like stacked LSTMs; with a pooling layer
    between them (not per-step), a second stage."""
    m, _, _ = load_fixture("cv_convlstm1d", "k3keras")
    assert len(m.schedule.stages) == 1 and len(m.schedule.stages[0].recurrent) == 2
    m2, _, _ = load_fixture("cv_convlstm2d_options", "k3keras")
    assert len(m2.schedule.stages) == 2


def test_lrcn_layers_described():
    m, _, _ = load_fixture("cv_lrcn", "k3keras")
    text = describe_model(m)
    assert "layer=Conv2D, filters=4, kernel_size=(3, 3), padding=same, activation=relu" in text
    assert "layer=AveragePooling2D, pool_size=(2, 2), strides=(2, 2), padding=same" in text
    assert "(None, 5, 10, 10, 4)" in text and "UNSUPPORTED" not in text


def _edit_config(tmp_path, name, fmt, edit):
    """A copy of a Keras 2 fixture with its model config changed by ``edit(layer_configs)``."""
    import h5py
    import shutil

    e = find(name, fmt)
    tmp_path.mkdir(parents=True, exist_ok=True)
    dst = tmp_path / Path(e["model"]).name
    shutil.copy(FIXTURES / e["model"], dst)
    with h5py.File(dst, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        edit(cfg["config"]["layers"])
        f.attrs["model_config"] = json.dumps(cfg)
    return dst


def test_grouped_conv_and_bidirectional_convlstm_refused_by_name(tmp_path):
    def groups(layers):
        for l in layers:
            if l["class_name"] == "Conv2D":
                l["config"]["groups"] = 2

    path = _edit_config(tmp_path, "cv_conv2d_options", "k2h5", groups)
    with pytest.raises(engine.ModelFileError, match=r"Conv2D\(groups=2\)"):
        engine.load_model(path)

    def bidi(layers):
        for l in layers:
            if l["class_name"] == "ConvLSTM1D" and l["config"]["name"] == "clstm1_a":
                inner = {"class_name": "ConvLSTM1D", "config": dict(l["config"])}
                l["class_name"] = "Bidirectional"
                l["config"] = {"name": "clstm1_a", "layer": inner, "merge_mode": "concat"}

    path = _edit_config(tmp_path, "cv_convlstm1d", "k2h5", bidi)
    with pytest.raises(engine.ModelFileError, match=r"Bidirectional\(ConvLSTM1D\)"):
        engine.load_model(path)


@pytest.mark.parametrize("name, cls, n, paddings", [("br_conv1d_valid", "Conv1D", 1, ("valid", "same", "causal")),
                                                     ("cv_conv2d_options", "Conv2D", 2, ("valid", "same")),
                                                     ("cv_convlstm2d", "ConvLSTM2D", 2, ("valid", "same"))])
def test_conv_options_keras_would_not_build_are_refused_by_name(tmp_path, name, cls, n, paddings):
    """Conv1D/2D and ConvLSTM read their options with one helper: an unknown padding (``causal`` is Conv1D's only),
    a stride together with a dilation, or a kernel_size of another rank is refused naming the layer; the paddings
    Keras takes (in any case) are not."""
    def first(layers):
        return next(l["config"] for l in layers if l["class_name"] == cls)

    def load_error(key, edit):
        path = _edit_config(tmp_path / key, name, "k2h5", edit)
        with h5py.File(path, "r") as f:
            layer = first(json.loads(f.attrs["model_config"])["config"]["layers"])["name"]
        try:
            engine.load_model(path)
        except engine.ModelFileError as e:
            return layer, str(e)
        return layer, ""

    def setter(**kv):
        return lambda layers: first(layers).update(kv)

    for padding in paddings:
        _, msg = load_error(padding, setter(padding=padding.upper()))
        assert "padding" not in msg
    others = [p for p in ("reflect", "causal") if p not in paddings]
    for padding in others:
        layer, msg = load_error(padding, setter(padding=padding))
        assert f"layer {layer!r}: unknown padding {padding!r}" in msg
    layer, msg = load_error("strided", setter(strides=[2] * n, dilation_rate=[2] * n))
    assert f"layer {layer!r}: strides > 1 together with dilation_rate > 1 is not valid in Keras" in msg
    layer, msg = load_error("rank", setter(kernel_size=[3] * (n + 1)))
    assert f"layer {layer!r}: kernel_size=[{', '.join(['3'] * (n + 1))}] is not {n} whole number(s)" in msg


def test_convlstm_wrong_input_is_one_line_error():
    m, _, xs = load_fixture("cv_convlstm2d", "k3keras")
    with pytest.raises(InputShapeError, match="needs .* with 2 channels") as ei:
        m.layer("clstm_1").call([np.zeros((1, 4, 6, 6, 3), np.float32)])
    assert "\n" not in str(ei.value)


@pytest.mark.skipif(not (WILD / "models" / "har_lrcn_k333.h5").exists(), reason="../shared/wild is not on this machine")
def test_wild_lrcn_matches_keras():
    """The real LRCN (TimeDistributed Conv2D/MaxPooling2D/Dropout/Flatten → LSTM, Keras 3.3.3 .h5)."""
    base = WILD / "models" / "har_lrcn_k333"
    m = engine.load_model(str(base) + ".h5")
    y = m.predict(np.load(str(base) + ".x.npy"))
    assert float(np.max(np.abs(y - np.load(str(base) + ".y.npy")))) <= 1e-5


def test_kernel_exports_as_rows_of_tap_and_channel(tmp_path):
    """A ConvLSTM gate kernel (*taps, in channels, filters) exported as CSV: one row per (tap, input channel), the
    rows the weights table shows; .npy keeps its shape."""
    from engine.export import save_matrix

    m, _, _ = load_fixture("cv_convlstm3d", "k3keras")
    W_f = m.layer("clstm3").gate("W", "f")
    assert W_f.ndim == 5
    save_matrix(tmp_path / "w.csv", W_f)
    assert (tmp_path / "w.csv").read_text().splitlines()[0].split(",")[:2] == ["c0", "c1"]  # the header row
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "w.csv", delimiter=",", dtype=np.float32, ndmin=2,
                                             skiprows=1), W_f.reshape(-1, W_f.shape[-1]))
    save_matrix(tmp_path / "w.npy", W_f)
    np.testing.assert_array_equal(np.load(tmp_path / "w.npy"), W_f)


@pytest.mark.parametrize("name", ["cv_lrcn_global", "cv_conv2d_options", "cv_channels_first", "cv_conv3d",
                                  "cv_convlstm2d_options", "cv_convlstm3d"])
def test_big_frames_convolve_tap_by_tap_and_still_match_keras(name, monkeypatch):
    """When one frame's patch matrix would exceed the budget (big images), convolutions sum a product per kernel tap
    instead of building it: the same numbers as Keras."""
    import engine.layers.spatial as spatial

    m, d, xs = load_fixture(name, "k3keras")
    calls = []
    real = spatial._patches
    monkeypatch.setattr(spatial, "_patches", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(spatial, "PATCH_BYTES", 64)
    y = m.predict(xs)
    assert not calls  # no patch matrix was built
    for i, yi in enumerate(y if isinstance(y, list) else [y]):
        assert float(np.max(np.abs(yi - d[f"y_{i}"]))) <= 1e-5
