"""The inspector window: model panel and input on the left, live replay plots and per-gate weights on the right,
play controls at the bottom. It wires views to the Session; it holds no math and parses no files."""
from __future__ import annotations

import os
import sys
import threading

import numpy as np
import PySide6  # noqa: F401  (before pyqtgraph, so it binds to PySide6)
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtCore import QSettings, Qt, QThreadPool
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from engine.export import save_matrix
from engine.layers.conv_lstm import ConvLSTM
from engine.limits import DEFAULT
from lstm_inspector.paths import icon_path

from .conv_maps import ConvMaps
from .input_panel import InputPanel
from .loader import LoadTask, open_data, open_model, predict_batch, write_trace
from .model_panel import ModelPanel
from .replay_plots import ReplayPlots
from .session import Session
from .stepper_bar import StepperBar
from .weights_view import WeightsView

MODEL_FILTER = "Keras models (*.h5 *.hdf5 *.keras);;All files (*)"
INPUT_FILTER = "Input arrays (*.npy *.npz *.csv);;All files (*)"
MAX_RECENT = 10

# antialiasing is per curve (the few-point ones): drawing hundreds of antialiased points each step costs ~30 ms
pg.setConfigOptions(background="w", foreground="#333", antialias=False, imageAxisOrder="row-major")


def _mb(n: int) -> str:
    return f"{n / 1024 ** 2:.1f} MB" if n < 1024 ** 3 else f"{n / 1024 ** 3:.1f} GB"


