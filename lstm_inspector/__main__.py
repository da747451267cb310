"""``python -m lstm_inspector``: the same as ``lstm-inspector``."""
import sys

from .cli import main

sys.exit(main())
