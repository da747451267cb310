"""The fast paths give Keras' numbers too, each forced on every LSTM fixture: a batch split over threads, the
unfused step for big weights, batch-major slots. Records are what the step computed (``pre`` included), the
stall guard switches OpenBLAS to one thread and back, and a batch is split only where it pays."""
from __future__ import annotations

import time

import numpy as np
import pytest

import engine
from engine import parallel
from engine.activations import get_activation
from engine.layers.lstm import LSTMRun
from engine.layers.projected_run import ProjectedRun
from engine.stepper import Stepper
from tests.engine.helpers import TOL, load_case
from tests.fixture_index import FIXTURES, case_id, cases

# the math does not depend on the file format: one format (the one every case has) is enough here
LSTM_CASES = [e for e in cases() if e.get("lstm_layers") and e["format"] == "k3keras"]
PATHS = ("split", "unfused", "batch_major")


@pytest.fixture
def force(monkeypatch):
    def apply(path: str) -> None:
        if path == "split":
            monkeypatch.setattr(parallel, "SPLIT_MIN_PART", 1)
            monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 1)
            monkeypatch.setattr(parallel.cores(), "threads", 2)
        elif path == "unfused":
            monkeypatch.setattr(LSTMRun, "UNFUSED_MIN_BYTES", 0)
        elif path == "batch_major":
            monkeypatch.setattr(LSTMRun, "_batch_major", staticmethod(lambda batch, units: True))
    return apply


def test_there_are_lstm_cases():
    assert len(LSTM_CASES) >= 30


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("e", LSTM_CASES, ids=case_id)
def test_forced_path_matches_keras(e, path, force):
    force(path)
    model, data, xs = load_case(e)
    y = model.predict(xs)
    for i, yi in enumerate(y if isinstance(y, list) else [y]):
        np.testing.assert_allclose(yi, data[f"y_{i}"], rtol=0, atol=TOL, err_msg=f"output {i}")
    tr = model.trace(xs)
    checked = 0
    for lt in tr.layers:
        for kind, rec in (("hseq", "h"), ("cseq", "C")):
            key = f"{kind}__{lt.name}"
            if key in data.files and rec in lt.arrays:
                np.testing.assert_allclose(lt.arrays[rec], data[key], rtol=0, atol=TOL, err_msg=key)
                checked += 1
    # the readout after the last step is the prediction, whatever the path
    for r, o in zip(tr.readouts, tr.outputs):
        if r is not None:
            np.testing.assert_array_equal(r[:, -1], o if o.ndim == r.ndim - 1 else o[:, -1])


def test_split_is_really_taken(force):
    force("split")
    e = next(e for e in LSTM_CASES if e["name"] == "stack_seq")
    model, _, xs = load_case(e)
    assert len(parallel.cores().batch_parts(xs[0].shape[0], model.widest_recurrent())) == 2


