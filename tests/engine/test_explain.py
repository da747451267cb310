"""engine/explain.py: every explained value's terms sum back to the value the replay computed, over every fixture
with an LSTM, GRU or SimpleRNN (each direction of a Bidirectional too), every step, a few samples and units.

Sums are float64 sums of the float32 operands; the replay computes in float32, so "≤ 1e-6 relative" is relative to
the size of what is summed: |Σ − replayed| ≤ 1e-6 · (|replayed| + slope · (|b| + Σ|terms|)), slope = |act'| ≥ 1.
"""
from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.explain import (ExplainError, activation_curve, cell_sources, explain, explain_readout, explain_value,
                            explainable, readout_dense, targets)
from engine.layers.recurrent import RecurrentLayer
from tests.engine.helpers import load_case
from tests.fixture_index import FIXTURES, case_id, cases

REL = 1e-6


def load(e, record=True):
    model, _, xs = load_case(e)
    st = model.stepper(xs, record=record, readout=False)
    st.run()
    return model, st


def replayed_from_terms(ex) -> float:
    """What the terms give: act(bias + Σ terms) (times o for LSTM's h), in float64."""
    s = ex.bias + float(np.sum(ex.x_terms) + np.sum(ex.h_terms)) + sum(v for _, v in ex.other)
    assert s == pytest.approx(ex.pre, rel=1e-12, abs=1e-300, nan_ok=True)  # NaN: a diverged model's weights
    if ex.act is None or ex.masked:
        return s
    with np.errstate(over="ignore"):
        v = float(ex.act(np.array([s], np.float64))[0])
    return v * (ex.factor if ex.factor is not None else 1.0)


def magnitude(ex) -> float:
    return abs(ex.bias) + float(np.abs(ex.x_terms).sum() + np.abs(ex.h_terms).sum()) + sum(abs(v) for _, v in ex.other)


def tolerance(ex) -> float:
    mag = magnitude(ex)
    slope = 1.0
    if ex.act is not None and not ex.masked:
        d = 1e-4 * max(1.0, abs(ex.pre))
        with np.errstate(over="ignore"):
            y = ex.act(np.array([ex.pre - d, ex.pre + d], np.float64))
        slope = max(1.0, abs(float(y[1] - y[0])) / (2 * d)) * (abs(ex.factor) if ex.factor is not None else 1.0)
    return REL * (abs(ex.value) + slope * mag)


