"""LSTM Inspector: the launcher package (command line, window start-up, bundled resources).

The work is done by ``engine`` (NumPy + h5py) and ``gui`` (PySide6 + pyqtgraph).
"""
from __future__ import annotations


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lstm-inspector")
    except PackageNotFoundError:  # a checkout that was never installed
        return "0+unknown"


__version__ = _version()
