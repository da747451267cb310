"""A mutation fuzzer: flips 1–8 bytes of the real-Keras fixture files and runs ``info`` and ``predict`` through the
real CLI, each in its own subprocess with a timeout, and counts what happened.

    python tools/fuzz.py --seconds 1200 --jobs 1 --keep /tmp/fuzz_keep      a long run (use nice on a shared machine)
    python tools/fuzz.py --mutants 40 --seed 3                              a fixed number of mutants

Every run of the CLI is classified:

* ``accepted``  exit 0, nothing on stderr (but the CLI's own ``warning: `` lines, each one line);
* ``refused``   exit 2, exactly one line on stderr starting with ``error: `` (after any ``warning: `` lines) and no
  traceback;
* ``crashed``   killed by a signal (SIGSEGV inside libhdf5, SIGABRT …);
* ``hung``      still running at the timeout (killed);
* ``bad_output`` anything else: a traceback, several stderr lines, another exit code, control characters on stderr.

Mutants are written to a temporary folder, never next to the fixtures; ``--keep DIR`` copies the mutants of the
last three classes there (with the command line and stderr) to reproduce them. A ``.keras`` mutant has its bytes
flipped inside the stored ``model.weights.h5`` member half of the time (where libhdf5 parses them), elsewhere in the
archive otherwise. The report is one JSON object on stdout (``--json``) or a short table.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CLASSES = ("accepted", "refused", "crashed", "hung", "bad_output")


@dataclass
class Case:
    model: Path
    data: Path | None
    member_span: tuple[int, int] | None = None  # a .keras weights member's data: (start, end) in the archive


@dataclass
class Report:
    mutants: int = 0
    runs: int = 0
    counts: dict = field(default_factory=lambda: {c: 0 for c in CLASSES})
    by_command: dict = field(default_factory=dict)
    examples: dict = field(default_factory=lambda: {c: [] for c in CLASSES[2:]})
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"mutants": self.mutants, "runs": self.runs, "counts": self.counts, "by_command": self.by_command,
                "examples": self.examples, "seconds": round(self.seconds, 1)}


def _member_span(path: Path) -> tuple[int, int] | None:
    """Where the bytes of a .keras archive's model.weights.h5 lie, when it is stored (Keras' own layout)."""
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("model.weights.h5")
        with open(path, "rb") as fh:
            fh.seek(info.header_offset + 26)
            head = fh.read(4)
        start = info.header_offset + 30 + int.from_bytes(head[:2], "little") + int.from_bytes(head[2:], "little")
        return start, start + info.compress_size
    except (KeyError, OSError, zipfile.BadZipFile):
        return None


def collect_cases(max_bytes: int = 200_000) -> list[Case]:
    """Every committed fixture model under ``max_bytes`` with its data file (the inputs ``predict`` reads)."""
    cases = []
    for mf in sorted(FIXTURES.glob("MANIFEST*.json")):
        for e in json.loads(mf.read_text()):
            model = FIXTURES / e["model"]
            if not model.is_file() or model.stat().st_size > max_bytes:
                continue
            data = FIXTURES / e["data"] if e.get("data") else None
            span = _member_span(model) if model.suffix == ".keras" else None
            cases.append(Case(model, data if data and data.is_file() else None, span))
    return cases


def mutate(data: bytes, rng: random.Random, span: tuple[int, int] | None) -> tuple[bytes, list[int]]:
    """1–8 bytes changed; inside ``span`` half of the time when given."""
    buf = bytearray(data)
    lo, hi = (span if span and rng.random() < 0.5 else (0, len(buf)))
    where = []
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(lo, hi)
        r = rng.random()
        if r < 0.5:
            buf[i] ^= 1 << rng.randrange(8)  # one bit
        elif r < 0.8:
            buf[i] = rng.randrange(256)
        else:
            buf[i] = rng.choice((0x00, 0xFF, 0x7F, 0x80))  # boundary values of sizes and counts
        where.append(i)
    return bytes(buf), sorted(where)


def classify(rc: int | None, stderr: bytes) -> str:
    if rc is None:
        return "hung"
    if rc < 0:
        return "crashed"
    text = stderr.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if "Traceback" in text or any(ord(ch) < 32 for line in lines for ch in line):
        return "bad_output"
    if rc == 0:  # a success may carry the CLI's own one-line warnings (non-finite weights), nothing else
        return "accepted" if all(line.startswith("warning: ") for line in lines) else "bad_output"
    if rc == 2 and len(lines) == 1 and lines[0].startswith("error: "):  # a refusal is one line, warnings dropped
        return "refused"
    return "bad_output"


def run_cli(python: str, argv: list[str], timeout: float, cwd: Path) -> tuple[int | None, bytes]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.Popen([python, str(ROOT / "main.py"), *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, b""


def fuzz(cases: list[Case], *, mutants: int | None, seconds: float | None, seed: int, timeout: float,
         python: str = sys.executable, keep: Path | None = None, commands=("info", "predict"),
         progress: bool = False, read_timeout: float | None = None) -> Report:
    """``read_timeout``: the CLI's --read-timeout (the reader's own clock), to be well inside ``timeout`` so that a
    file spinning libhdf5 comes back as one error line instead of counting as hung."""
    rng = random.Random(seed)
    report = Report()
    t0 = time.monotonic()
    originals = {c.model: c.model.read_bytes() for c in cases}
    with tempfile.TemporaryDirectory(prefix="lstm-fuzz-") as tmp:
        tmpdir = Path(tmp)
        while True:
            if mutants is not None and report.mutants >= mutants:
                break
            if seconds is not None and time.monotonic() - t0 >= seconds:
                break
            case = rng.choice(cases)
            data, where = mutate(originals[case.model], rng, case.member_span)
            mpath = tmpdir / f"mutant{case.model.suffix}"
            mpath.write_bytes(data)
            report.mutants += 1
            for cmd in commands:
                if cmd == "predict" and case.data is None:
                    continue
                out = tmpdir / "out.npz"
                if out.exists():
                    out.unlink()
                argv = [cmd, str(mpath)] + (["--input", str(case.data), "--output", str(out)] if cmd == "predict" else [])
                if read_timeout is not None:
                    argv += ["--read-timeout", f"{read_timeout:g}"]
                rc, err = run_cli(python, argv, timeout, tmpdir)
                kind = classify(rc, err)
                if kind != "accepted" and out.exists():
                    kind = "bad_output"  # a refused run must leave nothing behind
                report.runs += 1
                report.counts[kind] += 1
                report.by_command.setdefault(cmd, {c: 0 for c in CLASSES})[kind] += 1
                if kind in report.examples:
                    ex = {"fixture": str(case.model.relative_to(ROOT)), "command": cmd, "offsets": where, "rc": rc,
                          "stderr": err.decode("utf-8", errors="replace")[-600:]}
                    if keep is not None:
                        keep.mkdir(parents=True, exist_ok=True)
                        name = f"{kind}-{report.mutants:06d}-{cmd}{case.model.suffix}"
                        shutil.copyfile(mpath, keep / name)
                        ex["kept"] = str(keep / name)
                    if len(report.examples[kind]) < 50:
                        report.examples[kind].append(ex)
                if progress and kind in report.examples:
                    print(f"[{report.mutants}] {kind}: {cmd} {case.model.name} {where} rc={rc} "
                          f"{err.decode('utf-8', 'replace').strip()[-200:]!r}", file=sys.stderr, flush=True)
            if progress and report.mutants % 100 == 0:
                print(f"[{report.mutants}] {report.counts} {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
    report.seconds = time.monotonic() - t0
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, help="run for this long (default: 60 unless --mutants is given)")
    p.add_argument("--mutants", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds before a CLI run counts as hung")
    p.add_argument("--read-timeout", type=float, default=10.0,
                   help="the CLI's own --read-timeout for each run (default 10; keep it below --timeout)")
    p.add_argument("--keep", type=Path, help="copy crashing/hanging/bad mutants here")
    p.add_argument("--match", default="", help="only fixtures whose path contains this")
    p.add_argument("--json", action="store_true")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    cases = [c for c in collect_cases() if args.match in str(c.model)]
    if not cases:
        print("no fixtures match", file=sys.stderr)
        return 2
    seconds = args.seconds if args.seconds is not None or args.mutants is not None else 60.0
    rep = fuzz(cases, mutants=args.mutants, seconds=seconds, seed=args.seed, timeout=args.timeout, keep=args.keep,
               progress=args.progress, read_timeout=args.read_timeout)
    if args.json:
        print(json.dumps(rep.as_dict(), indent=1))
    else:
        print(f"{rep.mutants} mutants, {rep.runs} CLI runs in {rep.seconds:.0f} s (seed {args.seed})")
        for c in CLASSES:
            print(f"  {c:<11} {rep.counts[c]}")
        for c, exs in rep.examples.items():
            for ex in exs[:5]:
                print(f"  {c}: {ex['command']} {ex['fixture']} at {ex['offsets']}: {ex['stderr'].strip()[-160:]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
