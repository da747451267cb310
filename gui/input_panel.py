"""The current input sequence: a sample selector over the batch, an input selector for a model with several inputs,
and an editable table (what-if) that keeps the keyboard while it has focus."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemDelegate, QAbstractItemView, QComboBox, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QStyledItemDelegate, QTableView, QVBoxLayout, QWidget)

from .roles import BACKGROUND, DISPLAY, EDIT, EDITABLE, FOREGROUND, RIGHT, SELECTED, TOOLTIP, VALUE, VERTICAL


class InputTableModel(QAbstractTableModel):
    """Rows are timesteps, columns features, of one sample; edits are reported, not applied here."""

    value_edited = Signal(int, int, object)  # row, column, the value (a float, or an int token id)
    edit_refused = Signal(str)  # why a typed value was not taken

    def __init__(self, parent=None):
        super().__init__(parent)
        self._x = np.zeros((0, 0), np.float32)
        self._current = -1
        self._masked: frozenset[int] = frozenset()
        self._editable = True
        self._integer = False
        self.check_value = None  # (text) -> (value, None) or (None, why): set by the window from the session
        self._marker = QColor("#ffd54f")
        self._grey = QColor("#9e9e9e")

    def set_sequence(self, x: np.ndarray | None, editable: bool = True, integer: bool = False) -> None:
        if x is None:
            x = np.zeros((0, 0), np.float32)
        x = x.reshape(x.shape[0], -1) if x.ndim >= 2 else x[:, None]
        if x.shape == self._x.shape and editable == self._editable and integer == self._integer:
            # same table, new values (an edit, another sample): the current cell and the scroll position stay
            self._x = x
            if x.size:
                self.dataChanged.emit(self.index(0, 0), self.index(x.shape[0] - 1, x.shape[1] - 1))
            return
        self.beginResetModel()
        self._x = x
        self._editable = editable
        self._integer = integer
        self.endResetModel()

    def text(self, r: int, c: int) -> str:
        v = self._x[r, c]
        return str(int(v)) if self._integer else f"{float(v):.6g}"

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
            return self.text(index.row(), index.column())
        if role == VALUE:
            v = self._x[index.row(), index.column()]
            return int(v) if self._integer else float(v)
        if role == FOREGROUND and index.row() in self._masked:
            return self._grey
        if role == TOOLTIP and index.row() in self._masked:
            return "masked step: the layer carried its state over"
        return None

    def setData(self, index, value, role=EDIT):
        if role != EDIT or not index.isValid():
            return False
        if self.check_value is not None:
            v, why = self.check_value(value)
        else:
            try:
                v, why = float(value), None
            except (TypeError, ValueError):
                v, why = None, f"{value!r} is not a number"
        if why is not None:
            self.edit_refused.emit(why)
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
        painter.drawText(rect.adjusted(4, 0, -4, 0), RIGHT, m.text(r, c))


class InputTable(QTableView):
    """The input table keeps its keys while it has focus (the window's step keys are shortcuts: a view that does
    not claim ← → Home End Space would lose them); Enter commits an edit and moves down, as in a spreadsheet."""

    OWN_KEYS = {Qt.Key_Left, Qt.Key_Right, Qt.Key_Up, Qt.Key_Down, Qt.Key_Home, Qt.Key_End, Qt.Key_Space,
                Qt.Key_PageUp, Qt.Key_PageDown, Qt.Key_Return, Qt.Key_Enter}

    def event(self, ev):
        # (while a cell is being edited, its editor claims the keys it uses itself)
        if ev.type() == QEvent.ShortcutOverride and ev.key() in self.OWN_KEYS and \
                self.state() != QAbstractItemView.EditingState:
            ev.accept()  # the key goes to the table, not to the window's shortcut
            return True
        return super().event(ev)

    def keyPressEvent(self, ev):
        if ev.key() in (Qt.Key_Return, Qt.Key_Enter) and self.state() != QAbstractItemView.EditingState:
            self._move_down()
            ev.accept()
            return
        if ev.key() == Qt.Key_Space:  # kept from the play shortcut, and not the start of an edit either
            ev.accept()
            return
        super().keyPressEvent(ev)

    def closeEditor(self, editor, hint):
        super().closeEditor(editor, hint)
        if hint == QAbstractItemDelegate.SubmitModelCache:  # Enter: committed; go to the row below
            self._move_down()

    def _move_down(self) -> None:
        cur = self.currentIndex()
        if cur.isValid() and cur.row() + 1 < self.model().rowCount():
            self.setCurrentIndex(self.model().index(cur.row() + 1, cur.column()))


class InputPanel(QWidget):
    sample_changed = Signal(int)
    input_changed = Signal(int)  # which model input the table shows
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
        self.input_box = QComboBox()
        self.input_box.setObjectName("inputBox")
        self.input_box.setToolTip("Which of the model's inputs the table shows")
        self.input_box.currentIndexChanged.connect(lambda k: self.input_changed.emit(k) if k >= 0 else None)
        self.input_label = QLabel("input")
        self.refusal = QLabel("")
        self.refusal.setObjectName("editRefusal")
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet("color: #b00020;")
        self.refusal.hide()
        self.model.edit_refused.connect(self.show_refusal)
        self.table = InputTable()
        self.table.setObjectName("inputTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(InputCellDelegate(self.model, self.table))
        vh = self.table.verticalHeader()
        vh.setDefaultSectionSize(20)
        vh.setSectionResizeMode(vh.ResizeMode.Fixed)
        vh.setFixedWidth(64)  # a header that re-measures itself when the marked step moves re-lays out the panel
        self.table.horizontalHeader().setDefaultSectionSize(80)
        self.table.setToolTip("Double-click a value (or type) to change it: every plot follows (what-if). "
                              "Arrows move, Enter commits and moves down.")
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed
                                   | QAbstractItemView.AnyKeyPressed)
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
        row.addSpacing(12)
        row.addWidget(self.input_label)
        row.addWidget(self.input_box, 1)
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
        lay.addWidget(self.refusal)
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

    def show_refusal(self, why: str) -> None:
        """Why a typed value was not taken, under the table (until the next accepted edit or another sample)."""
        self.refusal.setText(f"Not changed: {why}")
        self.refusal.setVisible(bool(why))

    def show_data(self, batch: int, sample: int, sequence: np.ndarray | None, source: str, edited: bool,
                  input_names: list[str] | None = None, input_index: int = 0, integer: bool = False,
                  editable: bool = True) -> None:
        self.sample.blockSignals(True)
        self.sample.setRange(0, max(batch - 1, 0))
        self.sample.setValue(sample)
        self.sample.blockSignals(False)
        self.count.setText(f"of {batch}")
        self.source.setText(source)
        names = input_names or []
        self.input_box.blockSignals(True)
        if [self.input_box.itemText(i) for i in range(self.input_box.count())] != [f"{k}: {n}" for k, n in enumerate(names)]:
            self.input_box.clear()
            self.input_box.addItems([f"{k}: {n}" for k, n in enumerate(names)])
        self.input_box.setCurrentIndex(input_index)
        self.input_box.blockSignals(False)
        self.input_box.setVisible(len(names) > 1)
        self.input_label.setVisible(len(names) > 1)
        self.model.set_sequence(sequence, editable and sequence is not None, integer)
        self.refusal.hide()
        self.b_reset.setEnabled(edited)
