"""Every plot whole at every size: at 1024×700 and 1280×800, each plot's view box lies inside the window once its
tile is scrolled into view (mapped geometry, not pixels), no legend overlaps the data, a plot can be enlarged and
brought back, and the Bidirectional "all gates" weights view keeps its names readable."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt

from tests.gui.helpers import DEMO_PATHS, ROOT, fixture_paths

SIZES = [(1024, 700), (1280, 800)]


CASES = {"demo": DEMO_PATHS, "bidirectional": fixture_paths("br_bidi_concat"), "encoder_decoder": fixture_paths("br_enc_dec")}


@pytest.fixture
def sized(qtbot, settings):
    from gui.main_window import MainWindow

    def make(size, case):
        w = MainWindow(settings)
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        w.load_now(*CASES[case])
        w.session.to_end()
        qtbot.waitUntil(lambda: w.session.batch_readouts is not None, timeout=20000)
        qtbot.wait(50)
        assert (w.width(), w.height()) == size
        return w

    return make


def window_rect(window, widget, scene_rect) -> QRect:
    """A scene rectangle of ``widget``'s graphics view, in the window's coordinates."""
    r = widget.mapFromScene(scene_rect).boundingRect()
    return QRect(widget.mapTo(window, r.topLeft()), r.size())


def visible_rect(window, widget) -> QRect:
    """The part of ``widget`` the window shows: its scroll area's viewport, in window coordinates."""
    vp = window.plots.grid.scroll.viewport()
    return QRect(vp.mapTo(window, QPoint(0, 0)), vp.size())


def shown_plots(window):
    return window.plots.grid.shown_tiles()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_every_plot_whole_inside_the_window(sized, qtbot, size, case):
    w = sized(size, case)
    grid, glw = w.plots.grid, w.plots.glw
    assert len(shown_plots(w)) == 7
    for p in shown_plots(w):
        grid.scroll_to(p)
        qtbot.wait(10)
        vb = window_rect(w, glw, p.vb.sceneBoundingRect())
        whole = window_rect(w, glw, p.sceneBoundingRect())
        title = p.titleLabel.text
        assert vb.width() > 120 and vb.height() > 60, title
        assert w.rect().contains(vb), (title, vb, w.rect())
        seen = visible_rect(w, glw)
        assert seen.contains(vb), (title, vb, seen)
        # the axes and the colour bar too: the plot is not cut at the right as the third column was
        assert whole.left() >= seen.left() - 1 and whole.right() <= seen.right() + 1, (title, whole, seen)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_no_legend_over_the_data(sized, size, case):
    w = sized(size, case)
    plots = w.plots
    legends = [p for p in shown_plots(w) if p.legend is not None and p.legend.items]
    assert {id(p) for p in (plots.p_g, plots.p_b)} <= {id(p) for p in legends} or case != "demo"
    for p in legends:
        legend = p.legend.sceneBoundingRect()
        assert p.sceneBoundingRect().contains(legend), p.titleLabel.text  # shown, with its plot
        assert not legend.intersects(p.vb.sceneBoundingRect()), p.titleLabel.text  # outside the data area
        for item in p.listDataItems():
            # a PlotDataItem draws through its curve and its symbols: their bounding boxes, mapped to the scene
            for part in (getattr(item, "curve", None), getattr(item, "scatter", None), item):
                if part is not None and part.isVisible():
                    drawn = part.mapRectToScene(part.boundingRect())
                    assert not legend.intersects(drawn), (p.titleLabel.text, item.name())


def test_a_plot_is_enlarged_by_double_click_and_brought_back(sized, qtbot):
    w = sized((1024, 700), "demo")
    grid, glw = w.plots.grid, w.plots.glw
    target = w.plots.p_b
    grid.scroll_to(target)
    qtbot.wait(10)
    before = target.vb.sceneBoundingRect()
    centre = glw.mapFromScene(target.vb.sceneBoundingRect().center())
    double_click(glw.viewport(), centre)
    qtbot.waitUntil(lambda: grid.maximised is target)
    qtbot.wait(20)
    assert shown_plots(w) == [target] and not w.plots.p_c.isVisible()
    after = target.vb.sceneBoundingRect()
    assert after.width() > 1.5 * before.width() and after.height() > 1.5 * before.height()
    assert visible_rect(w, glw).contains(window_rect(w, glw, target.vb.sceneBoundingRect()))
    assert grid.back_button.isVisible()
    grid.back_button.click()
    qtbot.wait(20)
    assert grid.maximised is None and len(shown_plots(w)) == 7 and w.plots.p_c.isVisible()


