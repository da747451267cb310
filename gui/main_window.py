"""The inspector window: model panel and input on the left, live replay plots and per-gate weights on the right,
play controls at the bottom. It wires views to the Session; it holds no math and parses no files."""
from __future__ import annotations

import os
import sys
import threading

import numpy as np
import PySide6  # noqa: F401  (before pyqtgraph, so it binds to PySide6)
import pyqtgraph as pg
from PySide6.QtCore import QObject, QSettings, Qt, QThreadPool, Signal
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QSplitter, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)

from engine.errors import FormatError, ModelFileError
from engine.export import SameFileError, atomic_path, refuse_same_file, save_matrix
from engine.inputs import load_keras_outputs, load_targets
from engine.layers.conv_lstm import ConvLSTM
from engine.limits import DEFAULT, Limits, parse_size
from engine.readouts import batch_readouts
from lstm_inspector.paths import icon_path

from .conv_maps import ConvMaps
from .explain_panel import install as install_explain
from .export_image import caption_image, write_svg
from .guide import GuideDialog
from .input_panel import InputPanel
from .loader import LoadTask, open_data, open_model, predict_batches, reopen, write_trace, write_trace_h5
from .model_panel import ModelPanel
from .replay_plots import ReplayPlots
from .session import Session
from .stepper_bar import StepperBar
from .weights_view import WeightsView

MODEL_FILTER = "Keras models (*.h5 *.hdf5 *.keras);;All files (*)"
INPUT_FILTER = "Input arrays (*.npy *.npz *.csv);;All files (*)"
MAX_RECENT = 10
READOUT_MAP_POINTS = 40_000  # the readout map replays at most this many (sample, step) points of the batch
READOUT_MAP_FLOATS = 16_000_000  # …and keeps about this many state values for them (64 MB) while replaying

# antialiasing is per curve (the few-point ones): drawing hundreds of antialiased points each step costs ~30 ms
pg.setConfigOptions(background="w", foreground="#333", antialias=False, imageAxisOrder="row-major")


def _mb(n: int) -> str:
    return f"{n / 1024 ** 2:.1f} MB" if n < 1024 ** 3 else f"{n / 1024 ** 3:.1f} GB"


