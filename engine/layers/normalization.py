"""BatchNormalization (inference: moving statistics) and LayerNormalization, as Keras computes them::

    inv = gamma / sqrt(var + eps);   y = x · inv + (beta − mean · inv)
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import Layer, register


def _axes(value, name) -> tuple[int, ...]:
    vals = value if isinstance(value, (list, tuple)) else [value]
    if not vals or any(isinstance(a, bool) or not isinstance(a, int) for a in vals):
        raise FormatError(f"layer {name!r}: axis={value!r} is not a list of axes")
    return tuple(vals)


class _Norm(Layer):
    mask_mode = "keep"

    def _resolve(self, ndim: int) -> tuple[int, ...]:
        """Axes for an input of rank ndim; a per-step slice (rank one less) keeps the last axis last."""
        out = []
        for a in self.axes:
            if a < 0:
                a += self.rank if self.rank else ndim
            if self.rank and ndim == self.rank - 1:  # one timestep of a sequence (only when timewise)
                a -= 1
            if not 0 < a < ndim:
                raise InputShapeError(f"layer {self.name!r} ({self.class_name}) cannot normalise axis {a} of a {ndim}-D input")
            out.append(a)
        return tuple(out)

    def output_shape(self, input_shapes):
        # the rank is known from the graph: it decides whether the layer may run one timestep at a time
        self.rank = len(input_shapes[0])
        res = [a + self.rank if a < 0 else a for a in self.axes]
        self.timewise = self.rank >= 3 and res == [self.rank - 1]
        return [input_shapes[0]]

    def _param_shape(self, x, axes):
        shape = [1] * x.ndim
        for a in axes:
            shape[a] = x.shape[a]
        return shape


@register("BatchNormalization")
class BatchNormalization(_Norm):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.axes = _axes(config.get("axis", -1), name)
        self.rank = 0
        self.timewise = False
        self.eps = np.float32(config.get("epsilon", 1e-3))
        self.center = bool(config.get("center", True))
        self.scale = bool(config.get("scale", True))
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if not arrays:
            raise FormatError(f"layer {name!r} (BatchNormalization) has no weights in the file")
        n = 2 + self.scale + self.center
        pshape = arrays[0].shape
        got = self.take_weights(ctx, [pshape] * n)
        k = 0
        self.gamma = got[k] if self.scale else None
        k += self.scale
        self.beta = got[k] if self.center else None
        k += self.center
        self.mean, self.var = got[k], got[k + 1]
        inv = (1.0 / np.sqrt(self.var + self.var.dtype.type(float(self.eps)))).astype(self.var.dtype)
        if self.gamma is not None:
            inv = inv * self.gamma
        off = -self.mean * inv
        if self.beta is not None:
            off = off + self.beta
        self.inv, self.off = inv.astype(self.var.dtype), off.astype(self.var.dtype)

    def call(self, inputs):
        x = inputs[0]
        axes = self._resolve(x.ndim)
        shape = self._param_shape(x, axes)
        if int(np.prod(shape)) != self.inv.size:
            raise InputShapeError(f"layer {self.name!r} (BatchNormalization) has {self.inv.size} parameters, input has shape {x.shape}")
        return [(x * self.inv.reshape(shape) + self.off.reshape(shape)).astype(x.dtype, copy=False)]

    def weight_arrays(self):
        out = [("gamma", self.gamma)] if self.gamma is not None else []
        out += [("beta", self.beta)] if self.beta is not None else []
        return out + [("moving_mean", self.mean), ("moving_variance", self.var)]

    def describe(self):
        return {"axis": str(list(self.axes)), "epsilon": f"{float(self.eps):g}", "at inference": "moving mean/variance"}


@register("LayerNormalization")
class LayerNormalization(_Norm):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.axes = _axes(config.get("axis", -1), name)
        self.rank = 0
        self.timewise = False
        self.eps = float(config.get("epsilon", 1e-3))
        self.center = bool(config.get("center", True))
        self.scale = bool(config.get("scale", True))
        self.rms = bool(config.get("rms_scaling", False))
        arrays = [a for _, a in ctx.weights.all_arrays()]
        n = self.scale + self.center
        shapes = [arrays[0].shape] * n if arrays else []
        got = self.take_weights(ctx, shapes)
        self.gamma = got[0] if self.scale else None
        self.beta = got[1 if self.scale else 0] if self.center else None

    def call(self, inputs):
        x = inputs[0]
        axes = self._resolve(x.ndim)
        shape = self._param_shape(x, axes)
        x64 = x.astype(np.float64)
        if self.rms:
            var = np.mean(x64 * x64, axis=axes, keepdims=True)
            y = x64 / np.sqrt(var + self.eps)
            if self.gamma is not None:
                y = y * self.gamma.reshape(shape)
            return [y.astype(x.dtype)]
        mean = x64.mean(axis=axes, keepdims=True)
        var = ((x64 - mean) ** 2).mean(axis=axes, keepdims=True)
        y = (x64 - mean) / np.sqrt(var + self.eps)
        if self.gamma is not None:
            y = y * self.gamma.reshape(shape)
        if self.beta is not None:
            y = y + self.beta.reshape(shape)
        return [y.astype(x.dtype)]

    def weight_arrays(self):
        out = [("gamma", self.gamma)] if self.gamma is not None else []
        return out + ([("beta", self.beta)] if self.beta is not None else [])

    def describe(self):
        return {"axis": str(list(self.axes)), "epsilon": f"{self.eps:g}"}
