"""The live plots of a replay. Every plot item is created once per model and then only fed with setData/setImage.

Top: the cell state C_t and hidden state h_t of the selected layer per unit over the steps done (a line per unit
for a few units, a units × time heatmap for many) and the gate activations at the current step. Bottom: the
prediction read out from the states after every step (against the target), and over the whole batch the final
prediction against the truth — the two classic plots of the noisy-sine exercise.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .colors import colormap

MAX_LINES = 16
GATE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
OUT_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
MAX_OUT_DIMS = 8


def unit_colour(j: int, n: int) -> pg.QtGui.QColor:
    return pg.intColor(j, hues=max(n, 1), values=1, maxValue=200, minValue=150)


class ReplayPlots(QWidget):
    unit_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground("w")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)
        g = self.glw
        self.p_c = g.addPlot(row=0, col=0, title="Cell state C<sub>t</sub>")
        self.p_h = g.addPlot(row=0, col=1, title="Hidden state h<sub>t</sub>")
        self.p_g = g.addPlot(row=0, col=2, title="Gates at the current step")
        self.p_r = g.addPlot(row=1, col=0, title="Prediction read out after each step")
        self.p_b = g.addPlot(row=1, col=1, title="Batch: final prediction vs truth")
        self.p_s = g.addPlot(row=1, col=2, title="Prediction vs truth")
        # No grids on the plots that change every step: an axis draws its grid across the whole plot, so every
        # update of the data would repaint the axis too (≈ 2 ms per axis per step).
        for p in (self.p_c, self.p_h, self.p_r):
            p.setLabel("bottom", "step t")
        self.p_r.showGrid(x=False, y=True, alpha=0.25)
        self.p_g.setLabel("bottom", "unit")
        self.p_g.setLabel("left", "activation")
        self.p_b.setLabel("bottom", "sample")
        self.p_b.showGrid(x=True, y=True, alpha=0.25)
        self.p_s.setLabel("bottom", "truth")
        self.p_s.setLabel("left", "prediction")
        self.p_s.showGrid(x=True, y=True, alpha=0.25)
        self.p_r.setLabel("left", "output")
        for p in (self.p_g, self.p_r, self.p_b):
            p.addLegend(offset=(5, 5), labelTextSize="8pt")
        for p in (self.p_c, self.p_h, self.p_g, self.p_r, self.p_b, self.p_s):
            for side in ("left", "bottom"):
                p.getAxis(side).enableAutoSIPrefix(False)

        # step markers and sample markers, created once
        self.c_step = pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=pg.QtCore.Qt.DashLine))
        self.h_step = pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=pg.QtCore.Qt.DashLine))
        self.p_c.addItem(self.c_step)
        self.p_h.addItem(self.h_step)
        self.sample_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#444", width=1.5))
        self.p_b.addItem(self.sample_line)
        self.scatter = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(31, 119, 180, 140))
        self.scatter_sel = pg.ScatterPlotItem(size=13, pen=pg.mkPen("#d62728", width=2), brush=None, symbol="o")
        self.diagonal = pg.PlotDataItem(pen=pg.mkPen("#999", style=pg.QtCore.Qt.DashLine))
        self.p_s.addItem(self.diagonal)
        self.p_s.addItem(self.scatter)
        self.p_s.addItem(self.scatter_sel)
        self.truth_curve = self.p_b.plot(pen=pg.mkPen("#333", width=1.5), name="truth", antialias=True)
        self.pred_curve = self.p_b.plot(pen=pg.mkPen("#d62728", width=1.5), name="prediction", antialias=True)

        self.c_curves: list[pg.PlotDataItem] = []
        self.h_curves: list[pg.PlotDataItem] = []
        self.gate_curves: dict[str, pg.PlotDataItem] = {}
        self.readout_curves: list[pg.PlotDataItem] = []
        self.target_lines: list[pg.InfiniteLine] = []
        self.c_img = self.h_img = None
        self.unit_marks = []
        for p in (self.p_c, self.p_h):
            mark = pg.InfiniteLine(angle=0, pen=pg.mkPen("#111", width=1.5))
            mark.hide()
            mark.setZValue(20)
            p.addItem(mark)
            self.unit_marks.append(mark)
        self.mask_marks = pg.ScatterPlotItem(size=9, symbol="x", pen=pg.mkPen("#666", width=2), brush=None)
        self.p_r.addItem(self.mask_marks)
        self.heatmap = False
        self.units = 0
        self.unit = -1
        self._yranges: dict[int, tuple[float, float]] = {}
        self.message = pg.TextItem("", color="#a00", anchor=(0, 0))
        self.p_c.addItem(self.message)

    # --- configuration per model / layer ---------------------------------------------------------------------
    def configure(self, layer, T: int, gate_names: tuple[str, ...], state_names: tuple[str, str | None],
                  out_dims: int) -> None:
        """Create the items for this layer: called when a model opens or another layer is selected."""
        for p, items in ((self.p_c, self.c_curves), (self.p_h, self.h_curves)):
            for it in items:
                p.removeItem(it)
            items.clear()
        for img, p in ((self.c_img, self.p_c), (self.h_img, self.p_h)):
            if img is not None:
                p.removeItem(img)
        self.c_img = self.h_img = None
        for it in self.gate_curves.values():
            self.p_g.removeItem(it)
        self.gate_curves.clear()
        for it in self.readout_curves:
            self.p_r.removeItem(it)
        self.readout_curves.clear()
        for it in self.target_lines:
            self.p_r.removeItem(it)
        self.target_lines.clear()
        self.p_g.legend.clear() if self.p_g.legend else None
        self.p_r.legend.clear() if self.p_r.legend else None

        # per-direction units for Bidirectional (its records are per direction), the layer's units otherwise
        self.units = 0 if layer is None else int(getattr(getattr(layer, "forward_layer", layer), "units", 0))
        self.T = T
        self._yranges.clear()
        for p in (self.p_c, self.p_h, self.p_g, self.p_r):
            p.disableAutoRange(axis="y")
        self.state_names = state_names
        c_name, h_name = state_names
        self.p_c.setTitle(f"Cell state {c_name}<sub>t</sub>" if c_name else "(no cell state)")
        self.p_h.setTitle(f"Hidden state {h_name}<sub>t</sub>" if h_name else "")
        self.heatmap = self.units > MAX_LINES
        if layer is None:
            return
        if self.heatmap:
            self.c_img = pg.ImageItem(axisOrder="row-major")
            self.h_img = pg.ImageItem(axisOrder="row-major")
            for img, p in ((self.c_img, self.p_c), (self.h_img, self.p_h)):
                img.setLookupTable(colormap().getLookupTable(nPts=256))
                p.addItem(img)
                p.setLabel("left", "unit")
                p.invertY(True)
                img.mouseClickEvent = self._image_click
            self.p_c.setLimits(xMin=0, xMax=max(T, 1), yMin=0, yMax=self.units)
            self.p_h.setLimits(xMin=0, xMax=max(T, 1), yMin=0, yMax=self.units)
            self.p_c.setRange(xRange=(0, max(T, 1)), yRange=(0, self.units), padding=0)
            self.p_h.setRange(xRange=(0, max(T, 1)), yRange=(0, self.units), padding=0)
        else:
            for p, items in ((self.p_c, self.c_curves), (self.p_h, self.h_curves)):
                p.invertY(False)
                p.setLabel("left", "value")
                p.setLimits(xMin=None, xMax=None, yMin=None, yMax=None)
                for j in range(self.units):
                    c = p.plot(pen=pg.mkPen(unit_colour(j, self.units), width=1.5), symbol="o", symbolSize=4,
                               symbolBrush=unit_colour(j, self.units), symbolPen=None, antialias=True)
                    c.setCurveClickable(True, width=6)
                    c.sigClicked.connect(lambda _item, _ev=None, j=j: self.unit_clicked.emit(j))
                    items.append(c)
                p.setXRange(0, max(T - 1, 1), padding=0.02)
        for k, g in enumerate(gate_names):
            c = self.p_g.plot(pen=pg.mkPen(GATE_COLOURS[k % len(GATE_COLOURS)], width=1.5), name=g,
                              symbol="o" if self.units <= 64 else None, symbolSize=5,
                              symbolBrush=GATE_COLOURS[k % len(GATE_COLOURS)], symbolPen=None,
                              antialias=self.units <= 64)
            self.gate_curves[g] = c
        self.p_g.setXRange(-0.5, max(self.units - 0.5, 0.5), padding=0.02)
        for d in range(min(out_dims, MAX_OUT_DIMS)):
            name = "prediction" if out_dims == 1 else f"output[{d}]"
            col = OUT_COLOURS[d % len(OUT_COLOURS)]
            self.readout_curves.append(self.p_r.plot(pen=pg.mkPen(col, width=2), symbol="o", symbolSize=5,
                                                     symbolBrush=col, symbolPen=None, name=name, antialias=True))
            line = pg.InfiniteLine(angle=0, pen=pg.mkPen(col, width=1, style=pg.QtCore.Qt.DashLine))
            line.hide()
            self.p_r.addItem(line)
            self.target_lines.append(line)
        self.p_r.setXRange(0, max(T - 1, 1), padding=0.02)
        self.unit = -1

    def _grow_y(self, plot, lo: float, hi: float) -> None:
        """Widen a plot's y range to cover [lo, hi], never narrow it during a replay: a range that changes every
        step re-lays out and repaints the axes every step."""
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return
        cur = self._yranges.get(id(plot))
        if cur is not None and cur[0] <= lo and hi <= cur[1]:
            return
        if cur is not None:
            lo, hi = min(lo, cur[0]), max(hi, cur[1])
        pad = 0.05 * max(hi - lo, 1e-6)
        lo, hi = lo - pad, hi + pad
        self._yranges[id(plot)] = (lo, hi)
        plot.setYRange(lo, hi, padding=0)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    # --- updates -------------------------------------------------------------------------------------------------
    def update_states(self, records: dict | None, steps: int, gate_names, state_names) -> None:
        """C/h up to the steps this layer has done, and the gates at its latest step."""
        c_name, h_name = state_names
        if records is None:
            steps = 0
        t_axis = np.arange(steps, dtype=np.float32)
        for key, curves, img, marker in ((c_name, self.c_curves, self.c_img, self.c_step),
                                         (h_name, self.h_curves, self.h_img, self.h_step)):
            arr = None if (records is None or key is None) else records.get(key)
            marker.setPos(max(steps - 1, 0) + (0.5 if self.heatmap else 0))
            if arr is None:
                for c in curves:
                    c.setData([], [])
                if img is not None:
                    img.clear()
                continue
            if self.heatmap:
                shown = np.ascontiguousarray(arr.T, dtype=np.float32)  # units × time; steps not done yet are zero
                lim = float(np.max(np.abs(arr[:steps]))) if steps else 1.0
                img.setImage(shown, autoLevels=False, levels=(-(lim or 1.0), lim or 1.0))
            else:
                for j, c in enumerate(curves):
                    c.setData(t_axis, arr[:steps, j])
                if steps:
                    shown = arr[:steps]
                    self._grow_y(self.p_c if curves is self.c_curves else self.p_h, float(shown.min()), float(shown.max()))
        for g, c in self.gate_curves.items():
            arr = None if records is None else records.get(g)
            if arr is None or steps == 0:
                c.setData([], [])
            else:
                c.setData(np.arange(arr.shape[1], dtype=np.float32), arr[steps - 1])
                self._grow_y(self.p_g, min(0.0, float(arr[steps - 1].min())), max(1.0, float(arr[steps - 1].max())))

    def update_masked(self, masked_steps: np.ndarray) -> None:
        """Steps the layer skipped (Keras masking: state carried over) marked with × under the readout."""
        if masked_steps.size:
            lo = self._yranges.get(id(self.p_r), (0.0, 1.0))[0]
            self.mask_marks.setData(masked_steps.astype(np.float32), np.full(masked_steps.size, lo, np.float32))
        else:
            self.mask_marks.setData([], [])

    def update_readout(self, series: np.ndarray | None, target: np.ndarray | None) -> None:
        for d, c in enumerate(self.readout_curves):
            if series is None or d >= series.shape[1]:
                c.setData([], [])
            else:
                c.setData(np.arange(series.shape[0], dtype=np.float32), series[:, d], connect="finite")
                col = series[:, d][np.isfinite(series[:, d])]
                if col.size:
                    self._grow_y(self.p_r, float(col.min()), float(col.max()))
        for d, line in enumerate(self.target_lines):
            if target is not None and d < target.size:
                line.setPos(float(target.reshape(-1)[d]))
                line.show()
                self._grow_y(self.p_r, float(target.reshape(-1)[d]), float(target.reshape(-1)[d]))
            else:
                line.hide()

    def update_batch(self, predictions: np.ndarray | None, truth: np.ndarray | None, sample: int) -> None:
        """Final prediction (first output, first dimension) and truth over the batch; the sample is marked."""
        n = 0 if predictions is None else predictions.shape[0]
        x = np.arange(n, dtype=np.float32)
        p = None if predictions is None else predictions.reshape(n, -1)[:, 0]
        t = None if truth is None or truth.shape[0] != n else truth.reshape(n, -1)[:, 0]
        self.pred_curve.setData(x, p) if p is not None else self.pred_curve.setData([], [])
        self.truth_curve.setData(x, t) if t is not None else self.truth_curve.setData([], [])
        self.sample_line.setPos(sample)
        if p is not None and t is not None:
            self.scatter.setData(t, p)
            self.scatter_sel.setData([t[sample]], [p[sample]])
            lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
            self.diagonal.setData([lo, hi], [lo, hi])
            self.p_s.setTitle("Prediction vs truth")
        else:
            self.scatter.setData([], [])
            self.scatter_sel.setData([], [])
            self.diagonal.setData([], [])
            self.p_s.setTitle("Prediction vs truth (no targets in the data)")

    def highlight_unit(self, unit: int) -> None:
        self.unit = unit
        for mark in self.unit_marks:
            if self.heatmap and 0 <= unit < self.units:
                mark.setPos(unit + 0.5)  # image row j spans [j, j+1]
                mark.show()
            else:
                mark.hide()
        for curves in (self.c_curves, self.h_curves):
            for j, c in enumerate(curves):
                col = unit_colour(j, self.units)
                if unit < 0:
                    c.setPen(pg.mkPen(col, width=1.5))
                elif j == unit:
                    c.setPen(pg.mkPen(col, width=4))
                    c.setZValue(10)
                else:
                    faded = pg.mkColor(col)
                    faded.setAlpha(50)
                    c.setPen(pg.mkPen(faded, width=1))
                    c.setZValue(0)

    def _image_click(self, ev) -> None:
        unit = int(ev.pos().y())
        if 0 <= unit < self.units:
            self.unit_clicked.emit(unit)
            ev.accept()
