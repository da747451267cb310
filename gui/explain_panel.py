"""The Explain dock: any gate or state value of the shown layer taken apart, live with the stepper.

Click a gate bar, a heatmap cell or a state curve, or a cell of a ConvLSTM's maps (or pick a unit, or a channel and a
position, and a gate here): the panel shows the equation with its numbers, the activation curve with the operating
point, the terms as a signed bar chart (top N and "rest"), and shades the Weights view's rows of that gate by their
contribution. The decomposition is the engine's (engine/explain.py); this module only reads it out and draws it.

``install(window)`` adds the dock, File ▸ Export ▸ As NumPy code, and the click hooks on the replay plots, so the
window itself only calls it once.
"""
from __future__ import annotations

import os

import numpy as np
import PySide6  # noqa: F401  (before pyqtgraph)
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMenu, QProgressBar,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from engine.explain import (ExplainError, activation_curve, cell_sources, explain, explain_readout, explainable,
                            grid, has_positions, readout_dense, readout_output)
from engine.explain import targets as explain_targets
from engine.unit_stats import ORDER_KEYS

from .gate_heatmaps import GateHeatmaps

#: the replay's gate records, as the explain targets they show
RECORD_TARGET = {"i": "i", "f": "f", "c~": "c", "o": "o", "z": "z", "r": "r", "h~": "hh", "C": "C", "h": "h"}
#: the weights view's gate names for a target (GRU's candidate is gate "h" there)
WEIGHTS_GATE = {"hh": "h"}
POS, NEG = pg.mkBrush("#d62728"), pg.mkBrush("#1f77b4")
REST = pg.mkBrush("#aaaaaa")


