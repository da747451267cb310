"""W, U and b of the selected recurrent layer, split per gate: a heat-coloured table, per-gate statistics and a
heatmap of the same block (pyqtgraph ImageItem + colour bar, symmetric levels)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QButtonGroup, QHBoxLayout, QLabel, QSplitter, QTableView, QToolButton, QVBoxLayout,
                               QWidget)

import numpy as np

from engine.layers.recurrent import GateSlice
from engine.stats import block_stats, symmetric_limit

from .colors import colormap
from .hover import HoverValues
from .integer_axis import integer_axes
from .weight_table import WeightCellDelegate, WeightTableModel

ALL = "all"
MATRIX_SHORT = {"W": "W (x → gate)", "U": "U (h<sub>t−1</sub> → gate)", "b": "b", "bU": "b<sub>U</sub>"}
MATRIX_TITLES = {"W": "W  kernel (input → gate)", "U": "U  recurrent kernel (h → gate)", "b": "b  bias",
                 "bU": "b_U  recurrent bias"}


def short_gate(gate: str) -> str:
    """A gate's name as short as it can be read: "i", or for a direction of a Bidirectional layer "→i" / "←i"."""
    direction, _, name = gate.rpartition("/")
    return {"forward": "→", "backward": "←"}.get(direction, direction + "/" if direction else "") + name


