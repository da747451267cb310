"""LSTM Inspector's window: PySide6 + pyqtgraph views over engine objects. No math and no file parsing here."""
__version__ = "0.1.0"
