"""Find model files that crash or hang libhdf5 itself: flip one byte of a fixture at a time and read the mutant
with the in-process reader (``engine.model_file.read_model_file``) in a worker process that is restarted whenever
it dies. Prints one line per crash (signal) or hang (no answer within --timeout seconds):

    crash SIGSEGV tests/fixtures/k2h5/toy_tanh_sigmoid.h5 offset 1234 xor 0x5a
    hang tests/fixtures/k2h5/toy_tanh_sigmoid.h5 offset 2345 xor 0x01

Offsets and xor values are what tests reuse to rebuild a crasher from a committed fixture at test time.

    python tools/find_crashers.py tests/fixtures/k2h5/toy_tanh_sigmoid.h5 --count 3000 --seed 1
"""
from __future__ import annotations

import argparse
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from engine.model_file import read_model_file
for line in sys.stdin:
    try:
        read_model_file(line.strip())
    except BaseException:
        pass
    sys.stdout.write("done\n"); sys.stdout.flush()
"""


class Worker:
    def __init__(self):
        self.start()

    def start(self):
        self.p = subprocess.Popen([sys.executable, "-c", WORKER, str(ROOT)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def run(self, path: str, timeout: float) -> str:
        """'ok', 'hang', or the name of the signal that killed the worker."""
        self.p.stdin.write(path + "\n")
        self.p.stdin.flush()
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            self.p.kill()
            self.p.wait()
            self.start()
            return "hang"
        line = self.p.stdout.readline()
        if line == "done\n":
            return "ok"
        code = self.p.wait()
        self.start()
        return signal.Signals(-code).name if code < 0 else f"exit {code}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--count", type=int, default=1000, help="mutants per file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    w = Worker()
    tmp = Path(tempfile.mkdtemp(prefix="crashers_"))
    n = found = 0
    t0 = time.time()
    for f in args.files:
        raw = Path(f).read_bytes()
        for _ in range(args.count):
            off = rng.randrange(len(raw))
            x = rng.choice((0x01, 0x80, 0xFF, rng.randrange(1, 256)))
            mut = bytearray(raw)
            mut[off] ^= x
            p = tmp / ("m" + Path(f).suffix)
            p.write_bytes(bytes(mut))
            res = w.run(str(p), args.timeout)
            n += 1
            if res != "ok":
                found += 1
                kind = "hang" if res == "hang" else f"crash {res}"
                print(f"{kind} {f} offset {off} xor {x:#04x}", flush=True)
    print(f"{n} mutants, {found} crashes or hangs, {time.time() - t0:.0f} s", flush=True)
    w.p.kill()
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    main()
