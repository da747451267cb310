"""The stepper is the forward pass: stepping to the end equals predict bit for bit, and moving around is exact."""
from __future__ import annotations


import numpy as np
import pytest

import engine

from . import crafted


def stacked(tmp_path, backwards_second=False):
    """LSTM(seq) → Dropout → LSTM → Dense, the second LSTM optionally go_backwards (then it needs a second stage)."""
    cfg = crafted.tiny_config()
    layers = cfg["config"]["layers"]
    layers[0]["config"]["return_sequences"] = True
    layers.insert(1, {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5}})
    layers.insert(2, {"class_name": "LSTM", "config": {"name": "lstm_2", "units": 3, "go_backwards": backwards_second}})
    w = crafted.tiny_weights()
    rng = np.random.RandomState(5)
    w["lstm_2"] = [(n.replace("lstm/", "lstm_2/"), rng.randn(*a.shape[:0], *((3, 12) if i < 2 else (12,))).astype("f4"))
                   for i, (n, a) in enumerate(w["lstm"])]
    w = {"lstm": w["lstm"], "lstm_2": w["lstm_2"], "dense": w["dense"]}
    return engine.load_model(crafted.tiny_h5(tmp_path / "s.h5", config=cfg, weights=w))


X = np.random.RandomState(3).randn(5, 4, 2).astype("f4")


@pytest.mark.parametrize("backwards", [False, True])
def test_step_to_end_equals_predict_bitwise(tmp_path, backwards):
    m = stacked(tmp_path, backwards)
    st = m.stepper(X, record=True, readout=True)
    n = 0
    while st.step() is not None:
        n += 1
    assert n == st.total_steps() == (8 if backwards else 4)
    np.testing.assert_array_equal(st.outputs()[0], m.predict(X))


def test_one_stage_for_causal_stack(tmp_path):
    m = stacked(tmp_path)
    assert len(m.schedule.stages) == 1
    assert len(m.schedule.stages[0].recurrent) == 2
    m2 = stacked(tmp_path, backwards_second=True)
    assert [len(s.recurrent) for s in m2.schedule.stages] == [1, 1]


def test_seek_back_and_forth_is_exact(tmp_path):
    m = stacked(tmp_path)
    st = m.stepper(X[:1])
    st.seek(3)
    h3 = st.runs[1].h.copy()
    c3 = st.runs[1].c.copy()
    st.seek(4)
    st.seek(1)
    assert st.step_index == 1
    st.seek(3)
    np.testing.assert_array_equal(st.runs[1].h, h3)
    np.testing.assert_array_equal(st.runs[1].c, c3)


def test_records_match_states_and_readout(tmp_path):
    m = stacked(tmp_path)
    st = m.stepper(X)
    st.run()
    last = [nid for nid in st.runs][-1]  # the second LSTM feeds the Dense head
    rec = st.runs[last].records
    # C and h recorded per step are the states the run carried; the last one is what predict used
    np.testing.assert_array_equal(rec["h"][:, -1], st.runs[last].h)
    # i, f, o are recurrent-activation outputs, c~ the candidate; C_t = f*C_{t-1} + i*c~ exactly as recorded
    C_prev = np.concatenate([np.zeros_like(rec["C"][:, :1]), rec["C"][:, :-1]], axis=1)
    np.testing.assert_allclose(rec["C"], rec["f"] * C_prev + rec["i"] * rec["c~"], rtol=0, atol=1e-6)
    # the readout after the last step is the prediction
    np.testing.assert_array_equal(st.readouts[-1][0], st.outputs()[0])
    # the readout at step t is the Dense head applied to h_t
    dense = m.layer("dense")
    for t in range(4):
        np.testing.assert_allclose(st.readouts[t][0], rec["h"][:, t] @ dense.kernel + dense.bias, atol=1e-6)


def test_records_input_in_processing_order(tmp_path):
    m = stacked(tmp_path, backwards_second=True)
    tr = m.trace(X)
    first, second = tr.layers
    np.testing.assert_array_equal(first.arrays["x"], X)
    seq1 = first.arrays["h"]
    np.testing.assert_array_equal(second.arrays["x"], seq1[:, ::-1])


def test_gate_views_are_views(tmp_path):
    m = engine.load_model(crafted.tiny_h5(tmp_path / "m.h5"))
    lstm = m.layer("lstm")
    u = lstm.units
    for k, g in enumerate("ifco"):
        w = lstm.gate("W", g)
        assert np.shares_memory(w, lstm.kernel)
        np.testing.assert_array_equal(w, lstm.kernel[:, k * u:(k + 1) * u])
        np.testing.assert_array_equal(lstm.gate("U", g), lstm.recurrent_kernel[:, k * u:(k + 1) * u])
        np.testing.assert_array_equal(lstm.gate("b", g), lstm.bias[k * u:(k + 1) * u])


def test_stepper_batch_independent_of_other_samples(tmp_path):
    # the GUI steps one sample; its numbers must be the batch's row for that sample (to float32 rounding)
    m = stacked(tmp_path)
    full = m.predict(X)
    one = m.predict(X[2:3])
    np.testing.assert_allclose(one, full[2:3], rtol=0, atol=1e-6)


def test_random_walks_land_on_the_same_state(tmp_path):
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings
    from hypothesis import strategies as s

    m = stacked(tmp_path, backwards_second=True)  # two stages: 8 steps in all
    ref = {}
    st0 = m.stepper(X[:2])
    for n in range(9):
        st0.seek(n)
        ref[n] = [r.h.copy() for r in st0.runs.values()]

    @settings(max_examples=40, deadline=None)
    @given(s.lists(s.one_of(s.just("step"), s.just("reset"), s.integers(0, 12)), max_size=12))
    def walk(ops):
        st = m.stepper(X[:2])
        for op in ops:
            if op == "step":
                st.step()
            elif op == "reset":
                st.reset()
            else:
                st.seek(op)
        n = st.step_index
        assert 0 <= n <= 8
        got = [r.h for r in st.runs.values()]
        assert len(got) == len(ref[n])
        for a, b in zip(got, ref[n]):
            np.testing.assert_array_equal(a, b)

    walk()
