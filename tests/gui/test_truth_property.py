"""Random sequences of changes (edit, undo, sample, layer, direction, output, step) applied to the window; after each
one, every view's data is compared with a fresh engine replay of the inputs the test itself keeps (the data with
the edits it made). A view that kept a stale number, or a session that lost an edit, fails here."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt

import pyqtgraph as pg  # noqa: E402  (after PySide6)
from tests.gui.helpers import DEMO_PATHS, TOL, fixture_paths, xy


CASES = {
    "demo": DEMO_PATHS,
    "bidirectional": fixture_paths("br_bidi_concat", "k2h5"),
    "encoder_decoder": fixture_paths("br_enc_dec", "k3keras"),
    "gru": fixture_paths("br_gru_after", "k3h5"),
}

fractions = st.floats(0, 0.999)
actions = st.one_of(
    st.tuples(st.just("edit"), fractions, fractions, st.floats(-3, 3, width=32)),
    st.tuples(st.just("undo")),
    st.tuples(st.just("sample"), fractions),
    st.tuples(st.just("layer"), fractions),
    st.tuples(st.just("direction"), st.sampled_from(["forward", "backward"])),
    st.tuples(st.just("output"), fractions, fractions),
    st.tuples(st.just("input"), fractions),
    st.tuples(st.just("step"), st.floats(0, 1)),
)


def _final(y):
    y = np.asarray(y)
    if y.ndim >= 3:
        y = y[:, -1]
    return y.reshape(y.shape[0], -1)


def ydata(item):
    if isinstance(item, pg.BarGraphItem):
        return np.asarray(item.opts["height"])
    return xy(item)[1]


def xdata(item):
    return xy(item)[0]


def apply(window, action, edits):
    s = window.session
    kind = action[0]
    if kind == "edit":
        k = s.input_index
        table = window.input_panel.model
        r, c = int(action[1] * table.rowCount()), int(action[2] * table.columnCount())
        assert table.setData(table.index(r, c), repr(float(action[3])))
        mine = edits.setdefault(s.sample, [np.array(x[s.sample:s.sample + 1], copy=True) for x in s.data.inputs])
        mine[k].reshape(1, mine[k].shape[1], -1)[0, r, c] = np.float32(action[3])
    elif kind == "undo":
        window.input_panel.b_reset.click()
        edits.pop(s.sample, None)
    elif kind == "sample":
        window.input_panel.sample.setValue(int(action[1] * s.batch))
    elif kind == "layer":
        nodes = s.recurrent_nodes()
        s.set_node(nodes[int(action[1] * len(nodes))])
    elif kind == "direction":
        if window.plots.direction_row.isVisible():
            window.plots.direction_box.setCurrentText(action[1])
    elif kind == "output":
        box = window.plots.output_box
        box.setCurrentIndex(int(action[1] * box.count()))
        window.plots.dim_box.setValue(int(action[2] * (window.plots.dim_box.maximum() + 1)))
    elif kind == "input":
        box = window.input_panel.input_box
        if box.count() > 1:
            box.setCurrentIndex(int(action[1] * box.count()))
    elif kind == "step":
        window.bar.slider.setValue(int(round(action[1] * s.total_steps)))


def check(window, edits):
    """Every view against a fresh replay of the inputs the test knows (data + its own edits)."""
    s, plots, model = window.session, window.plots, window.session.model
    data = s.data
    xs = [np.array(x, copy=True) for x in data.inputs]
    for i, ex in edits.items():
        for x, e in zip(xs, ex):
            x[i] = e[0]
    sample_x = [x[s.sample:s.sample + 1] for x in xs]
    # the table: every cell of the input shown
    table = window.input_panel.model
    shown = sample_x[s.input_index][0]
    shown = shown.reshape(shown.shape[0], -1)
    assert (table.rowCount(), table.columnCount()) == shown.shape
    cells = np.array([[table.data(table.index(r, c), Qt.UserRole) for c in range(shown.shape[1])]
                      for r in range(shown.shape[0])])
    np.testing.assert_array_equal(cells, shown)
    # the batch: final prediction of the chosen output and dimension, truth, scatter, badge
    fresh = model.predict(xs)
    fresh = fresh if isinstance(fresh, list) else [fresh]
    final = _final(fresh[s.output])[:, s.dim]
    np.testing.assert_allclose(ydata(plots.pred_curve), final, atol=TOL, rtol=0)
    if data.targets is not None:
        np.testing.assert_allclose(xdata(plots.scatter_sel), [data.targets.reshape(s.batch, -1)[s.sample, s.dim]])
        np.testing.assert_allclose(ydata(plots.scatter_sel), [final[s.sample]], atol=TOL, rtol=0)
    keep = np.array([i not in edits for i in range(s.batch)])
    badge = window.badge.text()
    if data.keras_outputs and keep.any():
        d = max(float(np.max(np.abs(k[keep].astype(np.float64) - f[keep]))) for k, f in zip(data.keras_outputs, fresh))
        assert f"{d:.2e}" in badge and ("✓" in badge) == (d <= TOL)
        assert (f"{len(edits)} edited sample" in badge) == bool(edits)
    elif data.keras_outputs:
        assert "every sample edited" in badge
    # the sample's replay: states, gates, readout, t
    n = s.steps_done
    assert window.bar.slider.value() == n and f"step {n} /" in window.bar.label.text()
    stepper = model.stepper(sample_x, record=True, readout=True)
    stepper.seek(n)
    run = stepper.runs.get(s.node_id)
    k = 0 if run is None else run.t
    layer = s.layer
    shown_layer = getattr(layer, f"{s.direction}_layer", layer) if s.direction else layer
    backwards = bool(getattr(shown_layer, "go_backwards", False))
    T = run.T if run is not None else None
    times = (T - 1 - np.arange(k)) if backwards else np.arange(k)
    prefix = f"{s.direction}/" if s.direction else ""
    h_name = prefix + "h"
    if run is not None and k:
        h = run.records[h_name][0][:k]
        if plots.heatmap:
            img = plots.h_img.image
            np.testing.assert_array_equal(img[:, times], h.T)
            others = np.setdiff1d(np.arange(img.shape[1]), times)
            assert not img[:, others].any()
        else:
            for j, c in enumerate(plots.h_curves):
                np.testing.assert_array_equal(xdata(c), times)
                np.testing.assert_array_equal(ydata(c), h[:, j])
        for g, c in plots.gate_curves.items():
            np.testing.assert_array_equal(ydata(c), run.records[g][0][k - 1])
        t = int(times[-1])
        assert f"t = {t}" in window.bar.label.text()
        reads = s.layer_input_index()
        assert table.current_step == (t if reads == s.input_index and reads >= 0 else -1)
        assert plots.h_step.value() == t
    else:
        assert all(ydata(c).size == 0 for c in plots.h_curves)
        assert table.current_step == -1
    vals = [r[s.output] for r in stepper.readouts]
    drawn = [c for c in plots.readout_curves if np.isfinite(ydata(c)).any()]
    if any(v is not None for v in vals):
        dims = next(v.reshape(-1).size for v in vals if v is not None)
        series = np.array([np.full(dims, np.nan) if v is None else v.reshape(-1) for v in vals])
        for c, d in zip(plots.readout_curves, plots._readout_dims):
            np.testing.assert_array_equal(ydata(c), series[:, d].astype(np.float32))
        assert len(drawn) == len([d for d in plots._readout_dims if np.isfinite(series[:, d]).any()])
    else:
        assert not drawn
    legend = [label.text for _, label in plots.p_r.legend.items if label.text != "target"]
    assert len(legend) == len(drawn)


@pytest.mark.parametrize("case", list(CASES))
def test_every_view_agrees_with_a_fresh_replay_after_any_change(window, case):
    model, data = CASES[case]

    @settings(max_examples=5, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.lists(actions, min_size=1, max_size=8))
    # the issue's own sequence (edit, another sample, back), and one through every kind of change
    @example([("step", 0.6), ("edit", 0.2, 0.0, 2.5), ("sample", 0.5), ("sample", 0.0), ("undo",), ("sample", 0.5)])
    @example([("edit", 0.5, 0.5, -1.5), ("layer", 0.9), ("direction", "backward"), ("step", 0.3), ("input", 0.9),
              ("edit", 0.1, 0.9, 0.75), ("output", 0.9, 0.9), ("sample", 0.9), ("step", 1.0), ("sample", 0.0),
              ("direction", "forward"), ("undo",), ("layer", 0.0)])
    def run(sequence):
        window.load_now(model, data)
        edits: dict[int, list[np.ndarray]] = {}
        check(window, edits)
        for action in sequence:
            apply(window, action, edits)
            check(window, edits)

    run()
