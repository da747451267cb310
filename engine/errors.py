"""Errors raised by the engine.

Every problem with a user's file or input ends up as a :class:`ModelFileError` whose ``str()`` is one line,
``<file>: <reason>``, so the CLI and the GUI can show it as it is.
"""
from __future__ import annotations

from .printable import MAX_ERROR_CHARS, clip, clip_middle, printable


class ModelFileError(Exception):
    """A model or input file that cannot be used. ``path`` names the file, ``reason`` says why in one line.

    Both are made printable (control characters escaped: names come from the file, and so can a file name) and
    capped, so ``error: <path>: <reason>`` is one terminal-safe line of about 300 characters at most."""

    def __init__(self, path: object, reason: str):
        self.path = clip_middle(printable(path), 160) if path is not None else "<input>"
        # one line, always; room left by the path, and never under 80 characters
        room = max(MAX_ERROR_CHARS - len("error: : ") - len(self.path), 80)
        # cut in the middle: a reason often ends with what matters ("… are the same object (linked twice)")
        self.reason = clip_middle(printable(" ".join(str(reason).split())), room)
        super().__init__(f"{self.path}: {self.reason}")


class FormatError(ValueError):
    """Raised inside the readers without knowing the file name; turned into ModelFileError at the top."""


class UnsupportedLayerError(FormatError):
    """A layer class the engine cannot replay (or refuses to, e.g. Lambda). The message names the class."""

    def __init__(self, class_name: str, layer_name: str, why: str = ""):
        self.class_name = class_name
        self.layer_name = layer_name
        self.why = why or f"layer class {class_name!r} is not supported"
        super().__init__(f"layer {clip(layer_name, 80)!r}: {self.why}")


class InputShapeError(FormatError):
    """An input array that does not fit the model."""


class ModelRunError(FormatError):
    """A model whose config passes every check but cannot run (an axis out of range for the actual rank, shapes
    that do not broadcast …): reported against the model file, in one line, instead of a traceback."""
