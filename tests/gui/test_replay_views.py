"""The replay plots beyond the curves themselves: colour bars of the heatmaps, gate bars, the highlighted unit,
the legend, the input table following the step, and background opens that arrive out of order."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

import pyqtgraph as pg  # noqa: E402  (after PySide6)
from tests.gui.helpers import DEMO, DEMO_PATHS, TOL, fixture_paths


def test_heatmap_colour_bars_cover_the_states_and_never_shrink_while_stepping(window):
    model, data = fixture_paths("sine", "k2h5")
    window.load_now(model, data)
    ref = np.load(data)
    plots, s = window.plots, window.session
    assert plots.heatmap and plots.c_bar is not None and plots.h_bar is not None
    s.seek(5)
    for bar, img, key in ((plots.c_bar, plots.c_img, "cseq__lstm"), (plots.h_bar, plots.h_img, "hseq__lstm")):
        lo, hi = bar.levels()
        peak = float(np.max(np.abs(ref[key][0, :5])))  # Keras' own states of sample 0
        # symmetric, covers every value, at most one rung of the ladder (≤ 4/3) above
        assert lo == -hi and peak <= hi <= 1.34 * peak
        assert tuple(img.getLevels()) == pytest.approx((lo, hi))
    levels = plots.c_bar.levels()
    s.seek(1)
    assert plots.c_bar.levels() == levels  # stepping back keeps the colours' meaning
    # step t is drawn centred on x = t, units on rows
    rect = plots.c_img.mapRectToParent(plots.c_img.boundingRect())
    assert (rect.left(), rect.right(), rect.top(), rect.bottom()) == pytest.approx((-0.5, 4.5, 0, 100))
    window.input_panel.sample.setValue(3)  # another sample gets its own scale
    s.seek(5)
    peak = float(np.max(np.abs(ref["cseq__lstm"][3, :5])))
    assert peak <= plots.c_bar.levels()[1] <= 1.34 * peak


def test_gate_bars_per_unit_agree_with_keras_output_gate(window):
    model, data = fixture_paths("toy_tanh_sigmoid")
    window.load_now(model, data)
    ref = np.load(data)
    s = window.session
    bars = window.plots.gate_curves
    assert set(bars) == {"i", "f", "c~", "o"} and all(isinstance(b, pg.BarGraphItem) for b in bars.values())
    for n in (1, 2, 3):
        s.seek(n)
        rec = s.records()
        for k, g in enumerate(("i", "f", "c~", "o")):
            x, height = bars[g].getData()
            np.testing.assert_array_equal(height, rec[g][n - 1])
            np.testing.assert_array_less(np.abs(x - np.arange(8)), 0.5)  # each bar sits in its unit's slot
        # Keras' h = o · tanh(C): the bars of o are Keras' output gate
        h, c = ref["hseq__lstm"][0, n - 1], ref["cseq__lstm"][0, n - 1]
        np.testing.assert_allclose(bars["o"].getData()[1], h / np.tanh(c), atol=1e-4)
    s.seek(0)
    assert not np.any(bars["i"].getData()[1])  # nothing before the first step


def test_highlighted_unit_is_marked_in_the_gate_plot_and_named_on_the_curves(window):
    model, data = fixture_paths("toy_tanh_sigmoid")
    window.load_now(model, data)
    plots = window.plots
    window.session.seek(2)
    plots.unit_clicked.emit(6)
    assert plots.gate_unit_band.isVisible() and plots.gate_unit_band.getRegion() == pytest.approx((5.5, 6.5))
    rec = window.session.records()
    for label, key in zip(plots.unit_labels, ("C", "h")):
        assert label.isVisible() and label.textItem.toPlainText() == "u6"
        assert label.pos().y() == pytest.approx(float(rec[key][1, 6]))  # beside the unit's latest value
    window.session.seek(3)
    assert plots.unit_labels[1].pos().y() == pytest.approx(float(rec["h"][2, 6]))
    plots.unit_clicked.emit(6)  # again: cleared everywhere
    assert not plots.gate_unit_band.isVisible() and not any(lb.isVisible() for lb in plots.unit_labels)


def test_heatmap_click_selects_the_unit_row(window):
    model, data = fixture_paths("sine", "k2h5")
    window.load_now(model, data)
    window.session.seek(3)

    class Click:
        accepted = False

        def pos(self):
            return QPointF(1.2, 42.7)  # image pixel (column 1, row 42)

        def accept(self):
            self.accepted = True

    ev = Click()
    window.plots.c_img.mouseClickEvent(ev)
    assert ev.accepted and window.session.unit == 42
    assert window.plots.unit_marks[0].isVisible() and window.plots.unit_marks[0].value() == pytest.approx(42.5)
    assert window.weights.model.headerData(42, Qt.Horizontal, Qt.FontRole).bold()


def test_readout_legend_names_the_target(window, qtbot):
    window.load_now(*DEMO_PATHS)
    window.session.seek(3)
    legend = window.plots.p_r.legend
    assert [label.text for _, label in legend.items] == ["prediction", "target"]
    target = np.load(DEMO / "sine_data.npz")["y_test"][0, 0]
    assert window.plots.target_lines[0].value() == pytest.approx(float(target))
    window.open_input(None)  # random inputs carry no target: the entry goes
    qtbot.waitUntil(lambda: not window.loading, timeout=10000)
    assert window.session.data.targets is None
    assert [label.text for _, label in legend.items] == []  # back at step 0: nothing drawn, nothing listed
    window.session.seek(3)
    assert [label.text for _, label in legend.items] == ["prediction"]
    assert not window.plots.target_lines[0].isVisible()


def test_input_table_keeps_the_current_step_in_view(window):
    model, data = fixture_paths("big_lstm256")
    window.load_now(model, data)
    table = window.input_panel.table
    s = window.session
    scrolls = 0
    last = table.verticalScrollBar().value()
    for n in range(1, s.total_steps + 1):
        s.seek(n)
        rect = table.visualRect(window.input_panel.model.index(n - 1, 0))
        assert 0 <= rect.top() and rect.bottom() <= table.viewport().height()
        value = table.verticalScrollBar().value()
        scrolls += value != last
        last = value
    assert 0 < scrolls < s.total_steps // 3  # it jumps now and then, not on every step
    assert window.input_panel.model.current_step == s.total_steps - 1


def test_an_older_slower_open_does_not_replace_a_newer_one(window, qtbot, monkeypatch):
    import gui.main_window as mw

    slow, _ = fixture_paths("stack_seq")
    fast, _ = fixture_paths("toy_tanh_sigmoid")
    release = threading.Event()
    real_open = mw.open_model

    def open_model(path, input_path=None, *args, **kwargs):
        if path == slow:
            release.wait(10)
        return real_open(path, input_path, *args, **kwargs)

    monkeypatch.setattr(mw, "open_model", open_model)
    window.open_model(slow)
    window.open_model(fast)
    qtbot.waitUntil(lambda: window.session.model is not None and window.session.model.path == fast, timeout=10000)
    release.set()
    window.pool.waitForDone(10000)
    qtbot.wait(50)  # let the slow one's signal arrive
    assert window.session.model.path == fast and not window.loading
    assert window.recent_files()[0].endswith("toy_tanh_sigmoid.keras")


def test_bidirectional_directions_follow_keras_output_sequence(window):
    # Keras' Bidirectional(LSTM(4), merge_mode="concat") output at input time t is [forward h_t, backward h at t]:
    # the backward direction's step k reads input time T-1-k.
    model, data = fixture_paths("br_bidi_concat")
    window.load_now(model, data)
    ref = np.load(data)["layer__bi_lstm"][0]  # (T, 8)
    s, plots = window.session, window.plots
    T = ref.shape[0]
    assert plots.direction_row.isVisible() and plots.direction_box.currentText() == "forward"
    assert [plots.direction_box.itemText(i) for i in range(plots.direction_box.count())] == ["forward", "backward"]
    s.to_end()
    steps = s.layer_steps_done()
    assert steps == T
    for j, curve in enumerate(plots.h_curves):
        np.testing.assert_allclose(curve.getData()[1], ref[:, j], atol=TOL)
    assert set(plots.gate_curves) == {"forward/i", "forward/f", "forward/c~", "forward/o"}
    assert "forward" in plots.p_c.titleLabel.text and "Cell state" in plots.p_c.titleLabel.text
    plots.unit_clicked.emit(2)
    plots.direction_box.setCurrentText("backward")
    assert window.direction == "backward"
    # the highlighted unit stays highlighted everywhere across the switch
    assert window.session.unit == 2 and plots.h_curves[2].opts["pen"].width() == 4
    assert window.weights.model.headerData(2, Qt.Horizontal, Qt.FontRole).bold()
    assert set(plots.gate_curves) == {"backward/i", "backward/f", "backward/c~", "backward/o"}
    for j, curve in enumerate(plots.h_curves):
        np.testing.assert_allclose(curve.getData()[1], ref[::-1, 4 + j], atol=TOL)
    rec = s.records()
    np.testing.assert_array_equal(plots.gate_curves["backward/f"].getData()[1], rec["backward/f"][T - 1])
    s.seek(2)  # the input row being read by the backward direction's second step is the one before last
    assert window.input_panel.model.current_step == T - 2
    plots.direction_box.setCurrentText("forward")
    assert window.input_panel.model.current_step == 1
    # the model's output needs the whole backward pass: no readout during the first stage, and the plot says so
    assert s.readout_series(0) is None or not np.isfinite(s.readout_series(0)).any()
    assert plots.readout_note.isVisible()
    s.to_end()
    assert np.isfinite(s.readout_series(0)[-1]).all() and not plots.readout_note.isVisible()
    np.testing.assert_allclose(plots.readout_curves[1].getData()[1][-1], np.load(data)["y_0"][0, 1], atol=TOL)


def test_bidirectional_gru_has_no_cell_state_plot(window):
    model, data = fixture_paths("br_bidi_sum")
    window.load_now(model, data)
    plots = window.plots
    assert window.session.layer.name == "bi_gru"
    assert plots.p_c.titleLabel.text.startswith("(no cell state") and not plots.c_curves
    assert "Hidden state h" in plots.p_h.titleLabel.text and "forward" in plots.p_h.titleLabel.text
    window.session.to_end()
    rec = window.session.records()
    plots.direction_box.setCurrentText("backward")
    np.testing.assert_array_equal(plots.h_curves[0].getData()[1], rec["backward/h"][:, 0])
    assert set(plots.gate_curves) == {"backward/z", "backward/r", "backward/h~"}


def test_direction_row_hidden_for_a_plain_layer(window):
    model, data = fixture_paths("toy_tanh_sigmoid")
    window.load_now(model, data)
    assert not window.plots.direction_row.isVisible() and window.direction is None
