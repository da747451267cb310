"""LSTM Inspector launcher.

    lstm-inspector [MODEL] [--input X.npy] [--step N] [--screenshot PNG [--size WxH]]   the window (demo model when no MODEL)
    lstm-inspector-cli info MODEL                                       layers, shapes, gate matrices
    lstm-inspector-cli predict MODEL --input X.npy --output Y.npy       Keras-equivalent predictions
    lstm-inspector-cli trace MODEL --input X.npy --output T.npz         every gate and state at every step
    (predict and trace take --float64: the whole model in float64, an exact reference)
    lstm-inspector-cli explain MODEL --input X --layer L --step T --unit J   one value taken apart (explain_cli.py)
    lstm-inspector-cli export-code MODEL --output DIR                   the forward pass as NumPy code

In a checkout, ``python main.py`` takes the same arguments as ``lstm-inspector``.

Headless subcommands never import Qt. Errors print one line ``error: <file>: <reason>`` and exit 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from . import __version__, explain_cli
from .explain_cli import COMMANDS as EXPLAIN_COMMANDS
from .paths import demo_data, demo_model

COMMANDS = ("info", "predict", "trace") + EXPLAIN_COMMANDS


class CliError(Exception):
    pass


def _fail(message: str) -> int:
    from engine.printable import one_line

    # names from the file and the file name itself are escaped, the line capped: one terminal-safe line, always
    print(f"error: {one_line(message)}", file=sys.stderr)
    return 2


_WARNINGS: list[str] = []  # printed once the command has succeeded: a refusal is one error line, nothing else


def _warn(message: str) -> None:
    from engine.printable import one_line

    _WARNINGS.append(f"warning: {one_line(message)}")


def _flush_warnings() -> None:
    for line in _WARNINGS:
        print(line, file=sys.stderr)
    _WARNINGS.clear()


def _warn_nonfinite(path: str, model) -> None:
    if model.nonfinite:
        from engine.nonfinite import summary

        _warn(f"{path}: non-finite weights (NaN/inf) in {summary(model.nonfinite)}; the replay gives NaN where Keras does")


def _size_arg(text: str) -> int:
    from engine.limits import parse_size

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _cli_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstm-inspector-cli", description="Inspect a Keras recurrent model without TensorFlow.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    pi = sub.add_parser("info", help="describe the model: layers, shapes, activations, gate matrices")
    pi.add_argument("model")
    pi.add_argument("--input", "-i", help="with data: gate health per layer over every sample (saturation, dead units, "
                                          "forget-gate mean), computed chunk by chunk")
    parsers = [pi]
    for name, what in (("predict", "predictions (.npy, or .npz with output_0… for several outputs)"),
                       ("trace", "the full step-by-step trace (.npz; .h5 is written chunk by chunk, for big batches)")):
        sp = sub.add_parser(name, help=f"write {what}")
        sp.add_argument("model")
        sp.add_argument("--input", "-i", required=True, help="input array: .npy, .npz (x_0, x_1, …) or .csv (batch × time, one feature)")
        sp.add_argument("--output", "-o", required=True, help="written atomically; never the model or the input")
        sp.add_argument("--float64", action="store_true",
                        help="run the whole model in float64 (an exact reference; Keras computes in float32)")
        parsers.append(sp)
    explain_cli.add_parsers(sub)
    for sp in sub.choices.values():  # every subcommand opens a model file: the same budgets for each
        sp.add_argument("--max-memory", metavar="SIZE", type=_size_arg,
                        help="budget for the weights, one decoded input and the layer outputs of a replay, each "
                             "(e.g. 12G; default 8G weights, 4G input, 4G outputs)")
        sp.add_argument("--max-layers", metavar="N", type=int, help="most layer calls a config may hold (default 100000)")
        sp.add_argument("--read-timeout", metavar="SECONDS", type=_seconds_arg,
                        help="give up reading the model file after this long (default 120; the file is read in a "
                             "separate process, which is then stopped)")
    return p


def _seconds_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not 0 < v < 1e6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    return v


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstm-inspector", description="Open the LSTM Inspector window.",
                                epilog="Headless: lstm-inspector {info,predict,trace,explain,export-code} --help (or lstm-inspector-cli …)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--install-desktop-entry", action="store_true",
                   help="add LSTM Inspector to the desktop's application menu (Linux/freedesktop: ~/.local/share) and exit")
    p.add_argument("model", nargs="?", help="a .h5 or .keras model (default: the bundled noisy-sine demo)")
    p.add_argument("--input", "-i", help="input array (.npy/.npz/.csv)")
    p.add_argument("--step", type=int, help="step the replay to this timestep after loading")
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window and exit")
    p.add_argument("--size", metavar="WxH", type=_size, default=(1600, 1000),
                   help="window size for --screenshot, e.g. 1280x800 (default 1600x1000)")
    return p


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    try:
        size = (int(w), int(h)) if sep else None
    except ValueError:
        size = None
    if size is None or not (200 <= size[0] <= 10000 and 200 <= size[1] <= 10000):
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 1280x800 (200 to 10000 each)")
    return size


def _write_array_file(path: str, arrays: dict) -> None:
    """Atomically (engine/export.py): a failed write leaves nothing behind and an old file as it was."""
    from engine.export import save_arrays

    if path.lower().endswith(".npy") and len(arrays) != 1:
        raise CliError(f"{path}: the model has {len(arrays)} outputs; use an .npz output file")
    try:
        save_arrays(path, arrays)
    except OSError as e:
        raise CliError(f"{path}: cannot write ({e.strerror or e})") from None


def _check_output(args) -> None:
    """Before any work: the output must not be the model or the input (same file by inode, through links too)."""
    from engine.export import SameFileError, refuse_same_file

    try:
        refuse_same_file(args.output, ("model", args.model), ("input", args.input))
    except SameFileError as e:
        raise CliError(f"{args.output}: {e}") from None
    if os.path.isdir(args.output):
        raise CliError(f"{args.output}: is a directory")
    if args.command == "trace" and not args.output.lower().endswith((".npz", ".h5", ".hdf5")):
        raise CliError(f"{args.output}: a trace is written as .npz (or .h5)")


def _run_command(args) -> int:
    import engine
    from engine.describe import describe_model
    from engine.inputs import load_inputs
    from engine.limits import DEFAULT

    import numpy as np

    dtype = np.float64 if getattr(args, "float64", False) else np.float32
    max_memory = getattr(args, "max_memory", None)
    limits = DEFAULT if max_memory is None else DEFAULT.with_max_memory(max_memory)
    if getattr(args, "max_layers", None) is not None:
        limits = dataclasses.replace(limits, max_layers=max(1, args.max_layers))
    if getattr(args, "read_timeout", None) is not None:
        limits = dataclasses.replace(limits, read_seconds=args.read_timeout)
    args.limits = limits
    if args.command in ("predict", "trace"):
        _check_output(args)
    model = engine.load_model(args.model, strict=args.command != "info", dtype=dtype, limits=limits)
    if args.command == "info":
        print(describe_model(model))
        code = [bad for bad in model.unsupported if bad.carries_code]
        if code:  # listed above, and refused: a model carrying code is never accepted
            raise engine.ModelFileError(args.model, f"layer {code[0].name!r}: {code[0].reason}")
        if model.graph.unbuilt:
            _warn(f"{args.model}: {model.unbuilt_reason} (info only: predict and trace refuse this model)")
        for bad in ([] if model.graph.unbuilt else model.unsupported):  # listed above as UNSUPPORTED; predict and trace refuse the file
            _warn(f"{args.model}: layer {bad.name!r}: {bad.reason} (info only: predict and trace refuse this model)")
        _warn_nonfinite(args.model, model)
        if args.input:
            explain_cli.print_health(args, model)
        return 0
    if model.graph.unbuilt:
        raise engine.ModelFileError(args.model, f"{model.unbuilt_reason}; nothing to run")
    if args.command in EXPLAIN_COMMANDS:
        return explain_cli.run(args, model)
    xs = load_inputs(args.input, limits)
    _warn_nonfinite(args.model, model)
    try:
        if args.command == "predict":
            y = model.predict(xs)
            ys = y if isinstance(y, list) else [y]
            _write_array_file(args.output, {f"output_{i}": a for i, a in enumerate(ys)})
        elif args.output.lower().endswith((".h5", ".hdf5")):
            explain_cli.trace_h5(args, model, xs)
        else:
            tr = model.trace(xs)
            _write_array_file(args.output, tr.as_dict())
    except engine.ModelRunError as e:  # the config cannot run: the model's fault
        raise engine.ModelFileError(args.model, str(e)) from None
    except engine.FormatError as e:  # input shape problems name the input file
        raise engine.ModelFileError(args.input, str(e)) from None
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        args = _cli_parser().parse_args(argv)
        import warnings

        import engine

        # NumPy's RuntimeWarnings (overflow in a cast, …) would print two lines with our source path; results that
        # overflow are still written as Keras would compute them (inf), and every refusal is one error line
        warnings.simplefilter("ignore")

        _WARNINGS.clear()
        try:
            rc = _run_command(args)
            _flush_warnings()
            return rc
        except BrokenPipeError:  # `info … | head`: the reader left; not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except engine.ModelFileError as e:
            return _fail(str(e))
        except CliError as e:
            return _fail(str(e))
        except engine.UnsupportedLayerError as e:
            return _fail(f"{args.model}: {e}")
        except MemoryError:  # past every budget (they bound sizes, not what else the machine holds)
            return _fail(f"{args.model}: not enough memory (try a smaller input or a lower --max-memory)")
    args = _gui_parser().parse_args(argv)
    if args.install_desktop_entry:
        from .desktop import install_desktop_entry

        try:
            for path in install_desktop_entry():
                print(f"wrote {path}")
        except OSError as e:
            return _fail(f"{e.filename or 'desktop entry'}: cannot write ({e.strerror or e})")
        return 0
    # The window replays one sample at a time: OpenBLAS worker threads would only spin beside the GUI thread (on a
    # 2-core machine a step took up to 3× as long). Set before NumPy loads; a value already in the environment wins.
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from gui.app import run_app

    model = args.model
    data = args.input
    if model is None:
        model, data = demo_model(), data or demo_data()
    return run_app(model_path=model, input_path=data, step=args.step, screenshot=args.screenshot, size=args.size)


def main_cli(argv: list[str] | None = None) -> int:
    """``lstm-inspector-cli``: the headless subcommands only, from a console script (prints on every platform)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        _cli_parser().parse_args(argv)  # --help, --version, or a usage error (exit 2)
        return 2
    return main(argv)


if __name__ == "__main__":
    sys.exit(main())
