"""The headless ``explain`` and ``export-code`` subcommands (registered by cli.py, which handles their errors).

    python main.py explain MODEL --input X [--sample N] --layer L --step T --unit J [--at P] [--gate G] [--json]
                                 [--top N]
    python main.py export-code MODEL --output DIR [--name NAME]
"""
from __future__ import annotations

import json
import os

COMMANDS = ("explain", "export-code")


def add_parsers(sub) -> None:
    pe = sub.add_parser("explain", help="take one gate or state value apart: its equation with numbers and every term")
    pe.add_argument("model")
    pe.add_argument("--input", "-i", required=True, help="input array: .npy, .npz (x_0, x_1, …) or .csv")
    pe.add_argument("--sample", type=int, default=0, help="sample of the batch (0-based, default 0)")
    pe.add_argument("--layer", required=True, help="recurrent layer name; NAME/forward or NAME/backward for a Bidirectional")
    pe.add_argument("--step", type=int, required=True, help="step (0-based, in the order the layer processes steps)")
    pe.add_argument("--unit", type=int, required=True,
                    help="unit (0-based); for --gate y, the Dense output unit; for a ConvLSTM, the channel (filter)")
    pe.add_argument("--at", help="ConvLSTM only (and required there): the position on the layer's output grid, "
                                 "0-based: x (1D), y,x (2D) or z,y,x (3D)")
    pe.add_argument("--gate", help="LSTM: i f c o C h; GRU: z r hh h; SimpleRNN: h; any: y (the Dense reading h). "
                                   "Default: every gate and state of the layer")
    pe.add_argument("--json", action="store_true", help="print JSON with every term (a list without --gate)")
    pe.add_argument("--top", type=int, default=8, help="contributions shown in the text output (default 8)")
    pc = sub.add_parser("export-code", help="write the forward pass as a NumPy-only .py file and a .npz of weights")
    pc.add_argument("model")
    pc.add_argument("--output", "-o", required=True, help="directory to write <name>.py and <name>.npz into")
    pc.add_argument("--name", help="file name stem (default: from the model file's name)")


def run(args, model) -> int:
    if args.command == "explain":
        return _explain(args, model)
    return _export_code(args, model)


def _explain(args, model) -> int:
    import engine
    from engine.explain import ExplainError, explain_value, find_node, targets
    from engine.inputs import load_inputs

    xs = load_inputs(args.input, args.limits)  # the budgets of --max-memory
    n = xs[0].shape[0] if xs and xs[0].ndim else 0
    if not 0 <= args.sample < n:
        raise engine.ModelFileError(args.input, f"sample {args.sample} is outside the batch (0…{n - 1})")
    try:
        st = model.stepper([x[args.sample:args.sample + 1] for x in xs], record=True, readout=False)
    except engine.FormatError as e:  # input shape problems name the input file
        raise engine.ModelFileError(args.input, str(e)) from None
    st.run()
    try:
        at = _position(args.at)
        base = args.layer.rsplit("/", 1)[0] if args.layer.endswith(("/forward", "/backward")) else args.layer
        gates = [args.gate] if args.gate else list(targets(find_node(model.graph, base).layer))
        found = [explain_value(st, args.layer, 0, args.step, args.unit, g, at) for g in gates]
    except ExplainError as e:
        raise engine.ModelFileError(args.model, str(e)) from None
    if args.json:
        docs = []
        for ex in found:
            d = ex.as_json()
            d["sample"] = args.sample
            docs.append(d)
        print(json.dumps(docs[0] if args.gate else docs, indent=1))
        return 0
    for k, ex in enumerate(found):
        if k:
            print()
        print(_text(ex, args.sample, max(0, args.top)))
    return 0


def _position(text: str | None) -> tuple[int, ...] | None:
    """``--at 2,3`` → (2, 3)."""
    from engine.explain import ExplainError

    if text is None:
        return None
    try:
        at = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise ExplainError(f"--at {text!r} is not a position: integers separated by commas (x, y,x or z,y,x)") \
            from None
    if not 1 <= len(at) <= 3:
        raise ExplainError(f"--at {text!r} is not a position: 1 to 3 integers (x, y,x or z,y,x)")
    return at


