"""The noisy-sine exercise's second picture: the prediction read out after every step, for every sample of the batch,
coloured by the step t (a colour bar says which colour is which t), with the truth underneath. It shows how the
model warms up over the window: early steps scatter, the last one lies on the truth.

The values come from the engine (engine/readouts.py), computed off the GUI thread; this plot only draws them.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from .integer_axis import integer_axes

MAX_POINTS = 40_000  # points drawn at most; beyond, the first samples of the batch only (the title says so)
STEP_COLOURS = pg.colormap.get("viridis")


def nearest_point(points, ev, vb):
    """Of the points under a click, the nearest on screen (neighbouring samples' points overlap)."""
    if ev is None or len(points) == 1:
        return points[0]
    at = ev.pos()
    sx, sy = vb.viewPixelSize()
    return min(points, key=lambda pt: ((pt.pos().x() - at.x()) / sx) ** 2 + ((pt.pos().y() - at.y()) / sy) ** 2)


class ReadoutMap(QObject):
    point_clicked = Signal(int, int)  # sample, step (index into the steps drawn)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotItem(title="Readout at every step, every sample", axisItems=integer_axes("bottom"))
        self.plot.setObjectName("readoutMap")
        self.plot.setLabel("bottom", "sample")
        self.plot.setLabel("left", "readout")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.truth = self.plot.plot(pen=pg.mkPen("#9e9e9e", width=4))
        self.points = pg.ScatterPlotItem(size=5, pen=None, hoverable=False)
        self.points.sigClicked.connect(self._on_click)
        self.plot.addItem(self.points)
        self.sample_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#444", width=1.5))
        self.sample_line.hide()
        self.plot.addItem(self.sample_line)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=STEP_COLOURS, interactive=False, width=10,
                                   colorMapMenu=False, label="step t")
        self.bar.axis.enableAutoSIPrefix(False)
        self.bar.setParentItem(self.plot)
        self.plot.layout.addItem(self.bar, 2, 5)  # right of the plot, as setImageItem(insert_in=…) places it
        self.plot.layout.setColumnFixedWidth(4, 5)
        self.note = pg.TextItem("", color="#777", anchor=(0.5, 0.5))
        self.plot.addItem(self.note, ignoreBounds=True)
        #: what is drawn: (samples, steps) readouts and the step indices they are (for hover and clicks)
        self.values = np.zeros((0, 0), np.float32)
        self.step_index = np.zeros(0, np.int64)
        self.truth_values: np.ndarray | None = None

    def clear(self, reason: str = "") -> None:
        self.values = np.zeros((0, 0), np.float32)
        self.step_index = np.zeros(0, np.int64)
        self.points.setData([], [])
        self.truth.setData([], [])
        self.truth_values = None
        self.sample_line.hide()
        self.note.setText(reason)
        self.note.setPos(0.5, 0.5)
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.plot.setTitle("Readout at every step, every sample", size="10pt")

    def show(self, values: np.ndarray | None, truth: np.ndarray | None, dim: int = 0) -> None:
        """``values``: (batch, steps, dims) readouts, NaN where undefined; ``truth``: (batch,) for dimension ``dim``
        (the final target of the output shown), or None."""
        if values is None or values.size == 0:
            self.clear("computing…" if values is None else "no readout")
            return
        batch, steps = values.shape[:2]
        defined = np.flatnonzero(np.isfinite(values[..., dim]).any(axis=0))
        if defined.size == 0:
            self.clear("no step has a readout of this output")
            return
        n = min(batch, max(MAX_POINTS // defined.size, 1))
        v = np.ascontiguousarray(values[:n][:, defined, dim], dtype=np.float32)  # (samples, steps drawn)
        self.values, self.step_index = v, defined
        self.note.setText("")
        k = defined.size
        x = np.repeat(np.arange(n, dtype=np.float32), k)
        colours = STEP_COLOURS.getLookupTable(0.0, 1.0, nPts=max(k, 2), alpha=False)
        brushes = [pg.mkBrush(*colours[j if k > 1 else 1]) for j in range(k)]
        self.points.setData(x, v.reshape(-1), brush=brushes * n)
        self.bar.setLevels((float(defined[0]), float(defined[-1]) if k > 1 else float(defined[0]) + 1))
        # whole steps only on the colour bar (no t = 2.5); pyqtgraph's own ticks beyond a dozen steps
        self.bar.axis.setTicks([[(float(t), str(int(t))) for t in defined]] if k <= 12 else None)
        t = None
        if truth is not None and truth.shape[0] == batch:
            t = np.asarray(truth, np.float32).reshape(batch, -1)[:n, 0 if np.ndim(truth) == 1 else dim]
        self.truth_values = t
        self.truth.setData(np.arange(n, dtype=np.float32), t) if t is not None else self.truth.setData([], [])
        more = f" (first {n} of {batch} samples)" if n < batch else ""
        self.plot.setTitle(f"Readout at every step, every sample{more}", size="10pt")
        self.plot.enableAutoRange()

    def mark_sample(self, sample: int) -> None:
        on = 0 <= sample < self.values.shape[0]
        self.sample_line.setVisible(on)
        if on:
            self.sample_line.setPos(sample)

    def describe(self, x: float, y: float) -> str | None:
        """The hover text at view coordinates (x, y): the sample under x, its step whose readout is nearest y."""
        i = int(round(x))
        if not 0 <= i < self.values.shape[0]:
            return None
        row = self.values[i]
        j = int(np.nanargmin(np.abs(row - y))) if np.isfinite(row).any() else -1
        if j < 0:
            return None
        text = f"sample {i}, step t={self.step_index[j]}: readout {row[j]:.6g}"
        if self.truth_values is not None:
            text += f"\ntruth {self.truth_values[i]:.6g}"
        return text

    def _on_click(self, _item, points, ev=None) -> None:
        if len(points):
            idx = int(nearest_point(points, ev, self.plot.vb).index())
            k = max(self.step_index.size, 1)
            self.point_clicked.emit(idx // k, int(self.step_index[idx % k]))
