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
from .weight_table import WeightCellDelegate, WeightTableModel

ALL = "all"
MATRIX_TITLES = {"W": "W  kernel (input → gate)", "U": "U  recurrent kernel (h → gate)", "b": "b  bias",
                 "bU": "b_U  recurrent bias"}


class WeightsView(QWidget):
    unit_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slices = []
        self.unit = -1
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

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("weightHeatmap")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.plot.invertY(True)
        self.plot.setLabel("bottom", "unit")
        self.plot.setLabel("left", "input")
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=colormap(), interactive=False, width=12)
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
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
            self._button(self.gate_group, self.gate_bar, i, g, f"gate {g}")
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
        a = s.array
        same_matrix = [x for x in self.slices if x.matrix == self.matrix]
        limit = max(symmetric_limit(x.array) for x in same_matrix)  # one scale across the four gates
        n_units = a.shape[-1]
        if self.gate == ALL:
            per = [x for x in self.slices if x.matrix == self.matrix]
            cols = [f"{x.gate}·u{j}" for x in per for j in range(x.array.shape[-1])]
        else:
            cols = [f"u{j}" for j in range(n_units)]
        if a.ndim == 1:
            rows = [f"{self.matrix}"]
        elif self.matrix == "W":
            rows = [f"x{j}" for j in range(a.shape[0])]
        else:
            rows = [f"h{j}" for j in range(a.shape[0])]
        self.model.set_array(a, rows, cols, limit)
        self.highlight_unit(self.unit)
        img = a.reshape(1, -1) if a.ndim == 1 else a
        self.image.setImage(img, autoLevels=False, levels=(-limit, limit))
        self.colorbar.setLevels((-limit, limit))
        self.plot.setLabel("left", "input feature" if self.matrix == "W" else ("unit of h(t-1)" if self.matrix == "U" else ""))
        self.plot.autoRange()
        lines = [f"{MATRIX_TITLES.get(self.matrix, self.matrix)}, gate by gate:"]
        for x in same_matrix:
            mark = "▶" if x.gate == self.gate or self.gate == ALL else " "
            lines.append(f"{mark} {self.matrix}_{x.gate:<10} {str(tuple(x.array.shape)):<12} {block_stats(x.array).line()}")
        self.stats.setText("\n".join(lines))

    def _units_per_block(self) -> int:
        per = [x for x in self.slices if x.matrix == self.matrix]
        return per[0].array.shape[-1] if per else 1

    def _unit_of_column(self, col: int) -> int:
        return col % self._units_per_block() if self.gate == ALL else col

    def highlight_unit(self, unit: int) -> None:
        self.unit = unit
        u = self._units_per_block()
        n_blocks = max(self.model.columnCount() // max(u, 1), 1) if self.gate == ALL else 1
        cols = [unit + k * u for k in range(n_blocks)] if unit >= 0 else []
        self.model.set_highlight_columns(cols)
        for line in self.unit_lines:
            line.hide()
        for line, c in zip(self.unit_lines, cols):
            line.setPos(c + 0.5)  # pixel j spans [j, j+1]
            line.show()
        if cols and self.model.columnCount() > cols[0]:
            self.table.scrollTo(self.model.index(0, cols[0]))
