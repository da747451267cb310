"""The maps of a ConvLSTM layer at the current step, one filter (channel) at a time: the gates i, f, c̃, o and the
states C and h, each an image (pyqtgraph ImageItem + colour bar, created once and fed with setImage); below them the
kernels into that filter, W or U for each gate, a tile per channel.

A ConvLSTM2D map is shown as it is (rows × columns); a ConvLSTM3D one as the depth slice chosen; a ConvLSTM1D map is
a row of positions, so its image stacks the steps done so far (step × position). Colour levels are symmetric and
grow with the largest value seen (never shrink during a replay), so a colour keeps its meaning while stepping.

Clicking a cell of a map emits ``cell_clicked`` (the map, the position on the layer's grid, and for a ConvLSTM1D the
step of the clicked row): the Explain dock takes that value apart (gui/explain_panel.py), and ``mark`` outlines the
cell it explains.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from engine.stats import symmetric_limit

from .colors import colormap
from .integer_axis import integer_axes
from .replay_plots import nice_ceiling

MAP_NAMES = ("i", "f", "c~", "o", "C", "h")
KERNEL_GATES = ("i", "f", "c", "o")
MAP_TITLES = {"i": "input gate i", "f": "forget gate f", "c~": "candidate c̃", "o": "output gate o",
              "C": "cell state C", "h": "hidden state h"}


class ConvMaps(QWidget):
    view_changed = Signal()  # another filter or depth slice chosen: the window feeds the maps again
    #: a map cell clicked: (map name as in MAP_NAMES, position on the grid, step of the clicked row or None)
    cell_clicked = Signal(str, object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer = None
        self.rank = 0
        self.title = QLabel("No ConvLSTM layer selected")
        self.title.setStyleSheet("font-weight: bold;")
        self.channel_box = QSpinBox()
        self.channel_box.setObjectName("mapChannel")
        self.channel_box.setToolTip("The filter (output channel) whose maps are shown")
        self.depth_box = QSpinBox()
        self.depth_box.setObjectName("mapDepth")
        self.depth_box.setToolTip("The depth slice of a ConvLSTM3D map")
        self.depth_label = QLabel("depth")
        self.kernel_box = QComboBox()
        self.kernel_box.setObjectName("kernelMatrix")
        self.kernel_box.addItems(["W", "U"])
        self.kernel_box.setToolTip("The kernels shown into the filter: W from the input's channels, U from h's")
        self.kernel_box.currentTextChanged.connect(lambda _t: self._show_kernels())
        for box in (self.channel_box, self.depth_box):
            box.valueChanged.connect(lambda _v: self.view_changed.emit())
        row = QHBoxLayout()
        row.addWidget(self.title)
        row.addSpacing(16)
        row.addWidget(QLabel("filter"))
        row.addWidget(self.channel_box)
        row.addWidget(self.depth_label)
        row.addWidget(self.depth_box)
        row.addSpacing(16)
        row.addWidget(QLabel("kernels"))
        row.addWidget(self.kernel_box)
        row.addStretch(1)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground("w")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.glw, 1)
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.bars: dict[str, pg.ColorBarItem] = {}
        self.marks: dict[str, pg.ScatterPlotItem] = {}
        self._marked: tuple | None = None  # (position, step) of the explained cell
        for k, name in enumerate(MAP_NAMES):
            p = self.glw.addPlot(row=k // 3, col=k % 3, title=MAP_TITLES[name], axisItems=integer_axes("left", "bottom"))
            p.invertY(True)
            p.setAspectLocked(False)
            img = pg.ImageItem(axisOrder="row-major")
            p.addItem(img)
            bar = pg.ColorBarItem(values=(-1, 1), colorMap=colormap(), interactive=False, width=10, colorMapMenu=False)
            bar.setImageItem(img, insert_in=p)
            bar.axis.setWidth(56)
            bar.axis.enableAutoSIPrefix(False)
            for side in ("left", "bottom"):
                p.getAxis(side).enableAutoSIPrefix(False)
            self.plots[name], self.images[name], self.bars[name] = p, img, bar
            mark = pg.ScatterPlotItem(symbol="s", size=1.0, pxMode=False, brush=None,
                                      pen=pg.mkPen("#111", width=2))  # the explained cell, outlined
            mark.setZValue(10)
            p.addItem(mark)
            self.marks[name] = mark
        self._limits: dict[str, float] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}
        # the kernels into the chosen filter, one picture per gate: a tile per channel (engine: kernel_tiles)
        krow = self.glw.addLayout(row=2, col=0, colspan=3)
        self.kernel_plots: dict[str, pg.PlotItem] = {}
        self.kernel_images: dict[str, pg.ImageItem] = {}
        for j, g in enumerate(KERNEL_GATES):
            p = krow.addPlot(row=0, col=j)
            p.invertY(True)
            p.hideAxis("left")
            p.hideAxis("bottom")
            img = pg.ImageItem(axisOrder="row-major")
            img.setColorMap(colormap())
            p.addItem(img)
            self.kernel_plots[g], self.kernel_images[g] = p, img
        self.channel_box.valueChanged.connect(lambda _v: self._show_kernels())
        self.depth_label.hide()
        self.depth_box.hide()
        self.depth_box.valueChanged.connect(lambda _v: self._show_mark())
        self.glw.scene().sigMouseClicked.connect(self._on_click)

    # --- configuration -----------------------------------------------------------------------------------------------
    def configure(self, layer, state_shape: tuple | None) -> None:
        """Show ``layer`` (a ConvLSTM, or None); ``state_shape`` is one sample's state map shape in the layer's
        layout (None when not known yet)."""
        self.layer = layer
        self.rank = getattr(layer, "rank", 0) if layer is not None else 0
        self._marked = None
        self._show_mark()
        self._limits.clear()
        self._shapes.clear()
        for box in (self.channel_box, self.depth_box):
            box.blockSignals(True)
        if layer is None:
            self.title.setText("No ConvLSTM layer selected")
            self.channel_box.setRange(0, 0)
        else:
            self.title.setText(f"{layer.name}  ·  {layer.class_name}({layer.filters})")
            self.channel_box.setRange(0, layer.filters - 1)
        spatial = self._spatial(state_shape)
        three = self.rank == 3 and spatial is not None
        self.depth_box.setRange(0, spatial[0] - 1 if three else 0)
        self.depth_box.setVisible(three)
        self.depth_label.setVisible(three)
        for box in (self.channel_box, self.depth_box):
            box.blockSignals(False)
        x_label, y_label = ("position", "step t") if self.rank == 1 else ("column", "row")
        self._show_kernels()
        for name, p in self.plots.items():
            p.setLabel("bottom", x_label)
            p.setLabel("left", y_label)
            self.bars[name].setLevels((-1, 1))
            self.images[name].setImage(np.zeros((1, 1), np.float32), autoLevels=False, levels=(-1, 1))

    def _show_kernels(self) -> None:
        """W_g or U_g into the chosen filter for the four gates, on one symmetric scale across the gates."""
        matrix = self.kernel_box.currentText()
        if self.layer is None:
            for img in self.kernel_images.values():
                img.setImage(np.zeros((1, 1), np.float32), autoLevels=False, levels=(-1, 1))
            return
        lim = max(symmetric_limit(self.layer.gate(matrix, g)) for g in KERNEL_GATES)
        src = "input channel" if matrix == "W" else "channel of h"
        for g in KERNEL_GATES:
            tiles = self.layer.kernel_tiles(matrix, g, self.channel)
            img = self.kernel_images[g]
            img.setImage(tiles, autoLevels=False, levels=(-lim, lim))
            img.setRect(pg.QtCore.QRectF(0, 0, tiles.shape[1], tiles.shape[0]))
            p = self.kernel_plots[g]
            p.setTitle(f"{matrix}_{g} → filter {self.channel}", size="9pt")
            p.setToolTip(f"{matrix}_{g}: the kernel from each {src} (a tile each, left to right) into filter "
                         f"{self.channel}; colours on one scale ±{lim:.3g} for the four gates")
            p.setRange(xRange=(0, tiles.shape[1]), yRange=(0, tiles.shape[0]), padding=0.02)

    def _spatial(self, state_shape):
        if state_shape is None or self.layer is None:
            return None
        return tuple(state_shape[1:]) if self.layer.channels_first else tuple(state_shape[:-1])

    @property
    def channel(self) -> int:
        return self.channel_box.value()

    @property
    def depth(self) -> int:
        return self.depth_box.value()

    # --- updates -----------------------------------------------------------------------------------------------------
    def shown_map(self, arr: np.ndarray | None, steps: int) -> np.ndarray | None:
        """The 2-D picture of record ``arr`` (one sample, (T, …map…)) for the chosen filter after ``steps`` steps."""
        if arr is None or steps <= 0 or self.layer is None:
            return None
        if self.rank == 1:
            return self.layer.channel(arr[:steps], self.channel)  # (steps, positions)
        m = self.layer.channel(arr[steps - 1], self.channel)
        return m[self.depth] if self.rank == 3 else m

    def update_maps(self, records, steps: int) -> None:
        for name in MAP_NAMES:
            arr = None if records is None else records.get(name)
            m = self.shown_map(arr, steps)
            img = self.images[name]
            if m is None:
                img.setImage(np.zeros_like(img.image), autoLevels=False)
                continue
            shown = np.ascontiguousarray(m, dtype=np.float32)
            lim = self._grow_limit(name, shown)
            img.setImage(shown, autoLevels=False, levels=(-lim, lim))
            if self._shapes.get(name) != shown.shape:  # a new size (another layer; a 1-D map's rows grow): refit
                self._shapes[name] = shown.shape
                h, w = shown.shape  # pixel (r, c) centred on (c, r): the integer ticks name rows and columns
                img.setRect(pg.QtCore.QRectF(-0.5, -0.5, w, h))
                self.plots[name].setRange(xRange=(-0.5, w - 0.5), yRange=(-0.5, h - 0.5), padding=0)

    # --- clicks and the explained cell --------------------------------------------------------------------------------
    def cell_at(self, name: str, x: float, y: float) -> tuple[tuple[int, ...], int | None] | None:
        """(position on the grid, step or None) of the cell of map ``name`` at view coordinates (x, y), or None
        outside the picture (pixel (r, c) is centred on (c, r))."""
        img = self.images[name].image
        if self.layer is None or img is None:
            return None
        r, c = int(np.floor(y + 0.5)), int(np.floor(x + 0.5))
        if name not in self._shapes or not (0 <= r < img.shape[0] and 0 <= c < img.shape[1]):
            return None  # nothing shown yet, or outside the picture
        if self.rank == 1:
            return (c,), r  # rows are the steps done
        return ((self.depth, r, c) if self.rank == 3 else (r, c)), None

    def _on_click(self, ev) -> None:
        pos = ev.scenePos()
        for name, p in self.plots.items():
            if p.vb.sceneBoundingRect().contains(pos):
                pt = p.vb.mapSceneToView(pos)
                hit = self.cell_at(name, pt.x(), pt.y())
                if hit is not None:
                    self.cell_clicked.emit(name, hit[0], hit[1])
                return

    def cell_center(self, at, step: int | None = None) -> QPointF | None:
        """Where the cell of position ``at`` (and, for ConvLSTM1D, ``step``) sits in the maps' view coordinates,
        or None when the depth slice shown is another."""
        if self.rank == 1:
            return None if step is None else QPointF(at[0], step)
        if self.rank == 3:
            if at[0] != self.depth:
                return None
            at = at[1:]
        return QPointF(at[1], at[0])

    def mark(self, at=None, step: int | None = None) -> None:
        """Outline the cell at ``at`` (None: no cell) on every map."""
        self._marked = None if at is None else (tuple(at), step)
        self._show_mark()

    def _show_mark(self) -> None:
        pt = None if self._marked is None or self.layer is None else self.cell_center(*self._marked)
        for m in self.marks.values():
            m.setData([] if pt is None else [pt.x()], [] if pt is None else [pt.y()])

    def _grow_limit(self, name: str, values: np.ndarray) -> float:
        peak = float(np.max(np.abs(values))) if values.size else 0.0
        lim = self._limits.get(name, 0.0)
        if not np.isfinite(peak) or peak <= lim:
            return lim or 1.0
        lim = nice_ceiling(peak)
        self._limits[name] = lim
        self.bars[name].setLevels((-lim, lim))
        return lim
