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
        self._masked: frozenset[int] = frozenset()
        self._editable = True
        from PySide6.QtGui import QColor

        self._marker = QColor("#ffd54f")
        self._grey = QColor("#9e9e9e")

    def set_sequence(self, x: np.ndarray | None, editable: bool = True) -> None:
        self.beginResetModel()
        self._x = np.zeros((0, 0), np.float32) if x is None else (x.reshape(x.shape[0], -1) if x.ndim >= 2 else x[:, None])
        self._editable = editable
        self.endResetModel()

    def set_current_step(self, t: int) -> int:
        """Mark the timestep being read (row header colour); returns the row marked before."""
        old, self._current = self._current, t
        return old

    def set_masked(self, rows) -> bool:
        new = frozenset(int(r) for r in rows) if rows is not None else frozenset()
        changed = new != self._masked
        self._masked = new
        return changed

    @property
    def current_step(self) -> int:
        return self._current

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
        if role == Qt.ForegroundRole and index.row() in self._masked:
            return self._grey
        if role == Qt.ToolTipRole and index.row() in self._masked:
            return "masked step: the layer carried its state over"
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
        if orientation == Qt.Vertical and section == self._current and role == Qt.BackgroundRole:
            return self._marker  # colour only: a bold font would widen the header and re-lay out the panel
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
        vh = self.table.verticalHeader()
        vh.setDefaultSectionSize(20)
        vh.setSectionResizeMode(vh.ResizeMode.Fixed)
        vh.setFixedWidth(64)  # a header that re-measures itself when the marked step moves re-lays out the panel
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

    def set_current_step(self, t: int) -> None:
        # repaint just the two header sections: headerDataChanged would re-measure the header and re-lay out the
        # panel on every step of a playback
        old = self.model.set_current_step(t)
        vh = self.table.verticalHeader()
        for r in (old, t):
            if 0 <= r < self.model.rowCount():
                vh.updateSection(r)
        if 0 <= t < self.model.rowCount():
            self.table.scrollTo(self.model.index(t, 0))

    def set_masked(self, rows) -> None:
        """Grey out the timesteps the selected layer skipped (masking); rows in input order."""
        if self.model.set_masked(rows):
            self.table.viewport().update()

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
