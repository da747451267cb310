"""LSTM Inspector's window: PySide6 + pyqtgraph views over engine objects. No math and no file parsing here."""
from lstm_inspector import __version__  # noqa: F401  (one version: the installed package's metadata)
