"""Errors raised by the engine.

Every problem with a user's file or input ends up as a :class:`ModelFileError` whose ``str()`` is one line,
``<file>: <reason>``, so the CLI and the GUI can show it as it is.
"""
from __future__ import annotations


class ModelFileError(Exception):
    """A model or input file that cannot be used. ``path`` names the file, ``reason`` says why in one line."""

    def __init__(self, path: object, reason: str):
        self.path = str(path) if path is not None else "<input>"
        self.reason = " ".join(str(reason).split())  # one line, always
        super().__init__(f"{self.path}: {self.reason}")


class FormatError(ValueError):
    """Raised inside the readers without knowing the file name; turned into ModelFileError at the top."""


class UnsupportedLayerError(FormatError):
    """A layer class the engine cannot replay (or refuses to, e.g. Lambda). The message names the class."""

    def __init__(self, class_name: str, layer_name: str, why: str = ""):
        self.class_name = class_name
        self.layer_name = layer_name
        self.why = why or f"layer class {class_name!r} is not supported"
        super().__init__(f"layer {layer_name!r}: {self.why}")


class InputShapeError(FormatError):
    """An input array that does not fit the model."""
