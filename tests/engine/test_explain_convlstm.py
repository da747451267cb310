"""engine/explain.py on ConvLSTM1D/2D/3D: a gate value at a position p and a channel j, split per input channel and per
channel of h_{t-1} (each a sum over the kernel taps), gives back the replay's own records (which match Keras'
fixtures) over every ConvLSTM fixture in every format, every step, the positions at the grid's corners, edges
(padding) and middle, every channel; C and h as LSTM's at (p, j).

The per-channel terms are float64 sums of the float32 operands; the replay sums in float32 (im2col), so the recorded
``pre`` is compared relative to Σ|W·x| over every tap (the size of what the replay summed)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.explain import (CellSource, ExplainError, can_explain, cell_sources, explain, explain_value,
                            explainable, grid, has_positions, readout_dense, targets)
from engine.layers.spatial import conv_nd
from tests.engine.helpers import load_case
from tests.fixture_index import cases, case_id, find

REL = 1e-6
CONV_CASES = cases(include_tags=("convlstm",))


def load(e):
    model, _, xs = load_case(e)
    st = model.stepper(xs, record=True, readout=False)
    st.run()
    return model, st


def conv_nodes(model):
    return [n for n in model.graph.nodes if has_positions(n.layer)]


def positions(g):
    """Every combination of first, middle and last index per axis: corners and edges (padding) and the middle."""
    return sorted(set(itertools.product(*[sorted({0, n // 2, n - 1}) for n in g])))


def at_map(layer, a, at, j):
    """One sample-step's map at (at, j), indexed by hand from the layer's layout."""
    return float(a[(j,) + at] if layer.channels_first else a[at + (j,)])


def scale(ex) -> float:
    """Σ |every product| the replay summed, plus |b|."""
    return abs(ex.bias) + float(np.abs(ex.tap_terms("W")).sum() + np.abs(ex.tap_terms("U")).sum())


def act64(ex, s):
    with np.errstate(over="ignore"):
        return float(ex.act(np.array([s], np.float64))[0])


def slope(ex) -> float:
    d = 1e-4 * max(1.0, abs(ex.pre))
    y = ex.act(np.array([ex.pre - d, ex.pre + d], np.float64))
    return max(1.0, abs(float(y[1] - y[0])) / (2 * d))


@pytest.mark.parametrize("e", CONV_CASES, ids=case_id)
def test_terms_sum_back_to_the_replay(e):
    model, st = load(e)
    nodes = conv_nodes(model)
    assert nodes, "a convlstm fixture without a ConvLSTM layer"
    checked = padded = 0
    for node in nodes:
        L = node.layer
        assert can_explain(L) and not explainable(L)  # explained per position; not a layer of units
        src = cell_sources(st, node)[""]
        rec = src.records
        B, T = src.record("x").shape[:2]
        F = L.filters
        for b, t, at, j in itertools.product(sorted({0, B - 1}), range(T), positions(grid(src)), range(F)):
            for g in targets(L):
                ex = explain(src, b, t, j, g, at)
                assert ex.kind == "ConvLSTM" and ex.at == at and ex.unit == j
                s = ex.bias + float(np.sum(ex.x_terms) + np.sum(ex.h_terms)) + sum(v for _, v in ex.other)
                assert s == pytest.approx(ex.pre, rel=1e-12, abs=1e-300)
                if g in "ifco":
                    # one term per input channel and per channel of h, named as LSTM's
                    assert [n for n, _ in ex.terms()] == ([f"x[{k}]" for k in range(L.input_features)]
                                                          + [f"h[{k}]" for k in range(F)])
                    pre = at_map(L, rec["pre"][b, t], at, "ifco".index(g) * F + j)
                    assert abs(pre - ex.pre) <= REL * scale(ex), (node.qualname, b, t, at, j, g, pre, ex.pre)
                    value = at_map(L, rec["c~" if g == "c" else g][b, t], at, j)
                    assert ex.value == value
                    assert abs(act64(ex, s) - value) <= REL * (abs(value) + slope(ex) * scale(ex)), \
                        (node.qualname, b, t, at, j, g)
                    padded += int(not ex.x_window.inside.all())
                else:
                    value = at_map(L, rec[g][b, t], at, j)
                    assert ex.value == value
                    # a masked step carries the state over: its one term is the carried value
                    got = s if g == "C" or ex.masked else ex.factor * act64(ex, s)
                    mag = sum(abs(v) for _, v in ex.other)
                    assert abs(got - value) <= REL * (abs(value) + mag), (node.qualname, b, t, at, j, g)
                    if g == "h" and not ex.masked:
                        assert ex.factor == at_map(L, rec["o"][b, t], at, j)
                checked += 1
    assert checked > 0
    if any(n.layer.padding == "same" for n in nodes):
        assert padded > 0  # the border positions read the padding


@pytest.mark.parametrize("name, layer", [("cv_convlstm2d", "clstm_2"), ("cv_convlstm2d_options", "clstm_dil"),
                                         ("cv_convlstm2d_cf", "clstm_cf"), ("cv_convlstm1d", "clstm1_b"),
                                         ("cv_convlstm3d", "clstm3")])
def test_each_channel_term_is_that_channel_alone_convolved(name, layer):
    """x[k] is what input channel k alone gives through W[..., k, j] with the layer's strides, dilation and padding
    (and h[k] the same through U, stride 1, "same"): checked against whole-map convolutions of one channel, not
    against the engine's own window."""
    model, st = load(find(name, "k3keras"))
    node = next(n for n in model.graph.nodes if n.qualname == layer)
    L = node.layer
    src = cell_sources(st, node)[""]
    t, b, j, g = 1, 1, L.filters - 1, "f"
    x = src.record("x")[b, t]
    hp = src.record("h")[b, t - 1]
    if L.channels_first:
        x, hp = np.moveaxis(x, 0, -1), np.moveaxis(hp, 0, -1)
    W, U = L.gate("W", g), L.gate("U", g)
    one = (1,) * L.rank
    for at in positions(grid(src)):
        ex = explain(src, b, t, j, g, at)
        for k in range(L.input_features):
            whole = conv_nd(x[None, ..., k:k + 1].astype(np.float64), W[..., k:k + 1, j:j + 1].astype(np.float64),
                            L.strides, L.dilation, L.padding)[0]
            assert ex.x_terms[k] == pytest.approx(float(whole[at + (0,)]), rel=1e-12, abs=1e-12), (at, k)
        for k in range(L.filters):
            whole = conv_nd(hp[None, ..., k:k + 1].astype(np.float64), U[..., k:k + 1, j:j + 1].astype(np.float64),
                            one, one, "same")[0]
            assert ex.h_terms[k] == pytest.approx(float(whole[at + (0,)]), rel=1e-12, abs=1e-12), (at, k)


