"""Statistics taken step by step (engine/step_stats.py, ``RecurrentRun.last_step``): a run that does not record
gives each step's values as the records would, and the statistics summed step by step, part by part, equal those
``UnitStats.update`` takes from the whole batch's records (counts, minima and maxima exactly; float64 sums to
rounding), masks, Bidirectional, GRU and SimpleRNN included."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import engine
from engine import streaming
from engine.explain import cell_sources, explainable
from engine.layers.lstm import LSTMRun
from engine.layers.recurrent import RecurrentLayer, RecurrentRun
from engine.step_stats import FOLD_STEPS, StepStats
from engine.streaming import dataset_stats, new_stats, stats_chunk_size, steps_without_records
from engine.unit_stats import SAT_HI, SAT_LO
from tests.engine.helpers import load_case, load_fixture
from tests.fixture_index import case_id, cases

from . import crafted


def counted_nodes(model):
    return [n for n in model.graph.nodes if isinstance(n.layer, RecurrentLayer) and explainable(n.layer)]


def check_last_step(model, xs):
    """After every step, each counted run of a stepper that does not record gives the values a recording stepper
    keeps for that step (the same bits), masks included."""
    plain = model.stepper(xs, record=False, readout=False)
    rec = model.stepper(xs, record=True, readout=False)
    nodes = counted_nodes(model)
    checked = 0
    while not plain.done:
        plain.step()
        rec.step()
        for node in nodes:
            run, ref = plain.runs.get(node.id), rec.runs.get(node.id)
            if run is None or run.t == 0:
                continue
            got = run.last_step()
            assert got is not None, f"{node.qualname}: no step values without recording"
            t = ref.t - 1
            L = node.layer
            for name in (*L.gate_record_names, *L.state_record_names):
                np.testing.assert_array_equal(got[name], ref.records[name][:, t], err_msg=f"{node.qualname} {name} {t}")
            masks = {"": "mask"} if "mask" in ref.records else {}
            if "backward/mask" in ref.records:
                masks = {"forward/": "mask", "backward/": "backward/mask"}
            for prefix, key in masks.items():
                np.testing.assert_array_equal(got[prefix + "mask"], ref.records[key][:, t])
            checked += 1
    assert checked


def reference(model, xs, chunk=None) -> dict:
    """``UnitStats.update`` over the records of each chunk of ``chunk`` samples (all at once by default), merged:
    the statistics as they were taken before. (A sample's values depend, to float32 rounding, on the batch it is
    computed in, so both sides are taken over the same chunks, each run as one part.)"""
    n = xs[0].shape[0]
    chunk = chunk or n
    out = new_stats(model)
    for a in range(0, n, chunk):
        st = model.stepper([x[a:a + chunk] for x in xs], record=True, readout=False)
        st.run()
        part = new_stats(model)
        for node in model.graph.nodes:
            if isinstance(node.layer, RecurrentLayer) and explainable(node.layer):
                for d, src in cell_sources(st, node).items():
                    part[f"{node.qualname}/{d}" if d else node.qualname].update(src.records)
        for k, v in part.items():
            out[k].merge(v)
    return out


@pytest.fixture
def one_part(monkeypatch):
    """Each chunk run as one part (no batch split over the cores), as ``reference`` runs it."""
    monkeypatch.setattr(streaming.cores(), "threads", 1)


def assert_same_stats(got, want):
    assert set(got) == set(want)
    for key, w in want.items():
        g = got[key]
        assert g.samples == w.samples
        np.testing.assert_allclose(g.final_abs, w.final_abs, rtol=1e-12, atol=1e-300)
        assert set(g.moments) == set(w.moments)
        for name, wm in w.moments.items():
            gm = g.moments[name]
            assert gm.n == wm.n, (key, name)
            if not wm.n:
                continue
            np.testing.assert_allclose(gm.sum, wm.sum, rtol=1e-12, atol=1e-12 * wm.n, err_msg=f"{key} {name}")
            for attr in ("sumsq",):
                a, b = getattr(gm, attr), getattr(wm, attr)
                assert (a is None) == (b is None)
                if b is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * wm.n, err_msg=f"{key} {name} {attr}")
            for attr in ("lo", "hi", "sat"):
                a, b = getattr(gm, attr), getattr(wm, attr)
                assert (a is None) == (b is None)
                if b is not None:
                    np.testing.assert_array_equal(a, b, err_msg=f"{key} {name} {attr}")


def one_format_each():
    """Each fixture model once (its formats hold the same model)."""
    seen, out = set(), []
    for e in cases():
        if e["name"] not in seen:
            seen.add(e["name"])
            out.append(e)
    return out


@pytest.mark.parametrize("e", one_format_each(), ids=case_id)
def test_step_values_and_statistics_equal_the_records(e, one_part):
    """Every fixture with an LSTM, GRU or SimpleRNN (or Bidirectional of them): ``last_step`` without recording is
    the records' step, and the statistics summed step by step equal the records', in one chunk or several."""
    model, _, xs = load_case(e)
    if not counted_nodes(model):
        pytest.skip("no LSTM, GRU or SimpleRNN layer (ConvLSTM's maps are not counted)")
    check_last_step(model, xs)
    assert steps_without_records(model)
    n = xs[0].shape[0]
    for chunk in sorted({n, 1, max(1, n // 2)}):
        assert_same_stats(dataset_stats(model, xs, chunk=chunk), reference(model, xs, chunk))


def test_recording_fallback_gives_the_same_statistics(monkeypatch, one_part):
    """A run that gives no step values without recording (here LSTM's, its ``last_step`` taken away): the chunk is
    recorded and each step read from the records, with the same result."""
    model, _, xs = load_fixture("br_masking_bidi", "k2h5")
    want = reference(model, xs, 2)
    fast = dataset_stats(model, xs, chunk=2)
    monkeypatch.setattr(LSTMRun, "last_step", RecurrentRun.last_step)
    assert not steps_without_records(model)
    made = []
    real = streaming.Stepper

    def spy(*a, **k):
        made.append(k.get("record"))
        return real(*a, **k)

    monkeypatch.setattr(streaming, "Stepper", spy)
    slow = dataset_stats(model, xs, chunk=2)
    assert made and all(made)
    assert_same_stats(slow, want)
    assert_same_stats(fast, want)


def test_without_recording_nothing_is_recorded(monkeypatch):
    model, _, xs = load_fixture("br_gru_after", "k2h5")
    made = []
    real = streaming.Stepper

    def spy(*a, **k):
        made.append(k.get("record"))
        return real(*a, **k)

    monkeypatch.setattr(streaming, "Stepper", spy)
    dataset_stats(model, xs)
    assert made and not any(made)


def long_saturated_model(tmp_path, T):
    """The crafted LSTM over T steps, its forget gate saturated open (f ≈ 1) at every step, its input gate
    mostly saturated (weights ~N(0, 1) and big inputs)."""
    cfg = copy.deepcopy(crafted.tiny_config())
    cfg["config"]["layers"][0]["config"]["batch_input_shape"] = [None, T, crafted.FEATURES]
    w = crafted.tiny_weights()
    U = crafted.UNITS
    k, r, b = (a.copy() for _, a in w["lstm"])
    b[U:2 * U] = 30.0
    w["lstm"] = [(n, a) for (n, _), a in zip(w["lstm"], (k, r, b))]
    return engine.load_model(crafted.tiny_h5(tmp_path / "long.h5", config=cfg, weights=w))


def test_saturation_counts_past_the_byte_counters_fold(tmp_path, one_part):
    """More saturated steps than a byte counter holds (FOLD_STEPS): counts stay exact, in one part or several."""
    T = 300  # more than a byte counter holds (255)
    assert FOLD_STEPS <= 255 < T
    model = long_saturated_model(tmp_path, T)
    x = [(np.random.RandomState(1).randn(21, T, crafted.FEATURES) * 3).astype("f4")]
    f = reference(model, x)["lstm"].moments["f"]
    assert f.sat.min() == 21 * T  # every value of f saturated: each sample's counter passes 255
    for chunk in (21, 5):
        assert_same_stats(dataset_stats(model, x, chunk=chunk), reference(model, x, chunk))


def test_masked_steps_left_out_of_every_statistic(one_part):
    """With Keras masking, only kept (sample, step) pairs count: n, sums, minima and maxima, saturation (over the
    same batch as the trace: a sample's values depend on its batch to float32 rounding)."""
    model, _, xs = load_fixture("br_masking", "k2h5")
    tr = model.trace(xs).as_dict()
    key = next(k for k in tr if k.endswith("/mask"))
    mask = tr[key]
    assert not mask.all()
    layer = key[:-len("/mask")]
    s = dataset_stats(model, xs, chunk=xs[0].shape[0])[layer]
    for name in s.tracked():
        v = tr[f"{layer}/{name}"][mask].astype(np.float64)
        m = s.moments[name]
        assert m.n == int(mask.sum())
        np.testing.assert_allclose(m.sum, v.sum(axis=0), rtol=1e-12, atol=1e-12)
        if m.sat is not None:
            np.testing.assert_array_equal(m.sat, np.count_nonzero((v < np.float32(SAT_LO)) | (v > np.float32(SAT_HI)),
                                                                  axis=0))
        if name == "h":
            np.testing.assert_array_equal(m.lo, v.min(axis=0))
            np.testing.assert_array_equal(m.hi, v.max(axis=0))


def test_step_stats_on_a_batch_of_any_width(one_part):
    """Batches that are not whole uint64 words of bools (the padding never counts)."""
    model, _, xs = load_fixture("sine", "k2h5")
    for n in (1, 7, 9, 16):
        part = [x[:n] for x in xs]
        assert_same_stats(dataset_stats(model, part, chunk=n), reference(model, part))


def test_default_chunk_without_records_is_a_part_per_core(tmp_path):
    """STATS_PART samples per core; more for a narrow layer, whose parts that small would not be split."""
    c = streaming.cores()
    model, _, xs = load_fixture("sine", "k2h5")  # LSTM(100)
    big = [np.repeat(x, 200, axis=0) for x in xs]
    assert stats_chunk_size(model, big) == min(big[0].shape[0], streaming.STATS_PART * c.threads)
    narrow = engine.load_model(crafted.tiny_h5(tmp_path / "m.h5"))  # LSTM(3): parts of 2730 at least
    x = [np.zeros((20000, 4, crafted.FEATURES), np.float32)]
    size = stats_chunk_size(narrow, x)
    assert size >= streaming.STATS_PART * c.threads
    assert len(c.batch_parts(size, narrow.widest_recurrent())) == c.threads


def test_step_stats_result_is_a_part():
    """``StepStats.result`` of a run nothing was added to: no counts, no samples' values, the tracked names."""
    model, _, xs = load_fixture("br_gru_after", "k2h5")
    tmpl = next(iter(new_stats(model).values()))
    r = StepStats(tmpl, 3).result()
    assert set(r.moments) == set(tmpl.tracked()) and all(m.n == 0 for m in r.moments.values())
