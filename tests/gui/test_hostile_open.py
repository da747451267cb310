"""The window survives files that crash or hang the HDF5 library: they are read in a child process, the dialog
says what happened, the model that was open stays open and usable, and closing the window during a slow open exits
the process (its reader killed)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from PySide6.QtWidgets import QMessageBox

from engine.limits import Limits
from tests.engine import crafted
from tests.engine.test_hostile_files import SEGFAULT, SPIN
from tests.gui.helpers import DEMO, DEMO_PATHS, ROOT


def _open_bad_and_check(window, qtbot, path, needle):
    window.load_now(*DEMO_PATHS)
    before = window.session.model
    window.open_model(str(path))
    qtbot.waitUntil(lambda: not window.loading, timeout=30000)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is not None, timeout=5000)
    box = window.findChild(QMessageBox, "errorDialog")
    assert str(path) in box.text() and needle in box.text(), box.text()
    assert window.session.model is before and window.isVisible()
    box.accept()
    window.session.seek(3)  # still usable
    assert window.session.steps_done == 3
    assert window.weights.table.model().rowCount() > 0 if hasattr(window.weights, "table") else True


def test_file_that_crashes_the_reader_keeps_the_previous_model(window, qtbot, tmp_path):
    p = crafted.flipped(*SEGFAULT[:1], tmp_path / "crash.h5", *SEGFAULT[1:])
    _open_bad_and_check(window, qtbot, p, "crashed the HDF5 library (SIGSEGV)")


def test_file_that_hangs_the_reader_keeps_the_previous_model(window, qtbot, tmp_path):
    window.limits = Limits(read_seconds=2)
    p = crafted.flipped(*SPIN[:1], tmp_path / "spin.h5", *SPIN[1:])
    t = time.perf_counter()
    _open_bad_and_check(window, qtbot, p, "reading took longer than 2 s")
    assert time.perf_counter() - t < 20


def test_newer_open_kills_the_slow_one(window, qtbot, tmp_path):
    p = crafted.flipped(*SPIN[:1], tmp_path / "spin.h5", *SPIN[1:])
    window.open_model(str(p))
    qtbot.wait(300)
    good = str(DEMO / "sine_lstm.keras")
    t = time.perf_counter()
    window.open_model(good, str(DEMO / "sine_data.npz"))
    qtbot.waitUntil(lambda: window.session.model is not None and window.session.model.path == good, timeout=20000)
    assert time.perf_counter() - t < 15  # not held up for the reader's 120 s
    assert window.findChild(QMessageBox, "errorDialog") is None  # the abandoned open says nothing


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_closing_the_window_during_a_slow_open_exits(tmp_path):
    p = crafted.flipped(*SPIN[:1], tmp_path / "spin.h5", *SPIN[1:])
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        sys.path.insert(0, {str(ROOT)!r})
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtWidgets import QApplication
        from engine import reader_process
        from gui.main_window import MainWindow
        app = QApplication([])
        w = MainWindow(QSettings({str(tmp_path / "s.ini")!r}, QSettings.IniFormat))
        w.show()
        w.open_model({str(p)!r})
        def close():
            print(reader_process._SERVER.proc.pid, reader_process._SERVER.child, w.loading, flush=True)
            w.close()
        QTimer.singleShot(3000, close)
        app.exec()
        print("exited", flush=True)
    """)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert time.perf_counter() - t < 30, "the process waited for the reader"
    lines = r.stdout.split()
    assert r.returncode == 0 and lines[-1] == "exited", r.stderr[-2000:]
    assert lines[1] != "None", r.stdout + r.stderr[-3000:]
    server, child, loading = int(lines[0]), int(lines[1]), lines[2]
    assert loading == "True"  # it was still reading when the window closed
    deadline = time.time() + 10
    while not (_gone(server) and _gone(child)) and time.time() < deadline:
        time.sleep(0.1)
    assert _gone(server) and _gone(child)
