"""Where the bundled files are: inside the installed package, or in the checkout's ``resources/``.

An install carries ``resources/`` as the package ``lstm_inspector.resources`` (package data), found through
``importlib.resources`` whatever the working directory; ``python main.py`` in a checkout that was never installed
falls back to the folder beside the package.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent / "resources"


def resource_dir() -> Path:
    try:
        root = resources.files("lstm_inspector.resources")
    except ModuleNotFoundError:
        return _CHECKOUT
    # A wheel or editable install is a plain directory; anything else (a zip import) is not supported.
    return Path(str(root))


def resource(*parts: str) -> str:
    return str(resource_dir().joinpath(*parts))


def demo_model() -> str:
    return resource("demo", "sine_lstm.keras")


def demo_data() -> str:
    return resource("demo", "sine_data.npz")


def icon_path() -> str:
    return resource("icons", "lstm-inspector.png")
