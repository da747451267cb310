"""2-D and 3-D pooling (channels_last or channels_first): MaxPooling2D/3D, AveragePooling2D/3D (valid/same; with
"same", averages count only the real values, as TensorFlow does) and GlobalMax/AveragePooling2D/3D."""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import Layer, register
from .spatial import data_format, output_size, pool_nd, to_channels_first, to_channels_last


class _PoolND(Layer):
    rank = 2
    reduce = "max"

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        n = self.rank
        self.channels_first = data_format(self)
        self.pool = self.int_tuple("pool_size", 2, n=n)
        self.strides = self.int_tuple("strides", n=n) if config.get("strides") is not None else self.pool
        self.padding = str(config.get("padding", "valid")).lower()
        if self.padding not in ("valid", "same"):
            raise FormatError(f"layer {name!r}: unknown padding {self.padding!r}")

    def call(self, inputs):
        x = inputs[0]
        if x.ndim != self.rank + 2:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs a {self.rank + 2}-D input, got shape {x.shape}")
        xl = to_channels_last(x) if self.channels_first else x
        try:
            y = pool_nd(xl, self.pool, self.strides, self.padding, self.reduce)
        except ValueError:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}): input {x.shape[1:]} is smaller than "
                                  f"pool_size {self.pool}") from None
        return [np.ascontiguousarray(to_channels_first(y)) if self.channels_first else y]

    def describe(self):
        d = {"pool_size": str(self.pool), "strides": str(self.strides), "padding": self.padding}
        if self.channels_first:
            d["data_format"] = "channels_first"
        return d

    def output_shape(self, input_shapes):
        s = tuple(input_shapes[0])
        spatial = s[2:] if self.channels_first else s[1:-1]
        out = tuple(output_size(v, k, st, 1, self.padding) for v, k, st in zip(spatial, self.pool, self.strides))
        return [(s[0], s[1]) + out if self.channels_first else (s[0],) + out + (s[-1],)]


@register("MaxPooling2D", "MaxPool2D")
class MaxPooling2D(_PoolND):
    rank, reduce = 2, "max"


@register("AveragePooling2D", "AvgPool2D")
class AveragePooling2D(_PoolND):
    rank, reduce = 2, "mean"


@register("MaxPooling3D", "MaxPool3D")
class MaxPooling3D(_PoolND):
    rank, reduce = 3, "max"


@register("AveragePooling3D", "AvgPool3D")
class AveragePooling3D(_PoolND):
    rank, reduce = 3, "mean"


class _GlobalND(Layer):
    rank = 2
    reduce = "max"

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.channels_first = data_format(self)
        self.keepdims = bool(config.get("keepdims", False))

    def _axes(self) -> tuple[int, ...]:
        first = 2 if self.channels_first else 1
        return tuple(range(first, first + self.rank))

    def call(self, inputs):
        x = inputs[0]
        if x.ndim != self.rank + 2:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs a {self.rank + 2}-D input, got shape {x.shape}")
        if self.reduce == "max":
            return [x.max(axis=self._axes(), keepdims=self.keepdims)]
        return [x.mean(axis=self._axes(), keepdims=self.keepdims, dtype=x.dtype)]

    def describe(self):
        return {"data_format": "channels_first"} if self.channels_first else {}

    def output_shape(self, input_shapes):
        s = list(input_shapes[0])
        axes = self._axes()
        if self.keepdims:
            return [tuple(1 if i in axes else d for i, d in enumerate(s))]
        return [tuple(d for i, d in enumerate(s) if i not in axes)]


@register("GlobalMaxPooling2D", "GlobalMaxPool2D")
class GlobalMaxPooling2D(_GlobalND):
    rank, reduce = 2, "max"


@register("GlobalAveragePooling2D", "GlobalAvgPool2D")
class GlobalAveragePooling2D(_GlobalND):
    rank, reduce = 2, "mean"


@register("GlobalMaxPooling3D", "GlobalMaxPool3D")
class GlobalMaxPooling3D(_GlobalND):
    rank, reduce = 3, "max"


@register("GlobalAveragePooling3D", "GlobalAvgPool3D")
class GlobalAveragePooling3D(_GlobalND):
    rank, reduce = 3, "mean"