class MainWindow(QMainWindow):
    TRACE_CONFIRM_BYTES = 2 * 1024 ** 3  # a trace export bigger than this asks first

    def __init__(self, settings: QSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowIcon(QIcon(icon_path()))
        self.session = Session(self)
        self.pool = QThreadPool.globalInstance()
        self.pending_step: int | None = None
        self.loading = False
        self.predicting = False
        self.exporting = False
        self._generation = 0  # counts open requests
        self._predict_generation = 0  # counts batch predictions
        self._tasks: set[LoadTask] = set()  # running on the pool
        self.limits = DEFAULT  # what a model file may make the reader do (its process's time and memory)
        self._cancel_open = threading.Event()  # set: the open running in the background is abandoned, its reader killed
        self._shown_sample: tuple[int, int] | None = None  # (data, sample) the plots' ranges were grown for
        self.direction: str | None = None  # the direction plotted for a Bidirectional layer ("forward"/"backward")
        self.setWindowTitle("LSTM Inspector")
        self.setAcceptDrops(True)

        self.model_panel = ModelPanel()
        self.input_panel = InputPanel()
        self.plots = ReplayPlots()
        self.weights = WeightsView()
        self.bar = StepperBar()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.plots, "Replay")
        self.tabs.addTab(self.weights, "Weights per gate")
        self.conv_maps = ConvMaps()  # a ConvLSTM's gate and state maps: a tab shown only for such a layer
        self.maps_tab = self.tabs.addTab(self.conv_maps, "Maps")
        self.tabs.setTabVisible(self.maps_tab, False)
        self.left = QSplitter(Qt.Vertical)
        self.left.addWidget(self.model_panel)
        self.left.addWidget(self.input_panel)
        self.left.setSizes([420, 380])
        self.split = QSplitter(Qt.Horizontal)
        self.split.addWidget(self.left)
        self.split.addWidget(self.tabs)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([430, 1170])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.addWidget(self.split, 1)
        lay.addWidget(self.bar)
        self.setCentralWidget(central)

        self.badge = QLabel("")
        self.badge.setObjectName("parityBadge")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(160)
        self.busy.hide()
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().addPermanentWidget(self.badge)

        self._make_menus()
        self._make_shortcuts()
        s = self.session
        s.model_changed.connect(self._on_model_changed)
        s.data_changed.connect(self._on_data_changed)
        s.step_changed.connect(self._on_step_changed)
        s.layer_changed.connect(self._on_layer_changed)
        s.unit_changed.connect(self._on_unit_changed)
        self.model_panel.node_selected.connect(s.set_node)
        self.input_panel.sample_changed.connect(s.set_sample)
        self.input_panel.model.value_edited.connect(lambda t, f, v: s.set_input_value(t, f, v))
        self.input_panel.open_requested.connect(self.choose_input)
        self.input_panel.random_requested.connect(lambda: self.open_input(None))
        self.input_panel.reset_requested.connect(s.reset_edits)
        self.bar.seek_requested.connect(s.seek)
        self.plots.unit_clicked.connect(self._toggle_unit)
        self.plots.direction_changed.connect(self._on_direction_changed)
        self.weights.unit_clicked.connect(self._toggle_unit)
        self.conv_maps.view_changed.connect(self._update_conv_maps)
        self._restore()

    # --- menus --------------------------------------------------------------------------------------------------
    def _make_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        a = m.addAction("&Open model…", self.choose_model)
        a.setShortcut(QKeySequence.Open)
        m.addAction("Open &input…", self.choose_input)
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        ex = m.addMenu("&Export")
        ex.addAction("Plots as PNG…", lambda: self.export_plots("png"))
        ex.addAction("Plots as SVG…", lambda: self.export_plots("svg"))
        ex.addAction("Shown gate matrix (CSV / .npy)…", self.export_matrix)
        ex.addAction("Trace of this sample (.npz)…", self.export_trace)
        ex.addAction("Trace of the whole batch (.npz)…", lambda: self.export_trace(whole_batch=True))
        m.addSeparator()
        q = m.addAction("&Quit", self.close)
        q.setShortcut(QKeySequence.Quit)
        h = self.menuBar().addMenu("&Help")
        h.addAction("&About LSTM Inspector", self.show_about)
        self._fill_recent()

    def _make_shortcuts(self) -> None:
        s = self.session
        for key, slot in ((Qt.Key_Right, s.step), (Qt.Key_Left, s.back), (Qt.Key_Home, s.reset), (Qt.Key_End, s.to_end),
                          (Qt.Key_Space, self.bar.toggle_play)):
            sc = QShortcut(QKeySequence(key), self)
            sc.activated.connect(slot)

    # --- opening ------------------------------------------------------------------------------------------------
    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a Keras model", self._last_dir(), MODEL_FILTER)
        if path:
            self.open_model(path)

    def choose_input(self) -> None:
        if self.session.model is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open input data", self._last_dir(), INPUT_FILTER)
        if path:
            self.open_input(path)

    def open_model(self, path: str, input_path: str | None = None, step: int | None = None) -> None:
        """Open in the background; on failure a dialog, and whatever was open stays open."""
        self.pending_step = step
        self._cancel_open.set()  # a newer open supersedes the running one: its reader process is killed
        self._cancel_open = threading.Event()
        self._start(LoadTask(open_model, path, input_path, self._cancel_open, self.limits),
                    f"Opening {os.path.basename(path)}…", path)

    def open_input(self, path: str | None) -> None:
        if self.session.model is not None:
            self._start(LoadTask(open_data, self.session.model, path), "Reading input…", None)

    def load_now(self, path: str, input_path: str | None = None) -> None:
        """Synchronous open (screenshots, scripts, tests); raises ModelFileError."""
        loaded = open_model(path, input_path, limits=self.limits)
        self._generation += 1  # supersedes any open still running in the background
        self._on_loaded(loaded, path, background=False)
        if loaded.problem is None:
            self.session.set_predictions(predict_batch(loaded.model, loaded.data))

    def _start(self, task: LoadTask, message: str, recent: str | None) -> None:
        self.loading = True
        self._update_busy()
        self.statusBar().showMessage(message)
        self.setCursor(Qt.BusyCursor)
        self._generation += 1
        gen = self._generation  # only the latest request may change the window: an older, slower one is dropped

        def finished(loaded):
            if gen == self._generation:
                self._on_loaded(loaded, recent)

        def failed(message):
            if gen == self._generation:
                self._on_failed(message)

        self._run(task, finished, failed)

    def _run(self, task: LoadTask, finished, failed) -> None:
        """Start a task on the pool; its signal object is kept alive until it has reported."""
        self._tasks.add(task)

        def done(slot, value):
            self._tasks.discard(task)
            slot(value)

        task.signals.finished.connect(lambda value: done(finished, value))
        task.signals.failed.connect(lambda message: done(failed, message))
        self.pool.start(task)

    def _update_busy(self) -> None:
        """The status bar's busy bar shows while anything runs in the background; its tooltip says what."""
        work = [what for what, on in (("opening", self.loading), ("predicting over the whole batch", self.predicting),
                                      ("tracing", self.exporting)) if on]
        self.busy.setVisible(bool(work))
        self.busy.setToolTip(", ".join(work) + "…" if work else "")

    def _done_loading(self) -> None:
        self.loading = False
        self._update_busy()
        self.unsetCursor()
        self.statusBar().clearMessage()

    def _on_loaded(self, loaded, recent: str | None, background: bool = True) -> None:
        self._done_loading()
        self.bar.pause()
        self.session.set_loaded(loaded)
        if recent:
            self._add_recent(recent)
            self.settings.setValue("last_dir", os.path.dirname(os.path.abspath(recent)))
        if self.pending_step is not None:
            self.session.seek(self.pending_step)
            self.pending_step = None
        self.statusBar().showMessage(f"Opened {os.path.basename(loaded.model.path)}", 4000)
        if background and loaded.problem is None:
            self._predict_generation += 1
            gen = self._predict_generation
            self.predicting = True
            self._update_busy()

            def failed(message):
                if gen == self._predict_generation:
                    self._predicted()
                    self.show_error("Cannot predict", message)

            def finished(preds):
                if gen == self._predict_generation:
                    self._on_predicted(loaded.model, loaded.data, preds)

            self._run(LoadTask(predict_batch, loaded.model, loaded.data), finished, failed)

    def _predicted(self) -> None:
        self.predicting = False
        self._update_busy()

    def _on_predicted(self, model, data, preds) -> None:
        self._predicted()
        if self.session.model is model and self.session.data is data:  # still the same document
            self.session.set_predictions(preds)

    def _on_failed(self, message: str) -> None:
        self._done_loading()
        self.show_error("Cannot open", message)

    def show_error(self, title: str, message: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Critical, title, message, QMessageBox.Ok, self)
        box.setObjectName("errorDialog")
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()  # window-modal, not blocking: the window stays alive behind it
        return box

    # --- drag and drop --------------------------------------------------------------------------------------------
    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        path = paths[0]
        if path.lower().endswith((".npy", ".npz", ".csv")) and self.session.model is not None:
            self.open_input(path)
        else:
            self.open_model(path)
        ev.acceptProposedAction()

    # --- recent files ---------------------------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        v = self.settings.value("recent", [])
        if isinstance(v, str):
            v = [v]
        return [str(p) for p in (v or [])]

    def _add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        items = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            self.recent_menu.addAction(p, lambda p=p: self.open_model(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", os.path.expanduser("~")))

    # --- following the session -----------------------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        s = self.session
        model = s.model
        self.setWindowTitle(f"LSTM Inspector — {os.path.basename(model.path)}")
        self.model_panel.set_model(model, s.problem)
        self._configure_layer()
        self.bar.set_total(s.total_steps)
        self.plots.show_message(self._maps_note() if s.problem is None else f"Cannot replay: {s.problem}")

    def _configure_layer(self) -> None:
        s = self.session
        layer = s.layer
        self.model_panel.select_node(s.node_id)
        self.weights.set_layer(layer)
        self._configure_plots()

    def _configure_plots(self) -> None:
        s = self.session
        layer = s.layer
        directions = [d for d in ("forward", "backward") if hasattr(layer, f"{d}_layer")]
        if self.direction not in directions:
            self.direction = directions[0] if directions else None
        self.plots.set_directions(directions, self.direction)
        run_T = 0
        if s.stepper is not None and s.node_id is not None:
            x = s.sample_inputs[0]
            run_T = s.stepper.runs[s.node_id].T if s.node_id in s.stepper.runs else (x.shape[1] if x.ndim > 1 else 0)
        out_dims = 1
        shape = s.model.output_shapes[0] if s.model is not None and s.model.output_shapes else None
        if shape and all(d is not None for d in shape[1:]):
            out_dims = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        self.plots.configure(self._shown_layer(), run_T, self._gate_names(), self._state_names(), out_dims)
        self._configure_conv_maps()

    # --- a ConvLSTM layer: its maps in their own tab (gui/conv_maps.py) ----------------------------------------------
    def _map_layer(self) -> ConvLSTM | None:
        layer = self.session.layer
        return layer if isinstance(layer, ConvLSTM) else None

    def _maps_note(self) -> str:
        layer = self._map_layer()
        return "" if layer is None else f"{layer.name} is a {layer.class_name}: its gate and state maps are in the Maps tab"

    def _configure_conv_maps(self) -> None:
        layer = self._map_layer()
        shape = layer.state_shape(layer.input_spatial) if layer is not None and layer.input_spatial else None
        self.conv_maps.configure(layer, shape)
        self.tabs.setTabVisible(self.maps_tab, layer is not None)
        if layer is not None:
            self.plots.show_message(self._maps_note())
            if self.tabs.currentWidget() is self.plots:
                self.tabs.setCurrentWidget(self.conv_maps)
        self._update_conv_maps()

    def _update_conv_maps(self) -> None:
        if self._map_layer() is not None:
            self.conv_maps.update_maps(self.session.records(), self.session.layer_steps_done())

    def _shown_layer(self):
        """The layer whose units the plots show: one direction of a Bidirectional layer, else the layer."""
        layer = self.session.layer
        return getattr(layer, f"{self.direction}_layer", layer) if self.direction else layer

    def _prefix(self) -> str:
        return f"{self.direction}/" if self.direction else ""

    def _gate_names(self) -> tuple[str, ...]:
        layer = self.session.layer
        if self._map_layer() is not None:  # maps, shown by the Maps tab
            return ()
        names = tuple(getattr(layer, "gate_record_names", ())) if layer is not None else ()
        return tuple(n for n in names if n.startswith(self._prefix()))

    def _state_names(self) -> tuple[str | None, str | None]:
        """(cell state, hidden state) record names of the shown layer or direction; None where it has none."""
        layer = self.session.layer
        if self._map_layer() is not None:
            return None, None
        names = set(getattr(layer, "state_record_names", ())) if layer is not None else set()
        p = self._prefix()
        return (p + "C" if p + "C" in names else None), (p + "h" if p + "h" in names else None)

    def _on_direction_changed(self, direction: str) -> None:
        if direction != self.direction:
            self.direction = direction
            self._configure_plots()
            self._on_step_changed(self.session.steps_done)
            self.plots.highlight_unit(self.session.unit)

    def _on_layer_changed(self) -> None:
        self._configure_layer()

    def _on_data_changed(self) -> None:
        s = self.session
        if s.data is None:
            return
        shown = (id(s.data), s.sample)
        if shown != self._shown_sample:  # another sample: its own scales (an edit keeps them, to compare with)
            self._shown_sample = shown
            self.plots.reset_ranges()
        seq = s.sample_inputs[0][0] if s.sample_inputs else None
        src = os.path.basename(s.data.source) if s.data.source not in ("", "random") else s.data.source
        self.input_panel.show_data(s.batch, s.sample, seq, f"input: {src}", s.edited)
        preds = s.predictions[0] if s.predictions else None
        self.plots.update_batch(preds, s.data.targets, s.sample)
        self.bar.set_total(s.total_steps)
        self._update_badge()

    def _update_badge(self) -> None:
        s = self.session
        d = s.keras_difference()
        if s.edited:
            self.badge.setText("inputs edited — comparison with Keras paused")
            self.badge.setStyleSheet("padding: 2px 8px; background: #eee; color: #555;")
        elif d is None:
            self.badge.setText("no Keras outputs in the data to compare with")
            self.badge.setStyleSheet("padding: 2px 8px; color: #777;")
        else:
            ok = d <= 1e-5
            self.badge.setText(f"{'✓' if ok else '✗'} replay vs Keras: max |Δ| = {d:.2e}")
            colour = "#1b7f3a" if ok else "#b00020"
            self.badge.setStyleSheet(f"padding: 2px 8px; color: white; background: {colour}; border-radius: 3px;")

    def _on_step_changed(self, n: int) -> None:
        s = self.session
        detail = ""
        if s.stepper is not None and s.stepper.stage_log:
            stage, t = s.stepper.stage_log[n - 1] if n > 0 else s.stepper.stage_log[0]
            many = len(s.stepper.stages) > 1
            detail = (f"stage {stage}, " if many else "") + (f"t = {t}" if n > 0 else "before the first step")
        self.bar.show_step(n, detail)
        steps = s.layer_steps_done()
        self.plots.update_states(s.records(), steps, self._gate_names(), self._state_names())
        target = None
        if s.data is not None and s.data.targets is not None and s.data.targets.shape[0] == s.batch:
            target = s.data.targets[s.sample]
        self.plots.update_readout(s.readout_series(0), target, n)
        layer = self._shown_layer()
        T = s.sample_inputs[0].shape[1] if s.sample_inputs and s.sample_inputs[0].ndim > 1 else 0
        row = -1
        if steps > 0 and layer is not None and s.stepper is not None and s.node_id in s.stepper.runs:
            if s.layer_reads_model_input():
                row = T - steps if getattr(layer, "go_backwards", False) else steps - 1
        self.input_panel.set_current_step(row)
        rec = s.records()
        # a Bidirectional layer records the backward direction's mask in its own (processing) order
        mask = None if rec is None else rec.get(self._prefix() + "mask", rec.get("mask"))
        masked = np.flatnonzero(~mask[:steps]) if mask is not None else np.zeros(0, np.int64)
        self.plots.update_masked(masked)
        self._update_conv_maps()
        rows = None
        if mask is not None and s.layer_reads_model_input():
            rows = (T - 1 - masked) if getattr(layer, "go_backwards", False) else masked
        self.input_panel.set_masked(rows)

    def _toggle_unit(self, unit: int) -> None:
        self.session.set_unit(-1 if unit == self.session.unit else unit)

    def _on_unit_changed(self, unit: int) -> None:
        self.plots.highlight_unit(unit)
        self.weights.highlight_unit(unit)
        self.statusBar().showMessage(f"unit {unit} highlighted" if unit >= 0 else "", 3000)

    # --- export -----------------------------------------------------------------------------------------------------
    def export_plots(self, kind: str, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export plots", self._last_dir(), f"*.{kind}")
            if not path:
                return
        if kind == "svg":
            # pyqtgraph's SVGExporter cannot parse the paths Qt 6.11 writes; Qt's own SVG generator renders the view
            from PySide6.QtGui import QPainter
            from PySide6.QtSvg import QSvgGenerator

            gen = QSvgGenerator()
            gen.setFileName(path)
            gen.setSize(self.plots.glw.size())
            gen.setViewBox(self.plots.glw.rect())
            gen.setTitle("LSTM Inspector plots")
            painter = QPainter(gen)
            self.plots.glw.render(painter)
            painter.end()
        else:
            pg.exporters.ImageExporter(self.plots.glw.scene()).export(path)

    def export_matrix(self, path: str | None = None) -> None:
        block = self.weights.current_block()
        if block is None:
            return
        if path is None:
            name = f"{self.session.layer.name}_{block.matrix}_{block.gate}".replace("/", "_")
            path, _ = QFileDialog.getSaveFileName(self, "Export gate matrix", os.path.join(self._last_dir(), name + ".csv"),
                                                  "CSV (*.csv);;NumPy (*.npy)")
            if not path:
                return
        try:
            save_matrix(path, block.array)
        except OSError as e:
            self.show_error("Cannot export", f"{path}: {e.strerror or e}")

    def export_trace(self, path: str | None = None, whole_batch: bool = False) -> None:
        """Every gate and state at every step, as .npz: of the sample shown, or of every sample of the data (only
        when asked for: batch × T × units per array). The replay and the writing run off the GUI thread."""
        s = self.session
        inputs = s.trace_inputs(whole_batch)
        if inputs is None or self.exporting:
            return
        n = inputs[0].shape[0]
        samples = f"{n} sample{'s' if n > 1 else ''}"
        size = s.trace_bytes(whole_batch)
        if path is None:
            what = f"Export the trace of all {n} samples" if whole_batch else "Export the trace of this sample"
            path, _ = QFileDialog.getSaveFileName(self, what, self._last_dir(), "NumPy archive (*.npz)")
            if not path:
                return
            if size > self.TRACE_CONFIRM_BYTES and not self._confirm(
                    "Large trace", f"The trace of {samples} holds about {_mb(size)}, in memory and on disk. "
                                   f"Export it?"):
                return
        self.exporting = True
        self._update_busy()
        self.statusBar().showMessage(f"Tracing {samples} (about {_mb(size)})…")

        def finished(written):
            self.exporting = False
            self._update_busy()
            self.statusBar().showMessage(f"Trace of {samples} written to {written}", 6000)

        def failed(message):
            self.exporting = False
            self._update_busy()
            self.statusBar().clearMessage()
            self.show_error("Cannot export", message)

        self._run(LoadTask(write_trace, s.model, inputs, path), finished, failed)

    def _confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.Yes

    # --- about / persistence -------------------------------------------------------------------------------------
    def show_about(self) -> QMessageBox:
        import h5py

        from . import __version__

        from PySide6.QtCore import qVersion

        text = (f"<b>LSTM Inspector {__version__}</b><br>Look inside a trained Keras recurrent model: per-gate "
                f"weights and a step-by-step NumPy replay of its forward pass.<br><br>"
                f"Python {sys.version.split()[0]} · NumPy {np.__version__} · h5py {h5py.__version__} "
                f"(HDF5 {h5py.version.hdf5_version})<br>"
                f"Qt {qVersion()} · PySide6 {PySide6.__version__} · pyqtgraph {pg.__version__}")
        box = QMessageBox(QMessageBox.Information, "About LSTM Inspector", text, QMessageBox.Ok, self)
        box.setObjectName("aboutDialog")
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        return box

    def _restore(self) -> None:
        geo = self.settings.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1600, 1000)
        for key, split in (("split", self.split), ("left", self.left)):
            st = self.settings.value(key)
            if st is not None:
                split.restoreState(st)

    def closeEvent(self, ev) -> None:
        self.bar.pause()
        self._cancel_open.set()  # a model still being read: its reader process is killed, so the app can exit
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("split", self.split.saveState())
        self.settings.setValue("left", self.left.saveState())
        self.settings.sync()
        super().closeEvent(ev)
