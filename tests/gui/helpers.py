"""What the window tests share: where the demo and the fixtures are, waiting for an open, reading a plot item back."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.engine.helpers import TOL  # noqa: F401  (the window's tests hold it to the same tolerance)
from tests.fixture_index import FIXTURES, find

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo"
DEMO_PATHS = (str(DEMO / "sine_lstm.keras"), str(DEMO / "sine_data.npz"))  # (model, data) of the bundled demo


def fixture_paths(name, fmt="k3keras"):
    """(model, data) of one committed fixture, as the strings the window opens."""
    e = find(name, fmt)
    return str(FIXTURES / e["model"]), str(FIXTURES / e["data"])


def wait_loaded(qtbot, window):
    qtbot.waitUntil(lambda: not window.loading, timeout=20000)


def menu_action(window, text):
    """The menu bar's action (or a submenu's) with this text."""
    for top in window.menuBar().actions():
        for a in top.menu().actions():
            sub = a.menu()
            for b in ([a] + (sub.actions() if sub is not None else [])):
                if b.text() == text:
                    return b
    raise KeyError(text)


def xy(item):
    """A plot item's (x, y) as arrays, empty where it holds no data."""
    x, y = item.getData()
    return (np.zeros(0) if x is None else np.asarray(x)), (np.zeros(0) if y is None else np.asarray(y))


def curve_y(curve):
    return xy(curve)[1]


def click_view(qtbot, window, plot, x, y):
    """A real mouse click on the plot's view at data coordinates (x, y)."""
    from PySide6.QtCore import QPointF, Qt

    scene_pt = plot.vb.mapViewToScene(QPointF(x, y))
    pos = window.plots.glw.mapFromScene(scene_pt)
    qtbot.mouseClick(window.plots.glw.viewport(), Qt.LeftButton, pos=pos)


def records(window):
    """The records of the layer shown in the window (the session's stepper)."""
    s = window.session
    return s.stepper.runs[s.node_id].records


def open_at(window, qtbot, model, data, steps):
    """Open a model, wait for it, step to ``steps``; returns the Explain panel."""
    window.load_now(model, data)
    wait_loaded(qtbot, window)
    window.session.seek(steps)
    qtbot.wait(10)
    return window.explain_tools.panel
