"""A legend laid out in its plot's own grid, under the bottom axis: it takes its own room and never covers data.
Its entries wrap into as many columns as the plot's width holds, so a legend never makes its plot wider."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QSizePolicy

LEGEND_ROW = 4  # PlotItem's grid: 0 title, 1 top axis, 2 left axis | view | right axis, 3 bottom axis
ENTRY_GAP = 8  # pixels between columns


class OutsideLegend(pg.LegendItem):
    def __init__(self, max_columns: int = 6, **kwargs):
        super().__init__(offset=None, labelTextSize="8pt", **kwargs)
        self.max_columns = max_columns
        self.setColumnCount(max_columns)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)  # the plot's width, to fit columns in

    def entry_width(self) -> float:
        return max((s.boundingRect().width() + l.item.boundingRect().width() + ENTRY_GAP for s, l in self.items),
                   default=0.0)

    def fit(self, width: float) -> None:
        """As many columns as ``width`` (the plot's width, told by the grid that sizes the plot) holds."""
        self._width = width
        self._fit_columns(width)

    def _fit_columns(self, width: float) -> None:
        entry = self.entry_width()
        cols = max(1, min(self.max_columns, int(width // entry))) if entry > 0 else self.max_columns
        if cols != self.columnCount:
            self.setColumnCount(cols)

    def addItem(self, item, name):
        super().addItem(item, name)
        # one column is the least it needs (set, not a sizeHint override: Qt may ask for hints while Python exits)
        self.setMinimumWidth(self.entry_width())
        self._fit_columns(getattr(self, "_width", self.geometry().width()))

    def updateSize(self):
        # pyqtgraph's floating legend sets its own geometry; here the plot's layout sizes it from its grid
        self.updateGeometry()

    def mouseDragEvent(self, ev):
        ev.ignore()  # it has its place; dragging would take it out of the layout


def legend_below(plot: pg.PlotItem, columns: int = 6) -> OutsideLegend:
    """Give ``plot`` a legend under its bottom axis; ``plot.plot(name=…)`` adds entries to it as usual."""
    legend = OutsideLegend(columns)
    legend.setParentItem(plot)  # owned by the plot (a layout alone does not own it: a double free at exit)
    plot.layout.addItem(legend, LEGEND_ROW, 1)
    plot.layout.setRowStretchFactor(LEGEND_ROW, 0)
    plot.legend = legend
    return legend
