"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate.

Masks merge as in Keras: a step is kept when every input keeps it (Concatenate along time joins them instead).
"""
from __future__ import annotations

from functools import reduce

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import Layer, merge_masks, register


class _Merge(Layer):
    timewise = True
    mask_mode = "merge"
    min_inputs = 2

    def call(self, inputs):
        if len(inputs) < self.min_inputs:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs at least {self.min_inputs} inputs")
        try:
            y = np.asarray(self.op(inputs))
            return [y if y.dtype.kind == "f" else y.astype(np.float32)]
        except ValueError:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) gets inputs of shapes "
                                  f"{[tuple(a.shape) for a in inputs]}") from None

    def output_shape(self, input_shapes):
        return [input_shapes[0]]


@register("Add")
class Add(_Merge):
    def op(self, xs):
        return reduce(np.add, xs)


@register("Subtract")
class Subtract(_Merge):
    def op(self, xs):
        if len(xs) != 2:
            raise InputShapeError(f"layer {self.name!r} (Subtract) needs exactly 2 inputs")
        return xs[0] - xs[1]


@register("Multiply")
class Multiply(_Merge):
    def op(self, xs):
        return reduce(np.multiply, xs)


@register("Average")
class Average(_Merge):
    def op(self, xs):
        return reduce(np.add, xs) / xs[0].dtype.type(len(xs))


@register("Maximum")
class Maximum(_Merge):
    def op(self, xs):
        return reduce(np.maximum, xs)


@register("Minimum")
class Minimum(_Merge):
    def op(self, xs):
        return reduce(np.minimum, xs)


@register("Concatenate")
class Concatenate(Layer):
    mask_mode = "merge"  # see compute_mask

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        axis = config.get("axis", -1)
        if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
            raise FormatError(f"layer {name!r}: Concatenate axis={axis!r} is not a feature or time axis")
        self.axis = axis
        self.rank = 0
        self.timewise = axis == -1

    def output_shape(self, input_shapes):
        self.rank = len(input_shapes[0])
        ax = self.axis if self.axis > 0 else self.axis + self.rank
        self.timewise = self.rank >= 3 and ax == self.rank - 1
        out = list(input_shapes[0])
        dims = [s[ax] for s in input_shapes]
        out[ax] = sum(dims) if all(isinstance(d, int) for d in dims) else None
        return [tuple(out)]

    def _axis(self, ndim):
        if self.axis < 0:
            return self.axis + ndim
        if self.rank and ndim == self.rank - 1:  # one timestep of a sequence
            return self.axis - 1
        return self.axis

    def call(self, inputs):
        try:
            return [np.concatenate(inputs, axis=self._axis(inputs[0].ndim))]
        except (ValueError, np.exceptions.AxisError if hasattr(np, "exceptions") else ValueError):
            raise InputShapeError(f"layer {self.name!r} (Concatenate) gets inputs of shapes "
                                  f"{[tuple(a.shape) for a in inputs]}") from None

    def compute_mask(self, inputs, masks):
        if all(m is None for m in masks):
            return [None]
        ax = self._axis(inputs[0].ndim)
        if ax == inputs[0].ndim - 1:  # features: and
            return [merge_masks(masks)]
        if ax == 1 and inputs[0].ndim >= 3:  # time: join
            full = [m if m is not None else np.ones(x.shape[:2], bool) for m, x in zip(masks, inputs)]
            return [np.concatenate(full, axis=1)]
        return [None]

    def describe(self):
        return {"axis": str(self.axis)}
