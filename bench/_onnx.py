"""The same model for ONNX Runtime: an ONNX graph built with the ``onnx`` helper from a Keras model's own weights.

Only the benchmarks use this (the ``bench`` extra: ``pip install -e '.[bench]'``); the app never imports onnx.

Supported: a Sequential stack of LSTM / GRU (sigmoid + tanh, bias on, ``reset_after=True`` for GRU) and Dense
(linear). The input (batch, T, F) is transposed to ONNX's time-major layout inside the graph, as a converter does.

Gate orders: Keras LSTM columns are i | f | c | o, ONNX's LSTM rows i | o | f | c; Keras GRU columns z | r | h,
ONNX's GRU rows z | r | h (``linear_before_reset=1`` is Keras' ``reset_after=True``). ONNX's W is [dirs, n·u, F]
(Keras' kernel transposed), R [dirs, n·u, u], B [dirs, 2·n·u] = [input bias; recurrent bias].
"""
from __future__ import annotations

import numpy as np

LSTM_KERAS_TO_ONNX = (0, 3, 1, 2)  # ONNX block k is Keras block LSTM_KERAS_TO_ONNX[k]: i o f c from i f c o


def _blocks(a: np.ndarray, u: int, order) -> np.ndarray:
    """Reorder the gate blocks of the last axis (each u wide)."""
    return np.concatenate([a[..., k * u:(k + 1) * u] for k in order], axis=-1)


def keras_layers(kmodel) -> list[tuple[str, dict, list[np.ndarray]]]:
    """(class name, config, weights) of each layer of a Keras Sequential model."""
    return [(l.__class__.__name__, l.get_config(), l.get_weights()) for l in kmodel.layers]


def engine_layers(model) -> list[tuple[str, dict, list[np.ndarray]]]:
    """The same from a model the engine loaded (so that tests need no Keras): its layers but the input."""
    out = []
    for l in model.layers:
        if l.class_name == "InputLayer":
            continue
        arrays = [a for _, a in l.weight_arrays()] if hasattr(l, "weight_arrays") else []
        out.append((l.class_name, dict(l.config), arrays))
    return out


def onnx_model(layers, T: int | None, F: int, opset: int = 17):
    """An ``onnx.ModelProto`` computing what a Sequential stack of ``layers`` (``keras_layers``) computes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    nodes.append(helper.make_node("Transpose", ["x"], ["x_tm"], perm=[1, 0, 2]))
    cur, time_major, width = "x_tm", True, F  # (T, batch, F) while a sequence
    for li, (kind, cfg, weights) in enumerate(layers):
        w = [np.asarray(a, np.float32) for a in weights]
        name = f"l{li}"
        lname = cfg.get("name", name)
        if kind in ("LSTM", "GRU"):
            if cfg.get("activation", "tanh") != "tanh" or cfg.get("recurrent_activation", "sigmoid") != "sigmoid":
                raise ValueError(f"{lname}: only tanh / sigmoid")
            if cfg.get("go_backwards") or cfg.get("stateful") or cfg.get("return_state"):
                raise ValueError(f"{lname}: go_backwards, stateful, return_state: not built here")
            if len(w) != 3:
                raise ValueError(f"{lname}: needs a bias")
            kernel, rec, bias = w
            u = rec.shape[0]
            if kind == "LSTM":
                Wo = _blocks(kernel, u, LSTM_KERAS_TO_ONNX).T[None]
                Ro = _blocks(rec, u, LSTM_KERAS_TO_ONNX).T[None]
                Bo = np.concatenate([_blocks(bias, u, LSTM_KERAS_TO_ONNX), np.zeros(4 * u, np.float32)])[None]
                attrs = {}
            else:
                if not cfg.get("reset_after", True):
                    raise ValueError(f"{lname}: only reset_after=True")
                Wo, Ro = kernel.T[None], rec.T[None]
                Bo = np.concatenate([bias[0], bias[1]])[None]
                attrs = {"linear_before_reset": 1}
            outs = [f"{name}_y", f"{name}_yh"]
            nodes.append(helper.make_node(kind, [cur, const(f"{name}_W", Wo), const(f"{name}_R", Ro),
                                                 const(f"{name}_B", Bo)], outs, hidden_size=u, **attrs))
            if cfg.get("return_sequences", False):  # Y (T, 1, batch, u) -> (T, batch, u)
                nodes.append(helper.make_node("Squeeze", [outs[0], const(f"{name}_ax", np.array([1], np.int64))],
                                              [f"{name}_seq"]))
                cur = f"{name}_seq"
            else:  # Y_h (1, batch, u) -> (batch, u)
                nodes.append(helper.make_node("Squeeze", [outs[1], const(f"{name}_ax", np.array([0], np.int64))],
                                              [f"{name}_last"]))
                cur, time_major, width = f"{name}_last", False, u
        elif kind == "Dense":
            if time_major:
                raise ValueError("Dense on a sequence: not needed here")
            if cfg.get("activation", "linear") not in ("linear", None):
                raise ValueError(f"{lname}: only a linear Dense")
            nodes.append(helper.make_node("MatMul", [cur, const(f"{name}_W", w[0])], [f"{name}_mm"]))
            nodes.append(helper.make_node("Add", [f"{name}_mm", const(f"{name}_b", w[1])], [f"{name}_out"]))
            cur, width = f"{name}_out", w[0].shape[1]
        elif kind == "Dropout" or (kind == "Activation" and cfg.get("activation") == "linear"):
            continue  # identity at inference
        else:
            raise ValueError(f"layer {lname} ({kind}) is not built here")
    if time_major:
        raise ValueError("a model ending in a sequence: not needed here")
    graph = helper.make_graph(
        nodes, "bench", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", T, F])],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT, ["batch", width])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    onnx.checker.check_model(model)
    return model


def ort_session(model):
    """An ONNX Runtime CPU session with its default options (its own thread pool, as a user would get it)."""
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def ort_predict(session, x: np.ndarray) -> np.ndarray:
    return session.run(None, {"x": x})[0]
