"""A plain-text description of a model, for ``main.py info``."""
from __future__ import annotations

from .graph import UnbuiltLayer, UnsupportedLayer
from .layers.recurrent import RecurrentLayer
from .nonfinite import nonfinite_blocks, summary
from .printable import clip, printable

MAX_NAME = 80  # names come from the file: a 2 MB class name still makes a short line


def fmt_shape(shape) -> str:
    if shape is None:
        return "?"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _n(text) -> str:
    return clip(printable(text), MAX_NAME)


def describe_model(model) -> str:
    """Every name from the file is printed with its control characters escaped (a terminal never sees raw escape
    sequences) and cut to MAX_NAME characters."""
    lines = [
        f"model:    {_n(model.name)}",
        f"file:     {printable(model.path)}",
        f"format:   {model.format_label}, Keras {_n(model.keras_version)}",
        f"inputs:   {'unknown (never built)' if model.graph.unbuilt else ', '.join(fmt_shape(s) for s in model.input_shapes)}",
        f"outputs:  {', '.join(fmt_shape(s) for s in model.output_shapes)}",
        f"params:   {model.param_count():,}",
    ]
    if model.graph.unbuilt:
        lines.append(f"weights:  NONE: {UnbuiltLayer.REASON}; the architecture is all there is to show")
    if model.nonfinite:
        lines.append(f"WARNING:  non-finite weights (NaN/inf; diverged training?): {summary(model.nonfinite)}")
    lines += [
        "",
        f"{'layer':<28} {'class':<22} {'output shape':<18} {'params':>10}  details",
    ]
    seen = set()
    for node in model.graph.nodes:
        layer = node.layer
        if node.is_input:
            lines.append(f"{_n(node.qualname):<28} {'InputLayer':<22} {fmt_shape(layer.shape):<18} {0:>10}")
            continue
        shapes = ", ".join(fmt_shape(s) for s in node.output_shapes)
        if isinstance(layer, UnbuiltLayer):
            details = ", ".join(f"{k}={v}" for k, v in layer.describe().items())
            lines.append(f"{node.qualname:<28} {layer.class_name:<22} {'?':<18} {'?':>10}  {details}  (no weights)")
            continue
        if isinstance(layer, UnsupportedLayer):
            lines.append(f"{_n(node.qualname):<28} {_n(layer.class_name):<22} {'?':<18} {'?':>10}  "
                         f"UNSUPPORTED: {clip(printable(layer.reason), 300)}")
            continue
        details = ", ".join(f"{k}={_n(v)}" for k, v in layer.describe().items())
        lines.append(f"{_n(node.qualname):<28} {_n(layer.class_name):<22} {shapes:<18} {layer.param_count():>10,}  {details}")
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        for note in getattr(layer, "notes", ()):
            lines.append(f"{'':<28} note: {clip(printable(note), 300)}")
        bad = nonfinite_blocks(layer)
        if bad:
            lines.append(f"{'':<28} NON-FINITE: {clip(printable('; '.join(str(b) for b in bad)), 300)}")
        if isinstance(layer, RecurrentLayer):
            by_matrix: dict[str, list] = {}
            for s in layer.gate_slices():
                by_matrix.setdefault(s.matrix, []).append(s)
            for mat, slices in by_matrix.items():
                gates = "  ".join(f"{mat}_{s.gate} {fmt_shape(s.array.shape)}" for s in slices)
                lines.append(f"{'':<28}   {gates}")
    stages = model.schedule.stages
    if len(stages) > 1:
        lines.append("")
        lines.append(f"replay: {len(stages)} stages (a stage starts when a recurrent layer needs its whole input first)")
    return "\n".join(printable(line) for line in lines)
