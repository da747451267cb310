"""TimeDistributed: the wrapped layer applied to every timestep alone."""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import LAYER_TYPES, BuildContext, Layer, register, unsupported
from .recurrent import RecurrentLayer


@register("TimeDistributed")
class TimeDistributed(Layer):
    mask_mode = "keep"

    def __init__(self, name, class_name, config, ctx: BuildContext):
        super().__init__(name, class_name, config, ctx)
        spec = config.get("layer")
        if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) or not isinstance(spec.get("config"), dict):
            raise FormatError(f"layer {name!r} (TimeDistributed) has no valid inner layer config")
        inner_cls = spec["class_name"]
        cls = LAYER_TYPES.get(inner_cls)
        if cls is None or issubclass(cls, RecurrentLayer) or getattr(cls, "makes_mask", False):
            raise unsupported(f"TimeDistributed({inner_cls})", name)
        self.inner: Layer = cls(f"{name}/{spec['config'].get('name', inner_cls)}", inner_cls, spec["config"], ctx)
        # a layer acting on the last axis only (Dense, Activation …) acts on each timestep alone as it is
        self.timewise = bool(getattr(self.inner, "timewise", False))

    def call(self, inputs):
        x = inputs[0]
        if self.timewise:
            return self.inner.call([x])
        if x.ndim < 3:
            raise InputShapeError(f"layer {self.name!r} (TimeDistributed) needs (batch, time, …), got shape {x.shape}")
        b, t = x.shape[:2]
        y = self.inner.call([np.ascontiguousarray(x).reshape((b * t,) + x.shape[2:])])[0]
        return [y.reshape((b, t) + y.shape[1:])]

    def weight_arrays(self):
        return self.inner.weight_arrays()

    def describe(self):
        return {"layer": self.inner.class_name, **self.inner.describe()}

    def output_shape(self, input_shapes):
        s = input_shapes[0]
        inner = self.inner.output_shape([(s[0],) + tuple(s[2:])])[0]
        return [(s[0], s[1]) + tuple(inner[1:])]
