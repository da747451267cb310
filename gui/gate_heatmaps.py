"""Units × time heatmaps of every gate next to C and h, for the shown layer (or direction), in one unit order.

The order (Keras' order, or by variance over time, final |h|, saturation or contribution to the prediction, over the
whole data: engine/unit_stats.py) and the "top N" filter apply to every heatmap here; the highlighted unit is marked
in each. Images are created once per layer and updated with setImage.
"""
from __future__ import annotations

import numpy as np
import PySide6  # noqa: F401  (before pyqtgraph)
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from .colors import colormap

ORDERS = [("Keras order", None), ("variance over time", "variance"), ("final |h|", "final"),
          ("saturation", "saturation"), ("contribution to the prediction", "contribution")]
TITLES = {"i": "i (input gate)", "f": "f (forget gate)", "c~": "c̃ (candidate)", "o": "o (output gate)",
          "z": "z (update gate)", "r": "r (reset gate)", "h~": "h̃ (candidate)", "C": "C (cell state)",
          "h": "h (hidden state)"}


def unit_ticks(rows: np.ndarray, most: int = 24) -> list:
    """Left-axis ticks naming the real unit of each shown row (row r spans [r, r+1]): every row when few, else
    every k-th, so that u17 reads u17 wherever the order puts it."""
    n = len(rows)
    k = max(1, -(-n // most))
    return [[(r + 0.5, f"u{int(rows[r])}") for r in range(0, n, k)], []]


class GateHeatmaps(QWidget):
    unit_clicked = Signal(int)
    order_chosen = Signal(object)  # the units to show in order (real indices), None for all in Keras' order


    def __init__(self, parent=None):
        super().__init__(parent)
        self.order_box = QComboBox()
        self.order_box.setObjectName("unitOrder")
        self.order_box.addItems([t for t, _ in ORDERS])
        self.order_box.setToolTip("Order the units of every heatmap (statistics over the whole data)")
        self.top_box = QSpinBox()
        self.top_box.setObjectName("unitTop")
        self.top_box.setRange(0, 1 << 20)
        self.top_box.setSpecialValueText("all units")
        self.top_box.setPrefix("top ")
        self.note = QLabel("")
        self.note.setStyleSheet("color: #666;")
        row = QHBoxLayout()
        row.addWidget(QLabel("order units by"))
        row.addWidget(self.order_box)
        row.addWidget(self.top_box)
        row.addWidget(self.note, 1)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground("w")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(row)
        lay.addWidget(self.glw, 1)
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.marks: dict[str, pg.InfiniteLine] = {}
        self.names: list[str] = []
        self.units = 0
        self.unit = -1
        self.order = np.zeros(0, np.int64)  # shown row r is unit order[r]
        self.scores: dict[str, np.ndarray | None] = {}
        self.order_box.currentIndexChanged.connect(self._apply_order)
        self.top_box.valueChanged.connect(self._apply_order)
        self._last = (None, 0)

    def configure(self, names: list[str], units: int, T: int) -> None:
        """Items for a layer's records ``names`` (gates then states, without a direction prefix)."""
        self.glw.clear()
        self.plots.clear()
        self.images.clear()
        self.marks.clear()
        self.names, self.units, self.T = list(names), units, max(T, 1)
        cols = 3 if len(names) > 4 else 2
        for k, name in enumerate(names):
            p = self.glw.addPlot(row=k // cols, col=k % cols, title=TITLES.get(name, name))
            p.invertY(True)
            p.setLabel("left", "unit")
            p.setLabel("bottom", "step t")
            img = pg.ImageItem(axisOrder="row-major")
            img.setColorMap(colormap())
            p.addItem(img)
            img.mouseClickEvent = lambda ev, name=name: self._click(ev)
            mark = pg.InfiniteLine(angle=0, pen=pg.mkPen("#111", width=1.5))
            mark.hide()
            p.addItem(mark)
            self.plots[name], self.images[name], self.marks[name] = p, img, mark
        self.order = np.arange(units)
        self._last = (None, 0)  # the previous layer's records do not fit these images
        self.top_box.setMaximum(max(units, 0))

    def set_scores(self, scores: dict[str, np.ndarray | None], samples: int) -> None:
        """Per-unit scores by order key (from the whole data's statistics); None where not available."""
        self.scores = scores
        self.note.setText(f"statistics over {samples} samples" if samples else "")
        self._apply_order()

    def _apply_order(self) -> None:
        key = ORDERS[self.order_box.currentIndex()][1]
        s = self.scores.get(key) if key else None
        if key and s is None:
            self.note.setText("no statistics for this order yet" if not self.scores else
                              "this layer has no Dense reading h" if key == "contribution" else "")
        order = np.arange(self.units) if s is None or len(s) != self.units else np.argsort(-s, kind="stable")
        if key and s is not None and len(s) != self.units:
            self.note.setText("")
        n = self.top_box.value()
        order = order[:n] if n else order
        # the session keeps the order (every view reads it) and hands it back through set_order
        self.order_chosen.emit(None if len(order) == self.units and np.array_equal(order, np.arange(self.units))
                               else order)

    def set_order(self, order: np.ndarray) -> None:
        """Show the units ``order`` (the session's), row r being unit order[r]."""
        self.order = np.asarray(order, np.int64)
        self.update_records(*self._last)

    def update_records(self, records, steps: int) -> None:
        """The records (T, units) of the shown sample, up to ``steps`` done."""
        self._last = (records, steps)
        rows = self.order
        for name, img in self.images.items():
            arr = None if records is None else records.get(name)
            shown = np.zeros((max(len(rows), 1), self.T), np.float32)
            n = 0 if arr is None else min(steps, self.T, arr.shape[0])
            if n and arr.shape[-1] == self.units:
                shown[:len(rows), :n] = arr[:n][:, rows].T
            lim = 1.0 if name not in ("C", "h~", "c~", "h") else max(float(np.max(np.abs(shown))), 1e-6)
            lo = 0.0 if name in ("i", "f", "o", "z", "r") else -lim
            img.setImage(shown, autoLevels=False, levels=(lo, lim))
            img.setRect(pg.QtCore.QRectF(-0.5, 0, self.T, max(len(rows), 1)))
        ticks = unit_ticks(rows)
        for p in self.plots.values():
            p.getAxis("left").setTicks(ticks)
        self.highlight_unit(self.unit)

    def highlight_unit(self, unit: int) -> None:
        self.unit = unit
        where = np.flatnonzero(self.order == unit)
        for mark in self.marks.values():
            if where.size:
                mark.setPos(float(where[0]) + 0.5)
                mark.show()
            else:
                mark.hide()

    def shown_units(self) -> np.ndarray:
        return self.order

    def _click(self, ev) -> None:
        r = int(ev.pos().y())
        if 0 <= r < len(self.order):
            self.unit_clicked.emit(int(self.order[r]))
            ev.accept()
