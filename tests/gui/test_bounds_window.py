"""The window's memory budget (File ▸ Memory budget, kept in QSettings) bounds what the loads may allocate; exports
never overwrite the open model or its input, and are written atomically."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QInputDialog, QMessageBox

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo"


def error_box(qtbot, window) -> QMessageBox:
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is not None, timeout=10000)
    return window.findChild(QMessageBox, "errorDialog")


def test_memory_budget_is_a_setting_the_loads_use(window, qtbot, settings, monkeypatch, tmp_path):
    window.load_now(str(DEMO / "sine_lstm.keras"), str(DEMO / "sine_data.npz"))
    before = window.session.model
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("20K", True))
    window.choose_memory_budget()
    assert window.memory_budget() == 20 * 1024
    settings.sync()
    assert QSettings(settings.fileName(), QSettings.IniFormat).value("max_memory") == str(20 * 1024)
    assert window.limits.max_input_bytes == 20 * 1024

    big = tmp_path / "big.npy"
    np.save(big, np.zeros((2000, 5, 1), "f4"))  # 40 KB: over the 20 KB budget
    window.open_input(str(big))
    box = error_box(qtbot, window)
    assert str(big) in box.text() and "20.0 KB input budget" in box.text()
    assert window.session.model is before
    box.accept()

    # an empty answer goes back to the defaults, and the same input opens
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("", True))
    window.choose_memory_budget()
    assert window.memory_budget() is None
    window.open_input(str(big))
    qtbot.waitUntil(lambda: window.session.data is not None and window.session.data.source == str(big), timeout=10000)


def test_bad_memory_budget_is_refused(window, qtbot, monkeypatch):
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("plenty", True))
    window.choose_memory_budget()
    box = error_box(qtbot, window)
    assert "'plenty' is not a size" in box.text() and window.memory_budget() is None
    box.accept()


def test_exports_never_overwrite_the_model_or_the_input(window, qtbot, tmp_path):
    model = tmp_path / "model.keras"
    data = tmp_path / "data.npz"
    shutil.copyfile(DEMO / "sine_lstm.keras", model)
    shutil.copyfile(DEMO / "sine_data.npz", data)
    window.load_now(str(model), str(data))
    originals = {p: p.read_bytes() for p in (model, data)}
    link = tmp_path / "link.csv"
    os.symlink(model, link)
    for export, target in ((lambda p: window.export_matrix(p), str(link)),
                           (lambda p: window.export_plots("png", p), str(model)),
                           (lambda p: window.export_trace(p), str(data))):
        export(target)
        box = error_box(qtbot, window)
        assert "refusing to overwrite it" in box.text()
        box.accept()
        box.close()
        qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is None, timeout=5000)
    assert {p: p.read_bytes() for p in (model, data)} == originals


def test_plot_and_matrix_exports_leave_no_temporary_files(window, tmp_path):
    window.load_now(str(DEMO / "sine_lstm.keras"), str(DEMO / "sine_data.npz"))
    out = tmp_path / "out"
    out.mkdir()
    window.export_plots("png", str(out / "plots.png"))
    window.export_plots("svg", str(out / "plots.svg"))
    window.export_matrix(str(out / "w.npy"))
    assert sorted(os.listdir(out)) == ["plots.png", "plots.svg", "w.npy"]
    assert (out / "plots.png").read_bytes()[:4] == b"\x89PNG" and b"<svg" in (out / "plots.svg").read_bytes()
