"""What the engine tests share: the tolerance, a committed fixture opened with the engine (its Keras data and
inputs), the error measure that accepts NaN/inf only where Keras has them, and the CLI run in-process."""
from __future__ import annotations

import numpy as np

import engine
from lstm_inspector import cli
from tests.fixture_index import FIXTURES, find

TOL = 1e-5  # float32 parity with Keras


def load_case(e: dict):
    """(model, Keras' data, the inputs x_0, x_1, … the model takes) of one manifest entry."""
    model = engine.load_model(FIXTURES / e["model"])
    data = np.load(FIXTURES / e["data"], allow_pickle=False)
    return model, data, [data[f"x_{i}"] for i in range(len(model.graph.inputs))]


def load_fixture(name: str, fmt: str):
    return load_case(find(name, fmt))


def node(model, qualname: str):
    return next(n for n in model.graph.nodes if n.qualname == qualname)


def max_err(got, ref) -> float:
    """Max abs error; a diverged model's NaN/inf must sit where Keras has them (and count as equal there)."""
    bad_got, bad_ref = ~np.isfinite(got), ~np.isfinite(ref)
    np.testing.assert_array_equal(bad_got, bad_ref, err_msg="NaN/inf not where Keras has them")
    np.testing.assert_array_equal(got[bad_got], ref[bad_ref])  # the same NaN/±inf
    fin = ~bad_ref
    return float(np.max(np.abs(got[fin] - ref[fin]))) if fin.any() else 0.0


def run_cli(argv, capsys):
    """(exit code, stdout, stderr) of the CLI run in this process."""
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err