def double_click(widget, pos) -> None:
    """What Qt delivers for a double-click: press, release, double-click, release."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    p = QPointF(pos)
    g = QPointF(widget.mapToGlobal(pos))
    for kind, buttons in ((QEvent.MouseButtonPress, Qt.LeftButton), (QEvent.MouseButtonRelease, Qt.NoButton),
                          (QEvent.MouseButtonDblClick, Qt.LeftButton), (QEvent.MouseButtonRelease, Qt.NoButton)):
        QApplication.sendEvent(widget, QMouseEvent(kind, p, g, Qt.LeftButton, buttons, Qt.NoModifier))


def test_columns_reflow_with_the_width(sized, qtbot):
    w = sized((1024, 700), "demo")
    assert w.plots.grid.columns == 2
    for size, columns in (((1280, 800), 3), ((1920, 1080), 4), ((1024, 700), 2)):
        w.resize(*size)
        qtbot.wait(20)
        assert w.plots.grid.columns == columns, size


def test_bidirectional_all_gates_is_readable(sized, qtbot):
    w = sized((1024, 700), "bidirectional")
    w.tabs.setCurrentWidget(w.weights)
    w.weights.select("W", "all")
    qtbot.wait(20)
    view, model = w.weights, w.weights.model
    header = view.table.horizontalHeader()
    fm = header.fontMetrics()
    names = [model.headerData(c, Qt.Horizontal) for c in range(model.columnCount())]
    assert names[0] == "→i·u0" and names[-1] == "←o·u3"
    for c, name in enumerate(names):  # every column name fits its column (they were cut from the left)
        assert fm.horizontalAdvance(name) + 8 <= header.sectionSize(c), name
    # gate names along the heatmap's top axis: short, and no two closer than their width (they were overprinted)
    top = view.plot.getAxis("top")
    ticks = top._tickLevels[0]
    assert [t for _, t in ticks] == ["→i", "→f", "→c", "→o", "←i", "←f", "←c", "←o"]
    xs = [view.plot.getViewBox().mapViewToScene(pg_point(x, 0)).x() for x, _ in ticks]
    gap = min(np.diff(xs))
    widest = max(fm.horizontalAdvance(t) for _, t in ticks)
    assert gap > widest
    # the statistics: one row per gate, every column ends where its heading ends
    import re

    lines = view.stats.text().splitlines()
    assert len(lines) == 9

    def ends(line, skip):
        return [m.end() for m in re.finditer(r"\(.*?\)|\S+", line)][skip:]

    for line in lines[1:]:
        assert ends(line, 2) == ends(lines[0], 1), line
    # the layer details: one line per direction and matrix, not a wall of 24 shapes
    details = w.model_panel.details.text()
    assert "forward W: i f c o, each (3, 4)" in details and "backward U: i f c o, each (4, 4)" in details
    assert details.count("<sub>") == 0


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_screenshot_takes_a_size(tmp_path):
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--size", "1024x700"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1024, 700)
    bad = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--size", "big"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "WIDTHxHEIGHT" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_layer_list_keeps_its_rows_and_details_scroll(sized, qtbot, size):
    """At 1024×700 the gate health once squeezed the layer list to two rows: every layer row of the demo is in the
    list's viewport, and the details and gate health sit in a scroll area that can reach their last line."""
    w = sized(size, "demo")
    panel = w.model_panel
    qtbot.waitUntil(lambda: panel.health.isVisible(), timeout=20000)
    tree = panel.tree
    vp = tree.viewport().rect()
    for i in range(tree.topLevelItemCount()):
        r = tree.visualItemRect(tree.topLevelItem(i))
        assert vp.contains(r.topLeft()) and r.bottom() <= vp.bottom(), (i, r, vp)
    info = panel.info
    assert info.widget().isAncestorOf(panel.details) and info.widget().isAncestorOf(panel.health)
    bar = info.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.wait(10)
    bottom = panel.health.mapTo(info.viewport(), panel.health.rect().bottomLeft()).y()
    assert bottom <= info.viewport().height()
    assert info.height() >= 60
