"""The few Keras 3 operations that appear as nodes of saved functional graphs around masks.

Keras 3 writes the mask a Masking or Embedding(mask_zero=True) layer computes as explicit graph nodes
(``NotEqual(x, 0)``, ``Any(axis=-1)``) passed to the next layers as ``mask=``. Only these element-wise comparisons
and reductions are replayed; any other operation is refused by its class name.
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import Layer

#: operation classes by name, separate from layers (an operation may share a layer's name, e.g. Concatenate)
OP_TYPES: dict[str, type[Layer]] = {}


def register(*names):
    def deco(cls):
        for n in names:
            OP_TYPES[n] = cls
        return cls

    return deco


class _Op(Layer):
    n_args = 2

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.constants: list = [None] * self.n_args

    def set_call_arguments(self, constants):
        if len(constants) != self.n_args:
            raise FormatError(f"operation {self.name!r} ({self.class_name}) is called with {len(constants)} arguments")
        for c in constants:
            if c is not None and (isinstance(c, bool) or not isinstance(c, (int, float))):
                raise FormatError(f"operation {self.name!r} ({self.class_name}) has a non-numeric argument {c!r}")
        self.constants = list(constants)

    def operands(self, inputs):
        it = iter(inputs)
        try:
            return [next(it) if c is None else np.asarray(c, dtype=np.float32) for c in self.constants]
        except StopIteration:
            raise InputShapeError(f"operation {self.name!r} ({self.class_name}) is missing inputs") from None

    def describe(self):
        return {"operation": self.class_name}


@register("NotEqual")
class NotEqual(_Op):
    def call(self, inputs):
        a, b = self.operands(inputs)
        return [np.not_equal(a, b)]


@register("Equal")
class Equal(_Op):
    def call(self, inputs):
        a, b = self.operands(inputs)
        return [np.equal(a, b)]


@register("LogicalAnd")
class LogicalAnd(_Op):
    def call(self, inputs):
        a, b = self.operands(inputs)
        return [np.logical_and(a, b)]


@register("LogicalOr")
class LogicalOr(_Op):
    def call(self, inputs):
        a, b = self.operands(inputs)
        return [np.logical_or(a, b)]


@register("LogicalNot")
class LogicalNot(_Op):
    n_args = 1

    def call(self, inputs):
        (a,) = self.operands(inputs)
        return [np.logical_not(a)]


class _Reduce(_Op):
    n_args = 1

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        axis = config.get("axis")
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, list))):
            raise FormatError(f"operation {name!r}: axis={axis!r} is not an axis")
        self.axis = tuple(axis) if isinstance(axis, list) else axis
        self.keepdims = bool(config.get("keepdims", False))

    def output_shape(self, input_shapes):
        s = list(input_shapes[0])
        if self.axis is None:
            return [()]
        axes = [a % len(s) for a in (self.axis if isinstance(self.axis, tuple) else (self.axis,))]
        return [tuple(1 if i in axes else d for i, d in enumerate(s)) if self.keepdims
                else tuple(d for i, d in enumerate(s) if i not in axes)]


@register("Any")
class Any(_Reduce):
    def call(self, inputs):
        (a,) = self.operands(inputs)
        return [np.any(a, axis=self.axis, keepdims=self.keepdims)]


@register("All")
class All(_Reduce):
    def call(self, inputs):
        (a,) = self.operands(inputs)
        return [np.all(a, axis=self.axis, keepdims=self.keepdims)]


@register("ExpandDims")
class ExpandDims(_Op):
    n_args = 1

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        axis = config.get("axis")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise FormatError(f"operation {name!r}: axis={axis!r} is not an axis")
        self.axis = axis

    def call(self, inputs):
        (a,) = self.operands(inputs)
        return [np.expand_dims(a, self.axis)]

    def output_shape(self, input_shapes):
        s = list(input_shapes[0])
        ax = self.axis if self.axis >= 0 else self.axis + len(s) + 1
        return [tuple(s[:ax] + [1] + s[ax:])]


class _Like(_Op):
    n_args = 1
    fill = 0

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        dt = config.get("dtype")
        if isinstance(dt, dict):  # a dtype policy
            dt = (dt.get("config") or {}).get("name")
        self.dtype = {"bool": bool, "float32": np.float32, "int32": np.int32, "int64": np.int64, None: None}.get(dt, np.float32)

    def call(self, inputs):
        (a,) = self.operands(inputs)
        return [np.full(a.shape, self.fill, dtype=self.dtype or a.dtype)]


@register("ZerosLike")
class ZerosLike(_Like):
    fill = 0


@register("OnesLike")
class OnesLike(_Like):
    fill = 1


@register("Concatenate")
class ConcatenateOp(_Op):
    """``ops.concatenate(list, axis)``: the list's tensors are the node's inputs."""

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        axis = config.get("axis", 0)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise FormatError(f"operation {name!r}: axis={axis!r} is not an axis")
        self.axis = axis

    def set_call_arguments(self, constants):
        if any(c is not None for c in constants):
            raise FormatError(f"operation {self.name!r} (Concatenate) has non-tensor arguments")

    def call(self, inputs):
        return [np.concatenate(inputs, axis=self.axis)]

    def output_shape(self, input_shapes):
        return [None]
