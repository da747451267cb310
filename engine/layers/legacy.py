"""Old weight layouts, converted the way Keras' own loader converts them (``preprocess_weights_for_loading`` and
``_convert_rnn_weights`` in Keras 2's hdf5_format.py), so that the usual layer classes can replay them.

* ``CuDNNLSTM`` / ``CuDNNGRU`` (Keras 2 files trained on GPU): the weights are in cuDNN's layout. Per gate the input
  kernel is re-laid from Fortran order (``k.T.reshape(k.shape, order="F")``), the recurrent kernel is transposed,
  and the biases — separate input and recurrent biases, 8·units for LSTM, 6·units for GRU — are summed for the
  LSTM or become the (2, 3·units) input/recurrent bias of a ``GRU(reset_after=True)``. Activations are cuDNN's
  fixed tanh and sigmoid.
* Keras 1 recurrent layers: LSTM stores 12 arrays ``W_i U_i b_i  W_c U_c b_c  W_f U_f b_f  W_o U_o b_o`` (gate order
  i, c, f, o), GRU 9 arrays ``W_z U_z b_z  W_r U_r b_r  W_h U_h b_h``; config keys ``output_dim`` and
  ``inner_activation`` are Keras 2's ``units`` and ``recurrent_activation``.
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..weights import WeightGroup
from .base import register
from .gru import GRU
from .lstm import LSTM


def _per_gate(k: np.ndarray, n: int, fn) -> np.ndarray:
    return np.ascontiguousarray(np.hstack([fn(g) for g in np.hsplit(k, n)]), dtype=k.dtype)


def from_cudnn(arrays: list[np.ndarray], n_gates: int, name: str) -> list[np.ndarray]:
    if len(arrays) != 3:
        raise FormatError(f"layer {name!r}: a cuDNN layer stores 3 weight arrays, found {len(arrays)}")
    kernel, rec, bias = arrays
    units = rec.shape[0]
    if bias.shape != (2 * n_gates * units,) or kernel.ndim != 2 or kernel.shape[1] != n_gates * units:
        raise FormatError(f"layer {name!r}: cuDNN weights have unexpected shapes {[a.shape for a in arrays]}")
    kernel = _per_gate(kernel, n_gates, lambda g: g.T.reshape(g.shape, order="F"))
    rec = _per_gate(rec, n_gates, lambda g: g.T)
    if n_gates == 4:
        bias = (bias[: 4 * units] + bias[4 * units:]).astype(bias.dtype)
    else:
        bias = np.ascontiguousarray(bias.reshape(2, -1), dtype=bias.dtype)
    return [kernel, rec, bias]


def _group(name, arrays):
    return WeightGroup(name=name, arrays=[("", a) for a in arrays])


@register("CuDNNLSTM")
class CuDNNLSTM(LSTM):
    def __init__(self, name, class_name, config, ctx):
        cfg = dict(config, activation="tanh", recurrent_activation="sigmoid", use_bias=True)
        arrays = from_cudnn([a for _, a in ctx.weights.all_arrays()], 4, name)
        super().__init__(name, class_name, cfg, type(ctx)(ctx.keras_version, _group(name, arrays)))
        self.notes = self.notes + ("CuDNNLSTM weights converted to LSTM as Keras does (input and recurrent biases summed)",)


@register("CuDNNGRU")
class CuDNNGRU(GRU):
    def __init__(self, name, class_name, config, ctx):
        cfg = dict(config, activation="tanh", recurrent_activation="sigmoid", use_bias=True, reset_after=True)
        arrays = from_cudnn([a for _, a in ctx.weights.all_arrays()], 3, name)
        super().__init__(name, class_name, cfg, type(ctx)(ctx.keras_version, _group(name, arrays)))
        self.notes = self.notes + ("CuDNNGRU weights converted to GRU(reset_after=True) as Keras does",)


KERAS1_KEYS = {"output_dim": "units", "inner_activation": "recurrent_activation"}


def adapt_keras1(class_name: str, config: dict, weights: WeightGroup) -> tuple[dict, WeightGroup, str | None]:
    """Keras 1 configs and recurrent weights in Keras 2's form; (config, weights, note or None)."""
    note = None
    if "output_dim" in config and "units" not in config and class_name in ("LSTM", "GRU", "SimpleRNN", "Dense"):
        config = dict(config)
        for old, new in KERAS1_KEYS.items():
            if old in config and new not in config:
                config[new] = config.pop(old)
        if class_name == "Dense" and isinstance(config.get("bias"), bool):
            config["use_bias"] = config.pop("bias")
        config.setdefault("recurrent_activation", "hard_sigmoid") if class_name in ("LSTM", "GRU") else None
        note = "Keras 1 layer"
    arrays = [a for _, a in weights.all_arrays()]
    if class_name == "LSTM" and len(arrays) == 12:
        w = arrays  # i, c, f, o  ->  i, f, c, o
        arrays = [np.concatenate([w[0], w[6], w[3], w[9]], axis=-1), np.concatenate([w[1], w[7], w[4], w[10]], axis=-1),
                  np.concatenate([w[2], w[8], w[5], w[11]], axis=-1)]
        weights = _group(weights.name, arrays)
        note = "Keras 1 LSTM weights (12 arrays, gates i, c, f, o) joined in Keras 2's order i, f, c, o"
    elif class_name == "GRU" and len(arrays) == 9:
        w = arrays
        arrays = [np.concatenate([w[0], w[3], w[6]], axis=-1), np.concatenate([w[1], w[4], w[7]], axis=-1),
                  np.concatenate([w[2], w[5], w[8]], axis=-1)]
        weights = _group(weights.name, arrays)
        note = "Keras 1 GRU weights (9 arrays) joined in Keras 2's order z, r, h"
    return config, weights, note
