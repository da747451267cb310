"""Dense, Activation and the layers that are the identity at inference."""
from __future__ import annotations

import numpy as np

from ..activations import activation_name
from .base import BuildContext, Layer, register


@register("Dense")
class Dense(Layer):
    timewise = True
    mask_mode = "keep"

    def __init__(self, name, class_name, config, ctx: BuildContext):
        super().__init__(name, class_name, config, ctx)
        self.units = self.int_option("units")
        self.use_bias = bool(config.get("use_bias", True))
        self.act = self.activation("activation")
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if not arrays:
            raise self._missing()
        fan_in = arrays[0].shape[0] if arrays[0].ndim == 2 else -1
        shapes = [(fan_in, self.units)] + ([(self.units,)] if self.use_bias else [])
        got = self.take_weights(ctx, shapes)
        self.kernel = got[0]
        self.bias = got[1] if self.use_bias else None

    def _missing(self):
        from ..errors import FormatError

        return FormatError(f"layer {self.name!r} (Dense) has no weights in the file")

    def call(self, inputs):
        x = inputs[0]
        kernel = self.kernel
        if x.shape[-1] != kernel.shape[0]:
            from ..errors import InputShapeError

            raise InputShapeError(
                f"layer {self.name!r} (Dense) gets {x.shape[-1]} features, its kernel expects {kernel.shape[0]}"
            )
        y = np.matmul(x, kernel)
        if self.bias is not None:
            np.add(y, self.bias, out=y)
        return [self.act(y)]

    def weight_arrays(self):
        return [("kernel", self.kernel)] + ([("bias", self.bias)] if self.bias is not None else [])

    def describe(self):
        return {"units": str(self.units), "activation": activation_name(self.config.get("activation"))}

    def output_shape(self, input_shapes):
        return [tuple(input_shapes[0][:-1]) + (self.units,)]


@register("Activation")
class Activation(Layer):
    timewise = True
    mask_mode = "keep"

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.act = self.activation("activation")

    def call(self, inputs):
        return [self.act(inputs[0])]

    def describe(self):
        return {"activation": activation_name(self.config.get("activation"))}


@register("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization")
class Identity(Layer):
    """Layers that only act while training."""

    timewise = True
    mask_mode = "keep"

    def call(self, inputs):
        return [inputs[0]]

    def describe(self):
        return {"at inference": "identity"}
