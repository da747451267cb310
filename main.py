"""Launcher for a checkout: ``python main.py ...`` runs the same entry point as the installed ``lstm-inspector``.

The code lives in the ``lstm_inspector`` package (``lstm_inspector/cli.py``) so that an install puts no top-level
module called ``main`` into site-packages.
"""
import sys

from lstm_inspector.cli import main

if __name__ == "__main__":
    sys.exit(main())