def test_border_taps_read_zeros():
    """A corner of a "same" ConvLSTM2D: the taps over the edge are padding (value 0, flagged outside)."""
    model, st = load(find("cv_convlstm2d", "k2h5"))
    node = next(n for n in model.graph.nodes if n.qualname == "clstm_1")  # 3×3 kernel, "same", 6×6
    src = cell_sources(st, node)[""]
    ex = explain(src, 0, 2, 0, "i", (0, 5))
    inside = ex.x_window.inside
    assert inside.shape == (3, 3) and ex.x_window.origin == (-1, 4)
    assert inside.tolist() == [[False, False, False], [True, True, False], [True, True, False]]
    assert np.all(ex.x_values[~inside] == 0) and np.all(ex.h_values[~inside] == 0)
    x = src.record("x")[0, 2]
    np.testing.assert_array_equal(ex.x_values[1:, :2], x[0:2, 4:6])
    # the Weights view's rows: one term per (tap, channel), taps first, as the kernel reshaped (-1, filters)
    np.testing.assert_allclose(ex.tap_terms("W"), (node.layer.gate("W", "i")[..., 0] * ex.x_values).reshape(-1))
    assert ex.tap_terms("W").reshape(9, -1).sum(axis=0) == pytest.approx(ex.x_terms, abs=1e-12)


