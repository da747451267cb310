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

_SELU_ALPHA = 1.6732632423543772848170429916717  # taken in the input's precision
_SELU_SCALE = 1.0507009873554804934193349852946


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
        neg = x.dtype.type(_SELU_ALPHA) * np.expm1(np.minimum(x, 0))
    return (x.dtype.type(_SELU_SCALE) * np.where(x > 0, x, neg)).astype(x.dtype, copy=False)


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
    f = x.dtype.type  # 0.2 in the model's own precision (float64 for the exact reference)
    return np.clip(f(0.2) * x + f(0.5), 0, 1).astype(x.dtype, copy=False)


def hard_sigmoid_keras3(x):
    f = x.dtype.type
    return np.clip(x / f(6.0) + f(0.5), 0, 1).astype(x.dtype, copy=False)


def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def leaky_relu(x):
    return np.where(x > 0, x, x.dtype.type(0.2) * x).astype(x.dtype, copy=False)


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


# --- in-place variants for the recurrent hot loops -------------------------------------------------------------
# ``f(x, out)`` writes the activation of float32 ``x`` into ``out`` (which may be ``x`` itself) without temporaries
# and returns ``out``; results are those of the functions above (same float32 operations, in the same order).
InplaceActivation = Callable[[np.ndarray, np.ndarray], np.ndarray]

_F32_ONE = np.array(1, np.float32)  # 0-d arrays: the cheapest scalars to pass to a ufunc
_F32_ZERO = np.array(0, np.float32)
_F32_HALF = np.array(0.5, np.float32)
_F32_FIFTH = np.array(0.2, np.float32)
_F32_SIX = np.array(6, np.float32)


def sigmoid_of_negated_(neg_x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + exp(-x)) from ``neg_x`` = -x (weights with negated columns give -x for free), as ``sigmoid``
    computes it. exp overflows to inf for x < -88.7 (σ is then exactly 0): callers run it under
    ``np.errstate(over="ignore")``, once around their whole step rather than per call."""
    np.exp(neg_x, out=out)
    np.add(out, _F32_ONE, out=out)
    return np.reciprocal(out, out=out)


def sigmoid_(x, out):
    np.negative(x, out=out)
    with np.errstate(over="ignore"):
        return sigmoid_of_negated_(out, out)


def tanh_(x, out):
    return np.tanh(x, out=out)


def linear_(x, out):
    if out is not x:
        np.copyto(out, x)
    return out


def relu_(x, out):
    return np.maximum(x, _F32_ZERO, out=out)


_F64_HALF, _F64_FIFTH, _F64_SIX = (np.array(v, np.float64) for v in (0.5, 0.2, 6))


def hard_sigmoid_keras2_(x, out):
    f64 = out.dtype == np.float64  # the exact reference: its constants in float64 too
    np.multiply(_F64_FIFTH if f64 else _F32_FIFTH, x, out=out)
    np.add(out, _F64_HALF if f64 else _F32_HALF, out=out)
    return np.clip(out, 0, 1, out=out)


def hard_sigmoid_keras3_(x, out):
    f64 = out.dtype == np.float64
    np.divide(x, _F64_SIX if f64 else _F32_SIX, out=out)
    np.add(out, _F64_HALF if f64 else _F32_HALF, out=out)
    return np.clip(out, 0, 1, out=out)


_INPLACE: dict[Activation, InplaceActivation] = {
    sigmoid: sigmoid_,
    tanh: tanh_,
    linear: linear_,
    relu: relu_,
    hard_sigmoid_keras2: hard_sigmoid_keras2_,
    hard_sigmoid_keras3: hard_sigmoid_keras3_,
}


def inplace(fn: Activation) -> InplaceActivation:
    """The in-place form of an activation from ``get_activation``; any other one is computed and copied."""
    fast = _INPLACE.get(fn)
    if fast is not None:
        return fast

    def generic(x, out):
        np.copyto(out, fn(x))
        return out

    return generic
