"""Issue 9, part A: every number the window shows equals what the engine computes for the state on screen.

One test per numbered defect of the issue (each failed before its fix), then targets and Keras' outputs from
ordinary files, and the keyboard in the input table. The property test over random sequences of changes is in
test_truth_property.py."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from tests.gui.helpers import DEMO, DEMO_PATHS, TOL, fixture_paths, xy


def fresh_readout(model, inputs, steps, output=0):
    st = model.stepper(inputs, record=True, readout=True)
    st.seek(steps)
    return np.array([np.nan if r[output] is None else np.asarray(r[output]).reshape(-1)[0] for r in st.readouts])


# --- 1. edits, sample switches and every number that depends on them ------------------------------------------
def test_edits_are_kept_per_sample_and_predictions_scatter_badge_readout_agree(window):
    window.load_now(*DEMO_PATHS)
    s, plots, table = window.session, window.plots, window.input_panel.model
    s.seek(3)
    assert table.setData(table.index(1, 0), "2.5")
    window.input_panel.sample.setValue(1)
    window.input_panel.sample.setValue(0)
    x = np.array(s.data.inputs[0][:1])
    x[0, 1, 0] = 2.5
    # the edit came back with the sample, and the window says so
    assert s.sample_inputs[0][0, 1, 0] == pytest.approx(2.5) and s.edited
    assert table.data(table.index(1, 0), Qt.UserRole) == pytest.approx(2.5)
    assert "edited" in window.input_panel.source.text()
    y = float(s.model.predict(x)[0, 0])
    truth = np.load(DEMO / "sine_data.npz")["y_test"][:, 0]
    assert xy(plots.pred_curve)[1][0] == pytest.approx(y, abs=TOL)
    sx, sy = xy(plots.scatter_sel)
    assert (sx[0], sy[0]) == pytest.approx((truth[0], y), abs=TOL)
    # the badge compares the samples Keras computed (not the edited one): still green, and says what it skipped
    assert "✓" in window.badge.text() and "1 edited sample not compared" in window.badge.text()
    np.testing.assert_allclose(xy(plots.readout_curves[0])[1], fresh_readout(s.model, [x], 3), atol=TOL)
    # on another sample, the edit of sample 0 is kept (and said), sample 1 is shown as it is
    window.input_panel.sample.setValue(1)
    assert not s.edited and "edits kept for sample 0" in window.input_panel.source.text()
    np.testing.assert_allclose(xy(plots.readout_curves[0])[1],
                               fresh_readout(s.model, [s.data.inputs[0][1:2]], 3), atol=TOL)
    assert xy(plots.pred_curve)[1][0] == pytest.approx(y, abs=TOL)
    # undo on sample 0 brings back Keras' own numbers everywhere
    window.input_panel.sample.setValue(0)
    window.input_panel.b_reset.click()
    d = np.load(DEMO / "sine_data.npz")
    np.testing.assert_allclose(xy(plots.pred_curve)[1], d["y_keras"][:, 0], atol=TOL)
    assert "✓" in window.badge.text() and "edited" not in window.badge.text()


def test_new_data_says_the_edits_it_drops(window, qtbot):
    window.load_now(*DEMO_PATHS)
    s = window.session
    s.set_input_value(0, 0, 1.0)
    s.set_sample(3)
    s.set_input_value(1, 0, 1.0)
    window.open_input(None)
    qtbot.waitUntil(lambda: not window.loading, timeout=10000)
    assert s.edited_samples == [] and "edits of samples 0, 3 were dropped" in window.statusBar().currentMessage()


# --- 2. "final" is the last step, of the output and dimension chosen -------------------------------------------
def test_batch_plot_shows_the_last_step_of_the_chosen_output_and_dimension(window):
    model, data = fixture_paths("br_enc_dec")
    ref = np.load(data)
    window.load_now(model, data)
    plots = window.plots
    # output 0 is a sequence (batch, 4, 2): its final prediction is the last step, not the first
    np.testing.assert_allclose(xy(plots.pred_curve)[1], ref["y_0"][:, -1, 0], atol=TOL)
    assert plots.output_row.isVisible() and plots.output_box.count() == 2
    plots.dim_box.setValue(1)
    np.testing.assert_allclose(xy(plots.pred_curve)[1], ref["y_0"][:, -1, 1], atol=TOL)
    plots.output_box.setCurrentIndex(1)  # output 1: (batch, 4)
    plots.dim_box.setValue(3)
    assert (window.session.output, window.session.dim) == (1, 3)
    np.testing.assert_allclose(xy(plots.pred_curve)[1], ref["y_1"][:, 3], atol=TOL)
    assert "output 1[3]" in plots.p_b.titleLabel.text


def test_softmax_output_offers_classes(window):
    model, data = fixture_paths("toy_tanh_sigmoid")  # Dense(2, softmax)
    window.load_now(model, data)
    plots = window.plots
    assert plots.output_row.isVisible() and plots.dim_label.text() == "class"
    plots.dim_box.setValue(1)
    np.testing.assert_allclose(xy(plots.pred_curve)[1], np.load(data)["y_0"][:, 1], atol=TOL)


# --- 3. the readout legend lists what is drawn -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["br_enc_dec", "seq_out", "toy_tanh_sigmoid"])
def test_readout_legend_lists_only_drawn_curves(window, name):
    model, data = fixture_paths(name)
    window.load_now(model, data)
    s, plots = window.session, window.plots
    s.to_end()
    series = s.readout_series()
    drawn = [c for c in plots.readout_curves if np.isfinite(xy(c)[1]).any()]
    names = [label.text for _, label in plots.p_r.legend.items]
    assert len(names) == len(drawn) == series.shape[1] and all(n != "target" for n in names)
    for c, d in zip(plots.readout_curves, range(series.shape[1])):
        np.testing.assert_array_equal(xy(c)[1], series[:, d])
    # the readout's x axis spans every step of the model (an encoder–decoder's decoder steps come last)
    lo, hi = plots.p_r.viewRange()[0]
    assert lo <= 0 and hi >= s.total_steps - 1


def test_readout_of_many_dimensions_draws_the_chosen_one_and_says_so(window, tmp_path):
    from tests.engine import crafted

    cfg = crafted.tiny_config()
    cfg["config"]["layers"][-1]["config"]["units"] = 10
    w = crafted.tiny_weights()
    rng = np.random.RandomState(1)
    w["dense"] = [("dense/kernel:0", rng.randn(crafted.UNITS, 10).astype("f4")),
                  ("dense/bias:0", rng.randn(10).astype("f4"))]
    window.load_now(str(crafted.tiny_h5(tmp_path / "ten.h5", config=cfg, weights=w)))
    s, plots = window.session, window.plots
    s.to_end()
    assert [label.text for _, label in plots.p_r.legend.items] == ["output[0]"]
    assert "[0] of 10" in plots.p_r.titleLabel.text
    plots.dim_box.setValue(7)
    assert [label.text for _, label in plots.p_r.legend.items] == ["output[7]"] and len(plots.readout_curves) == 1
    np.testing.assert_array_equal(xy(plots.readout_curves[0])[1], s.readout_series()[:, 7])
    assert "[7] of 10" in plots.p_r.titleLabel.text
    np.testing.assert_allclose(xy(plots.pred_curve)[1], s.model.predict(s.data.inputs)[:, 7], atol=TOL)


# --- 4. a value float32 cannot hold is refused in the editor ----------------------------------------------------
def test_float32_overflow_refused_in_the_editor_and_the_session_lives(window):
    window.load_now(*DEMO_PATHS)
    s, panel = window.session, window.input_panel
    s.seek(2)
    before = s.sample_inputs[0].copy()
    assert not panel.model.setData(panel.model.index(1, 0), "1e39")
    assert panel.refusal.isVisibleTo(panel) and "float32" in panel.refusal.text()
    assert s.stepper is not None and s.steps_done == 2 and not s.edited
    np.testing.assert_array_equal(s.sample_inputs[0], before)
    assert s.set_input_value(1, 0, 1e39) is not None  # the session refuses it too
    assert panel.model.setData(panel.model.index(1, 0), "0.5")  # and still takes a good value
    assert s.sample_inputs[0][0, 1, 0] == pytest.approx(0.5) and not panel.refusal.isVisibleTo(panel)


# --- 5. random token ids, edited as integers --------------------------------------------------------------------
def test_embedding_random_inputs_are_token_ids_and_edit_as_integers(window, qtbot):
    model, _ = fixture_paths("br_embedding")
    window.load_now(model)  # no input file: random
    s = window.session
    vocab = [layer for layer in s.model.layers if layer.class_name == "Embedding"][0].input_dim
    x = s.data.inputs[0]
    assert x.dtype.kind == "i" and x.min() >= 0 and x.max() < vocab
    np.testing.assert_allclose(s.predictions[0], s.model.predict(x), atol=0)
    window.open_input(None)  # Random
    qtbot.waitUntil(lambda: not window.loading and not window.predicting, timeout=10000)
    x = s.data.inputs[0]
    assert x.dtype.kind == "i" and x.min() >= 0 and x.max() < vocab
    m = window.input_panel.model
    assert m.data(m.index(0, 0), Qt.DisplayRole) == str(int(x[0, 0]))
    assert m.flags(m.index(0, 0)) & Qt.ItemIsEditable
    assert m.setData(m.index(2, 0), "3") and int(s.sample_inputs[0][0, 2]) == 3
    assert not m.setData(m.index(2, 0), "2.5") and "integer" in window.input_panel.refusal.text()
    assert not m.setData(m.index(2, 0), str(vocab)) and "range" in window.input_panel.refusal.text()
    xe = np.array(x[:1])
    xe[0, 2] = 3
    np.testing.assert_allclose(s.predictions[0][0], s.model.predict(xe)[0], atol=TOL)


# --- 6. several inputs: each shown, editable, the marker on the one being read ----------------------------------
def test_several_inputs_each_shown_editable_and_marked(window):
    model, data = fixture_paths("br_enc_dec")
    ref = np.load(data)
    window.load_now(model, data)
    s, panel = window.session, window.input_panel
    assert panel.input_box.isVisibleTo(panel) and panel.input_box.count() == 2
    m = panel.model
    assert m.data(m.index(0, 0), Qt.UserRole) == pytest.approx(float(ref["x_0"][0, 0, 0]))
    decoder = [nid for nid in s.recurrent_nodes() if s.model.graph.nodes[nid].layer.name == "decoder"][0]
    s.set_node(decoder)  # the decoder reads input 1: the table shows it
    assert panel.input_box.currentIndex() == 1 and m.rowCount() == 4 and m.columnCount() == 2
    assert m.data(m.index(2, 1), Qt.UserRole) == pytest.approx(float(ref["x_1"][0, 2, 1]))
    s.seek(5 + 2)  # the encoder's 5 steps, then the decoder's first two
    assert m.current_step == 1
    s.seek(3)  # the decoder has not started: no row of input 1 is being read
    assert m.current_step == -1
    panel.input_box.setCurrentIndex(0)  # input 0 while the decoder is selected: it does not read it
    assert m.rowCount() == 5 and m.current_step == -1
    s.set_node([n for n in s.recurrent_nodes() if n != decoder][0])
    assert panel.input_box.currentIndex() == 0 and m.current_step == 2
    panel.input_box.setCurrentIndex(1)
    assert m.setData(m.index(0, 1), "1.25")  # edit input 1
    assert s.sample_inputs[1][0, 0, 1] == pytest.approx(1.25)
    xs = [ref["x_0"][:1], np.array(ref["x_1"][:1])]
    xs[1][0, 0, 1] = 1.25
    y = s.model.predict(xs)
    np.testing.assert_allclose(s.predictions[0][0], y[0][0], atol=TOL)
    np.testing.assert_allclose(s.predictions[1][0], y[1][0], atol=TOL)


# --- 7. one t: status bar, table, plots --------------------------------------------------------------------------
@pytest.mark.parametrize("name,direction", [("backwards", None), ("br_bidi_concat", "backward"),
                                            ("br_bidi_concat", "forward")])
def test_one_notion_of_t(window, name, direction):
    model, data = fixture_paths(name, "k2h5")
    window.load_now(model, data)
    s, plots = window.session, window.plots
    if direction:
        plots.direction_box.setCurrentText(direction)
    T = s.sample_inputs[0].shape[1]  # the layer reads the model input
    backwards = name == "backwards" or direction == "backward"
    for n in (1, 2, T):
        s.seek(n)
        t = T - n if backwards else n - 1
        label = window.bar.label.text()
        assert f"t = {t}" in label and ("backwards" in label) == backwards
        assert window.input_panel.model.current_step == t
        assert plots.h_step.value() == t and plots.c_step.value() == t
        x, _ = xy(plots.h_curves[0])
        np.testing.assert_array_equal(x, (T - 1 - np.arange(n)) if backwards else np.arange(n))


# --- 8. a model that cannot be replayed: plots cleared, the reason in their place -------------------------------
def test_unreplayable_model_clears_the_plots_and_says_why_in_their_place(window, tmp_path):
    from tests.engine import crafted

    window.load_now(*DEMO_PATHS)
    window.session.seek(3)
    cfg = crafted.with_layer(crafted.tiny_config(), 1, {"class_name": "FancyAttention", "config": {"name": "fancy"}})
    window.load_now(str(crafted.tiny_h5(tmp_path / "m.h5", config=cfg)))
    plots = window.plots
    assert plots.problem_label.isVisibleTo(plots) and not plots.glw.isVisibleTo(plots)
    assert "FancyAttention" in plots.problem_label.text() or "fancy" in plots.problem_label.text()
    items = plots.c_curves + plots.h_curves + plots.readout_curves + [plots.pred_curve, plots.truth_curve,
                                                                      plots.scatter, plots.mask_marks]
    assert all(xy(c)[0].size == 0 for c in items)
    assert not plots.gate_curves and plots.c_img is None and plots.h_img is None
    m = window.input_panel.model
    assert m.current_step == -1 and not m.flags(m.index(0, 0)) & Qt.ItemIsEditable  # no stale row marker
    # and a good model afterwards brings the plots back
    window.load_now(*DEMO_PATHS)
    assert plots.glw.isVisibleTo(plots) and not plots.problem_label.isVisibleTo(plots)


# --- 9. GRU / SimpleRNN say plainly what they do not have -------------------------------------------------------
def test_gru_has_no_cell_state_and_simplernn_no_gates_plainly(window):
    model, data = fixture_paths("br_gru_after")
    window.load_now(model, data)
    plots = window.plots
    window.session.seek(2)
    assert plots.no_cell_note.isVisible() and not plots.c_step.isVisible()
    assert not plots.p_c.getAxis("left").isVisible() and not plots.p_c.getAxis("bottom").isVisible()
    model, data = fixture_paths("br_simplernn")
    window.load_now(model, data)
    window.session.seek(2)
    assert not plots.gate_curves and plots.no_gates_note.isVisible()
    assert not plots.p_g.legend.isVisible() and "No gates" in plots.p_g.titleLabel.text
    # and an LSTM afterwards has its gates and cell state again
    window.load_now(*DEMO_PATHS)
    window.session.seek(2)
    assert plots.p_g.legend.isVisible() and not plots.no_gates_note.isVisible() and plots.c_step.isVisible()


# --- 10. shape errors name the file's shape ---------------------------------------------------------------------
def test_shape_error_names_the_whole_shape(window, tmp_path):
    import engine

    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((3, 7, 4), np.float32))
    with pytest.raises(engine.ModelFileError, match=r"\(3, 7, 4\)"):
        window.load_now(str(DEMO / "sine_lstm.keras"), str(bad))


# --- 11. the readout's axis at the first step; masked-step marks inside the plot ---------------------------------
@pytest.mark.parametrize("name", ["sine", "nobias", "toy_tanh_sigmoid"])
def test_readout_axis_at_the_first_step_is_sane(window, name):
    model, data = fixture_paths(name, "k2h5")  # no targets: the first readout alone sets the range
    window.load_now(model, data)
    window.session.seek(1)
    lo, hi = window.plots.p_r.viewRange()[1]
    value = window.session.readout_series()[0]
    assert lo < value.min() and value.max() < hi and hi - lo >= 0.05


def test_masked_step_marks_sit_inside_the_plot(window, qtbot):
    model, data = fixture_paths("br_masking", "k2h5")
    window.load_now(model, data)
    window.session.to_end()
    qtbot.wait(10)
    plots = window.plots
    xs, ys = xy(plots.mask_marks)
    assert xs.size > 0
    vb = plots.p_r.vb
    bottom = vb.mapViewToScene(QPointF(0, vb.viewRange()[1][0])).y()
    for x, y in zip(xs, ys):
        centre = vb.mapViewToScene(QPointF(x, y)).y()
        assert bottom - centre >= 9 / 2  # the whole × (9 px) above the axis


# --- targets and Keras' outputs from ordinary files -------------------------------------------------------------
def test_x_npy_with_y_npy_next_to_it_gives_scatter_and_badge(window, tmp_path):
    d = np.load(DEMO / "sine_data.npz")
    np.save(tmp_path / "X_test.npy", d["x_test"])
    np.save(tmp_path / "y_test.npy", d["y_test"])
    np.save(tmp_path / "y_test_keras.npy", d["y_keras"])
    window.load_now(str(DEMO / "sine_lstm.keras"), str(tmp_path / "X_test.npy"))
    s, plots = window.session, window.plots
    np.testing.assert_array_equal(xy(plots.truth_curve)[1], d["y_test"][:, 0])
    sx, sy = xy(plots.scatter)
    np.testing.assert_array_equal(sx, d["y_test"][:, 0])
    np.testing.assert_allclose(sy, s.predictions[0][:, 0])
    assert "✓" in window.badge.text()
    np.testing.assert_array_equal(s.keras_final(), d["y_keras"][:, 0])


def test_open_targets_and_keras_outputs_for_any_model(window, tmp_path):
    model, data = fixture_paths("seq_dense3d")
    ref = np.load(data)
    np.save(tmp_path / "x.npy", ref["x_0"])
    window.load_now(model, str(tmp_path / "x.npy"))
    s, plots = window.session, window.plots
    assert "no Keras outputs" in window.badge.text() and xy(plots.scatter)[0].size == 0
    truth = ref["y_0"] + 0.1  # any truth shaped like the output
    np.save(tmp_path / "truth.npy", truth)
    assert window.open_targets(str(tmp_path / "truth.npy"))
    sx, sy = xy(plots.scatter)
    np.testing.assert_allclose(sx, truth[:, -1, 0], atol=1e-6)
    np.testing.assert_allclose(sy, s.predictions[0][:, -1, 0])
    np.savez(tmp_path / "keras.npz", y_keras=ref["y_0"])
    assert window.open_keras_outputs(str(tmp_path / "keras.npz"))
    assert "✓" in window.badge.text()
    # a file that does not fit the batch is refused with a dialog; what was loaded stays
    np.save(tmp_path / "short.npy", truth[:2])
    assert not window.open_targets(str(tmp_path / "short.npy"))
    from PySide6.QtWidgets import QMessageBox

    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and "batch has 4 samples" in box.text()
    box.close()
    np.testing.assert_allclose(xy(plots.scatter)[0], truth[:, -1, 0], atol=1e-6)


def test_menu_has_open_targets_and_keras_outputs(window):
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Open &targets…" in texts and "Open &Keras outputs…" in texts


# --- keyboard in the input table ----------------------------------------------------------------------------------
def test_input_table_keeps_its_keys_and_enter_commits_and_moves_down(window, qtbot):
    model, data = fixture_paths("toy_tanh_sigmoid")
    window.load_now(model, data)
    s, table = window.session, window.input_panel.table
    m = table.model()
    s.seek(1)
    window.activateWindow()
    table.setFocus()
    table.setCurrentIndex(m.index(0, 0))
    qtbot.keyClick(table, Qt.Key_Down)
    assert table.currentIndex().row() == 1 and s.steps_done == 1  # the window's step keys stay out
    qtbot.keyClick(table, Qt.Key_Right)
    assert table.currentIndex().column() == 1 and s.steps_done == 1
    qtbot.keyClick(table, Qt.Key_Left)
    assert table.currentIndex().column() == 0 and s.steps_done == 1
    qtbot.keyClick(table, Qt.Key_End)
    qtbot.keyClick(table, Qt.Key_Space)
    assert s.steps_done == 1 and not window.bar.playing
    table.setCurrentIndex(m.index(0, 1))
    qtbot.keyClick(table, Qt.Key_F2)  # an edit starts
    from PySide6.QtWidgets import QLineEdit

    editor = table.findChild(QLineEdit)
    assert editor is not None
    editor.selectAll()
    qtbot.keyClicks(editor, "0.75")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: table.state() != table.State.EditingState, timeout=2000)  # Qt commits queued
    assert s.sample_inputs[0][0, 0, 1] == pytest.approx(0.75)
    assert (table.currentIndex().row(), table.currentIndex().column()) == (1, 1)  # the edit kept the cell; Enter moved down
    qtbot.keyClick(table, Qt.Key_Return)
    assert table.currentIndex().row() == 2
    window.setFocus()
    qtbot.keyClick(window, Qt.Key_Right)  # outside the table the step keys work
    assert s.steps_done == 2


def test_token_ids_out_of_range_in_a_file_are_refused_on_open(window, tmp_path):
    import engine

    model, data = fixture_paths("br_embedding")
    x = np.load(data)["x_0"].copy()
    x[1, 2] = 10_000
    np.save(tmp_path / "ids.npy", x)
    with pytest.raises(engine.ModelFileError, match=r"token ids 0\.\.10000"):
        window.load_now(model, str(tmp_path / "ids.npy"))
