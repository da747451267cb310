"""GUI speed, measured offscreen (a script, not a test):

1. one step including the redraw of every plot, for the 2-layer LSTM(256) fixture (T=50, 32 features, 256 units
   → heatmaps), median over all steps of a replay — goal ≤ 16 ms (60 fps playback). The GUI thread's CPU time is
   printed too: on a shared machine the wall time also counts whatever else runs;
2. the weights table over a 1024 × 4096 kernel: showing it, and a scroll that repaints every visible cell;
3. open → first paint for a large model (2×LSTM(2048), ~200 MB of float32 weights, written to a temporary
   directory with h5py in the Keras 2 HDF5 layout, removed afterwards) — goal ≤ 1.5 s.

    python bench/bench_gui.py
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py sets it for the window
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def write_big_model(path: Path, units: int = 2048, features: int = 32, T: int = 20, layers_n: int = 2) -> None:
    import json

    rng = np.random.default_rng(0)
    layers = [
        {"class_name": "LSTM", "config": {"name": "lstm_1", "units": units, "return_sequences": layers_n == 2,
                                          "batch_input_shape": [None, T, features]}},
        {"class_name": "LSTM", "config": {"name": "lstm_2", "units": units}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 1}},
    ]
    shapes = {"lstm_1": [(features, 4 * units), (units, 4 * units), (4 * units,)],
              "lstm_2": [(units, 4 * units), (units, 4 * units), (4 * units,)],
              "dense": [(units, 1), (1,)]}
    if layers_n == 1:
        del layers[1], shapes["lstm_2"]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.21.0"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "big", "layers": layers}})
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([n.encode() for n in shapes], dtype="S")
        for name, shp in shapes.items():
            lg = g.create_group(name)
            names = ["kernel:0", "recurrent_kernel:0", "bias:0"] if name.startswith("lstm") else ["kernel:0", "bias:0"]
            lg.attrs["weight_names"] = np.array([f"{name}/{n}".encode() for n in names], dtype="S")
            for n, s in zip(names, shp):
                lg.create_dataset(f"{name}/{n}", data=(rng.standard_normal(s, dtype=np.float32) * 0.02))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_gui_") as tmp:  # the big model files go with it
        run(Path(tmp))


def run(tmp: Path) -> None:
    app = QApplication.instance() or QApplication([])
    from gui.main_window import MainWindow

    settings = QSettings(str(tmp / "s.ini"), QSettings.IniFormat)

    # 1. step + redraw, LSTM(256)
    w = MainWindow(settings)
    w.resize(1600, 1000)
    w.show()
    fx = ROOT / "tests" / "fixtures" / "k3keras"
    w.load_now(str(fx / "big_lstm256.keras"), str(fx / "big_lstm256.npz"))
    w.pool.waitForDone()  # the readout map's one-off background replay of the batch, not part of a step
    app.processEvents()
    for tab in (w.plots, w.weights):
        w.tabs.setCurrentWidget(tab)
        label = "replay plots" if tab is w.plots else "weights tab"
        for full in (False, True):
            times, cpu = [], []
            for _ in range(2):
                w.session.reset()
                app.processEvents()
                for n in range(1, w.session.total_steps + 1):
                    c0 = time.thread_time()
                    t0 = time.perf_counter()
                    w.session.seek(n)
                    if full:
                        w.repaint()  # synchronous paint of the whole window, changed or not
                    app.processEvents()  # paints what the step changed, as playback does
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.thread_time() - c0)
            how = "whole window repainted" if full else "changed widgets repainted"
            # the GUI thread's CPU time too: on a shared machine the wall time also counts other processes
            print(f"step + redraw, 2×LSTM(256), T=50, {label} visible, {how}: median "
                  f"{statistics.median(times) * 1e3:.1f} ms, p90 {np.percentile(times, 90) * 1e3:.1f} ms "
                  f"(GUI thread CPU median {statistics.median(cpu) * 1e3:.1f} ms) over {len(times)} steps "
                  f"(goal ≤ 16 ms)")
    w.tabs.setCurrentWidget(w.plots)
    w.close()

    # 2. a 1024 × 4096 kernel (LSTM(1024) on 1024 features), all gates side by side in the table
    wide = tmp / "wide_1024.h5"
    write_big_model(wide, units=1024, features=1024, T=10, layers_n=1)
    w3 = MainWindow(settings)
    w3.resize(1600, 1000)
    w3.show()
    w3.load_now(str(wide))
    w3.tabs.setCurrentWidget(w3.weights)
    app.processEvents()
    t0 = time.perf_counter()
    w3.weights.select("W", "all")
    w3.repaint()
    app.processEvents()
    t_show = time.perf_counter() - t0
    bar_h, bar_v = w3.weights.table.horizontalScrollBar(), w3.weights.table.verticalScrollBar()
    scroll = []
    for k in range(1, 41):
        t0 = time.perf_counter()
        bar_h.setValue(bar_h.maximum() * k // 40)
        bar_v.setValue(bar_v.maximum() * k // 40)
        w3.weights.table.viewport().repaint()
        app.processEvents()
        scroll.append(time.perf_counter() - t0)
    shape = w3.weights.model.array().shape
    print(f"weights table {shape[0]}×{shape[1]} (W, all gates): shown in {t_show * 1e3:.0f} ms; scroll + repaint "
          f"median {statistics.median(scroll) * 1e3:.1f} ms, max {max(scroll) * 1e3:.1f} ms")
    w3.close()

    # 3. open → first paint, 2×LSTM(2048)
    big = tmp / "big_2x2048.h5"
    write_big_model(big)
    size_mb = big.stat().st_size / 1e6
    for attempt in range(2):
        w2 = MainWindow(settings)
        w2.resize(1600, 1000)
        w2.show()
        app.processEvents()
        t0 = time.perf_counter()
        w2.open_model(str(big))
        while w2.loading:
            app.processEvents()
            time.sleep(0.001)
        w2.repaint()
        app.processEvents()
        t1 = time.perf_counter()
        while w2.predicting:
            app.processEvents()
            time.sleep(0.005)
        t2 = time.perf_counter()
        print(f"open → first paint, 2×LSTM(2048) ({size_mb:.0f} MB .h5), run {attempt + 1}: {(t1 - t0) * 1e3:.0f} ms "
              f"(goal ≤ 1500 ms); batch predictions (8×20 steps) ready after {(t2 - t0) * 1e3:.0f} ms")
        w2.close()


if __name__ == "__main__":
    main()
