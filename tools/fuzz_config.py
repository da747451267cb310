"""A config-value fuzzer: changes one value of a fixture's model config (an axis, units, a shape, a name, a call
entry …) and builds and runs the model in this process, counting what escapes as anything but the engine's own
one-line errors. Complements tools/fuzz.py (bytes flipped, real CLI): here every mutant is a well-formed file whose
config lies, so the run reaches the layers.

    python tools/fuzz_config.py --mutants 5000 --seed 1
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import engine  # noqa: E402
from engine.errors import FormatError, ModelFileError, ModelRunError  # noqa: E402
from engine.graph import build_graph  # noqa: E402
from engine.model_file import read_model_file  # noqa: E402
from tests import fixture_index  # noqa: E402

VALUES = [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 7, 100, 10**6, 2**31, 2**63, -2**63, 1.5, 1e300, "x", "", None, True,
          [], {}, [0], [1], [2], [-5], [None], [1, 2], [1, 2, 3], [0, 1], [-1, 1]]
KEYS = {"axis", "axes", "dims", "units", "n", "target_shape", "pool_size", "strides", "kernel_size", "filters",
        "output_dim", "input_dim", "merge_mode", "padding", "dilation_rate", "return_sequences", "return_state",
        "go_backwards", "epsilon", "center", "scale", "rate", "activation", "recurrent_activation", "use_bias",
        "reset_after", "mask_value", "mask_zero", "data_format", "unit_forget_bias", "implementation", "time_major",
        "keepdims", "batch_input_shape", "batch_shape", "name", "class_name", "inbound_nodes", "layer",
        "backward_layer", "input_layers", "output_layers"}


def _paths(obj, pre=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield pre + (k,)
            yield from _paths(v, pre + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield pre + (i,)
            yield from _paths(v, pre + (i,))


def run(mutants: int, seed: int) -> tuple[int, collections.Counter, dict]:
    rng = random.Random(seed)
    cases = [e for e in fixture_index.manifest() if e["format"] in ("k2h5", "k3h5")]
    raws, data = {}, {}
    escaped: collections.Counter = collections.Counter()
    examples: dict[str, str] = {}
    for _ in range(mutants):
        e = rng.choice(cases)
        if e["model"] not in raws:
            raws[e["model"]] = read_model_file(str(fixture_index.FIXTURES / e["model"]))
            with np.load(fixture_index.FIXTURES / e["data"]) as z:
                data[e["model"]] = [z[k] for k in sorted(z.keys()) if k.startswith("x_")]
        raw = raws[e["model"]]
        cfg = json.loads(json.dumps(raw.config))
        paths = [p for p in _paths(cfg) if isinstance(p[-1], str) and p[-1] in KEYS] or list(_paths(cfg))
        path = rng.choice(paths)
        obj = cfg
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = rng.choice(VALUES)
        try:
            try:
                graph = build_graph(cfg, raw.weights, raw.keras_version)
            except (KeyError, TypeError, AttributeError, ValueError, IndexError, RecursionError):
                continue  # load_model turns these into "malformed model config (…)", one line
            model = engine.Model(path="m", format=raw.format, keras_version=raw.keras_version, graph=graph)
            model.predict(data[e["model"]])
        except ModelRunError as ex:  # one line, but only once running: a check at load would say it sooner
            sig = f"caught while running: {str(ex)[:70]}"
            escaped[sig] += 1
            examples.setdefault(sig, f"{e['model']} {list(path)} = {obj[path[-1]]!r}")
        except (FormatError, ModelFileError):
            continue
        except BaseException as ex:  # noqa: BLE001  (that is what we are looking for)
            frame = traceback.extract_tb(ex.__traceback__)[-1]
            sig = f"{type(ex).__name__} at {os.path.relpath(frame.filename, ROOT)}:{frame.lineno}"
            escaped[sig] += 1
            examples.setdefault(sig, f"{e['model']} {list(path)} = {obj[path[-1]]!r}: {str(ex)[:200]}")
    return mutants, escaped, examples


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mutants", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")  # as the CLI does
    n, escaped, examples = run(args.mutants, args.seed)
    caught = sum(k for sig, k in escaped.items() if sig.startswith("caught while running"))
    print(f"{n} config mutants: {sum(escaped.values()) - caught} escaped as something else than a one-line error, "
          f"{caught} refused in one line only while running")
    for sig, k in escaped.most_common():
        print(f"  {k:>5}  {sig}  e.g. {examples[sig]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
