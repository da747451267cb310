"""A table over a 2-D (or 1-D) weight block: only the cell Qt asks for is formatted; colours come from an index
array computed once per block (silx's ArrayTableModel pattern), so a 1024×4096 matrix scrolls smoothly."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QStyledItemDelegate

from engine.stats import symmetric_limit

from .colors import NONFINITE_BG, NONFINITE_FG, QCOLORS, TEXT, lut_indices
from .roles import (ALIGNMENT, BACKGROUND, DISPLAY, FONT, FOREGROUND, HORIZONTAL, RIGHT, SELECTED, TOOLTIP, VALUE,
                    VERTICAL)


def nonfinite_text(v: float) -> str:
    return "NaN" if v != v else ("+inf" if v > 0 else "-inf")


class WeightTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._a = np.zeros((0, 0), np.float32)
        self._idx = np.zeros((0, 0), np.uint8)
        self._bad: np.ndarray | None = None  # where the block holds NaN/inf (a diverged model), else None
        self._rows: list[str] = []
        self._cols: list[str] = []
        self._limit = 1.0
        self._highlight: frozenset[int] = frozenset()
        self._rows_shade: np.ndarray | None = None  # per row: a contribution (Explain), shown on the row headers
        self._rows_idx = np.zeros(0, np.uint8)
        self._bold = QFont()
        self._bold.setBold(True)

    def set_array(self, a: np.ndarray, row_names: list[str], col_names: list[str], limit: float | None = None) -> None:
        """Show ``a`` (a view is fine: nothing is copied but the colour indices)."""
        self.beginResetModel()
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        self._a = a2
        self._limit = symmetric_limit(a2) if limit is None else limit
        fin = np.isfinite(a2)
        self._bad = None if fin.all() else ~fin
        self._idx = lut_indices(np.where(fin, a2, 0) if self._bad is not None else a2, self._limit)
        self._rows = row_names
        self._cols = col_names
        self._rows_shade = None
        self.endResetModel()

    def array(self) -> np.ndarray:
        return self._a

    def is_nonfinite(self, r: int, c: int) -> bool:
        return self._bad is not None and bool(self._bad[r, c])

    def set_highlight_columns(self, cols: list[int]) -> None:
        old, self._highlight = self._highlight, frozenset(cols)
        for c in old ^ self._highlight:
            if 0 <= c < self._a.shape[1]:
                self.headerDataChanged.emit(HORIZONTAL, c, c)

    def set_row_shading(self, values: np.ndarray | None) -> None:
        """Colour the row headers by ``values`` (one per row, signed; None clears): each row's contribution."""
        if values is not None and len(values) != self._a.shape[0]:
            values = None
        self._rows_shade = None if values is None else np.asarray(values, np.float64)
        if values is not None:
            self._rows_idx = lut_indices(self._rows_shade, symmetric_limit(self._rows_shade))
        if self._a.shape[0]:
            self.headerDataChanged.emit(VERTICAL, 0, self._a.shape[0] - 1)

    def row_shading(self) -> np.ndarray | None:
        return self._rows_shade

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self._a.shape[0]

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self._a.shape[1]

    def data(self, index, role=DISPLAY):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if self._bad is not None and self._bad[r, c]:
            return self._nonfinite_data(r, c, role)
        if role == DISPLAY:
            return f"{self._a[r, c]:.4f}"
        if role == BACKGROUND:
            return QCOLORS[self._idx[r, c]]
        if role == FOREGROUND:
            return TEXT[self._idx[r, c]]
        if role == ALIGNMENT:
            return RIGHT
        if role == VALUE:  # the exact value, for tests and copy
            return float(self._a[r, c])
        if role == TOOLTIP:
            return f"{self._rows[r]} → {self._cols[c]}: {float(self._a[r, c]):.8g}"
        return None

    def _nonfinite_data(self, r: int, c: int, role):
        v = float(self._a[r, c])
        if role == DISPLAY:
            return nonfinite_text(v)
        if role == BACKGROUND:
            return NONFINITE_BG
        if role == FOREGROUND:
            return NONFINITE_FG
        if role == ALIGNMENT:
            return RIGHT
        if role == VALUE:
            return v
        if role == TOOLTIP:
            return f"{self._rows[r]} → {self._cols[c]}: {nonfinite_text(v)} (non-finite: diverged training?)"
        return None

    def headerData(self, section, orientation, role=DISPLAY):
        names = self._cols if orientation == HORIZONTAL else self._rows
        if not 0 <= section < len(names):
            return None
        if role == DISPLAY:
            return names[section]
        if orientation == VERTICAL and self._rows_shade is not None:
            if role == BACKGROUND:
                return QCOLORS[self._rows_idx[section]]
            if role == FOREGROUND:
                return TEXT[self._rows_idx[section]]
            if role == VALUE:
                return float(self._rows_shade[section])
            if role == TOOLTIP:
                return f"{names[section]}: contributes {self._rows_shade[section]:+.6g} at this step"
        if section in self._highlight and orientation == HORIZONTAL:
            if role == FONT:
                return self._bold
            if role == BACKGROUND:
                return QCOLORS[200]
        return None


class WeightCellDelegate(QStyledItemDelegate):
    """Paints a cell straight from the model's arrays: one Python call per visible cell instead of one per cell
    and role, which keeps scrolling a 1024×4096 block smooth. The model's data() still serves every role."""

    def __init__(self, model: WeightTableModel, parent=None):
        super().__init__(parent)
        self.model = model

    def paint(self, painter, option, index):
        m = self.model
        r, c = index.row(), index.column()
        rect = option.rect
        if m._bad is not None and m._bad[r, c]:
            painter.fillRect(rect, NONFINITE_BG)
            painter.setPen(NONFINITE_FG)
            painter.drawText(rect.adjusted(2, 0, -4, 0), RIGHT, nonfinite_text(float(m._a[r, c])))
            return
        k = m._idx[r, c]
        painter.fillRect(rect, QCOLORS[k])
        if option.state & SELECTED:
            painter.fillRect(rect, option.palette.highlight().color().lighter(160))
        painter.setPen(TEXT[k])
        painter.drawText(rect.adjusted(2, 0, -4, 0), RIGHT, f"{m._a[r, c]:.4f}")
