"""Streaming statistics (engine/unit_stats.py, engine/streaming.py): chunk by chunk they equal the statistics of
the whole trace; gate health and unit orders say what the trace says; ``trace --output T.h5`` writes the trace
chunk by chunk; cancelling leaves nothing behind."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import engine
from engine.streaming import Cancelled, dataset_stats, trace_to_h5
from engine.unit_stats import SAT_HI, SAT_LO
from lstm_inspector import cli as main
from tests.engine.helpers import load_fixture
from tests.fixture_index import FIXTURES, find

from . import crafted


def load(name, fmt="k2h5"):
    model, _, xs = load_fixture(name, fmt)
    return model, xs


def direct(trace_arrays, prefix, name, mask_key):
    """(kept values (n, u)) of one record straight from a whole trace."""
    a = trace_arrays[prefix + name]
    m = trace_arrays.get(mask_key)
    return a[m] if m is not None else a.reshape(-1, a.shape[-1])


@pytest.mark.parametrize("name", ["sine", "br_gru_after", "br_masking_bidi", "br_simplernn", "br_masking"])
def test_chunked_statistics_equal_the_whole_trace(name):
    model, xs = load(name)
    tr = model.trace(xs).as_dict()
    one = dataset_stats(model, xs, chunk=1)
    whole = dataset_stats(model, xs)
    for key, s in whole.items():
        node, _, d = key.partition("/") if key.endswith(("/forward", "/backward")) else (key, "", "")
        prefix = f"{node}/" + (f"{d}/" if d else "")
        mask_key = (f"{node}/mask" if d != "backward" else f"{node}/backward/mask")
        for rec in s.tracked():
            v = direct(tr, prefix, rec, mask_key).astype(np.float64)
            m = s.moments[rec]
            assert m.n == v.shape[0]
            np.testing.assert_allclose(m.mean, v.mean(axis=0), rtol=1e-6, atol=1e-7)
            if rec == "h":
                np.testing.assert_allclose(m.var, v.var(axis=0), rtol=1e-5, atol=1e-7)
                np.testing.assert_array_equal(m.lo, v.min(axis=0))
                np.testing.assert_array_equal(m.hi, v.max(axis=0))
            np.testing.assert_allclose(one[key].moments[rec].mean, m.mean, rtol=1e-6, atol=1e-7)
            if m.sat is not None:
                np.testing.assert_array_equal(m.sat, np.count_nonzero((v < SAT_LO) | (v > SAT_HI), axis=0))
        h = s.health()
        for g, frac in h.saturated.items():
            v = direct(tr, prefix, g, mask_key)
            assert frac == pytest.approx(np.mean((v < SAT_LO) | (v > SAT_HI)))
        g = "f" if "f" in s.tracked() else "z" if "z" in s.tracked() else None
        if g:
            assert h.forget_mean == pytest.approx(float(direct(tr, prefix, g, mask_key).mean()), rel=1e-6)
        final = np.abs(tr[prefix + "h"][:, -1]).mean(axis=0)
        np.testing.assert_array_equal(s.order("final"), np.argsort(-s.score("final"), kind="stable"))
        np.testing.assert_allclose(s.score("final"), final, rtol=1e-6)
        assert s.samples == xs[0].shape[0]


def test_dead_unit_and_contribution(tmp_path):
    w = crafted.tiny_weights()
    U = crafted.UNITS
    k, r, b = (a.copy() for _, a in w["lstm"])
    for arr in (k, r):
        arr[:, 2 * U + 1] = 0  # unit 1's candidate never moves: C and h stay 0
    b[2 * U + 1] = 0
    w["lstm"] = [(n, a) for (n, _), a in zip(w["lstm"], (k, r, b))]
    model = engine.load_model(crafted.tiny_h5(tmp_path / "m.h5", weights=w))
    x = np.random.RandomState(0).randn(40, 4, crafted.FEATURES).astype("f4")
    s = dataset_stats(model, x, chunk=7)["lstm"]
    assert s.health().dead_units == [1]
    assert s.order("variance")[-1] == 1 and s.score("contribution")[1] == 0
    dense_w = np.abs(model.layer("dense").kernel).mean(axis=1)
    np.testing.assert_allclose(s.score("contribution"), s.score("final") * dense_w)


def test_trace_h5_chunk_by_chunk_equals_the_trace(tmp_path):
    model, xs = load("br_masking_bidi")
    seen = []
    out = tmp_path / "t.h5"
    trace_to_h5(model, xs, str(out), chunk=1, progress=lambda d, n: seen.append((d, n)))
    assert seen == [(i + 1, xs[0].shape[0]) for i in range(xs[0].shape[0])]
    ref = model.trace(xs).as_dict()
    with h5py.File(out, "r") as f:
        keys = set()
        f.visit(lambda k: keys.add(k) if isinstance(f[k], h5py.Dataset) else None)
        assert keys == set(ref)
        for k, v in ref.items():
            np.testing.assert_allclose(f[k][...], v, rtol=0, atol=1e-6, err_msg=k)


def test_cancel_stops_and_leaves_nothing(tmp_path):
    model, xs = load("sine")
    calls = []
    with pytest.raises(Cancelled):
        dataset_stats(model, xs, chunk=4, progress=lambda d, n: calls.append(d), cancelled=lambda: len(calls) >= 2)
    assert calls == [4, 8]
    with pytest.raises(Cancelled):
        trace_to_h5(model, xs, str(tmp_path / "t.h5"), chunk=4, cancelled=lambda: True)
    assert list(tmp_path.iterdir()) == []


def test_cli_info_with_input_and_trace_h5(tmp_path, capsys):
    e = find("br_gru_after", "k3keras")
    model, data = str(FIXTURES / e["model"]), str(FIXTURES / e["data"])
    assert main.main(["info", model, "--input", data]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "gate health" in out
    assert "gru_1: over 3 samples" in out and "z mean" in out and "dead units (h never changes): 0" in out
    out_path = tmp_path / "t.h5"
    assert main.main(["trace", model, "--input", data, "--output", str(out_path)]) == 0
    with h5py.File(out_path, "r") as f:
        assert f["gru_1/h"].shape == (3, 6, 5)
    assert main.main(["info", model, "--input", str(tmp_path / "missing.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.npy" in err and err.count("\n") == 1
    assert main.main(["trace", model, "--input", data, "--output", str(tmp_path / "no" / "t.h5")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and err.count("\n") == 1