class WeightsView(QWidget):
    unit_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slices = []
        self.unit = -1
        self.row_pick: np.ndarray | None = None  # U's rows shown, as rows of the block (None: all, Keras' order)
        self.order: np.ndarray | None = None  # the session's unit order: column r of a gate block is unit order[r]
        self._contributions = None  # (gate, unit, {matrix: per-row terms}) from the Explain panel
        self.matrix = "W"
        self.gate = None
        self.title = QLabel("No recurrent layer")
        self.title.setStyleSheet("font-weight: bold; font-size: 11pt;")
        self.matrix_bar = QHBoxLayout()
        self.gate_bar = QHBoxLayout()
        self.matrix_group = QButtonGroup(self)
        self.gate_group = QButtonGroup(self)
        self.matrix_group.idClicked.connect(self._on_matrix_clicked)
        self.gate_group.idClicked.connect(self._on_gate_clicked)

        self.model = WeightTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("weightTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(WeightCellDelegate(self.model, self.table))
        self.table.horizontalHeader().setDefaultSectionSize(62)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().sectionClicked.connect(lambda c: self.unit_clicked.emit(self._unit_of_column(c)))
        self.table.clicked.connect(lambda idx: self.unit_clicked.emit(self._unit_of_column(idx.column())))

        self.plot = pg.PlotWidget(axisItems=integer_axes("left", "bottom"))
        self.plot.setObjectName("weightHeatmap")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.plot.invertY(True)
        self.plot.setLabel("bottom", "unit")
        self.plot.setLabel("left", "input")
        for side in ("left", "bottom", "top"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.gate_separators: list[pg.InfiniteLine] = []  # between the gate blocks when all gates are shown
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=colormap(), interactive=False, width=12)
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.colorbar.axis.setWidth(56)  # pyqtgraph's 45 px clips labels such as −0.05
        self.colorbar.axis.enableAutoSIPrefix(False)
        self.hover = HoverValues(self.plot.scene())
        self.hover.add(self.plot.getPlotItem(), self._describe)
        self.unit_lines = []
        for _ in range(4):  # one per gate when all gates are shown
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#222", width=2), movable=False)
            line.hide()
            self.plot.addItem(line)
            self.unit_lines.append(line)

        self.stats = QLabel()
        self.stats.setObjectName("gateStats")
        mono = QFont("Monospace")
        mono.setStyleHint(QFont.TypeWriter)
        mono.setPointSize(9)
        self.stats.setFont(mono)
        self.stats.setTextInteractionFlags(Qt.TextSelectableByMouse)

        bars = QHBoxLayout()
        bars.addWidget(QLabel("matrix"))
        bars.addLayout(self.matrix_bar)
        bars.addSpacing(16)
        bars.addWidget(QLabel("gate"))
        bars.addLayout(self.gate_bar)
        bars.addStretch(1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setSizes([600, 400])
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(bars)
        lay.addWidget(split, 1)
        lay.addWidget(self.stats)

    # --- content ------------------------------------------------------------------------------------------------
    def set_layer(self, layer) -> None:
        for group, bar in ((self.matrix_group, self.matrix_bar), (self.gate_group, self.gate_bar)):
            for b in group.buttons():
                group.removeButton(b)
                bar.removeWidget(b)
                b.deleteLater()
        self.slices = [] if layer is None else layer.gate_slices()
        self.unit = -1
        if not self.slices:
            self.title.setText("No recurrent layer selected")
            self.model.set_array(np.zeros((0, 0), np.float32), [], [])
            self.stats.setText("")
            return
        self.layer = layer
        self.title.setText(f"{layer.name}  ·  {layer.class_name}({getattr(layer, 'units', '')})")
        self.matrices = list(dict.fromkeys(s.matrix for s in self.slices))
        self.gates = list(dict.fromkeys(s.gate for s in self.slices))
        for i, m in enumerate(self.matrices):
            self._button(self.matrix_group, self.matrix_bar, i, m, MATRIX_TITLES.get(m, m))
        for i, g in enumerate(self.gates):
            self._button(self.gate_group, self.gate_bar, i, short_gate(g), f"gate {g}")
        if len(self.gates) > 1:
            self.gates.append(ALL)
            self._button(self.gate_group, self.gate_bar, len(self.gates) - 1, ALL, "all gates side by side, in Keras' column order")
        self.matrix = self.matrix if self.matrix in self.matrices else self.matrices[0]
        self.gate = self.gate if self.gate in self.gates else self.gates[0]
        self.matrix_group.button(self.matrices.index(self.matrix)).setChecked(True)
        self.gate_group.button(self.gates.index(self.gate)).setChecked(True)
        self._show()

    def _button(self, group, bar, i, text, tip):
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(True)
        b.setAutoRaise(False)
        b.setMinimumWidth(34)
        group.addButton(b, i)
        bar.addWidget(b)

    def set_order(self, order: np.ndarray | None) -> None:
        """Columns of every gate block in this unit order (real unit indices; None: all, Keras' order)."""
        order = None if order is None else np.asarray(order, np.int64)
        if order is not None and self.slices and order.size and order.max() >= self._units_per_block():
            order = None
        same = (order is None and self.order is None) or (
            order is not None and self.order is not None and np.array_equal(order, self.order))
        self.order = order
        if not same and self.slices:
            self._show()

    def _columns(self, n_units: int) -> np.ndarray:
        """The units shown as the columns of one gate block, in order."""
        return np.arange(n_units) if self.order is None else self.order

    def select(self, matrix: str, gate: str) -> None:
        self.matrix, self.gate = matrix, gate
        self.matrix_group.button(self.matrices.index(matrix)).setChecked(True)
        self.gate_group.button(self.gates.index(gate)).setChecked(True)
        self._show()

    def current_block(self):
        if self.gate == ALL:
            parts = [s for s in self.slices if s.matrix == self.matrix]
            if not parts:
                return None
            return GateSlice(self.matrix, ALL, np.concatenate([s.array for s in parts], axis=-1))
        for s in self.slices:
            if s.matrix == self.matrix and s.gate == self.gate:
                return s
        return None

    def _describe(self, x: float, y: float) -> str | None:
        """Hover text over the heatmap: the cell's row and column names and its value."""
        a = self.model.array()
        r, c = int(round(y)), int(round(x))
        rows, cols = self.names()
        if not (0 <= r < a.shape[0] and 0 <= c < a.shape[1]) or len(cols) != a.shape[1]:
            return None
        row = rows[r] if r < len(rows) else str(r)
        return f"{row} → {cols[c]}\n{float(a[r, c]):.6g}"

    def names(self, keras_order: bool = False) -> tuple[list[str], list[str]]:
        """Row and column names of the block shown; with ``keras_order``, the columns of the whole block in Keras'
        order whatever the unit order shown, and the rows too (U's rows follow the unit order when one is set; the CSV
        export writes the block as Keras stores it)."""
        cols = getattr(self, "keras_col_names" if keras_order else "col_names", [])
        rows = getattr(self, "keras_row_names" if keras_order else "row_names", [])
        return list(rows), list(cols)

    def _on_matrix_clicked(self, i):
        self.matrix = self.matrices[i]
        self._show()

    def _on_gate_clicked(self, i):
        self.gate = self.gates[i]
        self._show()

    def _show(self) -> None:
        s = self.current_block()
        if s is None:
            return
        kernel_shape = s.array.shape if s.array.ndim > 2 else None
        # a convolution kernel (*taps, in channels, units), e.g. ConvLSTM's: one row per (tap, input channel), a view
        a = s.array.reshape(-1, s.array.shape[-1]) if kernel_shape else s.array
        same_matrix = [x for x in self.slices if x.matrix == self.matrix]
        limit = max(symmetric_limit(x.array) for x in same_matrix)  # one scale across the four gates
        n_units = a.shape[-1]
        units = self._columns(self._units_per_block())
        if self.order is not None:  # the session's unit order: each gate block's columns permuted (a copy)
            per_block = self._units_per_block()
            pick = np.concatenate([units + k * per_block for k in range(max(n_units // per_block, 1))])
            a = a[..., pick]
            n_units = a.shape[-1]
        per = [x for x in self.slices if x.matrix == self.matrix] if self.gate == ALL else [None]

        def col_names(us):
            return [f"{short_gate(x.gate)}·u{j}" if x is not None else f"u{j}" for x in per for j in us]

        cols = col_names(units)
        self.keras_col_names = col_names(range(self._units_per_block()))  # for the export, in Keras' order
        self.row_pick = None
        if a.ndim == 1:
            rows = [f"{self.matrix}"]
        elif kernel_shape:
            src = "x" if self.matrix == "W" else "h"
            rows = [f"{src}{c} @{','.join(map(str, tap))}" for tap in np.ndindex(*kernel_shape[:-2])
                    for c in range(kernel_shape[-2])]
        elif self.matrix == "W":
            rows = [f"x{j}" for j in range(a.shape[0])]
        else:
            rows = [f"h{j}" for j in range(a.shape[0])]
        self.keras_row_names = rows  # for the export, in Keras' order
        if self.matrix == "U" and not kernel_shape and self.order is not None and a.shape[0] == self._units_per_block():
            # U's rows are the units of h(t-1): they follow the unit order (and its top-N filter) too
            self.row_pick = units
            a = a[units]
            rows = [rows[k] for k in units]
        self.row_names, self.col_names = rows, cols
        self.model.set_array(a, rows, cols, limit)
        # columns wide enough for their names (headers were cut from the left) and for a value such as -0.1234
        fm = self.table.horizontalHeader().fontMetrics()
        widest = max((fm.horizontalAdvance(c) for c in cols), default=0)
        self.table.horizontalHeader().setDefaultSectionSize(max(62, widest + 16))
        img = a.reshape(1, -1) if a.ndim == 1 else a
        self.image.setImage(img, autoLevels=False, levels=(-limit, limit))
        self.image.setRect(-0.5, -0.5, img.shape[1], img.shape[0])  # cell (r, c) centred on (c, r)
        self.colorbar.setLevels((-limit, limit))
        left = {"W": "input feature", "U": "unit of h(t-1)"}.get(self.matrix, "")
        self.plot.setLabel("left", left.replace("feature", "channel").replace("unit", "channel") + " @ kernel tap"
                           if kernel_shape else left)
        self._show_gate_blocks(same_matrix, len(units))
        self._label_units(units, img.shape[1], img.shape[0] if self.row_pick is not None else 0)
        self.highlight_unit(self.unit)
        self._apply_contributions()
        self.plot.autoRange(padding=0.01)
        # short: a title wider than the plot would push the colour bar out of the widget
        gate_text = "all gates" if self.gate == ALL else f"gate {short_gate(self.gate)}"
        self.plot.setTitle(f"{MATRIX_SHORT.get(self.matrix, self.matrix)} · {gate_text}", size="9pt")
        self.plot.setToolTip(f"{MATRIX_TITLES.get(self.matrix, self.matrix)}"
                             + (", all gates side by side in Keras' column order" if self.gate == ALL else ""))
        self.stats.setText(self._stats_text(same_matrix))

    def _stats_text(self, blocks) -> str:
        """One line per gate (the statistics come from the engine), aligned in columns; ▶ marks what is shown."""
        names = [f"{self.matrix}_{x.gate}" for x in blocks]
        w = max([10] + [len(n) + 2 for n in names])  # the name column fits the longest name ("W_backward/i")
        head = f"  {'block':<{w}}{'shape':>12}{'min':>12}{'max':>12}{'mean':>12}{'std':>12}{'‖·‖':>12}"
        lines = [head]
        for x, name in zip(blocks, names):
            st = block_stats(x.array)
            mark = "▶" if x.gate == self.gate or self.gate == ALL else " "
            lines.append(f"{mark} {name:<{w}}{str(tuple(x.array.shape)):>12}{st.min:>+12.4g}"
                         f"{st.max:>+12.4g}{st.mean:>+12.4g}{st.std:>12.4g}{st.norm:>12.4g}")
        return "\n".join(lines)

    def _show_gate_blocks(self, blocks, n_columns: int) -> None:
        """With all gates side by side: a line between gate blocks and the gate names along the top axis."""
        top = self.plot.getAxis("top")
        if self.gate != ALL or len(blocks) < 2:
            for line in self.gate_separators:
                line.hide()
            self.plot.showAxis("top", False)
            return
        u = len(self._columns(blocks[0].array.shape[-1]))  # columns per block as shown (top N)
        while len(self.gate_separators) < len(blocks) - 1:  # created once, reused
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#333", width=1.5), movable=False)
            line.setZValue(5)
            self.plot.addItem(line)
            self.gate_separators.append(line)
        for k, line in enumerate(self.gate_separators):
            line.setVisible(k < len(blocks) - 1)
            line.setPos((k + 1) * u - 0.5)
        # a Bidirectional layer's eight blocks are narrow: "→i" / "←i", as "W_forward/i" labels ran into each other
        top.setTicks([[((k + 0.5) * u - 0.5, short_gate(x.gate) if "/" in x.gate else f"{self.matrix}_{x.gate}")
                       for k, x in enumerate(blocks)], []])
        self.plot.showAxis("top", True)

    def _label_units(self, units: np.ndarray, n_cols: int, n_rows: int) -> None:
        """With a unit order, the heatmap's axes name the real units (u17, h17) at as many places as fit (12 at
        most), as the table's headers do; in Keras' order positions are the units and the axes count them."""
        bottom, left = self.plot.getAxis("bottom"), self.plot.getAxis("left")
        if self.order is None or not len(units):
            bottom.setTicks(None)
            left.setTicks(None)
            return
        u = len(units)
        box = self.plot.getViewBox().sceneBoundingRect()
        # as many labels as fit: ~48 px for "u123" along the bottom, ~20 px a line on the left
        fit_cols = int(box.width() // 48) if box.width() > 0 else 6
        fit_rows = int(box.height() // 20) if box.height() > 0 else 12

        def ticks(n, name, most):
            step = max(1, int(np.ceil(n / max(2, min(12, most)))))
            return [[(c, f"{name}{units[c % u]}") for c in range(0, n, step)], []]

        bottom.setTicks(ticks(n_cols, "u", fit_cols))
        left.setTicks(ticks(n_rows, "h", fit_rows) if n_rows else None)

    def _units_per_block(self) -> int:
        per = [x for x in self.slices if x.matrix == self.matrix]
        return per[0].array.shape[-1] if per else 1

    def _unit_of_column(self, col: int) -> int:
        """The real unit of a shown column."""
        units = self._columns(self._units_per_block())
        r = col % len(units) if self.gate == ALL and len(units) else col
        return int(units[r]) if 0 <= r < len(units) else -1

    def show_contributions(self, gate: str | None, unit: int = -1, x_terms=None, h_terms=None) -> None:
        """Rows of ``gate``'s W and U shaded by their terms at the explained step (None clears); the gate is
        shown and column ``unit`` highlighted."""
        if gate is None or not self.slices or gate not in getattr(self, "gates", []):
            self._contributions = None
            self.model.set_row_shading(None)
            return
        self._contributions = (gate, unit, {"W": x_terms, "U": h_terms})
        if self.gate not in (gate, ALL):
            self.select(self.matrix, gate)  # _show applies the shading
        else:
            self._apply_contributions()
        if unit != self.unit:
            self.highlight_unit(unit)

    def _apply_contributions(self) -> None:
        c = self._contributions
        if c is None or self.gate not in (c[0], ALL):
            self.model.set_row_shading(None)
            return
        terms = c[2].get(self.matrix)
        pick = self.row_pick
        if terms is not None and pick is not None and len(terms) == self._units_per_block():
            terms = np.asarray(terms)[pick]  # the terms of the rows shown, in their order
        self.model.set_row_shading(terms)

    def highlight_unit(self, unit: int) -> None:
        self.unit = unit
        units = self._columns(self._units_per_block())
        u = len(units)
        n_blocks = max(self.model.columnCount() // max(u, 1), 1) if self.gate == ALL else 1
        where = np.flatnonzero(units == unit) if unit >= 0 else np.zeros(0, np.int64)
        cols = [int(where[0]) + k * u for k in range(n_blocks)] if where.size else []
        self.model.set_highlight_columns(cols)
        for line in self.unit_lines:
            line.hide()
        for line, c in zip(self.unit_lines, cols):
            line.setPos(c)  # column c is centred on x = c
            line.show()
        if cols and self.model.columnCount() > cols[0]:
            self.table.scrollTo(self.model.index(0, cols[0]))
