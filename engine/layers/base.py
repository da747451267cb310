"""The layer protocol the graph and the stepper rely on, and the registry of supported Keras classes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..activations import get_activation
from ..errors import FormatError, UnsupportedLayerError
from ..printable import clip
from ..weights import WeightGroup

LAYER_TYPES: dict[str, type["Layer"]] = {}

# Classes that carry Python code or are user-defined: always refused, whatever else changes.
CODE_CARRYING = {"Lambda", "TFOpLambda", "SlicingOpLambda"}

MAX_UNITS = 1 << 20


def register(*class_names: str):
    def deco(cls):
        for n in class_names:
            LAYER_TYPES[n] = cls
        return cls

    return deco


@dataclass
class BuildContext:
    keras_version: str
    weights: WeightGroup


class Layer:
    """One Keras layer, built from its config and weights; ``call`` maps a list of arrays to a list of arrays.

    ``timewise`` layers act on every timestep independently (so the stepper may apply them one step at a time).
    """

    timewise: ClassVar[bool] = False
    recurrent: ClassVar[bool] = False
    notes: tuple[str, ...] = ()
    #: how a Keras mask (batch, time) bool passes this layer: "drop" (the output has none), "keep" (the first
    #: input's mask, for layers that act on each timestep alone) or "merge" (all inputs' masks and-ed, merges).
    mask_mode: ClassVar[str] = "drop"
    #: layers whose result depends on the mask get it: ``call(inputs, masks=...)``
    uses_mask: ClassVar[bool] = False

    def __init__(self, name: str, class_name: str, config: dict, ctx: BuildContext):
        self.name = name
        self.class_name = class_name
        self.config = config
        self.keras_version = ctx.keras_version

    # --- helpers for subclasses -------------------------------------------------------------------------------
    def activation(self, key: str, default="linear"):
        try:
            return get_activation(self.config.get(key, default), self.keras_version)
        except FormatError as e:
            raise FormatError(f"layer {self.name!r}: {e}") from None

    def int_option(self, key: str, default=None, lo: int = 1, hi: int = MAX_UNITS) -> int:
        v = self.config.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise FormatError(f"layer {self.name!r}: {key}={v!r} is not a whole number in [{lo}, {hi}]")
        return v

    def int_tuple(self, key: str, default=None, n: int = 1, lo: int = 1, hi: int = MAX_UNITS) -> tuple[int, ...]:
        """An option Keras stores as an int or a list of ints (kernel_size, strides, pool_size …)."""
        v = self.config.get(key, default)
        if isinstance(v, (list, tuple)):
            vals = list(v)
        else:
            vals = [v] * n
        if len(vals) != n or any(isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi for x in vals):
            raise FormatError(f"layer {self.name!r}: {key}={v!r} is not {n} whole number(s) in [{lo}, {hi}]")
        return tuple(vals)

    def channels_last(self) -> None:
        fmt = self.config.get("data_format", "channels_last")
        if fmt not in (None, "channels_last"):
            raise UnsupportedLayerError(self.class_name, self.name, f"{self.class_name} with data_format={fmt!r} is not supported")

    def take_weights(self, ctx: BuildContext, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        """The layer's arrays in order, checked against the shapes its config implies."""
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if len(arrays) != len(shapes):
            raise FormatError(
                f"layer {self.name!r} ({self.class_name}) has {len(arrays)} weight arrays, its config needs {len(shapes)}"
            )
        for i, (a, s) in enumerate(zip(arrays, shapes)):
            if tuple(a.shape) != tuple(s):
                raise FormatError(
                    f"layer {self.name!r} ({self.class_name}) weight {i} has shape {tuple(a.shape)}, expected {tuple(s)}"
                )
        return arrays

    # --- protocol ---------------------------------------------------------------------------------------------
    n_outputs: int = 1

    def call(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def set_call_arguments(self, constants: list) -> None:
        """Keras 3 operation nodes: the call's positional arguments, tensors as None (only ops use them)."""

    def compute_mask(self, inputs: list[np.ndarray], masks: list[np.ndarray | None]) -> list[np.ndarray | None]:
        """The output masks (one per output) from the input masks, as Keras' ``compute_mask`` does."""
        if self.mask_mode == "keep":
            return [masks[0] if masks else None] * self.n_outputs
        if self.mask_mode == "merge":
            return [merge_masks(masks)] * self.n_outputs
        return [None] * self.n_outputs

    def weight_arrays(self) -> list[tuple[str, np.ndarray]]:
        return []

    def param_count(self) -> int:
        return int(sum(a.size for _, a in self.weight_arrays()))

    def describe(self) -> dict[str, str]:
        """Short facts for the model panel and ``info`` (activations, units …)."""
        return {}

    def output_shape(self, input_shapes: list[tuple]) -> list[tuple]:
        """Shapes with None for unknown dims; default: same as the first input."""
        return [input_shapes[0]]


def merge_masks(masks: list[np.ndarray | None]) -> np.ndarray | None:
    """Keras' merge layers: a step is kept when every input keeps it; no mask at all when no input has one."""
    live = [m for m in masks if m is not None]
    if not live:
        return None
    out = live[0]
    for m in live[1:]:
        out = np.logical_and(out, m)
    return out


def unsupported(class_name: str, layer_name: str) -> UnsupportedLayerError:
    class_name = clip(class_name, 80)  # a name from the file: a 2 MB one still makes a short message
    if class_name in CODE_CARRYING:
        return UnsupportedLayerError(
            class_name, layer_name, f"{class_name} layers carry Python code; LSTM Inspector never executes code from a model file"
        )
    return UnsupportedLayerError(class_name, layer_name, f"layer class {class_name!r} is not supported (custom or not yet implemented)")
