"""The breadth layers step like the LSTM does: GRU/SimpleRNN/Bidirectional expose their gates and per-step records,
both directions of a Bidirectional layer are recorded, masked steps are marked and carry the state over, per-step
layers between recurrent layers run one timestep at a time, and unknown classes are refused by name."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import engine
from engine.layers.recurrent import RecurrentLayer
from tests.engine.helpers import load_fixture, node
from tests.fixture_index import FIXTURES, find

FORMATS = ("k2h5", "k3keras")


def run(m, xs):
    st = m.stepper(xs, record=True, readout=True)
    st.run()
    return st


def prev(a):
    """The per-step array shifted by one step (zeros before the first)."""
    return np.concatenate([np.zeros_like(a[:, :1]), a[:, :-1]], axis=1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_gru_gates_and_records(fmt):
    m, d, xs = load_fixture("br_gru_after", fmt)
    st = run(m, xs)
    for name in ("gru_1", "gru_2"):
        L = m.layer(name)
        assert L.gate_names == ("z", "r", "h") and L.reset_after
        assert set(L.record_names) <= set(st.runs[node(m, name).id].records)
        # the gate views are views into the stored kernels, Keras column order z | r | h
        u = L.units
        np.testing.assert_array_equal(L.gate("W", "r"), L.kernel[:, u:2 * u])
        assert np.shares_memory(L.gate("U", "h"), L.recurrent_kernel)
        assert {s.matrix for s in L.gate_slices()} == {"W", "U", "b", "bU"}  # input and recurrent biases
        rec = st.runs[node(m, name).id].records
        # h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃_t, with the recorded gates
        np.testing.assert_allclose(rec["h"], rec["z"] * prev(rec["h"]) + (1 - rec["z"]) * rec["h~"], atol=1e-6)
    np.testing.assert_allclose(st.runs[node(m, "gru_1").id].records["h"], d["layer__gru_1"], atol=1e-5)
    # the two GRUs advance together: one stage of T steps
    assert len(m.schedule.stages) == 1 and len(st.stage_log) == 6


@pytest.mark.parametrize("fmt", FORMATS)
def test_gru_reset_before(fmt):
    m, _, xs = load_fixture("br_gru_before", fmt)
    L = m.layer("gru_a")
    assert not L.reset_after and L.bias.shape == (3 * L.units,)
    assert {s.matrix for s in L.gate_slices()} == {"W", "U", "b"}
    assert m.layer("gru_b").go_backwards


@pytest.mark.parametrize("fmt", FORMATS)
def test_simple_rnn_records(fmt):
    m, d, xs = load_fixture("br_simplernn", fmt)
    st = run(m, xs)
    L = m.layer("rnn_1")
    assert L.gate_names == ("h",) and [s.matrix for s in L.gate_slices()] == ["W", "U", "b"]
    rec = st.runs[node(m, "rnn_1").id].records
    np.testing.assert_allclose(rec["h"], np.tanh(rec["x"] @ L.kernel + L.bias + prev(rec["h"]) @ L.recurrent_kernel), atol=1e-6)
    np.testing.assert_allclose(rec["h"], d["layer__rnn_1"], atol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bidirectional_records_both_directions(fmt):
    m, d, xs = load_fixture("br_bidi_none", fmt)
    L = m.layer("bi_none")
    assert L.causal is False and L.merge_mode is None and L.n_outputs == 2
    assert L.gate_names == ("forward/z", "forward/r", "forward/h", "backward/z", "backward/r", "backward/h")
    assert {s.gate for s in L.gate_slices()} == set(L.gate_names)
    st = m.stepper(xs, record=True, readout=True)
    T = xs[0].shape[1]
    st.step()
    rec = st.runs[node(m, "bi_none").id].records
    assert set(L.record_names) <= set(rec)
    # after one step the forward direction has read timestep 0 and the backward one timestep T-1
    np.testing.assert_array_equal(rec["forward/x"][:, 0], xs[0][:, 0])
    np.testing.assert_array_equal(rec["backward/x"][:, 0], xs[0][:, T - 1])
    assert st.readouts[-1][0] is None  # a merged Bidirectional sequence is known only at the end
    st.run()
    fwd, bwd = st.outputs()[0], st.outputs()[1]
    np.testing.assert_array_equal(fwd, rec["forward/h"])
    np.testing.assert_array_equal(bwd, rec["backward/h"][:, ::-1])  # Keras flips the backward sequence back
    np.testing.assert_allclose(bwd, d["y_1"], atol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bidirectional_states_and_schedule(fmt):
    m, d, xs = load_fixture("br_bidi_state", fmt)
    st = run(m, xs)
    L = m.layer("bi_st")
    assert L.return_state and L.n_outputs == 5
    rec = st.runs[node(m, "bi_st").id].records
    np.testing.assert_allclose(st.env[(node(m, "bi_st").id, 1)], rec["forward/h"][:, -1], atol=0)
    np.testing.assert_allclose(st.env[(node(m, "bi_st").id, 3)], rec["backward/h"][:, -1], atol=0)
    np.testing.assert_allclose(st.env[(node(m, "bi_st").id, 4)], rec["backward/C"][:, -1], atol=0)
    # a layer reading a Bidirectional sequence is never stepped in the same stage (it needs both ends)
    m2, _, _ = load_fixture("br_bidi_concat", fmt)
    assert [len(s.recurrent) for s in m2.schedule.stages] == [1, 1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_masked_steps_are_marked_and_carry_state(fmt):
    m, d, xs = load_fixture("br_masking", fmt)
    x = xs[0]
    keep = np.any(x != 0, axis=-1)
    assert not keep.all()
    st = run(m, xs)
    for name in ("lstm_1", "gru_2", "rnn_3"):
        rec = st.runs[node(m, name).id].records
        np.testing.assert_array_equal(rec["mask"], keep, err_msg=name)
        h = rec["h"]
        carried = prev(h)
        np.testing.assert_array_equal(h[~keep], carried[~keep], err_msg=name)  # masked: state carried over
    rec = st.runs[node(m, "lstm_1").id].records
    np.testing.assert_array_equal(rec["C"][~keep], prev(rec["C"])[~keep])
    # with return_sequences the masked steps output the previous output (Keras' default), zeros before any kept step
    out = st.env[(node(m, "lstm_1").id, 0)]
    np.testing.assert_allclose(out, d["layer__lstm_1"], atol=1e-5)
    assert np.all(out[1, :2] == 0)  # row 1 is pre-padded
    np.testing.assert_array_equal(out[2, 2], out[2, 1])
    # the per-step Dense between the recurrent layers passes the mask on and runs one timestep at a time
    assert m.schedule.final_stage[node(m, "dense_seq").id] == 1 and len(m.schedule.stages) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_masked_bidirectional_outputs_zeros(fmt):
    m, d, xs = load_fixture("br_masking_bidi", fmt)
    keep = np.any(xs[0] != 0, axis=-1)
    st = run(m, xs)
    seq = st.env[(node(m, "bi_seq").id, 0)]
    assert np.all(seq[~keep] == 0)  # Bidirectional forces zero_output_for_mask when returning sequences
    rec = st.runs[node(m, "bi_seq").id].records
    np.testing.assert_array_equal(rec["mask"], keep)
    np.testing.assert_array_equal(rec["backward/mask"], keep[:, ::-1])


@pytest.mark.parametrize("fmt", FORMATS)
def test_embedding_mask_zero(fmt):
    m, d, xs = load_fixture("br_embedding", fmt)
    st = run(m, xs)
    if fmt == "k2h5":  # Keras 2 passes masks implicitly from layer to layer
        np.testing.assert_array_equal(st.masks[(node(m, "emb").id, 0)], xs[0] != 0)
    else:  # Keras 3 writes the mask as a NotEqual(tokens, 0) node passed to each RNN as mask=
        assert node(m, "gru").mask_inputs is not None and not m.graph.implicit_masks
    np.testing.assert_array_equal(st.runs[node(m, "lstm").id].records["mask"], xs[0] != 0)
    np.testing.assert_array_equal(st.runs[node(m, "gru").id].records["mask"], xs[0] != 0)
    with pytest.raises(engine.InputShapeError, match="token ids"):
        m.predict(np.full_like(xs[0], 10))


@pytest.mark.parametrize("fmt", FORMATS)
def test_timedistributed_dense_is_stepped(fmt):
    m, d, xs = load_fixture("br_timedist", fmt)
    stage = m.schedule.stages[0]
    for name in ("td", "act", "td_out"):
        assert node(m, name).id in stage.nodes  # run one timestep at a time with the LSTM
    st = m.stepper(xs, record=True, readout=True)
    st.step()
    st.step()
    np.testing.assert_allclose(st.readouts[-1][0], d["y_0"][:, 1], atol=1e-5)  # the prediction at t=1


def test_autoencoder_has_two_stages():
    m, d, xs = load_fixture("br_autoencoder", "k3keras")
    assert [len(s.recurrent) for s in m.schedule.stages] == [1, 1]
    st = m.stepper(xs)
    assert st.total_steps() == 10


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_recurrent_layer_lists_its_gates(fmt):
    for name in ("br_gru_after", "br_simplernn", "br_bidi_concat", "br_bidi_sum", "br_bidi_mul", "br_bidi_backward_layer"):
        m, _, xs = load_fixture(name, fmt)
        st = run(m, xs)
        for n in m.graph.nodes:
            if isinstance(n.layer, RecurrentLayer):
                L = n.layer
                assert L.gate_names and L.record_names and L.gate_slices()
                assert set(L.record_names) <= set(st.runs[n.id].records), (name, n.qualname)
                assert all(s.gate in L.gate_names for s in L.gate_slices())
        tr = m.trace(xs)
        assert {lt.name for lt in tr.layers} == {n.qualname for n in m.graph.nodes if isinstance(n.layer, RecurrentLayer)}


def _replace_class(src, dst, old, new):
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        for k, v in f.attrs.items():
            g.attrs[k] = v
        for k in f:
            f.copy(k, g)
        cfg = f.attrs["model_config"]
        cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
        g.attrs["model_config"] = cfg.replace(f'"class_name": "{old}"', f'"class_name": "{new}"')


@pytest.mark.parametrize("old,new", [("GRU", "ConvLSTM1D"), ("Dense", "EinsumDense"), ("Concatenate", "Dot")])
def test_unknown_classes_refused_by_name(tmp_path, old, new):
    src = FIXTURES / find("br_bidi_sum" if old == "GRU" else "br_pool_global" if old == "Concatenate" else "br_gru_after", "k2h5")["model"]
    dst = tmp_path / "m.h5"
    _replace_class(src, dst, old, new)
    with pytest.raises(engine.ModelFileError, match=new):
        engine.load_model(dst)
    m = engine.load_model(dst, strict=False)
    assert any(new in l.reason for l in m.unsupported)
    from engine.describe import describe_model

    assert "UNSUPPORTED" in describe_model(m)


def test_stateful_note(tmp_path):
    src = FIXTURES / find("br_gru_after", "k2h5")["model"]
    dst = tmp_path / "s.h5"
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        for k, v in f.attrs.items():
            g.attrs[k] = v
        for k in f:
            f.copy(k, g)
        cfg = json.loads(f.attrs["model_config"])
        for l in cfg["config"]["layers"]:
            if l["class_name"] == "GRU":
                l["config"]["stateful"] = True
        g.attrs["model_config"] = json.dumps(cfg)
    m = engine.load_model(dst)
    assert any("zero initial state" in n for n in m.layer("gru_1").notes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_keras3_drops_the_mask_of_an_rnn_given_initial_state(fmt):
    """Keras 2 masks a decoder called with initial_state; Keras 3 does not pass the mask then. Both are replayed."""
    m, d, xs = load_fixture("br_masking_init", fmt)
    keep = np.any(xs[1] != 0, axis=-1)
    st = run(m, xs)
    rec = st.runs[node(m, "decoder").id].records
    if fmt == "k2h5":
        np.testing.assert_array_equal(rec["mask"], keep)
        assert np.all(st.outputs()[0][~keep[:, 0], 0] == 0)  # a masked first step outputs zeros, not the initial h
    else:
        assert "mask" not in rec
    np.testing.assert_allclose(st.outputs()[0], d["y_0"], atol=1e-5)


def test_stateful_replayed_from_zero_state():
    m, d, xs = load_fixture("br_stateful", "k3keras")
    assert all(any("zero initial state" in n for n in L.notes) for L in m.recurrent_layers)
    np.testing.assert_allclose(m.predict(xs), d["y_0"], atol=1e-5)
    np.testing.assert_array_equal(m.predict(xs), m.predict(xs))  # no state is carried between calls


def test_legacy_layers_are_converted_and_noted():
    """The crafted legacy files (see tools/make_fixtures_breadth.py: written with h5py in the Keras 1 and Keras 2
    CuDNN layouts; the expected outputs come from real Keras 2 converting the same weights with its own loader)."""
    m, d, xs = load_fixture("br_legacy_keras1", "k2h5")
    L = m.layer("lstm_1")
    assert L.units == 4 and L.kernel.shape == (3, 16) and any("i, c, f, o" in n for n in L.notes)
    assert m.layer("gru_1").bias.shape == (9,) and not m.layer("gru_1").reset_after
    np.testing.assert_allclose(m.predict(xs), d["y_0"], atol=1e-5)
    m, d, xs = load_fixture("br_legacy_cudnn", "k2h5")
    L = m.layer("cu_dnnlstm_1")
    assert L.class_name == "CuDNNLSTM" and L.bias.shape == (16,) and L.gate_names == ("i", "f", "c", "o")
    bi = m.layer("bidirectional_1")
    assert bi.forward_layer.class_name == "CuDNNGRU" and bi.forward_layer.reset_after
    st = run(m, xs)
    assert "forward/h" in st.runs[node(m, "bidirectional_1").id].records
    np.testing.assert_allclose(st.outputs()[0], d["y_0"], atol=1e-5)
