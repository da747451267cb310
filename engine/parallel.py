"""Using every core: big batches split over threads, OpenBLAS's own threads held or let go, stalls detected.

* **Big batches** (``predict``, ``trace``): samples are independent at inference, so a big batch is cut into one
  part per core and each part runs its own stepper on its own thread, start to end, with no synchronisation
  between them. NumPy's elementwise work (a third of an LSTM step at big batches) runs on one core per call, so
  this is what puts both cores to work; during the run OpenBLAS is held to one thread, each part calling it
  for its own products (its workers would otherwise spin on the cores the parts need).
* **Small batches**: one thread, and OpenBLAS spreads each product over its own threads as it sees fit (at batch 1
  the recurrent matrix-vector product of LSTM(256) takes 17 µs on two threads, 42 µs on one).
* **Stalls**: OpenBLAS's threads wait for each other by spinning. When another process keeps a core busy, a step
  that should take 20 µs can wait a whole time slice for a descheduled worker (measured: single predicts of 190
  ms instead of 5 ms). At batch 1 ``StallGuard`` notices steps far slower than the fastest one of their stage and
  then holds OpenBLAS to one thread for a few seconds, after which it tries again. (The hold ends at the first
  step, or the start of any stepper, after the cool-down; until then the rest of the process, other NumPy code and
  bigger batches included, sees one BLAS thread too. Only batch-1 steppers start a hold; a stepper of any batch
  ends a due one as it starts, so that a batch-16 predict after a stall at batch 1 is not left on one thread.)

``LSTM_INSPECTOR_THREADS=1`` in the environment turns the batch split off (any other number caps the parts).
Where OpenBLAS's thread count cannot be set (another BLAS, an unusual build) the batch split is off and products
keep the library's own threading.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

import numpy as np

R = TypeVar("R")

#: the smallest part of a split batch: at least this many samples, ``SPLIT_MIN_ELEMENTS / units`` (so that each
#: elementwise call has work enough to pay for the threads' turns at the GIL) and ``units / 16`` (wide layers
#: multiply by weights bigger than the caches, which every part reads again). Measured on 2×LSTM(u), T=50: the
#: split pays from batch 256 at u=64, 128 at u=128, 64 at u=256 and u=512, 128 at u=1024 (1.01-1.45x faster there,
#: more above: 1.2x at batch 256 for u=256), and costs up to 2.3x below those sizes.
SPLIT_MIN_PART = 16
SPLIT_MIN_ELEMENTS = 8192
#: how long after a stall products stay on one BLAS thread
STALL_COOLDOWN = 2.0
#: a stall is this many slow steps, or this many seconds lost in slow steps, within STALL_WINDOW seconds
STALL_SLOW_STEPS = 3
STALL_EXCESS = 0.005
STALL_WINDOW = 0.5


def _openblas_thread_functions():
    """(get, set) for the thread count of the OpenBLAS this process has loaded, or (None, None)."""
    import ctypes

    candidates = []
    np_dir = os.path.dirname(np.__file__)
    for d in (np_dir + ".libs", os.path.join(np_dir, ".dylibs"), os.path.join(np_dir, "..", "numpy.libs")):
        if os.path.isdir(d):
            candidates += [os.path.join(d, f) for f in sorted(os.listdir(d)) if "openblas" in f.lower()]
    try:
        with open("/proc/self/maps") as fh:
            candidates += sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line})
    except OSError:
        pass
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    setter.argtypes, setter.restype = [ctypes.c_int], None
                    getter.argtypes, getter.restype = [], ctypes.c_int
                    return getter, setter
    return None, None


class Cores:
    """The process's cores, its pool of worker threads and OpenBLAS's thread count (one per process: ``cores()``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.depth = 0
        self.saved = 1
        self.pool: ThreadPoolExecutor | None = None
        self.pool_pid = 0
        self.stalled_until = 0.0
        self.holding = False  # OpenBLAS held to one thread after a stall
        self.slow: list[tuple[float, float]] = []  # the latest slow steps: (when, seconds lost)
        self.stalls = 0  # stalls seen, for benchmarks and tests
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            n = os.cpu_count() or 1
        try:
            n = min(n, int(os.environ.get("LSTM_INSPECTOR_THREADS", n)))
        except ValueError:
            pass
        self.threads = max(1, min(n, 8))
        try:
            self.get, self.set = _openblas_thread_functions()
        except Exception:  # any surprise from ctypes: leave BLAS alone
            self.get = self.set = None
        if self.set is None:
            self.threads = 1

    # --- OpenBLAS held to one thread ---------------------------------------------------------------------------
    def blas_threads(self) -> int:
        return self.get() if self.get is not None else 1

    def enter(self) -> None:
        """Hold OpenBLAS to one thread (nested and thread-safe: released by the matching ``leave``)."""
        if self.set is not None:
            with self.lock:
                self._enter()

    def leave(self) -> None:
        if self.set is not None:
            with self.lock:
                self._leave()

    def _enter(self) -> None:
        if self.depth == 0:
            self.saved = self.get()
            if self.saved != 1:
                self.set(1)
        self.depth += 1

    def _leave(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.saved != 1:
            self.set(self.saved)

    # --- stalls --------------------------------------------------------------------------------------------------
    def slow_step(self, excess: float) -> None:
        """A step ``excess`` seconds slower than its stage's fastest. STALL_SLOW_STEPS of them within STALL_WINDOW
        seconds, or STALL_EXCESS seconds lost in that while, are a stall (one alone is often OpenBLAS waking its
        sleeping workers at the start of a run, which costs about a millisecond)."""
        now = time.monotonic()
        self.slow = [(s, e) for s, e in self.slow if now - s < STALL_WINDOW] + [(now, excess)]
        if len(self.slow) >= STALL_SLOW_STEPS or sum(e for _, e in self.slow) >= STALL_EXCESS:
            self.slow = []
            self.stall()

    def stall(self) -> None:
        """Hold OpenBLAS to one thread for the next STALL_COOLDOWN seconds (released by the first guarded step
        after that: switching it for each step would cost more than it saves on a busy machine)."""
        with self.lock:
            self.stalls += 1
            self.stalled_until = time.monotonic() + STALL_COOLDOWN
            if not self.holding and self.set is not None:
                self._enter()
                self.holding = True

    def stalled(self) -> bool:
        return time.monotonic() < self.stalled_until

    def release_if_due(self) -> None:
        if self.holding and not self.stalled():
            with self.lock:
                if self.holding:
                    self.holding = False
                    self._leave()

    # --- the batch split -----------------------------------------------------------------------------------------
    def executor(self) -> ThreadPoolExecutor:
        if self.pool is None or self.pool_pid != os.getpid():  # a forked child has none of its parent's threads
            with self.lock:
                if self.pool is None or self.pool_pid != os.getpid():
                    self.pool = ThreadPoolExecutor(max(1, self.threads - 1), thread_name_prefix="lstm-part")
                    self.pool_pid = os.getpid()
        return self.pool

    def batch_parts(self, batch: int, units: int) -> list[tuple[int, int]]:
        """[(start, stop), …]: contiguous parts of the batch, one per thread, for a model whose widest recurrent
        layer has ``units``; one part where a split would not pay (see SPLIT_MIN_PART)."""
        units = max(1, units)
        min_part = max(SPLIT_MIN_PART, SPLIT_MIN_ELEMENTS // units, units // 16)
        n = min(self.threads, batch // min_part)
        if n < 2:
            return [(0, batch)]
        edges = np.linspace(0, batch, n + 1).round().astype(int)
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    def run_parts(self, fn: Callable[[int, int], R], parts: Sequence[tuple[int, int]]) -> list[R]:
        """``[fn(a, b) for a, b in parts]``, the parts side by side (the first on this thread), OpenBLAS on one
        thread meanwhile. Every part finishes before the first error, if any, is raised."""
        if len(parts) == 1:
            return [fn(*parts[0])]
        self.enter()
        try:
            futures = [self.executor().submit(fn, a, b) for a, b in parts[1:]]
            first_error = None
            try:
                results = [fn(*parts[0])]
            except BaseException as e:  # noqa: BLE001 - re-raised below, once the other parts are done
                results, first_error = [], e
            for f in futures:
                try:
                    results.append(f.result())
                except BaseException as e:  # noqa: BLE001
                    first_error = first_error or e
            if first_error is not None:
                raise first_error
            return results
        finally:
            self.leave()


_cores: Cores | None = None
_cores_lock = threading.Lock()


def cores() -> Cores:
    global _cores
    if _cores is None:
        with _cores_lock:
            if _cores is None:
                _cores = Cores()
    return _cores


class StallGuard:
    """Times each step of a stepper; a step more than ``4 × fastest + 0.5 ms`` of its stage is slow, and a few slow
    steps in a short while are a stall (see the module's notes), after which OpenBLAS is held to one thread until
    the cool-down has passed.
    Costs two clock reads per step; none at all where OpenBLAS is on one thread already (as in the window)."""

    __slots__ = ("cores", "best")

    def __init__(self, c: Cores):
        self.cores = c
        self.best = float("inf")

    @staticmethod
    def make(batch: int) -> "StallGuard | None":
        """A guard for a stepper over ``batch`` samples, or None. Only at batch 1: there the products are
        matrix-vector products, which OpenBLAS computes to the same bits on one thread or several (it splits the
        rows), so switching changes no result. From batch 2 its threads also split the sums, and results would
        depend on the machine's load; those keep OpenBLAS's own threading."""
        c = cores()
        c.release_if_due()  # a hold whose cool-down has passed ends as any run starts, before its first product
        if batch != 1:  # within a run of batch ≥ 2 OpenBLAS's thread count then stays as it is
            return None
        return StallGuard(c) if c.holding or c.blas_threads() > 1 else None

    def new_stage(self) -> None:
        self.best = float("inf")

    def run(self, fn: Callable[[], None]) -> None:
        c = self.cores
        if c.holding:
            if c.stalled():  # OpenBLAS is on one thread: nothing to time
                fn()
                return
            c.release_if_due()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if dt < self.best:
            self.best = dt
        elif dt > 4 * self.best + 5e-4:
            c.slow_step(dt - self.best)