def test_step_zero_reads_the_encoder_states():
    """The decoder of cv_convlstm2d_enc_dec starts from the encoder's maps: step 0's recurrent terms use them."""
    model, st = load(find("cv_convlstm2d_enc_dec", "k3keras"))
    node = next(n for n in model.graph.nodes if n.qualname == "decoder")
    init = [st.env[r] for r in node.inputs[1:]]
    assert init and np.any(init[0] != 0)
    src = cell_sources(st, node)[""]
    ex = explain(src, 1, 0, 2, "o", (2, 2))
    assert np.any(ex.h_terms != 0)
    np.testing.assert_array_equal(ex.h_values, init[0][1, 1:4, 1:4].astype(np.float64))
    ec = explain(src, 1, 0, 2, "C", (2, 2))
    assert dict(ec.other)["kept f⊙C_(t-1)"] == pytest.approx(
        at_map(node.layer, src.record("f")[1, 0], (2, 2), 2) * float(init[1][1, 2, 2, 2]))


def test_masked_steps_carry_the_state():
    """A masked step (Keras' masking around the run) is explained as LSTM's: C and h carried over."""
    model, st = load(find("cv_convlstm2d", "k2h5"))
    L = next(n for n in model.graph.nodes if n.qualname == "clstm_1").layer
    x = st.runs[next(n.id for n in model.graph.nodes if n.qualname == "clstm_1")].records["x"]
    x = np.ascontiguousarray(x)
    B, T = x.shape[:2]
    mask = np.ones((B, T), bool)
    mask[0, 2] = False
    run = L.begin(B, T, x_full=x, record=True, mask=mask)
    for _ in range(T):
        run.step()
    src = CellSource("clstm_1", L, run.records, None)
    src.steps_done = T
    for g in ("C", "h"):
        ex = explain(src, 0, 2, 1, g, (3, 4))
        assert ex.masked and ex.value == ex.pre == at_map(L, run.records[g][0, 1], (3, 4), 1)
        assert "masked step" in ex.equation()
    assert not explain(src, 1, 2, 1, "h", (3, 4)).masked
    ex = explain(src, 0, 3, 1, "f", (3, 4))  # the step after: h_(t-1) is the carried map
    np.testing.assert_array_equal(ex.h_values, run.records["h"][0, 1, 2:5, 3:6].astype(np.float64))


def test_positions_are_required_and_checked():
    model, st = load(find("cv_convlstm3d", "k2h5"))
    node = conv_nodes(model)[0]
    with pytest.raises(ExplainError, match=r"needs a position \(z,y,x\) on its 4×5×4 grid"):
        explain_value(st, node.qualname, 0, 0, 0, "i")
    with pytest.raises(ExplainError, match="outside the 4×5×4 grid"):
        explain_value(st, node.qualname, 0, 0, 0, "i", (0, 5, 0))
    with pytest.raises(ExplainError, match="has 2 coordinates"):
        explain_value(st, node.qualname, 0, 0, 0, "i", (0, 0))
    with pytest.raises(ExplainError, match="channel 9"):
        explain_value(st, node.qualname, 0, 0, 9, "i", (0, 0, 0))
    with pytest.raises(ExplainError, match="no gate 'y'"):
        explain_value(st, node.qualname, 0, 0, 0, "y", (0, 0, 0))
    assert readout_dense(model.graph, node) is None
    model, st = load(find("sine", "k2h5"))
    with pytest.raises(ExplainError, match="no spatial positions"):
        explain_value(st, "lstm", 0, 0, 0, "i", (1, 1))
    with pytest.raises(ExplainError, match="no spatial positions"):
        explain_value(st, "lstm", 0, 0, 0, "y", (1, 1))


def test_equation_and_json_name_the_position():
    model, st = load(find("cv_convlstm1d", "k3keras"))
    ex = explain_value(st, "clstm1_a", 0, 1, 2, "i", (8,))
    assert ex.equation().startswith("i_t[(8), 2] = ")
    d = ex.as_json()
    assert d["at"] == [8] and d["unit"] == 2 and d["kind"] == "ConvLSTM"
    assert d["bias"] + sum(t["value"] for t in d["terms"]) == pytest.approx(d["pre"], rel=1e-12)
    model, st = load(find("sine", "k2h5"))
    assert explain_value(st, "lstm", 0, 1, 2, "i").as_json()["at"] is None
