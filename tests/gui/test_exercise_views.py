"""The exercise's pictures (truth vs Keras vs replay; the readout after every step for every sample, coloured by t),
clicks that select a sample, a unit or a step, values on hover, and Help ▸ Guide — read back from the plot items."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine.readouts import batch_readouts
from tests.gui.helpers import DEMO, DEMO_PATHS, TOL, fixture_paths, menu_action, xy


@pytest.fixture
def demo(window, qtbot):
    window.load_now(*DEMO_PATHS)
    qtbot.waitUntil(lambda: window.session.batch_readouts is not None, timeout=20000)
    return window


def click(qtbot, window, plot, x, y, button=Qt.LeftButton):
    """A mouse click at view coordinates (x, y) of ``plot``, through the graphics view."""
    glw = window.plots.glw
    window.plots.grid.scroll_to(plot)
    qtbot.wait(10)
    pos = glw.mapFromScene(plot.vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(glw.viewport(), button, pos=pos)


def hover(window, plot, x, y) -> str:
    window.plots.hover.move(plot.vb.mapViewToScene(QPointF(x, y)))
    return window.plots.hover.text


def test_truth_keras_and_replay_in_one_plot_with_the_residual(demo):
    d = np.load(DEMO / "sine_data.npz")
    plots, s = demo.plots, demo.session
    _, truth = xy(plots.truth_curve)
    _, keras = xy(plots.keras_curve)
    _, replay = xy(plots.pred_curve)
    _, resid = xy(plots.resid_curve)
    np.testing.assert_array_equal(truth, d["y_test"][:, 0])
    np.testing.assert_array_equal(keras, d["y_keras"][:, 0])
    np.testing.assert_array_equal(replay, s.predictions[0][:, 0])
    np.testing.assert_allclose(resid, s.predictions[0][:, 0] - d["y_test"][:, 0], rtol=0, atol=1e-7)
    assert np.abs(resid).max() > 1e-3  # the difference is there to see
    names = [label.text for _, label in plots.p_b.legend.items]
    assert names == ["truth", "Keras", "prediction", "prediction − truth"]
    assert np.abs(keras - replay).max() <= TOL
    # an edit: the replay of that sample moves, Keras' output (for the file's inputs) stays where it was
    s.set_input_value(1, 0, 2.5)
    _, replay2 = xy(plots.pred_curve)
    assert abs(replay2[0] - replay[0]) > 1e-3 and np.array_equal(replay2[1:], replay[1:])
    np.testing.assert_array_equal(xy(plots.keras_curve)[1], d["y_keras"][:, 0])
    np.testing.assert_allclose(xy(plots.resid_curve)[1], replay2 - d["y_test"][:, 0], atol=1e-7)
    s.reset_edits()
    np.testing.assert_array_equal(xy(plots.pred_curve)[1], replay)


def test_readout_map_is_the_engine_readout_for_every_sample_and_step(demo, qtbot):
    d = np.load(DEMO / "sine_data.npz")
    s, m = demo.session, demo.plots.readout_map
    ref = batch_readouts(s.model, [d["x_test"]]).values[..., 0]
    assert m.values.shape == (200, 5)
    np.testing.assert_array_equal(m.values, ref)
    xs, ys = m.points.getData()
    np.testing.assert_array_equal(ys, ref.reshape(-1))
    np.testing.assert_array_equal(xs, np.repeat(np.arange(200), 5))
    np.testing.assert_allclose(ref[:, -1], d["y_keras"][:, 0], atol=TOL)  # the last step is Keras' prediction
    # coloured by t: the five steps have five colours, the same for every sample
    brushes = [b.color().name() for b in m.points.data["brush"][:10]]
    assert len(set(brushes[:5])) == 5 and brushes[:5] == brushes[5:10]
    assert m.bar.levels() == (0.0, 4.0)
    np.testing.assert_array_equal(xy(m.truth)[1], d["y_test"][:, 0])
    # an edit: recomputed off the GUI thread with the edited sample; the sample's row is what stepping shows
    s.set_sample(7)
    s.set_input_value(0, 0, 1.5)
    qtbot.waitUntil(lambda: s.batch_readouts is not None, timeout=20000)
    s.to_end()
    np.testing.assert_allclose(m.values[7], s.readout_series(0)[:, 0], atol=TOL)
    np.testing.assert_array_equal(m.values[8], ref[8])
    assert np.abs(m.values[7] - ref[7]).max() > 1e-3


def test_readout_map_of_an_encoder_decoder_leaves_out_encoder_steps(window, qtbot):
    model, data = fixture_paths("br_enc_dec")
    window.load_now(model, data)
    qtbot.waitUntil(lambda: window.session.batch_readouts is not None, timeout=20000)
    m = window.plots.readout_map
    d = np.load(data)
    assert list(m.step_index) == [5, 6, 7, 8]  # the decoder's steps; the encoder's 5 have no readout
    np.testing.assert_allclose(m.values[:, -1], d["y_0"][:, -1, 0], atol=TOL)


def test_clicks_select_sample_unit_and_step(demo, qtbot):
    plots, s = demo.plots, demo.session
    s.to_end()
    d = np.load(DEMO / "sine_data.npz")
    # a point of the scatter: its sample
    i = 42
    click(qtbot, demo, plots.p_s, float(d["y_test"][i, 0]), float(s.predictions[0][i, 0]))
    assert s.sample == i and demo.input_panel.sample.value() == i
    # the batch series: the sample under the click
    click(qtbot, demo, plots.p_b, 120.2, 0.0)
    assert s.sample == 120
    # a gate bar or line: the unit under it
    click(qtbot, demo, plots.p_g, 17.1, 0.5)
    assert s.unit == 17
    # a heatmap cell: its unit and its step
    s.set_unit(-1)
    click(qtbot, demo, plots.p_c, 2.0, 33.5)
    assert s.unit == 33 and s.steps_done == 3
    # a point of the readout map: its sample and its step
    click(qtbot, demo, plots.p_m, 10.0, float(plots.readout_map.values[10, 1]))
    assert s.sample == 10 and s.steps_done == 2


def test_values_on_hover(demo):
    plots, s = demo.plots, demo.session
    s.seek(3)
    rec = s.records()
    text = hover(demo, plots.p_c, 1.2, 40.5)
    assert text.startswith("unit 40, step t=1") and f"C = {float(rec['C'][1, 40]):.6g}" in text
    text = hover(demo, plots.p_h, 2.0, 7.5)
    assert f"h = {float(rec['h'][2, 7]):.6g}" in text
    text = hover(demo, plots.p_g, 5.0, 0.5)
    assert text.startswith("unit 5, step t=2") and f"f = {float(rec['f'][2, 5]):.4g}" in text
    series = s.readout_series(0)
    assert f"{float(series[1, 0]):.6g}" in hover(demo, plots.p_r, 1.0, 0.0)
    text = hover(demo, plots.p_b, 3.0, 0.0)
    assert text.startswith("sample 3") and f"replay {float(s.predictions[0][3, 0]):.6g}" in text
    d = np.load(DEMO / "sine_data.npz")
    text = hover(demo, plots.p_s, float(d["y_test"][9, 0]), float(s.predictions[0][9, 0]))
    assert text.startswith("sample 9")
    text = hover(demo, plots.p_m, 4.0, float(plots.readout_map.values[4, 2]))
    assert text.startswith("sample 4, step t=2")
    # the weights heatmap too: row, column and value of the cell
    demo.weights.select("U", "f")
    vb = demo.weights.plot.getPlotItem().vb
    demo.weights.hover.move(vb.mapViewToScene(QPointF(7.2, 3.1)))
    u = s.layer.gate("U", "f")
    assert demo.weights.hover.text == f"h3 → u7\n{float(u[3, 7]):.6g}"
    # away from every plot: nothing
    plots.hover.move(QPointF(-50, -50))
    assert plots.hover.text == ""


def test_guide_explains_the_names_with_the_layer_equations(window, qtbot):
    window.load_now(*DEMO_PATHS)
    menu_action(window, "&Guide: gates, states, readout, stages").trigger()
    g = window.guide
    assert g is not None and g.isVisible()
    text = g.text.toPlainText()
    for word in ("input gate", "forget gate", "candidate", "output gate", "cell state", "hidden state", "readout",
                 "stage"):
        assert word in text, word
    assert "C t = f t ⊙ C t−1 + i t ⊙ c̃ t" in text.replace("\u2009", " ") or "⊙ C" in text
    assert "σ = sigmoid" in text and "φ = tanh" in text
    model, data = fixture_paths("br_gru_after")
    window.load_now(model, data)
    gru = [n for n in window.session.recurrent_nodes() if window.session.model.graph.nodes[n].layer.class_name == "GRU"]
    window.session.set_node(gru[0])
    text = g.text.toPlainText()
    assert "update gate" in text and "no cell state" in text and "reset_after" in text
    assert "Explain" in text and "bias + Σ terms" in text
    model, data = fixture_paths("cv_convlstm2d")
    window.load_now(model, data)
    conv = [n for n in window.session.recurrent_nodes()
            if window.session.model.graph.nodes[n].layer.class_name == "ConvLSTM2D"]
    window.session.set_node(conv[0])
    text = g.text.toPlainText()
    assert "ConvLSTM2D" in text and "∗ h" in text and "a unit is a filter" in text
    assert "per channel" in text


def test_readout_map_after_a_background_open(window, qtbot):
    """Opened in the background, the readout map is replayed after the batch predictions (one replay at a time)."""
    window.open_model(*DEMO_PATHS)
    qtbot.waitUntil(lambda: not window.loading and not window.predicting, timeout=20000)
    qtbot.waitUntil(lambda: window.session.batch_readouts is not None, timeout=20000)
    d = np.load(DEMO / "sine_data.npz")
    np.testing.assert_allclose(window.plots.readout_map.values[:, -1], d["y_keras"][:, 0], atol=TOL)