@pytest.mark.parametrize("e", cases(), ids=case_id)
def test_terms_sum_back_to_the_replay(e):
    model, st = load(e)
    if not any(isinstance(n.layer, RecurrentLayer) and explainable(n.layer) for n in model.graph.nodes):
        pytest.skip("no LSTM, GRU or SimpleRNN layer (ConvLSTM: tests/engine/test_explain_convlstm.py)")
    checked = 0
    for node in model.graph.nodes:
        if not isinstance(node.layer, RecurrentLayer) or not explainable(node.layer):
            continue
        for src in cell_sources(st, node).values():
            x = src.record("x")
            B, T = x.shape[:2]
            u = src.layer.units
            picks = [(0, j) for j in sorted({0, u - 1})] + [(B - 1, u // 2)]  # units of the first and last sample
            for b, j in picks:
                for t in range(T):
                    for g in targets(src.layer):
                        ex = explain(src, b, t, j, g)
                        got = replayed_from_terms(ex)
                        if not np.isfinite(ex.value):  # a diverged model: the terms give the same NaN/inf
                            assert np.isnan(got) if np.isnan(ex.value) else got == ex.value, (src.name, b, t, j, g)
                            checked += 1
                            continue
                        assert abs(got - ex.value) <= tolerance(ex), (src.name, b, t, j, g, got, ex.value)
                        if ex.kind == "LSTM" and g in "ifco":  # the replay keeps LSTM's pre: check it too
                            pre = float(src.record("pre")[b, t, "ifco".index(g) * u + j])
                            assert abs(pre - ex.pre) <= REL * magnitude(ex), (src.name, b, t, j, g)
                        checked += 1
    assert checked > 0


def _src(name, fmt="k2h5", with_initial_state=False):
    from tests.fixture_index import find

    model, st = load(find(name, fmt))
    node = next(n for n in model.graph.nodes if isinstance(n.layer, RecurrentLayer)
                and (not with_initial_state or len(n.inputs) > 1))
    return model, st, node


def test_lstm_gate_terms_are_weights_times_operands():
    model, st, node = _src("sine")
    src = cell_sources(st, node)[""]
    L = node.layer
    ex = explain(src, 2, 3, 7, "f")
    x = st.runs[node.id].records["x"][2, 3]
    h_prev = st.runs[node.id].records["h"][2, 2]
    np.testing.assert_allclose(ex.x_terms, L.gate("W", "f")[:, 7].astype(np.float64) * x)
    np.testing.assert_allclose(ex.h_terms, L.gate("U", "f")[:, 7].astype(np.float64) * h_prev)
    assert ex.bias == float(L.gate("b", "f")[7])
    assert ex.value == float(st.runs[node.id].records["f"][2, 3, 7])
    assert [n for n, _ in ex.terms()][:2] == ["x[0]", "h[0]"] and len(ex.terms()) == 1 + L.units


def test_step_zero_reads_the_initial_state():
    """br_enc_dec's decoder starts from the encoder's states: step 0's recurrent terms use them, not zeros."""
    model, st, node = _src("br_enc_dec", with_initial_state=True)
    init = [st.env[r] for r in node.inputs[1:]]
    assert init and np.any(init[0] != 0)
    src = cell_sources(st, node)[""]
    for g in targets(node.layer):
        ex = explain(src, 0, 0, 1, g)
        assert abs(replayed_from_terms(ex) - ex.value) <= tolerance(ex)
    ex = explain(src, 0, 0, 1, "i")
    np.testing.assert_allclose(ex.h_values, init[0][0].astype(np.float64))


def test_lstm_states_kept_and_written():
    model, st, node = _src("sine")
    src = cell_sources(st, node)[""]
    rec = st.runs[node.id].records
    ex = explain(src, 0, 4, 5, "C")
    names = dict(ex.other)
    f, i, c, C_prev = rec["f"][0, 4, 5], rec["i"][0, 4, 5], rec["c~"][0, 4, 5], rec["C"][0, 3, 5]
    assert names["kept f⊙C_(t-1)"] == pytest.approx(float(f) * float(C_prev))
    assert names["written i⊙c̃"] == pytest.approx(float(i) * float(c))
    eh = explain(src, 0, 4, 5, "h")
    assert eh.factor == float(rec["o"][0, 4, 5]) and eh.pre == ex.pre


def test_gru_forms():
    for name in ("br_gru_after", "br_gru_before", "br_gru_nobias"):
        model, st, node = _src(name)
        src = cell_sources(st, node)[""]
        L = node.layer
        ex = explain(src, 0, 2, 1, "hh")
        r = st.runs[node.id].records["r"][0, 2]
        if L.reset_after:  # r[j] multiplies U·h (and the recurrent bias)
            assert np.allclose(ex.h_terms, r[1] * L.gate("U", "h")[:, 1] * src.state_before(0, 0, 2), rtol=1e-6)
            assert ("r⊙bU" in dict(ex.other)) == (L.bias is not None)
        else:  # r multiplies h
            np.testing.assert_allclose(ex.h_values, r.astype(np.float64) * src.state_before(0, 0, 2))


def test_bidirectional_directions_and_masks():
    from tests.fixture_index import find

    model, st = load(find("br_masking_bidi", "k2h5"))
    node = next(n for n in model.graph.nodes if n.layer.class_name == "Bidirectional")
    srcs = cell_sources(st, node)
    assert set(srcs) == {"forward", "backward"}
    masked = 0
    for d, src in srcs.items():
        mask = src.record("mask")
        for b, t in zip(*np.nonzero(~mask)):
            ex = explain(src, int(b), int(t), 0, "h")
            assert ex.masked and ex.value == ex.pre
            masked += 1
    assert masked > 0
    with pytest.raises(ExplainError, match="name a direction"):
        explain_value(st, node.qualname, 0, 0, 0, "h")
    g = targets(srcs["backward"].layer)[0]
    assert explain_value(st, node.qualname + "/backward", 0, 0, 0, g).layer.endswith("/backward")


def test_readout_of_a_dense_that_reads_h():
    model, st, node = _src("sine")
    dense = readout_dense(model.graph, node)
    assert dense is not None and dense.layer.class_name == "Dense"
    T = st.runs[node.id].T
    ex = explain_readout(st, node, 3, T - 1, 0)
    assert len(ex.h_terms) == node.layer.units
    assert abs(replayed_from_terms(ex) - ex.value) <= tolerance(ex)
    # after the last step, the readout is the Dense layer's output in the replay
    assert ex.value == float(st.env[(dense.id, 0)][3, 0])


def test_requests_outside_the_replay_are_refused():
    model, st, node = _src("sine")
    with pytest.raises(ExplainError, match="no gate"):
        explain_value(st, node.qualname, 0, 0, 0, "z")
    with pytest.raises(ExplainError, match="unit"):
        explain_value(st, node.qualname, 0, 0, 10_000, "i")
    with pytest.raises(ExplainError, match="step"):
        explain_value(st, node.qualname, 0, 99, 0, "i")
    with pytest.raises(ExplainError, match="no recurrent layer"):
        explain_value(st, "nope", 0, 0, 0, "i")


def test_only_steps_done_are_explained():
    from tests.fixture_index import find

    e = find("sine", "k2h5")
    model = engine.load_model(FIXTURES / e["model"])
    xs = [np.load(FIXTURES / e["data"])["x_0"]]
    st = model.stepper(xs, record=True, readout=False)
    st.step()
    st.step()
    node = next(n for n in model.graph.nodes if isinstance(n.layer, RecurrentLayer))
    assert explain_value(st, node.qualname, 0, 1, 0, "o").step == 1
    with pytest.raises(ExplainError, match="not done"):
        explain_value(st, node.qualname, 0, 2, 0, "o")


def test_top_terms_and_rest_add_up():
    model, st, node = _src("sine")
    ex = explain_value(st, node.qualname, 0, 3, 2, "i")
    top, (n_rest, rest) = ex.top(5)
    assert len(top) == 5 and n_rest == len(ex.terms()) - 5
    assert [v for _, v in top] == sorted((v for _, v in top), reverse=True)
    assert ex.bias + sum(v for _, v in top) + rest == pytest.approx(ex.pre, abs=1e-9)
    assert "sigmoid(" in ex.equation() and f"{ex.value:.4g}" in ex.equation()
    z, y = activation_curve(ex)
    assert z.min() < ex.pre < z.max() and np.all((y >= 0) & (y <= 1))
