"""Layers that only move numbers around: Flatten, Reshape, Permute, RepeatVector."""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import Layer, register


def _known(n):
    return n if isinstance(n, int) else None


@register("Flatten")
class Flatten(Layer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.channels_first = config.get("data_format") == "channels_first"

    def call(self, inputs):
        x = inputs[0]
        if self.channels_first and x.ndim > 2:
            x = np.transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))
        return [np.ascontiguousarray(x).reshape(x.shape[0], -1)]

    def output_shape(self, input_shapes):
        s = input_shapes[0]
        rest = s[1:]
        n = int(np.prod(rest)) if all(isinstance(d, int) for d in rest) else None
        return [(s[0], n)]


@register("Reshape")
class Reshape(Layer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        target = config.get("target_shape")
        if not isinstance(target, (list, tuple)) or not target or any(
                isinstance(d, bool) or not isinstance(d, int) or (d < 1 and d != -1) for d in target) or list(target).count(-1) > 1:
            raise FormatError(f"layer {name!r}: target_shape={target!r} is not a shape")
        self.target = tuple(target)

    def call(self, inputs):
        x = inputs[0]
        try:
            return [np.ascontiguousarray(x).reshape((x.shape[0],) + self.target)]
        except ValueError:
            raise InputShapeError(f"layer {self.name!r} (Reshape) cannot reshape {x.shape[1:]} to {self.target}") from None

    def describe(self):
        return {"target_shape": str(self.target)}

    def output_shape(self, input_shapes):
        s = input_shapes[0]
        t = list(self.target)
        if -1 in t:
            rest = s[1:]
            if all(isinstance(d, int) for d in rest):
                known = int(np.prod([d for d in t if d != -1]))
                t[t.index(-1)] = int(np.prod(rest)) // known
            else:
                t[t.index(-1)] = None
        return [(s[0],) + tuple(t)]


@register("Permute")
class Permute(Layer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        dims = config.get("dims")
        if not isinstance(dims, (list, tuple)) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise FormatError(f"layer {name!r}: dims={dims!r} is not a permutation of 1..n")
        self.dims = tuple(int(d) for d in dims)

    def call(self, inputs):
        x = inputs[0]
        if x.ndim != len(self.dims) + 1:
            raise InputShapeError(f"layer {self.name!r} (Permute) needs a {len(self.dims) + 1}-D input, got shape {x.shape}")
        return [np.ascontiguousarray(np.transpose(x, (0,) + self.dims))]

    def describe(self):
        return {"dims": str(self.dims)}

    def output_shape(self, input_shapes):
        s = input_shapes[0]
        return [(s[0],) + tuple(s[d] for d in self.dims)]


@register("RepeatVector")
class RepeatVector(Layer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.n = self.int_option("n")

    def call(self, inputs):
        x = inputs[0]
        if x.ndim != 2:
            raise InputShapeError(f"layer {self.name!r} (RepeatVector) needs a 2-D input, got shape {x.shape}")
        return [np.ascontiguousarray(np.repeat(x[:, None, :], self.n, axis=1))]

    def describe(self):
        return {"n": str(self.n)}

    def output_shape(self, input_shapes):
        s = input_shapes[0]
        return [(s[0], self.n, s[1])]
