"""The inspector window, driven as a user would, checked by reading back tables, plot data and widgets."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui.helpers import DEMO, DEMO_PATHS, ROOT, TOL, curve_y, fixture_paths, menu_action, wait_loaded


def test_demo_opens_with_weights_and_parity_badge(window):
    window.load_now(*DEMO_PATHS)
    s = window.session
    lstm = s.model.recurrent_layers[0]
    # weight table shows W_i by default: read cells back
    m = window.weights.model
    assert (m.rowCount(), m.columnCount()) == (1, 100)
    for c in (0, 17, 99):
        assert m.data(m.index(0, c), Qt.UserRole) == pytest.approx(float(lstm.gate("W", "i")[0, c]))
    assert m.headerData(5, Qt.Horizontal) == "u5" and m.headerData(0, Qt.Vertical) == "x0"
    # badge: the replay against Keras' own predictions stored with the demo
    assert "max |Δ|" in window.badge.text() and "✓" in window.badge.text()
    d = np.load(DEMO / "sine_data.npz")
    assert np.max(np.abs(s.predictions[0] - d["y_keras"])) <= TOL
    # batch plot is the classic prediction-vs-truth series
    np.testing.assert_allclose(curve_y(window.plots.truth_curve), d["y_test"][:, 0])
    np.testing.assert_allclose(curve_y(window.plots.pred_curve), d["y_keras"][:, 0], atol=TOL)


def test_switch_matrix_and_gate(window):
    window.load_now(*DEMO_PATHS)
    lstm = window.session.model.recurrent_layers[0]
    window.weights.matrix_group.button(1).click()  # U
    window.weights.gate_group.button(2).click()  # c
    m = window.weights.model
    assert (m.rowCount(), m.columnCount()) == (100, 100)
    np.testing.assert_array_equal(m.array(), lstm.gate("U", "c"))
    assert m.data(m.index(3, 7), Qt.DisplayRole) == f"{lstm.gate('U', 'c')[3, 7]:.4f}"
    np.testing.assert_array_equal(window.weights.image.image, lstm.gate("U", "c"))
    lines = window.weights.stats.text().splitlines()
    assert len(lines) == 5 and lines[0].split() == ["block", "shape", "min", "max", "mean", "std", "‖·‖"]
    assert lines[3].startswith("▶ U_c") and not lines[1].startswith("▶")
    from engine.stats import block_stats

    st = block_stats(lstm.gate("U", "c"))
    expected = [f"{v:+.4g}" for v in (st.min, st.max, st.mean)] + [f"{v:.4g}" for v in (st.std, st.norm)]
    assert lines[3].split()[-5:] == expected
    # heatmap cells are centred on their (column, row)
    rect = window.weights.image.mapRectToParent(window.weights.image.boundingRect())
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == pytest.approx((-0.5, -0.5, 100, 100))


def test_line_plots_follow_keras_states(window, qtbot):
    model, data = fixture_paths("toy_tanh_sigmoid")
    window.load_now(model, data)
    ref = np.load(data)
    s = window.session
    assert len(window.plots.c_curves) == 8 and not window.plots.heatmap
    for n in (1, 2, 3):
        s.seek(n)
        for j in (0, 5, 7):
            np.testing.assert_allclose(curve_y(window.plots.c_curves[j]), ref["cseq__lstm"][0, :n, j], atol=TOL)
            np.testing.assert_allclose(curve_y(window.plots.h_curves[j]), ref["hseq__lstm"][0, :n, j], atol=TOL)
    assert window.bar.slider.value() == 3 and "step 3 / 3" in window.bar.label.text()
    # gates at the last step are the sigmoid of the recorded pre-activations' i block
    rec = s.records()
    np.testing.assert_array_equal(curve_y(window.plots.gate_curves["i"]), rec["i"][2])
    # another sample: the curves follow it
    window.input_panel.sample.setValue(2)
    assert s.sample == 2 and s.steps_done == 3
    np.testing.assert_allclose(curve_y(window.plots.h_curves[4]), ref["hseq__lstm"][2, :3, 4], atol=TOL)
    # prediction read out after each step; the last one is Keras' prediction for the sample
    r = curve_y(window.plots.readout_curves[1])
    assert r.shape == (3,)
    assert r[-1] == pytest.approx(float(ref["y_0"][2, 1]), abs=TOL)


def test_heatmap_for_many_units_matches_keras(window):
    model, data = fixture_paths("sine", "k2h5")
    window.load_now(model, data)
    ref = np.load(data)
    window.session.seek(4)
    assert window.plots.heatmap
    img = window.plots.c_img.image  # units × time
    np.testing.assert_allclose(img[:, :4], ref["cseq__lstm"][0, :4].T, atol=TOL)
    assert np.all(img[:, 4:] == 0)


def test_keyboard_slider_and_play(window, qtbot):
    model, data = fixture_paths("stack_seq")
    window.load_now(model, data)
    s = window.session
    assert s.total_steps == 7
    window.setFocus()
    qtbot.keyClick(window, Qt.Key_Right)
    qtbot.keyClick(window, Qt.Key_Right)
    assert s.steps_done == 2
    qtbot.keyClick(window, Qt.Key_Left)
    assert s.steps_done == 1
    qtbot.keyClick(window, Qt.Key_End)
    assert s.steps_done == 7 and window.bar.slider.value() == 7
    qtbot.keyClick(window, Qt.Key_Home)
    assert s.steps_done == 0
    window.bar.slider.setValue(5)
    assert s.steps_done == 5
    window.bar.speed.setValue(120)
    window.bar.toggle_play()
    qtbot.waitUntil(lambda: s.steps_done == 7, timeout=5000)
    qtbot.waitUntil(lambda: not window.bar.playing, timeout=2000)
    # stacked layers: selecting the second LSTM shows its units
    second = [n.id for n in s.model.graph.nodes if n.qualname == "lstm_2"][0]
    s.set_node(second)
    assert len(window.plots.c_curves) == 5


def test_bad_file_shows_dialog_and_keeps_model(window, qtbot, tmp_path):
    window.load_now(*DEMO_PATHS)
    before = window.session.model
    bad = tmp_path / "bad.h5"
    bad.write_text("not a model at all")
    window.open_model(str(bad))
    wait_loaded(qtbot, window)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is not None, timeout=5000)
    box = window.findChild(QMessageBox, "errorDialog")
    assert str(bad) in box.text() and "neither an HDF5" in box.text()
    assert window.session.model is before and window.isVisible()
    box.accept()
    # and the window still works
    window.session.seek(2)
    assert window.session.steps_done == 2


def test_async_open_and_recent_files(window, qtbot, settings):
    a, _ = fixture_paths("toy_tanh_sigmoid")
    b, _ = fixture_paths("nobias", "k2h5")
    for p in (a, b, a):
        window.open_model(p)
        wait_loaded(qtbot, window)
    assert window.session.model.path == a
    qtbot.waitUntil(lambda: not window.predicting, timeout=20000)
    ref = np.load(fixture_paths("toy_tanh_sigmoid")[1])  # random inputs here, so compare with the engine itself
    preds = window.session.predictions[0]
    assert preds.shape == (8, 2)
    np.testing.assert_array_equal(curve_y(window.plots.pred_curve), preds[:, 0])
    np.testing.assert_allclose(preds.sum(axis=1), 1, atol=1e-6)  # softmax head
    assert ref["y_0"].shape[1] == 2
    assert window.recent_files() == [os.path.abspath(a), os.path.abspath(b)]
    assert [act.text() for act in window.recent_menu.actions()] == [os.path.abspath(a), os.path.abspath(b)]
    for k in range(12):  # at most ten, newest first
        window._add_recent(f"/data/m{k}.h5")
    assert window.recent_files() == [f"/data/m{k}.h5" for k in range(11, 1, -1)]
    assert len(window.recent_menu.actions()) == 10
    settings.sync()
    from PySide6.QtCore import QSettings

    again = QSettings(settings.fileName(), QSettings.IniFormat)  # kept in the settings file, not only in memory
    assert again.value("recent")[0] == "/data/m11.h5"


def test_what_if_edit_updates_everything(window, qtbot):
    window.load_now(*DEMO_PATHS)
    s = window.session
    s.seek(5)
    before = curve_y(window.plots.readout_curves[0]).copy()
    pred_before = float(s.predictions[0][0, 0])
    model = window.input_panel.model
    assert model.setData(model.index(4, 0), "0.9")
    assert s.sample_inputs[0][0, 4, 0] == pytest.approx(0.9)
    after = curve_y(window.plots.readout_curves[0])
    np.testing.assert_array_equal(after[:4], before[:4])  # steps before the edit are unchanged
    assert after[4] != before[4]
    x = np.array(s.data.inputs[0][:1])
    x[0, 4, 0] = 0.9
    expected = s.model.predict(x)[0, 0]
    assert after[4] == pytest.approx(float(expected), abs=TOL)
    assert float(s.predictions[0][0, 0]) == pytest.approx(float(expected), abs=TOL) != pred_before
    assert "edited" in window.badge.text()
    window.input_panel.b_reset.click()
    assert not s.edited and "✓" in window.badge.text()
    np.testing.assert_array_equal(curve_y(window.plots.readout_curves[0]), before)


def test_unit_highlight_everywhere(window):
    model, data = fixture_paths("toy_tanh_sigmoid")
    window.load_now(model, data)
    window.weights.unit_clicked.emit(3)
    assert window.session.unit == 3
    assert window.plots.c_curves[3].opts["pen"].width() == 4
    assert window.weights.model.headerData(3, Qt.Horizontal, Qt.FontRole).bold()
    window.plots.unit_clicked.emit(3)  # clicking again clears it
    assert window.session.unit == -1


def test_unsupported_layer_marked_and_weights_viewable(window, tmp_path):
    from tests.engine import crafted

    cfg = crafted.with_layer(crafted.tiny_config(), 1, {"class_name": "FancyAttention", "config": {"name": "fancy"}})
    p = crafted.tiny_h5(tmp_path / "m.h5", config=cfg)
    window.load_now(str(p))
    tree = window.model_panel.tree
    texts = [tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())]
    assert any("FancyAttention" in t and "unsupported" in t for t in texts)
    assert "Cannot replay" in window.model_panel.header.text()
    lstm = window.session.model.layer("lstm")
    np.testing.assert_array_equal(window.weights.model.array(), lstm.gate("W", "i"))


def test_exports(window, qtbot, tmp_path):
    model, data = fixture_paths("func_state")
    window.load_now(model, data)
    window.session.seek(3)
    window.weights.select("b", "f")
    window.export_matrix(str(tmp_path / "b_f.csv"))
    lstm = window.session.layer
    lines = (tmp_path / "b_f.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == ["", "u0", "u1", "u2", "u3", "u4", "u5"] and lines[1].startswith("b,")  # header row
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "b_f.csv", delimiter=",", dtype="f4", skiprows=1,
                                             usecols=range(1, 7)), lstm.gate("b", "f"))
    window.export_trace(str(tmp_path / "t.npz"))  # runs off the GUI thread
    qtbot.waitUntil(lambda: not window.exporting, timeout=10000)
    with np.load(tmp_path / "t.npz") as t:
        assert t["lstm_1/C"].shape == (1, 7, 6)
        keras = np.load(data)
        np.testing.assert_allclose(t["lstm_1/C"], keras["cseq__lstm_1"][:1], rtol=0, atol=TOL)
    window.export_plots("png", str(tmp_path / "p.png"))
    window.export_plots("svg", str(tmp_path / "p.svg"))
    assert (tmp_path / "p.png").stat().st_size > 1000 and b"<svg" in (tmp_path / "p.svg").read_bytes()[:400]
    # the exported plots carry a caption: model, sample and step, drawn above the plots and kept as the PNG's text
    from PySide6.QtGui import QImage

    img = QImage(str(tmp_path / "p.png"))
    caption = img.text("Description")
    assert "func_state.keras" in caption and "sample 0 of" in caption and "step 3 / 7" in caption
    assert img.height() > window.plots.glw.height() and img.width() == window.plots.glw.width()
    assert caption.encode() in (tmp_path / "p.svg").read_bytes()


def test_whole_batch_trace_only_when_asked(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    model, data = fixture_paths("stack_seq")
    window.load_now(model, data)
    s = window.session
    keras = np.load(data)
    batch = keras["x_0"].shape[0]
    assert batch > 1
    # the window's own replay holds the shown sample only
    assert all(a.shape[0] == 1 for run in s.stepper.runs.values() for a in dict(run.records).values())
    s.set_input_value(2, 0, 3.0)  # a what-if edit of sample 0 is part of the batch traced
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "all.npz"), ""))
    menu_action(window, "Trace of the whole batch (.npz, .h5)…").trigger()
    assert window.exporting and window.busy.isVisible()  # done once the task reports back, on the GUI thread
    qtbot.waitUntil(lambda: not window.exporting, timeout=10000)
    assert not window.busy.isVisible()
    expected = s.model.trace(s.trace_inputs(whole_batch=True)).as_dict()
    with np.load(tmp_path / "all.npz") as t:
        assert t["x_0"].shape[0] == batch and t["x_0"][0, 2, 0] == 3.0
        np.testing.assert_array_equal(t["x_0"][1:], keras["x_0"][1:])
        for name in ("lstm_1/h", "lstm_2/C", "lstm_3/h"):
            assert t[name].shape[0] == batch
            np.testing.assert_array_equal(t[name], expected[name])
        np.testing.assert_allclose(t["lstm_3/C"][1:], keras["cseq__lstm_3"][1:], rtol=0, atol=TOL)
    assert "written to" in window.statusBar().currentMessage()


def test_large_trace_asks_first_and_bad_path_reports(window, qtbot, tmp_path, monkeypatch):
    model, data = fixture_paths("stack_seq")
    window.load_now(model, data)
    asked = []
    monkeypatch.setattr(window, "TRACE_CONFIRM_BYTES", 1)
    monkeypatch.setattr(window, "_confirm", lambda title, text: asked.append(text) or False)
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "big.npz"), ""))
    window.export_trace(whole_batch=True)
    assert asked and "samples holds about" in asked[0]
    assert not window.exporting and not (tmp_path / "big.npz").exists()
    window.export_trace(str(tmp_path / "no" / "such" / "dir.npz"))
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is not None, timeout=10000)
    box = window.findChild(QMessageBox, "errorDialog")
    assert "cannot write" in box.text() and "dir.npz" in box.text()
    box.close()
    assert not window.exporting


def test_geometry_persists_and_about(qtbot, settings):
    from gui.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(781, 603)  # within the offscreen screen (800 × 800), so nothing clamps it
    w.show()
    w.split.setSizes([250, 520])
    w.left.setSizes([180, 380])
    split, left = w.split.sizes(), w.left.sizes()
    w.close()
    w2 = MainWindow(settings)
    qtbot.addWidget(w2)
    w2.show()
    assert (w2.width(), w2.height()) == (781, 603)
    assert w2.split.sizes() == split and w2.left.sizes() == left
    box = w2.show_about()
    import h5py
    import pyqtgraph as pg
    import PySide6
    from PySide6.QtCore import qVersion

    from lstm_inspector import __version__

    for part in (f"LSTM Inspector {__version__}", f"NumPy {np.__version__}", f"pyqtgraph {pg.__version__}",
                 f"PySide6 {PySide6.__version__}", f"Qt {qVersion()}", f"h5py {h5py.__version__}"):
        assert part in box.text(), part
    box.accept()


def test_window_has_the_application_icon(window):
    assert not window.windowIcon().isNull()
    assert window.windowIcon().availableSizes()


def test_screenshot_cli(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    model, data = fixture_paths("toy_tanh_sigmoid")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), model, "--input", data, "--step", "2",
                        "--screenshot", str(out)], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 10_000
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), str(bad), "--screenshot", str(out)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and f"error: {bad}: is empty" in r.stderr


def test_item_models_do_not_leak_references_to_none(window):
    # PySide6 6.12.0 drops a reference to None whenever Qt gets None back from data(); the window then dies
    # ("none_dealloc") after enough repaints. pyproject pins a version without that bug; this guards the pin.
    window.load_now(*DEMO_PATHS)
    window.tabs.setCurrentWidget(window.weights)
    window.weights.select("U", "i")
    view = window.weights.table
    before = sys.getrefcount(None)
    for _ in range(30):
        view.viewport().repaint()
        window.input_panel.table.viewport().repaint()
    assert sys.getrefcount(None) >= before - 50


def test_masked_steps_marked(window):
    model, data = fixture_paths("br_masking", "k3keras")
    window.load_now(model, data)
    s = window.session
    x = s.sample_inputs[0][0]
    s.to_end()
    zero_rows = np.flatnonzero(np.all(x == 0, axis=-1))  # Masking(mask_value=0) skips all-zero timesteps
    assert zero_rows.size > 0
    xs, _ = window.plots.mask_marks.getData()
    np.testing.assert_array_equal(np.sort(xs).astype(int), zero_rows)
    m = window.input_panel.model
    assert m.data(m.index(int(zero_rows[0]), 0), Qt.ToolTipRole).startswith("masked step")
    kept = [r for r in range(x.shape[0]) if r not in set(zero_rows)][0]
    assert m.data(m.index(kept, 0), Qt.ToolTipRole) is None


def test_layer_details_and_selection(window):
    model, data = fixture_paths("func_state")
    window.load_now(model, data)
    tree = window.model_panel.tree
    items = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(tree.topLevelItemCount())}
    assert set(items) >= {"seq_in", "lstm_1", "lstm_2", "dense"}
    assert "W: i f c o, each (3, 6)" in window.model_panel.details.text()  # first LSTM selected on open
    items["lstm_2"].setSelected(True)
    tree.setCurrentItem(items["lstm_2"])
    assert window.session.layer.name == "lstm_2"
    assert "return_state: yes" in window.model_panel.details.text()
    assert window.weights.model.array().shape == (6, 5)  # W_i of lstm_2
    items["dense"].setSelected(True)
    tree.setCurrentItem(items["dense"])
    assert "activation: softmax" in window.model_panel.details.text()
    assert window.session.layer.name == "lstm_2"  # plots stay on the last recurrent layer chosen


def test_drag_and_drop_model_then_input(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    def drop(path):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        ev = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        window.dropEvent(ev)
        wait_loaded(qtbot, window)

    model, data = fixture_paths("backwards", "k2h5")
    drop(model)
    assert window.session.model.path == model
    x = np.load(data)["x_0"]
    np.save(tmp_path / "x.npy", x[1:3])
    drop(tmp_path / "x.npy")  # an array dropped on an open model becomes its input
    assert window.session.batch == 2
    np.testing.assert_array_equal(window.session.sample_inputs[0], x[1:2])
    # go_backwards: the first step reads the last input row
    window.session.seek(1)
    assert window.input_panel.model.current_step == x.shape[1] - 1


def test_all_gates_side_by_side(window):
    model, data = fixture_paths("toy_tanh_sigmoid", "k2h5")
    window.load_now(model, data)
    lstm = window.session.layer
    window.weights.select("W", "all")
    m = window.weights.model
    np.testing.assert_array_equal(m.array(), lstm.kernel)  # Keras' own column order i | f | c | o
    assert m.headerData(8, Qt.Horizontal) == "f·u0" and m.headerData(31, Qt.Horizontal) == "o·u7"
    window.weights.table.clicked.emit(m.index(0, 8 + 5))  # f·u5 is unit 5
    assert window.session.unit == 5
    bold = [c for c in range(32) if m.headerData(c, Qt.Horizontal, Qt.FontRole) is not None]
    assert bold == [5, 13, 21, 29]
    # the heatmap names the gate blocks along its top axis and separates them
    top = window.weights.plot.getAxis("top")
    assert top.isVisible() and [name for _, name in top._tickLevels[0]] == ["W_i", "W_f", "W_c", "W_o"]
    assert [ln.value() for ln in window.weights.gate_separators if ln.isVisible()] == [7.5, 15.5, 23.5]
    assert [ln.value() for ln in window.weights.unit_lines if ln.isVisible()] == [5, 13, 21, 29]
    window.weights.select("W", "f")
    assert not top.isVisible() and not any(ln.isVisible() for ln in window.weights.gate_separators)


@pytest.mark.parametrize("name", ["br_gru_after", "br_simplernn", "br_bidi_concat", "br_bidi_none", "br_enc_dec",
                                  "br_autoencoder", "br_multi_io", "br_embedding", "br_conv1d_causal"])
def test_breadth_models_step_in_the_window(window, name):
    model, data = fixture_paths(name)
    window.load_now(model, data)
    s = window.session
    assert s.problem is None and s.stepper is not None
    assert window.weights.model.rowCount() > 0  # the first recurrent layer's W block is shown
    ref = np.load(data)
    assert window.session.keras_difference() <= TOL
    for node_id in s.recurrent_nodes():
        s.set_node(node_id)
        s.to_end()
        layer = s.layer
        rec = s.records()
        h_name = layer.state_record_names[0]
        steps = s.layer_steps_done()
        if window.plots.heatmap:
            np.testing.assert_array_equal(window.plots.h_img.image[:, :steps], rec[h_name][:steps].T)
        else:
            for j, c in enumerate(window.plots.h_curves):
                np.testing.assert_array_equal(curve_y(c), rec[h_name][:steps, j])
        for g, c in window.plots.gate_curves.items():
            np.testing.assert_array_equal(curve_y(c), rec[g][steps - 1])
    # the last readout is the prediction, where a readout is defined at every step
    series = s.readout_series(0)
    if series is not None and np.all(np.isfinite(series[-1])):
        y = ref["y_0"][s.sample]
        last = y[-1] if series.shape[1] != y.size else y  # a sequence output is read out one step at a time
        np.testing.assert_allclose(series[-1], last.reshape(-1), atol=TOL)
