"""The Explain dock on a ConvLSTM: a real click on a cell of a gate or state map (Maps tab) takes that value apart at
that position, for the filter shown; the panel's numbers are read back against the replay's own records (which match
Keras); it follows the stepper; the maps outline the cell explained; the Weights view shades the (tap, channel) rows."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from tests.gui.helpers import fixture_paths, open_at, records


def click_map(qtbot, window, name, x, y):
    """A real mouse click on map ``name`` of the Maps tab at view coordinates (x, y): column x, row y."""
    maps = window.conv_maps
    p = maps.plots[name]
    pos = maps.glw.mapFromScene(p.vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(maps.glw.viewport(), Qt.LeftButton, pos=pos)


def at_map(layer, a, at, j):
    return float(a[(j,) + tuple(at)] if layer.channels_first else a[tuple(at) + (j,)])


def select(window, qualname):
    s = window.session
    s.set_node(next(n.id for n in s.model.graph.nodes if n.qualname == qualname))


@pytest.mark.parametrize("name, layer, cell, gate", [("cv_convlstm2d", "clstm_1", (0, 5), "f"),
                                                     ("cv_convlstm2d_cf", "clstm_cf", (5, 0), "c~"),
                                                     ("cv_convlstm2d", "clstm_1", (3, 2), "C")])
def test_click_a_map_cell_and_read_the_numbers_back(window, qtbot, name, layer, cell, gate):
    panel = open_at(window, qtbot, *fixture_paths(name), steps=0)
    select(window, layer)
    window.session.seek(2)
    L = window.session.layer
    maps = window.conv_maps
    assert window.tabs.currentWidget() is maps
    maps.channel_box.setValue(1)
    steps = window.session.layer_steps_done()
    assert steps >= 1
    assert not window.explain_tools.dock.isVisible()
    click_map(qtbot, window, gate, cell[1], cell[0])  # column x, row y
    assert window.explain_tools.dock.isVisible()
    ex = panel.explanation
    target = {"c~": "c"}.get(gate, gate)
    assert (ex.kind, ex.gate, ex.unit, ex.at, ex.step) == ("ConvLSTM", target, 1, cell, steps - 1)
    rec = records(window)
    value = at_map(L, rec[gate][0, steps - 1], cell, 1)
    assert ex.value == value  # the value under the click: the shown map's own pixel
    assert maps.images[gate].image[cell] == value
    eq = panel.equation.text()
    assert eq.startswith(f"{ex.symbol}_t[({cell[0]},{cell[1]}), 1] = ") and eq.endswith(f"= {value:.4g}")
    assert f"channel 1 at ({cell[0]},{cell[1]})" in panel.title.text()
    assert [b.value() for b in panel.at_boxes[:2]] == list(cell) and panel.unit_box.value() == 1
    # the bars: top terms and the rest, with the bias, give pre; pre is the replay's
    assert ex.bias + float(panel.bar_values.sum()) == pytest.approx(ex.pre, abs=1e-9)
    if gate == "C":
        assert panel.bar_names == ["written i⊙c̃", "kept f⊙C_(t-1)"] or set(panel.bar_names) == {
            "written i⊙c̃", "kept f⊙C_(t-1)"}
        assert ex.pre == pytest.approx(value, abs=1e-6)
    else:
        F = L.filters
        pre = at_map(L, rec["pre"][0, steps - 1], cell, "ifco".index(target) * F + 1)
        assert pre == pytest.approx(ex.pre, abs=1e-6)
        x, y = panel.act_point.getData()
        assert (x[0], y[0]) == pytest.approx((ex.pre, value), abs=1e-6)
        # the Weights view: that gate, channel 1, rows (tap, channel) shaded by weight × value at this step
        w = window.weights
        assert w.gate == target
        shade = w.model.row_shading()
        assert shade is not None and len(shade) == w.model.rowCount()
        kernel = L.gate("W", target)[..., 1]  # (*taps, in channels)
        assert shade.reshape(kernel.shape).sum(axis=(0, 1)) == pytest.approx(ex.x_terms, abs=1e-12)
    # the maps outline the explained cell
    mx, my = maps.marks[gate].getData()
    assert (mx[0], my[0]) == (cell[1], cell[0])


def test_follows_the_stepper_and_the_filter(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("cv_convlstm2d"), steps=0)
    select(window, "clstm_1")
    s = window.session
    s.seek(1)
    maps = window.conv_maps
    maps.channel_box.setValue(2)
    click_map(qtbot, window, "o", 4, 1)
    assert (panel.explanation.gate, panel.explanation.at, panel.explanation.unit) == ("o", (1, 4), 2)
    assert window.statusBar().currentMessage() == "channel 2 highlighted"  # a ConvLSTM's units are its filters
    L = s.layer
    for t in (2, 3):
        s.step()
        ex = panel.explanation
        assert ex.step == s.layer_steps_done() - 1 and ex.at == (1, 4)
        assert ex.value == at_map(L, records(window)["o"][0, ex.step], (1, 4), 2)
    maps.channel_box.setValue(0)  # another filter on the maps: the panel follows
    assert panel.explanation.unit == 0
    assert panel.explanation.value == at_map(L, records(window)["o"][0, panel.explanation.step], (1, 4), 0)
    panel.unit_box.setValue(1)  # and the other way
    assert maps.channel == 1
    panel.at_boxes[0].setValue(5)  # the position boxes
    assert panel.explanation.at == (5, 4)
    s.reset()
    assert panel.explanation is None and "step the replay" in panel.title.text()
    assert len(maps.marks["o"].getData()[0]) == 0


def test_convlstm1d_row_is_a_step_and_3d_uses_the_depth(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("cv_convlstm1d"), steps=0)
    select(window, "clstm1_a")
    window.session.seek(4)
    L = window.session.layer
    assert [b.isVisibleTo(panel) for b in panel.at_boxes] == [True, False, False]
    click_map(qtbot, window, "h", 7, 1)  # position 7, the row of step 1
    ex = panel.explanation
    assert (ex.gate, ex.at, ex.step) == ("h", (7,), 1)
    assert ex.value == at_map(L, records(window)["h"][0, 1], (7,), 0)
    assert ex.factor == at_map(L, records(window)["o"][0, 1], (7,), 0)

    panel = open_at(window, qtbot, *fixture_paths("cv_convlstm3d"), steps=0)
    select(window, "clstm3")
    window.session.seek(2)
    L = window.session.layer
    maps = window.conv_maps
    maps.depth_box.setValue(3)
    click_map(qtbot, window, "i", 0, 4)
    ex = panel.explanation
    assert (ex.gate, ex.at) == ("i", (3, 4, 0))
    assert ex.value == at_map(L, records(window)["i"][0, ex.step], (3, 4, 0), 0)
    assert ex.bias + float(panel.bar_values.sum()) == pytest.approx(ex.pre, abs=1e-9)
    assert len(maps.marks["i"].getData()[0]) == 1
    maps.depth_box.setValue(0)  # another slice: the explained cell is not on it
    assert len(maps.marks["i"].getData()[0]) == 0


def test_an_lstm_after_a_convlstm_hides_the_position(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("cv_convlstm2d"), steps=1)
    select(window, "clstm_1")
    assert panel.at_label.isVisibleTo(panel) and panel.unit_box.prefix() == "channel "
    open_at(window, qtbot, *fixture_paths("cv_lrcn"), steps=2)
    assert not panel.at_label.isVisibleTo(panel) and panel.unit_box.prefix() == "unit "
    assert panel.explanation is not None and panel.explanation.at is None


def test_many_channels_top_n_and_rest(window, qtbot):
    """8 input channels and 12 filters: 20 terms per gate value; the chart shows the top N and one "rest" bar,
    and every term still adds up to pre."""
    panel = open_at(window, qtbot, *fixture_paths("xc_convlstm2d_wide"), steps=2)
    maps = window.conv_maps
    maps.channel_box.setValue(5)
    click_map(qtbot, window, "f", 3, 0)
    ex = panel.explanation
    assert (ex.gate, ex.unit, ex.at) == ("f", 5, (0, 3)) and len(ex.terms()) == 20
    assert len(panel.bar_names) == panel.top_n + 1 and panel.bar_names[-1] == f"rest ({20 - panel.top_n})"
    shown = [n for n in panel.bar_names[:-1]]
    assert sorted(abs(dict(ex.terms())[n]) for n in shown)[0] >= max(
        abs(v) for n, v in ex.terms() if n not in shown)  # the top N by magnitude
    assert ex.bias + float(panel.bar_values.sum()) == pytest.approx(ex.pre, abs=1e-9)
    assert "per channel" in panel.bar_plot.getPlotItem().titleLabel.text
    panel.top_box.setValue(20)
    assert len(panel.bar_names) == 20 and "rest" not in panel.bar_names[-1]


def test_grid_left_open_by_the_model_comes_from_the_run(window, qtbot, monkeypatch):
    """A ConvLSTM whose spatial size the model leaves open (None): the position boxes get the run's grid."""
    panel = open_at(window, qtbot, *fixture_paths("cv_convlstm2d"), steps=0)
    select(window, "clstm_1")
    monkeypatch.setattr(window.session.layer, "input_spatial", None)
    panel._on_layer_changed()
    assert panel.at is None and not panel.at_label.isVisibleTo(panel)
    window.session.seek(2)
    ex = panel.explanation
    assert ex is not None and ex.at == (3, 3)  # the middle of the 6×6 grid
    assert [b.maximum() for b in panel.at_boxes[:2]] == [5, 5] and panel.at_label.isVisibleTo(panel)