@pytest.mark.parametrize("path", ("fused", "unfused", "batch_major"))
def test_pre_and_gates_are_what_the_step_computed(path, force):
    """``pre`` = x_t·W + h_{t-1}·U + b in Keras' order i f c o, the gates its activations, C and h from them."""
    if path != "fused":
        force(path)
    e = next(e for e in LSTM_CASES if e["name"] == "stack_seq")
    model, _, xs = load_case(e)
    tr = model.trace(xs)
    for lt in tr.layers:
        layer = model.layer(lt.name)
        a = lt.arrays
        u = layer.units
        h_prev = np.concatenate([np.zeros_like(a["h"][:, :1]), a["h"][:, :-1]], axis=1)
        C_prev = np.concatenate([np.zeros_like(a["C"][:, :1]), a["C"][:, :-1]], axis=1)
        pre = a["x"] @ layer.kernel + h_prev @ layer.recurrent_kernel + layer.bias
        np.testing.assert_allclose(a["pre"], pre, rtol=0, atol=1e-5)
        sig = get_activation(layer.config.get("recurrent_activation", "sigmoid"), model.keras_version)
        act = get_activation(layer.config.get("activation", "tanh"), model.keras_version)
        for k, g in enumerate(("i", "f", "c~", "o")):
            fn = act if g == "c~" else sig
            np.testing.assert_allclose(a[g], fn(a["pre"][..., k * u:(k + 1) * u]), rtol=0, atol=1e-6, err_msg=g)
        np.testing.assert_allclose(a["C"], a["f"] * C_prev + a["i"] * a["c~"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(a["h"], a["o"] * act(a["C"]), rtol=0, atol=1e-6)


def test_records_are_views_filled_by_the_steps():
    e = next(e for e in LSTM_CASES if e["name"] == "stack_seq")
    model, _, xs = load_case(e)
    st = model.stepper(xs, record=True, readout=False)
    run = st.runs[next(iter(st.runs))]
    for name in ("x", "i", "f", "c~", "o", "C", "h"):
        assert np.shares_memory(run.records[name], run.xh) or np.shares_memory(run.records[name], run.a), name
    st.seek(2)
    np.testing.assert_array_equal(run.records["h"][:, 1], run.h)
    np.testing.assert_array_equal(run.records["C"][:, 1], run.c)
    assert not run.records["h"][:, 2:].any()  # steps not done yet are zeros


def test_split_trace_equals_whole_trace(force):
    e = next(e for e in LSTM_CASES if e["name"] == "stack_seq")
    model, _, xs = load_case(e)
    whole = model.trace(xs).as_dict()
    force("split")
    split = model.trace(xs).as_dict()
    assert whole.keys() == split.keys()
    for k in whole:
        np.testing.assert_allclose(split[k], whole[k], rtol=0, atol=1e-6, err_msg=k)


def test_readouts_same_with_or_without_records():
    e = next(e for e in LSTM_CASES if e["name"] == "stack_seq")
    model, _, xs = load_case(e)
    a = model.stepper(xs, record=True, readout=True)
    b = model.stepper(xs, record=False, readout=True)
    a.seek(3)
    b.seek(3)
    assert len(a.readouts) == len(b.readouts) == 3
    for ra, rb in zip(a.readouts, b.readouts):
        for x, y in zip(ra, rb):
            np.testing.assert_array_equal(x, y)


# --- the batch split -------------------------------------------------------------------------------------------
def test_batch_parts(monkeypatch):
    c = parallel.Cores()
    monkeypatch.setattr(c, "threads", 2)
    assert c.batch_parts(32, 256) == [(0, 32)]  # too small to pay
    assert c.batch_parts(64, 256) == [(0, 32), (32, 64)]
    assert c.batch_parts(256, 256) == [(0, 128), (128, 256)]
    assert c.batch_parts(257, 256) in ([(0, 128), (128, 257)], [(0, 129), (129, 257)])
    assert c.batch_parts(128, 64) == [(0, 128)]  # narrow layers: each call too short to share the GIL
    assert c.batch_parts(256, 64) == [(0, 128), (128, 256)]
    assert c.batch_parts(64, 1024) == [(0, 64)]  # wide layers: every part reads the big weights again
    assert c.batch_parts(128, 1024) == [(0, 64), (64, 128)]
    monkeypatch.setattr(c, "threads", 1)
    assert c.batch_parts(4096, 256) == [(0, 4096)]


def test_threads_env_turns_the_split_off(monkeypatch):
    monkeypatch.setenv("LSTM_INSPECTOR_THREADS", "1")
    assert parallel.Cores().threads == 1


def test_run_parts_finishes_every_part_then_raises(monkeypatch):
    c = parallel.cores()
    done = []

    def fn(a, b):
        if a == 0:
            raise ValueError("first part")
        time.sleep(0.05)
        done.append((a, b))
        return a

    monkeypatch.setattr(c, "threads", 2)
    with pytest.raises(ValueError, match="first part"):
        c.run_parts(fn, [(0, 1), (1, 2)])
    assert done == [(1, 2)]
    assert c.run_parts(lambda a, b: (a, b), [(0, 2), (2, 5)]) == [(0, 2), (2, 5)]


# --- the stall guard (on a fake clock: each step says how long it took) ---------------------------------------
class FakeBlas:
    def __init__(self, n):
        self.n = n

    def get(self):
        return self.n

    def set(self, n):
        self.n = n


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def perf_counter(self):
        return self.now

    monotonic = perf_counter


@pytest.fixture
def guarded(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(parallel, "time", clock)
    c = parallel.Cores()
    blas = FakeBlas(2)
    c.get, c.set = blas.get, blas.set
    g = parallel.StallGuard(c)

    def step(seconds, record=None):
        def fn():
            clock.now += seconds
            if record is not None:
                record.append(blas.n)
        g.run(fn)
    return c, blas, clock, step


def test_stall_guard_holds_blas_to_one_thread_after_stalls(guarded):
    c, blas, clock, step = guarded
    for _ in range(5):
        step(20e-6)  # a 20 µs step
    step(1.5e-3)
    step(1.5e-3)
    assert not c.stalled()  # one or two slow steps are not a stall (OpenBLAS waking up)
    step(1.5e-3)
    assert c.stalled() and c.stalls == 1 and blas.n == 1  # held to one thread from the stall on
    seen = []
    step(20e-6, seen)
    step(20e-6, seen)
    assert seen == [1, 1] and blas.n == 1
    clock.now += parallel.STALL_COOLDOWN  # the cool-down has passed: the next step lets go
    step(20e-6, seen)
    assert seen == [1, 1, 2] and blas.n == 2 and not c.holding


def test_slow_steps_far_apart_are_no_stall(guarded):
    c, _, clock, step = guarded
    step(20e-6)
    for _ in range(5):
        step(1.5e-3)
        clock.now += 1.0  # one slow step a second
    assert c.stalls == 0


def test_one_long_wait_is_a_stall(guarded):
    c, blas, _, step = guarded
    step(20e-6)
    step(2e-3)
    assert not c.stalled()  # a millisecond or two: OpenBLAS waking up
    step(10e-3)  # a time slice lost
    assert c.stalled() and blas.n == 1


def test_any_stepper_ends_a_due_hold_as_it_starts(guarded, monkeypatch):
    c, blas, clock, step = guarded
    monkeypatch.setattr(parallel, "_cores", c)
    step(20e-6)
    step(10e-3)
    assert c.holding and blas.n == 1
    assert parallel.StallGuard.make(4) is None and c.holding  # within the cool-down the hold stays
    clock.now += parallel.STALL_COOLDOWN
    # a bigger batch starting after the cool-down gets OpenBLAS's threads back (it used to run on one thread until
    # some batch-1 step came: 2×LSTM(256) at batch 16, 17 ms instead of 10.6)
    assert parallel.StallGuard.make(4) is None and not c.holding and blas.n == 2
    step(20e-6)
    step(10e-3)
    assert c.holding
    clock.now += parallel.STALL_COOLDOWN
    assert parallel.StallGuard.make(1) is not None and not c.holding and blas.n == 2


def test_guard_only_for_batch_one():
    assert parallel.StallGuard.make(4) is None
    made = parallel.StallGuard.make(1)
    assert (made is not None) == (parallel.cores().blas_threads() > 1)


# --- GRU and SimpleRNN: the same treatment (engine/layers/projected_run.py) -------------------------------------
def _classes(e) -> set[str]:
    model = engine.load_model(FIXTURES / e["model"])
    out = set()
    for layer in model.layers:
        out.add(layer.class_name)
        inner = getattr(layer, "forward_layer", None)
        if inner is not None:
            out.add(inner.class_name)
    return out


GRU_RNN_CASES = [e for e in cases() if e["format"] == "k3keras" and _classes(e) & {"GRU", "SimpleRNN"}]


@pytest.fixture
def force_projection(monkeypatch):
    def apply(path: str) -> None:
        if path == "stepped_projection":  # every step projects its own x_t, as for a stepped input
            monkeypatch.setattr(ProjectedRun, "PROJ_MAX_BYTES", 0)
        elif path == "split":
            monkeypatch.setattr(parallel, "SPLIT_MIN_PART", 1)
            monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 1)
            monkeypatch.setattr(parallel.cores(), "threads", 2)
    return apply


def test_there_are_gru_and_rnn_cases():
    assert len(GRU_RNN_CASES) >= 10


@pytest.mark.parametrize("path", ("default", "stepped_projection", "split"))
@pytest.mark.parametrize("e", GRU_RNN_CASES, ids=case_id)
def test_gru_rnn_paths_match_keras(e, path, force_projection):
    force_projection(path)
    model, data, xs = load_case(e)
    y = model.predict(xs)
    for i, yi in enumerate(y if isinstance(y, list) else [y]):
        np.testing.assert_allclose(yi, data[f"y_{i}"], rtol=0, atol=TOL, err_msg=f"output {i}")
    if path == "split":
        return
    st = model.stepper(xs, record=True, readout=True)
    st.run()
    for a, b in zip(st.outputs(), y if isinstance(y, list) else [y]):
        np.testing.assert_array_equal(a, b)  # stepping to the end is predict, bit for bit


def _gru_rnn_layer(kind: str, reset_after: bool | None = None):
    for e in GRU_RNN_CASES:
        model = engine.load_model(FIXTURES / e["model"])
        for layer in model.layers:
            if layer.class_name == kind and (reset_after is None or layer.reset_after == reset_after):
                return layer
    raise LookupError(kind)


@pytest.mark.parametrize("kind", ("LSTM", "GRU-reset_after", "GRU-reset_before", "SimpleRNN"))
@pytest.mark.parametrize("stepped", (False, True), ids=("whole_input", "stepped_input"))
@pytest.mark.parametrize("record", (False, True), ids=("predict", "record"))
def test_a_step_allocates_nothing(kind, stepped, record):
    """Every buffer is made when the run starts: the steps allocate no array (at batch 2048 a (batch, units)
    temporary is kilobytes; views of the buffers are a few hundred bytes of Python objects, freed at once).
    tanh / sigmoid, which have in-place forms (other activations are computed, then copied)."""
    import tracemalloc

    from engine.activations import sigmoid, tanh

    if kind == "LSTM":
        layer = engine.load_model(FIXTURES / LSTM_CASES[0]["model"]).recurrent_layers[0]
    elif kind == "SimpleRNN":
        layer = _gru_rnn_layer("SimpleRNN")
    else:
        layer = _gru_rnn_layer("GRU", reset_after=kind.endswith("after"))
    layer.act = tanh
    if hasattr(layer, "rec_act"):
        layer.rec_act = sigmoid
    batch, T = 2048, 6
    assert batch * layer.units * 4 >= 8192
    x = np.random.default_rng(0).standard_normal((batch, T, layer.input_features), dtype=np.float32)
    run = layer.begin(batch, T, x_full=None if stepped else x, record=record)
    xs = [np.ascontiguousarray(x[:, t]) for t in range(T)]
    with np.errstate(over="ignore"):
        run.step(xs[0] if stepped else None)  # first step outside the measure (lazy set-up, caches)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            for t in range(1, T):
                run.step(xs[t] if stepped else None)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    assert peak < 2048, f"{peak} bytes allocated during the steps"


# --- predict runs a stage layer by layer (Stepper._run_stage): the same steps in another order ------------------
@pytest.mark.parametrize("e", [e for e in LSTM_CASES + GRU_RNN_CASES if e["name"] in (
    "stack_seq", "br_masking", "br_masking_init", "br_masking_merge", "br_nested_seq", "br_simplernn", "br_timedist",
    "br_multi_io", "br_gru_before")], ids=case_id)
def test_layer_by_layer_records_equal_step_by_step(e, monkeypatch):
    model, _, xs = load_case(e)
    calls = []
    real = Stepper._run_stage
    monkeypatch.setattr(Stepper, "_run_stage", lambda self, st: (calls.append(st.index), real(self, st)))
    by_layer = model.stepper(xs, record=True, readout=False)
    outs = by_layer.run()
    assert calls, "run() without readouts goes layer by layer"
    by_step = model.stepper(xs, record=True, readout=False)
    while by_step.step() is not None:
        pass
    assert by_layer.stage_log == by_step.stage_log and by_layer.step_index == by_step.step_index
    for a, b in zip(outs, by_step.outputs()):
        np.testing.assert_array_equal(a, b)
    for nid, run in by_step.runs.items():
        other = by_layer.runs[nid]
        for name in run.records or {}:
            np.testing.assert_array_equal(other.records[name], run.records[name], err_msg=name)


def test_run_after_some_steps_finishes_step_by_step():
    e = next(e for e in LSTM_CASES if e["name"] == "stack_seq")
    model, _, xs = load_case(e)
    st = model.stepper(xs, record=False, readout=False)
    st.seek(2)
    np.testing.assert_array_equal(st.run()[0], model.predict(xs))