class ExplainPanel(QWidget):
    """Reads the session (the open model, its stepper, the selected layer and unit); shows one Explanation."""

    explained = Signal(object)  # the Explanation shown, or None

    def __init__(self, session, direction_of=None, parent=None):
        super().__init__(parent)
        self.session = session
        #: the window's shown direction of a Bidirectional layer (the panel follows it), or None
        self.direction_of = direction_of
        self.direction: str | None = None
        self.gate: str | None = None
        self.unit = 0
        self.step: int | None = None  # a step picked on a heatmap; None follows the stepper
        self.at: tuple[int, ...] | None = None  # a ConvLSTM's position on its output grid (None for units)
        self.top_n = 10
        self.explanation = None

        self.title = QLabel("Click a gate bar, a heatmap cell, a state value or a cell of a map")
        self.title.setObjectName("explainTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold;")
        self.gate_box = QComboBox()
        self.gate_box.setObjectName("explainGate")
        self.gate_box.setToolTip("What to take apart: a gate, a state, or y (the Dense that reads h)")
        self.gate_box.currentTextChanged.connect(self._on_gate_box)
        self.unit_box = QSpinBox()
        self.unit_box.setObjectName("explainUnit")
        self.unit_box.setPrefix("unit ")
        self.unit_box.valueChanged.connect(self._on_unit_box)
        # a ConvLSTM's position: one box per axis of its grid (z, y, x), hidden for a layer of units
        self.at_label = QLabel("at")
        self.at_boxes: list[QSpinBox] = []
        for k in range(3):
            box = QSpinBox()
            box.setObjectName(f"explainAt{k}")
            box.valueChanged.connect(self._on_at_box)
            self.at_boxes.append(box)
        self.top_box = QSpinBox()
        self.top_box.setRange(1, 64)
        self.top_box.setValue(self.top_n)
        self.top_box.setPrefix("top ")
        self.top_box.valueChanged.connect(self._on_top_box)
        row = QHBoxLayout()
        row.addWidget(self.gate_box)
        row.addWidget(self.unit_box)
        row.addWidget(self.at_label)
        for box in self.at_boxes:
            row.addWidget(box)
        row.addWidget(self.top_box)
        row.addStretch(1)
        self.equation = QLabel("")
        self.equation.setObjectName("explainEquation")
        self.equation.setWordWrap(True)
        self.equation.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.equation.setStyleSheet("font-family: monospace; font-size: 10pt;")

        self.act_plot = pg.PlotWidget(title="activation at the operating point")
        self.act_plot.setBackground("w")
        self.act_plot.setMinimumHeight(150)
        self.act_plot.showGrid(x=True, y=True, alpha=0.2)
        self.act_plot.setLabel("bottom", "pre-activation")
        self.act_curve = self.act_plot.plot(pen=pg.mkPen("#333", width=1.5), antialias=True)
        self.act_point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush("#d62728"), pen=pg.mkPen("w"))
        self.act_plot.addItem(self.act_point)
        self.sat_lines = [pg.InfiniteLine(angle=0, pen=pg.mkPen("#bbb", style=Qt.DashLine)) for _ in range(2)]
        for line, y in zip(self.sat_lines, (0.05, 0.95)):
            line.setPos(y)
            self.act_plot.addItem(line)

        self.bar_plot = pg.PlotWidget(title="contributions (signed)")
        self.bar_plot.setBackground("w")
        self.bar_plot.setMinimumHeight(220)
        self.bar_plot.invertY(True)
        self.bar_plot.setLabel("bottom", "term")
        self.bar_plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brushes=[], pen=None)
        self.bar_plot.addItem(self.bars)
        self.zero_line = pg.InfiniteLine(angle=90, pos=0, pen=pg.mkPen("#555"))
        self.bar_plot.addItem(self.zero_line)
        self.bar_names: list[str] = []
        self.bar_values = np.zeros(0)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addLayout(row)
        lay.addWidget(self.equation)
        lay.addWidget(self.act_plot, 2)
        lay.addWidget(self.bar_plot, 3)

        s = session
        s.model_changed.connect(self._on_layer_changed)
        s.layer_changed.connect(self._on_layer_changed)
        s.data_changed.connect(self.refresh)
        s.step_changed.connect(self._on_step_changed)
        s.unit_changed.connect(self._on_unit_changed)

    # --- what to explain -----------------------------------------------------------------------------------------
    def _node(self):
        s = self.session
        if s.model is None or s.node_id is None:
            return None
        return s.model.graph.nodes[s.node_id]

    def _shown_layer(self):
        node = self._node()
        if node is None:
            return None
        return getattr(node.layer, f"{self.direction}_layer", node.layer) if self.direction else node.layer

    def _on_layer_changed(self) -> None:
        node = self._node()
        bidi = node is not None and hasattr(node.layer, "forward_layer")
        wanted = self.direction_of() if self.direction_of is not None else self.direction
        self.direction = (wanted if wanted in ("forward", "backward") else "forward") if bidi else None
        layer = self._shown_layer()
        self.gate_box.blockSignals(True)
        self.gate_box.clear()
        if layer is not None:
            try:
                names = list(explain_targets(layer))
            except (ExplainError, KeyError):
                names = []
            if names and not self.direction and readout_dense(self.session.model.graph, node) is not None:
                names.append("y")
            self.gate_box.addItems(names)
            if self.gate not in names:
                self.gate = names[0] if names else None
            if self.gate is not None:
                self.gate_box.setCurrentText(self.gate)
            self.unit_box.blockSignals(True)
            self.unit_box.setRange(0, max(int(getattr(layer, "units", 1)) - 1, 0))
            self.unit_box.setPrefix("channel " if has_positions(layer) else "unit ")
            self.unit_box.blockSignals(False)
        self.gate_box.blockSignals(False)
        self._configure_at(layer)
        self.step = None
        self.refresh()

    def _configure_at(self, layer, g: tuple[int, ...] = ()) -> None:
        """The position boxes for a ConvLSTM's grid ``g`` (by default from the model's static shapes; the position
        kept when it fits, else the middle)."""
        if not g and layer is not None and has_positions(layer) and layer.input_spatial is not None:
            g = tuple(int(n) for n in layer.state_spatial(layer.input_spatial))
        if not g:
            self.at = None
        elif self.at is None or len(self.at) != len(g) or not all(0 <= v < n for v, n in zip(self.at, g)):
            self.at = tuple(n // 2 for n in g)
        names = {1: ("x ",), 2: ("y ", "x "), 3: ("z ", "y ", "x ")}.get(len(g), ())
        self.at_label.setVisible(bool(g))
        for k, box in enumerate(self.at_boxes):
            box.blockSignals(True)
            if k < len(g):
                box.setPrefix(names[k])
                box.setRange(0, g[k] - 1)
                box.setValue(self.at[k])
            box.setVisible(k < len(g))
            box.blockSignals(False)

    def _on_at_box(self, _v: int) -> None:
        if self.at is not None:
            self.at = tuple(b.value() for b in self.at_boxes[:len(self.at)])
            self.refresh()

    def set_direction(self, direction: str | None) -> None:
        if direction != self.direction:
            self.direction = direction
            self._on_layer_changed()

    def show_value(self, gate: str | None = None, unit: int | None = None, step=..., at=None) -> None:
        """Explain ``gate`` of ``unit`` (each kept when None) at ``step`` (None: the latest step done, and on with
        the stepper; left out: the step shown stays); for a ConvLSTM at position ``at`` (None: kept)."""
        if at is not None and self.at is not None and len(at) == len(self.at):
            self.at = tuple(int(v) for v in at)
            for box, v in zip(self.at_boxes, self.at):
                box.blockSignals(True)
                box.setValue(v)
                box.blockSignals(False)
        if gate is not None and self.gate_box.findText(gate) >= 0:
            self.gate = gate
            self.gate_box.blockSignals(True)
            self.gate_box.setCurrentText(gate)
            self.gate_box.blockSignals(False)
        if unit is not None and unit >= 0:
            self.unit = unit
            self.unit_box.blockSignals(True)
            self.unit_box.setValue(unit)
            self.unit_box.blockSignals(False)
        if step is not ...:
            self.step = step
        self.refresh()

    def _on_gate_box(self, text: str) -> None:
        if text:
            self.gate = text
            self.refresh()

    def _on_unit_box(self, unit: int) -> None:
        self.unit = unit
        self.refresh()

    def _on_top_box(self, n: int) -> None:
        self.top_n = n
        self.refresh()

    def _on_step_changed(self, _n: int) -> None:
        self.step = None  # follow the stepper
        self.refresh()

    def _on_unit_changed(self, unit: int) -> None:
        if unit >= 0:
            self.show_value(unit=unit)

    # --- reading the engine out ------------------------------------------------------------------------------------
    def current(self):
        """The Explanation for the current choice, or None (with the reason in the title)."""
        s = self.session
        node = self._node()
        if node is None or s.stepper is None or self.gate is None:
            return None, "No recurrent layer"
        run = s.stepper.runs.get(node.id)
        if run is None or run.t == 0:
            return None, f"{node.qualname}: step the replay to explain its values"
        step = run.t - 1 if self.step is None or self.step >= run.t else self.step
        try:
            if self.gate == "y":  # the output chosen in the window: every unit of h is one of its terms
                unit, why = self._readout_unit(node)
                if unit is None:
                    return None, why
                return explain_readout(s.stepper, node, 0, step, unit), ""
            src = cell_sources(s.stepper, node)[self.direction or ""]
            if has_positions(src.layer) and self.at is None:  # a grid the model's shapes leave open: the run's
                self._configure_at(src.layer, grid(src))
            at = self.at if has_positions(src.layer) else None
            return explain(src, 0, step, self.unit, self.gate, at), ""
        except (ExplainError, KeyError) as e:
            return None, str(e)

    def _readout_unit(self, node) -> tuple[int | None, str]:
        """The Dense unit behind the output and dimension chosen in the window (the session's), or None and why."""
        s = self.session
        graph = s.model.graph
        dense = readout_dense(graph, node)
        k = None if dense is None else readout_output(graph, dense)
        if dense is None:
            return None, f"no Dense layer reads the h of {node.qualname!r} directly"
        if k is None:  # the Dense feeds other layers before any output: its own units, the first one
            return 0, ""
        if k != s.output:
            labels = s.output_labels()
            chosen = labels[s.output] if s.output < len(labels) else str(s.output)
            return None, (f"y: the output chosen ({chosen}) is not read from {node.qualname}'s h by one Dense; "
                          f"{dense.layer.name} is output {k}")
        return min(s.dim, int(dense.layer.units) - 1), ""

    def refresh(self) -> None:
        ex, why = self.current()
        self.explanation = ex
        if ex is None:
            self.title.setText(why)
            self.equation.setText("")
            self.act_curve.setData([], [])
            self.act_point.setData([], [])
            self._set_bars([], np.zeros(0), [])
            self.explained.emit(None)
            return
        what = f"output {ex.unit}" if ex.gate == "y" else f"unit {ex.unit}"
        if ex.at is not None:
            what = f"channel {ex.unit} at ({','.join(map(str, ex.at))})"
        name = ex.long_name if ex.symbol in ex.long_name else f"{ex.long_name} {ex.symbol}"
        self.title.setText(f"{ex.layer} · {name} · {what} · step {ex.step}"
                           + (" (masked)" if ex.masked else ""))
        self.equation.setText(ex.equation())
        curve = activation_curve(ex)
        if curve is None or ex.masked:
            self.act_curve.setData([], [])
            self.act_point.setData([], [])
            self.act_plot.setTitle(f"{ex.symbol} is a sum: no activation")
        else:
            z, y = curve
            self.act_curve.setData(z, y)
            point = ex.value / ex.factor if ex.factor not in (None, 0.0) else ex.value
            self.act_point.setData([ex.pre], [point])
            self.act_plot.setTitle(f"{ex.activation} at pre = {ex.pre:.4g}")
        if ex.at is not None and ex.x_window is not None:  # a ConvLSTM gate: each term is a channel's taps
            kernel = "×".join(map(str, ex.x_window.inside.shape))
            self.bar_plot.setTitle(f"contributions per channel (Σ {kernel} taps)")
        else:
            self.bar_plot.setTitle("contributions (signed)")
        top, (n_rest, rest) = ex.top(self.top_n)
        names = [n for n, _ in top] + ([f"rest ({n_rest})"] if n_rest else [])
        values = np.array([v for _, v in top] + ([rest] if n_rest else []), np.float64)
        brushes = [POS if v >= 0 else NEG for v in values[:len(top)]] + ([REST] if n_rest else [])
        self._set_bars(names, values, brushes)
        self.explained.emit(ex)

    def _set_bars(self, names, values, brushes) -> None:
        self.bar_names = list(names)
        self.bar_values = values
        n = len(names)
        self.bars.setOpts(x0=np.minimum(values, 0), y=np.arange(n), width=np.abs(values), height=0.7,
                          brushes=brushes)
        self.bar_plot.getAxis("left").setTicks([[(k, name) for k, name in enumerate(names)], []])
        if n:
            lim = float(np.max(np.abs(values))) or 1.0
            self.bar_plot.setRange(xRange=(-lim * 1.05, lim * 1.05), yRange=(-0.6, n - 0.4), padding=0)


class _Progress(QObject):
    progress = Signal(int, int)  # samples done, total (emitted from the worker, delivered on the GUI thread)


class ExplainTools:
    """What ``install`` adds to a MainWindow: the dock, the click hooks, the weights shading, the code export, the
    units × time tab, and the statistics over the whole data (in the background, with progress and cancel)."""

    def __init__(self, window):
        self.window = window
        self.panel = ExplainPanel(window.session, direction_of=lambda: window.direction)
        self.panel.setObjectName("explainPanel")
        dock = self.dock = QDockWidget("Explain", window)
        dock.setObjectName("explainDock")
        dock.setWidget(self.panel)
        window.addDockWidget(Qt.RightDockWidgetArea, dock)
        dock.hide()  # shown by the first click on a value (or View ▸ Explain): the window keeps its layout till then
        self.panel.explained.connect(self._shade_weights)
        window.session.direction_changed.connect(lambda: self.panel.set_direction(window.direction))
        window.plots.glw.scene().sigMouseClicked.connect(self._on_plot_click)
        maps = window.conv_maps  # a ConvLSTM: a click on a map cell, and the maps outline the cell explained
        maps.cell_clicked.connect(self._on_map_click)
        maps.channel_box.valueChanged.connect(self._on_map_channel)
        self.panel.explained.connect(self._mark_map)
        self._add_menu_items()
        # units × time for every gate and state, in one unit order
        self.heatmaps = GateHeatmaps()
        self.heatmaps.setObjectName("gateHeatmaps")
        window.tabs.addTab(self.heatmaps, "Units × time")
        self.heatmaps.unit_clicked.connect(window.session.set_unit)
        self.heatmaps.order_chosen.connect(window.session.set_unit_order)
        window.session.unit_order_changed.connect(
            lambda: self.heatmaps.set_order(window.session.units_shown(self.heatmaps.units)))
        # statistics over the whole data: progress and cancel in the status bar
        self.stats: dict | None = None
        self._stats_key = None
        self._cancel = False
        self._stats_running = False
        self.stats_progress = QProgressBar()
        self.stats_progress.setObjectName("statsProgress")
        self.stats_progress.setMaximumWidth(180)
        self.stats_progress.setFormat("statistics %p%")
        self.stats_cancel = QToolButton()
        self.stats_cancel.setText("Cancel")
        self.stats_cancel.setObjectName("statsCancel")
        self.stats_cancel.clicked.connect(self.cancel_stats)
        for wdg in (self.stats_progress, self.stats_cancel):
            wdg.hide()
            window.statusBar().addPermanentWidget(wdg)
        self._signals = _Progress()
        self._signals.progress.connect(self._on_stats_progress)
        s = window.session
        s.model_changed.connect(self._on_layer)
        s.layer_changed.connect(self._on_layer)
        s.data_changed.connect(self._on_data)
        s.step_changed.connect(self._on_step)
        s.unit_changed.connect(self.heatmaps.highlight_unit)
        window.session.direction_changed.connect(self._on_layer)
    def _add_menu_items(self) -> None:
        w = self.window
        file_menu = next((a.menu() for a in w.menuBar().actions() if a.menu() and a.text() == "&File"), None)
        export = None
        if file_menu is not None:
            export = next((a.menu() for a in file_menu.actions() if a.menu() and a.text() == "&Export"), None)
        if export is not None:
            self.export_action = export.addAction("As NumPy code…", self.export_code)
        view = next((a.menu() for a in w.menuBar().actions() if a.menu() and a.text() == "&View"), None)
        if view is None:
            view = QMenu("&View", w)
            w.menuBar().insertMenu(w.menuBar().actions()[-1], view)  # before Help
        view.addAction(self.dock.toggleViewAction())

    # --- clicks on the replay plots ------------------------------------------------------------------------------
    def reveal(self) -> None:
        if not self.dock.isVisible():
            self.dock.show()

    def _on_plot_click(self, ev) -> None:
        plots = self.window.plots
        pos = ev.scenePos()
        for p, state in ((plots.p_g, None), (plots.p_c, "C"), (plots.p_h, "h")):
            if not p.sceneBoundingRect().contains(pos) or not p.vb.sceneBoundingRect().contains(pos):
                continue
            pt = p.vb.mapSceneToView(pos)
            self.reveal()
            if state is None:
                self._gate_click(pt.x(), pt.y())
            elif plots.heatmap:  # a cell: unit row, step column
                # row r shows the session's unit order[r]
                unit, step = plots.unit_at(int(np.floor(pt.y()))), int(round(pt.x()))
                if 0 <= unit < plots.units:
                    self.panel.show_value(gate=state, unit=unit, step=max(step, 0))
            else:  # a curve: its unit comes through unit_clicked right after this
                self.panel.show_value(gate=state, step=None)
            return

    def _on_map_click(self, name: str, at, step) -> None:
        """A cell of a ConvLSTM's map: that gate or state, at that position, for the filter shown (a ConvLSTM1D's
        row: at that step; else the current step, and on with the stepper)."""
        channel = self.window.conv_maps.channel
        self.reveal()
        self.panel.show_value(gate=RECORD_TARGET.get(name), unit=channel, step=step, at=at)
        self.window.session.set_unit(channel)

    def _on_map_channel(self, channel: int) -> None:
        ex = self.panel.explanation
        if ex is not None and ex.at is not None and ex.unit != channel:  # the maps show another filter: follow
            self.panel.show_value(unit=channel)

    def _mark_map(self, ex) -> None:
        maps = self.window.conv_maps
        if ex is None or ex.at is None:
            maps.mark(None)
            return
        if maps.channel != ex.unit:
            maps.channel_box.setValue(ex.unit)  # the maps show the filter explained
        maps.mark(ex.at, ex.step)

    def _gate_click(self, x: float, y: float) -> None:
        """The gate bar (or the gate curve nearest in value) under a click in the gate plot."""
        w = self.window
        plots = w.plots
        names = list(plots.gate_curves)
        if not names or plots.units == 0:
            return
        pos = int(round(x))
        unit = plots.unit_at(pos)  # position pos shows the session's unit order[pos]
        if not 0 <= unit < plots.units:
            return
        if not plots.heatmap:  # bars: which of the unit's group
            width = 0.8 / len(names)
            k = int(np.floor((x - pos + 0.4) / width))
            k = min(max(k, 0), len(names) - 1)
        else:
            rec = w.session.records()
            steps = w.session.layer_steps_done()
            if rec is None or steps == 0:
                return
            values = [abs(float(rec[g][steps - 1][unit]) - y) for g in names]
            k = int(np.argmin(values))
        gate = RECORD_TARGET.get(names[k].rpartition("/")[2])
        self.panel.show_value(gate=gate, unit=unit, step=None)
        w.session.set_unit(unit)

    # --- the Weights view -------------------------------------------------------------------------------------------
    def _shade_weights(self, ex) -> None:
        weights = self.window.weights
        if ex is None or ex.gate in ("C", "h", "y") or ex.masked:
            weights.show_contributions(None)
            return
        gate = WEIGHTS_GATE.get(ex.gate, ex.gate)
        if self.panel.direction:
            gate = f"{self.panel.direction}/{gate}"
        # one term per weight row: a ConvLSTM's rows are (tap, channel), each weight times the value it met
        weights.show_contributions(gate, ex.unit, ex.tap_terms("W"), ex.tap_terms("U"))

    # --- units × time, and the statistics over the whole data -------------------------------------------------------
    def _stats_name(self) -> str | None:
        node = self.panel._node()
        if node is None:
            return None
        return f"{node.qualname}/{self.panel.direction}" if self.panel.direction else node.qualname

    def _on_layer(self) -> None:
        layer = self.panel._shown_layer()
        if layer is None or not explainable(layer):
            self.heatmaps.configure([], 0, 0)
            self.window.model_panel.set_health("")
            return
        states = list(getattr(layer, "state_record_names", ("h",)))
        names = list(getattr(layer, "gate_record_names", ())) + sorted(states, key=lambda n: n != "C")
        s = self.window.session
        T = s.stepper.runs[s.node_id].T if s.stepper is not None and s.node_id in s.stepper.runs else (
            s.sample_inputs[0].shape[1] if s.sample_inputs and s.sample_inputs[0].ndim > 1 else 1)
        self.heatmaps.configure(names, int(layer.units), T)
        self._show_stats()
        self._on_step(s.steps_done)

    def _on_step(self, _n: int) -> None:
        s = self.window.session
        rec = s.records()
        if rec is not None and self.panel.direction:
            p = self.panel.direction + "/"
            rec = {k[len(p):]: rec[k] for k in rec if k.startswith(p)}
        elif rec is not None:
            rec = {k: rec[k] for k in rec}
        self.heatmaps.update_records(rec, s.layer_steps_done())

    def _on_data(self) -> None:
        s = self.window.session
        key = (id(s.model), id(s.data))
        if key != self._stats_key and s.model is not None and s.data is not None and s.problem is None:
            self._stats_key = key
            self.stats = None
            self._show_stats()
            self.start_stats()

    def start_stats(self) -> None:
        """Per-unit statistics of every recurrent layer over every sample of the data, off the GUI thread."""
        from .loader import LoadTask

        w = self.window
        s = w.session
        if self._stats_running:
            self._cancel = True  # the running one stops at its next chunk; this one starts when it reports
            self._restart = True
            return
        self._cancel = False
        self._restart = False
        self._stats_running = True
        key = self._stats_key
        self.stats_progress.setValue(0)
        self.stats_progress.show()
        self.stats_cancel.show()

        def finished(result):
            self._stats_done()
            if result is not None and key == self._stats_key:
                self.stats = result
                self._show_stats()

        def failed(message):
            self._stats_done()
            w.statusBar().showMessage(f"Statistics over the data failed: {message}", 6000)

        w._run(LoadTask(_dataset_stats, s.model, s.data.inputs, self._signals.progress.emit, lambda: self._cancel),
               finished, failed)

    def _stats_done(self) -> None:
        self._stats_running = False
        self.stats_progress.hide()
        self.stats_cancel.hide()
        if getattr(self, "_restart", False):
            self.start_stats()

    def cancel_stats(self) -> None:
        self._cancel = True
        self._restart = False
        self.window.statusBar().showMessage("Statistics over the data cancelled", 4000)

    def _on_stats_progress(self, done: int, total: int) -> None:
        self.stats_progress.setValue(int(100 * done / max(total, 1)))

    def _show_stats(self) -> None:
        name = self._stats_name()
        st = None if self.stats is None or name is None else self.stats.get(name)
        if st is None:
            node = self.panel._node()
            # a Bidirectional layer: both directions in the model panel
            parts = [v for k, v in (self.stats or {}).items() if node is not None and k.startswith(node.qualname + "/")]
            lines = [ln for p in parts for ln in p.health().lines()]
            self.window.model_panel.set_health("<br>".join(_html(ln) for ln in lines))
            self.heatmaps.set_scores({}, 0)
            return
        self.window.model_panel.set_health("<b>gate health</b><br>" + "<br>".join(_html(ln) for ln in st.health().lines()))
        self.heatmaps.set_scores({k: st.score(k) for k in ORDER_KEYS}, st.samples)

    # --- File ▸ Export ▸ As NumPy code ------------------------------------------------------------------------------
    def export_code(self, directory: str | None = None) -> None:
        """Write the loaded model's replay as ``<model>.py`` + ``.npz`` into a chosen directory, off the GUI thread."""
        from .loader import LoadTask

        w = self.window
        model = w.session.model
        if model is None:
            return
        if directory is None:
            directory = QFileDialog.getExistingDirectory(w, "Export the replay as NumPy code", w._last_dir())
            if not directory:
                return
        name = os.path.splitext(os.path.basename(model.path))[0]
        w.statusBar().showMessage("Writing the replay as code…")

        def finished(paths):
            w.statusBar().showMessage(f"Wrote {paths[0]} and {paths[1]}", 6000)

        def failed(message):
            w.statusBar().clearMessage()
            w.show_error("Cannot export as code", message)

        w._run(LoadTask(_write_code, model, directory, name), finished, failed)


def _html(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("  ", "&nbsp;&nbsp;")


def _dataset_stats(model, inputs, progress, cancelled):
    """The statistics, or None when cancelled (runs on a worker thread)."""
    from engine.streaming import Cancelled, dataset_stats

    try:
        return dataset_stats(model, inputs, progress=progress, cancelled=cancelled)
    except Cancelled:
        return None


def _write_code(model, directory: str, name: str) -> tuple[str, str]:
    import engine
    from engine.codegen import write_code

    try:
        return write_code(model, directory, name)
    except OSError as e:
        raise engine.ModelFileError(directory, f"cannot write ({e.strerror or e})") from None


def install(window) -> ExplainTools:
    tools = ExplainTools(window)
    window.explain_tools = tools
    return tools
