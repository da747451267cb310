"""The memory a replay would take, worked out from shapes alone and checked before anything is allocated.

A config controls the size of every layer output (RepeatVector(1_000_000), a Concatenate of one tensor a thousand
times, RepeatVector → Flatten → RepeatVector …) and the input controls the batch and the number of steps. Each
layer's output shape is derived from the config with the input's own batch and time, and refused when one output, or
all of them together (the stepper keeps every output until the end, and with ``record`` every gate and state of the
recurrent layers), would exceed ``Limits.max_activation_bytes``.
"""
from __future__ import annotations

import math

from .errors import FormatError, InputShapeError
from .limits import DEFAULT, Limits

ITEM = 4  # float32, what every layer output is computed in


def fmt_bytes(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _size(shape) -> int | None:
    if shape is None or not isinstance(shape, (tuple, list)):
        return None
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        return None
    return math.prod(shape)


def _fmt(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def check_static(graph, limits: Limits = DEFAULT) -> None:
    """At load: refuse a config whose layer outputs exceed the budget even for one sample of one step (None → 1)."""
    for node in graph.nodes:
        for shape in node.output_shapes:
            if not isinstance(shape, (tuple, list)):
                continue
            n = _size(tuple(1 if d is None else d for d in shape))
            if n is not None and n * ITEM > limits.max_activation_bytes:
                raise FormatError(f"layer {node.qualname!r} has output shape {_fmt(shape)}: "
                                  f"{fmt_bytes(n * ITEM)} for a single sample, more than the "
                                  f"{fmt_bytes(limits.max_activation_bytes)} budget")


def _record_factor(layer) -> int:
    """Arrays a recording replay keeps per step and unit for a recurrent layer: its gates, the states, the input."""
    return len(getattr(layer, "gate_names", ())) + 3


def check_run(graph, inputs, record: bool = False, limits: Limits = DEFAULT, item: int = ITEM) -> None:
    """Before a replay over ``inputs``: every layer output at the inputs' batch and length, one by one and in total
    (``item``: bytes per value, 8 for a float64 replay)."""
    concrete: dict[int, list] = {}
    for nid, x in zip(graph.inputs, inputs):
        concrete[nid] = [tuple(int(d) for d in x.shape)]
    budget = limits.max_activation_bytes
    total = sum(x.size * item for x in inputs)
    for node in graph.nodes:
        if node.id in concrete:
            continue
        try:
            in_shapes = [concrete[i][k] for i, k in node.inputs]
        except (KeyError, IndexError):
            in_shapes = None
        shapes = None
        if in_shapes and None not in in_shapes:
            try:
                shapes = list(node.layer.output_shape(in_shapes))
            except Exception:  # a layer that cannot tell (it raises its own error when it runs)
                shapes = None
        if shapes is None or len(shapes) != node.n_outputs:
            concrete[node.id] = [None] * node.n_outputs
            continue
        concrete[node.id] = [s if _size(s) is not None else None for s in shapes]
        for shape in shapes:
            n = _size(shape)
            if n is None:
                continue
            if n * item > budget:
                raise InputShapeError(f"layer {node.qualname!r} would output shape {_fmt(shape)} for this input: "
                                      f"{fmt_bytes(n * item)}, more than the {fmt_bytes(budget)} budget")
            total += n * item
        units = getattr(node.layer, "units", None)
        if record and getattr(node.layer, "recurrent", False) and isinstance(units, int) and len(in_shapes[0]) >= 2:
            b, t = in_shapes[0][0], in_shapes[0][1]
            if isinstance(b, int) and isinstance(t, int):
                total += b * t * units * _record_factor(node.layer) * item
    if total > budget:
        raise InputShapeError(f"replaying this input would keep {fmt_bytes(total)} of layer outputs, more than the "
                              f"{fmt_bytes(budget)} budget; use fewer samples or raise --max-memory")
