"""The activation layers with options or weights: LeakyReLU, PReLU, ELU, ReLU, Softmax, ThresholdedReLU.

Each computes what Keras' backend does, in the same order of operations (``keras.backend.relu`` in Keras 2,
``ReLU.static_call`` in Keras 3: keep x above the threshold, clip to max_value, then subtract the negative part).
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError
from .base import Layer, register


def _float_option(layer: Layer, key: str, default, allow_none: bool = False):
    v = layer.config.get(key, default)
    if isinstance(v, dict) and v.get("type") == "ndarray":  # Keras 2.0 wrote a numpy scalar as {type, value}
        v = v.get("value")
    if isinstance(v, dict) and v.get("class_name") == "__numpy__":  # Keras 3 may store a numpy scalar
        v = (v.get("config") or {}).get("value")
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        raise FormatError(f"layer {layer.name!r} ({layer.class_name}): {key}={v!r} is not a number")
    return float(v)


def keras_relu(x: np.ndarray, negative_slope: float = 0.0, max_value: float | None = None,
               threshold: float = 0.0) -> np.ndarray:
    """``keras.backend.relu`` / Keras 3 ``activations.relu`` with all of its options."""
    dt = x.dtype
    if negative_slope != 0.0:
        if max_value is None and threshold == 0.0:
            return np.where(x > 0, x, dt.type(negative_slope) * x).astype(dt, copy=False)  # tf.nn.leaky_relu
        negative_part = np.maximum(-x + dt.type(threshold), 0) if threshold != 0.0 else np.maximum(-x, 0)
    clip_max = max_value is not None
    if threshold != 0.0:
        y = x * (x > dt.type(threshold)).astype(dt)
    elif max_value == 6:
        y = np.clip(x, 0, 6).astype(dt, copy=False)
        clip_max = False
    else:
        y = np.maximum(x, 0).astype(dt, copy=False)
    if clip_max:
        y = np.clip(y, dt.type(0), dt.type(max_value)).astype(dt, copy=False)
    if negative_slope != 0.0:
        y = y - dt.type(negative_slope) * negative_part
    return y.astype(dt, copy=False)


class _ActivationLayer(Layer):
    timewise = True
    mask_mode = "keep"


@register("LeakyReLU")
class LeakyReLU(_ActivationLayer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        # Keras 2 calls the slope alpha, Keras 3 negative_slope; both default to 0.3
        key = "negative_slope" if "negative_slope" in config else "alpha"
        self.slope = _float_option(self, key, 0.3)

    def call(self, inputs):
        x = inputs[0]
        return [keras_relu(x, negative_slope=self.slope)]

    def describe(self):
        return {"negative_slope": f"{self.slope:g}"}


@register("ReLU")
class ReLU(_ActivationLayer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.max_value = _float_option(self, "max_value", None, allow_none=True)
        self.negative_slope = _float_option(self, "negative_slope", 0.0)
        self.threshold = _float_option(self, "threshold", 0.0)

    def call(self, inputs):
        return [keras_relu(inputs[0], self.negative_slope, self.max_value, self.threshold)]

    def describe(self):
        d = {}
        if self.max_value is not None:
            d["max_value"] = f"{self.max_value:g}"
        if self.negative_slope:
            d["negative_slope"] = f"{self.negative_slope:g}"
        if self.threshold:
            d["threshold"] = f"{self.threshold:g}"
        return d


@register("ELU")
class ELU(_ActivationLayer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.alpha = _float_option(self, "alpha", 1.0)

    def call(self, inputs):
        x = inputs[0]
        with np.errstate(over="ignore"):
            res = np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
        if self.alpha == 1.0:
            return [res]
        return [np.where(x > 0, res, x.dtype.type(self.alpha) * res).astype(x.dtype, copy=False)]

    def describe(self):
        return {"alpha": f"{self.alpha:g}"}


@register("ThresholdedReLU")
class ThresholdedReLU(_ActivationLayer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.theta = _float_option(self, "theta", 1.0)

    def call(self, inputs):
        x = inputs[0]
        return [x * (x > x.dtype.type(self.theta)).astype(x.dtype)]

    def describe(self):
        return {"theta": f"{self.theta:g}"}


@register("Softmax")
class Softmax(Layer):
    mask_mode = "keep"

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        axis = config.get("axis", -1)
        if isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise FormatError(f"layer {name!r} (Softmax): axis={axis!r} is not supported")
        self.axis = axis
        self.timewise = axis == -1  # over the features of each step: each timestep alone

    def call(self, inputs):
        x = inputs[0]
        if not -x.ndim <= self.axis < x.ndim:
            raise FormatError(f"layer {self.name!r} (Softmax): axis {self.axis} does not exist for input of rank {x.ndim}")
        e = np.exp(x - np.max(x, axis=self.axis, keepdims=True))
        return [(e / np.sum(e, axis=self.axis, keepdims=True)).astype(x.dtype, copy=False)]

    def describe(self):
        return {"axis": str(self.axis)}


@register("PReLU")
class PReLU(Layer):
    mask_mode = "keep"

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if len(arrays) != 1 or arrays[0].dtype.kind != "f":
            raise FormatError(f"layer {name!r} (PReLU) has {len(arrays)} weight arrays, its config needs 1 (alpha)")
        self.alpha = arrays[0]
        shared = config.get("shared_axes")
        self.shared_axes = tuple(shared) if isinstance(shared, (list, tuple)) else (() if shared is None else (shared,))
        # one alpha for every timestep (shared over the time axis, or a 2-D input): each step alone
        self.timewise = self.alpha.ndim <= 1 or self.alpha.shape[0] == 1

    def call(self, inputs):
        x = inputs[0]
        alpha = self.alpha
        if self.timewise and x.ndim == alpha.ndim and alpha.ndim >= 2 and alpha.shape[0] == 1:
            alpha = alpha[0]  # a single timestep's slice: (batch, F) against (F,)
        try:
            pos = np.maximum(x, 0)
            neg = -alpha * np.maximum(-x, 0)
        except ValueError:
            raise FormatError(f"layer {self.name!r} (PReLU): alpha of shape {self.alpha.shape} does not fit an "
                              f"input of shape {x.shape}") from None
        return [(pos + neg).astype(x.dtype, copy=False)]

    def weight_arrays(self):
        return [("alpha", self.alpha)]

    def describe(self):
        return {"shared_axes": str(list(self.shared_axes))} if self.shared_axes else {}
