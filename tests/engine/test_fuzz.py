"""A short bounded run of the mutation fuzzer (tools/fuzz.py) through the real CLI: bytes flipped in the fixture
files, ``info`` and ``predict`` each in a subprocess with a timeout. The long run is done by hand (see README)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("lstm_fuzz", ROOT / "tools" / "fuzz.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("lstm_fuzz", mod)  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_classify():
    fz = _fuzz_module()
    assert fz.classify(0, b"") == "accepted"
    assert fz.classify(2, b"error: m.h5: is empty\n") == "refused"
    assert fz.classify(2, b"error: a\nb\n") == "bad_output"
    assert fz.classify(2, b"error: m.h5: \x1b[2J\n") == "bad_output"
    assert fz.classify(1, b"Traceback (most recent call last):\n  ...\nValueError: x\n") == "bad_output"
    assert fz.classify(0, b"warning\n") == "bad_output"
    assert fz.classify(0, b"warning: m.h5: non-finite weights\n") == "accepted"
    assert fz.classify(2, b"warning: m.h5: x\nerror: m.h5: y\n") == "bad_output"  # a refusal is one line
    assert fz.classify(2, b"error: m.h5: y\nwarning: m.h5: x\n") == "bad_output"
    assert fz.classify(-11, b"") == "crashed"
    assert fz.classify(None, b"") == "hung"


def test_mutations_stay_inside_the_keras_weights_member_when_asked():
    fz = _fuzz_module()
    cases = [c for c in fz.collect_cases() if c.member_span]
    assert cases, "no .keras fixture with a stored model.weights.h5"
    import random

    data = cases[0].model.read_bytes()
    lo, hi = cases[0].member_span
    rng = random.Random(0)
    inside = 0
    for _ in range(200):
        mutant, where = fz.mutate(data, rng, cases[0].member_span)
        assert len(mutant) == len(data) and 1 <= len(where) <= 8
        inside += all(lo <= i < hi for i in where)
    assert 60 < inside < 200  # about half of them entirely inside the member


def test_short_fuzz_run_through_the_cli():
    fz = _fuzz_module()
    cases = fz.collect_cases(max_bytes=60_000)
    rep = fz.fuzz(cases, mutants=40, seconds=30, seed=20260601, timeout=20, read_timeout=8)
    assert rep.mutants >= 5 and rep.runs >= 10
    # Every run exits 0 or 2, with no traceback and at most one terminal-safe line; a native crash inside libhdf5
    # happens in the reader's child process (engine/reader_process.py) and comes back as one error line.
    assert rep.counts["bad_output"] == 0, rep.examples["bad_output"]
    assert rep.counts["crashed"] == 0, rep.examples["crashed"]
    # A mutant that makes libhdf5 spin is stopped by the reader's own clock (--read-timeout 8 here, well inside this
    # run's 20 s): one error line, never a hang.
    assert rep.counts["hung"] == 0, rep.examples["hung"]
    assert rep.counts["accepted"] + rep.counts["refused"] + rep.counts["crashed"] + rep.counts["hung"] == rep.runs
