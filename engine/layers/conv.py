"""Conv1D (channels_last): padding valid, same (TensorFlow's split, extra zero on the right) and causal
(zeros on the left), strides and dilation. ``y[b, o] = act(b + Σ_j x_pad[b, o·s + j·d] · W[j])``."""
from __future__ import annotations

import numpy as np

from ..activations import activation_name
from ..errors import FormatError, InputShapeError
from .base import Layer, register, unsupported


def conv_padding(L: int, k_eff: int, stride: int, padding: str) -> tuple[int, int, int]:
    """(left, right, output length) for an input of length L and an effective window k_eff."""
    if padding == "valid":
        return 0, 0, max(0, (L - k_eff) // stride + 1)
    if padding == "causal":
        return k_eff - 1, 0, (L - 1) // stride + 1
    if padding == "same":
        out = -(-L // stride)
        total = max((out - 1) * stride + k_eff - L, 0)
        return total // 2, total - total // 2, out
    raise ValueError(padding)


def conv_options(layer, n: int = 1, paddings=("valid", "same")) -> tuple[tuple[int, ...], tuple[int, ...],
                                                                         tuple[int, ...], str]:
    """(kernel_size, strides, dilation_rate, padding) of a convolution layer's config (Conv1D/2D/3D, ConvLSTM1D/2D/3D),
    each refused naming the layer where Keras would not build it."""
    kernel_size = layer.int_tuple("kernel_size", n=n)
    strides = layer.int_tuple("strides", 1, n=n)
    dilation = layer.int_tuple("dilation_rate", 1, n=n)
    padding = str(layer.config.get("padding", "valid")).lower()
    if padding not in paddings:
        raise FormatError(f"layer {layer.name!r}: unknown padding {padding!r}")
    if max(strides) > 1 and max(dilation) > 1:
        raise FormatError(f"layer {layer.name!r}: strides > 1 together with dilation_rate > 1 is not valid in Keras")
    return kernel_size, strides, dilation, padding


@register("Conv1D", "Convolution1D")
class Conv1D(Layer):
    def __init__(self, name, class_name, config, ctx):
        super().__init__(name, class_name, config, ctx)
        self.channels_last()
        self.filters = self.int_option("filters")
        paddings = ("valid", "same", "causal")
        (self.k,), (self.stride,), (self.dilation,), self.padding = conv_options(self, paddings=paddings)
        if config.get("groups", 1) != 1:
            raise unsupported(f"{class_name}(groups={config.get('groups')})", name)
        self.use_bias = bool(config.get("use_bias", True))
        self.act = self.activation("activation")
        arrays = [a for _, a in ctx.weights.all_arrays()]
        if not arrays or arrays[0].ndim != 3:
            raise FormatError(f"layer {name!r} (Conv1D) has no kernel in the file")
        shapes = [(self.k, arrays[0].shape[1], self.filters)] + ([(self.filters,)] if self.use_bias else [])
        got = self.take_weights(ctx, shapes)
        self.kernel = got[0]
        self.bias = got[1] if self.use_bias else None

    def call(self, inputs):
        x = inputs[0]
        if x.ndim != 3 or x.shape[-1] != self.kernel.shape[1]:
            raise InputShapeError(f"layer {self.name!r} (Conv1D) needs (batch, steps, {self.kernel.shape[1]}), got shape {x.shape}")
        k_eff = (self.k - 1) * self.dilation + 1
        left, right, out = conv_padding(x.shape[1], k_eff, self.stride, self.padding)
        if out <= 0:
            raise InputShapeError(f"layer {self.name!r} (Conv1D): input of {x.shape[1]} steps is shorter than the kernel")
        xp = np.pad(x, ((0, 0), (left, right), (0, 0))) if left or right else x
        y = np.zeros((x.shape[0], out, self.filters), np.result_type(x.dtype, self.kernel.dtype))
        span = (out - 1) * self.stride + 1
        for j in range(self.k):
            start = j * self.dilation
            y += xp[:, start:start + span:self.stride] @ self.kernel[j]
        if self.bias is not None:
            y += self.bias
        return [self.act(y)]

    def weight_arrays(self):
        return [("kernel", self.kernel)] + ([("bias", self.bias)] if self.bias is not None else [])

    def describe(self):
        d = {"filters": str(self.filters), "kernel_size": str(self.k), "padding": self.padding,
             "activation": activation_name(self.config.get("activation"))}
        if self.stride != 1:
            d["strides"] = str(self.stride)
        if self.dilation != 1:
            d["dilation_rate"] = str(self.dilation)
        return d

    def output_shape(self, input_shapes):
        s = input_shapes[0]
        L = s[1]
        if isinstance(L, int):
            L = conv_padding(L, (self.k - 1) * self.dilation + 1, self.stride, self.padding)[2]
        return [(s[0], L, self.filters)]
