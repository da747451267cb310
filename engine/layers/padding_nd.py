"""ZeroPadding1D/2D/3D and Cropping1D/2D/3D: zeros added around, or rows cut from, the spatial axes
(channels_last, or channels_first for the 2-D and 3-D ones)."""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import MAX_UNITS, Layer, register
from .spatial import data_format


class _Border(Layer):
    rank = 2
    key = "padding"
    sign = 1  # +1 pads, -1 crops

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.channels_first = data_format(self) if self.rank > 1 else False
        self.amounts = self._amounts(config.get(self.key, 1 if self.sign > 0 else 0))

    def _amounts(self, v) -> tuple[tuple[int, int], ...]:
        """Keras' forms: n (all sides), (a, b) (per axis, or before/after for 1-D), ((a, b), (c, d), …)."""
        n = self.rank

        def whole(x):
            return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= MAX_UNITS

        if whole(v):
            return ((v, v),) * n
        if isinstance(v, (list, tuple)):
            if n == 1 and len(v) == 2 and all(whole(x) for x in v):
                return ((v[0], v[1]),)
            if len(v) == n and all(whole(x) for x in v):
                return tuple((x, x) for x in v)
            if len(v) == n and all(isinstance(p, (list, tuple)) and len(p) == 2 and all(whole(x) for x in p) for p in v):
                return tuple((p[0], p[1]) for p in v)
        raise FormatError(f"layer {self.name!r}: {self.key}={v!r} is not a valid {self.class_name} setting")

    def _axes(self) -> list[int]:
        first = 2 if self.channels_first else 1
        return list(range(first, first + self.rank))

    def call(self, inputs):
        x = inputs[0]
        if x.ndim != self.rank + 2:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs a {self.rank + 2}-D input, got shape {x.shape}")
        axes = self._axes()
        if self.sign > 0:
            widths = [(0, 0)] * x.ndim
            for ax, p in zip(axes, self.amounts):
                widths[ax] = p
            return [np.pad(x, widths)]
        index = [slice(None)] * x.ndim
        for ax, (a, b) in zip(axes, self.amounts):
            if a + b >= x.shape[ax]:
                raise InputShapeError(f"layer {self.name!r} ({self.class_name}) crops {a + b} of {x.shape[ax]} values")
            index[ax] = slice(a, x.shape[ax] - b)
        return [np.ascontiguousarray(x[tuple(index)])]

    def describe(self):
        d = {self.key: str(self.amounts)}
        if self.channels_first:
            d["data_format"] = "channels_first"
        return d

    def output_shape(self, input_shapes):
        s = list(input_shapes[0])
        for ax, (a, b) in zip(self._axes(), self.amounts):
            if isinstance(s[ax], int):
                s[ax] = s[ax] + self.sign * (a + b)
        return [tuple(s)]


@register("ZeroPadding1D")
class ZeroPadding1D(_Border):
    rank = 1


@register("ZeroPadding2D")
class ZeroPadding2D(_Border):
    rank = 2


@register("ZeroPadding3D")
class ZeroPadding3D(_Border):
    rank = 3


@register("Cropping1D")
class Cropping1D(_Border):
    rank, key, sign = 1, "cropping", -1


@register("Cropping2D")
class Cropping2D(_Border):
    rank, key, sign = 2, "cropping", -1


@register("Cropping3D")
class Cropping3D(_Border):
    rank, key, sign = 3, "cropping", -1
