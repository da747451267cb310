"""The Explain dock: clicks on the replay plots take a value apart; the panel's numbers are read back and checked
against the replay's own records; it follows the stepper; the Weights view shades the gate's rows; File ▸ Export ▸
As NumPy code writes a script that reproduces the model."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.helpers import DEMO, click_view, fixture_paths, open_at, records, wait_loaded


def bar_x(window, unit, gate_index):
    n = len(window.plots.gate_curves)
    return unit + (gate_index - (n - 1) / 2) * (0.8 / n)


def test_click_a_gate_bar_and_read_the_numbers_back(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("toy_tanh_sigmoid"), steps=3)
    assert not window.explain_tools.dock.isVisible()
    rec = records(window)
    f_val = float(rec["f"][0, 2, 1])
    click_view(qtbot, window, window.plots.p_g, bar_x(window, 1, 1), f_val / 2)  # the f bar of unit 1
    assert window.explain_tools.dock.isVisible()
    ex = panel.explanation
    assert (ex.gate, ex.unit, ex.step) == ("f", 1, 2)
    assert ex.value == f_val and window.session.unit == 1
    assert panel.gate_box.currentText() == "f" and panel.unit_box.value() == 1
    eq = panel.equation.text()
    assert eq.startswith("f_t[1] = sigmoid(") and eq.endswith(f"= {f_val:.4g}")
    # the bars: top terms plus the rest, which with the bias give the pre-activation
    assert ex.bias + float(panel.bar_values.sum()) == pytest.approx(ex.pre, abs=1e-9)
    assert float(rec["pre"][0, 2, 8 + 1]) == pytest.approx(ex.pre, abs=1e-6)  # Keras' column order i f c o
    x, y = panel.act_point.getData()
    assert (x[0], y[0]) == pytest.approx((ex.pre, f_val), abs=1e-7)
    zc, yc = panel.act_curve.getData()
    assert zc.min() < ex.pre < zc.max() and 0 <= yc.min() and yc.max() <= 1
    # the Weights view: gate f's W rows shaded by the x terms, column 1 highlighted
    w = window.weights
    assert w.gate == "f"
    np.testing.assert_allclose(w.model.row_shading(), ex.x_terms)
    assert w.model.headerData(0, Qt.Vertical, Qt.UserRole) == pytest.approx(float(ex.x_terms[0]))
    assert w.model.headerData(1, Qt.Horizontal, Qt.FontRole).bold()
    w.matrix_group.button(1).click()  # U: rows are the recurrent terms
    np.testing.assert_allclose(w.model.row_shading(), ex.h_terms)


def test_panel_follows_the_stepper(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("toy_tanh_sigmoid"), steps=2)
    panel.show_value(gate="o", unit=3)
    assert panel.explanation.step == 1
    window.session.step()
    rec = records(window)
    ex = panel.explanation
    assert (ex.gate, ex.unit, ex.step) == ("o", 3, 2) and ex.value == float(rec["o"][0, 2, 3])
    window.session.back()
    window.session.back()
    assert panel.explanation.step == 0
    window.session.reset()
    assert panel.explanation is None and "step the replay" in panel.title.text()


def test_gru_candidate_and_states(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("br_gru_after"), steps=4)
    rec = records(window)
    names = list(window.plots.gate_curves)
    k = names.index("h~")
    val = float(rec["h~"][0, 3, 2])
    click_view(qtbot, window, window.plots.p_g, bar_x(window, 2, k), val / 2 if abs(val) > 0.05 else 0.02)
    ex = panel.explanation
    assert (ex.kind, ex.gate, ex.unit) == ("GRU", "hh", 2) and ex.value == val
    assert "r⊙bU" in dict(ex.other)  # reset_after: r multiplies the recurrent bias too
    assert window.weights.gate == "h"  # the weights view names GRU's candidate block "h"
    panel.show_value(gate="h")
    eh = panel.explanation
    assert eh.value == float(rec["h"][0, 3, 2]) and [n for n, _ in eh.other][0].startswith("kept")
    assert window.weights.model.row_shading() is None  # a state has no weight rows
    assert panel.act_curve.getData()[0] is None or len(panel.act_curve.getData()[0]) == 0


def test_heatmap_cell_click_explains_that_step(window, qtbot):
    panel = open_at(window, qtbot, str(DEMO / "sine_lstm.keras"), str(DEMO / "sine_data.npz"), steps=5)
    assert window.plots.heatmap
    click_view(qtbot, window, window.plots.p_h, 2.0, 7.5)  # column t = 2, row of unit 7
    ex = panel.explanation
    assert (ex.gate, ex.unit, ex.step) == ("h", 7, 2)
    assert ex.value == float(records(window)["h"][0, 2, 7]) and ex.factor == float(records(window)["o"][0, 2, 7])
    panel.show_value(gate="y")  # the Dense that reads h: one term per unit
    ey = panel.explanation
    assert len(ey.h_terms) == 100 and ey.step == 2


def test_bidirectional_direction(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("br_bidi_concat"), steps=2)
    window.plots.direction_box.setCurrentText("backward")
    panel.show_value(gate="i", unit=0)
    ex = panel.explanation
    assert ex.layer.endswith("/backward")
    assert ex.value == float(records(window)["backward/i"][0, 1, 0])


def test_export_as_numpy_code(window, qtbot, tmp_path):
    model, data = fixture_paths("br_gru_after")
    window.load_now(model, data)
    wait_loaded(qtbot, window)
    window.explain_tools.export_code(str(tmp_path))
    qtbot.waitUntil(lambda: (tmp_path / "br_gru_after.py").exists() and (tmp_path / "br_gru_after.npz").exists(),
                    timeout=20000)
    spec = importlib.util.spec_from_file_location("exported_gui", tmp_path / "br_gru_after.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    d = np.load(data)
    assert float(np.max(np.abs(mod.predict(d["x_0"]) - d["y_0"]))) <= 1e-5
    actions = [a.text() for a in window.explain_tools.export_action.parent().actions()]
    assert "As NumPy code…" in actions


def test_units_by_time_heatmaps_order_and_health(window, qtbot):
    model, data = fixture_paths("br_gru_after")
    window.load_now(model, data)
    wait_loaded(qtbot, window)
    tools = window.explain_tools
    qtbot.waitUntil(lambda: tools.stats is not None and not tools._stats_running, timeout=20000)
    health = window.model_panel.health.text()
    assert "gate health" in health and "z mean" in health and "dead units" in health
    assert window.model_panel.health.isVisible()
    window.session.seek(4)
    hm = tools.heatmaps
    assert hm.names == ["z", "r", "h~", "h"]
    rec = records(window)
    np.testing.assert_array_equal(hm.images["z"].image[:, :4], rec["z"][0, :4].T)
    np.testing.assert_array_equal(hm.images["h"].image[:, 4:], 0)
    st = tools.stats["gru_1"]
    hm.order_box.setCurrentIndex(2)  # final |h| over the whole data
    order = st.order("final")
    np.testing.assert_array_equal(hm.shown_units(), order)
    np.testing.assert_array_equal(hm.images["r"].image[:, :4], rec["r"][0, :4][:, order].T)
    hm.top_box.setValue(2)
    assert hm.images["h~"].image.shape[0] == 2
    np.testing.assert_array_equal(hm.images["h~"].image[:, :4], rec["h~"][0, :4][:, order[:2]].T)
    window.session.set_unit(int(order[1]))
    assert hm.marks["z"].isVisible() and hm.marks["z"].value() == 1.5
    window.session.set_unit(int(order[-1]))  # filtered out: no mark
    assert not hm.marks["z"].isVisible()


def test_statistics_progress_and_cancel(window, qtbot, monkeypatch):
    import engine.streaming as streaming

    import time

    monkeypatch.setattr(streaming, "CHUNK_BYTES", 1)  # one sample per chunk: many progress reports
    monkeypatch.setattr(streaming, "RUN_BYTES", 1)
    run_chunk = streaming._stats_chunk

    def slow(*a, **k):  # slow enough to be cancelled half way (200 chunks × 20 ms)
        time.sleep(0.02)
        return run_chunk(*a, **k)

    monkeypatch.setattr(streaming, "_stats_chunk", slow)
    window.load_now(str(DEMO / "sine_lstm.keras"), str(DEMO / "sine_data.npz"))
    tools = window.explain_tools
    qtbot.waitUntil(lambda: tools.stats_progress.value() > 0 or not tools._stats_running, timeout=20000)
    assert tools._stats_running, "finished before it could be cancelled"
    assert tools.stats_progress.isVisible() and tools.stats_cancel.isVisible()
    tools.stats_cancel.click()
    qtbot.waitUntil(lambda: not tools._stats_running, timeout=20000)
    assert tools.stats is None and not tools.stats_progress.isVisible()
    assert window.model_panel.health.text() == ""
