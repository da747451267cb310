"""The live plots of a replay. Every plot item is created once per model and then only fed with setData/setImage.

Top: the cell state C_t and hidden state h_t of the selected layer per unit over the steps done (a line per unit
for a few units, a units × time heatmap with a colour bar for many) and the gate activations at the current step
(grouped bars per unit for a few units, a line across the units for many). Bottom: the
prediction read out from the states after every step (against the target), and over the whole batch the final
prediction against the truth — the two classic plots of the noisy-sine exercise — and the readout after every
step for every sample, coloured by t (gui/exercise_plots.py).

The plots are tiles of a PlotGrid (gui/plot_grid.py): they reflow with the width, scroll when short, and a
double-click shows one alone. Legends sit under their plot's axis (gui/legend.py), never over the data. Every plot
says what is under the mouse (gui/hover.py): unit, step and value, read from the data its items draw.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from .colors import colormap
from .exercise_plots import ReadoutMap, nearest_point
from .gate_heatmaps import unit_ticks
from .hover import HoverValues
from .integer_axis import integer_axes
from .legend import legend_below
from .plot_grid import PlotGrid

MAX_LINES = 16  # up to this many units: a line per unit and grouped bars for the gates; more: heatmaps
GATE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
OUT_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
MAX_OUT_DIMS = 8


def unit_colour(j: int, n: int) -> pg.QtGui.QColor:
    return pg.intColor(j, hues=max(n, 1), values=1, maxValue=200, minValue=150)


_LADDER = np.array([1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0])


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k that is ≥ x (x > 0)."""
    if not x > 0:
        return 1.0
    scale = 10.0 ** np.floor(np.log10(x))
    return float(_LADDER[np.searchsorted(_LADDER, x / scale * (1 - 1e-12))] * scale)


def state_title(what: str, record: str) -> str:
    """'Cell state C<sub>t</sub>', or with the direction of a Bidirectional layer: '… · backward'."""
    direction, _, name = record.rpartition("/")
    return f"{what} {name}<sub>t</sub>" + (f"  ·  {direction}" if direction else "")


