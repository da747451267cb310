"""How the reader process hands the weights back: shared memory (a memfd the child reads into, mapped by the
parent: what engine/reader_process.py does) against a pipe (the child writes the bytes, the parent reads them
into its arrays). N MB of float32 are produced in a forked child either way, so only the hand-over differs; the
figure is the parent's wall time from the fork to arrays it can use (the shared-memory figure includes touching
every page once, as the first step would).

On this machine the pipe wins this hand-over alone (shared memory gets no transparent huge pages, so its 4 KB pages
fault in twice). Yet a whole reader built on the pipe (each weight read by the child, then written down the pipe
into one block the parent allocated) lost end to end on a busy machine: both processes must be scheduled in turn
for every 64 KB the pipe holds. See bench/README.md for both figures.

    python bench/bench_isolation.py            # 200 MB, best of 5
    python bench/bench_isolation.py --mb 50
"""
from __future__ import annotations

import argparse
import mmap
import os
import time

import numpy as np


def by_memfd(n: int) -> float:
    t = time.perf_counter()
    fd = os.memfd_create("bench", os.MFD_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.ftruncate(fd, n)
        mm = mmap.mmap(fd, n)
        np.frombuffer(mm, np.float32)[:] = 1.0
        os._exit(0)
    os.waitpid(pid, 0)
    mm = mmap.mmap(fd, n, access=mmap.ACCESS_READ)
    os.close(fd)
    a = np.frombuffer(mm, np.float32)
    a[:: 1024].sum()  # touch every page once
    return time.perf_counter() - t


def by_pipe(n: int) -> float:
    t = time.perf_counter()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        buf = np.ones(n // 4, np.float32)
        view = memoryview(buf).cast("B")
        while view:
            view = view[os.write(w, view[:1 << 20]):]
        os._exit(0)
    os.close(w)
    out = np.empty(n // 4, np.float32)
    view = memoryview(out).cast("B")
    got = 0
    with os.fdopen(r, "rb", buffering=0) as fh:
        while got < n:
            k = fh.readinto(view[got:])
            if not k:
                break
            got += k
    os.waitpid(pid, 0)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    n = args.mb * 1024**2
    for name, f in (("shared memory (memfd)", by_memfd), ("pipe", by_pipe)):
        ts = sorted(f(n) for _ in range(args.reps))
        print(f"{name:22s} {args.mb} MB: best {ts[0] * 1e3:.0f} ms, median {ts[len(ts) // 2] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
