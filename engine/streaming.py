"""Whole datasets in bounded memory: the replay run chunk by chunk of samples (each chunk split over the cores),
with running per-unit statistics (engine/unit_stats.py) or a full trace written to HDF5 chunk by chunk.

Statistics are taken step by step (engine/step_stats.py): after each step, the values it computed are summed over
the batch while they are still in cache. Runs that give their latest step without recording (``last_step``: LSTM,
GRU, SimpleRNN and Bidirectionals of them) then run as ``predict`` runs them, two alternating slots that stay in
cache instead of a slot per step; for any other run the chunk is recorded and each step read from the records.

Both take ``progress(done, total)`` (called after each chunk, on the calling thread or a worker) and
``cancelled()`` (checked between chunks; True stops with :class:`Cancelled`, and a trace file is then not left).
"""
from __future__ import annotations


import numpy as np

from .export import atomic_path
from .explain import explainable, readout_dense
from .layers.recurrent import RecurrentLayer
from .parallel import cores
from .step_stats import StepStats
from .stepper import Stepper
from .trace import build_trace, concatenate_traces
from .unit_stats import UnitStats

#: records a chunk may hold at once (all layers, all steps); the chunk size follows from it
CHUNK_BYTES = 256 * 1024 ** 2
#: samples per core in a chunk of ``dataset_stats`` without records: a part's step buffers stay in its core's
#: cache, and its products are still big enough for BLAS (measured, LSTM(256), T = 100, one core: 256 and 512 are
#: as fast as predict's parts of thousands; 107 is 1.2x slower; 2×LSTM(256): 117 is 1.2x slower than 256)
STATS_PART = 256
#: what a chunk of ``dataset_stats`` without records may hold at most (by ``_run_bytes_per_sample``, which counts
#: generously: an LSTM(256) over 100 steps holds far less than its 0.5 MB per sample)
RUN_BYTES = 512 * 1024 ** 2


class Cancelled(Exception):
    """The caller asked to stop."""


def _bytes_per_sample(model, T: int, per_unit: int) -> int:
    """About what one sample costs over T steps: every recurrent layer's (and direction's) copy of its input and
    ``per_unit`` float32 values a unit a step."""
    total = 0
    for layer in model.recurrent_layers:
        subs = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]
        for sub in subs:
            F = getattr(sub, "input_features", 0)
            total += (F + per_unit * sub.units) * 4 * (T + 1)
    return max(total, 1)


def _record_bytes_per_sample(model, T: int) -> int:
    """About what recording one sample costs: every recurrent layer's step slots (LSTM keeps x, h, z and a)."""
    return _bytes_per_sample(model, T, 12)


def _run_bytes_per_sample(model, T: int) -> int:
    """About what running one sample without recording can cost at most: every recurrent layer's copy of its input,
    a projection of its input for every step (up to four gates) and its output sequence."""
    return _bytes_per_sample(model, T, 5)


