"""The unit order chosen in the Units × time tab lives in the session and applies to every view: the Replay tab's
C/h heatmaps and gate plot, the Weights view's table (headers and cells) and heatmap. Labels keep the real unit
index, clicks select the real unit, and the highlight follows it. Everything is read back from the items and models
and checked against the engine's arrays permuted by the order."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.helpers import DEMO, click_view, fixture_paths, open_at, records, wait_loaded



def _ordered(window, qtbot, box_index=1, top=10):
    tools = window.explain_tools
    qtbot.waitUntil(lambda: tools.stats is not None and not tools._stats_running, timeout=30000)
    hm = tools.heatmaps
    hm.order_box.setCurrentIndex(box_index)
    hm.top_box.setValue(top)
    qtbot.wait(10)
    return hm


def test_order_applies_to_replay_heatmaps_gate_plot_and_weights(window, qtbot):
    open_at(window, qtbot, str(DEMO / "sine_lstm.keras"), str(DEMO / "sine_data.npz"), steps=3)
    plots = window.plots
    assert plots.heatmap  # 100 units: heatmaps
    hm = _ordered(window, qtbot, 1, 10)  # by variance over time, top 10
    s = window.session
    st = window.explain_tools.stats["lstm"]
    order = st.order("variance")[:10]
    np.testing.assert_array_equal(s.unit_order, order)  # one source of truth: the session
    np.testing.assert_array_equal(hm.shown_units(), order)
    rec = records(window)
    # the Replay tab's C and h heatmaps: row r is unit order[r]
    assert plots.h_img.image.shape[0] == 10 and plots.c_img.image.shape[0] == 10
    np.testing.assert_array_equal(plots.h_img.image[:, :3], rec["h"][0, :3][:, order].T)
    np.testing.assert_array_equal(plots.c_img.image[:, :3], rec["C"][0, :3][:, order].T)
    np.testing.assert_array_equal(plots.h_img.image[:, 3:], 0)  # steps not done yet
    # the gate plot across units: position r is unit order[r]
    x, y = plots.gate_curves["i"].getData()
    np.testing.assert_array_equal(x, np.arange(10))
    np.testing.assert_array_equal(y, rec["i"][0, 2][order])
    # labels keep the real unit index
    ticks = plots.p_h.getAxis("left")._tickLevels[0]
    assert (0.5, f"u{order[0]}") in ticks
    # the Weights view: columns in the same order, named by the real unit
    w = window.weights
    W_i = next(x.array for x in w.slices if x.matrix == "W" and x.gate == "i")
    assert w.model.columnCount() == 10
    for c in range(10):
        assert w.model.headerData(c, Qt.Horizontal) == f"u{order[c]}"
        assert w.model.data(w.model.index(0, c), Qt.UserRole) == float(W_i[0, order[c]])
    np.testing.assert_array_equal(w.image.image, W_i[:, order])
    w.select("U", "all")  # every gate block in the order
    U = np.concatenate([x.array for x in w.slices if x.matrix == "U"], axis=-1)
    assert w.model.columnCount() == 40
    assert w.model.headerData(13, Qt.Horizontal) == f"f·u{order[3]}"
    # U's rows are the units of h(t-1): they follow the order and its top-N filter too
    assert w.model.rowCount() == 10
    assert w.model.headerData(5, Qt.Vertical) == f"h{order[5]}"
    assert w.model.data(w.model.index(5, 13), Qt.UserRole) == float(U[order[5], 100 + order[3]])
    np.testing.assert_array_equal(w.image.image, U[order][:, np.concatenate([order + k * 100 for k in range(4)])])
    # the heatmap's axes name the real units too
    assert (0, f"u{order[0]}") in w.plot.getAxis("bottom")._tickLevels[0]
    assert (0, f"h{order[0]}") in w.plot.getAxis("left")._tickLevels[0]
    rows, cols = w.names(keras_order=True)  # what the CSV export writes: the block as Keras stores it
    assert rows == [f"h{j}" for j in range(100)] and cols[:2] == ["i·u0", "i·u1"]
    # W's rows are input features: never reordered
    w.select("W", "all")
    assert w.model.rowCount() == 1 and w.model.headerData(0, Qt.Vertical) == "x0"
    w.select("U", "all")
    # the highlight follows the real unit: in the heatmaps, the gate plot and every gate block
    s.set_unit(int(order[3]))
    assert all(m.value() == 3.5 and m.isVisible() for m in plots.unit_marks if m.isVisible()) and \
        any(m.isVisible() for m in plots.unit_marks)
    assert plots.gate_unit_band.getRegion() == (2.5, 3.5)
    for c in (3, 13, 23, 33):
        assert w.model.headerData(c, Qt.Horizontal, Qt.FontRole).bold()
    assert not w.model.headerData(int(order[3]), Qt.Horizontal, Qt.FontRole)
    # a click on the weights' column selects its real unit
    s.set_unit(-1)
    w.table.horizontalHeader().sectionClicked.emit(22)  # gate c, shown position 2
    assert s.unit == int(order[2])


def test_click_in_ordered_heatmap_explains_the_real_unit(window, qtbot):
    panel = open_at(window, qtbot, str(DEMO / "sine_lstm.keras"), str(DEMO / "sine_data.npz"), steps=5)
    _ordered(window, qtbot, 2, 0)  # final |h|, every unit
    order = window.session.unit_order
    assert order is not None and len(order) == 100
    click_view(qtbot, window, window.plots.p_h, 2.0, 7.5)  # column t = 2, row 7
    ex = panel.explanation
    assert (ex.gate, ex.unit, ex.step) == ("h", int(order[7]), 2)
    assert window.session.unit == int(order[7])
    assert ex.value == float(records(window)["h"][0, 2, order[7]])
    # the weights highlight the real unit's column, wherever the order put it
    assert window.weights.model.headerData(7, Qt.Horizontal) == f"u{order[7]}"
    # a gate explained: U's rows, in the order, shaded by the recurrent terms of the units they show
    panel.gate_box.setCurrentText("f")
    ex = panel.explanation
    assert (ex.gate, ex.unit) == ("f", int(order[7]))
    w = window.weights
    w.matrix_group.button(1).click()  # U
    assert w.gate == "f" and w.model.headerData(0, Qt.Vertical) == f"h{order[0]}"
    np.testing.assert_allclose(w.model.row_shading(), np.asarray(ex.h_terms)[order])
    assert w.model.headerData(4, Qt.Vertical, Qt.UserRole) == pytest.approx(float(ex.h_terms[order[4]]))


def test_bars_follow_the_order_and_keras_order_shows_every_unit_again(window, qtbot):
    window.load_now(*fixture_paths("br_gru_after"))
    wait_loaded(qtbot, window)
    window.session.seek(4)
    plots = window.plots
    assert not plots.heatmap
    _ordered(window, qtbot, 2, 2)  # final |h|, top 2
    order = window.session.unit_order
    assert len(order) == 2
    rec = records(window)
    bars = plots.gate_curves["z"]
    np.testing.assert_array_equal(bars.opts["height"], rec["z"][0, 3][order])
    assert len(bars.opts["x"]) == 2
    # the h lines of units filtered out are hidden
    assert [c.isVisible() for c in plots.h_curves] == [j in set(order.tolist()) for j in range(plots.units)]
    # a bar click selects the real unit
    click_view(qtbot, window, plots.p_g, 1.0 - 0.8 / 3 + 0.01, float(rec["z"][0, 3, order[1]]) / 2)
    assert window.session.unit == int(order[1])
    window.session.set_unit_order(None)
    assert window.session.unit_order is None
    assert len(plots.gate_curves["z"].opts["height"]) == plots.units


def test_csv_export_keeps_keras_order_whatever_the_order_shown(window, qtbot, tmp_path):
    open_at(window, qtbot, str(DEMO / "sine_lstm.keras"), str(DEMO / "sine_data.npz"), steps=3)
    _ordered(window, qtbot, 1, 0)  # by variance, every unit: the table's columns are permuted
    w = window.weights
    order = window.session.unit_order
    assert order is not None and not np.array_equal(order, np.arange(100))
    assert w.model.headerData(0, Qt.Horizontal) == f"u{order[0]}"
    W_i = next(x.array for x in w.slices if x.matrix == "W" and x.gate == "i")
    out = tmp_path / "w.csv"
    window.export_matrix(str(out))
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert header[1:] == [f"u{j}" for j in range(100)]  # names and values both in Keras' order
    first = lines[1].split(",")
    np.testing.assert_allclose(np.array(first[1:], np.float64), W_i[0], rtol=1e-6)