class ReplayPlots(QWidget):
    unit_clicked = Signal(int)
    cell_clicked = Signal(int, int)  # unit, step t of the shown layer: a heatmap cell
    sample_clicked = Signal(int)  # a point of the batch series, the scatter or the readout map
    readout_point_clicked = Signal(int, int)  # sample, global step: a point of the readout map
    direction_changed = Signal(str)  # "forward" / "backward" chosen for a Bidirectional layer
    output_chosen = Signal(int, int)  # (model output, dimension) for the batch plots and the readout

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = PlotGrid()
        self.glw = self.grid.glw
        self.direction_box = QComboBox()
        self.direction_box.setObjectName("directionBox")
        self.direction_box.setToolTip("Which direction of the Bidirectional layer the state and gate plots show")
        self.direction_box.currentTextChanged.connect(self._on_direction_box_changed)
        self.direction_row = QWidget()
        row = QHBoxLayout(self.direction_row)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(QLabel("direction"))
        row.addWidget(self.direction_box)
        row.addStretch(1)
        self.direction_row.hide()
        # which model output, and which of its dimensions (class), the readout and the batch plots show
        self.output_box = QComboBox()
        self.output_box.setObjectName("outputBox")
        self.output_box.setToolTip("The model output shown by the readout and the batch plots")
        self.dim_label = QLabel("dimension")
        self.dim_box = QSpinBox()
        self.dim_box.setObjectName("dimBox")
        self.dim_box.setKeyboardTracking(False)
        self.output_box.currentIndexChanged.connect(lambda _k: self._emit_output())
        self.dim_box.valueChanged.connect(lambda _v: self._emit_output())
        self.output_row = QWidget()
        orow = QHBoxLayout(self.output_row)
        orow.setContentsMargins(6, 2, 6, 2)
        orow.addWidget(QLabel("output"))
        orow.addWidget(self.output_box)
        orow.addWidget(self.dim_label)
        orow.addWidget(self.dim_box)
        orow.addStretch(1)
        self.output_row.hide()
        # why the model cannot be replayed, shown where the plots are (the plots are then cleared and hidden)
        self.problem_label = QLabel("")
        self.problem_label.setObjectName("replayProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setAlignment(Qt.AlignCenter)
        self.problem_label.setStyleSheet("color: #a00; font-size: 14px; padding: 24px;")
        self.problem_label.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.direction_row)
        lay.addWidget(self.output_row)
        lay.addWidget(self.problem_label, 1)
        lay.addWidget(self.grid, 1)
        self.p_c = pg.PlotItem(title="Cell state C<sub>t</sub>", axisItems=integer_axes("bottom"))
        self.p_h = pg.PlotItem(title="Hidden state h<sub>t</sub>", axisItems=integer_axes("bottom"))
        self.p_g = pg.PlotItem(title="Gates at the current step", axisItems=integer_axes("bottom"))
        self.p_r = pg.PlotItem(title="Prediction read out after each step", axisItems=integer_axes("bottom"))
        self.p_b = pg.PlotItem(title="Batch: truth, Keras and replay", axisItems=integer_axes("bottom"))
        self.p_s = pg.PlotItem(title="Prediction vs truth")
        self.readout_map = ReadoutMap(self)
        self.p_m = self.readout_map.plot
        for p in (self.p_c, self.p_h, self.p_g, self.p_r, self.p_b, self.p_s, self.p_m):
            p.setTitle(p.titleLabel.text, size="10pt")
            self.grid.add(p)
        # No grids on the plots that change every step: an axis draws its grid across the whole plot, so every
        # update of the data would repaint the axis too (≈ 2 ms per axis per step).
        for p in (self.p_c, self.p_h):
            p.setLabel("bottom", "t")
        self.p_r.setLabel("bottom", "step")
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
            legend_below(p, columns=5)
        for p in (self.p_c, self.p_h, self.p_g, self.p_r, self.p_b, self.p_s):
            for side in ("left", "bottom"):
                axis = p.getAxis(side)
                axis.enableAutoSIPrefix(False)
                # ticks outside the plot area: an axis with inward ticks overlaps the view, so every change in the
                # view (a heatmap, a step marker) would repaint the axis too
                axis.setStyle(tickLength=5)
                # and drawn from a pixmap when only exposed: replaying an axis' picture costs ~0.3 ms per step
                axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

        # step markers and sample markers, created once
        self.c_step = pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=pg.QtCore.Qt.DashLine))
        self.h_step = pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=pg.QtCore.Qt.DashLine))
        for marker, p in ((self.c_step, self.p_c), (self.h_step, self.p_h)):
            marker.setZValue(15)  # above the heatmap
            p.addItem(marker)
        self.sample_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#444", width=1.5))
        self.p_b.addItem(self.sample_line)
        self.scatter = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(31, 119, 180, 140))
        self.scatter_sel = pg.ScatterPlotItem(size=13, pen=pg.mkPen("#d62728", width=2), brush=None, symbol="o")
        self.diagonal = pg.PlotDataItem(pen=pg.mkPen("#999", style=pg.QtCore.Qt.DashLine))
        self.p_s.addItem(self.diagonal)
        self.p_s.addItem(self.scatter)
        self.p_s.addItem(self.scatter_sel)
        self.scatter.sigClicked.connect(self._on_scatter_click)
        # truth broad and light underneath, replay thin on top, Keras as rings: all visible where they agree; the
        # residual (replay − truth) around zero shows where they do not
        self.truth_curve = self.p_b.plot(pen=pg.mkPen("#9e9e9e", width=4), name="truth", antialias=True)
        self.keras_curve = self.p_b.plot(pen=None, symbol="o", symbolSize=5, symbolPen=pg.mkPen("#1f77b4"),
                                         symbolBrush=None, name="Keras")
        self.pred_curve = self.p_b.plot(pen=pg.mkPen("#d62728", width=1.5), name="replay", antialias=True)
        self.resid_curve = self.p_b.plot(pen=pg.mkPen("#2ca02c", width=1), name="replay − truth")
        self.readout_map.point_clicked.connect(self.readout_point_clicked)
        self.glw.scene().sigMouseClicked.connect(self._on_scene_click)

        self.c_curves: list[pg.PlotDataItem] = []
        self.h_curves: list[pg.PlotDataItem] = []
        self.gate_curves: dict[str, pg.PlotDataItem | pg.BarGraphItem] = {}  # bars for few units, lines for many
        self.readout_curves: list[pg.PlotDataItem] = []
        self.target_lines: list[pg.InfiniteLine] = []
        self.c_img = self.h_img = None
        self.c_bar = self.h_bar = None  # colour bars of the heatmaps
        self._limits: dict[str, float] = {}  # heatmap levels (symmetric), grown during a replay, never shrunk
        self.unit_marks = []
        for p in (self.p_c, self.p_h):
            mark = pg.InfiniteLine(angle=0, pen=pg.mkPen("#111", width=1.5))
            mark.hide()
            mark.setZValue(20)
            p.addItem(mark)
            self.unit_marks.append(mark)
        self.unit_labels = []
        for p in (self.p_c, self.p_h):
            label = pg.TextItem("", color="#111", anchor=(0, 0.5))
            label.setZValue(30)
            label.hide()
            p.addItem(label)
            self.unit_labels.append(label)
        self.gate_unit_band = pg.LinearRegionItem(orientation="vertical", movable=False,
                                                  brush=pg.mkBrush(0, 0, 0, 28), pen=pg.mkPen(None))
        self.gate_unit_band.setZValue(-10)
        self.gate_unit_band.hide()
        self.p_g.addItem(self.gate_unit_band)
        self.mask_marks = pg.ScatterPlotItem(size=9, symbol="x", pen=pg.mkPen("#666", width=2), brush=None)
        self.p_r.addItem(self.mask_marks)
        self.target_sample = pg.PlotDataItem(pen=pg.mkPen(OUT_COLOURS[0], width=1, style=pg.QtCore.Qt.DashLine))
        target_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(OUT_COLOURS[0], width=1, style=pg.QtCore.Qt.DashLine))
        target_line.hide()
        self.p_r.addItem(target_line)
        self.target_lines.append(target_line)  # the truth of the chosen output and dimension for the sample
        self._readout_dims: list[int] = []  # the dimensions of the readout that have a curve
        self._legend_names: list[str] = []  # what the readout legend lists: only curves that are drawn
        self.readout_name = "prediction"
        self.heatmap = False
        self.units = 0
        self.rows = np.zeros(0, np.int64)  # the session's unit order: row (or gate-plot x) r shows unit rows[r]
        self.T = 0
        self.unit = -1
        self._steps = 0  # steps the shown layer has done (the gates shown are of step _steps − 1)
        self.state_names: tuple[str | None, str | None] = (None, None)
        self._last_state: dict[str, np.ndarray | None] = {}
        self._yranges: dict[int, tuple[float, float]] = {}
        self.message = pg.TextItem("", color="#a00", anchor=(0, 0))  # a word about the layer (e.g. where its maps are)
        self.p_c.addItem(self.message)
        self.no_gates_note = pg.TextItem("This layer has no gates:\nh_t = act(W x_t + U h_t−1 + b).",
                                         color="#777", anchor=(0.5, 0.5))
        self.no_gates_note.hide()
        self.p_g.addItem(self.no_gates_note)
        self.times = np.zeros(0, np.float32)  # t of each step shown (processing order), from the session
        self.out_dims = 0
        self.no_cell_note = pg.TextItem("This layer has no cell state:\nits memory is the hidden state h.",
                                        color="#777", anchor=(0.5, 0.5))
        self.no_cell_note.hide()
        self.p_c.addItem(self.no_cell_note)
        self.readout_note = pg.TextItem("No readout yet: the model's output\nneeds steps still to come.",
                                        color="#777", anchor=(0.5, 0.5))
        self.readout_note.hide()
        self.p_r.addItem(self.readout_note)
        self.hover = HoverValues(self.glw.scene())
        for p, describe in ((self.p_c, lambda x, y: self._describe_state(0, x, y)),
                            (self.p_h, lambda x, y: self._describe_state(1, x, y)),
                            (self.p_g, self._describe_gates), (self.p_r, self._describe_readout),
                            (self.p_b, self._describe_batch), (self.p_s, self._describe_scatter),
                            (self.p_m, self.readout_map.describe)):
            self.hover.add(p, describe)

    # --- configuration per model / layer ---------------------------------------------------------------------
    def configure(self, layer, T: int, gate_names: tuple[str, ...], state_names: tuple[str, str | None],
                  out_dims: int, total_steps: int | None = None) -> None:
        """Create the items for this layer: called when a model opens or another layer is selected."""
        for p, items in ((self.p_c, self.c_curves), (self.p_h, self.h_curves)):
            for it in items:
                p.removeItem(it)
            items.clear()
        for img, p in ((self.c_img, self.p_c), (self.h_img, self.p_h)):
            if img is not None:
                p.removeItem(img)
        self.c_img = self.h_img = None
        for bar, p in ((self.c_bar, self.p_c), (self.h_bar, self.p_h)):
            if bar is not None:
                p.layout.removeItem(bar)
                p.scene().removeItem(bar)
        self.c_bar = self.h_bar = None
        for it in self.gate_curves.values():
            self.p_g.removeItem(it)
        self.gate_curves.clear()
        self._clear_readout()
        self.p_g.legend.clear() if self.p_g.legend else None

        # ``layer`` is the layer whose units are shown: one direction of a Bidirectional layer (see MainWindow)
        self.units = 0 if layer is None else int(getattr(layer, "units", 0))
        self.rows = np.arange(self.units)
        self.T = T
        self.reset_ranges()
        for p in (self.p_c, self.p_h, self.p_g, self.p_r):
            p.disableAutoRange(axis="y")
        self.state_names = state_names
        c_name, h_name = state_names
        self.p_c.setTitle(state_title("Cell state", c_name) if c_name else "(no cell state in this layer)")
        self.p_h.setTitle(state_title("Hidden state", h_name) if h_name else "")
        self.heatmap = self.units > MAX_LINES
        if layer is None:
            return
        x_range = (-0.5, max(T, 1) - 0.5)  # step t is drawn at x = t (a heatmap column spans t ± 0.5)
        shown_states = [(p, name) for p, name in ((self.p_c, c_name), (self.p_h, h_name)) if name is not None]
        self.no_cell_note.setVisible(c_name is None and h_name is not None)  # neither: maps, shown elsewhere
        self.c_step.setVisible(c_name is not None)
        for side in ("left", "bottom"):
            self.p_c.showAxis(side, c_name is not None)
        maps = c_name is None and h_name is None  # a ConvLSTM: its gates are maps, in their own tab
        self.no_gates_note.setVisible(not gate_names and not maps)
        self.p_g.legend.setVisible(bool(gate_names))
        for side in ("left", "bottom"):
            self.p_g.showAxis(side, bool(gate_names))
        self.p_g.setTitle("Gates at the current step" if gate_names or maps else "No gates in this layer")
        if not gate_names:
            self.p_g.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.no_gates_note.setPos(0.5, 0.5)
        if c_name is None:  # GRU, SimpleRNN: say why the plot is empty
            self.p_c.invertY(False)
            self.p_c.setLimits(xMin=None, xMax=None, yMin=None, yMax=None)
            self.p_c.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.p_c.setLabel("left", "")
            self.p_c.hideAxis("left")  # setLabel shows the axis again
            self.p_c.hideAxis("bottom")
            self.no_cell_note.setPos(0.5, 0.5)
        if self.heatmap:
            bars = {}
            for p, name in shown_states:
                img = pg.ImageItem(axisOrder="row-major")
                if p is self.p_c:
                    self.c_img = img
                else:
                    self.h_img = img
                p.addItem(img)
                img.setImage(np.zeros((self.units, max(T, 1)), np.float32), autoLevels=False, levels=(-1, 1))
                img.setRect(pg.QtCore.QRectF(-0.5, 0, max(T, 1), self.units))
                bar = pg.ColorBarItem(values=(-1, 1), colorMap=colormap(), interactive=False, width=10,
                                      colorMapMenu=False)
                bar.setImageItem(img, insert_in=p)
                bar.axis.setWidth(56)  # pyqtgraph's 45 px clips labels such as −0.05
                bar.axis.enableAutoSIPrefix(False)
                bars[id(p)] = bar
                p.setLabel("left", "unit")
                p.invertY(True)
                img.mouseClickEvent = self._image_click
                p.setLimits(xMin=x_range[0], xMax=x_range[1], yMin=0, yMax=self.units)
                p.setRange(xRange=x_range, yRange=(0, self.units), padding=0)
            self.c_bar, self.h_bar = bars.get(id(self.p_c)), bars.get(id(self.p_h))
        else:
            for p, _name in shown_states:
                items = self.c_curves if p is self.p_c else self.h_curves
                p.invertY(False)
                p.setLabel("left", "value")
                p.setLimits(xMin=None, xMax=None, yMin=None, yMax=None)
                for j in range(self.units):
                    c = p.plot(pen=pg.mkPen(unit_colour(j, self.units), width=1.5), symbol="o", symbolSize=4,
                               symbolBrush=unit_colour(j, self.units), symbolPen=None, antialias=True)
                    c.setCurveClickable(True, width=6)
                    c.sigClicked.connect(lambda _item, _ev=None, j=j: self.unit_clicked.emit(j))
                    items.append(c)
                p.setXRange(*x_range, padding=0.02)
        n_gates = max(len(gate_names), 1)
        for k, g in enumerate(gate_names):
            colour = GATE_COLOURS[k % len(GATE_COLOURS)]
            label = g.rpartition("/")[2]  # the direction of a Bidirectional layer is in the titles
            if self.heatmap:  # a profile over many units
                # a 1-pixel pen: Qt draws wider (non-cosmetic) lines through its stroker, several times slower
                c = self.p_g.plot(pen=pg.mkPen(colour, width=1 if self.units > 64 else 1.5), name=label,
                                  symbol="o" if self.units <= 64 else None, symbolSize=5,
                                  symbolBrush=colour, symbolPen=None, antialias=self.units <= 64)
            else:  # a group of bars per unit, one bar per gate
                width = 0.8 / n_gates
                x = np.arange(self.units, dtype=np.float32) + (k - (n_gates - 1) / 2) * width
                c = pg.BarGraphItem(x=x, height=np.zeros(self.units), width=width, brush=colour, pen=None)
                self.p_g.addItem(c)
                self.p_g.legend.addItem(c, label)
            self.gate_curves[g] = c
        if gate_names:
            self.p_g.setXRange(-0.5, max(self.units - 0.5, 0.5), padding=0.02)
        self.out_dims = 0  # readout curves are made for the readout's own width when it first comes (see below)
        # the readout is over every step of the model (all stages), not only this layer's
        self.p_r.setXRange(-0.5, max(total_steps or T, 1) - 0.5, padding=0.02)
        self.unit = -1
        self._place_rows()
        self.highlight_unit(-1)

    # --- the unit order (the session's: Units × time tab) ---------------------------------------------------------
    def set_order(self, rows: np.ndarray) -> None:
        """Show the units ``rows`` in this order (real unit indices): heatmap rows, gate-plot positions; the
        line plots hide the units left out. Labels keep the real unit index."""
        rows = np.asarray(rows, np.int64)
        if rows.size and rows.max() >= self.units:
            rows = np.arange(self.units)
        self.rows = rows
        self._place_rows()  # the window then draws the session's records again (update_states)
        self.highlight_unit(self.unit)

    def unit_at(self, r: int) -> int:
        """The real unit shown at row (or gate-plot position) ``r``, or −1."""
        return int(self.rows[r]) if 0 <= r < len(self.rows) else -1

    def row_of(self, unit: int) -> int:
        """Where ``unit`` is shown (row or gate-plot position), or −1 when filtered out."""
        where = np.flatnonzero(self.rows == unit)
        return int(where[0]) if where.size else -1

    def _place_rows(self) -> None:
        """Image extents, axis ticks (the real unit of each row) and bar positions for the unit order."""
        n = max(len(self.rows), 1)
        keras = len(self.rows) == self.units and np.array_equal(self.rows, np.arange(self.units))
        ticks = None if keras else unit_ticks(self.rows)
        if self.heatmap:
            for img, p in ((self.c_img, self.p_c), (self.h_img, self.p_h)):
                if img is None:
                    continue
                img.setRect(pg.QtCore.QRectF(-0.5, 0, max(self.T, 1), n))
                p.setLimits(yMin=0, yMax=n)
                p.setRange(yRange=(0, n), padding=0)
                p.getAxis("left").setTicks(ticks)
        else:
            shown = set(self.rows.tolist())
            for curves in (self.c_curves, self.h_curves):
                for j, c in enumerate(curves):
                    c.setVisible(j in shown)
        if self.gate_curves:
            # gate-plot position r is centred on x = r (a heatmap row spans [r, r+1])
            gx = None if keras else [[(x - 0.5, name) for x, name in unit_ticks(self.rows)[0]], []]
            self.p_g.getAxis("bottom").setTicks(gx)
            self.p_g.setXRange(-0.5, max(n - 0.5, 0.5), padding=0.02)
            n_gates = len(self.gate_curves)
            for k, c in enumerate(self.gate_curves.values()):
                if isinstance(c, pg.BarGraphItem):
                    width = 0.8 / n_gates
                    c.setOpts(x=np.arange(len(self.rows), dtype=np.float32) + (k - (n_gates - 1) / 2) * width,
                              height=np.zeros(len(self.rows)))

    def set_directions(self, directions: list[str], current: str | None) -> None:
        """Offer the directions of a Bidirectional layer (the row is hidden for other layers)."""
        self.direction_box.blockSignals(True)
        self.direction_box.clear()
        self.direction_box.addItems(directions)
        if current is not None:
            self.direction_box.setCurrentText(current)
        self.direction_box.blockSignals(False)
        self.direction_row.setVisible(len(directions) > 1)

    def _on_direction_box_changed(self, text: str) -> None:
        if text:
            self.direction_changed.emit(text)

    def reset_ranges(self) -> None:
        """Forget the y ranges and heatmap levels grown so far (another sample, edited inputs, another layer)."""
        self._yranges.clear()
        self._limits.clear()

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
        # a range of one value (the first step) spans ±5% of it (at least ±0.05): never ticks in the 8th digit
        pad = max(0.05 * (hi - lo), 0.05 * max(abs(lo), abs(hi)), 0.05) if hi - lo < 1e-3 * max(abs(lo), abs(hi), 1) \
            else 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
        self._yranges[id(plot)] = (lo, hi)
        plot.setYRange(lo, hi, padding=0)

    def _grow_limit(self, key: str, bar, values: np.ndarray) -> float:
        """The symmetric colour range of a heatmap: grown to the largest |value| seen, never shrunk, so a colour
        keeps its meaning while stepping (and the colour bar is not redrawn every step)."""
        peak = float(np.max(np.abs(values))) if values.size else 0.0
        lim = self._limits.get(key, 0.0)
        if not np.isfinite(peak) or peak <= lim:
            return lim or 1.0
        lim = nice_ceiling(peak)  # a coarse ladder: levels change a few times per replay, not every step
        self._limits[key] = lim
        bar.setLevels((-lim, lim))
        return lim

    def show_message(self, text: str) -> None:
        """Why the model cannot be replayed, in place of the plots (which are cleared); empty: the plots again."""
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))
        self.grid.setVisible(not text)
        if text:
            self.configure(None, 0, (), (None, None), 0)
            self.update_states(None, 0, (), (None, None))
            self.update_readout(None, None, 0)
            self.update_batch(None, None, 0)
            self.update_masked(np.zeros(0, np.int64))
            self.output_row.hide()
            self.direction_row.hide()

    def show_note(self, text: str) -> None:
        """A word about the layer at the top left of the first plot (the plots stay)."""
        self.message.setText(text)

    def set_outputs(self, labels: list[str], output: int, dims: int, dim: int, softmax: bool) -> None:
        """Offer the model's outputs and the dimensions (classes) of the chosen one; the row shows when there is
        a choice."""
        for w in (self.output_box, self.dim_box):
            w.blockSignals(True)
        if [self.output_box.itemText(i) for i in range(self.output_box.count())] != labels:
            self.output_box.clear()
            self.output_box.addItems(labels)
        self.output_box.setCurrentIndex(output)
        self.dim_box.setRange(0, max(dims - 1, 0))
        self.dim_box.setValue(dim)
        self.dim_label.setText("class" if softmax else "dimension")
        self.dim_box.setSuffix(f" of {dims}")
        for w in (self.output_box, self.dim_box):
            w.blockSignals(False)
        self.readout_name = "class" if softmax else "output"
        self.output_row.setVisible(len(labels) > 1 or dims > 1)

    def _emit_output(self) -> None:
        self.output_chosen.emit(max(self.output_box.currentIndex(), 0), self.dim_box.value())

    # --- updates -------------------------------------------------------------------------------------------------
    def update_states(self, records: dict | None, steps: int, gate_names, state_names,
                      times: np.ndarray | None = None) -> None:
        """C/h up to the steps this layer has done, and the gates at its latest step. ``times`` is the t of each
        step (processing order): a layer that reads backwards draws step k at t = T−1−k, so x is the same t as the
        input table's rows and the status bar."""
        c_name, h_name = state_names
        if records is None:
            steps = 0
        self._steps = steps
        rows = self.rows
        t_axis = np.arange(steps, dtype=np.float32) if times is None else np.asarray(times[:steps], np.float32)
        self.times = t_axis
        backwards = t_axis.size > 1 and t_axis[1] < t_axis[0]
        now = float(t_axis[-1]) if t_axis.size else (self.T - 1 if backwards else 0.0)
        for key, curves, img, bar, marker in ((c_name, self.c_curves, self.c_img, self.c_bar, self.c_step),
                                              (h_name, self.h_curves, self.h_img, self.h_bar, self.h_step)):
            arr = None if (records is None or key is None) else records.get(key)
            self._last_state[key] = None if arr is None else arr[:steps]
            marker.setPos(now)
            if arr is None:
                for c in curves:
                    c.setData([], [])
                if img is not None:
                    img.setImage(np.zeros_like(img.image), autoLevels=False)
                continue
            if self.heatmap:
                # units × time, column t; steps not done yet are zero
                # rows in the session's unit order (row r is unit rows[r])
                shown = np.zeros((max(len(rows), 1), max(self.T, arr.shape[0], 1)), np.float32)
                if steps and len(rows) and arr.shape[1] == self.units:
                    shown[:len(rows), t_axis.astype(np.int64)] = arr[:steps][:, rows].T
                lim = self._grow_limit(key, bar, arr[:steps])
                img.setImage(shown, autoLevels=False, levels=(-lim, lim))
            else:
                for j, c in enumerate(curves):
                    c.setData(t_axis, arr[:steps, j])
                if steps:
                    shown = arr[:steps]
                    plot = self.p_c if curves is self.c_curves else self.p_h
                    self._grow_y(plot, float(shown.min()), float(shown.max()))
        self._place_unit_labels()
        for g, c in self.gate_curves.items():
            arr = None if records is None else records.get(g)
            values = None if arr is None or steps == 0 else arr[steps - 1]
            if values is not None and values.shape[0] == self.units:
                values = values[rows]  # position r shows unit rows[r]
            if isinstance(c, pg.BarGraphItem):
                c.setOpts(height=np.zeros(len(rows)) if values is None or values.shape[0] != len(rows) else values)
            elif values is None:
                c.setData([], [])
            else:
                c.setData(np.arange(values.shape[0], dtype=np.float32), values)
            if values is not None and values.size:
                self._grow_y(self.p_g, min(0.0, float(values.min())), max(1.0, float(values.max())))

    def update_masked(self, masked_steps: np.ndarray) -> None:
        """Steps the layer skipped (Keras masking: state carried over) marked with × along the bottom of the
        readout, inside the plot: a symbol's centre sits its own size above the axis."""
        if masked_steps.size:
            lo, hi = self._yranges.get(id(self.p_r), self.p_r.viewRange()[1])
            h = max(self.p_r.vb.height(), 1.0)
            y = lo + (hi - lo) * min(12.0 / h, 0.2)  # 12 px up: the 9-px × stays whole
            self.mask_marks.setData(masked_steps.astype(np.float32), np.full(masked_steps.size, y, np.float32))
        else:
            self.mask_marks.setData([], [])

    def _clear_readout(self) -> None:
        for it in self.readout_curves:
            self.p_r.removeItem(it)
        self.readout_curves.clear()
        self._readout_dims = []
        self._set_legend([])

    def _set_legend(self, names: list[str]) -> None:
        """The readout legend lists exactly the curves drawn (and the target when it is shown)."""
        if names == self._legend_names or self.p_r.legend is None:
            return
        self.p_r.legend.clear()
        self.p_r.legend.setVisible(bool(names))  # an empty legend is still drawn as a little box
        by_name = {self._curve_name(d): c for d, c in zip(self._readout_dims, self.readout_curves)}
        for name in names:
            self.p_r.legend.addItem(self.target_sample if name == "target" else by_name[name], name)
        self._legend_names = list(names)

    def _curve_name(self, d: int) -> str:
        return "prediction" if self.out_dims == 1 else f"{self.readout_name}[{d}]"

    def update_readout(self, series: np.ndarray | None, target: float | None, steps: int = 0,
                       dim: int = 0) -> None:
        """The chosen output read out after each step: every dimension up to 8, else the chosen one only; the
        target (of the chosen dimension) as a dashed line."""
        undefined = steps > 0 and (series is None or not np.isfinite(series).any())
        if undefined != self.readout_note.isVisible():
            self.readout_note.setVisible(undefined)
        if undefined:  # in the middle of what the plot shows
            (x0, x1), (y0, y1) = self.p_r.viewRange()
            self.readout_note.setPos((x0 + x1) / 2, (y0 + y1) / 2)
        dims = 0 if series is None else series.shape[1]
        if dims:
            dim = min(max(dim, 0), dims - 1)
            shown = list(range(dims)) if dims <= MAX_OUT_DIMS else [dim]
            if shown != self._readout_dims or dims != self.out_dims:
                self._clear_readout()
                self.out_dims = dims
                for d in shown:
                    col = OUT_COLOURS[d % len(OUT_COLOURS)]
                    self.readout_curves.append(self.p_r.plot(pen=pg.mkPen(col, width=2), symbol="o", symbolSize=5,
                                                             symbolBrush=col, symbolPen=None, antialias=True))
                self._readout_dims = shown
        title = "Prediction read out after each step"
        if dims > MAX_OUT_DIMS:  # one curve of many: say which, and how many there are
            title += f" · {self.readout_name} [{dim}] of {dims}"
        if self.p_r.titleLabel.text != title:
            self.p_r.setTitle(title)
        names = []
        for d, c in zip(self._readout_dims, self.readout_curves):
            if series is None or d >= dims:
                c.setData([], [])
                continue
            c.setData(np.arange(series.shape[0], dtype=np.float32), series[:, d], connect="finite")
            col = series[:, d][np.isfinite(series[:, d])]
            if col.size:
                names.append(self._curve_name(d))
                self._grow_y(self.p_r, float(col.min()), float(col.max()))
        line = self.target_lines[0]
        if target is not None and np.isfinite(target):
            colour = OUT_COLOURS[dim % len(OUT_COLOURS)] if dims else OUT_COLOURS[0]
            if line.pen.color().name() != pg.mkColor(colour).name():
                line.setPen(pg.mkPen(colour, width=1, style=pg.QtCore.Qt.DashLine))
                self.target_sample.setPen(pg.mkPen(colour, width=1, style=pg.QtCore.Qt.DashLine))
            line.setPos(float(target))
            line.show()
            names.append("target")
            self._grow_y(self.p_r, float(target), float(target))
        else:
            line.hide()
        self._set_legend(names)

    def update_batch(self, predictions: np.ndarray | None, truth: np.ndarray | None, sample: int,
                     label: str = "prediction", keras: np.ndarray | None = None) -> None:
        """The final prediction (the chosen output and dimension at the last step), Keras' own and the truth over the
        batch, each (batch,), with the residual prediction − truth; the sample is marked."""
        n = 0 if predictions is None else predictions.shape[0]
        x = np.arange(n, dtype=np.float32)
        p = predictions
        t = None if truth is None or truth.shape[0] != n else truth
        k = None if keras is None or p is None or keras.shape != p.shape else keras
        self.pred_curve.setData(x, p) if p is not None else self.pred_curve.setData([], [])
        self.truth_curve.setData(x, t) if t is not None else self.truth_curve.setData([], [])
        self.keras_curve.setData(x, k) if k is not None else self.keras_curve.setData([], [])
        self.resid_curve.setData(x, p - t) if p is not None and t is not None else self.resid_curve.setData([], [])
        legend = self.p_b.legend
        if legend is not None:  # the legend names what is drawn
            want = ([(self.truth_curve, "truth")] if t is not None else []) + \
                   ([(self.keras_curve, "Keras")] if k is not None else []) + \
                   ([(self.pred_curve, label)] if p is not None else []) + \
                   ([(self.resid_curve, f"{label} − truth")] if p is not None and t is not None else [])
            if [(it.item, text.text) for it, text in legend.items] != want:
                legend.clear()
                for item, name in want:
                    legend.addItem(item, name)
        self.sample_line.setVisible(n > 0)
        self.sample_line.setPos(sample)
        self.readout_map.mark_sample(sample)
        self.p_b.setTitle(f"Batch: final {label} vs truth" if t is not None else f"Batch: final {label}", size="10pt")
        if p is not None and t is not None:
            self.scatter.setData(t, p)
            self.scatter_sel.setData([t[sample]], [p[sample]])
            lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
            self.diagonal.setData([lo, hi], [lo, hi])
            self.p_s.setTitle("Prediction vs truth", size="10pt")
        else:
            self.scatter.setData([], [])
            self.scatter_sel.setData([], [])
            self.diagonal.setData([], [])
            self.p_s.setTitle("Prediction vs truth (no targets in the data)", size="10pt")

    def highlight_unit(self, unit: int) -> None:
        self.unit = unit
        r = self.row_of(unit) if 0 <= unit < self.units else -1
        on = r >= 0
        for mark in self.unit_marks:
            if self.heatmap and on:
                mark.setPos(r + 0.5)  # image row r spans [r, r+1]
                mark.show()
            else:
                mark.hide()
        if on:
            self.gate_unit_band.setRegion((r - 0.5, r + 0.5))
        self.gate_unit_band.setVisible(on)
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
        self._place_unit_labels()

    def _place_unit_labels(self) -> None:
        """Name the highlighted unit next to its latest value (line plots) or at the right edge (heatmaps)."""
        unit = self.unit
        for label, key in zip(self.unit_labels, self.state_names):
            arr = self._last_state.get(key) if key is not None else None
            if not 0 <= unit < self.units or arr is None or arr.shape[0] == 0 or unit >= arr.shape[-1]:
                label.hide()
                continue
            label.setText(f"u{unit}")
            if self.heatmap:
                r = self.row_of(unit)
                if r < 0:
                    label.hide()
                    continue
                label.setAnchor((1, 1))
                label.setPos(self.T - 0.5, r)
            else:
                label.setAnchor((0, 0.5))
                x = float(self.times[-1]) if self.times.size == arr.shape[0] else arr.shape[0] - 1
                label.setPos(x + 0.1, float(arr[-1, unit]))
            label.show()

    def _image_click(self, ev) -> None:
        """A heatmap cell: its unit is highlighted, and the replay goes to its step."""
        unit, t = self.unit_at(int(ev.pos().y())), int(np.floor(ev.pos().x()))
        if 0 <= unit < self.units:
            self.unit_clicked.emit(unit)
            if 0 <= t < self.T:
                self.cell_clicked.emit(unit, t)
            ev.accept()

    # --- clicks -------------------------------------------------------------------------------------------------
    def _on_scene_click(self, ev) -> None:
        """A click in the batch series selects the sample under it; in the gate plot, the unit under it."""
        if ev.double() or ev.button() != pg.QtCore.Qt.LeftButton:
            return
        pos = ev.scenePos()
        for plot in (self.p_b, self.p_g):
            if plot.isVisible() and plot.vb.sceneBoundingRect().contains(pos):
                x = int(round(plot.vb.mapSceneToView(pos).x()))
                if plot is self.p_b:
                    n = self.pred_curve.getData()[0]
                    if n is not None and 0 <= x < len(n):
                        self.sample_clicked.emit(x)
                elif self.unit_at(x) >= 0:
                    self.unit_clicked.emit(self.unit_at(x))

    def _on_scatter_click(self, _item, points, ev=None) -> None:
        """The sample of the point nearest the click (points of a periodic series often overlap)."""
        if len(points):
            self.sample_clicked.emit(int(nearest_point(points, ev, self.p_s.vb).index()))

    # --- hover ----------------------------------------------------------------------------------------------------
    def _describe_state(self, which: int, x: float, y: float) -> str | None:
        key = self.state_names[which]
        arr = self._last_state.get(key) if key is not None else None
        if arr is None or arr.shape[0] == 0 or self.times.size != arr.shape[0]:
            return None
        t = int(round(x))
        done = np.flatnonzero(self.times == t)  # the step that read t (x is t, also for a layer reading backwards)
        if not done.size:
            return None
        k = int(done[0])
        name = key.rpartition("/")[2]
        if self.heatmap:
            unit = self.unit_at(int(np.floor(y)))
            if not 0 <= unit < arr.shape[1]:
                return None
        else:
            unit = int(np.argmin(np.abs(arr[k] - y)))
        return f"unit {unit}, step t={t}\n{name} = {float(arr[k, unit]):.6g}"

    def _gate_values(self) -> dict[str, np.ndarray]:
        """The gate values drawn now, per gate, read from the plot items."""
        out = {}
        for g, c in self.gate_curves.items():
            if isinstance(c, pg.BarGraphItem):
                h = c.opts.get("height")
                if h is not None:
                    out[g] = np.asarray(h)
            else:
                y = c.getData()[1]
                if y is not None and len(y):
                    out[g] = np.asarray(y)
        return out

    def _describe_gates(self, x: float, y: float) -> str | None:
        r = int(round(x))
        unit = self.unit_at(r)
        values = self._gate_values()  # position r is unit rows[r]
        if unit < 0 or not values or self._steps <= 0:
            return None
        parts = [f"{g.rpartition('/')[2]} = {float(v[r]):.4g}" for g, v in values.items() if r < v.shape[0]]
        t = int(self.times[-1]) if self.times.size else self._steps - 1
        return f"unit {unit}, step t={t}\n" + "  ".join(parts)

    def _describe_readout(self, x: float, y: float) -> str | None:
        t = int(round(x))
        lines = []
        for c in self.readout_curves:
            xs, ys = c.getData()
            if ys is not None and 0 <= t < len(ys) and np.isfinite(ys[t]):
                lines.append(f"{c.name()} = {float(ys[t]):.6g}")
        return f"step t={t}\n" + "\n".join(lines) if lines else None

    def _describe_batch(self, x: float, y: float) -> str | None:
        i = int(round(x))
        lines = []
        for c, name in ((self.truth_curve, "truth"), (self.keras_curve, "Keras"), (self.pred_curve, "replay"),
                        (self.resid_curve, "replay − truth")):
            ys = c.getData()[1]
            if ys is not None and 0 <= i < len(ys):
                lines.append(f"{name} {float(ys[i]):.6g}")
        return f"sample {i}\n" + "\n".join(lines) if lines else None

    def _describe_scatter(self, x: float, y: float) -> str | None:
        xs, ys = self.scatter.getData()
        if xs is None or len(xs) == 0:
            return None
        (x0, x1), (y0, y1) = self.p_s.vb.viewRange()
        d = ((xs - x) / max(x1 - x0, 1e-12)) ** 2 + ((ys - y) / max(y1 - y0, 1e-12)) ** 2  # in view fractions
        i = int(np.argmin(d))
        if d[i] > 0.03 ** 2:
            return None
        return f"sample {i}\ntruth {float(xs[i]):.6g}, prediction {float(ys[i]):.6g}"