class _TraceProgress(QObject):
    progress = Signal(int, int)  # samples written, total (emitted on the worker, delivered on the GUI thread)


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
        self._readouts_generation = 0  # counts readout-map computations
        self._readouts_key = None  # what the readout map was computed for (data, edits)
        self.guide: GuideDialog | None = None
        self._tasks: set[LoadTask] = set()  # running on the pool
        self._shown_sample: tuple | None = None  # (data, sample, output, dim) the plots' ranges were grown for
        self.limits = self._budget_limits()  # what a model file may make the reader and the engine do (File ▸ Memory budget)
        self._cancel_open = threading.Event()  # set: the open running in the background is abandoned, its reader killed
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
        self.left.setMinimumWidth(240)
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
        # a whole batch traced into .h5 chunk by chunk: its progress and a Cancel button
        self.trace_chunk: int | None = None  # samples per chunk (None: from the memory budget)
        self._trace_cancel = False
        self._trace_signals = _TraceProgress()
        self._trace_signals.progress.connect(self._on_trace_progress)
        self.trace_progress = QProgressBar()
        self.trace_progress.setObjectName("traceProgress")
        self.trace_progress.setMaximumWidth(180)
        self.trace_progress.setFormat("trace %p%")
        self.trace_cancel = QToolButton()
        self.trace_cancel.setText("Cancel")
        self.trace_cancel.setObjectName("traceCancel")
        self.trace_cancel.clicked.connect(self.cancel_trace)
        for wdg in (self.trace_progress, self.trace_cancel):
            wdg.hide()
            self.statusBar().addPermanentWidget(wdg)
        self.statusBar().addPermanentWidget(self.badge)

        self._make_menus()
        self._make_shortcuts()
        s = self.session
        s.model_changed.connect(self._on_model_changed)
        s.data_changed.connect(self._on_data_changed)
        s.step_changed.connect(self._on_step_changed)
        s.layer_changed.connect(self._on_layer_changed)
        s.direction_changed.connect(self._on_direction_changed)
        s.unit_changed.connect(self._on_unit_changed)
        s.unit_order_changed.connect(self._on_unit_order_changed)
        self.model_panel.node_selected.connect(s.set_node)
        self.input_panel.sample_changed.connect(s.set_sample)
        self.input_panel.input_changed.connect(s.set_input_index)
        self.input_panel.model.value_edited.connect(self._on_value_edited)
        self.input_panel.model.check_value = s.check_value  # the editor refuses what the session would refuse
        self.input_panel.open_requested.connect(self.choose_input)
        self.input_panel.random_requested.connect(lambda: self.open_input(None))
        self.input_panel.reset_requested.connect(s.reset_edits)
        self.bar.seek_requested.connect(s.seek)
        self.plots.unit_clicked.connect(self._toggle_unit)
        self.plots.direction_changed.connect(s.set_direction)
        self.plots.output_chosen.connect(s.set_output)
        self.plots.cell_clicked.connect(self._on_cell_clicked)
        self.plots.sample_clicked.connect(s.set_sample)
        self.plots.readout_point_clicked.connect(self._on_readout_point_clicked)
        self.weights.unit_clicked.connect(self._toggle_unit)
        self.conv_maps.view_changed.connect(self._update_conv_maps)
        install_explain(self)  # the Explain dock, File ▸ Export ▸ As NumPy code (gui/explain_panel.py)
        self._restore()

    # --- menus --------------------------------------------------------------------------------------------------
    def _make_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        a = m.addAction("&Open model…", self.choose_model)
        a.setShortcut(QKeySequence.Open)
        m.addAction("Open &input…", self.choose_input)
        m.addAction("Open &targets…", self.choose_targets)
        m.addAction("Open &Keras outputs…", self.choose_keras_outputs)
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        ex = m.addMenu("&Export")
        ex.addAction("Plots as PNG…", lambda: self.export_plots("png"))
        ex.addAction("Plots as SVG…", lambda: self.export_plots("svg"))
        ex.addAction("Shown gate matrix (CSV / .npy)…", self.export_matrix)
        ex.addAction("Trace of this sample (.npz)…", self.export_trace)
        ex.addAction("Trace of the whole batch (.npz, .h5)…", lambda: self.export_trace(whole_batch=True))
        m.addSeparator()
        m.addAction("Memory &budget…", self.choose_memory_budget)
        m.addSeparator()
        q = m.addAction("&Quit", self.close)
        q.setShortcut(QKeySequence.Quit)
        v = self.menuBar().addMenu("&View")
        self.exact_action = v.addAction("&Exact reference (float64 replay)")
        self.exact_action.setObjectName("exactAction")
        self.exact_action.setCheckable(True)
        self.exact_action.setToolTip("Replay the whole model in float64; the badge then also shows how far the float32 "
                                     "replay (and Keras) are from it")
        self.exact_action.toggled.connect(self.set_exact)
        h = self.menuBar().addMenu("&Help")
        g = h.addAction("&Guide: gates, states, readout, stages", self.show_guide)
        g.setShortcut(QKeySequence.HelpContents)
        h.addAction("&About LSTM Inspector", self.show_about)
        self._fill_recent()

    def _make_shortcuts(self) -> None:
        # window-wide step keys; the input table takes these keys for itself while it has focus (see InputTable)
        s = self.session
        for key, slot in ((Qt.Key_Right, s.step), (Qt.Key_Left, s.back), (Qt.Key_Home, s.reset), (Qt.Key_End, s.to_end),
                          (Qt.Key_Space, self.bar.toggle_play),
                          (Qt.Key_Escape, lambda: self.plots.grid.maximise(None))):
            sc = QShortcut(QKeySequence(key), self)
            sc.activated.connect(slot)

    @property
    def direction(self) -> str | None:
        """The direction plotted for a Bidirectional layer (the session's choice)."""
        return self.session.direction

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

    def choose_targets(self) -> None:
        if self.session.data is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open targets (the truth)", self._last_dir(), INPUT_FILTER)
        if path:
            self.open_targets(path)

    def choose_keras_outputs(self) -> None:
        if self.session.data is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open Keras' outputs", self._last_dir(),
                                              "Arrays (*.npy *.npz);;All files (*)")
        if path:
            self.open_keras_outputs(path)

    def open_targets(self, path: str) -> bool:
        """The truth for the batch from a file (small: read here); a dialog says why when it does not fit."""
        try:
            self.session.set_targets(load_targets(path, self.limits))
        except (ModelFileError, FormatError) as e:
            self.show_error("Cannot open targets", str(e) if isinstance(e, ModelFileError) else f"{path}: {e}")
            return False
        self.statusBar().showMessage(f"Targets from {os.path.basename(path)}", 4000)
        return True

    def open_keras_outputs(self, path: str) -> bool:
        """Keras' own predictions for the batch, to compare the replay with (the badge)."""
        try:
            self.session.set_keras_outputs(load_keras_outputs(path, self.limits))
        except (ModelFileError, FormatError) as e:
            self.show_error("Cannot open Keras outputs", str(e) if isinstance(e, ModelFileError) else f"{path}: {e}")
            return False
        self.statusBar().showMessage(f"Keras outputs from {os.path.basename(path)}", 4000)
        return True

    def open_model(self, path: str, input_path: str | None = None, step: int | None = None) -> None:
        """Open in the background; on failure a dialog, and whatever was open stays open."""
        self.pending_step = step
        self._cancel_open.set()  # a newer open supersedes the running one: its reader process is killed
        self._cancel_open = threading.Event()
        self._start(LoadTask(open_model, path, input_path, self._cancel_open, self.limits, *self._exact_args()),
                    f"Opening {os.path.basename(path)}…", path)

    def _dtype(self):
        return np.float64 if self.exact_action.isChecked() else np.float32

    def _exact_args(self) -> tuple:
        """open_model's extra argument for the exact reference (none for the usual float32 replay)."""
        return (np.float64,) if self.exact_action.isChecked() else ()

    def set_exact(self, on: bool) -> None:
        """The exact reference on or off: the open model again, in float64 or float32, over the same data."""
        if self.exact_action.isChecked() != on:
            self.exact_action.setChecked(on)  # toggled() calls back here
            return
        s = self.session
        if s.model is None or s.exact == on:
            return
        self.pending_step = s.steps_done
        what = "exact reference (float64)" if on else "float32 replay"
        self._start(LoadTask(reopen, s.model, s.data, self._dtype(), self.limits), f"Switching to the {what}…", None)

    def open_input(self, path: str | None) -> None:
        if self.session.model is not None:
            self._start(LoadTask(open_data, self.session.model, path, self.limits), "Reading input…", None)

    def load_now(self, path: str, input_path: str | None = None) -> None:
        """Synchronous open (screenshots, scripts, tests); raises ModelFileError."""
        loaded = open_model(path, input_path, None, self.limits, *self._exact_args())
        self._generation += 1  # supersedes any open still running in the background
        self._on_loaded(loaded, path, background=False)
        if loaded.problem is None:
            self.session.set_predictions(*predict_batches(loaded.model, loaded.data))

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
        dropped = self.session.edited_samples  # new data (or a new model) starts without edits: say so
        self.session.set_loaded(loaded)
        if recent:
            self._add_recent(recent)
            self.settings.setValue("last_dir", os.path.dirname(os.path.abspath(recent)))
        if self.pending_step is not None:
            self.session.seek(self.pending_step)
            self.pending_step = None
        if dropped:
            listed = ", ".join(map(str, dropped[:6])) + ("…" if len(dropped) > 6 else "")
            self.statusBar().showMessage(f"New data: the edits of sample{'s' if len(dropped) > 1 else ''} {listed} "
                                         f"were dropped", 8000)
        else:
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

            self._run(LoadTask(predict_batches, loaded.model, loaded.data), finished, failed)

    def _predicted(self) -> None:
        self.predicting = False
        self._update_busy()
        if self.session.model is not None:
            self._update_readout_map()  # it waited for the predictions

    def _on_predicted(self, model, data, preds) -> None:
        self._predicted()
        if self.session.model is model and self.session.data is data:  # still the same document
            self.session.set_predictions(*preds)

    def _on_failed(self, message: str) -> None:
        self._done_loading()
        self.show_error("Cannot open", message)

    def show_error(self, title: str, message: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Critical, title, message, QMessageBox.Ok, self)
        box.setObjectName("errorDialog")
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()  # window-modal, not blocking: the window stays alive behind it
        return box

    # --- memory budget --------------------------------------------------------------------------------------------
    def memory_budget(self) -> int | None:
        """The budget set in File ▸ Memory budget (bytes), or None for the engine's defaults."""
        v = self.settings.value("max_memory", "")
        try:
            n = int(str(v))
        except ValueError:
            return None
        return n if n > 0 else None

    def set_memory_budget(self, n: int | None) -> None:
        self.settings.setValue("max_memory", "" if n is None else str(int(n)))
        self.limits = self._budget_limits()

    def _budget_limits(self) -> Limits:
        """What an open may make the engine hold: the setting, as ``--max-memory`` on the command line."""
        n = self.memory_budget()
        return DEFAULT if n is None else DEFAULT.with_max_memory(n)

    def choose_memory_budget(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        current = self.memory_budget()
        text, ok = QInputDialog.getText(
            self, "Memory budget",
            "Largest weights, input and layer outputs a file may make the window hold, each (e.g. 12G).\n"
            "Empty: the defaults (8G of weights, 4G of input, 4G of layer outputs). Applies to the next open.",
            text="" if current is None else f"{current / 1024**3:g}G")
        if not ok:
            return
        if not text.strip():
            self.set_memory_budget(None)
            return
        try:
            self.set_memory_budget(parse_size(text))
        except ValueError as e:
            self.show_error("Memory budget", str(e))

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
        self.plots.show_message("" if s.problem is None else f"Cannot replay this model.\n\n{s.problem}")
        self._configure_layer()
        self.bar.set_total(s.total_steps)

    def _configure_layer(self) -> None:
        s = self.session
        self.model_panel.select_node(s.node_id)
        self.weights.set_layer(s.layer)
        self.weights.set_order(s.unit_order)
        if self.guide is not None and self.guide.isVisible():  # the equations of the layer now selected
            self.guide.show_layer(s.layer)
        self._configure_plots()

    def _configure_plots(self) -> None:
        s = self.session
        if s.problem is not None:
            self._configure_conv_maps()  # (no maps either)
            return  # the plots stay cleared, the reason in their place
        self.plots.set_directions(s.directions(), s.direction)
        run_T = s.layer_T() if s.stepper is not None else 0
        self.plots.configure(s.shown_layer, run_T, s.gate_names(), s.state_names(), s.output_dims(), s.total_steps)
        self.plots.set_order(s.units_shown())
        self._configure_conv_maps()

    # --- a ConvLSTM layer: its maps in their own tab (gui/conv_maps.py) ----------------------------------------------
    def _map_layer(self) -> ConvLSTM | None:
        layer = self.session.layer
        return layer if isinstance(layer, ConvLSTM) and self.session.problem is None else None

    def _maps_note(self) -> str:
        layer = self._map_layer()
        return "" if layer is None else f"{layer.name} is a {layer.class_name}: its gate and state maps are in the Maps tab"

    def _configure_conv_maps(self) -> None:
        layer = self._map_layer()
        shape = layer.state_shape(layer.input_spatial) if layer is not None and layer.input_spatial else None
        self.conv_maps.configure(layer, shape)
        self.tabs.setTabVisible(self.maps_tab, layer is not None)
        self.plots.show_note(self._maps_note())
        if layer is not None and self.tabs.currentWidget() is self.plots:
            self.tabs.setCurrentWidget(self.conv_maps)
        self._update_conv_maps()

    def _update_conv_maps(self) -> None:
        if self._map_layer() is not None:
            self.conv_maps.update_maps(self.session.records(), self.session.layer_steps_done())

    def _shown_layer(self):
        return self.session.shown_layer

    def _on_layer_changed(self) -> None:
        self._configure_layer()

    def _on_direction_changed(self) -> None:
        self._configure_plots()
        self.plots.highlight_unit(self.session.unit)

    def _on_value_edited(self, t: int, f: int, value) -> None:
        why = self.session.set_input_value(t, f, value)
        if why is not None:
            self.input_panel.show_refusal(why)

    def _on_data_changed(self) -> None:
        s = self.session
        if s.data is None:
            return
        shown = (id(s.data), s.sample, s.output, s.dim)
        if shown != self._shown_sample:  # another sample or output: its own scales (an edit keeps them)
            self._shown_sample = shown
            self.plots.reset_ranges()
        k = s.input_index
        seq = s.sample_inputs[k][0] if s.sample_inputs and k < len(s.sample_inputs) else None
        src = os.path.basename(s.data.source) if s.data.source not in ("", "random") else s.data.source
        names = [spec.name for spec in s.specs]
        others = [i for i in s.edited_samples if i != s.sample]
        parts = ["edited"] if s.edited else []
        if others:
            listed = ", ".join(map(str, others[:6])) + ("…" if len(others) > 6 else "")
            parts.append(f"edits kept for sample{'s' if len(others) > 1 else ''} {listed}")
        note = f"  ({'; '.join(parts)})" if parts else ""
        spec = s.specs[k] if k < len(s.specs) else None
        self.input_panel.show_data(s.batch, s.sample, seq, f"input: {src}{note}", s.edited, names, k,
                                   integer=spec is not None and spec.integer and s.problem is None,
                                   editable=s.problem is None)
        if s.problem is None:
            self.plots.set_outputs(s.output_labels(), s.output, s.output_dims(), s.dim, s.output_is_softmax())
            label = "prediction" if len(s.output_labels()) == 1 and s.output_dims() == 1 else \
                f"{'class' if s.output_is_softmax() else 'output'} {s.output}[{s.dim}]"
            self.plots.update_batch(s.replay_final(), s.target_final(), s.sample, label, s.keras_final())
        self.bar.set_total(s.total_steps)
        self._update_badge()
        self._update_readout_map()

    # --- the readout map: every sample's readout after every step, computed off the GUI thread -----------------
    def _readout_map_key(self):
        s = self.session
        if s.data is None or s.model is None or s.problem is not None or s.sample_inputs is None:
            return None
        return id(s.model), id(s.data), s.output, s.edit_signature()

    def _update_readout_map(self) -> None:
        s = self.session
        if self.predicting:  # after the batch predictions (which come with a data change): one replay at a time
            self._readouts_key = None
            self._readouts_generation += 1
            self.plots.readout_map.clear("waiting for the batch predictions…")
            return
        key = self._readout_map_key()
        if key == self._readouts_key:
            self._show_readout_map()
            return
        self._readouts_key = key
        self._readouts_generation += 1
        self.session.batch_readouts = None
        if key is None:
            self.plots.readout_map.clear("" if s.problem is None else "cannot replay this model")
            return
        self.plots.readout_map.clear("computing…")
        gen = self._readouts_generation
        inputs = s.trace_inputs(whole_batch=True)
        per_sample = max(s.total_steps, 1)
        # at most READOUT_MAP_POINTS points, and about READOUT_MAP_FLOATS floats kept for the readouts while replaying
        points = min(READOUT_MAP_POINTS, READOUT_MAP_FLOATS // max(s.model.widest_recurrent(), 1))
        n = max(1, min(inputs[0].shape[0], points // per_sample))
        inputs = [x[:n] for x in inputs]

        def finished(r):
            if gen == self._readouts_generation:
                self.session.batch_readouts = r
                self._show_readout_map()

        def failed(message):
            if gen == self._readouts_generation:
                self.plots.readout_map.clear(f"no readout: {message}")

        self._run(LoadTask(batch_readouts, s.model, inputs, s.output), finished, failed)

    def _show_readout_map(self) -> None:
        s = self.session
        r = s.batch_readouts
        if r is None or s.data is None:
            return
        self.plots.readout_map.show(r.values, s.target_final(), s.dim)
        self.plots.readout_map.mark_sample(s.sample)

    def _update_badge(self) -> None:
        s = self.session
        d = s.keras_difference()
        n_edited = len(s.edited_samples)
        if d is None and n_edited and s.data is not None and s.data.keras_outputs:
            self.badge.setText("every sample edited — no Keras outputs to compare with")
            self.badge.setStyleSheet("padding: 2px 8px; background: #eee; color: #555;")
        elif d is None:
            self.badge.setText("no Keras outputs in the data to compare with")
            self.badge.setStyleSheet("padding: 2px 8px; color: #777;")
        else:
            ok = d <= 1e-5
            skipped = f" ({n_edited} edited sample{'s' if n_edited > 1 else ''} not compared)" if n_edited else ""
            text = f"replay vs Keras: max |Δ| = {d:.2e}"
            ex = s.exact_differences()
            if ex is not None:
                mine, keras = ex
                text += f" · float32 vs exact: {mine:.2e}"
                if keras is not None:
                    text += f" (Keras: {keras:.2e})"
                    # where Keras' own float32 is far from exact, 1e-5 is out of reach: as close as Keras is
                    ok = ok or mine <= max(1.5 * keras, 1e-5) or bool(s.as_close_to_exact_as_keras())
            self.badge.setText(f"{'✓' if ok else '✗'} {text}{skipped}")
            colour = "#1b7f3a" if ok else "#b00020"
            self.badge.setStyleSheet(f"padding: 2px 8px; color: white; background: {colour}; border-radius: 3px;")

    def _on_step_changed(self, n: int) -> None:
        s = self.session
        self.bar.show_step(n, s.step_detail())
        if s.problem is not None:  # nothing is replayed: no row is being read
            self.input_panel.set_current_step(-1)
            self.input_panel.set_masked(None)
            return
        steps = s.layer_steps_done()
        self.plots.update_states(s.records(), steps, s.gate_names(), s.state_names(), s.layer_times())
        self.plots.update_readout(s.readout_series(), s.target_of_sample(), n, s.dim)
        self.input_panel.set_current_step(s.current_row())
        self.plots.update_masked(s.masked_steps())
        self._update_conv_maps()
        self.input_panel.set_masked(s.masked_times() if s.layer_input_index() == s.input_index else None)

    def _toggle_unit(self, unit: int) -> None:
        self.session.set_unit(-1 if unit == self.session.unit else unit)

    def _on_cell_clicked(self, unit: int, t: int) -> None:
        """A heatmap cell: highlight its unit and go to the step at which the shown layer did step t."""
        s = self.session
        s.set_unit(unit)
        n = self._global_step_of_layer_step(t)
        if n is not None:
            s.seek(n)

    def _global_step_of_layer_step(self, t: int) -> int | None:
        """Steps done (the stepper's count) right after the shown layer read timestep t, or None if unknown."""
        s = self.session
        if s.stepper is None or s.node_id is None:
            return None
        stage = s.stepper.schedule.final_stage.get(s.node_id)
        T = s.layer_T()
        if not 0 <= t < max(T, 1):
            return None
        k = (T - 1 - t) if s.backwards else t  # the layer's step that reads t
        start = 0
        for st in s.stepper.stages:
            if st.index == stage:
                return start + k + 1
            start += st.T or 0
        return None

    def _on_readout_point_clicked(self, sample: int, step: int) -> None:
        self.session.set_sample(sample)
        self.session.seek(step + 1)

    def _on_unit_order_changed(self) -> None:
        """The units' order (Units × time tab) applies to the replay's heatmaps and gate plot and to the weights."""
        s = self.session
        self.plots.set_order(s.units_shown())
        self.weights.set_order(s.unit_order)
        self._on_step_changed(s.steps_done)

    def _on_unit_changed(self, unit: int) -> None:
        self.plots.highlight_unit(unit)
        self.weights.highlight_unit(unit)
        what = "channel" if self.session.shows_maps else "unit"  # a ConvLSTM's units are its filters
        self.statusBar().showMessage(f"{what} {unit} highlighted" if unit >= 0 else "", 3000)

    # --- export -----------------------------------------------------------------------------------------------------
    def caption(self) -> str:
        """What exported plots show: model, layer (and direction), sample and step."""
        s = self.session
        if s.model is None:
            return "LSTM Inspector"
        parts = [os.path.basename(s.model.path)]
        if s.layer is not None:
            parts.append(f"layer {s.layer.name}" + (f" ({s.direction})" if s.direction else ""))
        if s.data is not None:
            parts.append(f"sample {s.sample} of {s.batch}" + (" (edited)" if s.edited else ""))
        parts.append(f"step {s.steps_done} / {s.total_steps}")
        if s.stepper is not None and s.steps_done > 0:
            stage, t = s.stepper.stage_log[s.steps_done - 1]
            parts[-1] += f" (t = {t}" + (f", stage {stage})" if len(s.stepper.stages) > 1 else ")")
        return "  ·  ".join(parts)

    def export_plots(self, kind: str, path: str | None = None) -> None:
        """The plots with a caption line (model, sample, step) above them, as PNG or SVG."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export plots", self._last_dir(), f"*.{kind}")
            if not path:
                return
        if not self._may_write(path):
            return
        try:
            with atomic_path(path) as tmp:  # a failed export leaves nothing behind, an older file intact
                ok = write_svg(self.plots.glw, self.caption(), tmp) if kind == "svg" else \
                    caption_image(self.plots.glw, self.caption()).save(tmp, os.path.splitext(path)[1].lstrip(".") or "png")
                if not ok:
                    raise OSError(f"{path}: cannot write")
        except OSError as e:
            self.show_error("Cannot export", f"{path}: {e.strerror}" if e.strerror else str(e))

    def _may_write(self, path: str) -> bool:
        """An export never overwrites the open model or its input file (same file by inode, links included)."""
        s = self.session
        model = s.model.path if s.model is not None else None
        data = s.data.source if s.data is not None and s.data.source not in ("", "random") else None
        try:
            refuse_same_file(path, ("model", model), ("input", data))
        except SameFileError as e:
            self.show_error("Cannot export", f"{path}: {e}")
            return False
        return True

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
        if not self._may_write(path):
            return
        try:
            rows, cols = self.weights.names(keras_order=True)  # the block as Keras stores it, whatever the order shown
            a = block.array
            shown = (1, a.size) if a.ndim == 1 else (a.size // a.shape[-1], a.shape[-1])  # the table's rows × columns
            if (len(rows), len(cols)) != shown:  # names of another block than the one exported: numbered instead
                rows, cols = None, None
            save_matrix(path, a, columns=cols, rows=rows)
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
        asked = path is None
        if path is None:
            what = f"Export the trace of all {n} samples" if whole_batch else "Export the trace of this sample"
            kinds = "NumPy archive (*.npz)" + (";;HDF5, written chunk by chunk (*.h5)" if whole_batch else "")
            path, kind = QFileDialog.getSaveFileName(self, what, self._last_dir(), kinds)
            if not path:
                return
            if kind.startswith("HDF5") and not path.lower().endswith((".h5", ".hdf5")):
                path += ".h5"
        # a whole batch into HDF5: chunk by chunk, memory stays one chunk (engine/streaming.py)
        chunked = whole_batch and path.lower().endswith((".h5", ".hdf5"))
        if asked and size > self.TRACE_CONFIRM_BYTES and not self._confirm(
                "Large trace", f"The trace of {samples} holds about {_mb(size)}, "
                               f"{'on disk (written chunk by chunk)' if chunked else 'in memory and on disk'}. "
                               f"Export it?"):
            return
        if not self._may_write(path):  # never the model or the input itself
            return
        self.exporting = True
        self._update_busy()
        self.statusBar().showMessage(f"Tracing {samples} (about {_mb(size)})…")

        def finished(written):
            self.exporting = False
            self._update_busy()
            self._show_trace_progress(False)
            self.statusBar().showMessage(f"Trace of {samples} written to {written}" if written is not None
                                         else "Trace export cancelled: no file written", 6000)

        def failed(message):
            self.exporting = False
            self._update_busy()
            self._show_trace_progress(False)
            self.statusBar().clearMessage()
            self.show_error("Cannot export", message)

        if chunked:
            self._trace_cancel = False
            self._show_trace_progress(True)
            emit = self._trace_signals.progress.emit
            self._run(LoadTask(write_trace_h5, s.model, inputs, path, self.trace_chunk,
                               lambda done, total: emit(done, total), lambda: self._trace_cancel), finished, failed)
        else:
            self._run(LoadTask(write_trace, s.model, inputs, path), finished, failed)

    def cancel_trace(self) -> None:
        """Stop the chunked trace export after the chunk under way (the file is then not left)."""
        self._trace_cancel = True

    def _show_trace_progress(self, on: bool) -> None:
        self.trace_progress.setValue(0)
        self.trace_progress.setVisible(on)
        self.trace_cancel.setVisible(on)

    def _on_trace_progress(self, done: int, total: int) -> None:
        self.trace_progress.setValue(int(100 * done / max(total, 1)))

    def _confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.Yes

    # --- about / persistence -------------------------------------------------------------------------------------
    def show_guide(self) -> GuideDialog:
        if self.guide is None:
            self.guide = GuideDialog(self)
        self.guide.show_layer(self.session.layer)
        self.guide.show()
        self.guide.raise_()
        return self.guide

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
        self._split_restored = False
        for key, split in (("split", self.split), ("left", self.left)):
            st = self.settings.value(key)
            if st is not None:
                split.restoreState(st)
                self._split_restored = self._split_restored or split is self.split
        self.split.splitterMoved.connect(lambda *_: setattr(self, "_split_restored", True))  # the user's sizes stay

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if not self._split_restored:
            # until the user moves the splitter: the model and input panels take about a quarter of the width,
            # the plots the rest (at 1024 px that leaves room for two columns of plots)
            left = int(min(430, max(280, 0.27 * ev.size().width())))
            self.split.setSizes([left, max(ev.size().width() - left, 1)])

    def closeEvent(self, ev) -> None:
        self.bar.pause()
        self._cancel_open.set()  # a model still being read: its reader process is killed, so the app can exit
        # work still running in the background reports to nobody: its results are dropped
        self._generation += 1
        self._predict_generation += 1
        self._readouts_generation += 1
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("split", self.split.saveState())
        self.settings.setValue("left", self.left.saveState())
        self.settings.sync()
        super().closeEvent(ev)
