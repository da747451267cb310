"""Item-model roles, orientations and flags as fully qualified enum members, looked up once.

PySide6 resolves the short forms (``Qt.DisplayRole``) through a slow compatibility hook, ~4 µs per access; data(),
headerData() and the cell delegates would pay that several times per visible cell on every repaint."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyle

DISPLAY = Qt.ItemDataRole.DisplayRole
EDIT = Qt.ItemDataRole.EditRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
BACKGROUND = Qt.ItemDataRole.BackgroundRole
FOREGROUND = Qt.ItemDataRole.ForegroundRole
ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
FONT = Qt.ItemDataRole.FontRole
VALUE = Qt.ItemDataRole.UserRole  # the exact float of a cell, for tests and copying
HORIZONTAL = Qt.Orientation.Horizontal
VERTICAL = Qt.Orientation.Vertical
RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)  # right-aligned, centred
EDITABLE = Qt.ItemFlag.ItemIsEditable
SELECTED = QStyle.StateFlag.State_Selected