def chunk_size(model, xs: list[np.ndarray], budget: int | None = None) -> int:
    """Samples per chunk of a recording run (``trace_to_h5``; ``dataset_stats`` where runs must record)."""
    T = xs[0].shape[1] if xs[0].ndim > 1 else 1
    budget = CHUNK_BYTES if budget is None else budget
    return int(max(1, min(xs[0].shape[0], budget // _record_bytes_per_sample(model, T))))


def stats_chunk_size(model, xs: list[np.ndarray], record: bool | None = None) -> int:
    """Samples per chunk of ``dataset_stats`` by default: STATS_PART per core where runs need not record (more
    where parts that small would not be split over the cores: narrow layers), within RUN_BYTES; else what the
    records allow (``chunk_size``). ``record``: whether the runs must record, if the caller has asked already
    (``steps_without_records``)."""
    if record is None:
        record = not steps_without_records(model)
    if record:
        return chunk_size(model, xs)
    n = xs[0].shape[0]
    T = xs[0].shape[1] if xs[0].ndim > 1 else 1
    c = cores()
    size = STATS_PART * c.threads
    while size < n and len(c.batch_parts(size, model.widest_recurrent())) < c.threads:
        size *= 2
    size = min(size, RUN_BYTES // _run_bytes_per_sample(model, T))
    return int(max(1, min(n, size)))


def _chunks(n: int, size: int):
    for a in range(0, n, size):
        yield a, min(n, a + size)


def _run_chunk(model, xs, a: int, b: int, fn, readout: bool = False):
    """``fn(stepper)`` for each core's part of samples a…b (run to the end, recording), in batch order."""
    c = cores()
    parts = c.batch_parts(b - a, model.widest_recurrent())

    def run(p0: int, p1: int):
        st = Stepper(model.graph, [x[a + p0:a + p1] for x in xs], record=True, readout=readout,
                     schedule=model.schedule)
        st.run()
        try:
            return fn(st)
        finally:
            _release(st)

    return c.run_parts(run, parts)


def _release(stepper) -> None:
    """Empty every run's records. A recording run's lazy records are its own bound methods, a cycle that would keep
    the chunk's buffers alive until the garbage collector runs (not soon: few Python objects are made meanwhile);
    emptied, the buffers go with the stepper. (Calling the collector here instead could finalise another thread's
    Qt objects from this worker thread.)"""
    todo = list(stepper.runs.values())
    while todo:
        run = todo.pop()
        rec = getattr(run, "records", None)
        if rec is not None:
            rec.clear()
        for attr in ("inner", "fw", "bw"):
            sub = getattr(run, attr, None)
            if sub is not None:
                todo.append(sub)


def _stat_nodes(model) -> list[tuple]:
    """(node, [(prefix of its step values, key in ``new_stats``, the layer or direction)]) of every layer call the
    statistics count: recurrent layers of units (ConvLSTM: maps, not units, is not counted), a Bidirectional's
    directions each on its own."""
    out = []
    for node in model.graph.nodes:
        L = node.layer
        if isinstance(L, RecurrentLayer) and explainable(L):
            if hasattr(L, "forward_layer"):
                out.append((node, [("forward/", f"{node.qualname}/forward", L.forward_layer),
                                   ("backward/", f"{node.qualname}/backward", L.backward_layer)]))
            else:
                out.append((node, [("", node.qualname, L)]))
    return out


def new_stats(model) -> dict[str, UnitStats]:
    """Empty accumulators: one per recurrent layer call, or per direction (``name/forward``) of a Bidirectional."""
    out = {}
    for node, keys in _stat_nodes(model):
        dense = readout_dense(model.graph, node) if len(keys) == 1 else None  # a direction has no readout of its own
        kernel = None if dense is None else dense.layer.kernel
        for _, key, layer in keys:
            out[key] = UnitStats(key, layer, kernel)
    return out


def steps_without_records(model) -> bool:
    """Whether every layer the statistics count gives its latest step's values when not recording
    (``RecurrentRun.last_step``), asked of a one-sample, one-step run of each."""
    for node, _ in _stat_nodes(model):
        L = node.layer
        x = np.zeros((1, 1, L.input_features), L.dtype)
        run = L.begin(1, 1, x_full=x, record=False)
        with np.errstate(over="ignore"):
            run.step()
        if run.last_step() is None:
            return False
    return True


def _step_stats(model, st: Stepper) -> dict[str, UnitStats]:
    """Step ``st`` to the end, adding each step's values of every counted layer to its ``StepStats``."""
    out = new_stats(model)
    # one accumulator per layer call (a shared layer's calls add up under its name, as their records would)
    watched = [(node.id, [(prefix, key, StepStats(out[key], st.batch)) for prefix, key, _ in keys])
               for node, keys in _stat_nodes(model)]
    seen = {nid: 0 for nid, _ in watched}
    while not st.done:
        st.step()
        for nid, targets in watched:
            run = st.runs.get(nid)
            if run is None or run.t == seen[nid]:
                continue
            seen[nid] = run.t
            values = run.last_step()
            if values is None:  # steps_without_records said it would give them
                raise RuntimeError(f"the run of layer call {nid} gives no step values")
            last = run.t == run.T
            for prefix, _, acc in targets:
                acc.add(values, prefix, last)
    for _, targets in watched:
        for _, key, acc in targets:
            out[key].merge(acc.result())
    return out


def _stats_chunk(model, xs, a: int, b: int, record: bool) -> list[dict[str, UnitStats]]:
    """The statistics of samples a…b, one ``UnitStats`` per counted layer (or direction) per core's part."""
    c = cores()
    parts = c.batch_parts(b - a, model.widest_recurrent())

    def run(p0: int, p1: int):
        st = Stepper(model.graph, [x[a + p0:a + p1] for x in xs], record=record, schedule=model.schedule)
        try:
            return _step_stats(model, st)
        finally:
            if record:
                _release(st)

    return c.run_parts(run, parts)


def dataset_stats(model, xs, chunk: int | None = None, progress=None, cancelled=None) -> dict[str, UnitStats]:
    """Per-unit statistics of every recurrent layer over all samples of ``xs``, ``chunk`` samples at a time (by
    default ``stats_chunk_size``), each step's values summed as soon as it is done: no chunk's steps are kept, but
    where a run must record to give them (see ``steps_without_records``)."""
    model._check_runnable()
    xs = model._inputs(xs)
    n = xs[0].shape[0]
    record = not steps_without_records(model)
    size = chunk or stats_chunk_size(model, xs, record)
    total = new_stats(model)
    for a, b in _chunks(n, size):
        if cancelled is not None and cancelled():
            raise Cancelled()
        for part in _stats_chunk(model, xs, a, b, record):
            for k, s in part.items():
                total[k].merge(s)
        if progress is not None:
            progress(b, n)
    return total


def trace_to_h5(model, xs, path: str, chunk: int | None = None, progress=None, cancelled=None) -> str:
    """The trace of every sample (as ``Model.trace``: ``x_i``, ``y_i``, ``<layer>/<array>``, ``readout_i``, ``steps``)
    written to an HDF5 file chunk by chunk, through a temporary file renamed into place."""
    import h5py

    model._check_runnable()
    xs = model._inputs(xs)
    n = xs[0].shape[0]
    size = chunk or max(1, chunk_size(model, xs) // 2)  # readouts and the written copy take room too
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["samples"] = n
            for a, b in _chunks(n, size):
                if cancelled is not None and cancelled():
                    raise Cancelled()
                tr = concatenate_traces(_run_chunk(model, xs, a, b, build_trace, readout=True))
                arrays = tr.as_dict()
                steps = arrays.pop("steps")
                if "steps" not in f:
                    f.create_dataset("steps", data=steps)
                for key, arr in arrays.items():
                    if key not in f:
                        f.create_dataset(key, shape=(n,) + arr.shape[1:], dtype=arr.dtype,
                                         chunks=(min(size, n),) + arr.shape[1:])
                    f[key][a:b] = arr
                del tr, arrays
                if progress is not None:
                    progress(b, n)
    return path
