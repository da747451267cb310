"""1-D pooling (channels_last): MaxPooling1D, AveragePooling1D (valid/same; with "same", averages count only the
real steps, as TensorFlow does), GlobalAveragePooling1D (mask-aware, as in Keras) and GlobalMaxPooling1D."""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import Layer, register
from .conv import conv_padding


class _Pool1D(Layer):
    reduce = "max"

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.channels_last()
        (self.pool,) = self.int_tuple("pool_size", 2)
        strides = config.get("strides")
        (self.stride,) = self.int_tuple("strides") if strides is not None else (self.pool,)
        self.padding = str(config.get("padding", "valid")).lower()
        if self.padding not in ("valid", "same"):
            raise FormatError(f"layer {name!r}: unknown padding {self.padding!r}")

    def call(self, inputs):
        x = inputs[0]
        if x.ndim != 3:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs a 3-D input, got shape {x.shape}")
        L = x.shape[1]
        left, _, out = conv_padding(L, self.pool, self.stride, self.padding)
        if out <= 0:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}): {L} steps are fewer than pool_size")
        y = np.empty((x.shape[0], out, x.shape[2]), x.dtype)
        for o in range(out):
            a = max(0, o * self.stride - left)
            b = min(L, o * self.stride - left + self.pool)
            win = x[:, a:b]
            y[:, o] = win.max(axis=1) if self.reduce == "max" else win.mean(axis=1, dtype=x.dtype)
        return [y]

    def describe(self):
        return {"pool_size": str(self.pool), "strides": str(self.stride), "padding": self.padding}

    def output_shape(self, input_shapes):
        s = input_shapes[0]
        L = s[1]
        if isinstance(L, int):
            L = conv_padding(L, self.pool, self.stride, self.padding)[2]
        return [(s[0], L, s[2])]


@register("MaxPooling1D", "MaxPool1D")
class MaxPooling1D(_Pool1D):
    reduce = "max"


@register("AveragePooling1D", "AvgPool1D")
class AveragePooling1D(_Pool1D):
    reduce = "mean"


class _Global1D(Layer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.channels_last()
        self.keepdims = bool(config.get("keepdims", False))

    def output_shape(self, input_shapes):
        s = input_shapes[0]
        return [(s[0], 1, s[2]) if self.keepdims else (s[0], s[2])]


@register("GlobalAveragePooling1D", "GlobalAvgPool1D")
class GlobalAveragePooling1D(_Global1D):
    uses_mask = True

    def call(self, inputs, masks=None):
        x = inputs[0]
        m = masks[0] if masks else None
        if m is None:
            return [x.mean(axis=1, keepdims=self.keepdims, dtype=x.dtype)]
        mf = m.astype(x.dtype)[:, :, None]
        return [((x * mf).sum(axis=1, keepdims=self.keepdims) / mf.sum(axis=1, keepdims=self.keepdims)).astype(x.dtype)]


@register("GlobalMaxPooling1D", "GlobalMaxPool1D")
class GlobalMaxPooling1D(_Global1D):
    def call(self, inputs):
        return [inputs[0].max(axis=1, keepdims=self.keepdims)]
