"""Conv2D and Conv3D (channels_last or channels_first): padding valid/same, strides, dilation, activation, use_bias.
``y[b, p, o] = act(bias[o] + Σ_{tap, c} x_pad[b, p·s + tap·d, c] · kernel[tap, c, o])`` (engine/layers/spatial.py)."""
from __future__ import annotations

from ..activations import activation_name
from ..errors import FormatError, InputShapeError
from .base import Layer, register, unsupported
from .conv import conv_options
from .spatial import conv_nd, data_format, output_size, to_channels_first, to_channels_last


class ConvND(Layer):
    rank = 2

    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        n = self.rank
        self.channels_first = data_format(self)
        self.filters = self.int_option("filters")
        self.kernel_size, self.strides, self.dilation, self.padding = conv_options(self, n)
        if config.get("groups", 1) != 1:
            raise unsupported(f"{class_name}(groups={config.get('groups')})", name)
        self.use_bias = bool(config.get("use_bias", True))
        self.act = self.activation("activation")
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if not arrays or arrays[0].ndim != n + 2:
            raise FormatError(f"layer {name!r} ({class_name}) has no kernel in the file")
        shapes = [self.kernel_size + (arrays[0].shape[-2], self.filters)] + ([(self.filters,)] if self.use_bias else [])
        got = self.take_weights(ctx, shapes)
        self.kernel = got[0]
        self.bias = got[1] if self.use_bias else None

    @property
    def in_channels(self) -> int:
        return self.kernel.shape[-2]

    def call(self, inputs):
        x = inputs[0]
        n = self.rank
        c_axis = 1 if self.channels_first else -1
        if x.ndim != n + 2 or x.shape[c_axis] != self.in_channels:
            layout = "channels, spatial…" if self.channels_first else "spatial…, channels"
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs (batch, {layout}) with {self.in_channels} "
                                  f"channels, got shape {x.shape}")
        xl = to_channels_last(x) if self.channels_first else x
        try:
            y = conv_nd(xl, self.kernel, self.strides, self.dilation, self.padding)
        except ValueError:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}): input {x.shape[1:]} is smaller than the "
                                  f"kernel") from None
        if self.bias is not None:
            y += self.bias
        y = self.act(y)
        return [to_channels_first(y) if self.channels_first else y]

    def weight_arrays(self):
        return [("kernel", self.kernel)] + ([("bias", self.bias)] if self.bias is not None else [])

    def describe(self):
        d = {"filters": str(self.filters), "kernel_size": str(self.kernel_size), "padding": self.padding,
             "activation": activation_name(self.config.get("activation"))}
        if max(self.strides) != 1:
            d["strides"] = str(self.strides)
        if max(self.dilation) != 1:
            d["dilation_rate"] = str(self.dilation)
        if self.channels_first:
            d["data_format"] = "channels_first"
        if not self.use_bias:
            d["use_bias"] = "no"
        return d

    def output_shape(self, input_shapes):
        s = tuple(input_shapes[0])
        spatial = s[2:] if self.channels_first else s[1:-1]
        out = tuple(output_size(v, k, st, d, self.padding)
                    for v, k, st, d in zip(spatial, self.kernel_size, self.strides, self.dilation))
        return [(s[0], self.filters) + out if self.channels_first else (s[0],) + out + (self.filters,)]


@register("Conv2D", "Convolution2D")
class Conv2D(ConvND):
    rank = 2


@register("Conv3D", "Convolution3D")
class Conv3D(ConvND):
    rank = 3
