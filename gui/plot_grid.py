"""Plots as tiles of one pyqtgraph scene that reflow with the space they get, so that each is whole at any size.

The tiles fill as many columns as fit at ``MIN_TILE_WIDTH`` (up to ``MAX_COLUMNS``); rows are at least
``MIN_TILE_HEIGHT`` tall and the grid scrolls vertically when they do not all fit. A double-click on a tile (or
``maximise``) shows that tile alone over the whole area; another double-click, Escape or the "All plots" button
brings the grid back. The plot items themselves are created once by their owners and only moved between cells.
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

MIN_TILE_WIDTH = 300
MIN_TILE_HEIGHT = 225
MAX_COLUMNS = 4


def loosen_title(plot: pg.PlotItem) -> None:
    """A title never widens its plot: pyqtgraph makes a label's text width its minimum width, so a long title
    would push the grid wider than the window. The text is cut instead, and the full title is the tooltip."""
    label = plot.titleLabel
    update = label.updateMin

    def update_min():
        update()
        label.setMinimumWidth(0)
        label.setToolTip(label.text)

    label.updateMin = update_min
    update_min()


class PlotGrid(QWidget):
    maximised_changed = Signal(object)  # the tile shown alone, or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground("w")
        self.glw.ci.setContentsMargins(2, 2, 2, 2)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("plotScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # columns reflow instead
        self.scroll.setWidget(self.glw)
        self.back_row = QWidget()
        row = QHBoxLayout(self.back_row)
        row.setContentsMargins(6, 2, 6, 2)
        self.back_label = QLabel("")
        self.back_button = QToolButton()
        self.back_button.setObjectName("allPlotsButton")
        self.back_button.setText("◱ All plots")
        self.back_button.setToolTip("Back to every plot (Esc, or double-click the plot)")
        self.back_button.clicked.connect(lambda: self.maximise(None))
        row.addWidget(self.back_label)
        row.addStretch(1)
        row.addWidget(self.back_button)
        self.back_row.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.back_row)
        lay.addWidget(self.scroll, 1)
        self.tiles: list[pg.PlotItem] = []
        self.hidden: set[int] = set()  # tiles left out (a plot with nothing to show for this model)
        self.maximised: pg.PlotItem | None = None
        self.columns = 0
        self._placed: tuple | None = None
        self.glw.scene().sigMouseClicked.connect(self._on_click)

    def add(self, plot: pg.PlotItem) -> pg.PlotItem:
        loosen_title(plot)
        self.tiles.append(plot)
        plot.setParentItem(self.glw.ci)  # owned by the scene's layout item (a layout alone does not own it)
        self.glw.ci.layout.addItem(plot, 0, len(self.tiles) - 1)  # parented to the scene now, placed by reflow
        self._placed = None
        return plot

    def set_hidden(self, plot: pg.PlotItem, hidden: bool) -> None:
        key = id(plot)
        if (key in self.hidden) != hidden:
            (self.hidden.add if hidden else self.hidden.discard)(key)
            if hidden and self.maximised is plot:
                self.maximised = None
            self.reflow()

    def shown_tiles(self) -> list[pg.PlotItem]:
        if self.maximised is not None:
            return [self.maximised]
        return [p for p in self.tiles if id(p) not in self.hidden]

    def columns_for(self, width: int) -> int:
        return max(1, min(MAX_COLUMNS, width // MIN_TILE_WIDTH))

    def reflow(self, force: bool = False) -> None:
        shown = self.shown_tiles()
        # the width beside a vertical scroll bar, shown or not, so a bar that comes and goes cannot flip the columns
        width = self.scroll.width() - self.scroll.verticalScrollBar().sizeHint().width()
        cols = 1 if self.maximised is not None else min(self.columns_for(width), max(len(shown), 1))
        placed = (cols, tuple(id(p) for p in shown))
        self._size_columns(cols, width)
        if placed == self._placed and not force:
            return
        self._placed = placed
        self.columns = cols
        layout = self.glw.ci.layout
        while layout.count():
            layout.removeAt(0)
        for p in self.tiles:
            p.setVisible(False)
        rows = max(math.ceil(len(shown) / cols), 1)
        for k, p in enumerate(shown):
            layout.addItem(p, k // cols, k % cols)
            p.setVisible(True)
        for r in range(len(self.tiles)):
            layout.setRowStretchFactor(r, 1 if r < rows else 0)
        # rows at least MIN_TILE_HEIGHT: below that the area scrolls rather than squeezing a plot
        self.glw.setMinimumHeight(0 if self.maximised is not None else rows * MIN_TILE_HEIGHT)

    def _size_columns(self, cols: int, width: int) -> None:
        """Equal columns that share the width exactly: left to itself, the layout gives wider columns to plots that
        ask for more (colour bars, long tick labels) and pushes the last column out of the window."""
        layout = self.glw.ci.layout
        left, _, right, _ = layout.getContentsMargins()
        inner = max(width - int(left + right) - 20, cols)
        spacing = layout.horizontalSpacing() if layout.horizontalSpacing() >= 0 else 0
        w = max((inner - spacing * (cols - 1)) / cols, 50)
        for p in self.tiles:  # legends wrap into the columns the plot's width holds (less its axes)
            fit = getattr(p.legend, "fit", None)
            if fit is not None:
                fit((width if self.maximised is p else w) - 50)
        for c in range(MAX_COLUMNS):
            if c < cols:
                layout.setColumnFixedWidth(c, w)
            else:
                layout.setColumnMinimumWidth(c, 0)
                layout.setColumnMaximumWidth(c, 0)

    def maximise(self, plot: pg.PlotItem | None) -> None:
        """Show ``plot`` alone (None: every plot again)."""
        if plot is self.maximised:
            return
        self.maximised = plot
        self.back_row.setVisible(plot is not None)
        if plot is not None:
            self.back_label.setText(f"<b>{plot.titleLabel.text}</b>")
        self.reflow()
        self.scroll.verticalScrollBar().setValue(0)
        self.maximised_changed.emit(plot)

    def tile_at(self, scene_pos) -> pg.PlotItem | None:
        for p in self.shown_tiles():
            if p.sceneBoundingRect().contains(scene_pos):
                return p
        return None

    def _on_click(self, ev) -> None:
        if not ev.double() or ev.button() != Qt.LeftButton:
            return
        plot = self.tile_at(ev.scenePos())
        if plot is not None:
            self.maximise(None if self.maximised is plot else plot)
            ev.accept()

    def scroll_to(self, plot: pg.PlotItem) -> None:
        """Bring a tile into view (it is whole once scrolled: no tile is taller than the area)."""
        r = self.glw.mapFromScene(plot.sceneBoundingRect()).boundingRect()
        self.scroll.ensureVisible(r.center().x(), r.center().y(), r.width() // 2 + 2, r.height() // 2 + 2)

    def keyPressEvent(self, ev) -> None:
        if ev.key() == Qt.Key_Escape and self.maximised is not None:
            self.maximise(None)
            ev.accept()
        else:
            super().keyPressEvent(ev)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.reflow()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        self.reflow()
