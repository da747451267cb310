"""Starting the window: one QApplication (reused if it exists), settings made here and passed in, an excepthook
that shows errors instead of dying, and the screenshot mode used for the README and checks."""
from __future__ import annotations

import os
import sys
import traceback

import PySide6  # noqa: F401  (import before pyqtgraph so it binds to PySide6)
from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

import engine
from lstm_inspector import __version__
from lstm_inspector.paths import icon_path


def make_settings() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "LSTMInspector", "lstm-inspector")


def _install_excepthook(window) -> None:
    def hook(etype, value, tb):
        traceback.print_exception(etype, value, tb, file=sys.stderr)
        try:
            window.show_error("Unexpected error", f"{etype.__name__}: {value}")
        except Exception:  # the window itself is gone: nothing more to show
            pass

    sys.excepthook = hook


def run_app(model_path: str | None = None, input_path: str | None = None, step: int | None = None,
            screenshot: str | None = None, settings: QSettings | None = None,
            size: tuple[int, int] = (1600, 1000)) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LSTM Inspector")
    app.setOrganizationName("LSTMInspector")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("lstm-inspector")  # Wayland/X11 match the window to the installed desktop entry
    app.setWindowIcon(QIcon(icon_path()))
    from .main_window import MainWindow

    if screenshot and settings is None:
        # a screenshot neither reads nor changes the user's window sizes and recent files: the same picture every
        # time, for documentation and checks
        import tempfile

        with tempfile.TemporaryDirectory(prefix="lstm-inspector-") as tmp:
            fresh = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
            return run_app(model_path, input_path, step, screenshot, fresh, size)
    window = MainWindow(settings if settings is not None else make_settings())
    _install_excepthook(window)
    if screenshot:
        return _screenshot(app, window, model_path, input_path, step, screenshot, size)
    window.show()
    if model_path:
        window.open_model(model_path, input_path, step)
    return app.exec()


def _screenshot(app, window, model_path, input_path, step, out: str, size: tuple[int, int] = (1600, 1000)) -> int:
    window.resize(*size)
    window.show()
    if model_path:
        try:
            window.load_now(model_path, input_path)
        except engine.ModelFileError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        window.session.seek(step if step is not None else window.session.total_steps)
    for _ in range(5):  # the background work a model starts (batch predictions, the readout map) shows too
        window.pool.waitForDone()
        app.processEvents()
    from engine.export import atomic_path
    from engine.printable import one_line

    try:
        with atomic_path(out) as tmp:  # the screenshot appears whole or not at all
            if not window.grab().save(tmp, os.path.splitext(out)[1].lstrip(".") or "png"):
                raise OSError(f"{out}: cannot write the screenshot")
    except OSError as e:
        print(f"error: {one_line(e.strerror and f'{out}: {e.strerror}' or str(e))}", file=sys.stderr)
        return 2
    window.close()
    return 0
