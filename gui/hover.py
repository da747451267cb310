"""Values on hover: each plot of a scene registers a function that describes what lies under view coordinates
(x, y) — unit, step, value — from the data its items draw; one text box follows the mouse in the plot under it."""
from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg

Describe = Callable[[float, float], "str | None"]


class HoverValues:
    def __init__(self, scene: pg.GraphicsScene):
        self.plots: list[tuple[pg.PlotItem, Describe, pg.TextItem]] = []
        self.text = ""  # what is shown now ("" when nothing), for tests and the status bar
        scene.sigMouseMoved.connect(self.move)

    def add(self, plot: pg.PlotItem, describe: Describe) -> None:
        box = pg.TextItem("", color="#111", fill=pg.mkBrush(255, 255, 225, 235), border=pg.mkPen("#999"),
                          anchor=(0, 1))
        box.setZValue(1000)
        box.hide()
        plot.addItem(box, ignoreBounds=True)
        self.plots.append((plot, describe, box))

    def at(self, plot: pg.PlotItem, x: float, y: float) -> str | None:
        """The text shown with the mouse at view coordinates (x, y) of ``plot``."""
        for p, describe, _ in self.plots:
            if p is plot:
                try:
                    return describe(x, y)
                except (IndexError, ValueError):  # data changing under the mouse: nothing to say this time
                    return None
        return None

    def move(self, scene_pos) -> None:
        self.text = ""
        for plot, describe, box in self.plots:
            inside = plot.isVisible() and plot.vb.sceneBoundingRect().contains(scene_pos)
            text = None
            if inside:
                v = plot.vb.mapSceneToView(scene_pos)
                text = self.at(plot, v.x(), v.y())
            if text:
                self.text = text
                box.setText(text)
                v = plot.vb.mapSceneToView(scene_pos)
                # keep the box inside the plot: it opens towards the larger free side
                centre = plot.vb.sceneBoundingRect().center()
                box.setAnchor((1 if scene_pos.x() > centre.x() else 0, 0 if scene_pos.y() < centre.y() else 1))
                box.setPos(v.x(), v.y())
                box.show()
            elif box.isVisible():
                box.hide()

    def hide(self) -> None:
        self.text = ""
        for _, _, box in self.plots:
            box.hide()
