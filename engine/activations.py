"""Keras activation functions in NumPy, float32 in and out.

hard_sigmoid changed between Keras 2 (``clip(0.2x + 0.5, 0, 1)``) and Keras 3 (``clip(x/6 + 0.5, 0, 1)``), so the
table is chosen by the file's major Keras version.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .errors import FormatError

Activation = Callable[[np.ndarray], np.ndarray]

_SELU_ALPHA = np.float32(1.6732632423543772848170429916717)
_SELU_SCALE = np.float32(1.0507009873554804934193349852946)


def sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def tanh(x):
    return np.tanh(x)


def linear(x):
    return x


def relu(x):
    return np.maximum(x, 0, dtype=x.dtype)


def relu6(x):
    return np.clip(x, 0, 6).astype(x.dtype, copy=False)


def softsign(x):
    return x / (1 + np.abs(x))


def softplus(x):
    # log(1 + exp(x)) without overflow
    return (np.logaddexp(0, x)).astype(x.dtype, copy=False)


def elu(x):
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def selu(x):
    with np.errstate(over="ignore"):
        neg = _SELU_ALPHA * np.expm1(np.minimum(x, 0))
    return (_SELU_SCALE * np.where(x > 0, x, neg)).astype(x.dtype, copy=False)


def swish(x):
    return x * sigmoid(x)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in float64 (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), enough for float32 parity."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


def gelu(x):
    # Keras' default is the exact form, 0.5·x·(1 + erf(x/√2)).
    x64 = x.astype(np.float64)
    return (0.5 * x64 * (1.0 + _erf(x64 / math.sqrt(2.0)))).astype(x.dtype, copy=False)


def exponential(x):
    with np.errstate(over="ignore"):
        return np.exp(x)


def hard_sigmoid_keras2(x):
    return np.clip(np.float32(0.2) * x + np.float32(0.5), 0, 1).astype(x.dtype, copy=False)


def hard_sigmoid_keras3(x):
    return np.clip(x / np.float32(6.0) + np.float32(0.5), 0, 1).astype(x.dtype, copy=False)


def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def leaky_relu(x):
    return np.where(x > 0, x, np.float32(0.2) * x).astype(x.dtype, copy=False)


def hard_silu(x):
    return x * hard_sigmoid_keras3(x)


def mish(x):
    return x * np.tanh(softplus(x))


def log_softmax(x, axis=-1):
    s = x - np.max(x, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


_COMMON: dict[str, Activation] = {
    "linear": linear,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "relu6": relu6,
    "softsign": softsign,
    "softplus": softplus,
    "elu": elu,
    "selu": selu,
    "swish": swish,
    "silu": swish,
    "gelu": gelu,
    "exponential": exponential,
    "softmax": softmax,
    "leaky_relu": leaky_relu,
    "mish": mish,
    "log_softmax": log_softmax,
}


def keras_major(keras_version: str | None) -> int:
    """Major version from a ``keras_version`` string; files without one are Keras 2 era."""
    try:
        return int(str(keras_version).split(".")[0])
    except ValueError:
        return 2


def get_activation(spec: object, keras_version: str | None) -> Activation:
    """The activation named in a layer config (a string, or Keras 3's serialized dict), or a FormatError."""
    name = spec
    if isinstance(spec, dict):  # Keras 3 may serialize activations as {"class_name": ..., "config": ...}
        if spec.get("module") not in (None, "keras.activations", "keras.src.activations") or spec.get("registered_name") not in (None, spec.get("class_name")):
            raise FormatError(f"custom activation {spec.get('class_name')!r} is a custom object and is refused")
        name = spec.get("config", spec.get("class_name"))
        if isinstance(name, dict):
            name = spec.get("class_name")
    if name is None:
        return linear
    if not isinstance(name, str):
        raise FormatError(f"activation {spec!r} is not a name")
    key = name.lower()
    if key == "hard_sigmoid":
        return hard_sigmoid_keras3 if keras_major(keras_version) >= 3 else hard_sigmoid_keras2
    if key == "hard_silu" or key == "hard_swish":
        return hard_silu
    try:
        return _COMMON[key]
    except KeyError:
        raise FormatError(f"activation {name!r} is not supported (custom or unknown)") from None


def activation_name(spec: object) -> str:
    if isinstance(spec, dict):
        c = spec.get("config")
        return c if isinstance(c, str) else str(spec.get("class_name"))
    return "linear" if spec is None else str(spec)
