"""Embedding (a table lookup) and Masking: the two layers that create Keras masks."""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import Layer, register


@register("Embedding")
class Embedding(Layer):
    timewise = True

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.input_dim = self.int_option("input_dim")
        self.output_dim = self.int_option("output_dim")
        self.mask_zero = bool(config.get("mask_zero", False))
        self.makes_mask = self.mask_zero
        (self.table,) = self.take_weights(ctx, [(self.input_dim, self.output_dim)])

    def call(self, inputs):
        x = inputs[0]
        idx = x.astype(np.int64) if x.dtype.kind != "i" else x
        if idx.size and (idx.min() < 0 or idx.max() >= self.input_dim):
            raise InputShapeError(f"layer {self.name!r} (Embedding): token ids must be in [0, {self.input_dim - 1}], "
                                  f"got {int(idx.min())}..{int(idx.max())}")
        return [self.table[idx]]

    def compute_mask(self, inputs, masks):
        return [inputs[0] != 0] if self.mask_zero else [None]

    def weight_arrays(self):
        return [("embeddings", self.table)]

    def describe(self):
        d = {"input_dim": str(self.input_dim), "output_dim": str(self.output_dim)}
        if self.mask_zero:
            d["mask_zero"] = "yes"
        return d

    def output_shape(self, input_shapes):
        return [tuple(input_shapes[0]) + (self.output_dim,)]


@register("Masking")
class Masking(Layer):
    """Steps whose features all equal ``mask_value`` are masked (and zeroed, as Keras does)."""

    timewise = True
    makes_mask = True

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        v = config.get("mask_value", 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise FormatError(f"layer {name!r}: mask_value={v!r} is not a number")
        self.mask_value = np.float32(v)

    def _keep(self, x):
        return np.any(x != self.mask_value, axis=-1)

    def call(self, inputs):
        x = inputs[0]
        return [(x * self._keep(x)[..., None].astype(x.dtype)).astype(x.dtype if x.dtype.kind == "f" else np.float32, copy=False)]

    def compute_mask(self, inputs, masks):
        return [self._keep(inputs[0])]

    def describe(self):
        return {"mask_value": f"{float(self.mask_value):g}"}
