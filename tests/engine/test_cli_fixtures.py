"""info, predict and trace on every real-Keras fixture model, in all three formats, through the CLI."""
from __future__ import annotations

import numpy as np
import pytest

from lstm_inspector import cli as main
from tests.engine.helpers import TOL, max_err
from tests.fixture_index import FIXTURES, case_id, cases


@pytest.mark.parametrize("e", cases(), ids=case_id)
def test_cli_on_fixture(e, tmp_path, capsys):
    model = str(FIXTURES / e["model"])
    data = np.load(FIXTURES / e["data"])
    xs = sorted(k for k in data.files if k.startswith("x_"))
    inp = tmp_path / "x.npz"
    np.savez(inp, **{k: data[k] for k in xs})
    assert main.main(["info", model]) == 0
    out = capsys.readouterr().out
    label = {"k2h5": "Keras 2 / tf.keras HDF5", "k3h5": "Keras 3 legacy HDF5", "k3keras": "Keras 3 native",
             "k2keras": "tf.keras 2.13–2.15 native"}[e["format"]]
    assert f"format:   {label}" in out
    ys = sorted((k for k in data.files if k.startswith("y_")), key=lambda k: int(k[2:]))
    pred = tmp_path / "y.npz"
    assert main.main(["predict", model, "--input", str(inp), "--output", str(pred)]) == 0
    with np.load(pred) as got:
        for i, k in enumerate(ys):
            assert max_err(got[f"output_{i}"], data[k]) <= TOL
    tr = tmp_path / "t.npz"
    assert main.main(["trace", model, "--input", str(inp), "--output", str(tr)]) == 0
    with np.load(tr) as t:
        for i, k in enumerate(ys):
            assert max_err(t[f"y_{i}"], data[k]) <= TOL
    err = capsys.readouterr().err
    if "nonfinite" in e.get("tags", ()):  # a diverged model: predict and trace say where the NaN/inf weights are
        assert err.count("warning:") == 2 and "non-finite weights" in err
    else:
        assert err == ""