def _text(ex, sample: int, top: int) -> str:
    if ex.at is None:
        where = f"{ex.layer}  sample {sample}  step {ex.step}  unit {ex.unit}"
    else:
        where = f"{ex.layer}  sample {sample}  step {ex.step}  at {','.join(map(str, ex.at))}  channel {ex.unit}"
    lines = [f"{ex.symbol} ({ex.long_name}, {ex.kind})   {where}", f"  {ex.equation()}"]
    if ex.masked:
        return "\n".join(lines)
    terms = ex.terms()
    shown, (n_rest, rest) = ex.top(top)
    if ex.x_window is not None:
        lines.append(f"  reads x_t{_span(ex.x_window)} and h_(t-1){_span(ex.h_window)}, every channel")
    if len(ex.x_terms) or len(ex.h_terms):
        lines.append(f"  bias {ex.bias:+.6g};  top contributions of {len(terms)} terms:")
    else:
        lines.append("  terms:")
    detail = _details(ex)
    for name, v in shown:
        lines.append(f"    {v:+12.6g}  {name:<22} {detail.get(name, '')}".rstrip())
    if n_rest:
        lines.append(f"    {rest:+12.6g}  rest ({n_rest} terms)")
    return "\n".join(lines)


def _span(w) -> str:
    """A window's positions, ``rows 1..3, cols 0..2`` style: ``[1..3, 0..2]`` (step shown when taps skip)."""
    import numpy as np

    parts = []
    for a in range(len(w.origin)):
        lo, hi = w.span(a)
        parts.append(f"{lo}..{hi}" + (f"/{w.spacing[a]}" if w.spacing[a] != 1 and hi != lo else ""))
    outside = int(w.inside.size - np.count_nonzero(w.inside))
    pad = f" ({outside} of {w.inside.size} taps in the padding)" if outside else ""
    return f"[{', '.join(parts)}]{pad}"


def _details(ex) -> dict[str, str]:
    """How each x/h term is made: ``W[k,j] × x_t[k]`` (ConvLSTM: the sum over the taps, its largest tap)."""
    out = {}
    j = ex.unit
    if ex.at is not None:
        import numpy as np

        for name, w, v in (("x", ex.x_weights, ex.x_values), ("h", ex.h_weights, ex.h_values)):
            mat, val = ("W", "x_t") if name == "x" else ("U", "h_(t-1)")
            taps = w * v
            for k in range(w.shape[-1]):
                per = taps[..., k]
                big = np.unravel_index(int(np.argmax(np.abs(per))), per.shape)
                tap = ",".join(map(str, big))
                out[f"{name}[{k}]"] = (f"Σ {per.size} taps {mat}[tap,{k},{j}]·{val}[·,{k}]; largest tap {tap}: "
                                       f"{w[big + (k,)]:+.4g} × {v[big + (k,)]:+.4g}")
        return out
    for k, (w, x) in enumerate(zip(ex.x_weights, ex.x_values)):
        out[f"x[{k}]"] = f"W[{k},{j}] {w:+.4g} × x_t[{k}] {x:+.4g}"
    w_label = "W_dense" if ex.gate == "y" else "U"
    scale = "" if ex.h_scale is None else f" × r[{j}] {ex.h_scale:+.4g}"
    for k, (w, h) in enumerate(zip(ex.h_weights, ex.h_values)):
        out[f"h[{k}]"] = f"{w_label}[{k},{j}] {w:+.4g} × {ex.h_label}[{k}] {h:+.4g}{scale}"
    return out


def print_health(args, model) -> None:
    """``info --input X``: gate health of every recurrent layer over all samples of X (streaming statistics)."""
    import engine
    from engine.inputs import load_inputs
    from engine.streaming import dataset_stats

    xs = load_inputs(args.input, args.limits)  # the budgets of --max-memory
    try:
        stats = dataset_stats(model, xs, progress=_progress("gate statistics"))
    except engine.FormatError as e:
        raise engine.ModelFileError(args.input, str(e)) from None
    finally:
        _progress_done()
    print()
    print("gate health (over the whole input, chunk by chunk):")
    for s in stats.values():
        for line in s.health().lines():
            print("  " + line)


def trace_h5(args, model, xs) -> None:
    """``trace … --output T.h5``: the trace written chunk by chunk of samples, never held whole."""
    import engine
    from engine.streaming import trace_to_h5

    try:
        trace_to_h5(model, xs, args.output, progress=_progress("tracing"))
    except OSError as e:
        raise engine.ModelFileError(args.output, f"cannot write ({e.strerror or e})") from None
    finally:
        _progress_done()


def _progress(what: str):
    """Progress on stderr, only for a terminal (a pipe or a test gets nothing: stderr stays for the one error line)."""
    import sys

    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\r{what}: {done}/{total} samples")
        sys.stderr.flush()

    return show


def _progress_done() -> None:
    import sys

    if sys.stderr.isatty():
        sys.stderr.write("\n")


def _export_code(args, model) -> int:
    from engine.codegen import write_code

    name = args.name or os.path.splitext(os.path.basename(args.model))[0]
    py, npz = write_code(model, args.output, name)
    print(f"wrote {py} and {npz}")
    return 0
