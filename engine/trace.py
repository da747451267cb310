"""A whole replay kept as arrays: every recurrent layer's gates and states at every step, and the readouts."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from .export import save_arrays

_UNSAFE_MEMBER_CHARS = re.compile(r"[^A-Za-z0-9_.#+=-]")


def member_name(layer_name: str, taken: set[str]) -> str:
    """A trace member prefix from a layer name (which comes from the file): path parts of safe characters only, none
    empty, ``.`` or ``..``, nothing absolute, each at most 100 characters, unique among ``taken``. Nested models keep
    their ``outer/inner`` form; ``../../x`` becomes ``__/__/x``."""
    parts = []
    for part in str(layer_name).split("/"):
        part = _UNSAFE_MEMBER_CHARS.sub("_", part)[:100]
        if part.strip(".") == "":
            part = "_" * max(len(part), 1)
        parts.append(part)
    name = "/".join(parts)
    unique, k = name, 2
    while unique in taken:
        unique, k = f"{name}~{k}", k + 1
    taken.add(unique)
    return unique


@dataclass
class LayerTrace:
    """One recurrent layer call over a batch; arrays are (batch, T, …) indexed by processing step."""

    name: str
    class_name: str
    stage: int
    go_backwards: bool
    gate_names: tuple[str, ...]
    arrays: dict[str, np.ndarray]


@dataclass
class Trace:
    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    layers: list[LayerTrace]
    #: per model output, (batch, steps, …) readouts after each global step; None where not defined
    readouts: list[np.ndarray | None]
    #: (stage, t) of each global step
    steps: list[tuple[int, int]] = field(default_factory=list)

    def layer(self, name: str) -> LayerTrace:
        for lt in self.layers:
            if lt.name == name:
                return lt
        raise KeyError(name)

    def as_dict(self) -> dict[str, np.ndarray]:
        """Flat arrays for ``np.savez``: ``x_0``, ``y_0``, ``<layer>/<array>``, ``readout_0``, ``steps``.

        Layer names come from the model file; the member names made from them are safe paths (``member_name``)."""
        d: dict[str, np.ndarray] = {}
        for i, x in enumerate(self.inputs):
            d[f"x_{i}"] = x
        for i, y in enumerate(self.outputs):
            d[f"y_{i}"] = y
        taken = {"steps", *d, *(f"readout_{i}" for i in range(len(self.readouts)))}
        for lt in self.layers:
            prefix = member_name(lt.name, taken)
            for k, a in lt.arrays.items():
                d[f"{prefix}/{k}"] = a
        for i, r in enumerate(self.readouts):
            if r is not None:
                d[f"readout_{i}"] = r
        d["steps"] = np.asarray(self.steps, dtype=np.int64).reshape(-1, 2)
        return d

    def save_npz(self, path: str | os.PathLike) -> None:
        """Written atomically: a failed write leaves nothing behind (engine/export.py)."""
        save_arrays(path, self.as_dict())


def build_trace(stepper) -> Trace:
    """A Trace from a stepper that has run to the end with ``record=True``."""
    graph = stepper.graph
    layers = []
    for nid, run in stepper.runs.items():
        node = graph.nodes[nid]
        L = node.layer
        layers.append(
            LayerTrace(
                name=node.qualname,
                class_name=L.class_name,
                stage=stepper.schedule.final_stage[nid],
                go_backwards=bool(getattr(L, "go_backwards", False)),
                gate_names=tuple(L.gate_names),
                arrays=dict(run.records or {}),
            )
        )
    readouts: list[np.ndarray | None] = []
    for k in range(len(graph.outputs)):
        vals = [r[k] for r in stepper.readouts]
        if vals and all(v is not None for v in vals) and len({v.shape for v in vals}) == 1:
            readouts.append(np.stack(vals, axis=1))
        else:
            readouts.append(None)
    return Trace(inputs=list(stepper.inputs), outputs=stepper.outputs(), layers=layers, readouts=readouts,
                 steps=list(stepper.stage_log))


def concatenate_traces(parts: list[Trace]) -> Trace:
    """One trace from traces of consecutive parts of a batch (the same model, the same steps)."""
    if len(parts) == 1:
        return parts[0]

    def cat(arrays):
        return np.concatenate(arrays, axis=0)

    first = parts[0]
    layers = [LayerTrace(lt.name, lt.class_name, lt.stage, lt.go_backwards, lt.gate_names,
                         {k: cat([p.layers[i].arrays[k] for p in parts]) for k in lt.arrays})
              for i, lt in enumerate(first.layers)]
    readouts = [None if any(p.readouts[k] is None for p in parts) else cat([p.readouts[k] for p in parts])
                for k in range(len(first.readouts))]
    return Trace(inputs=[cat(xs) for xs in zip(*(p.inputs for p in parts))],
                 outputs=[cat(ys) for ys in zip(*(p.outputs for p in parts))],
                 layers=layers, readouts=readouts, steps=list(first.steps))
