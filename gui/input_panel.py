"""The current input sequence: a sample selector over the batch and an editable table (what-if)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableView, QVBoxLayout, QWidget)


class InputTableModel(QAbstractTableModel):
    """Rows are timesteps, columns features, of one sample; edits are reported, not applied here."""

    value_edited = Signal(int, int, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._x = np.zeros((0, 0), np.float32)
        self._current = -1
        self._editable = True

    def set_sequence(self, x: np.ndarray | None, editable: bool = True) -> None:
        self.beginResetModel()
        self._x = np.zeros((0, 0), np.float32) if x is None else (x.reshape(x.shape[0], -1) if x.ndim >= 2 else x[:, None])
        self._editable = editable
        self.endResetModel()

    def set_current_step(self, t: int) -> None:
        old, self._current = self._current, t
        for r in (old, t):
            if 0 <= r < self._x.shape[0]:
                self.headerDataChanged.emit(Qt.Vertical, r, r)
                self.dataChanged.emit(self.index(r, 0), self.index(r, self._x.shape[1] - 1))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self._x.shape[0]

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self._x.shape[1]

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        v = self._x[index.row(), index.column()]
        if role in (Qt.DisplayRole, Qt.EditRole):
            return f"{float(v):.6g}"
        if role == Qt.UserRole:
            return float(v)
        if role == Qt.BackgroundRole and index.row() == self._current:
            from PySide6.QtGui import QColor

            return QColor("#fff3b0")
        return None

    def setData(self, index, value, role=Qt.EditRole):
        if role != Qt.EditRole or not index.isValid():
            return False
        try:
            v = float(value)
        except (TypeError, ValueError):
            return False
        if not np.isfinite(v):
            return False
        self.value_edited.emit(index.row(), index.column(), v)
        return True

    def flags(self, index):
        f = super().flags(index)
        return f | Qt.ItemIsEditable if self._editable else f

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole:
            return f"t={section}" if orientation == Qt.Vertical else f"x{section}"
        if role == Qt.FontRole and orientation == Qt.Vertical and section == self._current:
            from PySide6.QtGui import QFont

            f = QFont()
            f.setBold(True)
            return f
        return None


class InputPanel(QWidget):
    sample_changed = Signal(int)
    open_requested = Signal()
    random_requested = Signal()
    reset_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sample = QSpinBox()
        self.sample.setObjectName("sampleSpin")
        self.sample.setKeyboardTracking(False)
        self.sample.valueChanged.connect(self.sample_changed.emit)
        self.count = QLabel("of 0")
        self.source = QLabel("")
        self.source.setWordWrap(True)
        self.source.setStyleSheet("color: #555;")
        self.model = InputTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("inputTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setDefaultSectionSize(80)
        self.table.setToolTip("Double-click a value to change it: every plot follows (what-if)")
        b_open = QPushButton("Open input…")
        b_open.clicked.connect(self.open_requested.emit)
        b_rand = QPushButton("Random")
        b_rand.clicked.connect(self.random_requested.emit)
        self.b_reset = QPushButton("Undo edits")
        self.b_reset.setObjectName("undoEdits")
        self.b_reset.clicked.connect(self.reset_requested.emit)
        self.b_reset.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(QLabel("sample"))
        row.addWidget(self.sample)
        row.addWidget(self.count)
        row.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(b_open)
        buttons.addWidget(b_rand)
        buttons.addWidget(self.b_reset)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.source)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)

    def show_data(self, batch: int, sample: int, sequence: np.ndarray | None, source: str, edited: bool) -> None:
        self.sample.blockSignals(True)
        self.sample.setRange(0, max(batch - 1, 0))
        self.sample.setValue(sample)
        self.sample.blockSignals(False)
        self.count.setText(f"of {batch}")
        self.source.setText(source + ("  (edited)" if edited else ""))
        editable = sequence is not None and sequence.dtype.kind == "f"
        self.model.set_sequence(sequence, editable)
        self.b_reset.setEnabled(edited)
