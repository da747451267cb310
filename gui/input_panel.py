"""The current input sequence: a sample selector over the batch and an editable table (what-if)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QStyledItemDelegate, QTableView, QVBoxLayout, QWidget)

from .roles import BACKGROUND, DISPLAY, EDIT, EDITABLE, FOREGROUND, RIGHT, SELECTED, TOOLTIP, VALUE, VERTICAL


class InputTableModel(QAbstractTableModel):
    """Rows are timesteps, columns features, of one sample; edits are reported, not applied here."""

    value_edited = Signal(int, int, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._x = np.zeros((0, 0), np.float32)
        self._current = -1
        self._masked: frozenset[int] = frozenset()
        self._editable = True
        self._marker = QColor("#ffd54f")
        self._grey = QColor("#9e9e9e")

    def set_sequence(self, x: np.ndarray | None, editable: bool = True) -> None:
        self.beginResetModel()
        if x is None:
            x = np.zeros((0, 0), np.float32)
        self._x = x.reshape(x.shape[0], -1) if x.ndim >= 2 else x[:, None]
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

    def data(self, index, role=DISPLAY):
        if not index.isValid():
            return None
        if role == DISPLAY or role == EDIT:
            return f"{float(self._x[index.row(), index.column()]):.6g}"
        if role == VALUE:
            return float(self._x[index.row(), index.column()])
        if role == FOREGROUND and index.row() in self._masked:
            return self._grey
        if role == TOOLTIP and index.row() in self._masked:
            return "masked step: the layer carried its state over"
        return None

    def setData(self, index, value, role=EDIT):
        if role != EDIT or not index.isValid():
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
        return f | EDITABLE if self._editable else f

    def headerData(self, section, orientation, role=DISPLAY):
        if role == DISPLAY:
            return f"t={section}" if orientation == VERTICAL else f"x{section}"
        if role == BACKGROUND and section == self._current and orientation == VERTICAL:
            return self._marker  # colour only: a bold font would widen the header and re-lay out the panel
        return None


class InputCellDelegate(QStyledItemDelegate):
    """Paints a value straight from the model's array (one Python call per cell instead of one per cell and role):
    a playback scrolls this table every step. Editing still goes through the model's data()/setData()."""

    def __init__(self, model: InputTableModel, parent=None):
        super().__init__(parent)
        self.model = model

    def paint(self, painter, option, index):
        m = self.model
        r, c = index.row(), index.column()
        rect = option.rect
        selected = bool(option.state & SELECTED)
        if selected:
            painter.fillRect(rect, option.palette.highlight())
        if r in m._masked:
            painter.setPen(m._grey)
        else:
            painter.setPen(option.palette.highlightedText().color() if selected else option.palette.text().color())
        painter.drawText(rect.adjusted(4, 0, -4, 0), RIGHT, f"{float(m._x[r, c]):.6g}")


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
        self.table.setItemDelegate(InputCellDelegate(self.model, self.table))
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
            # scroll only when the row has left the view, and then centre it: a playback scrolls every few steps
            # instead of every step
            row = self.table.visualRect(self.model.index(t, 0))
            if row.top() < 0 or row.bottom() > self.table.viewport().height():
                column = max(self.table.columnAt(0), 0)  # keep the horizontal position
                self.table.scrollTo(self.model.index(t, column), QAbstractItemView.PositionAtCenter)

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
